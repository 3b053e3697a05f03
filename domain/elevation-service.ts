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
  principalFor,
  type AdminPolicy,
  type BotPolicy,
  type Policy,
  type RolePolicy,
} from '../config/policy.js';
import { InvalidCursorError, InvalidQueryError } from '../integrations/audit/audit-store-errors.js';
import { exportAudit, type ExportOptions } from '../integrations/audit/export.js';
import type {
  AuditEvent,
  AuditStore,
  ChainAnchor,
  ElevationPage,
  ElevationQuery,
  VerifyResult,
} from '../integrations/audit/audit-store.js';
import {
  REFUSAL_FAILURE_TYPE,
  approveUpdate,
  denyUpdate,
  revokeUpdate,
  statusQuery,
  workflowIdFor,
  type Actor,
  type ApproveInput,
  type BotIdentity,
  type DenyInput,
  type ElevationInput,
  type ElevationTiming,
  type ElevationView,
  type EventType,
  type RefusalCode,
} from '../workflows/definitions.js';
import type { elevationWorkflow } from '../workflows/elevation-workflow.js';
import { approvalRefusal, initialView, isFinal, sameApprover } from '../workflows/elevation-view.js';
import type { CredentialVault, HandoffCredentials } from './credential-vault.js';
import { sameHash, hashSecret } from './credentials.js';
import { ApiError, type ErrorCode } from './errors.js';
import { elevationIdForRequest, newElevationId } from './ids.js';

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
  store: Pick<
    AuditStore,
    'append' | 'getElevation' | 'listElevations' | 'listEvents' | 'verify' | 'readEvents'
  >;
  timing: ElevationTiming;
  logger: Logger;
  /** Needed when a role names an LDAP approver group. */
  directory?: ApproverDirectory;
  /** Hands AWS credentials-mode sessions to their bots (needed when a role uses that mode). */
  vault?: Pick<CredentialVault, 'deliver'>;
  clock?: () => Date;
}

/** Which elevations a caller may see: a bot only its own, an admin all. */
export type Scope = { kind: 'bot'; botId: string } | { kind: 'admin' };

const REFUSAL_TO_API: Record<RefusalCode, ErrorCode> = {
  not_pending: 'not_pending',
  already_ended: 'already_ended',
  approval_window_closed: 'approval_window_closed',
  not_eligible: 'approval_refused',
  owner_may_not_approve: 'approval_refused',
  already_approved: 'already_approved',
  not_needed: 'approval_not_needed',
  invalid_input: 'invalid_request',
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

/**
 * Looks approvers up in the directory: whether the person with this e-mail address is a member
 * of an LDAP group. Asked at approval time, so a person removed from the group can no longer
 * approve.
 */
export interface ApproverDirectory {
  isMember(groupDn: string, email: string): Promise<boolean>;
}

export class ElevationService {
  private readonly roles: Map<string, RolePolicy>;
  private readonly botsByKey: Map<string, BotPolicy>;
  private readonly clock: () => Date;

  constructor(private readonly deps: ElevationServiceDeps) {
    this.roles = new Map(deps.policy.roles.map((r) => [r.id, r]));
    this.botsByKey = new Map(deps.policy.bots.map((b) => [b.apiKeyHash, b]));
    this.clock = deps.clock ?? (() => new Date());
  }

  // ---- credentials --------------------------------------------------------------------------

  /** The bot whose API key this is, if any. */
  authenticateBot(secret: string): BotPolicy | undefined {
    return this.botsByKey.get(hashSecret(secret));
  }

  /** The bot with this id, if any (a workload identity token names its bot by id). */
  botById(id: string): BotPolicy | undefined {
    return this.deps.policy.bots.find((b) => b.id === id);
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
    if (bot.disabled) throw new ApiError('bot_disabled', `bot ${bot.id} is disabled`);
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
      if (existing) return { elevation: this.sameRequest(existing, req), replayed: true };
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
    try {
      await this.deps.temporal.workflow.start<typeof elevationWorkflow>('elevationWorkflow', {
        workflowId: workflowIdFor(elevationId),
        taskQueue: this.deps.taskQueue,
        args: [input],
        // Explicit: a second start with the same id fails, and we answer with the first.
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError && req.requestId) {
        const existing = await this.find(elevationId);
        if (existing) return { elevation: this.sameRequest(existing, req), replayed: true };
      }
      throw this.unavailable(err, 'start the elevation');
    }
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
   * Long-poll: resolves when the status differs from what it was at the call, when
   * `waitSeconds` pass, or when `signal` aborts (the caller went away).
   */
  async waitForChange(
    id: string,
    scope: Scope,
    waitSeconds: number,
    signal?: AbortSignal,
  ): Promise<ElevationView> {
    let view = await this.get(id, scope);
    const from = view.status;
    const deadline = Date.now() + waitSeconds * 1000;
    let delay = 50;
    while (!isFinal(view) && view.status === from && Date.now() < deadline && !signal?.aborted) {
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
      return await this.handle(id).executeUpdate(revokeUpdate, {
        args: [{ by, ...(comment !== undefined ? { reason: comment } : {}) }],
      });
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
    context: Record<string, unknown> = {},
  ): Promise<HandoffCredentials> {
    const view = await this.get(id, { kind: 'bot', botId });
    const actor: Actor = { kind: 'bot', id: botId };
    const refuse = async (code: ErrorCode, reason: string, message: string, extra = {}): Promise<never> => {
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
      await this.deps.store.append({
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

  // ---- approvers (the Slack app and the MFA approval pages call these) -----------------------

  /**
   * The approver groups of the elevation's role that `email` belongs to: policy lists, and
   * LDAP groups looked up now.
   */
  async approverGroups(roleId: string, email: string): Promise<string[]> {
    const role = this.roles.get(roleId);
    if (role?.approval.mode !== 'approvers') return [];
    const groups: string[] = [];
    for (const g of role.approval.groups) {
      if (g.members?.some((m) => sameApprover(m, email))) {
        groups.push(g.name);
      } else if (g.ldapGroupDn) {
        if (!this.deps.directory)
          throw this.unavailable(new Error('no LDAP directory configured'), 'look up approvers');
        const member = await this.deps.directory.isMember(g.ldapGroupDn, email).catch((err: unknown) => {
          throw this.unavailable(err, 'look up approver groups in LDAP');
        });
        if (member) groups.push(g.name);
      }
    }
    return groups;
  }

  /**
   * Whether `email` could approve elevation `id` now: asked before an approver is sent to log
   * in, so nobody does an MFA login for nothing. The workflow decides again when the approval
   * arrives. A refusal is audited and thrown as {@link ApiError}.
   */
  async checkApprover(id: string, email: string): Promise<{ elevation: ElevationView; groups: string[] }> {
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
    const groups =
      elevation.status === 'pending_approval' ? await this.approverGroups(elevation.roleId, email) : [];
    const role = this.roles.get(elevation.roleId);
    const ownerMayApprove = role?.approval.mode === 'approvers' && role.approval.ownerMayApprove;
    const problem = approvalRefusal(elevation, email, groups, ownerMayApprove, this.clock().getTime());
    if (problem) return refuse(REFUSAL_TO_API[problem.code], problem.code, problem.message);
    return { elevation, groups };
  }

  /**
   * Approve as a person who has proved who they are (`evidence`: the MFA login). Their approver
   * groups are looked up here; the workflow refuses an approval that must not count.
   */
  async approve(id: string, input: Omit<ApproveInput, 'groups'>): Promise<ElevationView> {
    const by: Actor = { kind: 'human', id: input.approver.id };
    const view = await this.find(id);
    const groups = view ? await this.approverGroups(view.roleId, input.approver.id) : [];
    try {
      return await this.handle(id).executeUpdate(approveUpdate, { args: [{ ...input, groups }] });
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
    const groups = view ? await this.approverGroups(view.roleId, input.by.id) : [];
    try {
      return await this.handle(id).executeUpdate(denyUpdate, { args: [{ ...input, groups }] });
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
      return await this.deps.store.listElevations(query);
    } catch (err) {
      if (err instanceof InvalidCursorError || err instanceof InvalidQueryError) {
        throw new ApiError('invalid_request', `${err.field}: ${err.message}`, err.field);
      }
      throw this.unavailable(err, 'read the audit store');
    }
  }

  async timeline(id: string): Promise<{ elevation: ElevationView; events: AuditEvent[] }> {
    const elevation = await this.get(id, { kind: 'admin' });
    const events = await this.deps.store.listEvents(id).catch((err: unknown) => {
      throw this.unavailable(err, 'read the audit store');
    });
    return { elevation, events };
  }

  /** Verify the audit chain, also against anchors an admin recorded from earlier runs. */
  /**
   * The audit trail as a stream of text chunks in `opts.format`, for an admin. Bad options fail
   * before the first chunk (400); the export itself is recorded as `audit.exported` first, so
   * even an export that fails half-way is on record.
   */
  async exportAudit(opts: ExportOptions, by: Actor): Promise<AsyncGenerator<string>> {
    let chunks: AsyncGenerator<string>;
    try {
      chunks = exportAudit(this.deps.store, opts);
    } catch (err) {
      if (err instanceof InvalidQueryError) throw new ApiError('invalid_request', err.message, err.field);
      throw err;
    }
    await this.deps.store
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

  verifyAudit(anchors: ChainAnchor[] = []): Promise<VerifyResult> {
    return this.deps.store.verify({ anchors }).catch((err: unknown) => {
      throw this.unavailable(err, 'read the audit store');
    });
  }

  /**
   * Record an attempt that was refused before it reached a workflow (bad credentials, bad
   * input, a refused update). Never throws: failing to audit a refusal must not turn the
   * caller's 4xx into a 500, but it is logged loudly.
   */
  async recordRefusal(
    type: EventType,
    elevationId: string | null,
    actor: Actor,
    data: Record<string, unknown>,
  ): Promise<void> {
    try {
      await this.deps.store.append({
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

  /** The store's summary, or the live workflow's state before its first event is stored. */
  /** The elevation's summary in the audit store (503 when the store cannot be read). */
  private stored(id: string): Promise<ElevationView | undefined> {
    return this.deps.store.getElevation(id).catch((err: unknown) => {
      throw this.unavailable(err, 'read the audit store');
    });
  }

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

  /** A replayed requestId must carry the same request; otherwise it is a client bug. */
  private sameRequest(existing: ElevationView, req: ElevationRequest): ElevationView {
    const differs: [string, unknown, unknown][] = [
      ['role', existing.roleId, req.role],
      ['durationSeconds', existing.durationSeconds, req.durationSeconds],
      ['justification', existing.justification, req.justification],
      ['ticket', existing.ticket, req.ticket],
    ];
    const field = differs.find(([, a, b]) => a !== b)?.[0];
    if (field) {
      throw new ApiError(
        'idempotency_conflict',
        `requestId "${req.requestId}" was already used for a different request (${field} differs)`,
        field,
      );
    }
    return existing;
  }

  private isGone(err: unknown): boolean {
    if (err instanceof WorkflowNotFoundError) return true;
    const message = err instanceof Error ? err.message : '';
    return (
      /already completed|workflow not found|not found/i.test(message) &&
      !(err instanceof WorkflowUpdateFailedError)
    );
  }

  private async refusalOrUnavailable(
    err: unknown,
    type: EventType,
    id: string,
    by: Actor,
    extra: Record<string, unknown> = {},
  ): Promise<ApiError> {
    const cause = err instanceof WorkflowUpdateFailedError ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.type === REFUSAL_FAILURE_TYPE) {
      const code = (cause.details?.[0] as RefusalCode | undefined) ?? 'invalid_input';
      await this.recordRefusal(type, id, by, { code, message: cause.message, ...extra });
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
