/** Answers many routes share: the error bodies, the sign-in redirects, the console's forms. */
import { z } from 'zod';
import { approvalErrorBodySchema, errorBodySchema, healthSchema } from '../response-schemas.js';
import { botIdSchema, elevationIdSchema } from '../schemas.js';
import { route, type ApiResponseSpec } from './route-spec.js';

export const fail = (description: string): ApiResponseSpec => ({ description, json: errorBodySchema });
export const refused = (description: string): ApiResponseSpec => ({
  description,
  html: true,
  json: approvalErrorBodySchema,
});

export const BAD_ID = fail('`invalid_request`: `{id}` is not an elevation id (`field: "id"`).');
export const UNAUTHENTICATED = fail(
  '`unauthenticated`: the bearer credential is missing, malformed or unknown, or a workload identity token was refused (`field: "authorization"`).',
);
/**
 * Added to every route that answers {@link UNAUTHENTICATED}: the per-network limit of failed
 * authentications (`ELEVATE_AUTH_FAILURE_BURST`, `ELEVATE_AUTH_FAILURE_PER_MINUTE`).
 */
export const AUTH_RATE_LIMITED: ApiResponseSpec = {
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
export const BOT_UNAVAILABLE = fail(
  '`service_unavailable`: Temporal or the audit store cannot be reached, or the keys of a workload identity token’s issuer cannot be fetched. Retry (with the same `requestId`).',
);
export const ADMIN_FORBIDDEN = fail('`forbidden`: a bot API key on the admin API.');
export const UNAVAILABLE = fail(
  '`service_unavailable`: Temporal or the audit store cannot be reached; retry.',
);
export const NOT_FOUND = fail(
  '`not_found`: no such elevation, or another bot’s (the two cannot be told apart).',
);
export const BAD_BODY = fail(
  '`invalid_request` (a field missing, malformed, out of range or unknown; `field` names it), `invalid_json`, or `invalid_body` (`field: "body"`: the bytes do not match their `content-encoding` or `content-length`).',
);
export const TOO_LARGE = fail('`payload_too_large`: the body is over 16 KiB (after decompression).');
export const NOT_JSON = fail(
  '`unsupported_media_type`: a body that is not `application/json` UTF-8 (`field: "content-type"`), or a `content-encoding` other than identity, gzip, deflate or br (`field: "content-encoding"`).',
);
/** The answers of `/readyz` and `/healthz` (the same check). */
export const healthResponses = {
  200: { description: 'Every check passed.', json: healthSchema },
  503: { description: 'A check failed, or the process is stopping.', json: healthSchema },
};
export const LOGIN_REDIRECT: ApiResponseSpec = {
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

export const REFUSED_LINK = refused(
  '`approval_link_invalid`: the link, login or confirmation is unknown, used, expired, or from another browser.',
);
export const REFUSED_MFA: ApiResponseSpec = {
  ...refused(
    '`insufficient_user_authentication` (RFC 9470): the login did not use MFA, is not fresh, or has no `auth_time`.',
  ),
  headers: {
    'www-authenticate': {
      description: '`Bearer error="insufficient_user_authentication", error_description="…", max_age=…`',
    },
  },
};
export const REFUSED_PERSON = refused(
  '`approval_refused` (not an approver, or the bot’s owner where the role forbids it) or `identity_mismatch`.',
);
export const REFUSED_STATE = refused(
  '`already_ended`, `not_pending`, `already_approved`, `approval_window_closed` or `approval_not_needed`.',
);
export const REFUSED_DOWN = refused(
  '`service_unavailable`: the identity provider or the directory cannot be reached.',
);

export const ELEVATION_ID = { id: elevationIdSchema };

const PAGE: ApiResponseSpec = { description: 'The page.', html: true };
const SIGN_IN_REDIRECT: ApiResponseSpec = {
  description: 'Signed out, or admin rights due for a fresh check at the provider: to `/admin/login?next=…`.',
  headers: { location: { description: '`/admin/login?next=<this page>`' } },
};
export const CONSOLE_OFF: ApiResponseSpec = {
  description:
    'The console is off (no admin groups configured): a page that says how to turn it on; or no such elevation or bot.',
  html: true,
};
const NOT_ADMIN: ApiResponseSpec = {
  description:
    'The person is no longer an admin (found at a re-check); the session is ended and the refusal audited.',
  html: true,
};
export const FORM_REFUSED: Record<number, ApiResponseSpec> = {
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

/**
 * What a console page or form reads besides its form: path parameters and a query, each typed
 * through to its handler (`admin/console-handler.ts`); and answers of its own.
 */
export interface ConsoleInputs {
  params?: Record<string, z.ZodType>;
  query?: z.ZodObject;
  responses?: Record<number, ApiResponseSpec>;
}

/**
 * A console page behind the sign-in. Its type keeps `operationId` and the schemas of `inputs`,
 * so its handler is typed from them.
 */
export function consolePage<const Id extends string, const Inputs extends ConsoleInputs>(
  path: string,
  operationId: Id,
  summary: string,
  description: string,
  inputs: Inputs,
) {
  const { responses, ...read } = inputs;
  return route({
    method: 'get',
    path,
    operationId,
    tag: 'console',
    summary,
    description,
    security: 'adminConsole',
    ...read,
    responses: { 200: PAGE, 302: SIGN_IN_REDIRECT, 403: NOT_ADMIN, 404: CONSOLE_OFF, ...responses },
  });
}

const DONE_REDIRECT: ApiResponseSpec = {
  description: 'Done: to the page it changed, with a notice.',
  headers: { location: { description: 'The page.' } },
};

/**
 * A console action: a form post with the CSRF token (`form`: its fields, the token among them),
 * answered by a redirect to the page it changed. Typed like {@link consolePage}, `form` too.
 */
export function consoleAction<
  const Id extends string,
  const Form extends z.ZodType,
  const Inputs extends Omit<ConsoleInputs, 'query'>,
>(path: string, operationId: Id, summary: string, description: string, form: Form, inputs: Inputs) {
  const { responses, ...read } = inputs;
  return route({
    method: 'post',
    path,
    operationId,
    tag: 'console',
    summary,
    description,
    security: 'adminConsole',
    body: { schema: form, contentType: 'application/x-www-form-urlencoded', required: true },
    ...read,
    responses: {
      // An action that shows its result (the verification) answers 200 instead of redirecting.
      ...((responses?.[200] ? {} : { 303: DONE_REDIRECT }) as Record<number, ApiResponseSpec>),
      ...FORM_REFUSED,
      404: CONSOLE_OFF,
      409: { description: 'The elevation has already ended (`already_ended`).', html: true },
      503: { description: 'Temporal, the audit store or the directory cannot be reached.', html: true },
      ...responses,
    },
  });
}

export const BOT_ID = { id: botIdSchema };
export const NO_SUCH_BOT = fail('`not_found`: the policy has no such bot (`field: "id"`).');
const BAD_BOT_ID = fail(
  '`invalid_request`: `{id}` is not a bot id, or a body field is missing, malformed or unknown (`field` names it); or `invalid_json`.',
);

/** One of the admin's runtime changes to a bot (they share their errors). */
export function botChange<const Id extends string, const Body extends z.ZodType>(
  action: string,
  operationId: Id,
  summary: string,
  description: string,
  body: { schema: Body; required: boolean },
  ok: ApiResponseSpec,
) {
  return route({
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
  });
}
