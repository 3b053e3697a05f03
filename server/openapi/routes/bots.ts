/** The bot API: a bot requests, reads and gives back its own elevations. */
import { z } from 'zod';
import { awsCredentialsSchema, botElevationViewSchema, errorBodySchema } from '../../response-schemas.js';
import { elevationRequestSchema, revokeBodySchema, waitQuerySchema } from '../../schemas.js';
import {
  fail,
  BAD_ID,
  UNAUTHENTICATED,
  BOT_UNAVAILABLE,
  NOT_FOUND,
  BAD_BODY,
  TOO_LARGE,
  NOT_JSON,
  ELEVATION_ID,
} from '../common-responses.js';
import { route } from '../route-spec.js';
import { BOT_EXTEND_ROUTE } from './extend.js';

export const BOT_ROUTES = [
  route({
    method: 'post',
    path: '/v1/elevations',
    operationId: 'requestElevation',
    tag: 'bots',
    summary: 'Request an elevation',
    description:
      "Checked before anything starts, in this order: the bot is not locked down by an admin (403 `bot_locked`) nor disabled (403 `bot_disabled`), the role exists (422 `unknown_role`), the bot may request it (403 `role_not_allowed`; for a `bundle`, each of its roles), the duration fits the role (422 `duration_too_long`), a `startsAt` lies between 60 s ago and the role's `schedule.maxLeadSeconds` ahead (422 `start_out_of_range`), the requested window (from now, or from `startsAt`, for `durationSeconds`) lies inside the bot's `allowedWindows` (403 `outside_allowed_window`, naming the next allowed window that can hold it), and the request fits the bot's quotas (429 `too_many_requests`; the policy's limits). A refused request starts nothing. A replay of a `requestId` is answered before the time checks and the quotas and never counts towards them.\n\nThe answer comes before the grant: `status` is `approved` for an auto-approved role, `pending_approval` for one that needs approvers. Poll or long-poll until `active`. With `startsAt` (a scheduled elevation), approval happens ahead (the approval window closes at the start at the latest, else the request ends `expired`), the status stays `approved` until the start, and the grant is made then.\n\nWith `bundle` instead of `role` (exactly one of them), the bundle's roles are approved once and granted in order, all or nothing: if one grant fails, those already granted are revoked (read back) and the elevation ends `failed` with `lastError` naming the role; they are revoked together when the window ends or the bot gives them back. `bundle.grants` in the answer lists each role's grant.",
    security: 'bot',
    body: {
      schema: elevationRequestSchema,
      contentType: 'application/json',
      required: true,
      ifAbsent: 'refuse',
    },
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
      403: fail(
        '`bot_locked`, `bot_disabled`, `attestation_overdue` (its owner did not confirm its roles by the attestation deadline), `role_not_allowed` (`field: "role"`, or `"bundle"` when the bot may not request one of the roles of the bundle), `role_suspended` (its owner removed the role at an attestation; `field: "role"`), or `outside_allowed_window` (the requested window is outside the bot\'s `allowedWindows`; `field: "startsAt"`, or `"durationSeconds"` when an allowed window is open at the start but closes before the end; the message names the next allowed window that can hold the request).',
      ),
      409: fail(
        '`idempotency_conflict`: the `requestId` was used with different parameters (`field` names the first).',
      ),
      413: TOO_LARGE,
      415: fail(
        '`unsupported_media_type`: no JSON body, or not `application/json` UTF-8 (`field: "content-type"`), or a `content-encoding` other than identity, gzip, deflate or br (`field: "content-encoding"`).',
      ),
      422: fail(
        '`unknown_role` (`field: "role"`, or `"bundle"` for an unknown bundle), `duration_too_long` (`field: "durationSeconds"`), or `start_out_of_range` (`field: "startsAt"`: more than 60 s in the past, or further ahead than the role\'s `schedule.maxLeadSeconds`).',
      ),
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
  }),
  route({
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
  }),
  route({
    method: 'post',
    path: '/v1/elevations/{id}/revoke',
    operationId: 'revokeElevation',
    tag: 'bots',
    summary: 'Give an elevation back early, or withdraw a pending request',
    description:
      'Pending approval, or approved and waiting for its `startsAt`: withdrawn at once, nothing granted (200, `revoked`, `endReason: withdrawn`). Approved or active: revocation starts (202, `revoking`, `endReason: given_back`); poll until `revoked`. Revoking: nothing new (202). Revoked: nothing (200). Denied, expired or failed: 409 `already_ended`.',
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
  }),
  BOT_EXTEND_ROUTE,
  route({
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
  }),
] as const;
