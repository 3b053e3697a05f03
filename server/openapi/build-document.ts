/**
 * The API reference, generated rather than written: an OpenAPI 3.1 document built from the zod
 * schemas the server validates requests with (`schemas.ts`) and from the response schemas
 * (`response-schemas.ts`, checked at compile time against the types the server answers with).
 * A field added to a request schema shows in the reference with nothing else to update.
 *
 * Served by the API itself, without authentication (it holds no secret):
 *
 * - `GET /openapi.json`: the document, for code generators and API tools;
 * - `GET /docs/api`: the same document as one HTML page, rendered on the server. It loads
 *   nothing (no scripts, fonts or images; its one stylesheet is inline and allowed by hash in
 *   the Content-Security-Policy), so it works offline and behind the strictest proxy.
 *
 * Every route the app serves is in `API_ROUTES` (`routes.ts`, one file per area under `routes/`).
 * The bot, admin, approval and operations routes are registered on Express from that table
 * (`server/http/routes.ts`); the console's and Slack's are registered by hand, and a test walks
 * the Express router and fails when a route is served but not documented, or documented but not
 * served.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { packageRoot } from '../../config/package-root.js';
import { apiRegistry } from '../response-schemas.js';
import { UNAUTHENTICATED, AUTH_RATE_LIMITED } from './common-responses.js';
import type {
  JsonSchema,
  OpenApiParameter,
  OpenApiRef,
  OpenApiHeader,
  OpenApiMediaType,
  OpenApiResponse,
  OpenApiOperation,
  OpenApiSecurityScheme,
  OpenApiDocument,
} from './document-types.js';
import type { ApiSecurity, ApiTag, ApiResponseSpec, ApiRoute } from './route-spec.js';
import { API_ROUTES } from './routes.js';
// The request schemas' descriptions, registered for the components.
import './request-docs.js';

const TAGS: Record<ApiTag, string> = {
  bots: 'Bot API: a bot requests, reads and gives back its own elevations. Bot API key or workload identity token.',
  admins: 'Admin API: every elevation, its audit events, the audit chain, bots at runtime. Admin token.',
  approvals:
    'Approval pages, for approvers’ browsers: a fresh MFA login at the organisation’s identity provider, then one click. Answers are HTML pages, or JSON for a caller that prefers it.',
  console:
    'The admin console, for admins’ browsers: sign-in at the organisation’s identity provider with MFA, then HTML pages. Signed out, a page answers 302 to the sign-in; a form post without a session 401, without its CSRF token or from another origin 403. Off (404 with how to turn it on) unless admin groups are configured.',
  slack: 'Slack’s requests to Elevate: the Approve and Deny buttons and the deny-reason modal.',
  operations: 'Health, and this reference.',
};

const SECURITY_SCHEMES: Record<string, OpenApiSecurityScheme> = {
  botApiKey: {
    type: 'http',
    scheme: 'bearer',
    description: 'A bot API key (`elv_bot_…`, made with `elevate keygen`): `Authorization: Bearer <key>`.',
  },
  workloadIdentity: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'For bots with a `federation` rule: their platform’s OpenID Connect token (a GitHub Actions job’s, a Kubernetes service account’s) instead of an API key.',
  },
  adminToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'An admin token (`elv_adm_…`). A bot key here is 403; tokens are not accepted.',
  },
  slackSignature: {
    type: 'apiKey',
    in: 'header',
    name: 'x-slack-signature',
    description:
      '`v0=` and the hex HMAC-SHA256 of `v0:<timestamp>:<raw body>` with the Slack app’s signing secret.',
  },
  adminConsole: {
    type: 'apiKey',
    in: 'cookie',
    name: 'elevate_admin',
    description:
      'The console session (`__Host-elevate_admin` over HTTPS): set at sign-in, HttpOnly, SameSite=Lax; ends after 30 minutes unused or 8 hours (configurable). Form posts also need the session’s CSRF token in the `csrf` field.',
  },
  consoleSignIn: {
    type: 'apiKey',
    in: 'cookie',
    name: 'elevate_admin_login',
    description:
      'Set when a console sign-in starts; the callback must come from the browser that started it.',
  },
  approvalBrowser: {
    type: 'apiKey',
    in: 'cookie',
    name: 'elevate_approval',
    description:
      'Set when a login starts; the callback and the confirmation must come from the browser that started it.',
  },
};

const SECURITY: Record<ApiSecurity, Record<string, string[]>[]> = {
  none: [],
  bot: [{ botApiKey: [] }, { workloadIdentity: [] }],
  admin: [{ adminToken: [] }],
  slack: [{ slackSignature: [] }],
  approvalBrowser: [{ approvalBrowser: [] }],
  adminConsole: [{ adminConsole: [] }],
  adminOrConsole: [{ adminToken: [] }, { adminConsole: [] }],
  consoleSignIn: [{ consoleSignIn: [] }],
  // The metrics token is a bearer token like the admin token; the scheme named is the admin's.
  metrics: [{ adminToken: [] }],
};

// ---- building the document ------------------------------------------------------------------

const SCHEMA_PREFIX = '#/components/schemas/';
const SAFE_BOUNDS = new Set([Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]);

/**
 * Copy `schema` into plain JSON, without what only makes sense at a document's root (`$schema`,
 * and `$id`, which zod sets to the component's address) and without the safe-integer bounds
 * zod adds to every integer, which say nothing to a reader.
 */
function tidy(schema: unknown, root = true): unknown {
  if (Array.isArray(schema)) return schema.map((s) => tidy(s, false));
  if (!schema || typeof schema !== 'object') return schema;
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (root && (key === '$schema' || key === '$id')) continue;
    if ((key === 'minimum' || key === 'maximum') && typeof value === 'number' && SAFE_BOUNDS.has(value))
      continue;
    // Keywords whose values are data, not schemas, are copied as they are.
    out[key] =
      key === 'default' || key === 'const' || key === 'enum' || key === 'examples'
        ? value
        : tidy(value, false);
  }
  return out;
}

/** The request schemas' input side: what a client sends (before the server's transforms). */
function toJsonSchema(schema: z.ZodType): JsonSchema {
  return tidy(
    z.toJSONSchema(schema, { target: 'draft-2020-12', io: 'input', metadata: apiRegistry }),
  ) as JsonSchema;
}

/** A `$ref` to the schema's component if it has one, else the schema inline. */
function schemaOrRef(schema: z.ZodType): JsonSchema {
  const id = apiRegistry.get(schema)?.id;
  return id ? { $ref: `${SCHEMA_PREFIX}${id}` } : toJsonSchema(schema);
}

function parametersOf(route: ApiRoute): (OpenApiParameter | OpenApiRef)[] {
  const params: (OpenApiParameter | OpenApiRef)[] = [];
  for (const [name, schema] of Object.entries(route.params ?? {})) {
    const { description, ...rest } = toJsonSchema(schema);
    params.push({
      name,
      in: 'path',
      required: true,
      ...(typeof description === 'string' ? { description } : {}),
      schema: rest,
    });
  }
  if (route.query) {
    const object = toJsonSchema(route.query);
    const required = new Set((object.required as string[] | undefined) ?? []);
    for (const [name, property] of Object.entries((object.properties ?? {}) as Record<string, JsonSchema>)) {
      const { description, ...rest } = property;
      params.push({
        name,
        in: 'query',
        required: required.has(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema: rest,
      });
    }
  }
  for (const [name, header] of Object.entries(route.headers ?? {})) {
    const schema = toJsonSchema(header.schema);
    params.push({ name, in: 'header', required: header.required, description: header.description, schema });
  }
  params.push({ $ref: '#/components/parameters/RequestId' });
  return params;
}

function responseOf(spec: ApiResponseSpec): OpenApiResponse {
  const content: Record<string, OpenApiMediaType> = {};
  if (spec.html) content['text/html'] = { schema: { type: 'string' } };
  for (const type of spec.text ?? []) content[type] = { schema: { type: 'string' } };
  if (spec.json) content['application/json'] = { schema: schemaOrRef(spec.json) };
  const headers: Record<string, OpenApiHeader | OpenApiRef> = {
    'x-request-id': { $ref: '#/components/headers/RequestId' },
  };
  for (const [name, h] of Object.entries(spec.headers ?? {})) {
    headers[name] = {
      description: h.description,
      schema: h.schema ? toJsonSchema(h.schema) : { type: 'string' },
    };
  }
  return {
    description: spec.description,
    headers,
    ...(Object.keys(content).length > 0 ? { content } : {}),
  };
}

function operationOf(route: ApiRoute): OpenApiOperation {
  return {
    operationId: route.operationId,
    tags: [route.tag],
    summary: route.summary,
    description: route.description,
    security: SECURITY[route.security],
    parameters: parametersOf(route),
    ...(route.body
      ? {
          requestBody: {
            ...(route.body.description ? { description: route.body.description } : {}),
            required: route.body.required,
            content: { [route.body.contentType]: { schema: schemaOrRef(route.body.schema) } },
          },
        }
      : {}),
    responses: Object.fromEntries(
      Object.entries({
        ...(route.responses[401] === UNAUTHENTICATED ? { 429: AUTH_RATE_LIMITED } : {}),
        ...route.responses,
      }).map(([status, spec]) => [status, responseOf(spec)]),
    ),
  };
}

/** The components: every schema {@link apiRegistry} names, each emitted once. */
function componentSchemas(): Record<string, JsonSchema> {
  const { schemas } = z.toJSONSchema(apiRegistry, {
    target: 'draft-2020-12',
    io: 'input',
    metadata: apiRegistry,
    uri: (id) => `${SCHEMA_PREFIX}${id}`,
  });
  const out: Record<string, JsonSchema> = {};
  for (const name of Object.keys(schemas).sort()) out[name] = tidy(schemas[name]) as JsonSchema;
  return out;
}

/**
 * The OpenAPI 3.1 document of the API: every route of {@link API_ROUTES}, with request schemas
 * from the server's own validation and response schemas from `response-schemas.ts`.
 * `serverUrl` (e.g. `ELEVATE_PUBLIC_URL`) becomes the document's one server; without it, tools
 * resolve paths against wherever they fetched the document from. `roles` (the running policy's
 * role ids) become the `enum` of an elevation request's `role`, so the document says exactly
 * which values this instance takes.
 */
export function buildOpenApi(opts: {
  version: string;
  serverUrl?: string;
  roles?: readonly string[];
}): OpenApiDocument {
  const doc = buildDocument(opts);
  if (opts.roles && opts.roles.length > 0) listRoles(doc, opts.roles);
  return doc;
}

/**
 * Put `roles` as the `enum` of an elevation request's `role`. Not of the `role` filters: those
 * also find past elevations of roles since removed from the policy.
 */
function listRoles(doc: OpenApiDocument, roles: readonly string[]): void {
  const request = doc.components.schemas.ElevationRequest as { properties?: Record<string, JsonSchema> };
  const role = request.properties?.role;
  if (role) role.enum = [...roles];
}

function buildDocument(opts: { version: string; serverUrl?: string }): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const route of API_ROUTES) {
    const item = (paths[route.path] ??= {});
    if (item[route.method])
      throw new Error(`${route.method.toUpperCase()} ${route.path} is in API_ROUTES twice`);
    item[route.method] = operationOf(route);
  }
  return {
    openapi: '3.1.0',
    jsonSchemaDialect: 'https://spec.openapis.org/oas/3.1/dialect/base',
    info: {
      title: 'Elevate',
      version: opts.version,
      summary: 'Just-in-time privilege elevation for bots.',
      description:
        'Bots ask for one role, for a short window, with a justification; Elevate checks the policy, approves automatically or waits for approvers, grants the role, takes it away when the window ends, and records every step in a hash-chained audit trail.\n\nJSON over HTTP; run it behind a reverse proxy that terminates TLS. Request bodies are UTF-8 JSON objects of at most 16 KiB; unknown fields and query parameters are refused (400, naming them). Every answer carries `cache-control: no-store` and `x-content-type-options: nosniff`. Errors have one shape: `{"error": {"code", "message", "field"?}}`. A path called with a method it is not served with answers 405 `method_not_allowed` with an `Allow` header listing those it is; an unknown path answers 404 `not_found`.',
    },
    ...(opts.serverUrl ? { servers: [{ url: opts.serverUrl }] } : {}),
    tags: (Object.keys(TAGS) as ApiTag[]).map((name) => ({ name, description: TAGS[name] })),
    paths,
    components: {
      schemas: componentSchemas(),
      parameters: {
        RequestId: {
          name: 'x-request-id',
          in: 'header',
          required: false,
          description:
            'Echoed back and used in the logs (not in audit events). Otherwise the server makes a UUID.',
          schema: { type: 'string', pattern: '^[A-Za-z0-9._-]{1,64}$' },
        },
      },
      headers: {
        RequestId: {
          description: 'The request’s id: the one sent, if valid, or a UUID the server made.',
          schema: { type: 'string' },
        },
      },
      securitySchemes: SECURITY_SCHEMES,
    },
  };
}

/** Elevate's version, from its package.json (the document's `info.version`). */
export function elevateVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
    version?: unknown;
  };
  return typeof pkg.version === 'string' ? pkg.version : '0.0.0';
}
