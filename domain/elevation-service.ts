/**
 * What callers can do with elevations, independent of transport: the HTTP API calls it today,
 * Slack handlers and the CLI will call the same functions. It checks policy, talks to the
 * workflows through the Temporal client, reads the audit store, and records every refused
 * attempt as an audit event.
 */
import { randomUUID } from 'node:crypto';
import {
  WorkflowExecutionAlreadyStartedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
} from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { Logger } from 'pino';
import {
  limitsFor,
  principalFor,
  type AdminPolicy,
  type BotPolicy,
  type Policy,
  type RolePolicy,
} from '../config/policy.js';
import { InvalidCursorError, InvalidQueryError } from '../store/errors.js';
import { exportAudit, InvalidExportError, type ExportOptions } from '../integrations/audit/export.js';
import {
  buildEvidenceBody,
  evidenceDigest,
  exportEventData,
  type EvidencePack,
  type EvidenceVia,
} from '../integrations/audit/evidence-pack.js';
import type {
  AuditEvent,
  ChainAnchor,
  TypedAuditAppender,
  VerifyResult,
} from '../core/model/audit-record.js';
import type { AuditLog } from '../store/audit-log.js';
import type { BotLock, BotState, BotStateChange, BotStates } from '../store/bot-state.js';
import type { ElevationIndex, ElevationPage, ElevationQuery } from '../store/elevation-index.js';
import {
  REFUSAL_FAILURE_TYPE,
  approveUpdate,
  denyUpdate,
  reloadDecisionKeysUpdate,
  revokeUpdate,
  statusQuery,
} from '../workflows/definitions.js';
import { workflowIdFor } from '../core/model/elevation.js';
import {
  type Actor,
  type ApproverIdentity,
  type BotIdentity,
  type ElevationInput,
  type ElevationTiming,
  type ElevationView,
} from '../core/model/elevation.js';
import {
  type ApproveInput,
  type DecisionKind,
  type DenyInput,
  type RefusalCode,
} from '../core/model/decisions.js';
import type { BotChangeEventType, EventDataOf, RefusalEventType } from '../core/model/event-data.js';
import type { elevationWorkflow } from '../workflows/elevation-workflow.js';
import { approvalRefusal, sameApprover } from '../core/rules/approval-eligibility.js';
import { initialView, isFinal } from '../core/rules/elevation-view.js';
import type { CredentialVault, HandoffCredentials } from './credential-vault.js';
import type { DecisionSigner } from './decision-signer.js';
import type { DecisionInputs } from '../core/rules/signed-decision.js';
import { generateSecret, hashSecret, sameHash } from '../core/crypto/credentials.js';
import { ApiError } from './errors.js';
import { type ErrorCode } from '../core/errors/error-codes.js';
import {
  AmbiguousIdentityError,
  type ApproverDirectory,
  type ApproverLogin,
  type DirectoryPerson,
} from '../core/ports/approver-directory.js';
import { elevationIdForRequest, newElevationId } from './ids.js';
import { replayOf } from './idempotent-replay.js';
import { RefusalAggregator, boundRefusalData, type RefusalAggregatorOptions } from './refusal-aggregator.js';
import { BotQuotas, type QuotaStores } from './bot-quotas.js';

/** A bot's request, already validated for shape by the transport. */
export interface ElevationRequest {
  role: string;
  durationSeconds: number;
  justification: string;
  ticket?: string;
  requestId?: string;
}

export interface ElevationServiceDeps {
  policy: Policy;
  temporal: Client;
  taskQueue: string;
  /** The audit log; what the service appends is checked against each event's type. */
  auditLog: Pick<AuditLog, 'listEvents' | 'verify' | 'readEvents'> & TypedAuditAppender;
  /** The elevation summaries: reads, lists, the bots' open elevations. */
  elevations: Pick<ElevationIndex, 'getElevation' | 'listElevations' | 'openElevationCounts'>;
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
  signer: Pick<DecisionSigner, 'decision' | 'request' | 'kid'>;
  /** Needed when a role names an LDAP approver group. */
  directory?: ApproverDirectory;
  /** Hands AWS credentials-mode sessions to their bots (needed when a role uses that mode). */
  vault?: Pick<CredentialVault, 'deliver'>;
  clock?: () => Date;
  /**
   * How refusals before authentication (anonymous actor, no elevation) are aggregated: window
   * length, keys per window, whether a timer writes summaries (see {@link RefusalAggregator}).
   */
  refusalAggregation?: Pick<RefusalAggregatorOptions, 'windowMs' | 'maxKeys' | 'timer'>;
  /** Told of every refusal before authentication, recorded or only counted (the metrics counter). */
  onPreAuthRefusal?: (reason: string) => void;
}

/** Which elevations a caller may see: a bot only its own, an admin all. */
export type Scope = { kind: 'bot'; botId: string } | { kind: 'admin' };

/** A bot as admins see it: its policy entry, merged with what admins changed at runtime. */
export interface BotSummary {
  id: string;
  owner: string;
  team: string;
  purpose: string;
  environment: string;
  roles: string[];
  /** The bot's identity in each kind of target it has roles in, as the policy says. */
  principals: { ldapDn?: string; postgresLogin?: string; awsPrincipal?: string };
  /** Whether its requests are refused with `bot_disabled`: the admin override if any, else the policy. */
  disabled: boolean;
  /** What the policy file says about `disabled`. */
  policyDisabled: boolean;
  /** An admin's override of the policy's `disabled` (kept only while it differs), or null. */
  disabledOverride: { value: boolean; at: string; by: string } | null;
  /** An admin's lockdown (requests refused with `bot_locked`), or null. */
  locked: BotLock | null;
  /** When an admin last rotated the bot's API key (the policy's key no longer works), or null. */
  keyRotatedAt: string | null;
  /** The admin who did. */
  keyRotatedBy: string | null;
  /** Whether the bot may also authenticate with a workload identity token (`federation`). */
  federation: boolean;
  /** Its elevations in status `active`. */
  activeElevations: number;
  /** Its elevations not yet ended: `pending_approval`, `approved`, `active` or `revoking`. */
  openElevations: number;
}

/** What a lockdown did ({@link ElevationService.lockBot}). */
export interface BotLockResult {
  bot: BotSummary;
  /** The elevations it revoked: a pending one is `revoked` at once, the others are `revoking`. */
  revoked: ElevationView[];
  /** Elevations it could not revoke now (the lock stands; lock again to retry them). */
  failed: { id: string; code: ErrorCode; message: string }[];
}

/** A rotated API key ({@link ElevationService.rotateBotKey}): the key is in no other place. */
export interface BotKeyRotation {
  bot: BotSummary;
  /** The new key, `elv_bot_…`; only its hash is stored. */
  key: string;
}

/** Extra fields an admin action records in its event: where it was made, e.g. `{via: 'console'}`. */
export interface AdminContext {
  /** `console` for the admin console; absent for the admin API. */
  via?: string;
}

/** Extra fields a credentials delivery (or its refusal) records: the bot's address. */
export interface DeliveryContext {
  ip?: string | null;
}

/** What a refused approval or denial records besides its code: the MFA evidence, the reason given. */
interface DecisionRefusalExtra {
  evidence?: Record<string, unknown> | null;
  reason?: string;
}

/** The statuses a lockdown revokes: everything that holds, or may soon hold, the role. */
const LOCKDOWN_REVOKES: ElevationView['status'][] = ['pending_approval', 'approved', 'active'];

/**
 * How long a lockdown waits before it looks for the bot's elevations a second time: a request
 * accepted in the same instant as the lock may not be in the audit store yet at the first look.
 */
const LOCKDOWN_SECOND_LOOK_MS = 1000;

/** Who a refusal before authentication is recorded as (and its summaries). */
const ANONYMOUS_ACTOR: Actor = { kind: 'anonymous', id: 'unknown' };

const REFUSAL_TO_API: Record<RefusalCode, ErrorCode> = {
  not_pending: 'not_pending',
  already_ended: 'already_ended',
  approval_window_closed: 'approval_window_closed',
  not_eligible: 'approval_refused',
  owner_may_not_approve: 'approval_refused',
  already_approved: 'already_approved',
  not_needed: 'approval_not_needed',
  invalid_input: 'invalid_request',
  // The API's own signature refused: a configuration fault (keys, clocks), never the caller's.
  unsigned_decision: 'service_unavailable',
  unknown_decision_key: 'service_unavailable',
};

/**
 * A refused approval or denial, already audited. `reason` is the specific reason recorded in
 * the audit event (`owner_may_not_approve`, `not_needed`, ...), finer than the API `code`
 * (`approval_refused`, `approval_not_needed`, ...), so the approver is shown the same reason
 * an admin finds in the audit trail.
 */
export class RefusalError extends ApiError {
  constructor(
    code: ErrorCode,
    readonly reason: string,
    message: string,
  ) {
    super(code, message);
    this.recorded();
  }
}

export class ElevationService {
  private readonly roles: Map<string, RolePolicy>;
  private readonly botsByKey: Map<string, BotPolicy>;
  private readonly clock: () => Date;
  /** Refusals before authentication: recorded once per key and window, the rest counted. */
  private readonly preAuthRefusals: RefusalAggregator;
  private readonly quotas: BotQuotas;

  constructor(private readonly deps: ElevationServiceDeps) {
    this.quotas = new BotQuotas(
      { elevations: deps.elevations, leases: deps.leases, singleUse: deps.singleUse },
      deps.logger,
    );
    this.roles = new Map(deps.policy.roles.map((r) => [r.id, r]));
    this.botsByKey = new Map(deps.policy.bots.map((b) => [b.apiKeyHash, b]));
    this.clock = deps.clock ?? (() => new Date());
    this.preAuthRefusals = new RefusalAggregator({
      ...deps.refusalAggregation,
      clock: this.clock,
      summarize: ({ of, ...data }) =>
        this.appendRefusal('refusals.summarized', null, ANONYMOUS_ACTOR, { of, ...data }),
    });
  }

  // ---- credentials --------------------------------------------------------------------------

  /**
   * The bot whose API key this is, if any: the policy's key, or the key an admin rotated to
   * (which then replaces the policy's). Reads the bot's state in the audit store on every call,
   * so a rotation counts at once in every API process; a store that cannot be read is a 503.
   * Hashes are compared in constant time.
   */
  async authenticateBotKey(secret: string): Promise<BotPolicy | undefined> {
    const hash = hashSecret(secret);
    const policyBot = this.botsByKey.get(hash);
    if (policyBot) {
      const state = await this.readState(this.deps.botStates.getBotState(policyBot.id));
      // Once rotated, the policy's key is no longer the bot's.
      if (state?.apiKey) return undefined;
      return sameHash(policyBot.apiKeyHash, hash) ? policyBot : undefined;
    }
    const state = await this.readState(this.deps.botStates.findBotStateByKeyHash(hash));
    if (!state?.apiKey || !sameHash(state.apiKey.hash, hash)) return undefined;
    return this.botById(state.botId);
  }

  /**
   * The bot whose API key this is by the policy alone, without the runtime state: a rotated key
   * is not recognised and a key rotated away still is. Not for authentication (use
   * {@link authenticateBotKey}); only for naming who presented a credential somewhere it is
   * refused anyway.
   */
  authenticateBot(secret: string): BotPolicy | undefined {
    return this.botsByKey.get(hashSecret(secret));
  }

  /** The bot with this id, if any (a workload identity token names its bot by id). */
  botById(id: string): BotPolicy | undefined {
    return this.deps.policy.bots.find((b) => b.id === id);
  }

  /** The policy's role ids, in its order (the API reference lists them as the `role` values). */
  roleIds(): string[] {
    return [...this.roles.keys()];
  }

  /** The admin whose token this is, if any. */
  authenticateAdmin(secret: string): AdminPolicy | undefined {
    const hash = hashSecret(secret);
    return this.deps.policy.admins.find((a) => sameHash(a.tokenHash, hash));
  }

  // ---- bots ---------------------------------------------------------------------------------

  /**
   * Start an elevation, or return the one this bot's `requestId` already started. Policy is
   * checked here so that a refused request gets its answer synchronously and starts nothing.
   */
  async request(
    bot: BotPolicy,
    req: ElevationRequest,
    identity?: BotIdentity,
  ): Promise<{ elevation: ElevationView; replayed: boolean }> {
    await this.refuseIfBlocked(bot);
    const role = this.roles.get(req.role);
    if (!role) throw new ApiError('unknown_role', `role "${req.role}" does not exist`, 'role');
    if (!bot.roles.includes(role.id)) {
      throw new ApiError('role_not_allowed', `bot ${bot.id} may not request role ${role.id}`, 'role');
    }
    if (req.durationSeconds > role.maxDurationSeconds) {
      throw new ApiError(
        'duration_too_long',
        `durationSeconds must be at most ${role.maxDurationSeconds} for role ${role.id}`,
        'durationSeconds',
      );
    }

    const elevationId = req.requestId ? elevationIdForRequest(bot.id, req.requestId) : newElevationId();
    if (req.requestId) {
      // The store outlives Temporal's retention; a workflow not yet on record is caught below.
      const existing = await this.stored(elevationId);
      if (existing) return { elevation: replayOf(existing, bot.id, req), replayed: true };
    }

    const now = this.clock();
    const input: ElevationInput = {
      elevationId,
      bot: {
        id: bot.id,
        owner: bot.owner,
        team: bot.team,
        purpose: bot.purpose,
        environment: bot.environment,
        // The policy check guarantees it for every role the bot may request.
        principal: principalFor(bot, role.target)!,
      },
      role: {
        id: role.id,
        ...(role.description !== undefined ? { description: role.description } : {}),
        environment: role.environment,
        target: role.target,
        maxDurationSeconds: role.maxDurationSeconds,
        approval: role.approval,
      },
      durationSeconds: req.durationSeconds,
      justification: req.justification,
      ...(req.ticket !== undefined ? { ticket: req.ticket } : {}),
      ...(req.requestId !== undefined ? { requestId: req.requestId } : {}),
      ...(identity ? { identity } : {}),
      requestedAt: now.toISOString(),
      timing: this.deps.timing,
    };
    const quota = {
      botId: bot.id,
      roleId: role.id,
      needsApproval: role.approval.mode === 'approvers',
      elevationId,
      limits: limitsFor(this.deps.policy, bot),
      now,
    };
    // Checked and started under the bot's lock: two concurrent requests cannot both pass a limit.
    const replay = await this.quotas
      .admit(quota, async () => {
        try {
          const signed = await this.deps.signer.request(input);
          await this.deps.temporal.workflow.start<typeof elevationWorkflow>('elevationWorkflow', {
            workflowId: workflowIdFor(elevationId),
            taskQueue: this.deps.taskQueue,
            args: [signed],
            // Explicit: a second start with the same id fails, and we answer with the first.
            workflowIdConflictPolicy: 'FAIL',
            workflowIdReusePolicy: 'REJECT_DUPLICATE',
          });
          return { started: true, result: undefined };
        } catch (err) {
          if (err instanceof WorkflowExecutionAlreadyStartedError && req.requestId) {
            const existing = await this.find(elevationId);
            if (existing) {
              return {
                started: false,
                result: { elevation: replayOf(existing, bot.id, req), replayed: true },
              };
            }
          }
          throw this.unavailable(err, 'start the elevation');
        }
      })
      .catch((err: unknown) => {
        throw this.unavailable(err, "check the bot's limits");
      });
    if (replay) return replay;
    await this.undoIfLockedMeanwhile(bot, elevationId);
    this.deps.logger.info({ elevationId, botId: bot.id, roleId: role.id }, 'elevation requested');
    return { elevation: initialView(input, now.getTime()), replayed: false };
  }

  /** One elevation, if the scope may see it; otherwise `not_found` (existence is not leaked). */
  async get(id: string, scope: Scope): Promise<ElevationView> {
    const view = await this.find(id);
    if (!view || (scope.kind === 'bot' && view.botId !== scope.botId)) {
      throw new ApiError('not_found', `elevation ${id} not found`, 'id');
    }
    return view;
  }

  /**
   * Long-poll. Without `until`: resolves when the status differs from what it was at the call.
   * With `until`: resolves when the status is one of those, at once if it already is (the
   * statuses passed through on the way do not end the wait). Either way it also resolves, at
   * once or when it happens, when the elevation has ended (a final status never changes, so
   * waiting longer would be pointless); and when `waitSeconds` pass, or `signal` aborts (the
   * caller went away), with the elevation as it is then.
   */
  async waitForChange(
    id: string,
    scope: Scope,
    waitSeconds: number,
    signal?: AbortSignal,
    until?: readonly ElevationView['status'][],
  ): Promise<ElevationView> {
    let view = await this.get(id, scope);
    const from = view.status;
    const reached = (v: ElevationView) =>
      isFinal(v) || (until ? until.includes(v.status) : v.status !== from);
    const deadline = Date.now() + waitSeconds * 1000;
    let delay = 50;
    while (!reached(view) && Date.now() < deadline && !signal?.aborted) {
      await new Promise((r) => setTimeout(r, Math.min(delay, Math.max(deadline - Date.now(), 0))));
      delay = Math.min(delay * 2, 500);
      view = (await this.find(id)) ?? view;
    }
    return view;
  }

  /** End an elevation early. Idempotent: revoking one already revoking or revoked returns it. */
  async revoke(id: string, by: Actor, scope: Scope, comment?: string): Promise<ElevationView> {
    await this.get(id, scope);
    try {
      return await this.decide(id, 'revoke', { by, ...(comment !== undefined ? { reason: comment } : {}) });
    } catch (err) {
      if (this.isGone(err)) {
        const view = await this.find(id);
        if (view?.status === 'revoked') return view;
        await this.recordRefusal('revoke.refused', id, by, {
          code: 'already_ended',
          status: view?.status ?? null,
        });
        throw new ApiError(
          'already_ended',
          `elevation ${id} has already ended (${view?.status ?? 'unknown'})`,
        ).recorded();
      }
      throw await this.refusalOrUnavailable(err, 'revoke.refused', id, by);
    }
  }

  /**
   * The temporary credentials of an active credentials-mode elevation, to its own bot, once.
   * Every attempt is audited: `credentials.delivered` (session name and expiry, never the
   * secret) or `credentials.refused` with the reason; a second attempt is a signal worth
   * looking at (a copied bot key, a replayed request).
   */
  async deliverCredentials(
    id: string,
    botId: string,
    context: DeliveryContext = {},
  ): Promise<HandoffCredentials> {
    const view = await this.get(id, { kind: 'bot', botId });
    const actor: Actor = { kind: 'bot', id: botId };
    const refuse = async (
      code: ErrorCode,
      reason: string,
      message: string,
      extra: Pick<EventDataOf<'credentials.refused'>, 'session'> = {},
    ): Promise<never> => {
      await this.recordRefusal('credentials.refused', id, actor, {
        reason,
        status: view.status,
        ...extra,
        ...context,
      });
      throw new ApiError(code, message).recorded();
    };
    const role = this.roles.get(view.roleId);
    const credentialsMode = role?.target.type === 'aws-iam' && role.target.mode === 'credentials';
    if (!credentialsMode || !this.deps.vault) {
      return refuse(
        'not_credentials_mode',
        'not_credentials_mode',
        `role ${view.roleId} does not hand out credentials; its grant is made in the target itself`,
      );
    }
    if (view.status !== 'active') {
      return refuse('not_active', 'not_active', `elevation ${id} is ${view.status}, not active`);
    }
    const result = await this.deps.vault.deliver(id).catch((err: unknown) => {
      throw this.unavailable(err, 'read the credentials');
    });
    if (!result.ok) {
      const why = {
        already_delivered: 'were already delivered (they are handed out once)',
        revoked: 'were withdrawn when the elevation was revoked',
        expired: 'have expired',
        not_issued: 'were never issued',
      }[result.reason];
      return refuse('credentials_gone', result.reason, `the credentials of elevation ${id} ${why}`, {
        ...(result.session ? { session: result.session } : {}),
      });
    }
    const { sessionName, expiration } = result.credentials;
    try {
      await this.deps.auditLog.append({
        id: randomUUID(),
        elevationId: id,
        type: 'credentials.delivered',
        at: this.clock().toISOString(),
        actor,
        data: { sessionName, expiration, ...context },
      });
    } catch (err) {
      // Delivered already (the take cannot be undone): keep the secret with the bot, log loudly.
      this.deps.logger.error(
        { err: (err as Error).message, elevationId: id, sessionName },
        'credentials delivered but the delivery could not be recorded',
      );
    }
    return result.credentials;
  }

  // ---- bots, for admins (the admin API, the CLI and the console call these) -----------------

  /** Every bot of the policy, in policy order, with its runtime state and elevation counts. */
  async listBots(): Promise<BotSummary[]> {
    const [states, counts] = await Promise.all([
      this.readState(this.deps.botStates.listBotStates()),
      this.readState(this.deps.elevations.openElevationCounts()),
    ]);
    const byId = new Map(states.map((s) => [s.botId, s]));
    return this.deps.policy.bots.map((b) => summarise(b, byId.get(b.id), counts[b.id]));
  }

  /** One bot as {@link listBots} shows it; `not_found` if the policy has no such bot. */
  async getBot(botId: string): Promise<BotSummary> {
    const bot = this.policyBot(botId);
    const [state, counts] = await Promise.all([
      this.readState(this.deps.botStates.getBotState(botId)),
      this.readState(this.deps.elevations.openElevationCounts(botId)),
    ]);
    return summarise(bot, state, counts[botId]);
  }

  /**
   * Lock a bot down: mark it locked first, so that no new request gets through (they are refused
   * with 403 `bot_locked`), then revoke every elevation of it that is pending approval, approved
   * or active, as `by`, with `reason`. The bot can still read and give back its elevations.
   *
   * Idempotent: locking a locked bot keeps the first lock (its time, admin and reason) and revokes
   * whatever is still open. Every call is recorded as a `bot.locked` event with the revoked ids.
   * A request accepted in the same instant is caught too: a request checks the lock again once its
   * workflow has started, and the lockdown looks for the bot's elevations a second time, a moment
   * after the first.
   */
  async lockBot(
    botId: string,
    by: Actor,
    reason: string,
    context: AdminContext = {},
  ): Promise<BotLockResult> {
    this.policyBot(botId);
    const { before } = await this.changeBotState(botId, { lock: { by: by.id, reason } });
    const revoked: ElevationView[] = [];
    const failed: BotLockResult['failed'] = [];
    const seen = new Set<string>();
    const sweep = async () => {
      for (const view of await this.openElevationsOf(botId)) {
        if (seen.has(view.id)) continue;
        seen.add(view.id);
        try {
          revoked.push(await this.revoke(view.id, by, { kind: 'admin' }, reason));
        } catch (err) {
          // Ended on its own meanwhile: nothing left to take away.
          if (err instanceof ApiError && err.code === 'already_ended') continue;
          const error = err instanceof ApiError ? err : this.unavailable(err, 'revoke the elevation');
          failed.push({ id: view.id, code: error.code, message: error.message });
        }
      }
    };
    await sweep();
    await new Promise((resolve) => setTimeout(resolve, LOCKDOWN_SECOND_LOOK_MS));
    await sweep();
    await this.recordAdminAction('bot.locked', by, {
      botId,
      reason,
      alreadyLocked: before?.locked != null,
      revoked: revoked.map((v) => v.id),
      failed: failed.map((f) => f.id),
      ...context,
    });
    this.deps.logger.warn(
      { botId, by: by.id, revoked: revoked.length, failed: failed.length },
      'bot locked down',
    );
    return { bot: await this.getBot(botId), revoked, failed };
  }

  /** Lift a lockdown: the bot may request again (unless disabled). Recorded as `bot.unlocked`. */
  async unlockBot(botId: string, by: Actor, reason: string, context: AdminContext = {}): Promise<BotSummary> {
    this.policyBot(botId);
    const { before } = await this.changeBotState(botId, { lock: null });
    await this.recordAdminAction('bot.unlocked', by, {
      botId,
      reason,
      wasLocked: before?.locked != null,
      ...(before?.locked ? { lock: before.locked } : {}),
      ...context,
    });
    return this.getBot(botId);
  }

  /**
   * Disable or enable a bot at runtime, overriding the policy's `disabled`. The override is kept
   * only while it differs from the policy: enabling a bot that the policy enables clears it, so a
   * later `disabled: true` in the policy takes effect. A disabled bot's requests are refused with
   * `bot_disabled`; its elevations are left alone (lock it to end them). Recorded as
   * `bot.disabled` or `bot.enabled`.
   */
  async setBotDisabled(
    botId: string,
    disabled: boolean,
    by: Actor,
    reason?: string,
    context: AdminContext = {},
  ): Promise<BotSummary> {
    const bot = this.policyBot(botId);
    const { before } = await this.changeBotState(botId, {
      disabled: disabled === bot.disabled ? null : { value: disabled, by: by.id },
    });
    await this.recordAdminAction(disabled ? 'bot.disabled' : 'bot.enabled', by, {
      botId,
      reason: reason ?? null,
      wasDisabled: before?.disabled?.value ?? bot.disabled,
      policyDisabled: bot.disabled,
      ...context,
    });
    return this.getBot(botId);
  }

  /**
   * Give a bot a new API key, returned once: only its hash is stored. From now on the old key
   * (the policy's, or the previous rotated one) is refused with 401, in every API process.
   * Workload identity tokens are not affected. Recorded as `bot.key_rotated` with fingerprints of
   * the new and the previous key (never a key); if that event cannot be recorded, the key is not
   * handed out (503) and the bot has no working key until the next rotation.
   */
  async rotateBotKey(
    botId: string,
    by: Actor,
    reason?: string,
    context: AdminContext = {},
  ): Promise<BotKeyRotation> {
    const bot = this.policyBot(botId);
    const key = generateSecret('bot');
    const hash = hashSecret(key);
    const { before } = await this.changeBotState(botId, { apiKey: { hash, by: by.id } });
    await this.recordAdminAction('bot.key_rotated', by, {
      botId,
      reason: reason ?? null,
      credential: keyFingerprint(hash),
      previousCredential: keyFingerprint(before?.apiKey?.hash ?? bot.apiKeyHash),
      ...context,
    });
    this.deps.logger.warn({ botId, by: by.id }, 'bot API key rotated');
    return { bot: await this.getBot(botId), key };
  }

  /** @throws ApiError `not_found` (field `id`) when the policy has no such bot */
  private policyBot(botId: string): BotPolicy {
    const bot = this.botById(botId);
    if (!bot) throw new ApiError('not_found', `bot ${botId} not found`, 'id');
    return bot;
  }

  private readState<T>(p: Promise<T>): Promise<T> {
    return p.catch((err: unknown) => {
      throw this.unavailable(err, 'read the audit store');
    });
  }

  private changeBotState(botId: string, change: BotStateChange) {
    return this.deps.botStates
      .updateBotState(botId, change, this.clock().toISOString())
      .catch((err: unknown) => {
        throw this.unavailable(err, 'change the bot');
      });
  }

  /** Elevations of the bot that a lockdown revokes, every page. */
  private async openElevationsOf(botId: string): Promise<ElevationView[]> {
    const all: ElevationView[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.list({
        botId,
        status: LOCKDOWN_REVOKES,
        limit: 200,
        ...(cursor ? { cursor } : {}),
      });
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return all;
  }

  /** Record an admin's change to a bot; a change that cannot be recorded is answered with 503. */
  private async recordAdminAction<T extends BotChangeEventType>(
    type: T,
    by: Actor,
    data: EventDataOf<T>,
  ): Promise<void> {
    await this.deps.auditLog
      .append({ id: randomUUID(), elevationId: null, type, at: this.clock().toISOString(), actor: by, data })
      .catch((err: unknown) => {
        throw this.unavailable(err, 'record the change (it was made: repeat it to record it)');
      });
  }

  /** Refuse a request of a locked or disabled bot (runtime state first, then the policy). */
  private async refuseIfBlocked(bot: BotPolicy): Promise<void> {
    const state = await this.readState(this.deps.botStates.getBotState(bot.id));
    if (state?.locked) throw lockedError(bot.id);
    // Who disabled the bot, and why, is for admins (admin API, console, audit), not the bot.
    if (state?.disabled?.value ?? bot.disabled) {
      throw new ApiError('bot_disabled', `bot ${bot.id} is disabled; ask its owner or an Elevate admin`);
    }
  }

  /**
   * A lock that arrived while this request was starting its workflow: the lockdown may have
   * looked for the bot's elevations before this one was on record, so take it back here.
   */
  private async undoIfLockedMeanwhile(bot: BotPolicy, elevationId: string): Promise<void> {
    const state = await this.deps.botStates.getBotState(bot.id).catch(() => undefined);
    if (!state?.locked) return;
    const lock = state.locked;
    await this.revoke(elevationId, { kind: 'admin', id: lock.by }, { kind: 'admin' }, lock.reason).catch(
      (err: unknown) => {
        this.deps.logger.error(
          { err: (err as Error).message, elevationId, botId: bot.id },
          'could not revoke an elevation requested as its bot was locked; the lockdown revokes it',
        );
      },
    );
    throw lockedError(bot.id);
  }

  // ---- approvers (the Slack app and the MFA approval pages call these) -----------------------

  /**
   * The approver groups of the elevation's role that `email` belongs to: policy lists, and
   * LDAP groups looked up now.
   */
  async approverGroups(roleId: string, email: string): Promise<string[]> {
    return (await this.approverMatch(roleId, { email })).groups;
  }

  /**
   * The approver groups `person` belongs to, and the directory entries that made them a member
   * (so one person counts once under any address). An entry the directory cannot pin down is
   * thrown as {@link AmbiguousIdentityError}, for the caller to refuse and audit with its context
   * ({@link ambiguousRefusal}).
   */
  private async approverMatch(
    roleId: string,
    person: DirectoryPerson,
  ): Promise<{ groups: string[]; entries: string[] }> {
    const role = this.roles.get(roleId);
    if (role?.approval.mode !== 'approvers') return { groups: [], entries: [] };
    const groups: string[] = [];
    const entries = new Set<string>();
    for (const g of role.approval.groups) {
      if (g.members?.some((m) => sameApprover(m, person.email))) {
        groups.push(g.name);
      } else if (g.ldapGroupDn) {
        if (!this.deps.directory)
          throw this.unavailable(new Error('no LDAP directory configured'), 'look up approvers');
        const entry = await this.deps.directory.memberEntry(g.ldapGroupDn, person).catch((err: unknown) => {
          if (err instanceof AmbiguousIdentityError) throw err;
          throw this.unavailable(err, 'look up approver groups in LDAP');
        });
        if (entry !== undefined) {
          groups.push(g.name);
          entries.add(entry);
        }
      }
    }
    return { groups, entries: [...entries] };
  }

  /**
   * A person the directory cannot pin down to one entry, refused (403 `approval_refused`, reason
   * `ambiguous_identity`) and recorded as `type` for elevation `id`.
   */
  private async ambiguousRefusal(
    err: AmbiguousIdentityError,
    type: 'approval.refused' | 'deny.refused',
    id: string,
    by: Actor,
    extra: DecisionRefusalExtra,
  ): Promise<RefusalError> {
    await this.recordRefusal(type, id, by, { code: 'ambiguous_identity', message: err.message, ...extra });
    return new RefusalError('approval_refused', 'ambiguous_identity', err.message);
  }

  /**
   * Whether `email` could approve elevation `id` now: asked before an approver is sent to log
   * in, so nobody does an MFA login for nothing. The workflow decides again when the approval
   * arrives. A refusal is audited and thrown as {@link ApiError}.
   */
  async checkApprover(
    id: string,
    email: string,
    login?: ApproverLogin,
  ): Promise<{ elevation: ElevationView; groups: string[] }> {
    const by: Actor = { kind: 'human', id: email };
    const elevation = await this.find(id);
    const refuse = async (code: ErrorCode, reason: string, message: string): Promise<never> => {
      await this.recordRefusal('approval.refused', elevation ? id : null, by, {
        code: reason,
        message,
        stage: 'precheck',
      });
      throw new RefusalError(code, reason, message);
    };
    if (!elevation) return refuse('not_found', 'not_found', `elevation ${id} not found`);
    // The LDAP lookup is only worth it while the elevation waits for approvers.
    const { groups, entries } =
      elevation.status === 'pending_approval'
        ? await this.approverMatch(elevation.roleId, personOf(email, login)).catch((err: unknown) => {
            if (err instanceof AmbiguousIdentityError)
              return refuse('approval_refused', 'ambiguous_identity', err.message);
            throw err;
          })
        : { groups: [], entries: [] };
    const role = this.roles.get(elevation.roleId);
    const ownerMayApprove = role?.approval.mode === 'approvers' && role.approval.ownerMayApprove;
    const identity = login ? identityOf(entries, login) : undefined;
    const problem = approvalRefusal(
      elevation,
      email,
      groups,
      ownerMayApprove,
      this.clock().getTime(),
      identity,
    );
    if (problem) return refuse(REFUSAL_TO_API[problem.code], problem.code, problem.message);
    return { elevation, groups };
  }

  /**
   * Approve as a person who has proved who they are (`evidence`: the MFA login). Their approver
   * groups are looked up here; the workflow refuses an approval that must not count.
   */
  async approve(
    id: string,
    input: Omit<ApproveInput, 'groups' | 'identity'>,
    login?: ApproverLogin,
  ): Promise<ElevationView> {
    const by: Actor = { kind: 'human', id: input.approver.id };
    const view = await this.find(id);
    const { groups, entries } = view
      ? await this.approverMatch(view.roleId, personOf(input.approver.id, login)).catch(
          async (err: unknown) => {
            if (!(err instanceof AmbiguousIdentityError)) throw err;
            throw await this.ambiguousRefusal(err, 'approval.refused', id, by, {
              evidence: input.evidence ?? null,
            });
          },
        )
      : { groups: [], entries: [] };
    // Who the approver is beyond the address, signed with the decision: the workflow refuses a
    // second approval by the same directory entry or identity-provider subject.
    const evidence = input.evidence ?? {};
    const identity = identityOf(entries, {
      ...(typeof evidence['issuer'] === 'string' ? { issuer: evidence['issuer'] } : {}),
      ...(typeof evidence['subject'] === 'string' ? { subject: evidence['subject'] } : {}),
      ...login,
    });
    try {
      return await this.decide(id, 'approve', { ...input, groups, identity });
    } catch (err) {
      if (this.isGone(err)) {
        await this.recordRefusal('approval.refused', id, by, {
          code: 'already_ended',
          evidence: input.evidence ?? null,
        });
        throw new ApiError('already_ended', `elevation ${id} has ended or does not exist`).recorded();
      }
      throw await this.refusalOrUnavailable(err, 'approval.refused', id, by, {
        evidence: input.evidence ?? null,
      });
    }
  }

  /** Deny: a human approver or the bot's owner (groups looked up here), or an admin. */
  async deny(id: string, input: Omit<DenyInput, 'groups'>): Promise<ElevationView> {
    const view = input.by.kind === 'human' ? await this.find(id) : undefined;
    const groups = view
      ? await this.approverGroups(view.roleId, input.by.id).catch(async (err: unknown) => {
          if (!(err instanceof AmbiguousIdentityError)) throw err;
          throw await this.ambiguousRefusal(err, 'deny.refused', id, input.by, { reason: input.reason });
        })
      : [];
    try {
      return await this.decide(id, 'deny', { ...input, groups });
    } catch (err) {
      if (this.isGone(err)) {
        await this.recordRefusal('deny.refused', id, input.by, { code: 'already_ended' });
        throw new ApiError('already_ended', `elevation ${id} has ended or does not exist`).recorded();
      }
      throw await this.refusalOrUnavailable(err, 'deny.refused', id, input.by, { reason: input.reason });
    }
  }

  // ---- admins -------------------------------------------------------------------------------

  async list(query: ElevationQuery): Promise<ElevationPage> {
    try {
      return await this.deps.elevations.listElevations(query);
    } catch (err) {
      if (err instanceof InvalidCursorError || err instanceof InvalidQueryError) {
        throw new ApiError('invalid_request', `${err.field}: ${err.message}`, err.field);
      }
      throw this.unavailable(err, 'read the audit store');
    }
  }

  async timeline(id: string): Promise<{ elevation: ElevationView; events: AuditEvent[] }> {
    const elevation = await this.get(id, { kind: 'admin' });
    const events = await this.deps.auditLog.listEvents(id).catch((err: unknown) => {
      throw this.unavailable(err, 'read the audit store');
    });
    return { elevation, events };
  }

  /**
   * The audit trail as a stream of text chunks in `opts.format`, for an admin. Bad options fail
   * before the first chunk (400); the export itself is recorded as `audit.exported` first, so
   * even an export that fails half-way is on record.
   */
  async exportAudit(opts: ExportOptions, by: Actor): Promise<AsyncGenerator<string>> {
    let chunks: AsyncGenerator<string>;
    try {
      chunks = exportAudit(this.deps.auditLog, opts);
    } catch (err) {
      if (err instanceof InvalidExportError) throw new ApiError('invalid_request', err.message, err.field);
      throw err;
    }
    await this.deps.auditLog
      .append({
        id: randomUUID(),
        elevationId: null,
        type: 'audit.exported',
        at: this.clock().toISOString(),
        actor: by,
        data: { format: opts.format, since: opts.since ?? null, until: opts.until ?? null },
      })
      .catch((err: unknown) => {
        throw this.unavailable(err, 'record the export');
      });
    return chunks;
  }

  /**
   * The evidence pack of one elevation, for an admin (see `integrations/audit/evidence-pack.ts`):
   * the elevation, its events with their chain fields, the whole chain verified now, and the
   * pack's digest, recorded as an `audit.exported` event of the elevation (format `evidence`)
   * before the pack is handed out.
   */
  async evidencePack(id: string, by: Actor, via: EvidenceVia): Promise<EvidencePack> {
    const { elevation, events } = await this.timeline(id);
    const verify = await this.verifyAudit();
    const exportedAt = this.clock().toISOString();
    const body = buildEvidenceBody({ elevation, events, verify, exportedAt, exportedBy: by, via });
    const digest = evidenceDigest(body);
    const exportEvent = await this.deps.auditLog
      .append({
        id: randomUUID(),
        elevationId: id,
        type: 'audit.exported',
        at: exportedAt,
        actor: by,
        data: exportEventData(body, digest),
      })
      .catch((err: unknown) => {
        throw this.unavailable(err, 'record the export');
      });
    return { ...body, digest, exportEvent };
  }

  /** Verify the audit chain, also against anchors an admin recorded from earlier runs. */
  verifyAudit(anchors: ChainAnchor[] = []): Promise<VerifyResult> {
    return this.deps.auditLog.verify({ anchors }).catch((err: unknown) => {
      throw this.unavailable(err, 'read the audit store');
    });
  }

  /**
   * Record an attempt that was refused before it reached a workflow (bad credentials, bad
   * input, a refused update). Never throws: failing to audit a refusal must not turn the
   * caller's 4xx into a 500, but it is logged loudly.
   */
  async recordRefusal<T extends RefusalEventType>(
    type: T,
    elevationId: string | null,
    actor: Actor,
    data: EventDataOf<T>,
  ): Promise<void> {
    // Before authentication anyone can be refused any number of times with data of their
    // choosing: bounded, and recorded once per key and window, the rest only counted.
    if (actor.kind === 'anonymous' && elevationId === null) {
      const bounded = boundRefusalData(data);
      const reason = bounded.reason ?? bounded.code;
      this.deps.onPreAuthRefusal?.(typeof reason === 'string' ? reason : 'other');
      if (!this.preAuthRefusals.admit(type, bounded)) return;
      // Still a refusal of its type: bounding cuts strings and lists, drops fields and nested
      // values, and refusal fields are optional strings or shallow objects.
      data = bounded as EventDataOf<T>;
    }
    await this.appendRefusal(type, elevationId, actor, data);
  }

  /** Write the summaries of refusals counted but not yet summarised (on shutdown). */
  flushRefusals(): Promise<void> {
    return this.preAuthRefusals.flush();
  }

  private async appendRefusal<T extends RefusalEventType | 'refusals.summarized'>(
    type: T,
    elevationId: string | null,
    actor: Actor,
    data: EventDataOf<T>,
  ): Promise<void> {
    try {
      await this.deps.auditLog.append({
        id: randomUUID(),
        elevationId,
        type,
        at: this.clock().toISOString(),
        actor,
        data,
      });
    } catch (err) {
      this.deps.logger.error(
        { err: (err as Error).message, type, elevationId },
        'could not record a refused attempt',
      );
    }
  }

  // ---- helpers ------------------------------------------------------------------------------

  private handle(id: string) {
    return this.deps.temporal.workflow.getHandle(workflowIdFor(id));
  }

  /**
   * Send a decision, signed, to the elevation's workflow. A workflow that does not know this
   * API's key yet (started before a key rotation, or before decisions were signed) answers
   * `unknown_decision_key`: it is asked to reload its keys from the worker's configuration,
   * and the decision is signed afresh and sent once more.
   */
  private async decide<K extends DecisionKind>(
    id: string,
    kind: K,
    input: DecisionInputs[K],
  ): Promise<ElevationView> {
    // The three updates take the same argument: a SignedDecision.
    const update = { approve: approveUpdate, deny: denyUpdate, revoke: revokeUpdate }[
      kind
    ] as typeof approveUpdate;
    const send = async () => {
      const view = await this.handle(id).executeUpdate(update, {
        args: [await this.deps.signer.decision(id, kind, input)],
      });
      // One line per decision this API signed and a workflow accepted: what to compare the
      // audit trail with if the signing key is ever suspected.
      this.deps.logger.info({ elevationId: id, decision: kind, kid: this.deps.signer.kid }, 'decision sent');
      return view;
    };
    try {
      return await send();
    } catch (err) {
      if (refusalCodeOf(err) !== 'unknown_decision_key') throw err;
    }
    try {
      const { kids } = await this.handle(id).executeUpdate(reloadDecisionKeysUpdate);
      if (!kids.includes(this.deps.signer.kid)) {
        this.deps.logger.error(
          { elevationId: id, kid: this.deps.signer.kid, trusted: kids },
          "the workers do not trust this API's decision signing key: add its public key to ELEVATE_DECISION_PUBLIC_KEYS on every worker",
        );
      }
    } catch (err) {
      // Refused as too soon: another caller has just had the keys reloaded; the retry tells.
      if (refusalCodeOf(err) !== 'invalid_input') throw err;
    }
    return send();
  }

  /** The elevation's summary in the audit store (503 when the store cannot be read). */
  private stored(id: string): Promise<ElevationView | undefined> {
    return this.deps.elevations.getElevation(id).catch((err: unknown) => {
      throw this.unavailable(err, 'read the audit store');
    });
  }

  /** The store's summary, or the live workflow's state before its first event is stored. */
  private async find(id: string): Promise<ElevationView | undefined> {
    const stored = await this.stored(id);
    if (stored) return stored;
    try {
      return await this.handle(id).query(statusQuery);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw this.unavailable(err, 'read the elevation');
    }
  }

  /**
   * Whether an update failed because the workflow has closed or never existed: the client
   * reports both as `WorkflowNotFoundError` ("workflow execution already completed"), by type,
   * not by message.
   */
  private isGone(err: unknown): boolean {
    return err instanceof WorkflowNotFoundError;
  }

  private async refusalOrUnavailable(
    err: unknown,
    type: 'approval.refused' | 'deny.refused' | 'revoke.refused',
    id: string,
    by: Actor,
    extra: DecisionRefusalExtra = {},
  ): Promise<ApiError> {
    const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === REFUSAL_FAILURE_TYPE) {
      const code = (cause.details?.[0] as RefusalCode | undefined) ?? 'invalid_input';
      await this.recordRefusal(type, id, by, { code, message: cause.message, ...extra });
      if (code === 'unsigned_decision' || code === 'unknown_decision_key') {
        this.deps.logger.error(
          {
            elevationId: id,
            code,
            detail: cause.details?.[1] ?? null,
            message: cause.message,
            kid: this.deps.signer.kid,
          },
          "a workflow refused this API's signed decision: check ELEVATE_DECISION_SIGNING_KEY here, ELEVATE_DECISION_PUBLIC_KEYS on the workers, and the clocks",
        );
      }
      return new RefusalError(REFUSAL_TO_API[code] ?? 'invalid_request', code, cause.message);
    }
    return this.unavailable(err, 'reach the elevation');
  }

  private unavailable(err: unknown, what: string): ApiError {
    if (err instanceof ApiError) return err;
    this.deps.logger.error({ err: (err as Error)?.message }, `could not ${what}`);
    return new ApiError('service_unavailable', `could not ${what} right now; try again`);
  }
}

/** The workflow's refusal code of a refused update, if `err` is one. */
function refusalCodeOf(err: unknown): RefusalCode | undefined {
  const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
  return cause instanceof ApplicationFailure && cause.type === REFUSAL_FAILURE_TYPE
    ? (cause.details?.[0] as RefusalCode | undefined)
    : undefined;
}

/**
 * 403 `bot_locked`, with a generic message: the bot that is refused may be the compromised one,
 * so it is not told which admin locked it, when or why (admins see all of it in the bot's
 * summary, the console and the `bot.locked` event).
 */
function lockedError(botId: string): ApiError {
  return new ApiError(
    'bot_locked',
    `bot ${botId} is locked by an Elevate admin; it can still read and give back its elevations`,
  );
}

/** The first 12 hex digits of a stored key hash, as `auth.refused` events name a presented key. */
function keyFingerprint(hash: string): string {
  return hash.slice('sha256:'.length, 'sha256:'.length + 12);
}

function summarise(
  bot: BotPolicy,
  state: BotState | undefined,
  counts: Partial<Record<ElevationView['status'], number>> = {},
): BotSummary {
  return {
    id: bot.id,
    owner: bot.owner,
    team: bot.team,
    purpose: bot.purpose,
    environment: bot.environment,
    roles: [...bot.roles],
    principals: {
      ...(bot.ldapDn !== undefined ? { ldapDn: bot.ldapDn } : {}),
      ...(bot.postgresLogin !== undefined ? { postgresLogin: bot.postgresLogin } : {}),
      ...(bot.awsPrincipal !== undefined ? { awsPrincipal: bot.awsPrincipal } : {}),
    },
    disabled: state?.disabled?.value ?? bot.disabled,
    policyDisabled: bot.disabled,
    disabledOverride: state?.disabled ?? null,
    locked: state?.locked ?? null,
    keyRotatedAt: state?.apiKey?.rotatedAt ?? null,
    keyRotatedBy: state?.apiKey?.rotatedBy ?? null,
    federation: bot.federation !== undefined,
    activeElevations: counts.active ?? 0,
    openElevations: Object.values(counts).reduce((sum, n) => sum + (n ?? 0), 0),
  };
}

/** Who to look up in the directory: the address, and the join value the provider asserted. */
function personOf(email: string, login: ApproverLogin | undefined): DirectoryPerson {
  return { email, ...(login?.joinValue !== undefined ? { joinValue: login.joinValue } : {}) };
}

/** The approver's identity as the workflow records it (see `ApproverIdentity`). */
function identityOf(entries: string[], login: ApproverLogin): ApproverIdentity {
  return {
    entries,
    ...(login.issuer !== undefined ? { issuer: login.issuer } : {}),
    ...(login.subject !== undefined ? { subject: login.subject } : {}),
  };
}
