/**
 * Reconciliation's search for target identities used by more than one bot.
 *
 * The policy loader refuses two bots with one identity, so within one policy it cannot happen.
 * It still can at runtime, because an elevation keeps the principal the API's policy gave its
 * bot when it was requested, for as long as it lasts (up to 7 days): after a policy change gives
 * bot A's entry to bot B, or while API servers and workers run different policies during a
 * rollout, A's live elevation and B (its own elevations, or the policy alone) use one identity,
 * and the grants of one are the other's. Renaming a principal to another spelling of the same
 * identity (`role/CI` to `role/bots/ci`) does the same without a change of bot.
 *
 * So every run reads the held leases, the bot of each lease's elevation, and the identities the
 * policy gives the bots, and compares them as the loader does (`core/rules/target-identity.ts`).
 * Each identity found shared is recorded as `drift.detected` with `reason: shared_identity`
 * (and logged as an error): Elevate removes nothing, since every one of the grants was approved;
 * which bot should keep the identity is a decision for people.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { TypedNewAuditEvent } from '../core/model/audit-record.js';
import type { EventType } from '../core/model/events.js';
import type { TargetMetrics } from '../core/ports/metrics.js';
import type { ReconcileIdentity, SharedIdentitySweep } from '../core/model/reconcile.js';
import type { TargetRef } from '../core/model/targets.js';
import {
  describeSharedIdentity,
  identitiesOfGrant,
  identityKey,
  sharedIdentitiesOf,
  type IdentityHolding,
} from '../core/rules/target-identity.js';
import type { ElevationIndex } from '../store/elevation-index.js';
import type { GrantLeases } from '../store/grant-leases.js';

/** The bot and role of an elevation: fixed when it is requested, so safe to remember. */
export interface ElevationOwner {
  botId: string;
  roleId: string;
}

export interface SharedIdentityDeps {
  /** Appends to the audit trail; each event's data is checked against its type (compile time). */
  append<T extends EventType>(event: TypedNewAuditEvent<T>): Promise<unknown>;
  leases: Pick<GrantLeases, 'heldLeases'>;
  /** Where the bot of each lease's elevation is read. */
  elevations: Pick<ElevationIndex, 'getElevation'>;
  logger: Pick<Logger, 'error'>;
  metrics?: Pick<TargetMetrics, 'driftFindings'> | undefined;
  /**
   * Elevations already read, kept between runs so that a long-lived grant is read once, not
   * once a minute. Cleared when it grows past {@link MAX_REMEMBERED}.
   */
  remembered?: Map<string, ElevationOwner>;
  /** Held leases read per page. */
  pageSize?: number;
}

/** Elevations remembered at most (a few MB); past it the memory starts again. */
export const MAX_REMEMBERED = 50_000;

/**
 * Find and record the target identities used by more than one bot; see the module comment.
 * `owners` are the identities the policy gives each bot. A lease whose elevation is not on
 * record is left out (nothing says whose it is); an identity only the policy names twice has
 * no grant to point at, so it is logged but not recorded (the loader refuses such a policy).
 *
 * @throws when the leases or an elevation cannot be read, or a finding cannot be recorded (the
 *   workflow reports it; the next run tries again)
 */
export async function sweepSharedIdentities(
  deps: SharedIdentityDeps,
  owners: readonly ReconcileIdentity[],
): Promise<SharedIdentitySweep> {
  const remembered = deps.remembered ?? new Map<string, ElevationOwner>();
  const pageSize = deps.pageSize ?? 500;
  const holdings: IdentityHolding[] = [];
  /** For each identity, a grant that uses it and the roles of those grants. */
  const where = new Map<string, { target: TargetRef; roles: Set<string> }>();
  let checked = 0;
  let after: string | undefined;
  for (;;) {
    const page = await deps.leases.heldLeases({ ...(after !== undefined ? { after } : {}), limit: pageSize });
    for (const lease of page) {
      checked += 1;
      let owner = remembered.get(lease.elevationId);
      if (!owner) {
        const view = await deps.elevations.getElevation(lease.elevationId);
        if (!view) continue;
        owner = { botId: view.botId, roleId: view.roleId };
        if (remembered.size >= MAX_REMEMBERED) remembered.clear();
        remembered.set(lease.elevationId, owner);
      }
      for (const use of identitiesOfGrant(lease.target, lease.principal)) {
        holdings.push({ botId: owner.botId, elevationId: lease.elevationId, use });
        const key = identityKey(use.kind, use.value);
        const at = where.get(key) ?? { target: lease.target, roles: new Set<string>() };
        at.roles.add(owner.roleId);
        where.set(key, at);
      }
    }
    if (page.length < pageSize) break;
    after = page.at(-1)!.elevationId;
  }

  const shared = sharedIdentitiesOf(owners, holdings);
  for (const found of shared) {
    const problem = describeSharedIdentity(found);
    const at = where.get(identityKey(found.kind, found.identity));
    if (!at) {
      deps.logger.error(
        { identity: found.identity, problem },
        'the policy gives one identity to several bots',
      );
      continue;
    }
    const data = {
      principal: found.identity,
      action: 'alert' as const,
      bot: true,
      target: at.target,
      roles: [...at.roles].sort(),
      reason: 'shared_identity',
      problem,
    };
    deps.logger.error(data, 'drift: a target identity is used by more than one bot');
    await deps.append({
      id: randomUUID(),
      elevationId: null,
      type: 'drift.detected',
      at: new Date().toISOString(),
      actor: { kind: 'system', id: 'elevate' },
      data,
    });
    deps.metrics?.driftFindings.inc({ target_type: at.target.type, outcome: 'alerted' });
  }
  return { checked, shared };
}
