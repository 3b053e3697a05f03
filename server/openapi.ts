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
 * Every route the app serves is in {@link API_ROUTES}; a test walks the Express router and
 * fails when a route is served but not documented, or documented but not served.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type express from 'express';
import { z } from 'zod';
import { packageRoot } from '../config/package-root.js';
import { ELEVATION_STATUSES } from '../core/model/elevation.js';
import { escapeHtml } from './approval-pages.js';
import { SAFE_TEXT_PATTERN } from './safe-text.js';
import {
  apiRegistry,
  approvalErrorBodySchema,
  awsCredentialsSchema,
  botElevationViewSchema,
  botKeyRotationSchema,
  botListSchema,
  botLockResultSchema,
  botSummarySchema,
  documented,
  evidencePackSchema,
  elevationPageSchema,
  elevationTimelineSchema,
  elevationViewSchema,
  errorBodySchema,
  healthSchema,
  slackViewErrorsSchema,
  verifyResultSchema,
} from './response-schemas.js';
import {
  botChangeBodySchema,
  botIdSchema,
  botLockBodySchema,
  elevationIdSchema,
  elevationRequestSchema,
  listQuerySchema,
  revokeBodySchema,
  verifyQuerySchema,
  exportQuerySchema,
  waitQuerySchema,
} from './schemas.js';

// ---- the document's types ----------------------------------------------------------------

/** A JSON Schema (draft 2020-12, the dialect of OpenAPI 3.1) as plain JSON. */
export type JsonSchema = { [keyword: string]: unknown };

/** The HTTP methods the API uses. */
export type HttpMethod = 'get' | 'post';

/** An OpenAPI parameter object. */
export interface OpenApiParameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required: boolean;
  description?: string;
  schema: JsonSchema;
}

/** A reference to a reusable object under `components`. */
export interface OpenApiRef {
  $ref: string;
}

/** An OpenAPI header object (in a response). */
export interface OpenApiHeader {
  description: string;
  schema: JsonSchema;
}

/** An OpenAPI media type object: the schema of one content type. */
export interface OpenApiMediaType {
  schema: JsonSchema;
}

/** An OpenAPI response object. */
export interface OpenApiResponse {
  description: string;
  headers?: Record<string, OpenApiHeader | OpenApiRef>;
  content?: Record<string, OpenApiMediaType>;
}

/** An OpenAPI operation object. */
export interface OpenApiOperation {
  operationId: string;
  tags: string[];
  summary: string;
  description: string;
  security: Record<string, string[]>[];
  parameters: (OpenApiParameter | OpenApiRef)[];
  requestBody?: { description?: string; required: boolean; content: Record<string, OpenApiMediaType> };
  responses: Record<string, OpenApiResponse>;
}

/** An OpenAPI security scheme object. */
export type OpenApiSecurityScheme =
  | { type: 'http'; scheme: 'bearer'; bearerFormat?: string; description: string }
  | { type: 'apiKey'; in: 'header' | 'cookie'; name: string; description: string };

/** The OpenAPI 3.1 document of Elevate's HTTP API. */
export interface OpenApiDocument {
  openapi: '3.1.0';
  jsonSchemaDialect: string;
  info: { title: string; version: string; summary: string; description: string };
  servers?: { url: string }[];
  tags: { name: string; description: string }[];
  paths: Record<string, Partial<Record<HttpMethod, OpenApiOperation>>>;
  components: {
    schemas: Record<string, JsonSchema>;
    parameters: Record<string, OpenApiParameter>;
    headers: Record<string, OpenApiHeader>;
    securitySchemes: Record<string, OpenApiSecurityScheme>;
  };
}

// ---- the route table -----------------------------------------------------------------------

/** Who may call a route, and how they prove it. */
export type ApiSecurity =
  | 'none'
  | 'bot'
  | 'admin'
  | 'slack'
  | 'approvalBrowser'
  | 'adminConsole'
  | 'adminOrConsole'
  | 'consoleSignIn';

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
  text?: string[];
  /** Response headers worth knowing, by name. */
  headers?: Record<string, { description: string; schema?: z.ZodType }>;
}

/** One route of the HTTP API, as the reference describes it. */
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
  };
  /** By HTTP status code. */
  responses: Record<number, ApiResponseSpec>;
}

// ---- documentation of the request schemas (the schemas themselves are the server's) -------

/** What `pattern` says of a text field (`safe-text.ts`), in words. */
const SAFE_TEXT =
  'Trimmed, then checked against `pattern`: no control characters (newline and tab included), no bidirectional, zero-width or other formatting characters, no line or paragraph separators, and at least one visible character.';

documented(elevationIdSchema, {
  description: 'An elevation id: `el_` and 24 lowercase hex digits.',
  examples: ['el_3cf50827c4ec1f7c2a71324e'],
});
documented(elevationRequestSchema, {
  id: 'ElevationRequest',
  description: 'A bot’s request for one role, for a while, with a reason. Unknown fields are refused.',
});
documented(elevationRequestSchema.shape.role, {
  description: 'A role id from the policy: 1-63 of `a-z 0-9 -`, starting and ending with a letter or digit.',
});
documented(elevationRequestSchema.shape.durationSeconds, {
  description: 'The window, from the grant. At most the role’s `maxDurationSeconds` (else 422).',
});
documented(elevationRequestSchema.shape.justification, {
  description: `Why the bot needs the role. ${SAFE_TEXT}`,
});
documented(elevationRequestSchema.shape.ticket, {
  description: `A change or incident ticket. ${SAFE_TEXT}`,
});
documented(elevationRequestSchema.shape.requestId, {
  description:
    'Idempotency key: the same bot sending the same `requestId` again gets the same elevation (`idempotent-replayed: true`).',
});
documented(revokeBodySchema, {
  id: 'RevokeRequest',
  description: 'Optional. Unknown fields are refused.',
});
documented(revokeBodySchema.shape.reason.unwrap(), {
  description: `Why, recorded in the audit trail. ${SAFE_TEXT}`,
});

/**
 * The admin revoke's body: the bot's revoke body with `reason` required. Derived from the
 * server's schema; the server parses with that schema and then requires `reason` itself.
 */
const adminRevokeBodySchema = documented(revokeBodySchema.required(), {
  id: 'AdminRevokeRequest',
  description: 'An admin revocation must say why. Unknown fields are refused.',
});

documented(botIdSchema, {
  description: 'A bot id from the policy: 1-63 of `a-z 0-9 -`.',
  examples: ['etl-bot'],
});
documented(botLockBodySchema, {
  id: 'BotLockRequest',
  description:
    'Why: required, recorded in the audit trail (and, for a lock, shown to the bot). Unknown fields are refused.',
});
documented(botLockBodySchema.shape.reason, {
  description: `1-1000 characters. ${SAFE_TEXT}`,
});
documented(botChangeBodySchema, {
  id: 'BotChangeRequest',
  description: 'Optional. Unknown fields are refused.',
});
documented(botChangeBodySchema.shape.reason.unwrap(), {
  description: `Why, recorded in the audit trail. ${SAFE_TEXT}`,
});

documented(waitQuerySchema.shape.waitSeconds, {
  description:
    'Long-poll: answer as soon as `status` changes (or, with `until`, is one of those statuses), at once if the elevation has ended, or after this many seconds with the elevation as it is then.',
});
documented(waitQuerySchema.shape.until, {
  description: `With \`waitSeconds\`: comma-separated statuses to wait for, e.g. \`active\`, among ${ELEVATION_STATUSES.join(', ')}. The answer comes at once when \`status\` is already one of them, else as soon as it becomes one (statuses passed through on the way do not answer). An elevation that has ended (\`revoked\`, \`denied\`, \`expired\`, \`failed\`) answers at once even when its status is not listed: it will not change again.`,
});
documented(listQuerySchema.shape.bot, { description: 'Only this bot’s elevations.' });
documented(listQuerySchema.shape.role, { description: 'Only elevations of this role.' });
documented(listQuerySchema.shape.owner, {
  description: 'Only elevations of bots with this owner (e-mail, as recorded at request time).',
});
documented(listQuerySchema.shape.team, {
  description: 'Only elevations of bots of this team (as recorded).',
});
documented(listQuerySchema.shape.environment, {
  description: 'Only elevations of roles in this environment.',
});
documented(listQuerySchema.shape.targetType, {
  description: 'Only elevations of roles granted in this kind of target.',
});
documented(listQuerySchema.shape.risk, {
  description:
    '`high`: the role needs approvers and is in production (`prod`, `production`, `prod-…`); `medium`: approvers elsewhere; `low`: automatic.',
});
documented(listQuerySchema.shape.status, {
  description: `Comma-separated statuses, e.g. \`active,revoking\`, among ${ELEVATION_STATUSES.join(', ')}.`,
});
documented(listQuerySchema.shape.from, { description: '`requestedAt` at or after this instant.' });
documented(listQuerySchema.shape.to, { description: '`requestedAt` strictly before this instant.' });
documented(listQuerySchema.shape.limit, { description: 'Page size.' });
documented(listQuerySchema.shape.cursor, {
  description: 'The `nextCursor` of the previous page, unchanged; with the same filters.',
});
documented(verifyQuerySchema.shape.anchor, {
  description:
    '`<position>:<hash>`, the `head` of an earlier verify: that event must still be in the chain with exactly that hash.',
});

// The approval pages and the Slack endpoint take browser forms and Slack's signed payloads,
// which they check themselves (one-time tokens by pattern and lookup; Slack's signature in
// Bolt). These schemas describe those inputs for the reference.

const oneTimeToken = (description: string) =>
  documented(z.string().regex(/^[A-Za-z0-9_-]{20,100}$/), { description });

const approvalStartQuerySchema = z.object({
  ticket: oneTimeToken(
    'The personal link’s ticket (from the Slack modal): for one elevation and one Slack user, for 10 minutes.',
  ),
});

const approvalCallbackQuerySchema = z.object({
  state: documented(z.string(), { description: 'The login’s `state`, as sent to the provider.' }),
  code: documented(z.string().optional(), { description: 'The authorization code (on success).' }),
  error: documented(z.string().optional(), { description: 'The provider’s error (a cancelled login...).' }),
  error_description: z.string().optional(),
  iss: documented(z.string().optional(), {
    description: 'The provider’s issuer (RFC 9207), when it sends it.',
  }),
});

const approvalConfirmFormSchema = documented(
  z.object({
    confirmation: oneTimeToken(
      'The confirmation page’s hidden field: single-use, valid while the login is fresh.',
    ),
  }),
  { id: 'ApprovalConfirmation', description: 'The confirmation page’s form; at most 2 KiB and 5 fields.' },
);

const slackInteractionFormSchema = documented(
  z.object({
    payload: documented(z.string(), { description: 'The interaction, JSON-encoded, as Slack sends it.' }),
  }),
  { id: 'SlackInteraction', description: 'A Slack interaction: a button click or a modal submission.' },
);

const anyJsonObject = documented(z.record(z.string(), z.unknown()), {
  description: 'An OpenAPI 3.1 document.',
});

// The admin console's pages take browser forms and query strings, checked by the console itself
// (`server/admin-console.ts`); these schemas describe them for the reference.

const optionalText = (description: string) => documented(z.string().optional(), { description });

const consoleListQuerySchema = z.object({
  bot: optionalText('A bot id.'),
  owner: optionalText('The bot owner’s e-mail address, as recorded at request time.'),
  team: optionalText('The bot’s team, as recorded at request time.'),
  role: optionalText('A role id.'),
  targetType: documented(z.enum(['ldap', 'postgres', 'aws-iam']).optional(), {
    description: 'The kind of target the role is granted in.',
  }),
  environment: optionalText('The role’s environment.'),
  status: documented(z.enum(ELEVATION_STATUSES).optional(), {
    description: 'A status; repeat the parameter for several.',
  }),
  risk: documented(z.enum(['low', 'medium', 'high']).optional(), {
    description:
      '`high`: approvers in a production environment (`prod`, `production`, `prod-…`); `medium`: approvers elsewhere; `low`: automatic.',
  }),
  from: optionalText('Requested on or after this day (`YYYY-MM-DD`, UTC).'),
  to: optionalText('Requested on or before this day (`YYYY-MM-DD`, UTC, inclusive).'),
  cursor: optionalText('The “Next page” link’s cursor.'),
  notice: optionalText(
    'A fixed message after an action (`revoked`, `revoke_started`, `locked`, `unlocked`).',
  ),
});

const consoleHistoryQuerySchema = z.object({
  cursor: optionalText('The “Next page” link’s cursor.'),
  notice: optionalText('A fixed message after an action (`locked`, `unlocked`).'),
});

const consoleNoticeQuerySchema = z.object({
  notice: optionalText('A fixed message after an action (`revoked`, `revoke_started`).'),
});

const consoleLoginQuerySchema = z.object({
  next: optionalText(
    'The console page to return to after sign-in (a path under `/admin`; anything else is ignored).',
  ),
});

const consoleChartsQuerySchema = z.object({
  days: documented(z.enum(['7', '14', '30', '90']).optional(), {
    description: 'The window, in days (default 14).',
  }),
});

const csrfField = oneTimeToken('The session’s CSRF token, from the form’s hidden field.');

const consoleLogoutFormSchema = documented(z.object({ csrf: csrfField }), {
  id: 'ConsoleSignOut',
  description: 'The sign-out button’s form.',
});

const consoleReasonFormSchema = documented(
  z.object({
    csrf: csrfField,
    reason: documented(z.string().min(1).max(1000).regex(SAFE_TEXT_PATTERN), {
      description: `Why: required, recorded in the audit trail. ${SAFE_TEXT}`,
    }),
  }),
  { id: 'ConsoleConfirmation', description: 'A confirmation form: the CSRF token and the reason.' },
);

const consoleVerifyFormSchema = documented(
  z.object({
    csrf: csrfField,
    anchor: documented(z.string().optional(), {
      description: '`<position>:<hash>` from an earlier verification (optional).',
    }),
  }),
  { id: 'ConsoleVerification', description: 'The verification form.' },
);

// ---- responses used by many routes ---------------------------------------------------------

const fail = (description: string): ApiResponseSpec => ({ description, json: errorBodySchema });
const refused = (description: string): ApiResponseSpec => ({
  description,
  html: true,
  json: approvalErrorBodySchema,
});

const BAD_ID = fail('`invalid_request`: `{id}` is not an elevation id (`field: "id"`).');
const UNAUTHENTICATED = fail(
  '`unauthenticated`: the bearer credential is missing, malformed or unknown, or a workload identity token was refused (`field: "authorization"`).',
);
/**
 * Added to every route that answers {@link UNAUTHENTICATED}: the per-network limit of failed
 * authentications (`ELEVATE_AUTH_FAILURE_BURST`, `ELEVATE_AUTH_FAILURE_PER_MINUTE`).
 */
const AUTH_RATE_LIMITED: ApiResponseSpec = {
  description:
    '`too_many_requests` with `field: "authorization"`: the caller’s network (IPv4 /24, IPv6 /64) failed to authenticate too often; refused before the credential is looked up, valid or not. Counted, not audited one by one (`refusals.summarized`).',
  json: errorBodySchema,
  headers: {
    'retry-after': {
      description: 'Seconds until the network may try again.',
      schema: z.string().regex(/^\d+$/),
    },
  },
};
const BOT_UNAVAILABLE = fail(
  '`service_unavailable`: Temporal or the audit store cannot be reached, or the keys of a workload identity token’s issuer cannot be fetched. Retry (with the same `requestId`).',
);
const ADMIN_FORBIDDEN = fail('`forbidden`: a bot API key on the admin API.');
const UNAVAILABLE = fail('`service_unavailable`: Temporal or the audit store cannot be reached; retry.');
const NOT_FOUND = fail('`not_found`: no such elevation, or another bot’s (the two cannot be told apart).');
const BAD_BODY = fail(
  '`invalid_request` (a field missing, malformed, out of range or unknown; `field` names it), `invalid_json`, or `invalid_body` (`field: "body"`: the bytes do not match their `content-encoding` or `content-length`).',
);
const TOO_LARGE = fail('`payload_too_large`: the body is over 16 KiB (after decompression).');
const NOT_JSON = fail(
  '`unsupported_media_type`: a body that is not `application/json` UTF-8 (`field: "content-type"`), or a `content-encoding` other than identity, gzip, deflate or br (`field: "content-encoding"`).',
);
/** The answers of `/readyz` and `/healthz` (the same check). */
const healthResponses = {
  200: { description: 'Every check passed.', json: healthSchema },
  503: { description: 'A check failed, or the process is stopping.', json: healthSchema },
};
const LOGIN_REDIRECT: ApiResponseSpec = {
  description:
    'To the identity provider’s login (authorization code flow with PKCE, `prompt=login`, `max_age`), with the login cookie set.',
  headers: {
    location: { description: 'The provider’s authorization endpoint.' },
    'set-cookie': {
      description:
        '`elevate_approval`: ties the login to this browser (`HttpOnly; SameSite=Lax; Path=/approvals`).',
    },
  },
};

const REFUSED_LINK = refused(
  '`approval_link_invalid`: the link, login or confirmation is unknown, used, expired, or from another browser.',
);
const REFUSED_MFA: ApiResponseSpec = {
  ...refused(
    '`insufficient_user_authentication` (RFC 9470): the login did not use MFA, is not fresh, or has no `auth_time`.',
  ),
  headers: {
    'www-authenticate': {
      description: '`Bearer error="insufficient_user_authentication", error_description="…", max_age=…`',
    },
  },
};
const REFUSED_PERSON = refused(
  '`approval_refused` (not an approver, or the bot’s owner where the role forbids it) or `identity_mismatch`.',
);
const REFUSED_STATE = refused(
  '`already_ended`, `not_pending`, `already_approved`, `approval_window_closed` or `approval_not_needed`.',
);
const REFUSED_DOWN = refused(
  '`service_unavailable`: the identity provider or the directory cannot be reached.',
);

const ELEVATION_ID = { id: elevationIdSchema };

const PAGE: ApiResponseSpec = { description: 'The page.', html: true };
const SIGN_IN_REDIRECT: ApiResponseSpec = {
  description: 'Signed out, or admin rights due for a fresh check at the provider: to `/admin/login?next=…`.',
  headers: { location: { description: '`/admin/login?next=<this page>`' } },
};
const CONSOLE_OFF: ApiResponseSpec = {
  description:
    'The console is off (no admin groups configured): a page that says how to turn it on; or no such elevation or bot.',
  html: true,
};
const NOT_ADMIN: ApiResponseSpec = {
  description:
    'The person is no longer an admin (found at a re-check); the session is ended and the refusal audited.',
  html: true,
};
const FORM_REFUSED: Record<number, ApiResponseSpec> = {
  400: {
    description: 'The form is not valid (a missing reason…): the confirmation page again, saying why.',
    html: true,
  },
  401: {
    description: 'No session (or rights due for a fresh check): nothing done; sign in again.',
    html: true,
  },
  403: {
    description:
      'No valid CSRF token, or sent from another origin (`Origin`, `Sec-Fetch-Site`); or no longer an admin. Audited as `auth.refused`.',
    html: true,
  },
};

/** A console page behind the sign-in. */
function consolePage(
  path: string,
  operationId: string,
  summary: string,
  description: string,
  extra: Partial<ApiRoute> = {},
): ApiRoute {
  return {
    method: 'get',
    path,
    operationId,
    tag: 'console',
    summary,
    description,
    security: 'adminConsole',
    ...extra,
    responses: { 200: PAGE, 302: SIGN_IN_REDIRECT, 403: NOT_ADMIN, 404: CONSOLE_OFF, ...extra.responses },
  };
}

const DONE_REDIRECT: ApiResponseSpec = {
  description: 'Done: to the page it changed, with a notice.',
  headers: { location: { description: 'The page.' } },
};

/** A console action: a form post with the CSRF token, answered by a redirect to the page it changed. */
function consoleAction(
  path: string,
  operationId: string,
  summary: string,
  description: string,
  extra: Partial<ApiRoute> = {},
): ApiRoute {
  return {
    method: 'post',
    path,
    operationId,
    tag: 'console',
    summary,
    description,
    security: 'adminConsole',
    body: {
      schema: consoleReasonFormSchema,
      contentType: 'application/x-www-form-urlencoded',
      required: true,
    },
    ...extra,
    responses: {
      // An action that shows its result (the verification) answers 200 instead of redirecting.
      ...((extra.responses?.[200] ? {} : { 303: DONE_REDIRECT }) as Record<number, ApiResponseSpec>),
      ...FORM_REFUSED,
      404: CONSOLE_OFF,
      409: { description: 'The elevation has already ended (`already_ended`).', html: true },
      503: { description: 'Temporal, the audit store or the directory cannot be reached.', html: true },
      ...extra.responses,
    },
  };
}
const BOT_ID = { id: botIdSchema };
const NO_SUCH_BOT = fail('`not_found`: the policy has no such bot (`field: "id"`).');
const BAD_BOT_ID = fail(
  '`invalid_request`: `{id}` is not a bot id, or a body field is missing, malformed or unknown (`field` names it); or `invalid_json`.',
);

/** One of the admin's runtime changes to a bot (they share their errors). */
function botChange(
  action: string,
  operationId: string,
  summary: string,
  description: string,
  body: { schema: z.ZodType; required: boolean },
  ok: ApiResponseSpec,
): ApiRoute {
  return {
    method: 'post',
    path: `/v1/admin/bots/{id}/${action}`,
    operationId,
    tag: 'admins',
    summary,
    description,
    security: 'admin',
    params: BOT_ID,
    body: { ...body, contentType: 'application/json' },
    responses: {
      200: ok,
      400: BAD_BOT_ID,
      401: UNAUTHENTICATED,
      403: ADMIN_FORBIDDEN,
      404: NO_SUCH_BOT,
      413: TOO_LARGE,
      415: NOT_JSON,
      503: UNAVAILABLE,
    },
  };
}

// ---- every route -----------------------------------------------------------------------------

/** Every route the API serves, in the order the reference shows them. */
export const API_ROUTES: readonly ApiRoute[] = [
  {
    method: 'post',
    path: '/v1/elevations',
    operationId: 'requestElevation',
    tag: 'bots',
    summary: 'Request an elevation',
    description:
      "Checked before anything starts, in this order: the bot is not locked down by an admin (403 `bot_locked`) nor disabled (403 `bot_disabled`), the role exists (422 `unknown_role`), the bot may request it (403 `role_not_allowed`), the duration fits the role (422 `duration_too_long`), and the request fits the bot's quotas (429 `too_many_requests`; the policy's limits). A refused request starts nothing. A replay of a `requestId` is answered before the quotas and never counts towards them.\n\nThe answer comes before the grant: `status` is `approved` for an auto-approved role, `pending_approval` for one that needs approvers. Poll or long-poll until `active`.",
    security: 'bot',
    body: { schema: elevationRequestSchema, contentType: 'application/json', required: true },
    responses: {
      202: {
        description: 'Accepted (or, with a `requestId` used before, the elevation it started).',
        json: botElevationViewSchema,
        headers: {
          location: { description: '`/v1/elevations/{id}`' },
          'idempotent-replayed': {
            description: '`true` when the `requestId` was used before and this is that elevation.',
            schema: z.literal('true'),
          },
        },
      },
      400: BAD_BODY,
      401: UNAUTHENTICATED,
      403: fail('`bot_locked`, `bot_disabled`, or `role_not_allowed` (`field: "role"`).'),
      409: fail(
        '`idempotency_conflict`: the `requestId` was used with different parameters (`field` names the first).',
      ),
      413: TOO_LARGE,
      415: fail(
        '`unsupported_media_type`: no JSON body, or not `application/json` UTF-8 (`field: "content-type"`), or a `content-encoding` other than identity, gzip, deflate or br (`field: "content-encoding"`).',
      ),
      422: fail('`unknown_role` (`field: "role"`) or `duration_too_long` (`field: "durationSeconds"`).'),
      429: {
        description:
          "`too_many_requests`: a quota of the policy's limits is reached; `field` names it: `limits.pendingPerRole` (requests of this role waiting for approval), `limits.openPerRole` (elevations of this role not yet ended) or `limits.requestsPerHour`. Or `field: authorization`: the caller's network failed to authenticate too often (refused before the key is looked up; `Retry-After` says when to try again).",
        json: errorBodySchema,
        headers: {
          'retry-after': {
            description: 'With `limits.requestsPerHour`: seconds until a request fits the hour again.',
            schema: z.string().regex(/^\d+$/),
          },
        },
      },
      503: BOT_UNAVAILABLE,
    },
  },
  {
    method: 'get',
    path: '/v1/elevations/{id}',
    operationId: 'getElevation',
    tag: 'bots',
    summary: 'Read one of the bot’s elevations, or long-poll it',
    description:
      'Without `waitSeconds` (or with 0) the current elevation, at once. With it, the answer comes as soon as `status` differs from what it was when the call arrived, or, with `until=<status>[,<status>…]`, as soon as `status` is one of those (at once if it already is). Either way at once when the elevation has ended, and after `waitSeconds` at the latest, with the elevation as it is then: check `status`.',
    security: 'bot',
    params: ELEVATION_ID,
    query: waitQuerySchema,
    responses: {
      200: { description: 'The elevation.', json: botElevationViewSchema },
      400: fail(
        '`invalid_request`: a bad `{id}`, `waitSeconds` or `until` (an unknown status; `field` names it), or an unknown query parameter.',
      ),
      401: UNAUTHENTICATED,
      404: NOT_FOUND,
      503: BOT_UNAVAILABLE,
    },
  },
  {
    method: 'post',
    path: '/v1/elevations/{id}/revoke',
    operationId: 'revokeElevation',
    tag: 'bots',
    summary: 'Give an elevation back early, or withdraw a pending request',
    description:
      'Pending approval: withdrawn at once (200, `revoked`, `endReason: withdrawn`). Approved or active: revocation starts (202, `revoking`, `endReason: given_back`); poll until `revoked`. Revoking: nothing new (202). Revoked: nothing (200). Denied, expired or failed: 409 `already_ended`.',
    security: 'bot',
    params: ELEVATION_ID,
    body: {
      schema: revokeBodySchema,
      contentType: 'application/json',
      required: false,
      description: 'Optional; if a body is sent, it must be JSON.',
    },
    responses: {
      200: { description: 'The elevation has ended.', json: botElevationViewSchema },
      202: { description: 'The revocation is under way.', json: botElevationViewSchema },
      400: BAD_BODY,
      401: UNAUTHENTICATED,
      404: NOT_FOUND,
      409: fail('`already_ended`: the elevation was denied, expired or failed.'),
      413: TOO_LARGE,
      415: NOT_JSON,
      503: BOT_UNAVAILABLE,
    },
  },
  {
    method: 'post',
    path: '/v1/elevations/{id}/credentials',
    operationId: 'takeElevationCredentials',
    tag: 'bots',
    summary: 'Take the AWS credentials of an active elevation, once',
    description:
      'For a role in AWS credentials mode: the temporary credentials of the session Elevate assumed for this elevation, handed to its bot exactly once. A POST because it changes state: a second call is refused, and nothing caches or prefetches it.\n\nEvery attempt is audited: `credentials.delivered` (session name and expiry, never the secret) or `credentials.refused` with the reason.',
    security: 'bot',
    params: ELEVATION_ID,
    responses: {
      200: {
        description: 'The credentials. Keep them out of logs.',
        json: awsCredentialsSchema,
        headers: { pragma: { description: '`no-cache`, beside `cache-control: no-store`.' } },
      },
      400: BAD_ID,
      401: UNAUTHENTICATED,
      404: NOT_FOUND,
      409: fail(
        '`not_active` (not granted yet, or no longer active) or `not_credentials_mode` (the role grants in the target itself).',
      ),
      410: fail('`credentials_gone`: already delivered, withdrawn by a revocation, or expired.'),
      503: BOT_UNAVAILABLE,
    },
  },
  {
    method: 'get',
    path: '/v1/admin/elevations',
    operationId: 'listElevations',
    tag: 'admins',
    summary: 'List elevations',
    description:
      'Newest `requestedAt` first (ties by id), from the audit store: an elevation appears once its workflow has recorded its first event.',
    security: 'admin',
    query: listQuerySchema,
    responses: {
      200: { description: 'One page.', json: elevationPageSchema },
      400: fail('`invalid_request`: a bad or unknown query parameter, or a cursor the server did not issue.'),
      401: UNAUTHENTICATED,
      403: ADMIN_FORBIDDEN,
      503: UNAVAILABLE,
    },
  },
  {
    method: 'get',
    path: '/v1/admin/elevations/{id}',
    operationId: 'getElevationTimeline',
    tag: 'admins',
    summary: 'One elevation with its audit events',
    description: 'Every audit event that names the elevation, in `seq` order.',
    security: 'admin',
    params: ELEVATION_ID,
    responses: {
      200: { description: 'The elevation and its events.', json: elevationTimelineSchema },
      400: BAD_ID,
      401: UNAUTHENTICATED,
      403: ADMIN_FORBIDDEN,
      404: fail('`not_found`: no such elevation.'),
      503: UNAVAILABLE,
    },
  },
  {
    method: 'get',
    path: '/v1/admin/elevations/{id}/evidence',
    operationId: 'getElevationEvidence',
    tag: 'admins',
    summary: 'The evidence pack of one elevation',
    description:
      'One JSON document, as an attachment: the elevation, its bot and role as recorded, every audit event with its chain fields, the approvals with their MFA evidence, the grant and revocation receipts, the workflow id, the chain head and the verification of the whole chain at export time, and a `digest` over all of it. The export is recorded first as an `audit.exported` event of the elevation (format `evidence`, with the digest), returned as `exportEvent`: `GET /v1/admin/audit/verify?anchor=<position>:<hash>` of that event proves the pack is Elevate’s. Walks the whole chain, so it takes as long as a verification.\n\nFor an admin token, or a browser signed in to the admin console (the download link on its elevation page).',
    security: 'adminOrConsole',
    params: ELEVATION_ID,
    responses: {
      200: {
        description: 'The evidence pack.',
        json: evidencePackSchema,
        headers: {
          'content-disposition': { description: 'attachment; filename="elevate-evidence-<id>.json"' },
        },
      },
      400: BAD_ID,
      401: UNAUTHENTICATED,
      403: ADMIN_FORBIDDEN,
      404: fail('`not_found`: no such elevation.'),
      503: UNAVAILABLE,
    },
  },
  {
    method: 'post',
    path: '/v1/admin/elevations/{id}/revoke',
    operationId: 'adminRevokeElevation',
    tag: 'admins',
    summary: 'Revoke any elevation',
    description:
      'As the bot’s revoke, for any elevation, with `endReason: admin_revoked` (a pending one ends at once).',
    security: 'admin',
    params: ELEVATION_ID,
    body: { schema: adminRevokeBodySchema, contentType: 'application/json', required: true },
    responses: {
      200: { description: 'The elevation has ended.', json: elevationViewSchema },
      202: { description: 'The revocation is under way.', json: elevationViewSchema },
      400: fail('`invalid_request` (`reason` missing, malformed or an unknown field) or `invalid_json`.'),
      401: UNAUTHENTICATED,
      403: ADMIN_FORBIDDEN,
      404: fail('`not_found`: no such elevation.'),
      409: fail('`already_ended`: the elevation was denied, expired or failed.'),
      413: TOO_LARGE,
      415: NOT_JSON,
      503: UNAVAILABLE,
    },
  },
  {
    method: 'get',
    path: '/v1/admin/audit/verify',
    operationId: 'verifyAuditChain',
    tag: 'admins',
    summary: 'Verify the audit hash chain',
    description:
      'Walks the whole chain in order and checks it against the store’s own head record (so a deleted tail is found), the signed checkpoints (so a chain rewritten and re-hashed by a database writer is found, at the row rewritten) and, if given, an anchor from an earlier run. Always 200: read `ok`, then `anchoring` (`not_anchored`: nothing vouches for the chain against a database writer).',
    security: 'admin',
    query: verifyQuerySchema,
    responses: {
      200: { description: 'The result.', json: verifyResultSchema },
      400: fail('`invalid_request`: a malformed `anchor`, or an unknown query parameter.'),
      401: UNAUTHENTICATED,
      403: ADMIN_FORBIDDEN,
      503: UNAVAILABLE,
    },
  },
  {
    method: 'get',
    path: '/v1/admin/audit/export',
    operationId: 'exportAudit',
    tag: 'admins',
    summary: 'Export the audit trail (JSON Lines, CSV or OCSF)',
    description:
      "Streamed page by page, never built in memory. `jsonl`: every event with its chain fields (re-verifiable). `csv`: RFC 4180 with a header row; cells that a spreadsheet would read as a formula get a leading `'`. `ocsf`: one OCSF 1.5.0 event per line (Group Management, Account Change, Authorize Session, Authentication, Detection Finding, Entity Management), the original under `unmapped`. `since` (inclusive) and `until` (exclusive) filter on the event time; the output is in chain order. Each export is recorded as `audit.exported`. An error after the first byte cuts the connection, so a truncated file never looks complete.",
    security: 'admin',
    query: exportQuerySchema,
    responses: {
      200: {
        description: 'The events, as an attachment.',
        text: ['application/x-ndjson', 'text/csv'],
        headers: { 'content-disposition': { description: 'attachment; filename="elevate-audit-…"' } },
      },
      400: fail('`invalid_request`: an unknown format, a malformed instant, `until` before `since`.'),
      401: UNAUTHENTICATED,
      403: ADMIN_FORBIDDEN,
      503: UNAVAILABLE,
    },
  },
  {
    method: 'get',
    path: '/v1/admin/bots',
    operationId: 'listBots',
    tag: 'admins',
    summary: 'List bots, with their runtime state',
    description:
      'Every bot of the policy, in policy order, merged with what admins changed at runtime (lockdown, disable/enable override, rotated key), with counts of its open elevations.',
    security: 'admin',
    responses: {
      200: { description: 'The bots.', json: botListSchema },
      401: UNAUTHENTICATED,
      403: ADMIN_FORBIDDEN,
      503: UNAVAILABLE,
    },
  },
  {
    method: 'get',
    path: '/v1/admin/bots/{id}',
    operationId: 'getBot',
    tag: 'admins',
    summary: 'One bot, with its runtime state',
    description: 'As in the list.',
    security: 'admin',
    params: BOT_ID,
    responses: {
      200: { description: 'The bot.', json: botSummarySchema },
      400: fail('`invalid_request`: `{id}` is not a bot id (`field: "id"`).'),
      401: UNAUTHENTICATED,
      403: ADMIN_FORBIDDEN,
      404: NO_SUCH_BOT,
      503: UNAVAILABLE,
    },
  },
  botChange(
    'lock',
    'lockBot',
    'Lock a bot down and revoke its elevations',
    'Marks the bot locked first, so that no new request gets through (403 `bot_locked`, naming who, when and why), then revokes every elevation of the bot that is pending approval, approved or active, as this admin with this reason. The bot can still read and give back its elevations. Idempotent: locking a locked bot keeps the first lock and revokes whatever is still open. Recorded as `bot.locked` with the revoked ids. Takes a second or more: it looks for elevations twice, to catch a request accepted in the same instant.',
    { schema: botLockBodySchema, required: true },
    {
      description: 'The bot is locked; what was revoked, and what could not be (lock again to retry).',
      json: botLockResultSchema,
    },
  ),
  botChange(
    'unlock',
    'unlockBot',
    'Lift a bot’s lockdown',
    'The bot may request elevations again (unless it is disabled). Nothing revoked comes back. Recorded as `bot.unlocked`.',
    { schema: botLockBodySchema, required: true },
    { description: 'The bot, unlocked.', json: botSummarySchema },
  ),
  botChange(
    'disable',
    'disableBot',
    'Disable a bot at runtime',
    'Overrides the policy’s `disabled`: requests are refused with 403 `bot_disabled`. Its elevations are left alone (lock it to end them). Recorded as `bot.disabled`.',
    { schema: botChangeBodySchema, required: false },
    { description: 'The bot, disabled.', json: botSummarySchema },
  ),
  botChange(
    'enable',
    'enableBot',
    'Enable a bot at runtime',
    'Overrides the policy’s `disabled: true`; for a bot the policy enables, clears an earlier disable (so a later `disabled: true` in the policy takes effect). A lockdown stays. Recorded as `bot.enabled`.',
    { schema: botChangeBodySchema, required: false },
    { description: 'The bot, enabled.', json: botSummarySchema },
  ),
  botChange(
    'rotate-key',
    'rotateBotKey',
    'Give a bot a new API key',
    'Returns a new API key once; only its hash is stored. From now on the old key (the policy’s, or the previous rotated one) is refused with 401 in every API process, and the policy’s `apiKeyHash` is ignored for this bot. Workload identity tokens are not affected. Recorded as `bot.key_rotated` with fingerprints of the new and the previous key.',
    { schema: botChangeBodySchema, required: false },
    {
      description: 'The new key. Give it to the bot; it cannot be shown again.',
      json: botKeyRotationSchema,
      headers: { pragma: { description: '`no-cache`, beside `cache-control: no-store`.' } },
    },
  ),
  {
    method: 'get',
    path: '/approvals/start',
    operationId: 'startApprovalLogin',
    tag: 'approvals',
    summary: 'Open a personal approval link: start the MFA login',
    description:
      'For browsers. The same eligibility check as the Slack click runs first (nobody logs in for nothing); then the browser goes to the identity provider. The link may be opened again within its 10 minutes.',
    security: 'none',
    query: approvalStartQuerySchema,
    responses: {
      303: LOGIN_REDIRECT,
      400: REFUSED_LINK,
      403: REFUSED_PERSON,
      404: refused('`not_found`: the elevation does not exist.'),
      409: REFUSED_STATE,
      503: REFUSED_DOWN,
    },
  },
  {
    method: 'get',
    path: '/approvals/callback',
    operationId: 'finishApprovalLogin',
    tag: 'approvals',
    summary: 'Come back from the identity provider: the confirmation page',
    description:
      'The provider sends the browser here. The login is used up; its ID token is checked (signature, nonce, MFA, freshness, the same person as in Slack) and the approver’s eligibility again. Nothing is approved yet: the page asks for confirmation.',
    security: 'approvalBrowser',
    query: approvalCallbackQuerySchema,
    responses: {
      200: { description: 'The confirmation page.', html: true },
      400: REFUSED_LINK,
      401: REFUSED_MFA,
      403: REFUSED_PERSON,
      404: refused('`not_found`: the elevation does not exist.'),
      409: REFUSED_STATE,
      503: REFUSED_DOWN,
    },
  },
  {
    method: 'post',
    path: '/approvals/confirm',
    operationId: 'confirmApproval',
    tag: 'approvals',
    summary: 'Confirm the approval',
    description:
      'The confirmation is used up; the approval goes to the workflow with the login’s evidence, where it is refused if it must not count.',
    security: 'approvalBrowser',
    body: {
      schema: approvalConfirmFormSchema,
      contentType: 'application/x-www-form-urlencoded',
      required: true,
    },
    responses: {
      200: { description: '“Your approval was recorded”, with the elevation’s progress.', html: true },
      400: refused(
        '`approval_link_invalid` (confirmation unknown, used, expired, or another browser’s) or `invalid_request` (the form is over 2 KiB or has more than 5 fields).',
      ),
      401: REFUSED_MFA,
      403: REFUSED_PERSON,
      404: refused('`not_found`: the elevation does not exist.'),
      409: REFUSED_STATE,
      503: REFUSED_DOWN,
    },
  },
  {
    method: 'get',
    path: '/approvals/{id}',
    operationId: 'startUnboundApprovalLogin',
    tag: 'approvals',
    summary: 'Without Slack: start the MFA login for an elevation',
    description:
      'The link written to the log when Slack is not configured. Whoever logs in with MFA is the approver, checked for eligibility after the login. Refused (404, reason `slack_required`) when Slack is configured.',
    security: 'none',
    params: ELEVATION_ID,
    responses: {
      303: LOGIN_REDIRECT,
      404: refused(
        '`not_found`: Slack is configured (reason `slack_required`), or `{id}` is not an elevation id.',
      ),
      503: REFUSED_DOWN,
    },
  },
  {
    method: 'post',
    path: '/slack/events',
    operationId: 'receiveSlackInteraction',
    tag: 'slack',
    summary: 'Slack’s interactivity request URL',
    description:
      'Served in Slack HTTP mode only. Bolt verifies the v0 signature over the raw body and refuses requests older than five minutes; each refusal is audited as `auth.refused`. A validly signed interaction seen before is acknowledged and ignored.',
    security: 'slack',
    headers: {
      'x-slack-request-timestamp': {
        schema: z.string().regex(/^[0-9]+$/),
        required: true,
        description: 'When Slack sent the request (Unix seconds); at most five minutes old.',
      },
    },
    body: {
      schema: slackInteractionFormSchema,
      contentType: 'application/x-www-form-urlencoded',
      required: true,
    },
    responses: {
      200: {
        description:
          'Acknowledged: an empty body, or, for a deny submission that was refused, the errors to show in the modal.',
        json: slackViewErrorsSchema,
      },
      400: { description: 'The body could not be read.' },
      401: {
        description: 'A signature header missing, a timestamp too old, or a signature that does not match.',
      },
      413: { description: 'The body is too large.' },
    },
  },
  {
    method: 'get',
    path: '/admin/login',
    operationId: 'startConsoleSignIn',
    tag: 'console',
    summary: 'Sign in to the admin console',
    description:
      'To the identity provider: authorization code flow with PKCE (S256), a fresh `state` and `nonce`; the transaction is kept server-side and bound to this browser by a cookie.',
    security: 'none',
    query: consoleLoginQuerySchema,
    responses: {
      303: {
        description: 'To the provider’s login, with the sign-in cookie set.',
        headers: {
          location: { description: 'The provider’s authorization endpoint.' },
          'set-cookie': {
            description: '`elevate_admin_login` (HttpOnly; SameSite=Lax; Path=/; 10 minutes).',
          },
        },
      },
      404: CONSOLE_OFF,
      503: { description: 'The identity provider cannot be reached.', html: true },
    },
  },
  {
    method: 'get',
    path: '/admin/callback',
    operationId: 'finishConsoleSignIn',
    tag: 'console',
    summary: 'Come back from the identity provider',
    description:
      'The sign-in is used up; the ID token is checked (signature, nonce, MFA by `amr`/`acr`, e-mail) and the admin rights (the group claim, the LDAP group). An admin gets a new session (`admin.signed_in` is audited); anyone else a 403 page (audited as `auth.refused`, reason `not_admin`).',
    security: 'consoleSignIn',
    query: approvalCallbackQuerySchema,
    responses: {
      303: {
        description: 'Signed in: to the page asked for, with the session cookie.',
        headers: {
          location: { description: 'The console page to return to.' },
          'set-cookie': {
            description: '`elevate_admin` (HttpOnly; SameSite=Lax; Path=/; Secure over HTTPS).',
          },
        },
      },
      400: {
        description:
          'The sign-in is unknown, used, expired, from another browser, or refused by the provider.',
        html: true,
      },
      401: { description: 'The login did not use multi-factor authentication.', html: true },
      403: { description: 'Not an admin, or no verified e-mail address.', html: true },
      404: CONSOLE_OFF,
      503: { description: 'The provider or the directory cannot be reached.', html: true },
    },
  },
  {
    method: 'post',
    path: '/admin/logout',
    operationId: 'consoleSignOut',
    tag: 'console',
    summary: 'Sign out of the admin console',
    description: 'Ends the session (server-side) and clears the cookie.',
    security: 'adminConsole',
    body: {
      schema: consoleLogoutFormSchema,
      contentType: 'application/x-www-form-urlencoded',
      required: true,
    },
    responses: {
      200: { description: '“You are signed out”.', html: true },
      400: FORM_REFUSED[400]!,
      401: { description: 'Not signed in.', html: true },
      403: FORM_REFUSED[403]!,
      404: CONSOLE_OFF,
    },
  },
  {
    method: 'get',
    path: '/admin/console.css',
    operationId: 'getConsoleStylesheet',
    tag: 'console',
    summary: 'The console’s stylesheet',
    description:
      'The only resource the console’s pages load (their Content-Security-Policy allows nothing else).',
    security: 'none',
    responses: { 200: { description: 'The stylesheet.', text: ['text/css'] } },
  },
  consolePage(
    '/admin',
    'consoleElevations',
    'Elevations, filtered and paged',
    'Newest first. Filters: bot, owner, team, role, target type, environment, status, risk and the day range; a “Next page” link carries a cursor.',
    {
      query: consoleListQuerySchema,
      responses: { 400: { description: 'A filter is not valid: the page says which.', html: true } },
    },
  ),
  consolePage(
    '/admin/elevations/{id}',
    'consoleElevation',
    'One elevation: timeline, approvals with MFA evidence, receipts',
    'Everything about one elevation: who asked, why, who approved with which MFA login (issuer, subject, amr, acr, auth_time, method), the grant and revocation receipts confirmed by reading the target back, the Temporal workflow id, every audit event with its chain position and hash, and the evidence pack download.',
    { params: ELEVATION_ID, query: consoleNoticeQuerySchema },
  ),
  consolePage(
    '/admin/elevations/{id}/revoke',
    'consoleRevokeConfirmation',
    'Confirm a revocation',
    'The form that revokes: a reason is required.',
    { params: ELEVATION_ID },
  ),
  consoleAction(
    '/admin/elevations/{id}/revoke',
    'consoleRevoke',
    'Revoke an elevation',
    'Recorded as `admin.action` (`revoke_elevation`, `via: console`) with the person as actor, then revoked as with the admin API.',
    { params: ELEVATION_ID },
  ),
  consolePage(
    '/admin/bots/{id}',
    'consoleBot',
    'One bot: purpose, owner, team, roles, history',
    'The bot as the policy has it, the roles it may request (with their risk), its lockdown state, and its elevations, paged.',
    { params: BOT_ID, query: consoleHistoryQuerySchema },
  ),
  consolePage(
    '/admin/bots/{id}/lock',
    'consoleLockConfirmation',
    'Confirm a lockdown',
    'The form that locks a bot down.',
    {
      params: BOT_ID,
    },
  ),
  consoleAction(
    '/admin/bots/{id}/lock',
    'consoleLock',
    'Lock a bot down',
    'As `POST /v1/admin/bots/{id}/lock`, recorded as `bot.locked` with `via: console`.',
    { params: BOT_ID },
  ),
  consolePage(
    '/admin/bots/{id}/unlock',
    'consoleUnlockConfirmation',
    'Confirm an unlock',
    'The form that unlocks a bot.',
    {
      params: BOT_ID,
    },
  ),
  consoleAction(
    '/admin/bots/{id}/unlock',
    'consoleUnlock',
    'Unlock a bot',
    'As `POST /v1/admin/bots/{id}/unlock`, recorded as `bot.unlocked` with `via: console`.',
    { params: BOT_ID },
  ),
  consolePage(
    '/admin/audit/verify',
    'consoleVerifyConfirmation',
    'Confirm a verification of the audit chain',
    'The form that verifies.',
  ),
  consoleAction(
    '/admin/audit/verify',
    'consoleVerify',
    'Verify the audit chain',
    'Walks the whole chain (against the store’s head and the anchor, if given) and shows the result; recorded as `admin.action` (`verify_audit`) with the result.',
    {
      body: {
        schema: consoleVerifyFormSchema,
        contentType: 'application/x-www-form-urlencoded',
        required: true,
      },
      responses: {
        200: { description: 'The result: intact, or the first broken position and why.', html: true },
      },
    },
  ),
  consolePage(
    '/admin/charts',
    'consoleCharts',
    'Charts',
    'Elevations per day by outcome, active grants over time, the revocation lag distribution, approval turnaround, and the busiest bots and roles: server-rendered SVG, each with a table of the same numbers.',
    { query: consoleChartsQuerySchema },
  ),
  {
    method: 'get',
    path: '/livez',
    operationId: 'getLiveness',
    tag: 'operations',
    summary: 'Liveness: the process answers',
    description:
      'For an orchestrator’s liveness probe: 200 while the process serves requests, whatever its dependencies do (those are `/readyz`).',
    security: 'none',
    responses: { 200: { description: 'The process is alive.', json: z.object({ status: z.literal('ok') }) } },
  },
  {
    method: 'get',
    path: '/readyz',
    operationId: 'getReadiness',
    tag: 'operations',
    summary: 'Readiness: Elevate and its dependencies answer',
    description:
      'For a load balancer’s or orchestrator’s readiness probe. Each check has 2 seconds. The answer says which part is down and nothing more; the reason is in the server’s log. While the process stops (SIGTERM) it answers 503 `draining` at once, so no new traffic is sent to it.',
    security: 'none',
    responses: healthResponses,
  },
  {
    method: 'get',
    path: '/healthz',
    operationId: 'getHealth',
    tag: 'operations',
    summary: 'Health of Elevate and its dependencies (the same as /readyz)',
    description:
      'Each check has 2 seconds. The answer says which part is down and nothing more; the reason is in the server’s log. Kept for existing monitors; `/readyz` is the same answer.',
    security: 'none',
    responses: healthResponses,
  },
  {
    method: 'get',
    path: '/openapi.json',
    operationId: 'getOpenApiDocument',
    tag: 'operations',
    summary: 'This reference, as OpenAPI 3.1',
    description: 'Generated from the schemas the server validates with.',
    security: 'none',
    responses: { 200: { description: 'The OpenAPI document.', json: anyJsonObject } },
  },
  {
    method: 'get',
    path: '/metrics',
    operationId: 'getMetrics',
    tag: 'operations',
    summary: 'Prometheus metrics',
    description:
      'The Prometheus text exposition format: requests by outcome, active grants, pending approvals, the revocation lag histogram, revoke failures, Slack, OIDC and target errors. Needs `Authorization: Bearer` with the metrics token (`ELEVATE_METRICS_TOKEN`) or an admin token: counts of grants show when privilege is held. A worker without the API serves the same on `ELEVATE_METRICS_PORT`.',
    security: 'admin',
    responses: {
      200: { description: 'The metrics.', text: ['text/plain'] },
      401: UNAUTHENTICATED,
    },
  },
  {
    method: 'get',
    path: '/docs/api',
    operationId: 'getApiReferencePage',
    tag: 'operations',
    summary: 'This reference, as a web page',
    description: 'One self-contained HTML page: no scripts, nothing loaded from elsewhere.',
    security: 'none',
    responses: { 200: { description: 'The reference.', html: true } },
  },
];

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

// ---- the HTML page ----------------------------------------------------------------------------

const STYLE = `
body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1d1d1f}
h1{font-size:1.6rem;margin-bottom:0}h2{margin-top:2.5rem;border-bottom:2px solid #ddd}h3{margin:2rem 0 .3rem;font-size:1.1rem}
h4{margin:1rem 0 .3rem;font-size:.95rem;color:#444}
table{border-collapse:collapse;width:100%;margin:.3rem 0}td,th{text-align:left;padding:.25rem .5rem;border-bottom:1px solid #e4e4e4;vertical-align:top;overflow-wrap:anywhere}
th{color:#555;font-weight:600}td table{margin:.3rem 0 0;font-size:.95em}
code{background:#f3f3f3;padding:0 .2rem;border-radius:3px}.method{display:inline-block;min-width:3.5rem;font:700 .8rem monospace;text-transform:uppercase;color:#fff;background:#555;border-radius:3px;padding:.1rem .4rem;margin-right:.4rem;text-align:center}
.get{background:#0b6bcb}.post{background:#116329}.req{color:#a40e26;font-size:.8rem}.muted{color:#666;font-size:.9rem}
article{border-top:1px solid #eee}details{margin:.3rem 0}pre{background:#f7f7f7;padding:.5rem;overflow:auto;font-size:.85rem}
nav>ul{columns:2 18rem;column-gap:2.5rem}nav ul{padding-left:1.2rem}nav>ul>li{break-inside:avoid}nav li{overflow-wrap:anywhere}
@media (max-width:40rem){body{padding:0 .6rem}td,th{padding:.2rem .25rem}}`;

/** Plain text with `backticks` as HTML: escaped, code marked, blank lines as paragraphs. */
function prose(text: string | undefined): string {
  if (!text) return '';
  return text
    .split(/\n\s*\n/)
    .map((p) => `<p>${inline(p)}</p>`)
    .join('');
}

function inline(text: string): string {
  return escapeHtml(text).replace(/`([^`]+)`/g, '<code>$1</code>');
}

function anchor(kind: string, name: string): string {
  return `${kind}-${name.replace(/[^A-Za-z0-9_-]/g, '-')}`;
}

/** The component name a `$ref` points to. */
function refName(ref: string): string {
  const last = ref.slice(ref.lastIndexOf('/') + 1);
  return last.replace(/~1/g, '/').replace(/~0/g, '~');
}

function isSchema(value: unknown): value is JsonSchema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short description of a schema's type: `string`, `array of Elevation`, `"auto"`... */
function typeHtml(s: JsonSchema): string {
  if (typeof s.$ref === 'string') {
    const name = refName(s.$ref);
    return `<a href="#${escapeHtml(anchor('schema', name))}">${escapeHtml(name)}</a>`;
  }
  if ('const' in s) return `<code>${escapeHtml(JSON.stringify(s.const))}</code>`;
  if (Array.isArray(s.enum)) {
    return `one of ${s.enum.map((v) => `<code>${escapeHtml(JSON.stringify(v))}</code>`).join(', ')}`;
  }
  const branches = s.anyOf ?? s.oneOf;
  if (Array.isArray(branches)) return 'one of the forms below';
  const types = Array.isArray(s.type) ? (s.type as string[]) : typeof s.type === 'string' ? [s.type] : [];
  if (types.includes('array') && isSchema(s.items)) return `array of ${typeHtml(s.items)}`;
  if (types.includes('object') && !isSchema(s.properties) && isSchema(s.additionalProperties)) {
    const values = s.additionalProperties;
    return Object.keys(values).length === 0 ? 'object' : `object of ${typeHtml(values)}`;
  }
  return escapeHtml(types.length > 0 ? types.join(' or ') : 'any');
}

/** Constraints and description of a schema, as one line of text. */
function notesHtml(s: JsonSchema): string {
  const notes: string[] = [];
  if (typeof s.format === 'string') notes.push(`format <code>${escapeHtml(s.format)}</code>`);
  if (typeof s.pattern === 'string') notes.push(`pattern <code>${escapeHtml(s.pattern)}</code>`);
  const min = typeof s.minLength === 'number' ? s.minLength : undefined;
  const max = typeof s.maxLength === 'number' ? s.maxLength : undefined;
  if (min !== undefined || max !== undefined) notes.push(`${min ?? 0}–${max ?? '…'} characters`);
  if (typeof s.minimum === 'number') notes.push(`≥ ${escapeHtml(String(s.minimum))}`);
  if (typeof s.maximum === 'number') notes.push(`≤ ${escapeHtml(String(s.maximum))}`);
  if ('default' in s) notes.push(`default <code>${escapeHtml(JSON.stringify(s.default))}</code>`);
  if (s.additionalProperties === false) notes.push('no other fields');
  const text = typeof s.description === 'string' ? inline(s.description) : '';
  return [text, notes.length > 0 ? `<span class="muted">${notes.join('; ')}</span>` : '']
    .filter(Boolean)
    .join(' ');
}

/** Nested detail of a schema: its properties, its array items' properties, its forms. */
function detailHtml(s: JsonSchema): string {
  if (isSchema(s.properties)) return propertiesHtml(s);
  if (isSchema(s.items) && !s.items.$ref) return detailHtml(s.items);
  const branches = s.anyOf ?? s.oneOf;
  if (Array.isArray(branches)) {
    return `<ul>${branches
      .filter(isSchema)
      .map((b) => `<li>${typeHtml(b)} ${notesHtml(b)}${detailHtml(b)}</li>`)
      .join('')}</ul>`;
  }
  return '';
}

function propertiesHtml(s: JsonSchema): string {
  const required = new Set(Array.isArray(s.required) ? (s.required as string[]) : []);
  const rows = Object.entries(s.properties as Record<string, unknown>)
    .filter((entry): entry is [string, JsonSchema] => isSchema(entry[1]))
    .map(
      ([name, p]) =>
        `<tr><td><code>${escapeHtml(name)}</code>${required.has(name) ? ' <span class="req">required</span>' : ''}</td><td>${typeHtml(p)}</td><td>${notesHtml(p)}${detailHtml(p)}</td></tr>`,
    )
    .join('');
  return `<table><tr><th>Field</th><th>Type</th><th>About</th></tr>${rows}</table>`;
}

function schemaHtml(s: JsonSchema): string {
  return `<p>${typeHtml(s)} ${notesHtml(s)}</p>${detailHtml(s)}`;
}

function resolveParameter(
  doc: OpenApiDocument,
  p: OpenApiParameter | OpenApiRef,
): OpenApiParameter | undefined {
  if (!('$ref' in p)) return p;
  return doc.components.parameters[refName(p.$ref)];
}

function operationHtml(doc: OpenApiDocument, path: string, method: HttpMethod, op: OpenApiOperation): string {
  const parts: string[] = [
    `<article id="${escapeHtml(anchor('op', op.operationId))}">`,
    `<h3><span class="method ${method}">${method}</span><code>${escapeHtml(path)}</code></h3>`,
    `<p><strong>${inline(op.summary)}</strong></p>`,
    prose(op.description),
  ];
  const who = op.security.map((req) =>
    Object.keys(req)
      .map((k) => `<code>${escapeHtml(k)}</code>`)
      .join(' + '),
  );
  parts.push(`<p class="muted">Authentication: ${who.length > 0 ? who.join(' or ') : 'none'}</p>`);
  const params = op.parameters.map((p) => resolveParameter(doc, p)).filter((p) => p !== undefined);
  if (params.length > 0) {
    parts.push(
      '<h4>Parameters</h4><table><tr><th>Name</th><th>In</th><th>Type</th><th>About</th></tr>',
      ...params.map(
        (p) =>
          `<tr><td><code>${escapeHtml(p.name)}</code>${p.required ? ' <span class="req">required</span>' : ''}</td><td>${escapeHtml(p.in)}</td><td>${typeHtml(p.schema)}</td><td>${inline(p.description ?? '')} ${notesHtml(p.schema)}</td></tr>`,
      ),
      '</table>',
    );
  }
  if (op.requestBody) {
    parts.push(
      `<h4>Request body${op.requestBody.required ? '' : ' (optional)'}</h4>`,
      prose(op.requestBody.description),
    );
    for (const [type, media] of Object.entries(op.requestBody.content)) {
      // The body's fields are shown here too, not only behind the link to its schema.
      const ref = media.schema.$ref;
      const component = typeof ref === 'string' ? doc.components.schemas[refName(ref)] : undefined;
      parts.push(
        `<p class="muted"><code>${escapeHtml(type)}</code></p>`,
        schemaHtml(media.schema),
        component ? detailHtml(component) : '',
      );
    }
  }
  parts.push('<h4>Responses</h4><table><tr><th>Status</th><th>About</th><th>Body</th></tr>');
  for (const [status, res] of Object.entries(op.responses)) {
    const bodies = Object.entries(res.content ?? {}).map(
      ([type, media]) =>
        `<code>${escapeHtml(type)}</code> ${type === 'text/html' ? '' : typeHtml(media.schema)}`,
    );
    const headers = Object.entries(res.headers ?? {})
      .filter((entry): entry is [string, OpenApiHeader] => !('$ref' in entry[1]))
      .map(
        ([name, h]) =>
          `<br><span class="muted">Header <code>${escapeHtml(name)}</code>: ${inline(h.description)}</span>`,
      );
    parts.push(
      `<tr><td><code>${escapeHtml(status)}</code></td><td>${inline(res.description)}${headers.join('')}</td><td>${bodies.join('<br>')}</td></tr>`,
    );
  }
  parts.push('</table></article>');
  return parts.join('');
}

/**
 * The document as one HTML page, and the Content-Security-Policy to serve it with: no scripts
 * at all, and only this page's own stylesheet (allowed by its hash, not by `unsafe-inline`).
 * Every text from the document is escaped.
 */
export function renderApiReference(doc: OpenApiDocument): { html: string; contentSecurityPolicy: string } {
  const operations: { tag: string; path: string; method: HttpMethod; op: OpenApiOperation }[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const method of ['get', 'post'] as const) {
      const op = item[method];
      if (op) operations.push({ tag: op.tags[0] ?? '', path, method, op });
    }
  }
  const nav = doc.tags
    .map((t) => {
      const links = operations
        .filter((o) => o.tag === t.name)
        .map(
          (o) =>
            // <wbr>: a long path wraps after a slash in a narrow column, not mid-word.
            `<li><a href="#${escapeHtml(anchor('op', o.op.operationId))}"><code>${escapeHtml(o.method.toUpperCase())} ${escapeHtml(o.path).replaceAll('/', '/<wbr>')}</code></a></li>`,
        );
      return `<li><a href="#${escapeHtml(anchor('tag', t.name))}">${escapeHtml(t.name)}</a><ul>${links.join('')}</ul></li>`;
    })
    .join('');
  const sections = doc.tags.map(
    (t) =>
      `<section><h2 id="${escapeHtml(anchor('tag', t.name))}">${escapeHtml(t.name)}</h2>${prose(t.description)}${operations
        .filter((o) => o.tag === t.name)
        .map((o) => operationHtml(doc, o.path, o.method, o.op))
        .join('')}</section>`,
  );
  const schemes = Object.entries(doc.components.securitySchemes)
    .map(([name, s]) => `<tr><td><code>${escapeHtml(name)}</code></td><td>${inline(s.description)}</td></tr>`)
    .join('');
  const schemas = Object.entries(doc.components.schemas)
    .map(
      ([name, s]) =>
        `<article id="${escapeHtml(anchor('schema', name))}"><h3>${escapeHtml(name)}</h3>${schemaHtml(s)}</article>`,
    )
    .join('');
  const title = `${doc.info.title} API ${doc.info.version}`;
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1"><title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body><header><h1>${escapeHtml(title)}</h1><p class="muted">OpenAPI ${escapeHtml(doc.openapi)} · <a href="/openapi.json">openapi.json</a></p>${prose(doc.info.summary)}${prose(doc.info.description)}</header><nav><h2>Contents</h2><ul>${nav}<li><a href="#authentication">Authentication</a></li><li><a href="#schemas">Schemas</a></li></ul></nav><main>${sections.join('')}<section><h2 id="authentication">Authentication</h2><table><tr><th>Scheme</th><th>About</th></tr>${schemes}</table></section><section><h2 id="schemas">Schemas</h2>${schemas}</section></main></body></html>`;
  const styleHash = createHash('sha256').update(STYLE).digest('base64');
  return {
    html,
    contentSecurityPolicy: `default-src 'none'; style-src 'sha256-${styleHash}'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`,
  };
}

// ---- serving it ---------------------------------------------------------------------------------

/**
 * Serve the reference on `app`: `GET /openapi.json` and `GET /docs/api`, without
 * authentication. Both are built on first request and then kept (the policy is read once, at
 * start). `version` defaults to Elevate's own; `roles` lists the running policy's role ids;
 * `document` serves a document the caller built (and perhaps extended) instead.
 */
export function mountApiReference(
  app: express.Express,
  opts: { version?: string; serverUrl?: string; roles?: readonly string[]; document?: OpenApiDocument } = {},
): void {
  let built: { json: string; html: string; csp: string } | undefined;
  const reference = () => {
    if (!built) {
      const doc =
        opts.document ??
        buildOpenApi({
          version: opts.version ?? elevateVersion(),
          ...(opts.serverUrl ? { serverUrl: opts.serverUrl } : {}),
          ...(opts.roles ? { roles: opts.roles } : {}),
        });
      const page = renderApiReference(doc);
      built = { json: JSON.stringify(doc), html: page.html, csp: page.contentSecurityPolicy };
    }
    return built;
  };

  app.get('/openapi.json', (_req, res) => {
    const { json } = reference();
    // Public and the same for everyone: caches may keep it, but must check it is current.
    res.setHeader('cache-control', 'no-cache');
    res.setHeader('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    res.type('application/json').send(json);
  });

  app.get('/docs/api', (_req, res) => {
    const { html, csp } = reference();
    res.setHeader('cache-control', 'no-cache');
    res.setHeader('content-security-policy', csp);
    res.setHeader('referrer-policy', 'no-referrer');
    res.type('html').send(html);
  });
}
