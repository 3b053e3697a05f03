/**
 * What the HTTP API answers, as zod schemas: the source of the response half of the API
 * reference (`/openapi.json`, `/docs/api`). The request half comes from `schemas.ts`, the
 * schemas the server validates with.
 *
 * The answers themselves are built from TypeScript types (`ElevationView`, `AuditEvent`...),
 * not from these schemas. So that the reference cannot drift from them silently, each schema
 * below is checked at compile time against its type: a field added, removed or retyped on
 * either side fails `tsc` here.
 *
 * Descriptions and formats live in {@link apiRegistry}, not in zod's global registry, so that
 * documenting a schema has no effect outside the reference.
 */
import { z } from 'zod';
import type { Agrees, Assert } from '../core/model/type-agreement.js';
import type { HandoffCredentials } from '../domain/credential-vault.js';
import type { BotKeyRotation, BotLockResult, BotSummary } from '../domain/bots/bot-summary.js';
import type { ErrorCode } from '../core/errors/error-codes.js';
import type { AuditEvent, ChainBreak, VerifyResult } from '../core/model/audit-record.js';
import type { ElevationPage } from '../store/elevation-index.js';
import {
  ELEVATION_STATUSES,
  type Actor,
  type ApprovalRecord,
  type ElevationView,
  type EndReason,
} from '../core/model/elevation.js';
import { EVENT_TYPES } from '../core/model/events.js';
import type { EvidencePack } from '../integrations/audit/evidence-pack.js';
import {
  endReasonSchema as recordedEndReasonSchema,
  recordedBotSchema,
  recordedGrantReceiptSchema,
  recordedRevokeReceiptSchema,
  recordedRoleSchema,
  type RecordedGrantReceipt,
  type RecordedRevokeReceipt,
} from '../core/model/event-data-records.js';
import type { HealthReport } from './health.js';
import { LEAST_PRIVILEGE_WINDOWS, type LeastPrivilegeReport } from '../core/model/least-privilege.js';
import { elevationIdSchema } from './schemas.js';
import { riskDecisionSchema } from '../core/model/risk-records.js';

/** What the reference knows about a schema besides its shape. */
export interface ApiMeta {
  /** Name under `components.schemas`: the schema is emitted once there and referenced elsewhere. */
  id?: string;
  description?: string;
  /** JSON Schema `format`, e.g. `date-time`. */
  format?: string;
  examples?: unknown[];
}

/** Descriptions, formats and component names of the API's schemas (request and response). */
export const apiRegistry = z.registry<ApiMeta>();

/** Record `meta` for `schema` in {@link apiRegistry}; returns the same schema object. */
export function documented<S extends z.ZodType>(schema: S, meta: ApiMeta): S {
  apiRegistry.add(schema, meta);
  return schema;
}

// ---- building blocks -------------------------------------------------------------------------

/** An ISO-8601 UTC instant, as every answer writes it. */
const instant = (description: string) => documented(z.string(), { format: 'date-time', description });
const count = (description: string) => documented(z.int().min(0), { description });

/** Every `error.code` the API can answer with (`domain/errors.ts`). */
export const errorCodeSchema = documented(
  z.enum([
    'invalid_request',
    'invalid_json',
    'invalid_body',
    'unsupported_media_type',
    'payload_too_large',
    'unauthenticated',
    'forbidden',
    'bot_disabled',
    'bot_locked',
    'attestation_overdue',
    'role_suspended',
    'unknown_role',
    'role_not_allowed',
    'break_glass_not_allowed',
    'duration_too_long',
    'start_out_of_range',
    'outside_allowed_window',
    'not_found',
    'method_not_allowed',
    'idempotency_conflict',
    'already_ended',
    'not_pending',
    'already_approved',
    'approval_window_closed',
    'approval_refused',
    'approval_not_needed',
    'insufficient_user_authentication',
    'identity_mismatch',
    'approval_link_invalid',
    'not_active',
    'not_credentials_mode',
    'credentials_gone',
    'extension_not_allowed',
    'extension_too_long',
    'too_many_extensions',
    'extension_in_progress',
    'extension_not_pending',
    'too_many_requests',
    'service_unavailable',
    'internal',
  ]),
  { id: 'ErrorCode', description: 'What went wrong, for programs; the HTTP status follows from it.' },
);
export type _ErrorCodeAgrees = Assert<Agrees<z.infer<typeof errorCodeSchema>, ErrorCode>>;

/** The answer to every refused or failed `/v1` request (and `/healthz`, `/openapi.json`...). */
export const errorBodySchema = documented(
  z.object({
    error: z.object({
      code: errorCodeSchema,
      message: documented(z.string(), { description: 'What went wrong, for people.' }),
      field: documented(z.string().optional(), {
        description: 'The field, query parameter or header at fault, when one is.',
      }),
    }),
  }),
  { id: 'Error', description: 'One shape for every error of the API.' },
);

/**
 * The approval pages' JSON refusal, for a caller that prefers JSON to HTML: `reason` (the
 * specific cause, as recorded in the `approval.refused` audit event) instead of `field`.
 */
export const approvalErrorBodySchema = documented(
  z.object({
    error: z.object({
      code: errorCodeSchema,
      reason: documented(z.string(), {
        description: 'The specific cause, e.g. `owner_may_not_approve` or `browser_mismatch`.',
      }),
      message: documented(z.string(), { description: 'What the approver is told.' }),
    }),
  }),
  { id: 'ApprovalError', description: 'A refused approval step, as JSON.' },
);

export const elevationStatusSchema = documented(z.enum(ELEVATION_STATUSES), {
  id: 'ElevationStatus',
  description:
    '`pending_approval`, `approved`, `active` and `revoking` are in progress; `revoked`, `denied`, `expired` and `failed` are final.',
});

export const endReasonSchema = documented(
  // The audit records' enum, as its own instance: the document names it `EndReason`.
  recordedEndReasonSchema.clone(),
  { id: 'EndReason', description: 'Why an elevation ended, or is ending.' },
);
export type _EndReasonAgrees = Assert<Agrees<z.infer<typeof endReasonSchema>, EndReason>>;

export const actorSchema = documented(
  z.object({
    kind: z.enum(['bot', 'human', 'admin', 'system', 'anonymous']),
    id: documented(z.string(), {
      description:
        'The bot or admin id, a person’s e-mail address, `elevate` for the system, `unknown` for anonymous callers.',
    }),
  }),
  { id: 'Actor', description: 'Who did something.' },
);
export type _ActorAgrees = Assert<Agrees<z.infer<typeof actorSchema>, Actor>>;

const evidenceSchema = documented(z.record(z.string(), z.unknown()), {
  description:
    'How the approver proved who they are: the MFA login’s `issuer`, `subject`, `email`, `amr`, `acr`, `authTime`, `mfaMethod`, `idTokenHash`, and `slackUserId` when the approval started in Slack.',
});

const approvalRecordSchema = z.object({
  approver: documented(z.string(), { description: 'E-mail address, lower case.' }),
  at: instant('When the workflow accepted the approval.'),
  groups: documented(z.array(z.string()), {
    description: 'The approver groups the person was found in when they approved.',
  }),
  evidence: evidenceSchema.optional(),
  identity: documented(
    z
      .object({ entries: z.array(z.string()), issuer: z.string().optional(), subject: z.string().optional() })
      .optional(),
    {
      description:
        'Who the approver is beyond the address: the directory entries (DNs) that made them an approver and their `issuer`/`subject` at the identity provider. Each person counts once. Absent in approvals recorded before it was.',
    },
  ),
});
export type _ApprovalRecordAgrees = Assert<Agrees<z.infer<typeof approvalRecordSchema>, ApprovalRecord>>;

const groupProgressSchema = z.object({
  name: z.string(),
  quorum: z.int().min(1),
  approved: count('Approvals that count towards this group so far.'),
});

const approvalStateSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('auto') }),
  z.object({
    mode: z.literal('approvers'),
    quorum: documented(z.int().min(1), {
      description: 'Approvals needed in all: the sum of the groups’ quorums.',
    }),
    deadline: instant('End of the approval window; then the request ends `expired`.'),
    groups: documented(z.array(groupProgressSchema), { description: 'One entry per approver group.' }),
    escalation: documented(
      z
        .object({
          dueAt: instant('When the escalation groups join if the quorum is not met by then.'),
          escalatedAt: instant('When they joined (absent until then).').optional(),
          groups: z.array(groupProgressSchema),
        })
        .optional(),
      {
        description:
          'Present when the role escalates (`approval.escalation` in the policy): its groups may approve only from `escalatedAt` on; the request is then approved when either the role’s groups or the escalation groups meet their quorums.',
      },
    ),
  }),
]);

/** An elevation as admins see it (and as a bot's revoke answers it). */
export const elevationViewSchema = documented(
  z.object({
    id: elevationIdSchema,
    workflowId: documented(z.string(), { description: 'The Temporal workflow id, `elevation-<id>`.' }),
    status: elevationStatusSchema,
    botId: documented(z.string(), { description: 'The bot that asked.' }),
    roleId: documented(z.string(), { description: 'The role.' }),
    owner: documented(z.string(), { description: 'The bot’s owner (e-mail) at request time.' }),
    environment: documented(z.string(), { description: 'The role’s environment.' }),
    durationSeconds: documented(z.int().min(1), { description: 'The window, as requested.' }),
    justification: documented(z.string(), { description: 'As requested (trimmed).' }),
    ticket: documented(z.string().optional(), { description: 'As requested, if sent.' }),
    requestId: documented(z.string().optional(), { description: 'As requested, if sent.' }),
    requestedAt: instant('When the API accepted the request.'),
    startsAt: instant(
      'Scheduled elevations only: when the grant is made, as requested (UTC). Until then `status` is `approved` (or `pending_approval`) and `grantedAt` is absent.',
    ).optional(),
    approval: approvalStateSchema,
    approvals: documented(z.array(approvalRecordSchema), { description: 'Accepted approvals, in order.' }),
    grantedAt: instant('When the grant was confirmed by reading the target back.').optional(),
    expiresAt: instant(
      '`grantedAt` + `durationSeconds` (+ `extendedSeconds` once extended): the window starts at the grant.',
    ).optional(),
    endedAt: instant('When the elevation reached its final status.').optional(),
    endReason: endReasonSchema.optional(),
    revokeAttempts: count('Failed revocation rounds so far (0 unless the target resisted).'),
    lastError: documented(z.string().optional(), {
      description: 'Last grant or revocation error, `<ErrorType>: <message>`; for operators.',
    }),
    risk: documented(riskDecisionSchema.optional(), {
      description:
        'The inline risk score (0–100), its level, the reasons in plain words (highest points first), whether the bot’s baseline counted, and the route the score chose (`auto`, `approvers`, `escalated`, `denied`). Absent until the worker has scored the request (read it again, or wait) and for elevations requested before scoring existed.',
    }),
    extensions: documented(z.int().min(1).optional(), {
      description:
        'How many times the window was extended (`POST …/extend`); absent until the first extension.',
    }),
    extendedSeconds: documented(z.int().min(1).optional(), {
      description:
        'Seconds the extensions added to the window, in all: the elevation lasts `durationSeconds` + `extendedSeconds` from `grantedAt`. Absent until the first extension.',
    }),
    pendingExtension: documented(
      z
        .object({
          number: documented(z.int().min(1), {
            description:
              'Which extension of this elevation this is (counting every one asked for); an approval names it, so it never counts for another.',
          }),
          durationSeconds: documented(z.int().min(1), { description: 'Seconds it would add to the window.' }),
          requestedBy: actorSchema,
          justification: documented(z.string().optional(), { description: 'As sent, if sent.' }),
          requestedAt: instant('When the workflow took the request for it.'),
          deadline: instant(
            'When it closes unless approved or denied first: the role’s approval window, and at the latest the current `expiresAt`.',
          ),
          quorum: documented(z.int().min(1), { description: 'Approvals needed in all.' }),
          groups: documented(z.array(groupProgressSchema), { description: 'One entry per approver group.' }),
          approvals: documented(z.array(approvalRecordSchema), {
            description: 'The extension’s own approvals so far (approving the request does not count).',
          }),
        })
        .optional(),
      {
        description:
          'An extension waiting for approvers (the role’s `extend.approval: same-as-request`): the window moves only once they approve. Absent otherwise.',
      },
    ),
    bundle: documented(
      z
        .object({
          id: documented(z.string(), { description: 'The bundle (also `roleId`).' }),
          grants: z.array(
            z.object({
              roleId: documented(z.string(), { description: 'One role of the bundle.' }),
              targetType: documented(z.enum(['ldap', 'postgres', 'aws-iam']), {
                description: 'Where the role is granted.',
              }),
              status: documented(z.enum(['pending', 'granting', 'granted', 'failed', 'revoked']), {
                description:
                  '`pending` (not tried yet), `granting`, `granted` (read back), `failed` (its grant failed: the others were revoked), `revoked` (read back gone).',
              }),
              grantedAt: instant('When this role’s grant was read back.').optional(),
              revokedAt: instant('When this role’s revocation was read back.').optional(),
            }),
          ),
        })
        .optional(),
      {
        description:
          'A bundle’s elevation (`bundle` in the request): each role’s grant, in the order they are granted. All are granted or none: if one fails, those granted are revoked and the elevation ends `failed`; they are revoked together at the end.',
      },
    ),
  }),
  { id: 'Elevation', description: 'One elevation, with operator diagnostics (`lastError`).' },
);
export type _ElevationViewAgrees = Assert<Agrees<z.infer<typeof elevationViewSchema>, ElevationView>>;

/** An elevation as its bot sees it: without `lastError`, whose text comes from the target. */
export const botElevationViewSchema = documented(elevationViewSchema.omit({ lastError: true }), {
  id: 'BotElevation',
  description: 'One elevation, as the bot that asked for it sees it (no `lastError`).',
});
export type _BotElevationViewAgrees = Assert<
  Agrees<z.infer<typeof botElevationViewSchema>, Omit<ElevationView, 'lastError'>>
>;

export const elevationPageSchema = documented(
  z.object({
    items: z.array(elevationViewSchema),
    nextCursor: documented(z.string().optional(), {
      description: 'Present only when more items follow: pass it back as `cursor`, with the same filters.',
    }),
  }),
  { id: 'ElevationPage', description: 'Elevations, newest `requestedAt` first (ties by id).' },
);
export type _ElevationPageAgrees = Assert<Agrees<z.infer<typeof elevationPageSchema>, ElevationPage>>;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);

export const auditEventSchema = documented(
  z.object({
    id: documented(z.string(), { description: 'Unique event id (UUID).' }),
    elevationId: documented(z.string().nullable(), {
      description: 'The elevation, or null for events that name none (e.g. bad credentials).',
    }),
    seq: documented(z.int().min(1), { description: '1, 2, 3… within the elevation.' }),
    type: z.enum(EVENT_TYPES),
    at: instant('When it happened.'),
    actor: actorSchema,
    data: documented(z.record(z.string(), z.unknown()), { description: 'Details, by event type.' }),
    position: documented(z.int().min(1), {
      description: '1, 2, 3… across the whole store: the chain order.',
    }),
    prevHash: documented(sha256Hex, { description: '`hash` of the event before (64 zeros for the first).' }),
    hash: documented(sha256Hex, { description: 'SHA-256 (hex) of the event.' }),
  }),
  { id: 'AuditEvent', description: 'One event of the hash-chained audit trail.' },
);
export type _AuditEventAgrees = Assert<Agrees<z.infer<typeof auditEventSchema>, AuditEvent>>;

export const elevationTimelineSchema = documented(
  z.object({ elevation: elevationViewSchema, events: z.array(auditEventSchema) }),
  {
    id: 'ElevationTimeline',
    description: 'An elevation and every audit event that names it, in `seq` order.',
  },
);
export type _ElevationTimelineAgrees = Assert<
  Agrees<z.infer<typeof elevationTimelineSchema>, { elevation: ElevationView; events: AuditEvent[] }>
>;

const chainBreakSchema = z.enum([
  'hash_mismatch',
  'prev_hash_mismatch',
  'position_gap',
  'anchor_mismatch',
  'truncated',
  'checkpoint_mismatch',
  'checkpoint_invalid',
  'checkpoint_missing',
]);
export type _ChainBreakAgrees = Assert<Agrees<z.infer<typeof chainBreakSchema>, ChainBreak>>;

export const verifyResultSchema = documented(
  z.object({
    ok: z.boolean(),
    checked: count('Events that checked out, from position 1.'),
    head: documented(z.object({ position: z.int().min(1), hash: sha256Hex }).optional(), {
      description:
        'The last event that checked out: record it outside Elevate and pass it as `anchor` later.',
    }),
    firstBroken: documented(
      z
        .object({
          position: z.int().min(1),
          eventId: z.string().optional(),
          elevationId: z.string().nullable().optional(),
          reason: chainBreakSchema,
        })
        .optional(),
      { description: 'The first position that does not check out, and why.' },
    ),
    anchoring: documented(
      z
        .object({
          status: z.enum(['anchored', 'not_anchored']),
          reason: z.enum(['no_key', 'no_checkpoint']).optional(),
          checkpoints: count('Signed checkpoints whose signature holds.'),
          through: z
            .object({
              position: z.int().min(1),
              hash: sha256Hex,
              at: z.string(),
              kid: z.string(),
            })
            .optional(),
          unanchored: count('Events after the newest checkpoint.'),
        })
        .optional(),
      {
        description:
          'Whether signed checkpoints vouch for the chain. `not_anchored` (no checkpoint key configured, or none written yet): a clean walk then only shows the chain is self-consistent, not that nobody with database access rewrote it.',
      },
    ),
  }),
  { id: 'AuditVerification', description: 'The result of walking the audit hash chain.' },
);
export type _VerifyResultAgrees = Assert<Agrees<z.infer<typeof verifyResultSchema>, VerifyResult>>;

/** `GET /readyz` (and `/healthz`): which part is down and nothing more (no addresses or error text). */
export const healthSchema = documented(
  z.object({
    status: z.enum(['ok', 'unavailable', 'draining']),
    checks: z.record(z.string(), z.object({ ok: z.boolean() })),
  }),
  {
    id: 'Health',
    description:
      'One entry per check, e.g. `temporal`, `worker`, `auditStore`, and `ldap` when LDAP is configured. `draining`: the process is stopping (no checks are run). A result is reused for `ELEVATE_HEALTH_CACHE_MS` (1 s by default), so probes cost at most one round of checks a second; latencies are logged, not answered.',
  },
);
export type _HealthAgrees = Assert<
  Agrees<
    z.infer<typeof healthSchema>,
    {
      status: HealthReport['status'] | 'draining';
      checks: Record<string, Pick<HealthReport['checks'][string], 'ok'>>;
    }
  >
>;

/** Temporary AWS credentials for a credentials-mode elevation, handed to its bot once. */
export const awsCredentialsSchema = documented(
  z.object({
    accessKeyId: z.string(),
    secretAccessKey: z.string(),
    sessionToken: z.string(),
    expiration: instant('When AWS stops accepting them.'),
    sessionName: documented(z.string(), {
      description: 'The `RoleSessionName`; CloudTrail shows it at the end of the assumed-role ARN.',
    }),
  }),
  { id: 'AwsCredentials', description: 'Secret: keep them out of logs; they are handed out once.' },
);
export type _AwsCredentialsAgrees = Assert<Agrees<z.infer<typeof awsCredentialsSchema>, HandoffCredentials>>;

/**
 * Bolt's answer to a deny-reason submission that was refused: Slack shows each error under its
 * field of the modal. Other interactions are answered with an empty 200.
 */
export const slackViewErrorsSchema = documented(
  z.object({
    response_action: z.literal('errors'),
    errors: z.record(z.string(), z.string()),
  }),
  { id: 'SlackViewErrors', description: 'Errors shown in the Slack modal, by field.' },
);

/**
 * Bolt's answer to Slack's check of a request URL (`url_verification`): the challenge echoed as
 * it came (a string from Slack; Bolt echoes whatever a signed body holds, nothing when none).
 */
const slackChallengeSchema = documented(z.strictObject({ challenge: z.unknown().optional() }), {
  id: 'SlackChallenge',
  description: 'The challenge of Slack’s URL verification, sent back as it came.',
});

/** What `/slack/events` acknowledges with when the body is not empty. */
export const slackAcknowledgementSchema = documented(z.union([slackViewErrorsSchema, slackChallengeSchema]), {
  id: 'SlackAcknowledgement',
  description: 'The errors of a refused deny submission, or the challenge of a URL verification.',
});

// ---- bots, for admins ----------------------------------------------------------------------

const adminIdOf = (description: string) => documented(z.string(), { description });

const botLockSchema = documented(
  z.object({
    at: instant('When the bot was locked.'),
    by: adminIdOf('The admin who locked it.'),
    reason: documented(z.string(), { description: 'Why, as the admin said.' }),
  }),
  {
    id: 'BotLock',
    description: 'A lockdown: requests are refused with 403 `bot_locked` until it is lifted.',
  },
);

/** A bot as the admin API shows it: the policy entry merged with the runtime state. */
export const botSummarySchema = documented(
  z.object({
    id: documented(z.string(), { description: 'The bot id from the policy.' }),
    owner: documented(z.string(), { description: 'The owner’s e-mail address.' }),
    team: z.string(),
    purpose: z.string(),
    environment: z.string(),
    roles: documented(z.array(z.string()), { description: 'The roles it may request.' }),
    principals: documented(
      z.object({
        ldapDn: z.string().optional(),
        postgresLogin: z.string().optional(),
        awsPrincipal: z.string().optional(),
      }),
      { description: 'Its identity in each kind of target it has roles in.' },
    ),
    disabled: documented(z.boolean(), {
      description:
        'Whether requests are refused with `bot_disabled`: the admin override if there is one, else the policy.',
    }),
    policyDisabled: documented(z.boolean(), { description: 'What the policy file says.' }),
    disabledOverride: documented(
      z.object({ value: z.boolean(), at: instant('When it was set.'), by: adminIdOf('By whom.') }).nullable(),
      { description: 'An admin’s override of the policy, kept only while it differs from it; or null.' },
    ),
    locked: botLockSchema.nullable(),
    keyRotatedAt: documented(z.string().nullable(), {
      format: 'date-time',
      description: 'When an admin last rotated its API key (the policy’s key no longer works), or null.',
    }),
    keyRotatedBy: documented(z.string().nullable(), { description: 'The admin who did, or null.' }),
    federation: documented(z.boolean(), {
      description: 'Whether it may also authenticate with a workload identity token.',
    }),
    activeElevations: count('Its elevations in status `active`.'),
    openElevations: count('Its elevations not yet ended (pending approval, approved, active, revoking).'),
  }),
  { id: 'Bot', description: 'A bot of the policy, with what admins changed at runtime.' },
);
export type _BotSummaryAgrees = Assert<Agrees<z.infer<typeof botSummarySchema>, BotSummary>>;

export const botListSchema = documented(z.object({ items: z.array(botSummarySchema) }), {
  id: 'BotList',
  description: 'Every bot of the policy, in policy order.',
});

export const botLockResultSchema = documented(
  z.object({
    bot: botSummarySchema,
    revoked: documented(z.array(elevationViewSchema), {
      description: 'The elevations revoked: pending ones are `revoked` at once, the others `revoking`.',
    }),
    failed: documented(
      z.array(z.object({ id: elevationIdSchema, code: errorCodeSchema, message: z.string() })),
      { description: 'Elevations that could not be revoked now; the lock stands: lock again to retry them.' },
    ),
  }),
  { id: 'BotLockdown', description: 'What a lockdown did.' },
);
export type _BotLockResultAgrees = Assert<Agrees<z.infer<typeof botLockResultSchema>, BotLockResult>>;

export const botKeyRotationSchema = documented(
  z.object({
    bot: botSummarySchema,
    key: documented(z.string(), {
      description: 'The new API key (`elv_bot_…`), shown this once: only its hash is stored.',
    }),
  }),
  { id: 'BotKeyRotation', description: 'A new API key for a bot. Secret: keep it out of logs.' },
);
export type _BotKeyRotationAgrees = Assert<Agrees<z.infer<typeof botKeyRotationSchema>, BotKeyRotation>>;

// ---- the least-privilege report ---------------------------------------------------------------

const windowDaysSchema = z.literal([...LEAST_PRIVILEGE_WINDOWS]);
const perWindow = <S extends z.ZodType>(of: S, what: string) =>
  z.object({
    last30Days: documented(of, { description: `${what} in the last 30 days.` }),
    last60Days: documented(of, { description: `${what} in the last 60 days.` }),
    last90Days: documented(of, { description: `${what} in the last 90 days.` }),
  });
const heldMs = (description: string) => documented(z.int().min(0).nullable(), { description });

/** `GET /v1/admin/reports/least-privilege`: per bot, the roles it does not use, with evidence. */
export const leastPrivilegeReportSchema = documented(
  z.object({
    generatedAt: instant('When the report was computed; every window ends here.'),
    windowsDays: documented(z.array(windowDaysSchema), { description: 'The windows, in days.' }),
    reviewWindowDays: documented(windowDaysSchema, {
      description: 'The window a role must have been requested in to be kept (90 days).',
    }),
    quickReturnSeconds: documented(z.int().min(1), {
      description: '“Given back within seconds”, as this report took it (`quickReturnSeconds`, default 30).',
    }),
    bots: z.array(
      documented(
        z.object({
          botId: z.string(),
          owner: z.string(),
          team: z.string(),
          environment: z.string(),
          allowedRoles: documented(z.array(z.string()), {
            description: 'The roles the policy allows the bot, in policy order.',
          }),
          firstRequestedAt: documented(z.string().nullable(), {
            format: 'date-time',
            description: 'The bot’s first recorded request (of any role); null if it never asked.',
          }),
          unused: documented(perWindow(z.array(z.string()), 'Allowed roles not requested'), {
            description: 'Allowed roles the bot did not request, per window.',
          }),
          quickReturn: documented(z.array(z.string()), {
            description:
              'Allowed roles whose every grant in the review window the bot gave back within `quickReturnSeconds`.',
          }),
          recommendedRoles: documented(z.array(z.string()), {
            description: 'The allowed roles minus those not requested in the review window.',
          }),
          removable: documented(z.array(z.string()), {
            description: 'The allowed roles the recommendation drops.',
          }),
          roles: z.array(
            documented(
              z.object({
                roleId: z.string(),
                lastRequestedAt: documented(z.string().nullable(), {
                  format: 'date-time',
                  description: 'The bot’s last request of the role, at any time; null if never.',
                }),
                requests: perWindow(z.int().min(0), 'Requests (whatever became of them)'),
                grants: count('Grants of the role requested in the review window.'),
                quickReturns: count('Of those, the ones given back within `quickReturnSeconds`.'),
                medianHeldMs: heldMs(
                  'Median time held per grant in the review window (ms); null without grants.',
                ),
                maxHeldMs: heldMs(
                  'Longest time held per grant in the review window (ms); null without grants.',
                ),
                quickReturn: documented(z.boolean(), {
                  description: 'Every grant in the review window was given back within `quickReturnSeconds`.',
                }),
                recommendation: documented(z.enum(['keep', 'remove']), {
                  description: '`remove` when the role was not requested in the review window.',
                }),
                reason: documented(z.string(), {
                  description: 'The recommendation and its evidence, in words.',
                }),
              }),
              { id: 'RoleUsageEvidence', description: 'One allowed role and how the bot used it.' },
            ),
          ),
        }),
        { id: 'BotLeastPrivilege', description: 'One bot’s least-privilege report.' },
      ),
    ),
  }),
  {
    id: 'LeastPrivilegeReport',
    description:
      'Per bot: allowed roles not requested in 30/60/90 days, roles always given back within seconds, and the narrower role list recommended, with the evidence for each role.',
  },
);
export type _LeastPrivilegeReportAgrees = Assert<
  Agrees<z.infer<typeof leastPrivilegeReportSchema>, LeastPrivilegeReport>
>;

// ---- the evidence pack ------------------------------------------------------------------------

/**
 * The bot, role and receipts of an evidence pack are what `elevation.requested`,
 * `grant.confirmed` and the revocation recorded: the core's schemas of event data, which
 * require only the fields that identify each record (older or hand-made records may lack the
 * rest), with the instants documented here.
 */
const grantReceiptSchema = recordedGrantReceiptSchema.extend({
  verifiedAt: instant('When reading the target back confirmed the grant.').optional(),
});
export type _GrantReceiptAgrees = Assert<Agrees<z.infer<typeof grantReceiptSchema>, RecordedGrantReceipt>>;

const revokeReceiptSchema = recordedRevokeReceiptSchema.extend({
  verifiedAt: instant('When reading the target back confirmed the removal.').optional(),
});
export type _RevokeReceiptAgrees = Assert<Agrees<z.infer<typeof revokeReceiptSchema>, RecordedRevokeReceipt>>;

const chainAnchorSchema = z.object({ position: z.int().min(1), hash: sha256Hex });

/** `GET /v1/admin/elevations/{id}/evidence`: one elevation's evidence, checkable offline. */
export const evidencePackSchema = documented(
  z.object({
    format: z.literal('elevate-evidence/1'),
    elevationId: elevationIdSchema,
    exportedAt: instant('When the pack was made; also the export event’s `at`.'),
    exportedBy: actorSchema,
    via: documented(z.enum(['api', 'console']), {
      description: '`api`: an admin token; `console`: a person signed in to the admin console.',
    }),
    elevation: elevationViewSchema,
    bot: documented(recordedBotSchema.nullable(), { description: 'The bot as recorded when it asked.' }),
    role: documented(recordedRoleSchema.nullable(), {
      description: 'The role as recorded when the bot asked.',
    }),
    workflowId: documented(z.string(), { description: 'The Temporal workflow that ran the elevation.' }),
    approvals: documented(z.array(approvalRecordSchema), {
      description: 'Each approval with the evidence of the approver’s MFA login.',
    }),
    receipts: z.object({
      grant: documented(grantReceiptSchema.nullable(), {
        description: 'The last `grant.confirmed` receipt.',
      }),
      revoke: documented(revokeReceiptSchema.nullable(), { description: 'The revocation receipt.' }),
    }),
    events: documented(z.array(auditEventSchema), {
      description: 'Every audit event of the elevation, in order.',
    }),
    chain: z.object({
      head: documented(chainAnchorSchema.nullable(), {
        description: 'The chain’s last event at export time.',
      }),
      verify: verifyResultSchema,
      proof: documented(
        z.array(
          z.object({
            eventId: z.string(),
            seq: z.int().min(1),
            position: z.int().min(1),
            prevHash: sha256Hex,
            hash: sha256Hex,
          }),
        ),
        { description: 'Each event’s place in the chain; each `hash` is recomputable from its event.' },
      ),
    }),
    leastPrivilege: documented(leastPrivilegeReportSchema.nullable().optional(), {
      description:
        'The least-privilege report of the elevation’s bot at export time (null if the policy no longer lists the bot). From the elevation index, not from the events: the digest covers it, the events do not prove it.',
    }),
    digest: documented(z.string().regex(/^sha256:[0-9a-f]{64}$/), {
      description: 'SHA-256 of the canonical JSON (RFC 8785) of every field above.',
    }),
    // The `audit.exported` event (format `evidence`) that records the digest (described in the route).
    exportEvent: auditEventSchema,
  }),
  {
    id: 'EvidencePack',
    description:
      'One elevation’s evidence: what happened, who approved with which MFA, the receipts, and the chain proof.',
  },
);
export type _EvidencePackAgrees = Assert<Agrees<z.infer<typeof evidencePackSchema>, EvidencePack>>;
