/**
 * Drift in AWS attach mode, found per bot principal: bots hold no standing privilege, so every
 * policy attached to a bot's IAM role or user (managed or inline) is drift unless it is the
 * policy of one of its live elevations or declared standing by one of its roles. Each finding is
 * recorded (`drift.detected`), and with `revert` taken away, read back and recorded
 * (`drift.reverted`).
 *
 * An Elevate policy (`elevationIdOfPolicy`) is explained by its elevation's lease, decided
 * under that lease's lock ({@link DriftHooks.settle}), so a grant in progress is never taken for
 * drift. A live elevation's policy that someone changed since Elevate attached it (or last
 * extended it: the version the extension wrote is what `DriftHooks.grantVersion` answers) is not
 * explained whatever the lease says: it is taken away.
 */
import { TargetNotVerifiedError } from '../../core/errors/target-errors.js';
import type { EventDataOf } from '../../core/model/event-data.js';
import type {
  DriftAlert,
  DriftScope,
  DriftFinding,
  ReconcileAwsPrincipal,
  RoleReconciliation,
} from '../../core/model/reconcile.js';
import type { DriftHooks, DriftOutcome, GrantContext, TargetChange } from '../../core/ports/target.js';
import type { IamPolicies } from './iam-policies.js';
import { awsMembershipKey, elevationIdOfPolicy } from './naming.js';

/** What drift detection needs of the attach target. */
export interface AttachDrift {
  readonly policies: Pick<
    IamPolicies,
    'listAttachedPolicies' | 'detachPolicy' | 'deleteInlinePolicy' | 'findTampering'
  >;
  /** Detach and delete the elevation's policy. */
  removePolicy(principal: string, ctx: GrantContext): Promise<TargetChange>;
  /** Whether the elevation's policy is attached. */
  holdsPolicy(principal: string, ctx: GrantContext): Promise<boolean>;
}

/** What an alert of this module names as where the drift is: the principal's attached policies. */
const ALERT_TARGET: DriftScope = { type: 'aws-iam-principal' };

/**
 * Compare every policy attached to the bot's IAM role or user with what Elevate explains; see
 * the module comment. Managed policies that are not Elevate's are detached on `revert` (the
 * policy itself is left, it may be shared); inline ones are deleted.
 */
export async function reconcileAwsPrincipal(
  unit: ReconcileAwsPrincipal,
  hooks: DriftHooks,
  target: AttachDrift,
): Promise<RoleReconciliation> {
  const { principal, action } = unit;
  const { policies } = target;
  const standing = new Set(unit.standing);
  const roleId = unit.roles.join(',');
  const drift: DriftFinding[] = [];
  const alerts: DriftAlert[] = [];
  const found = (policy: string, kind: 'managed' | 'inline'): EventDataOf<'drift.detected'> => ({
    roles: unit.roles,
    target: { type: 'aws-iam', mode: 'attach' },
    principal,
    policy,
    kind,
    action,
    bot: true,
  });
  const report = (detail: string, outcome: 'alerted' | 'reverted', at: string) => {
    hooks.count('aws-iam', outcome);
    drift.push({ principal, action: outcome, detail });
    alerts.push({ roleId, target: ALERT_TARGET, principal, bot: true, outcome, detail, at });
  };
  const attached = await policies.listAttachedPolicies(principal);
  for (const policy of attached.managed) {
    if (standing.has(policy.arn)) continue;
    const at = new Date().toISOString();
    const data = found(policy.arn, 'managed');
    const elevationId = elevationIdOfPolicy(policy.arn);
    // A live elevation's lease would explain its policy whatever it now allows: first make
    // sure nobody added a version to it since Elevate checked and attached it, or since the
    // elevation's last extension wrote the version with the moved expiry.
    const tampered = elevationId
      ? await policies.findTampering(policy.arn, await hooks.grantVersion?.(elevationId))
      : undefined;
    let outcome: DriftOutcome;
    if (elevationId && tampered) {
      // Taken away whatever the role's drift action: it is no longer what was approved.
      const tamperData = { ...data, elevation: elevationId, reason: 'policy_tampered', problem: tampered };
      hooks.log('error', tamperData, 'drift: an Elevate policy was changed by someone else; taking it away');
      await hooks.record('drift.detected', at, tamperData);
      const ctx = { elevationId, durationSeconds: 0 };
      await target.removePolicy(principal, ctx);
      if (await target.holdsPolicy(principal, ctx)) {
        throw new TargetNotVerifiedError(`${policy.arn} is still attached to ${principal}`);
      }
      outcome = 'reverted';
    } else if (elevationId) {
      outcome = await settlePolicy(principal, elevationId, action, hooks, target, async () => {
        hooks.log('warn', data, 'drift: an Elevate policy that no live elevation explains');
        await hooks.record('drift.detected', at, { ...data, elevation: elevationId });
      });
    } else {
      hooks.log('warn', data, 'drift: a policy attached to a bot outside Elevate');
      await hooks.record('drift.detected', at, data);
      outcome = 'alerted';
      if (action === 'revert') {
        await policies.detachPolicy(principal, policy.arn);
        const still = (await policies.listAttachedPolicies(principal)).managed.some(
          (m) => m.arn === policy.arn,
        );
        if (still) throw new TargetNotVerifiedError(`${policy.arn} is still attached to ${principal}`);
        outcome = 'reverted';
      }
    }
    if (outcome === 'reverted') {
      hooks.log('warn', data, 'drift reverted: the policy was detached');
      await hooks.record('drift.reverted', new Date().toISOString(), data);
    }
    if (outcome === 'alerted' || outcome === 'reverted') report(policy.arn, outcome, at);
  }
  for (const name of attached.inline) {
    const detail = `inline:${name}`;
    if (standing.has(detail)) continue;
    const at = new Date().toISOString();
    const data = found(detail, 'inline');
    hooks.log('warn', data, 'drift: an inline policy on a bot');
    await hooks.record('drift.detected', at, data);
    let outcome: 'alerted' | 'reverted' = 'alerted';
    if (action === 'revert') {
      await policies.deleteInlinePolicy(principal, name);
      if ((await policies.listAttachedPolicies(principal)).inline.includes(name)) {
        throw new TargetNotVerifiedError(`inline policy ${name} is still on ${principal}`);
      }
      outcome = 'reverted';
      hooks.log('warn', data, 'drift reverted: the inline policy was deleted');
      await hooks.record('drift.reverted', new Date().toISOString(), data);
    }
    report(detail, outcome, at);
  }
  return { drift, alerts };
}

/**
 * Whether the policy of `elevationId` attached to `principal` is explained by that elevation's
 * held lease, and if not, report it and (for `revert`) detach and delete it, confirmed by
 * reading back. Decided under the lease's lock: a grant holds its lease before it creates and
 * attaches the policy, so a grant in progress is always explained.
 */
export function settlePolicy(
  principal: string,
  elevationId: string,
  action: ReconcileAwsPrincipal['action'],
  hooks: Pick<DriftHooks, 'settle'>,
  target: Pick<AttachDrift, 'removePolicy' | 'holdsPolicy'>,
  onDrift?: () => Promise<void>,
): Promise<DriftOutcome> {
  const ctx = { elevationId, durationSeconds: 0 };
  return hooks.settle(awsMembershipKey('attach', principal, elevationId), async () => {
    // The list was read before the lock: a release may have removed the policy since.
    if (!(await target.holdsPolicy(principal, ctx))) return 'absent';
    await onDrift?.();
    if (action === 'alert') return 'alerted';
    await target.removePolicy(principal, ctx);
    if (await target.holdsPolicy(principal, ctx)) {
      throw new TargetNotVerifiedError(`the policy of ${elevationId} is still attached to ${principal}`);
    }
    return 'reverted';
  });
}
