/**
 * Documentation of the request schemas (the schemas themselves are the server's, in `schemas.ts`,
 * and the console's, in `admin/console-schemas.ts`), and the schemas of the inputs the approval
 * pages and the Slack endpoint check themselves (forms, one-time tokens, Slack's payloads), for
 * the reference.
 */
import { z } from 'zod';
import { ELEVATION_STATUSES } from '../../core/model/elevation.js';
import {
  consoleChartsQuerySchema,
  consoleCsrfSchema,
  consoleHistoryQuerySchema,
  consoleListQuerySchema,
  consoleLoginQuerySchema,
  consoleLogoutFormSchema,
  consoleNoticeQuerySchema,
  consoleReasonFormSchema,
  consoleVerifyFormSchema,
} from '../admin/console-schemas.js';
import { documented } from '../response-schemas.js';
import {
  botChangeBodySchema,
  botIdSchema,
  botLockBodySchema,
  elevationIdSchema,
  elevationRequestSchema,
  listQuerySchema,
  revokeBodySchema,
  verifyQuerySchema,
  waitQuerySchema,
} from '../schemas.js';

/** What `pattern` says of a text field (`safe-text.ts`), in words. */
const SAFE_TEXT =
  'Trimmed, then checked against `pattern`: no control characters (newline and tab included), no bidirectional, zero-width or other formatting characters, no line or paragraph separators, and at least one visible character.';

documented(elevationIdSchema, {
  description: 'An elevation id: `el_` and 24 lowercase hex digits.',
  examples: ['el_3cf50827c4ec1f7c2a71324e'],
});
documented(elevationRequestSchema, {
  id: 'ElevationRequest',
  description:
    'A bot’s request for one role (or a bundle of roles), for a while, with a reason. Unknown fields are refused.',
});
documented(elevationRequestSchema.shape.role, {
  description:
    'A role id from the policy: 1-63 of `a-z 0-9 -`, starting and ending with a letter or digit. Exactly one of `role` and `bundle` (else 400 `invalid_request`, `field: role` when neither, `field: bundle` when both).',
});
documented(elevationRequestSchema.shape.bundle, {
  description:
    'A bundle id from the policy’s `bundles`, instead of `role`: its roles are approved once (by the bundle’s `approval`, or the strictest of its roles’), granted in order, all or nothing (if one grant fails, those already granted are revoked and the elevation ends `failed`), and revoked together. The bot must be allowed each role (else 403 `role_not_allowed`, `field: bundle`); an unknown bundle is 422 `unknown_role` (`field: bundle`). `durationSeconds` is capped by the smallest `maxDurationSeconds` of its roles. A bundle cannot be scheduled (`startsAt`), used on the emergency path (`breakGlass`) or extended (403 `extension_not_allowed`, `field: bundle`). The elevation’s `roleId` is the bundle’s id, and `bundle.grants` lists where each role stands.',
});
documented(elevationRequestSchema.shape.durationSeconds, {
  description: 'The window, from the grant. At most the role’s `maxDurationSeconds` (else 422).',
});
documented(elevationRequestSchema.shape.justification, {
  description: `Why the bot needs the role. ${SAFE_TEXT}`,
});
documented(elevationRequestSchema.shape.ticket, {
  description: `A change or incident ticket. ${SAFE_TEXT} Required by roles with \`requireTicket\`, whose pattern it must match as a whole (else 400 \`invalid_request\`, \`field: ticket\`).`,
});
documented(elevationRequestSchema.shape.requestId, {
  description:
    'Idempotency key: the same bot sending the same `requestId` again gets the same elevation (`idempotent-replayed: true`).',
});
documented(elevationRequestSchema.shape.startsAt, {
  description:
    'Schedule the elevation: the grant is made at this instant (RFC 3339 with `Z` or an offset) and held for `durationSeconds`. At most the role’s `schedule.maxLeadSeconds` ahead (default 7 days) and at most 60 s in the past (else 422 `start_out_of_range`). Approval must come before the start: the approval window closes at `startsAt` at the latest. Until the start the elevation is `approved` with `startsAt` and no `grantedAt`; giving it back before then ends it `revoked` (`withdrawn`) with nothing granted. Left out: granted as soon as approved.',
});
documented(elevationRequestSchema.shape.breakGlass, {
  description:
    'Use the role’s emergency path (`breakGlass` in the policy): granted at once without approval, announced to the security channel, the owner and the reviewers, and reviewed afterwards with MFA. Only for bots the role’s `breakGlass.bots` lists (else 403 `break_glass_not_allowed`, `field: breakGlass`), for at most its `breakGlass.maxSeconds` (else 422 `duration_too_long`), and never with `startsAt` (400, `field: startsAt`).',
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
export const adminRevokeBodySchema = documented(revokeBodySchema.required(), {
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
  description:
    "Only elevations of roles granted in this kind of target (a role bundle's: any of its roles').",
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

export const approvalStartQuerySchema = z.object({
  ticket: oneTimeToken(
    'The personal link’s ticket (from the Slack modal): for one elevation and one Slack user, for 10 minutes.',
  ),
});

export const unboundApprovalQuerySchema = z.object({
  extension: documented(z.coerce.number().int().min(1).max(1_000_000).optional(), {
    description:
      'Approve the elevation’s pending extension of this number (`pendingExtension.number`) rather than the request; the log line of `extension.requested` carries the link with it.',
  }),
});

export const approvalCallbackQuerySchema = z.object({
  state: documented(z.string(), { description: 'The login’s `state`, as sent to the provider.' }),
  code: documented(z.string().optional(), { description: 'The authorization code (on success).' }),
  error: documented(z.string().optional(), { description: 'The provider’s error (a cancelled login...).' }),
  error_description: z.string().optional(),
  iss: documented(z.string().optional(), {
    description: 'The provider’s issuer (RFC 9207), when it sends it.',
  }),
});

export const approvalConfirmFormSchema = documented(
  z.object({
    confirmation: oneTimeToken(
      'The confirmation page’s hidden field: single-use, valid while the login is fresh.',
    ),
  }),
  { id: 'ApprovalConfirmation', description: 'The confirmation page’s form; at most 2 KiB and 5 fields.' },
);

export const slackInteractionFormSchema = documented(
  z.object({
    payload: documented(z.string(), { description: 'The interaction, JSON-encoded, as Slack sends it.' }),
  }),
  { id: 'SlackInteraction', description: 'A Slack interaction: a button click or a modal submission.' },
);

export const anyJsonObject = documented(z.record(z.string(), z.unknown()), {
  description: 'An OpenAPI 3.1 document.',
});

// The admin console's query strings and forms: the console parses with these very schemas
// (`server/admin/console-schemas.ts`); here they are described for the reference.

const list = consoleListQuerySchema.shape;
documented(list.bot, { description: 'A bot id.' });
documented(list.owner, { description: 'The bot owner’s e-mail address, as recorded at request time.' });
documented(list.team, { description: 'The bot’s team, as recorded at request time.' });
documented(list.role, { description: 'A role id.' });
documented(list.targetType, {
  description:
    "The kind of target the role is granted in; a role bundle's elevation is listed under each kind its roles are granted in.",
});
documented(list.environment, { description: 'The role’s environment.' });
documented(list.status, { description: 'A status; repeat the parameter for several.' });
documented(list.risk, {
  description:
    '`high`: approvers in a production environment (`prod`, `production`, `prod-…`); `medium`: approvers elsewhere; `low`: automatic.',
});
documented(list.from, {
  description: 'Requested on or after this day (`YYYY-MM-DD`, UTC), or this minute (`YYYY-MM-DDTHH:MM`).',
});
documented(list.to, {
  description:
    'Requested on or before this day (`YYYY-MM-DD`, UTC, inclusive), or before this minute (`YYYY-MM-DDTHH:MM`).',
});
documented(list.cursor, { description: 'The “Next page” link’s cursor.' });
documented(list.notice, {
  description: 'A fixed message after an action (`revoked`, `revoke_started`, `locked`, `unlocked`).',
});
documented(consoleHistoryQuerySchema.shape.cursor, { description: 'The “Next page” link’s cursor.' });
documented(consoleHistoryQuerySchema.shape.notice, {
  description: 'A fixed message after an action (`locked`, `unlocked`).',
});
documented(consoleNoticeQuerySchema.shape.notice, {
  description: 'A fixed message after an action (`revoked`, `revoke_started`).',
});
documented(consoleLoginQuerySchema.shape.next, {
  description:
    'The console page to return to after sign-in (a path under `/admin`; anything else is ignored).',
});
documented(consoleChartsQuerySchema.shape.days, { description: 'The window, in days (default 14).' });

documented(consoleCsrfSchema, { description: 'The session’s CSRF token, from the form’s hidden field.' });
documented(consoleLogoutFormSchema, { id: 'ConsoleSignOut', description: 'The sign-out button’s form.' });
documented(consoleReasonFormSchema, {
  id: 'ConsoleConfirmation',
  description: 'A confirmation form: the CSRF token and the reason.',
});
documented(consoleReasonFormSchema.shape.reason, {
  description: `Why: required, recorded in the audit trail. ${SAFE_TEXT}`,
});
documented(consoleVerifyFormSchema, { id: 'ConsoleVerification', description: 'The verification form.' });
documented(consoleVerifyFormSchema.shape.anchor, {
  description: '`<position>:<hash>` from an earlier verification (optional; empty: none).',
});

/** An attestation's id (its workflow id): `attestation-<botId>-<yyyy-mm-dd>`. */
export const attestationIdSchema = documented(
  z.string().regex(/^attestation-[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?-\d{4}-\d{2}-\d{2}$/),
  { description: 'The attestation: `attestation-<botId>-<yyyy-mm-dd>` of the day the owner was asked.' },
);

export const attestationConfirmFormSchema = documented(
  z.object({
    confirmation: oneTimeToken('The review page’s hidden field: single-use, valid while the login is fresh.'),
    role: documented(z.union([z.string(), z.array(z.string())]).optional(), {
      description: 'Each role the owner keeps (one field per ticked box); a role left out is trimmed.',
    }),
  }),
  {
    id: 'AttestationConfirmation',
    description: 'The review page’s form: the roles kept; at most 16 KiB and 200 fields.',
  },
);
