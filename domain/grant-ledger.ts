/**
 * The grant ledger: several elevations may hold the same membership (same bot, same role) at
 * once, and ending one must not cut the others short. Each elevation holds a lease on the
 * membership's key; the principal is a member while at least one lease is held.
 *
 * Every change to a key happens under that key's lock, and the lock covers both the ledger
 * update and the target change, so "am I the last holder?" and "remove the member" are one
 * step even across processes. Each step is idempotent and driven by the durable lease state,
 * so an activity retried after a crash (or a zombie attempt) converges on the right answer.
 */
import type { LeaseInput, LeaseStore } from '../integrations/audit/audit-store.js';
import { normalizeDn } from '../integrations/ldap/dn.js';
import { TargetNotVerifiedError } from '../integrations/target-errors.js';
import type { Target } from '../integrations/target.js';
import {
  ACTIVITY_ERROR_TYPES,
  type GrantReceipt,
  type RevokeReceipt,
  type TargetRef,
} from '../workflows/definitions.js';

/** A grant that arrives after its elevation's lease was released must not bring it back. */
export class LeaseReleasedError extends Error {
  override readonly name = ACTIVITY_ERROR_TYPES.leaseReleased;
  readonly code = 'lease_released';
}

/** What both ledger operations need. */
export interface GrantRequest {
  elevationId: string;
  target: TargetRef;
  principal: string;
}

/** The membership a lease is about, as one comparable string. */
export function leaseKey(target: TargetRef, principal: string): string {
  switch (target.type) {
    case 'ldap':
      return `ldap|${normalizeDn(target.groupDn)}|${normalizeDn(principal)}`;
  }
}

export class GrantLedger {
  constructor(
    private readonly leases: LeaseStore,
    private readonly target: Pick<Target, 'grant' | 'revoke' | 'check'>,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Hold a lease for the elevation and make sure the membership exists, read back. */
  async acquire(req: GrantRequest): Promise<GrantReceipt> {
    const lease = this.lease(req);
    return this.leases.withLock(lease.key, async () => {
      if ((await this.leases.hold(lease, this.now())) === 'released') {
        throw new LeaseReleasedError(`elevation ${req.elevationId} has already been revoked`);
      }
      const change = await this.target.grant(req.target, req.principal);
      if (!(await this.target.check(req.target, req.principal))) {
        throw new TargetNotVerifiedError(`the grant to ${req.principal} did not read back from the target`);
      }
      const holders = await this.leases.holders(lease.key);
      return {
        target: req.target,
        principal: req.principal,
        alreadyPresent: !change.changed,
        sharedWith: holders.filter((id) => id !== req.elevationId),
        verifiedAt: this.now(),
      };
    });
  }

  /**
   * Release the elevation's lease; if no other lease holds the membership, remove it and
   * confirm by reading back. Safe to call for an elevation that never acquired (it leaves a
   * released tombstone so a late acquire is refused).
   */
  async release(req: GrantRequest): Promise<RevokeReceipt> {
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
      await this.target.revoke(req.target, req.principal);
      if (await this.target.check(req.target, req.principal)) {
        throw new TargetNotVerifiedError(`${req.principal} is still a member after the revocation`);
      }
      return {
        target: req.target,
        principal: req.principal,
        removed: true,
        stillHeldBy: [],
        verifiedAt: this.now(),
      };
    });
  }

  private lease(req: GrantRequest): LeaseInput {
    return {
      elevationId: req.elevationId,
      key: leaseKey(req.target, req.principal),
      target: req.target,
      principal: req.principal,
    };
  }

  private now(): string {
    return this.clock().toISOString();
  }
}
