/**
 * What each audit event's `data` holds: one zod schema per type of `EVENT_TYPES`, the typed
 * payload of each type ({@link EventDataOf}), the union of `{type, data}` pairs
 * ({@link EventPayload}), and {@link parseEventData}, which reads a stored event's data once.
 *
 * Writers (the workflow, the activities, the services, the console) are checked against these
 * types at compile time; readers (the exports, the evidence pack, the console) parse what is
 * stored with them. The audit chain keeps every record for good, written by every version of
 * Elevate, so each schema is what a reader may rely on in any of them:
 *
 * - required: what every record of the type has carried since the type exists (who approved,
 *   what was granted to whom);
 * - optional, typed when present: fields added later (absent from older records), fields only
 *   some paths write (an event type with several shapes, e.g. `elevation.revoked` before and
 *   after a grant), and a few details that records made by other means (hand-made fixtures,
 *   the bench's history fill) leave out and no reader needs (a comment, the MFA evidence, a
 *   token hash); the records events embed follow the same rule (`event-data-records.ts`);
 * - refusals are open objects with every field optional: they record what a refused caller
 *   sent, with the caller's context spread in, and before authentication their data is cut to
 *   a bounded size (`domain/audit/refusal-aggregator.ts`), which may drop any field.
 *
 * Objects accept fields they do not list, so a record written by a newer version still reads.
 * A field present with another type makes the record not match its schema: readers then show it
 * as data of unknown shape (see {@link parseEventData}) rather than fail.
 *
 * Pure (no Node built-ins) but imports zod: workflows import from here only with `import type`,
 * so the workflow bundle never carries zod.
 */
import { z } from 'zod';
import type { EventType } from './events.js';
import {
  actorSchema,
  approverIdentitySchema,
  authMethodSchema,
  awsPrincipalTargetSchema,
  botIdentitySchema,
  endReasonSchema,
  errorSummarySchema,
  groupProgressSchema,
  openRecordSchema,
  recordedBotSchema,
  recordedGrantReceiptSchema,
  recordedRevokeReceiptSchema,
  recordedRoleSchema,
  requestSourceSchema,
  runsFromMatchSchema,
  targetRefSchema,
  workloadClaimsSchema,
} from './event-data-records.js';
import { riskDecisionSchema } from './risk-records.js';
import { anomalyDetectedSchema } from './anomaly-records.js';
import {
  attestationConfirmedSchema,
  attestationExpiredSchema,
  attestationRefusedSchema,
  attestationRequestedSchema,
} from './attestation-records.js';
import { approvalEscalatedSchema, approvalRemindedSchema } from './approval-nudge-records.js';
import {
  elevationExtendedSchema,
  extendRefusedSchema,
  extensionClosedSchema,
  extensionRequestedSchema,
} from './extend-records.js';
import {
  breakGlassActivatedSchema,
  breakGlassRefusedSchema,
  breakGlassReviewMissedSchema,
  breakGlassReviewedSchema,
} from './break-glass-records.js';

// ---- the elevation's lifecycle, recorded by the workflow ------------------------------------

/** A bot asked: the bot and role as they were configured, and the request itself. */
const elevationRequested = z.object({
  bot: recordedBotSchema,
  role: recordedRoleSchema,
  durationSeconds: z.number(),
  justification: z.string(),
  /** Null when none was given; absent in records of the bench's history fill. */
  ticket: z.string().nullable().optional(),
  /** The bot's idempotency key; null when none was given. */
  requestId: z.string().nullable().optional(),
  /** A scheduled elevation: when the grant is made (absent: as soon as approved). */
  startsAt: z.string().optional(),
  /** Present when the bot authenticated with a workload identity token. */
  identity: botIdentitySchema.optional(),
  /** Where the request came from (absent from records made before it was recorded). */
  source: requestSourceSchema.optional(),
  /** The inline risk score, its reasons and the route it took (absent before scoring existed). */
  risk: riskDecisionSchema.optional(),
  /** A bundle's request: its roles in grant order, each with the bot's identity in its target (`role` is the bundle as one role). */
  bundle: z
    .object({
      id: z.string(),
      roles: z.array(z.object({ role: recordedRoleSchema, principal: z.string() })),
    })
    .optional(),
});

/** An approval counted. */
const approvalAccepted = z.object({
  approver: z.string(),
  /** Approvals so far. */
  count: z.number(),
  /** The approver groups the person was found in (absent before approver groups existed). */
  groups: z.array(z.string()).optional(),
  /** The MFA login's evidence, open-ended; null when the approval carried none. */
  evidence: openRecordSchema.nullable().optional(),
  /** Who the approver is beyond the address (absent before it existed). */
  identity: approverIdentitySchema.optional(),
  comment: z.string().nullable().optional(),
  /** Each approver group's progress (absent before approver groups existed). */
  progress: z.array(groupProgressSchema).optional(),
  /** Each escalation group's progress, once the request escalated (`approval.escalated`). */
  escalationProgress: z.array(groupProgressSchema).optional(),
  /** Before approver groups: the one quorum of the role. */
  quorum: z.number().optional(),
  /** An approval of a pending extension (its number), not of the request. */
  extension: z.number().optional(),
});

/** Approved: `rule: 'auto'` by the role's policy, or by the `approvers` listed. */
const elevationApproved = z.object({
  /** `break_glass`: granted at once on the role's emergency path (`break-glass.ts`). */
  rule: z.enum(['auto', 'break_glass']).optional(),
  approvers: z.array(z.string()).optional(),
});

/** Denied by an approver or an admin (the actor), or by the risk score (the system), for `reason`. */
const elevationDenied = z.object({
  reason: z.string(),
  /** Present when the score denied the request: its assessment. */
  risk: riskDecisionSchema.optional(),
});

/** Nobody decided within the approval window. */
const elevationExpired = z.object({
  /** Approvals recorded by then. */
  approvals: z.number(),
  /** Each approver group's progress (absent before approver groups existed). */
  progress: z.array(groupProgressSchema).optional(),
  /** Before approver groups: the one quorum of the role. */
  quorum: z.number().optional(),
});

/** A grant attempt that failed for good (in a bundle: `roleId`, the role whose grant failed). */
const grantFailed = z.object({ error: errorSummarySchema, roleId: z.string().optional() });

/** The target confirmed the grant by reading it back (in a bundle: one per role, `roleId` the role). */
const grantConfirmed = z.object({ receipt: recordedGrantReceiptSchema, roleId: z.string().optional() });

/** A bundle's revocation: each role's receipt, in the bundle's order (`elevation.revoked`, `elevation.failed`). */
const bundleReceipts = z.array(z.object({ roleId: z.string(), receipt: recordedRevokeReceiptSchema }));

/**
 * Every role of a bundle granted and read back: the bundle's id and each role's receipt, in the
 * order they were granted. Recorded only when all were: a bundle is granted all or nothing.
 */
const bundleGranted = z.object({
  bundle: z.string(),
  grants: z.array(z.object({ roleId: z.string(), receipt: recordedGrantReceiptSchema })),
});

/**
 * The elevation failed: refused before any grant (`error`, the reason in words), or the
 * revocation that followed a failed grant completed (`reason` `grant_failed`, with the
 * revocation's `startedAt`, `receipt` and `revokeAttempts`).
 */
const elevationFailed = z.object({
  error: z.string().optional(),
  reason: endReasonSchema.optional(),
  startedAt: z.string().optional(),
  receipt: recordedRevokeReceiptSchema.optional(),
  revokeAttempts: z.number().optional(),
  /** A bundle whose grant failed: the revocation receipts of the roles it had reached. */
  receipts: bundleReceipts.optional(),
});

/** A revocation started, for `reason`; `requestedBy` the bot or admin who asked, if one did. */
const revokeStarted = z.object({
  reason: endReasonSchema,
  comment: z.string().nullable(),
  requestedBy: actorSchema.nullable(),
});

/** One failed revocation round; revocation goes on until the target confirms it. */
const revokeFailed = z.object({ attempt: z.number(), error: errorSummarySchema });

/**
 * The elevation ended, in one of three shapes: after a grant, with the revocation's
 * `startedAt`, `receipt` and `revokeAttempts`; before any grant (withdrawn by the bot or revoked
 * by an admin while pending), with `granted: false` and the `comment` given; or released by
 * reconciliation after its workflow ended without revoking (`reason` `orphaned`), with the
 * workflow's id and status and the `receipt`.
 */
const elevationRevoked = z.object({
  reason: endReasonSchema,
  startedAt: z.string().optional(),
  receipt: recordedRevokeReceiptSchema.optional(),
  revokeAttempts: z.number().optional(),
  comment: z.string().nullable().optional(),
  granted: z.boolean().optional(),
  workflowId: z.string().optional(),
  workflowStatus: z.string().optional(),
  /** A bundle's revocation: every role's receipt (instead of `receipt`). */
  receipts: bundleReceipts.optional(),
});

// ---- refusals, recorded by the server ---------------------------------------------------------

/** The fields every refusal may carry (see the module comment: all optional, open object). */
const refusalFields = {
  /** The refusal code (the workflow's refusal code, an API error code...). */
  code: z.string().optional(),
  /** The refusal in words. */
  message: z.string().optional(),
  /** The caller's address, or null when unknown. */
  ip: z.string().nullable().optional(),
  /** The caller's user agent, cleaned of control characters and bounded. */
  userAgent: z.string().nullable().optional(),
  /** How the caller authenticated or tried to (bots: `api_key`, `workload_identity`). */
  authMethod: authMethodSchema.optional(),
  /** The workload identity token's claims, when one was verified. */
  workload: workloadClaimsSchema.optional(),
  /** Whether the source matched the bot's `runsFrom`, when it declares one. */
  runsFrom: runsFromMatchSchema.optional(),
};

/** An approval refused, before it reached the workflow or by it. */
const approvalRefused = z.looseObject({
  ...refusalFields,
  /** The step of the approval flow that refused it (`precheck`, `start`, `callback`...). */
  stage: z.string().optional(),
  /** The approver's MFA evidence, when they had logged in. */
  evidence: openRecordSchema.nullable().optional(),
  slackUserId: z.string().optional(),
});

/** A denial refused. */
const denyRefused = z.looseObject({
  ...refusalFields,
  /** The reason the denial gave. */
  reason: z.string().optional(),
  slackUserId: z.string().optional(),
});

/** A revocation refused; `status` the elevation's, or null when unknown. */
const revokeRefused = z.looseObject({ ...refusalFields, status: z.string().nullable().optional() });

/** An API request refused after authentication (`code` the API error code). */
const requestRefused = z.looseObject({
  ...refusalFields,
  method: z.string().optional(),
  /** The route pattern, or the path when no route matched. */
  path: z.string().optional(),
  /** The field at fault, or null. */
  field: z.string().nullable().optional(),
});

/** Credentials refused (API key, token, signature, session, cross-site request...). */
const authRefused = z.looseObject({
  ...refusalFields,
  /** Why (`missing`, `unknown_key`, `rate_limited`, `cross_site`...). */
  reason: z.string().optional(),
  method: z.string().optional(),
  path: z.string().optional(),
  /** A fingerprint of the credential presented (never the credential). */
  credential: z.string().optional(),
  /** Where (`console`), when not the API. */
  via: z.string().optional(),
  stage: z.string().optional(),
});

/** A bot refused its AWS credentials; `session` the credentials' session, when there is one. */
const credentialsRefused = z.looseObject({
  ...refusalFields,
  reason: z.string().optional(),
  /** The elevation's status. */
  status: z.string().optional(),
  session: z.object({ sessionName: z.string(), expiration: z.string() }).optional(),
});

/**
 * How many refusals before authentication of one kind a window saw, the first of which was
 * recorded in full (`domain/audit/refusal-aggregator.ts`, `RefusalSummary`).
 */
const refusalsSummarized = z.object({
  /** The type of the refusals summarised. */
  of: z.string(),
  reason: z.string(),
  route: z.string(),
  network: z.string(),
  credential: z.string().optional(),
  count: z.number(),
  from: z.string(),
  to: z.string(),
  overflow: z.literal(true).optional(),
});

// ---- recorded by the worker -------------------------------------------------------------------

/** A decision whose signature did not hold (`DecisionRefusalRecord`). */
const decisionRefused = z.object({
  decision: z.string(),
  code: z.string(),
  message: z.string(),
  kid: z.string().nullable(),
  /** Who the unverified update claimed to act for, if it said. */
  claimed: actorSchema.nullable(),
  at: z.string(),
});

/**
 * A workflow started without the API's signature. `claimed` is what its unverified input said
 * (bot id, role id, duration): any JSON, not to be trusted.
 */
const requestUnverified = z.object({
  code: z.string(),
  message: z.string(),
  kid: z.string().nullable(),
  claimed: z.object({
    bot: z.unknown().optional(),
    role: z.unknown().optional(),
    durationSeconds: z.unknown().optional(),
  }),
});

// ---- recorded by reconciliation ---------------------------------------------------------------

/** A held lease whose workflow ended without releasing it. */
const leaseOrphaned = z.object({
  workflowId: z.string(),
  /** `TERMINATED`, `FAILED`, `TIMED_OUT`..., or `NOT_FOUND`. */
  workflowStatus: z.string(),
  target: targetRefSchema,
  principal: z.string(),
  acquiredAt: z.string(),
});

/**
 * A holder no elevation explains: a member of a role's target (`role`), or a policy on a bot's
 * AWS principal (`roles`, `policy`, `kind`, and for an Elevate policy its `elevation`; `reason`
 * `policy_tampered` and the `problem` when someone changed it). Or, with `reason`
 * `shared_identity`, a target identity used by more than one bot (`principal` its canonical
 * form, `roles` those of the grants using it, `problem` which bots and elevations).
 */
const drift = z.object({
  principal: z.string(),
  /** The role's drift action. */
  action: z.enum(['alert', 'revert']),
  /** Whether the holder is one of the bots that may request the role. */
  bot: z.boolean(),
  target: z.union([targetRefSchema, awsPrincipalTargetSchema]),
  role: z.string().optional(),
  roles: z.array(z.string()).optional(),
  policy: z.string().optional(),
  kind: z.enum(['managed', 'inline']).optional(),
  elevation: z.string().optional(),
  reason: z.string().optional(),
  problem: z.string().optional(),
});

// ---- an admin's changes and the console -------------------------------------------------------

/** Where an admin made a change (`console`); absent for the admin API. */
const via = z.string().optional();

const botLocked = z.object({
  botId: z.string(),
  reason: z.string(),
  /** Whether a lock was in place already (it is kept). */
  alreadyLocked: z.boolean(),
  /** The elevations revoked. */
  revoked: z.array(z.string()),
  /** The elevations that could not be revoked now. */
  failed: z.array(z.string()),
  via,
});

const botUnlocked = z.object({
  botId: z.string(),
  reason: z.string(),
  wasLocked: z.boolean(),
  /** The lock lifted, if there was one. */
  lock: z.object({ at: z.string(), by: z.string(), reason: z.string() }).optional(),
  via,
});

const botDisabledOrEnabled = z.object({
  botId: z.string(),
  reason: z.string().nullable(),
  wasDisabled: z.boolean(),
  policyDisabled: z.boolean(),
  /** Enabling lifted a suspension for an unanswered owner attestation (absent: none was lifted). */
  liftedAttestationSuspension: z.boolean().optional(),
  via,
});

const botKeyRotated = z.object({
  botId: z.string(),
  reason: z.string().nullable(),
  /** Fingerprints of the new and the previous key (never a key). */
  credential: z.string(),
  previousCredential: z.string(),
  via,
});

/** An admin signed in to the console: who, how (MFA), with which rights, from where. */
const adminSignedIn = z.object({
  via: z.string(),
  issuer: z.string(),
  subject: z.string(),
  email: z.string(),
  amr: z.array(z.string()),
  acr: z.string().nullable().optional(),
  authTime: z.string().nullable().optional(),
  /** The `amr` or `acr` value that satisfied the MFA rule. */
  mfaMethod: z.string(),
  idTokenHash: z.string().optional(),
  rights: z.array(z.string()),
  ip: z.string().nullable().optional(),
});

/**
 * What a signed-in admin did in the console: `revoke_elevation` (with the `reason` given) or
 * `verify_audit` (with the anchors given and the result).
 */
const adminAction = z.object({
  action: z.string(),
  via: z.string().optional(),
  reason: z.string().optional(),
  anchors: z.array(z.object({ position: z.number(), hash: z.string() })).optional(),
  ok: z.boolean().optional(),
  checked: z.number().optional(),
  head: z.object({ position: z.number(), hash: z.string() }).nullable().optional(),
  firstBroken: z
    .object({
      position: z.number(),
      eventId: z.string().optional(),
      elevationId: z.string().nullable().optional(),
      reason: z.string(),
    })
    .nullable()
    .optional(),
});

/**
 * An export of the audit trail: of the whole trail (`since`, `until`: null when open), or of
 * one elevation's evidence pack (`format` `evidence`, with its `elevationId`, `digest` and
 * `via`).
 */
const auditExported = z.object({
  format: z.string(),
  since: z.string().nullable().optional(),
  until: z.string().nullable().optional(),
  elevationId: z.string().optional(),
  digest: z.string().optional(),
  via: z.string().optional(),
});

/** The one delivery of an AWS credentials-mode session's credentials (never the secret). */
const credentialsDelivered = z.object({
  sessionName: z.string(),
  expiration: z.string(),
  ip: z.string().nullable().optional(),
});

// ---- every type -------------------------------------------------------------------------------

/** The schema of each event type's `data`: every type of `EVENT_TYPES` has one. */
export const EVENT_DATA_SCHEMAS = {
  'elevation.requested': elevationRequested,
  'approval.accepted': approvalAccepted,
  'elevation.approved': elevationApproved,
  'elevation.denied': elevationDenied,
  'elevation.expired': elevationExpired,
  'grant.failed': grantFailed,
  'grant.confirmed': grantConfirmed,
  'elevation.failed': elevationFailed,
  'revoke.started': revokeStarted,
  'revoke.failed': revokeFailed,
  'elevation.revoked': elevationRevoked,
  'approval.refused': approvalRefused,
  'deny.refused': denyRefused,
  'revoke.refused': revokeRefused,
  'request.refused': requestRefused,
  'auth.refused': authRefused,
  'refusals.summarized': refusalsSummarized,
  'decision.refused': decisionRefused,
  'request.unverified': requestUnverified,
  'lease.orphaned': leaseOrphaned,
  'credentials.delivered': credentialsDelivered,
  'credentials.refused': credentialsRefused,
  'audit.exported': auditExported,
  'drift.detected': drift,
  'drift.reverted': drift,
  'bot.locked': botLocked,
  'bot.unlocked': botUnlocked,
  'bot.disabled': botDisabledOrEnabled,
  'bot.enabled': botDisabledOrEnabled,
  'bot.key_rotated': botKeyRotated,
  'admin.signed_in': adminSignedIn,
  'admin.action': adminAction,
  'anomaly.detected': anomalyDetectedSchema,
  'attestation.requested': attestationRequestedSchema,
  'attestation.confirmed': attestationConfirmedSchema,
  'attestation.expired': attestationExpiredSchema,
  'attestation.refused': attestationRefusedSchema,
  'approval.reminded': approvalRemindedSchema,
  'approval.escalated': approvalEscalatedSchema,
  'elevation.extended': elevationExtendedSchema,
  'extend.refused': extendRefusedSchema,
  'extension.requested': extensionRequestedSchema,
  'extension.closed': extensionClosedSchema,
  'breakglass.activated': breakGlassActivatedSchema,
  'breakglass.reviewed': breakGlassReviewedSchema,
  'breakglass.review_missed': breakGlassReviewMissedSchema,
  'breakglass.refused': breakGlassRefusedSchema,
  'bundle.granted': bundleGranted,
} as const satisfies Record<EventType, z.ZodType>;

/** The `data` of an event of type `T` (of a union of types: the union of their data). */
export type EventDataOf<T extends EventType> = z.infer<(typeof EVENT_DATA_SCHEMAS)[T]>;

/** An event type and its data, for each type: narrow on `type` to get the type's data. */
export type EventPayload = { [T in EventType]: { type: T; data: EventDataOf<T> } }[EventType];

/** The refusal types: open payloads, all fields optional (see the module comment). */
export type RefusalEventType =
  | 'approval.refused'
  | 'deny.refused'
  | 'revoke.refused'
  | 'request.refused'
  | 'auth.refused'
  | 'credentials.refused'
  | 'attestation.refused'
  | 'extend.refused'
  | 'breakglass.refused';

/** An admin's change to a bot at runtime. */
export type BotChangeEventType =
  'bot.locked' | 'bot.unlocked' | 'bot.disabled' | 'bot.enabled' | 'bot.key_rotated';

/**
 * A stored event's data as {@link parseEventData} read it: typed by its type (`ok`), or, for a
 * type this version does not know or data that does not match its type's schema, the data as
 * stored with what is wrong (`problem`). Either way `data` is the stored value itself.
 */
export type ParsedEventData =
  (EventPayload & { ok: true }) | { ok: false; type: string; data: unknown; problem: string };

/** Whether `type` is one of `EVENT_TYPES` (a newer version may have recorded others). */
export function isEventType(type: string): type is EventType {
  return Object.hasOwn(EVENT_DATA_SCHEMAS, type);
}

/**
 * Reads a stored event's `data` with its type's schema, once. Never throws: a type this
 * version does not know, or data that does not match (a damaged or hand-made record), comes
 * back as `ok: false` with the data untouched, for the reader to show as it is. Matching data
 * comes back as the stored value itself, typed (the schemas have no transforms), so nothing a
 * reader shows or hashes differs from what is stored.
 */
export function parseEventData(type: string, data: unknown): ParsedEventData {
  if (!isEventType(type)) return { ok: false, type, data, problem: `unknown event type ${type}` };
  const result = EVENT_DATA_SCHEMAS[type].safeParse(data);
  if (!result.success) {
    const problem = result.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.map(String).join('.') || 'data'}: ${issue.message}`)
      .join('; ');
    return { ok: false, type, data, problem };
  }
  // The data matched the schema of this very type: TypeScript cannot see the two correlate.
  return { ok: true, type, data } as ParsedEventData;
}

/**
 * The typed data of `event` when it is of type `type` and its data matches, else undefined:
 * for readers that look for one type among an elevation's events.
 */
export function eventDataOf<T extends EventType>(
  event: { type: string; data: unknown } | undefined,
  type: T,
): EventDataOf<T> | undefined {
  if (event?.type !== type) return undefined;
  const parsed = parseEventData(event.type, event.data);
  return parsed.ok ? (parsed.data as EventDataOf<T>) : undefined;
}
