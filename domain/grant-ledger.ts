/**
 * The grant ledger: several elevations may hold the same membership (same bot, same role) at
 * once, and ending one must not cut the others short. Each elevation holds a lease on the
 * membership's key; the principal is a member while at least one lease is held.
 *
 * Every change to a key happens under that key's lock, and the lock covers both the ledger
 * update and the target change, so "am I the last holder?" and "remove the member" are one
 * step even across processes. Each step is idempotent and driven by the durable lease state,
 * so an activity retried after a crash (or a zombie attempt) converges on the right answer.
 *
 * The ledger knows no kind of target: each target names its grants (`membershipKey`: shared by
 * the elevations of one membership, or naming the elevation when each has its own), returns a
 * handle with each grant that its revocation and read-back take (derived with `handleFor` when
 * the caller has none), says when a change confirmed itself, and reconciles per principal itself.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { LeaseInput, GrantLeases } from '../store/grant-leases.js';
import { TargetInvalidError, TargetNotVerifiedError } from '../core/errors/target-errors.js';
import type {
  DriftHooks,
  DriftOutcome,
  ExtendChange,
  GrantChange,
  GrantContext,
  RevokeChange,
  Target,
} from '../core/ports/target.js';
import type { GrantHandle } from '../core/model/targets.js';
import type { ExtendGrantRequest, GrantRequest, ReleaseRequest } from '../core/ports/activities.js';
import { HandoffClosedError } from './credential-vault.js';
import { ACTIVITY_ERROR_TYPES } from '../core/errors/activity-error-types.js';
import { type TargetRef } from '../core/model/targets.js';
import {
  type DriftAction,
  type ReconcileAwsPrincipal,
  type RoleReconciliation,
} from '../core/model/reconcile.js';
import { type GrantReceipt, type RevokeReceipt } from '../core/model/elevation.js';

/**
 * How many keys {@link GrantLedger.explainedKeys} asks the lease store about at once: some
 * milliseconds of the event loop on SQLite, where the answer comes synchronously.
 */
const KEYS_PER_LEASE_QUERY = 1_000;

/** A grant that arrives after its elevation's lease was released must not bring it back. */
export class LeaseReleasedError extends Error {
  override readonly name = ACTIVITY_ERROR_TYPES.leaseReleased;
  readonly code = 'lease_released';
}

/** What the ledger drives: the targets of the deployment, behind one router. */
export type LedgerTarget = Pick<
  Target,
  | 'grant'
  | 'revoke'
  | 'revokeMany'
  | 'check'
  | 'extend'
  | 'handleFor'
  | 'listMembers'
  | 'membershipKey'
  | 'unreconciledReason'
  | 'reconcilePrincipal'
>;

export class GrantLedger {
  constructor(
    private readonly leases: Pick<
      GrantLeases,
      'withLock' | 'withLocks' | 'hold' | 'release' | 'releaseAll' | 'holders' | 'holdersOf' | 'getLease'
    >,
    private readonly target: LedgerTarget,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /**
   * Hold a lease for the elevation and make sure the membership exists, read back. The receipt
   * carries the grant's handle, which {@link release} takes.
   */
  async acquire(req: GrantRequest): Promise<GrantReceipt> {
    const lease = this.lease(req);
    return this.leases.withLock(lease.key, async () => {
      if ((await this.leases.hold(lease, this.now())) === 'released') {
        throw new LeaseReleasedError(`elevation ${req.elevationId} has already been revoked`);
      }
      const ctx = this.context(req);
      const change = await this.grant(req, ctx);
      if (!change.confirmed && !(await this.target.check(change.handle))) {
        throw new TargetNotVerifiedError(`the grant to ${req.principal} did not read back from the target`);
      }
      const holders = await this.leases.holders(lease.key);
      return {
        target: req.target,
        principal: req.principal,
        alreadyPresent: !change.changed,
        sharedWith: holders.filter((id) => id !== req.elevationId),
        verifiedAt: this.now(),
        ...(change.session ? { session: change.session } : {}),
        handle: change.handle,
      };
    });
  }

  /**
   * Release the elevation's lease; if no other lease holds the membership, remove it (through
   * `req.handle`, or the handle the target derives from the request when there is none) and
   * confirm by reading back. Safe to call for an elevation that never acquired (it leaves a
   * released tombstone so a late acquire is refused).
   */
  async release(req: ReleaseRequest): Promise<RevokeReceipt> {
    const lease = this.lease(req);
    return this.leases.withLock(lease.key, async () => {
      await this.leases.release(lease, this.now());
      const holders = await this.leases.holders(lease.key);
      if (holders.length > 0) {
        return {
          target: req.target,
          principal: req.principal,
          removed: false,
          stillHeldBy: holders,
          verifiedAt: this.now(),
        };
      }
      const handle = req.handle ?? this.target.handleFor(req.target, req.principal, req.elevationId);
      const receipt = await this.confirmRemoval(req, handle, await this.target.revoke(handle));
      if (receipt instanceof Error) throw receipt;
      return receipt;
    });
  }

  /**
   * Reads the target back for a grant already removed and released (the expiry revoker's): true
   * while the principal is still not a member. No lock and no write: a membership found again
   * (re-added, or granted meanwhile to another elevation) is for {@link release} to settle.
   */
  async stillRemoved(req: ReleaseRequest): Promise<boolean> {
    const handle = req.handle ?? this.target.handleFor(req.target, req.principal, req.elevationId);
    return !(await this.target.check(handle));
  }

  /**
   * Move the end of the elevation's grant in its target to `req.expiresAt` (through `req.handle`,
   * or the handle the target derives from the request), under the grant's lock so that it never
   * interleaves with the grant's revocation. A target whose grants carry no end of their own
   * (no {@link Target.extend}) has nothing to move: `changed: false`.
   */
  async extend(req: ExtendGrantRequest): Promise<ExtendChange> {
    const extend = this.target.extend?.bind(this.target);
    if (!extend) return { changed: false };
    const key = this.target.membershipKey(req.target, req.principal, req.elevationId);
    return this.leases.withLock(key, () =>
      extend(
        req.target,
        req.handle ?? this.target.handleFor(req.target, req.principal, req.elevationId),
        new Date(req.expiresAt),
      ),
    );
  }

  /**
   * {@link release} for many elevations at once (the expiry revoker's batch): every key locked
   * together, the leases released in a few writes, one question for who still holds them, the
   * grants nobody holds any more removed together where the target can (one change per group),
   * and each read back. One answer per request, in order: its receipt, or the error it met (the
   * workflow's own revocation then does that one). A failure before the target is reached (the
   * lock, the store) rejects the whole batch.
   */
  async releaseMany(reqs: ReleaseRequest[]): Promise<(RevokeReceipt | Error)[]> {
    const leases = reqs.map((req) => this.lease(req));
    return this.leases.withLocks(
      leases.map((l) => l.key),
      async () => {
        await this.leases.releaseAll(leases, this.now());
        const holders = await this.leases.holdersOf(leases.map((l) => l.key));
        // One removal per key that nobody holds any more (a key may come twice in a batch).
        const removal = new Map<string, { req: ReleaseRequest; handle: GrantHandle }>();
        for (const [i, req] of reqs.entries()) {
          const key = leases[i]!.key;
          if (holders.has(key) || removal.has(key)) continue;
          const handle = req.handle ?? this.target.handleFor(req.target, req.principal, req.elevationId);
          removal.set(key, { req, handle });
        }
        const removals = [...removal.values()];
        const handles = removals.map((r) => r.handle);
        const changes = this.target.revokeMany
          ? await this.target.revokeMany(handles)
          : await Promise.all(handles.map((h) => this.target.revoke(h).catch((err: Error) => err)));
        const outcome = new Map<string, RevokeReceipt | Error>();
        await Promise.all(
          [...removal.keys()].map(async (key, j) => {
            outcome.set(key, await this.confirmRemoval(removals[j]!.req, handles[j]!, changes[j]!));
          }),
        );
        return reqs.map((req, i) => {
          const key = leases[i]!.key;
          const stillHeldBy = holders.get(key);
          if (stillHeldBy) {
            return {
              target: req.target,
              principal: req.principal,
              removed: false,
              stillHeldBy,
              verifiedAt: this.now(),
            };
          }
          return outcome.get(key)!;
        });
      },
    );
  }

  /** A batch's removal read back (unless the target confirmed it itself): its receipt, or why not. */
  private async confirmRemoval(
    req: ReleaseRequest,
    handle: GrantHandle,
    change: RevokeChange | Error,
  ): Promise<RevokeReceipt | Error> {
    if (change instanceof Error) return change;
    try {
      if (!change.confirmed && (await this.target.check(handle))) {
        return new TargetNotVerifiedError(`${req.principal} is still a member after the revocation`);
      }
    } catch (err) {
      return err as Error;
    }
    return {
      target: req.target,
      principal: req.principal,
      removed: true,
      stillHeldBy: [],
      verifiedAt: this.now(),
      ...(change.session ? { session: change.session } : {}),
    };
  }

  /** Who holds `target` in the target system right now. */
  members(target: TargetRef): Promise<string[]> {
    return this.target.listMembers(target);
  }

  /** The grant's key in the ledger (the target's {@link Target.membershipKey}). */
  membershipKey(target: TargetRef, principal: string, elevationId: string): string {
    return this.target.membershipKey(target, principal, elevationId);
  }

  /**
   * Why drift in `target` is not found by listing its members ({@link reconcile} refuses it),
   * or `undefined` when it is.
   */
  unreconciledReason(target: TargetRef): string | undefined {
    return this.target.unreconciledReason?.(target);
  }

  /**
   * Decide whether `principal`'s membership of `target` is explained by a held lease, and if
   * not, call `onDrift` and (for `revert`) remove it, confirmed by reading back.
   *
   * Everything happens under the membership's lock, the one {@link acquire} holds while it
   * records its lease and grants. So a grant in progress is always explained: reconciliation
   * either runs before it (and the grant then adds the member again) or after it (and sees its
   * lease), never between "no lease yet" and "granted".
   *
   * Memberships only (see {@link unreconciledReason}): a grant per elevation has no such key.
   * Nobody granted what is found, so there is no handle: the target derives it from `target`
   * and `principal`.
   */
  async reconcile(
    target: TargetRef,
    principal: string,
    action: DriftAction,
    onDrift?: () => Promise<void>,
  ): Promise<DriftOutcome> {
    const skipped = this.unreconciledReason(target);
    if (skipped)
      throw new TargetInvalidError(`${target.type} grants cannot be reconciled by membership: ${skipped}`);
    const handle = this.target.handleFor(target, principal, '');
    return this.settle(this.target.membershipKey(target, principal, ''), async () => {
      // The list was read before the lock: a release may have removed the member since.
      if (!(await this.target.check(handle))) return 'absent';
      await onDrift?.();
      if (action === 'alert') return 'alerted';
      await this.target.revoke(handle);
      if (await this.target.check(handle)) {
        throw new TargetNotVerifiedError(`${principal} is still a member after reverting the drift`);
      }
      return 'reverted';
    });
  }

  /**
   * The keys among `keys` whose grant a held lease explains right now: {@link settle}'s fast path
   * for a whole list of members at once, a question to the lease store per thousand keys instead
   * of one per member. Without the lock, as that fast path: a lease being released at this moment
   * still counts, which only defers the decision about its grant to the next run (the releaser
   * removes the grant anyway); it can never revert a grant. A key left out is not drift yet:
   * {@link reconcile} decides it, under its lock.
   */
  async explainedKeys(keys: string[]): Promise<Set<string>> {
    const explained = new Set<string>();
    for (let i = 0; i < keys.length; i += KEYS_PER_LEASE_QUERY) {
      // A turn of the event loop between slices: on SQLite the store answers synchronously.
      if (i > 0) await nextTurn();
      const held = await this.leases.holdersOf(keys.slice(i, i + KEYS_PER_LEASE_QUERY));
      for (const key of held.keys()) explained.add(key);
    }
    return explained;
  }

  /**
   * Reconcile everything one bot principal holds in the target that reconciles principals (AWS
   * attach mode): the target decides, each grant under its lease's lock ({@link settle}).
   */
  async reconcilePrincipal(
    unit: ReconcileAwsPrincipal,
    hooks: Omit<DriftHooks, 'settle'>,
  ): Promise<RoleReconciliation> {
    if (!this.target.reconcilePrincipal) {
      throw new TargetInvalidError('no target in this worker reconciles bot principals');
    }
    return await this.target.reconcilePrincipal(unit, {
      ...hooks,
      settle: (key, unexplained) => this.settle(key, unexplained),
    });
  }

  /**
   * `explained` when a held lease of `key` explains its grant; otherwise, under the key's lock,
   * the result of `unexplained` (which checks the grant is still there and settles it).
   */
  async settle(key: string, unexplained: () => Promise<DriftOutcome>): Promise<DriftOutcome> {
    // Fast path, without the lock: a held lease explains the grant. Seeing one that is being
    // released at this moment only defers the decision to the next run (the releaser removes
    // the grant anyway); it can never revert a grant. Only unexplained grants take the lock,
    // so a run over many active grants does not queue behind (or delay) them.
    if ((await this.leases.holders(key)).length > 0) return 'explained';
    return this.leases.withLock(key, async () => {
      if ((await this.leases.holders(key)).length > 0) return 'explained';
      return unexplained();
    });
  }

  /**
   * The target's grant. Credentials handed over through the vault cannot be issued once the
   * hand-off is closed (the elevation was revoked first): that grant comes too late.
   */
  private async grant(req: GrantRequest, ctx: GrantContext): Promise<GrantChange> {
    try {
      return await this.target.grant(req.target, req.principal, ctx);
    } catch (err) {
      if (err instanceof HandoffClosedError) throw new LeaseReleasedError(err.message);
      throw err;
    }
  }

  private lease(req: GrantRequest): LeaseInput {
    return {
      elevationId: req.elevationId,
      key: this.target.membershipKey(req.target, req.principal, req.elevationId),
      target: req.target,
      principal: req.principal,
    };
  }

  private context(req: GrantRequest): GrantContext {
    return { elevationId: req.elevationId, durationSeconds: req.durationSeconds ?? 0 };
  }

  private now(): string {
    return this.clock().toISOString();
  }
}
