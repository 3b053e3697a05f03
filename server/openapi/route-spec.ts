/** How a route is described: who may call it, what it takes, and what it answers. */
import type { z } from 'zod';
import type { HttpMethod } from './document-types.js';

/** Who may call a route, and how they prove it. */
export type ApiSecurity =
  | 'none'
  | 'bot'
  | 'admin'
  | 'slack'
  | 'approvalBrowser'
  | 'adminConsole'
  | 'adminOrConsole'
  | 'consoleSignIn'
  /** The metrics token or an admin token (the document names the admin token's scheme). */
  | 'metrics';

/** The groups the reference shows routes in. */
export type ApiTag = 'bots' | 'admins' | 'approvals' | 'console' | 'slack' | 'operations';

/** One answer of a route: a status code's meaning and body. */
export interface ApiResponseSpec {
  description: string;
  /** The JSON body's schema, if the answer has one. */
  json?: z.ZodType;
  /** The answer is (also) an HTML page. */
  html?: boolean;
  /** Text bodies of other media types (streams such as NDJSON or CSV). */
  text?: readonly string[];
  /** Response headers worth knowing, by name. */
  headers?: Record<string, { description: string; schema?: z.ZodType }>;
}

/**
 * One route of the HTTP API: what the reference says of it, and what the server reads before
 * its handler runs (the guards `security` names, the body, the parameters parsed with these
 * schemas; `server/http/routes.ts`).
 */
export interface ApiRoute {
  method: HttpMethod;
  /** In OpenAPI form: `/v1/elevations/{id}`. */
  path: string;
  operationId: string;
  tag: ApiTag;
  summary: string;
  /** Plain text; blank lines separate paragraphs, `backticks` mark code. */
  description: string;
  security: ApiSecurity;
  /** Path parameters, by name; the schema's description (in {@link apiRegistry}) describes it. */
  params?: Record<string, z.ZodType>;
  /** Query parameters: one object schema, one parameter per property. */
  query?: z.ZodObject;
  /** Request headers besides the credential and `x-request-id`. */
  headers?: Record<string, { schema: z.ZodType; required: boolean; description: string }>;
  body?: {
    schema: z.ZodType;
    contentType: 'application/json' | 'application/x-www-form-urlencoded';
    required: boolean;
    description?: string;
    /**
     * What the server makes of a request without a body: `empty` (the default) reads it as `{}`,
     * so the schema names the field that is missing; `refuse` answers 415. Not in the document.
     */
    ifAbsent?: 'empty' | 'refuse';
    /**
     * A form that may carry more than the usual 5 fields (one checkbox per role of a bot): at
     * most this many, in at most 16 KiB. Not in the document.
     */
    maxFields?: number;
  };
  /** By HTTP status code. */
  responses: Record<number, ApiResponseSpec>;
}

/**
 * A route of the table, its type kept exactly (operationId, schemas), so that the handlers
 * registered for it are typed from it (`server/http/routes.ts`).
 */
export function route<const R extends ApiRoute>(spec: R): R {
  return spec;
}
