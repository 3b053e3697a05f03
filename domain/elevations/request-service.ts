/**
 * A bot's elevations: request one, read it, wait for it to change, give it back, take the
 * credentials a credentials-mode role hands out. Policy is checked here so that a refused request
 * gets its answer synchronously and starts nothing; the bot's own state (lockdown, disable) is
 * checked where the request becomes an elevation, under the bot's lock (`../bot-quotas.ts`).
 */
import { riskRoutingFor } from '../../config/risk-policy.js';
import { randomUUID } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError, WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { Logger } from 'pino';
import {
  limitsFor,
  principalFor,
  type BotPolicy,
  type BundlePolicy,
  type Policy,
  type RolePolicy,
} from '../../config/policy.js';
import { strictestRole } from '../../config/bundle-policy.js';
import { ticketRefusal } from '../../config/require-ticket.js';
import { extendRuleFor } from '../../config/extend-policy.js';
import type { TypedAuditAppender } from '../../core/model/audit-record.js';
import {
  workflowIdFor,
  type Actor,
  type BotIdentity,
  type RequestSource,
  type BundleSnapshot,
  type ElevationInput,
  type ElevationTiming,
  type ElevationView,
  type RoleSnapshot,
} from '../../core/model/elevation.js';
import type { EventDataOf } from '../../core/model/event-data.js';
import type { ErrorCode } from '../../core/errors/error-codes.js';
import { initialView, isFinal } from '../../core/rules/elevation-view.js';
import { attestationBlock } from '../../core/rules/attestation.js';
import type { BotState, BotStates } from '../../store/bot-state.js';
import type { elevationWorkflow } from '../../workflows/elevation-workflow.js';
import type { AuditService } from '../audit/audit-service.js';
import type { BotQuotas } from '../bot-quotas.js';
import type { CredentialVault, HandoffCredentials } from '../credential-vault.js';
import type { DecisionSigner } from '../decision-signer.js';
import { ApiError, AuditedRefusal, unavailable } from '../errors.js';
import { elevationIdForRequest, newElevationId } from '../ids.js';
import type { Scope } from '../scope.js';
import { isGone, type DecisionSender } from './decision-sender.js';
import type { ElevationReader } from './elevation-reader.js';
import { replayOf } from './idempotent-replay.js';
import { extendElevation, type ExtendRequest } from './extend-request.js';
import { checkRequestTime } from './schedule-check.js';
import { breakGlassRuleFor, withBreakGlass } from './break-glass-check.js';

/** A bot's request, already validated for shape by the transport. */
export interface ElevationRequest {
  /** The role; a request names a role or a bundle (`bundle`), exactly one of them. */
  role?: string | undefined;
  /** A bundle of the policy's `bundles`: its roles granted all or nothing, revoked together. */
  bundle?: string | undefined;
  durationSeconds: number;
  justification: string;
  ticket?: string;
  requestId?: string;
  /** A scheduled elevation's start (RFC 3339); absent: as soon as approved. */
  startsAt?: string;
  /** Ask for the role's emergency path (`break-glass-check.ts`). */
  breakGlass?: boolean;
}

/** What the transport knows about the requesting bot besides its policy. */
export interface RequestContext {
  /** The workload identity token it presented, recorded with the elevation. */
  identity?: BotIdentity;
  /** Where the request came from, recorded with `elevation.requested`. */
  source?: RequestSource;
  /**
   * Its runtime state as authentication read it (null: none), so it is not read again before
   * the policy checks. Left out, it is read here. Either way it is read once more where the
   * request is admitted, under the bot's lock.
   */
  state?: BotState | null;
}

/**
 * Where a bot's call came from, recorded with a refusal of its credentials fetch or give-back
 * (as `elevation.requested` records a request's source): its address, user agent and method.
 */
export type DeliveryContext = Partial<Pick<RequestSource, 'ip' | 'userAgent' | 'authMethod'>>;

export interface RequestServiceDeps {
  policy: Pick<Policy, 'roles' | 'limits' | 'detection' | 'bundles'>;
  temporal: Pick<Client, 'workflow'>;
  taskQueue: string;
  /**
   * A worker of this process polls `taskQueue` on the client's own connection: ask Temporal to
   * answer the start with the workflow's first task for it, saving the trip through the task
   * queue (Temporal falls back to the queue when that worker has no free slot).
   */
  eagerStart?: boolean;
  timing: ElevationTiming;
  /** Signs every workflow start: workers act only on what this key signed. */
  signer: Pick<DecisionSigner, 'request'>;
  reader: Pick<ElevationReader, 'stored' | 'find' | 'get' | 'handle'>;
  decisions: Pick<DecisionSender, 'decide' | 'refusalOrUnavailable'>;
  quotas: Pick<BotQuotas, 'admit'>;
  botStates: Pick<BotStates, 'getBotState'>;
  refusals: Pick<AuditService, 'recordRefusal'>;
  /** Where `credentials.delivered` is recorded. */
  auditLog: TypedAuditAppender;
  /** Hands AWS credentials-mode sessions to their bots (needed when a role uses that mode). */
  vault?: Pick<CredentialVault, 'deliver'>;
  logger: Pick<Logger, 'info' | 'error'>;
  clock?: () => Date;
}

export class RequestService {
  private readonly roles: Map<string, RolePolicy>;
  private readonly bundles: Map<string, BundlePolicy>;
  private readonly clock: () => Date;

  constructor(private readonly deps: RequestServiceDeps) {
    this.roles = new Map(deps.policy.roles.map((r) => [r.id, r]));
    this.bundles = new Map((deps.policy.bundles ?? []).map((b) => [b.id, b]));
    this.clock = deps.clock ?? (() => new Date());
  }

  /** The policy's role ids, in its order (the API reference lists them as the `role` values). */
  roleIds(): string[] {
    return [...this.roles.keys()];
  }

  /**
   * Start an elevation, or return the one this bot's `requestId` already started.
   *
   * A lockdown cannot miss it: the bot's state is checked again inside the bot's lock, right
   * before the request is noted and its workflow started, and a lockdown changes the state and
   * collects the noted requests inside the same lock (see `bots/bot-admin-service.ts` `lockBot`).
   */
  async request(
    bot: BotPolicy,
    req: ElevationRequest,
    context: RequestContext = {},
  ): Promise<{ elevation: ElevationView; replayed: boolean }> {
    const state = context.state !== undefined ? context.state : await this.stateOf(bot);
    // Locked, disabled or overdue first, whatever is asked for; then each role of a bundle.
    refuseIfBlocked(bot, state, [req.role ?? req.bundle ?? '']);
    const asked = this.askedFor(bot, req);
    if (asked.bundle) refuseIfBlocked(bot, state, asked.roleIds);
    const { role, bundle } = asked;
    if (req.durationSeconds > role.maxDurationSeconds) {
      throw new ApiError(
        'duration_too_long',
        `durationSeconds must be at most ${role.maxDurationSeconds} for ${bundle ? 'bundle' : 'role'} ${role.id}${bundle ? " (its roles' smallest maxDurationSeconds)" : ''}`,
        'durationSeconds',
      );
    }
    for (const r of bundle?.roles ?? [role]) {
      const ticketProblem = ticketRefusal(r.id, r.requireTicket, req.ticket);
      if (ticketProblem) throw new ApiError('invalid_request', ticketProblem, 'ticket');
    }
    const breakGlass = breakGlassRuleFor(role, bot.id, req);

    const elevationId = req.requestId ? elevationIdForRequest(bot.id, req.requestId) : newElevationId();
    if (req.requestId) {
      // The store outlives Temporal's retention; a workflow not yet on record is caught below.
      const existing = await this.deps.reader.stored(elevationId);
      if (existing) return { elevation: replayOf(existing, bot.id, req), replayed: true };
    }

    const now = this.clock();
    // After the replay: a repeated request is answered with its elevation whenever it comes.
    const startsAt = checkRequestTime(bot, role, req, now);
    const input = withBreakGlass(
      breakGlass,
      now,
      this.inputOf(
        bot,
        role,
        { ...req, ...(startsAt !== undefined ? { startsAt } : {}) },
        elevationId,
        now,
        context,
        bundle && this.bundleSnapshotOf(bot, bundle),
      ),
    );
    const quota = {
      botId: bot.id,
      roleId: role.id,
      ...(bundle ? { roleIds: asked.roleIds } : {}),
      needsApproval: input.role.approval.mode === 'approvers',
      elevationId,
      limits: limitsFor(this.deps.policy, bot),
      now,
    };
    // Checked and started under the bot's lock: two concurrent requests cannot both pass a limit,
    // and a lockdown is either seen by the gate or finds this request noted.
    const replay = await this.deps.quotas
      .admit(quota, {
        gate: async () => refuseIfBlocked(bot, await this.stateOf(bot), asked.roleIds),
        start: () => this.start(input, bot, req),
        mayHaveStarted: () => this.mayHaveStarted(elevationId),
      })
      .catch((err: unknown) => {
        throw unavailable(this.deps.logger, err, "check the bot's limits");
      });
    if (replay) return replay;
    this.deps.logger.info({ elevationId, botId: bot.id, roleId: role.id }, 'elevation requested');
    return { elevation: initialView(input, now.getTime()), replayed: false };
  }

  /** One elevation, if the scope may see it; otherwise `not_found` (existence is not leaked). */
  get(id: string, scope: Scope): Promise<ElevationView> {
    return this.deps.reader.get(id, scope);
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
      view = (await this.deps.reader.find(id)) ?? view;
    }
    return view;
  }

  /** End an elevation early. Idempotent: revoking one already revoking or revoked returns it. */
  async revoke(
    id: string,
    by: Actor,
    scope: Scope,
    comment?: string,
    context: DeliveryContext = {},
  ): Promise<ElevationView> {
    await this.get(id, scope);
    try {
      return await this.deps.decisions.decide(id, 'revoke', {
        by,
        ...(comment !== undefined ? { reason: comment } : {}),
      });
    } catch (err) {
      if (isGone(err)) {
        const view = await this.deps.reader.find(id);
        if (view?.status === 'revoked') return view;
        const receipt = await this.deps.refusals.recordRefusal('revoke.refused', id, by, {
          code: 'already_ended',
          status: view?.status ?? null,
          ...context,
        });
        throw new AuditedRefusal(
          receipt,
          'already_ended',
          `elevation ${id} has already ended (${view?.status ?? 'unknown'})`,
        );
      }
      throw await this.deps.decisions.refusalOrUnavailable(err, 'revoke.refused', id, by, context);
    }
  }

  /** Extend an active elevation's window (`extend-request.ts`): the view once the new end is in force. */
  extend(
    id: string,
    by: Actor,
    scope: Scope,
    req: ExtendRequest,
    context: DeliveryContext = {},
  ): Promise<ElevationView> {
    return extendElevation(this.deps, id, by, scope, req, context);
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
      const receipt = await this.deps.refusals.recordRefusal('credentials.refused', id, actor, {
        reason,
        status: view.status,
        ...extra,
        ...context,
      });
      throw new AuditedRefusal(receipt, code, message);
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
      throw unavailable(this.deps.logger, err, 'read the credentials');
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

  /**
   * What the request asks for: its role, or its bundle as one role (the bundle's id, its roles'
   * environment, the first role's target, the smallest maxDurationSeconds, the bundle's approval
   * or else the strictest of its roles', and that role's risk routing), with the roles it holds.
   * Refuses an unknown role or bundle, a role the bot may not request, and what a bundle cannot
   * be (scheduled, break-glass), naming the field.
   */
  private askedFor(
    bot: BotPolicy,
    req: ElevationRequest,
  ): { role: RolePolicy; roleIds: string[]; bundle?: { id: string; roles: RolePolicy[] } } {
    if (req.bundle === undefined) {
      const role = req.role === undefined ? undefined : this.roles.get(req.role);
      if (!role) throw new ApiError('unknown_role', `role "${req.role}" does not exist`, 'role');
      if (!bot.roles.includes(role.id)) {
        throw new ApiError('role_not_allowed', `bot ${bot.id} may not request role ${role.id}`, 'role');
      }
      return { role, roleIds: [role.id] };
    }
    const bundle = this.bundles.get(req.bundle);
    if (!bundle) throw new ApiError('unknown_role', `bundle "${req.bundle}" does not exist`, 'bundle');
    const refused = bundle.roles.find((r) => !bot.roles.includes(r));
    if (refused !== undefined) {
      throw new ApiError(
        'role_not_allowed',
        `bot ${bot.id} may not request bundle ${bundle.id}: it may not request its role ${refused}`,
        'bundle',
      );
    }
    if (req.breakGlass === true) {
      throw new ApiError(
        'invalid_request',
        'a bundle has no break-glass path; leave breakGlass out',
        'breakGlass',
      );
    }
    if (req.startsAt !== undefined) {
      throw new ApiError('invalid_request', 'a bundle cannot be scheduled; leave startsAt out', 'startsAt');
    }
    // The policy check guarantees each role exists.
    const roles = bundle.roles.map((id) => this.roles.get(id)!);
    const strictest = strictestRole(roles)!;
    const first = roles[0]!;
    // Approvers read the roles in the description: the target shown is only the first role's.
    const listed = `Bundle of ${roles.length} roles, granted together, all or nothing: ${roles.map((r) => `${r.id} (${r.target.type})`).join(', ')}`;
    const role: RolePolicy = {
      id: bundle.id,
      description: bundle.description !== undefined ? `${bundle.description}. ${listed}` : listed,
      environment: first.environment,
      target: first.target,
      maxDurationSeconds: Math.min(...roles.map((r) => r.maxDurationSeconds)),
      approval: bundle.approval ?? strictest.approval,
      drift: first.drift,
      ...(strictest.risk ? { risk: strictest.risk } : {}),
    };
    return { role, roleIds: bundle.roles, bundle: { id: bundle.id, roles } };
  }

  /** A bundle's roles for the start input, each with the bot's identity in its target. */
  private bundleSnapshotOf(bot: BotPolicy, bundle: { id: string; roles: RolePolicy[] }): BundleSnapshot {
    return {
      id: bundle.id,
      // The policy check guarantees a principal for every role the bot may request.
      roles: bundle.roles.map((r) => ({ role: this.snapshotOf(r), principal: principalFor(bot, r.target)! })),
    };
  }

  /** The role as the workflow keeps it (it never re-reads the policy). */
  private snapshotOf(role: RolePolicy): RoleSnapshot {
    return {
      id: role.id,
      ...(role.description !== undefined ? { description: role.description } : {}),
      environment: role.environment,
      target: role.target,
      maxDurationSeconds: role.maxDurationSeconds,
      approval: role.approval,
      risk: riskRoutingFor(this.deps.policy.detection, role),
      ...(extendRuleFor(role) ? { extend: extendRuleFor(role) } : {}),
    };
  }

  /** The workflow's start input: the bot and role as the policy says now, the request, the timing. */
  private inputOf(
    bot: BotPolicy,
    role: RolePolicy,
    req: ElevationRequest,
    elevationId: string,
    now: Date,
    { identity, source }: Pick<RequestContext, 'identity' | 'source'>,
    bundle?: BundleSnapshot,
  ): ElevationInput {
    return {
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
      role: this.snapshotOf(role),
      ...(bundle ? { bundle } : {}),
      durationSeconds: req.durationSeconds,
      justification: req.justification,
      ...(req.ticket !== undefined ? { ticket: req.ticket } : {}),
      ...(req.requestId !== undefined ? { requestId: req.requestId } : {}),
      ...(req.startsAt !== undefined ? { startsAt: req.startsAt } : {}),
      ...(identity ? { identity } : {}),
      ...(source ? { source } : {}),
      requestedAt: now.toISOString(),
      timing: this.deps.timing,
    };
  }

  /**
   * Start the workflow, signed; undefined when it started. A second start with the same id fails
   * (explicit policies), and a replayed `requestId` is answered with the first.
   */
  private async start(
    input: ElevationInput,
    bot: BotPolicy,
    req: ElevationRequest,
  ): Promise<{ elevation: ElevationView; replayed: true } | undefined> {
    try {
      const signed = await this.deps.signer.request(input);
      await this.deps.temporal.workflow.start<typeof elevationWorkflow>('elevationWorkflow', {
        workflowId: workflowIdFor(input.elevationId),
        taskQueue: this.deps.taskQueue,
        args: [signed],
        workflowIdConflictPolicy: 'FAIL',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
        ...(this.deps.eagerStart ? { requestEagerStart: true } : {}),
      });
      return undefined;
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError && req.requestId) {
        const existing = await this.deps.reader.find(input.elevationId);
        if (existing) return { elevation: replayOf(existing, bot.id, req), replayed: true };
      }
      throw unavailable(this.deps.logger, err, 'start the elevation');
    }
  }

  /**
   * After a failed start: whether the workflow exists anyway (the start's answer was lost, or
   * another attempt started it). Only a workflow Temporal says it does not know surely did not
   * start; when Temporal cannot be asked either, it may have.
   */
  private async mayHaveStarted(id: string): Promise<boolean> {
    try {
      await this.deps.reader.handle(id).describe();
      return true;
    } catch (describeErr) {
      return !(describeErr instanceof WorkflowNotFoundError);
    }
  }

  /** The bot's runtime state now (503 when the store cannot be read). */
  private async stateOf(bot: BotPolicy): Promise<BotState | null> {
    const state = await this.deps.botStates.getBotState(bot.id).catch((err: unknown) => {
      throw unavailable(this.deps.logger, err, 'read the audit store');
    });
    return state ?? null;
  }
}

/**
 * Refuse a request of a locked or disabled bot (runtime state first, then the policy), of a bot
 * its owner's unanswered attestation suspended, or for a role its owner trimmed at one.
 */
function refuseIfBlocked(bot: BotPolicy, state: BotState | null, roleIds: readonly string[]): void {
  if (state?.locked) throw lockedError(bot.id);
  // Who disabled the bot, and why, is for admins (admin API, console, audit), not the bot.
  if (state?.disabled?.value ?? bot.disabled) {
    throw new ApiError('bot_disabled', `bot ${bot.id} is disabled; ask its owner or an Elevate admin`);
  }
  for (const roleId of roleIds) {
    const block = attestationBlock(bot.id, state?.attestation, roleId);
    if (block)
      throw new ApiError(block.code, block.message, block.code === 'role_suspended' ? 'role' : undefined);
  }
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
