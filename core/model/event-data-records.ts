/**
 * The records that audit event payloads embed, as zod schemas: targets, actors, the bot and role
 * as recorded at request time, receipts, identities, error summaries. The payloads themselves
 * are in `event-data.ts`, which builds on these.
 *
 * An embedded record is a copy of a model object (`elevation.ts`, `targets.ts`) taken when the
 * event was written, and model objects change between versions (the role's approval rule did),
 * while the audit chain keeps every copy for good. So each schema requires only the fields that
 * identify the record (a bot's `id`, a receipt's `target` and `principal`) and types the others
 * as optional: a stored copy that lacks them still reads, one that has them with another type
 * does not. Objects accept fields they do not list (zod's default): the readers get the
 * stored data itself, never a stripped copy (see `parseEventData`).
 *
 * No transforms, defaults or `catch`: what a schema accepts is exactly its inferred type, which
 * `parseEventData` relies on to hand back the stored value unchanged.
 *
 * Imports zod: workflows may import from here only with `import type` (the workflow bundle
 * must not carry zod).
 */
import { z } from 'zod';
import { ROLE_SENSITIVITIES } from './risk.js';
import type { Agrees, Assert } from './type-agreement.js';
import type {
  Actor,
  ApproverIdentity,
  EndReason,
  RequestSource,
  RunsFromMatch,
  WorkloadClaims,
} from './elevation.js';
import type { GrantHandle, TargetRef } from './targets.js';

/** Where a role is granted ({@link TargetRef}), exactly: a target is nothing without its fields. */
export const targetRefSchema = z.union([
  z.object({ type: z.literal('ldap'), groupDn: z.string() }),
  z.object({ type: z.literal('postgres'), server: z.string(), role: z.string() }),
  z.object({ type: z.literal('aws-iam'), mode: z.literal('attach'), policyDocument: z.string() }),
  z.object({
    type: z.literal('aws-iam'),
    mode: z.literal('credentials'),
    roleArn: z.string(),
    sessionPolicy: z.string().optional(),
  }),
]);
export type _TargetRefAgrees = Assert<Agrees<z.infer<typeof targetRefSchema>, TargetRef>>;

/**
 * The target of drift found on a bot's AWS principal: AWS attach mode, without a policy
 * document (the drift is a policy someone else attached, not one of Elevate's).
 */
export const awsPrincipalTargetSchema = z.object({
  type: z.literal('aws-iam'),
  mode: z.literal('attach'),
  /** Never there: this is how a reader tells the placeholder from an attach-mode role's target. */
  policyDocument: z.undefined().optional(),
});

/** Who did something ({@link Actor}). */
export const actorSchema = z.object({
  kind: z.enum(['bot', 'human', 'admin', 'system', 'anonymous']),
  id: z.string(),
});
export type _ActorAgrees = Assert<Agrees<z.infer<typeof actorSchema>, Actor>>;

/** Every {@link EndReason}, the reasons elevations have ended for in every version. */
export const endReasonSchema = z.enum([
  'expired',
  'given_back',
  'admin_revoked',
  'withdrawn',
  'denied',
  'approval_timeout',
  'grant_failed',
  'request_unverified',
  'orphaned',
]);
export type _EndReasonAgrees = Assert<Agrees<z.infer<typeof endReasonSchema>, EndReason>>;

/** An error as the workflow summarises a failed activity: its class name and message. */
export const errorSummarySchema = z.object({ type: z.string(), message: z.string() });

/**
 * Open-ended data kept as it was given: an approver's MFA evidence, a workload token's claims.
 * Any JSON object; its fields are not checked.
 */
export const openRecordSchema = z.record(z.string(), z.unknown());

/**
 * The bot as recorded when it asked (`BotSnapshot`). Elevate's workflow records every field;
 * the bench's history fill records a bot without `purpose` and `principal`.
 */
export const recordedBotSchema = z.object({
  id: z.string(),
  owner: z.string().optional(),
  team: z.string().optional(),
  purpose: z.string().optional(),
  environment: z.string().optional(),
  /** The bot's identity in the target, e.g. its LDAP DN. */
  principal: z.string().optional(),
});

/** One approver group of a role's approval rule (`ApproverGroup`). */
const approverGroupSchema = z.object({
  name: z.string(),
  quorum: z.number(),
  members: z.array(z.string()).optional(),
  ldapGroupDn: z.string().optional(),
});

/**
 * A role's approval rule as recorded (`ApprovalRule`). The first versions listed `approvers` and
 * one `quorum`; approver groups replaced them.
 */
const recordedApprovalRuleSchema = z.discriminatedUnion('mode', [
  z.object({ mode: z.literal('auto') }),
  z.object({
    mode: z.literal('approvers'),
    groups: z.array(approverGroupSchema).optional(),
    /** Before approver groups: the e-mail addresses that may approve. */
    approvers: z.array(z.string()).optional(),
    /** Before approver groups: distinct approvals needed. */
    quorum: z.number().optional(),
    windowSeconds: z.number().optional(),
    ownerMayApprove: z.boolean().optional(),
  }),
]);

/**
 * The role as recorded when the bot asked (`RoleSnapshot`): its id and where it is granted;
 * the bench's history fill leaves out its duration limit and approval rule.
 */
export const recordedRoleSchema = z.object({
  id: z.string(),
  description: z.string().optional(),
  environment: z.string().optional(),
  target: targetRefSchema,
  maxDurationSeconds: z.number().optional(),
  approval: recordedApprovalRuleSchema.optional(),
  /** How the risk score routed the role's requests (absent before scoring); its sensitivity is all readers need. */
  risk: z.object({ sensitivity: z.enum(ROLE_SENSITIVITIES).optional() }).optional(),
});

/** How a bot proved who it is with a workload identity token (`BotIdentity`). */
export const botIdentitySchema = z.object({
  kind: z.literal('workload_identity'),
  issuer: z.string(),
  subject: z.string(),
  tokenId: z.string().optional(),
  expiresAt: z.string().optional(),
  /** The run-identifying claims the policy records: open-ended. */
  claims: openRecordSchema.optional(),
});

/** The run a workload identity token vouched for ({@link WorkloadClaims}). */
export const workloadClaimsSchema = z.object({
  issuer: z.string(),
  subject: z.string(),
  repository: z.string().optional(),
  workflow: z.string().optional(),
  ref: z.string().optional(),
  runnerEnvironment: z.string().optional(),
  serviceAccount: z.string().optional(),
});
export type _WorkloadClaimsAgrees = Assert<Agrees<z.infer<typeof workloadClaimsSchema>, WorkloadClaims>>;

/** Whether the source matched the bot's `runsFrom` ({@link RunsFromMatch}). */
export const runsFromMatchSchema = z.object({
  matched: z.boolean(),
  network: z.boolean().optional(),
  runner: z.boolean().optional(),
});
export type _RunsFromMatchAgrees = Assert<Agrees<z.infer<typeof runsFromMatchSchema>, RunsFromMatch>>;

/** How a bot authenticated. */
export const authMethodSchema = z.enum(['api_key', 'workload_identity']);

/** Where a request came from ({@link RequestSource}). */
export const requestSourceSchema = z.object({
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
  authMethod: authMethodSchema,
  workload: workloadClaimsSchema.optional(),
  runsFrom: runsFromMatchSchema.optional(),
});
export type _RequestSourceAgrees = Assert<Agrees<z.infer<typeof requestSourceSchema>, RequestSource>>;

/** Who an approver is beyond their address ({@link ApproverIdentity}). */
export const approverIdentitySchema = z.object({
  entries: z.array(z.string()),
  issuer: z.string().optional(),
  subject: z.string().optional(),
});
export type _ApproverIdentityAgrees = Assert<
  Agrees<z.infer<typeof approverIdentitySchema>, ApproverIdentity>
>;

/** One approver group's quorum and the approvals that count towards it so far. */
export const groupProgressSchema = z.object({ name: z.string(), quorum: z.number(), approved: z.number() });

/**
 * What the grant in the target returned (`GrantReceipt`): the target and principal identify it;
 * the rest is typed when present.
 */
/**
 * The grant as the target wrote it (`GrantHandle` in `core/model/targets.ts`), which the
 * revocation is given; absent from receipts recorded before handles existed.
 */
export const grantHandleSchema = z.union([
  z.object({ type: z.literal('ldap'), groupDn: z.string(), member: z.string() }),
  z.object({ type: z.literal('postgres'), server: z.string(), role: z.string(), login: z.string() }),
  z.object({ type: z.literal('aws-iam-attach'), policyArn: z.string(), principalArn: z.string() }),
  z.object({
    type: z.literal('aws-sts-credentials'),
    roleArn: z.string(),
    sessionName: z.string(),
    elevationId: z.string(),
  }),
]);
export type _GrantHandleAgrees = Assert<Agrees<z.infer<typeof grantHandleSchema>, GrantHandle>>;

export const recordedGrantReceiptSchema = z.object({
  target: targetRefSchema,
  principal: z.string(),
  /** What the revocation is given (receipts recorded before handles existed have none). */
  handle: grantHandleSchema.optional(),
  /** True when the principal was already a member (another elevation holds the same grant). */
  alreadyPresent: z.boolean().optional(),
  /** Other elevations holding the same grant at the time. */
  sharedWith: z.array(z.string()).optional(),
  verifiedAt: z.string().optional(),
  /** When the window ends, when the worker's expiry revoker holds the grant. */
  expiresAt: z.string().optional(),
  /** AWS credentials mode: the session issued. */
  session: z.object({ sessionName: z.string(), expiration: z.string() }).optional(),
});

/**
 * What the revocation returned (`RevokeReceipt`): the target and principal identify it; the
 * rest is typed when present.
 */
export const recordedRevokeReceiptSchema = z.object({
  target: targetRefSchema,
  principal: z.string(),
  /** False when other elevations still hold the grant, so the membership was kept for them. */
  removed: z.boolean().optional(),
  /** Elevations that still hold the grant (when `removed` is false). */
  stillHeldBy: z.array(z.string()).optional(),
  verifiedAt: z.string().optional(),
  /** Who removed the grant: the worker's expiry revoker or the workflow's revocation. */
  removedBy: z.enum(['expiry-revoker', 'workflow']).optional(),
  /** The workflow's read-back after the expiry revoker removed the grant. */
  recheckedAt: z.string().optional(),
  /** AWS credentials mode: what became of the session. */
  session: z
    .object({
      sessionName: z.string(),
      expiration: z.string(),
      delivered: z.boolean(),
      denied: z.boolean(),
    })
    .optional(),
});

/** A bot as the audit trail records it, when it asked. */
export type RecordedBot = z.infer<typeof recordedBotSchema>;
/** A role as the audit trail records it, when the bot asked. */
export type RecordedRole = z.infer<typeof recordedRoleSchema>;
/** A grant receipt as the audit trail records it. */
export type RecordedGrantReceipt = z.infer<typeof recordedGrantReceiptSchema>;
/** A revocation receipt as the audit trail records it. */
export type RecordedRevokeReceipt = z.infer<typeof recordedRevokeReceiptSchema>;
/** A workload identity as the audit trail records it. */
export type RecordedBotIdentity = z.infer<typeof botIdentitySchema>;
