/**
 * Builds the capability services over one set of stores and clients, wired to each other: what
 * a process (`runtime/process.ts`) and the tests construct. Each service takes only what it uses.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Policy } from '../config/policy.js';
import type { TypedAuditAppender } from '../core/model/audit-record.js';
import type { ElevationTiming } from '../core/model/elevation.js';
import type { ApproverDirectory } from '../core/ports/approver-directory.js';
import type { WorkloadIdentityVerifier } from '../integrations/federation/workload-identity.js';
import type { AuditLog } from '../store/audit-log.js';
import type { BotStates } from '../store/bot-state.js';
import type { ElevationIndex } from '../store/elevation-index.js';
import type { OnCallDirectory } from '../core/ports/oncall-directory.js';
import { ApprovalService } from './approvals/approval-service.js';
import { AttestationService } from './attestations/attestation-service.js';
import { BreakGlassReviewService } from './elevations/break-glass-review-service.js';
import { AuditService, type AuditServiceDeps } from './audit/audit-service.js';
import { Authenticator } from './auth/authenticator.js';
import { BotQuotas, type QuotaStores } from './bot-quotas.js';
import { BotAdminService } from './bots/bot-admin-service.js';
import { createLeastPrivilegeReporter, type LeastPrivilegeReporter } from './bots/least-privilege.js';
import type { CredentialVault } from './credential-vault.js';
import type { DecisionSigner } from './decision-signer.js';
import { DecisionSender } from './elevations/decision-sender.js';
import { ElevationReader } from './elevations/elevation-reader.js';
import { RequestService } from './elevations/request-service.js';

export interface DomainServicesDeps {
  policy: Policy;
  temporal: Client;
  taskQueue: string;
  /**
   * The client shares its connection with a worker of this process on `taskQueue`: elevations are
   * started eagerly (Temporal hands the first workflow task back with the start's answer).
   */
  eagerStart?: boolean;
  /** The audit log; what the services append is checked against each event's type. */
  auditLog: Pick<AuditLog, 'listEvents' | 'verify' | 'readEvents'> & TypedAuditAppender;
  /** The elevation summaries: reads, lists, the bots' open elevations, their use of roles. */
  elevations: Pick<ElevationIndex, 'getElevation' | 'listElevations' | 'openElevationCounts' | 'roleUsage'>;
  /** Bots' runtime state (lockdown, overrides, rotated keys). */
  botStates: Pick<BotStates, 'getBotState' | 'findBotStateByKeyHash' | 'listBotStates' | 'updateBotState'>;
  /** The bot's lock and its quota notes (see `bot-quotas.ts`). */
  leases: QuotaStores['leases'];
  singleUse: QuotaStores['singleUse'];
  timing: ElevationTiming;
  logger: Logger;
  /**
   * Signs every workflow start and every decision sent to a workflow (approve, deny, revoke):
   * workers act only on what this key signed.
   */
  signer: Pick<DecisionSigner, 'decision' | 'request' | 'kid' | 'attestation' | 'breakGlassReview'>;
  /** Needed when a role names an LDAP approver group. */
  directory?: ApproverDirectory;
  /** Who is on call for on-call approver groups (default: policy rotations only). */
  oncall?: OnCallDirectory;
  /** Hands AWS credentials-mode sessions to their bots (needed when a role uses that mode). */
  vault?: Pick<CredentialVault, 'deliver'>;
  /** Verifies bots' workload identity tokens (when a bot of the policy has `federation`). */
  federation?: Pick<WorkloadIdentityVerifier, 'verify'>;
  clock?: () => Date;
  refusalAggregation?: AuditServiceDeps['refusalAggregation'];
  /** Told of every refusal before authentication, recorded or only counted (the metrics counter). */
  onPreAuthRefusal?: (reason: string) => void;
}

/** The capabilities, one service each. */
export interface DomainServices {
  auth: Authenticator;
  requests: RequestService;
  approvals: ApprovalService;
  /** Owners' answers to periodic attestations (the attestation pages). */
  attestations: AttestationService;
  /** Reviewers' answers to break-glass activations (the review pages). */
  breakGlassReviews: BreakGlassReviewService;
  bots: BotAdminService;
  /** The least-privilege report of the bots (also a section of each evidence pack). */
  leastPrivilege: LeastPrivilegeReporter;
  audit: AuditService;
}

export function createDomainServices(deps: DomainServicesDeps): DomainServices {
  const { policy, logger } = deps;
  const clock = deps.clock ?? (() => new Date());
  const reader = new ElevationReader({ elevations: deps.elevations, temporal: deps.temporal, logger });
  const leastPrivilege = createLeastPrivilegeReporter({ policy, elevations: deps.elevations, logger, clock });
  const audit = new AuditService({
    auditLog: deps.auditLog,
    elevations: deps.elevations,
    reader,
    leastPrivilege,
    logger,
    clock,
    ...(deps.refusalAggregation ? { refusalAggregation: deps.refusalAggregation } : {}),
    ...(deps.onPreAuthRefusal ? { onPreAuthRefusal: deps.onPreAuthRefusal } : {}),
  });
  const decisions = new DecisionSender({ reader, signer: deps.signer, refusals: audit, logger });
  const quotas = new BotQuotas(
    { elevations: deps.elevations, auditLog: deps.auditLog, leases: deps.leases, singleUse: deps.singleUse },
    logger,
  );
  const requests = new RequestService({
    policy,
    temporal: deps.temporal,
    taskQueue: deps.taskQueue,
    ...(deps.eagerStart ? { eagerStart: true } : {}),
    timing: deps.timing,
    signer: deps.signer,
    reader,
    decisions,
    quotas,
    botStates: deps.botStates,
    refusals: audit,
    auditLog: deps.auditLog,
    ...(deps.vault ? { vault: deps.vault } : {}),
    logger,
    clock,
  });
  return {
    auth: new Authenticator({
      policy,
      botStates: deps.botStates,
      ...(deps.federation ? { federation: deps.federation } : {}),
      logger,
    }),
    requests,
    approvals: new ApprovalService({
      policy,
      reader,
      decisions,
      refusals: audit,
      ...(deps.directory ? { directory: deps.directory } : {}),
      ...(deps.oncall ? { oncall: deps.oncall } : {}),
      pending: deps.elevations,
      logger,
      clock,
    }),
    bots: new BotAdminService({
      policy,
      botStates: deps.botStates,
      elevations: deps.elevations,
      quotas,
      requests,
      audit,
      logger,
      clock,
    }),
    attestations: new AttestationService({ temporal: deps.temporal, signer: deps.signer, logger }),
    breakGlassReviews: new BreakGlassReviewService({ temporal: deps.temporal, signer: deps.signer, logger }),
    leastPrivilege,
    audit,
  };
}
