/**
 * Extending an active elevation: the bot's route (its own elevations) and the admin's (any
 * elevation), which share the body, the checks and the refusals. Each is listed in its area's
 * table (`bots.ts`, `admins.ts`), served behind that area's guard.
 */
import { botElevationViewSchema, documented, elevationViewSchema } from '../../response-schemas.js';
import { extendBodySchema } from '../../schemas.js';
import {
  fail,
  BAD_BODY,
  BOT_UNAVAILABLE,
  ELEVATION_ID,
  NOT_FOUND,
  NOT_JSON,
  TOO_LARGE,
  UNAUTHENTICATED,
  UNAVAILABLE,
} from '../common-responses.js';
import { route } from '../route-spec.js';

documented(extendBodySchema, {
  id: 'ExtendRequest',
  description: 'Seconds to add to an active elevation’s window, and why. Unknown fields are refused.',
});
documented(extendBodySchema.shape.durationSeconds, {
  description:
    'Seconds added to the current `expiresAt`. The elevation’s whole lifetime (`durationSeconds` + `extendedSeconds` + this) must stay within the role’s `extend.maxTotalSeconds` (else 422 `extension_too_long`, whose message says how many seconds are left).',
});
documented(extendBodySchema.shape.justification, {
  description:
    'Why the elevation needs longer: recorded in `elevation.extended` and posted in the approval message’s Slack thread. Trimmed, with no control or invisible formatting characters.',
});

const CHECKS =
  'Decided by the elevation’s workflow against the role’s `extend` rule as it was when the elevation was requested: the elevation must be `active` (409 `not_active`; 409 `already_ended` once it has ended), the role must allow extensions (403 `extension_not_allowed`, `field: "role"`), the elevation must have had fewer than `extend.maxExtensions` extensions (409 `too_many_extensions`), and its whole lifetime must stay within `extend.maxTotalSeconds` (422 `extension_too_long`, `field: "durationSeconds"`). One extension at a time (409 `extension_in_progress`, also while one waits for approvers). A refused extension changes nothing and is recorded as `extend.refused`.\n\nAccepted (200): the answer comes once the new end is in force (the expiry revoker and the workflow’s own timer moved), with `expiresAt` moved and `extensions` / `extendedSeconds` counted; `elevation.extended` is recorded and the approval message’s Slack thread is told.\n\nWhen the role’s extensions go back to its approvers (`extend.approval: same-as-request`), the answer is 202 with the extension in `pendingExtension` (its `number` and `deadline`) and `expiresAt` unchanged; `extension.requested` is recorded and the approvers are asked in the approval message’s thread, with MFA as for the request. Poll the elevation (`GET`; its status stays `active`, so a long-poll does not wake for it): once they approve, `expiresAt` moves, `extensions` counts it and `pendingExtension` is gone; denied, or not approved by its `deadline` (at the latest the window’s end), `pendingExtension` is gone with `expiresAt` unchanged (`extension.closed`).';

const RESPONSES = {
  400: BAD_BODY,
  401: UNAUTHENTICATED,
  403: fail('`extension_not_allowed`: the role does not allow extensions (`field: "role"`).'),
  404: NOT_FOUND,
  409: fail(
    '`not_active` (not granted yet, or ending), `already_ended`, `too_many_extensions` (the role’s `extend.maxExtensions` is reached) or `extension_in_progress` (another extension is being made, or waits for approvers).',
  ),
  413: TOO_LARGE,
  415: NOT_JSON,
  422: fail(
    '`extension_too_long` (`field: "durationSeconds"`): the elevation would outlast the role’s `extend.maxTotalSeconds`.',
  ),
} as const;

/** `POST /v1/elevations/{id}/extend`: a bot extends its own active elevation. */
export const BOT_EXTEND_ROUTE = route({
  method: 'post',
  path: '/v1/elevations/{id}/extend',
  operationId: 'extendElevation',
  tag: 'bots',
  summary: 'Extend an active elevation',
  description: `For the bot’s own elevations (another bot’s answers 404). ${CHECKS}`,
  security: 'bot',
  params: ELEVATION_ID,
  body: { schema: extendBodySchema, contentType: 'application/json', required: true },
  responses: {
    200: { description: 'Extended: the elevation with its new `expiresAt`.', json: botElevationViewSchema },
    202: {
      description:
        'Waiting for the role’s approvers (`extend.approval: same-as-request`): the elevation with the extension in `pendingExtension`, `expiresAt` unchanged.',
      json: botElevationViewSchema,
    },
    ...RESPONSES,
    503: BOT_UNAVAILABLE,
  },
});

/** `POST /v1/admin/elevations/{id}/extend`: an admin extends any active elevation. */
export const ADMIN_EXTEND_ROUTE = route({
  method: 'post',
  path: '/v1/admin/elevations/{id}/extend',
  operationId: 'adminExtendElevation',
  tag: 'admins',
  summary: 'Extend any active elevation',
  description: `As the bot’s extend, for any elevation, recorded with the admin as the actor. ${CHECKS}`,
  security: 'admin',
  params: ELEVATION_ID,
  body: { schema: extendBodySchema, contentType: 'application/json', required: true },
  responses: {
    200: { description: 'Extended: the elevation with its new `expiresAt`.', json: elevationViewSchema },
    202: {
      description:
        'Waiting for the role’s approvers (`extend.approval: same-as-request`): the elevation with the extension in `pendingExtension`, `expiresAt` unchanged.',
      json: elevationViewSchema,
    },
    ...RESPONSES,
    403: fail(
      '`forbidden` (a bot API key on the admin API) or `extension_not_allowed` (the role does not allow extensions; `field: "role"`).',
    ),
    503: UNAVAILABLE,
  },
});
