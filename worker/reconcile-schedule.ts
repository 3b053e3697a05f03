/**
 * The Temporal Schedule that runs reconciliation (drift detection) every few minutes. Each
 * worker process sets it up at start from the policy it loaded, so the schedule always
 * reconciles the roles of the most recently started worker's policy.
 */
import type { Client, ScheduleHandle } from '@temporalio/client';
import { principalFor, type Policy } from '../config/policy.js';
import { botIdentitiesOf } from '../config/identity-uniqueness.js';
import {
  DEFAULT_RECONCILE_INTERVAL_SECONDS,
  type ReconcilePolicyView,
  type ReconcileAwsPrincipal,
  type ReconcileIdentity,
  type ReconcileInput,
  type ReconcileRole,
} from '../core/model/reconcile.js';
import { RECONCILE_SCHEDULE_ID } from '../workflows/definitions.js';
import type { reconcileWorkflow } from '../workflows/reconcile-workflow.js';
import { ensureIntervalSchedule } from './interval-schedule.js';

/**
 * The policy's roles as reconciliation needs them: target, drift rule, and the bots'
 * principals. AWS roles are left out: their drift is found per bot ({@link reconcileAwsPrincipalsOf}).
 */
export function reconcileRolesOf(policy: Pick<Policy, 'roles' | 'bots'>): ReconcileRole[] {
  return policy.roles
    .filter((role) => role.target.type !== 'aws-iam')
    .map((role) => ({
      id: role.id,
      target: role.target,
      action: role.drift.action,
      standing: role.drift.standing,
      principals: policy.bots
        .filter((b) => b.roles.includes(role.id))
        .flatMap((b) => principalFor(b, role.target) ?? []),
    }));
}

/**
 * The principals and identities reconciliation reads from the worker's policy (the schedule's
 * input leaves them out: see {@link ReconcileRole.principals}).
 */
export function reconcilePolicyView(policy: Pick<Policy, 'roles' | 'bots'>): ReconcilePolicyView {
  const principals = new Map(reconcileRolesOf(policy).map((r) => [r.id, r.principals ?? []]));
  const identities = botIdentitiesOf(policy);
  return { principalsOf: (roleId) => principals.get(roleId) ?? [], identities: () => identities };
}

/** The roles as the schedule's input carries them: without their bots' principals. */
export function scheduledReconcileRolesOf(policy: Pick<Policy, 'roles' | 'bots'>): ReconcileRole[] {
  return reconcileRolesOf(policy).map(({ principals: _fromPolicy, ...role }) => role);
}

/**
 * Every bot's IAM role or user that AWS attach-mode roles grant to, with what may stay attached
 * to it: the union of those roles' `drift.standing`, and `revert` when any of them says so (a
 * principal is one thing in AWS, so it gets one rule).
 */
export function reconcileAwsPrincipalsOf(policy: Pick<Policy, 'roles' | 'bots'>): ReconcileAwsPrincipal[] {
  const byId = new Map(policy.roles.map((r) => [r.id, r]));
  const units = new Map<string, ReconcileAwsPrincipal>();
  for (const bot of policy.bots) {
    for (const roleId of bot.roles) {
      const role = byId.get(roleId);
      if (role?.target.type !== 'aws-iam' || role.target.mode !== 'attach' || !bot.awsPrincipal) continue;
      const unit = units.get(bot.awsPrincipal) ?? {
        principal: bot.awsPrincipal,
        roles: [],
        action: 'alert',
        standing: [],
      };
      if (!unit.roles.includes(role.id)) unit.roles.push(role.id);
      if (role.drift.action === 'revert') unit.action = 'revert';
      for (const p of role.drift.standing) if (!unit.standing.includes(p)) unit.standing.push(p);
      units.set(bot.awsPrincipal, unit);
    }
  }
  return [...units.values()];
}

export interface ReconcileScheduleOptions {
  /** Task queue the worker that runs the reconciliation workflow and its activities polls. */
  taskQueue: string;
  roles: ReconcileRole[];
  /** The bots' AWS principals to check (see {@link reconcileAwsPrincipalsOf}). */
  aws?: ReconcileAwsPrincipal[];
  /** The bots' target identities, to find those used by another bot too (`botIdentitiesOf`). */
  identities?: ReconcileIdentity[];
  /** Pause between two runs (default 60 s). */
  intervalSeconds?: number;
  /** Schedule id (default `elevate-reconcile`; tests use their own). */
  scheduleId?: string;
}

/**
 * Create the reconciliation schedule, or bring an existing one up to date (interval, roles,
 * task queue). A run still going when the next is due makes that next one skipped, so slow
 * targets never pile runs up.
 */
export function ensureReconcileSchedule(
  client: Client,
  opts: ReconcileScheduleOptions,
): Promise<ScheduleHandle> {
  const input: ReconcileInput = {
    roles: opts.roles,
    ...(opts.aws?.length ? { aws: opts.aws } : {}),
    ...(opts.identities?.length ? { identities: opts.identities } : {}),
  };
  return ensureIntervalSchedule<typeof reconcileWorkflow>(client, {
    scheduleId: opts.scheduleId ?? RECONCILE_SCHEDULE_ID,
    intervalSeconds: opts.intervalSeconds ?? DEFAULT_RECONCILE_INTERVAL_SECONDS,
    workflowType: 'reconcileWorkflow',
    args: [input],
    taskQueue: opts.taskQueue,
  });
}
