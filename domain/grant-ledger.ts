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
import type { IssuedCredentials } from '../integrations/aws/iam-target.js';
import { normalizeDn } from '../core/rules/dn.js';
import { TargetInvalidError, TargetNotVerifiedError } from '../core/errors/target-errors.js';
import type { GrantContext, Target } from '../core/ports/target.js';
import type { GrantRequest } from '../core/ports/activities.js';
import { HandoffClosedError, type CredentialVault, type SessionInfo } from './credential-vault.js';
import { ACTIVITY_ERROR_TYPES } from '../core/errors/activity-error-types.js';
import { type AwsIamCredentialsTargetRef, type TargetRef } from '../core/model/targets.js';
import { type DriftAction } from '../core/model/reconcile.js';
import { type GrantReceipt, type RevokeReceipt } from '../core/model/elevation.js';

/** A grant that arrives after its elevation's lease was released must not bring it back. */
export class LeaseReleasedError extends Error {
  override readonly name = ACTIVITY_ERROR_TYPES.leaseReleased;
  readonly code = 'lease_released';
}

/**
 * The grant a lease is about, as one comparable string. Memberships (LDAP, PostgreSQL) are
 * shared by every elevation of the same principal and role; an AWS grant belongs to one
 * elevation (its own policy or session), so its key names the elevation.
 */
export function leaseKey(target: TargetRef, principal: string, elevationId: string): string {
  switch (target.type) {
    case 'ldap':
      return ['ldap', dnPart(target.groupDn), dnPart(principal)].join('|');
    case 'postgres':
      // Role and login names are case-sensitive (Elevate always quotes them): compared as given.
      return ['postgres', namePart(target.server), namePart(target.role), namePart(principal)].join('|');
    case 'aws-iam':
      return ['aws-iam', target.mode, namePart(principal), elevationId].join('|');
  }
}

/*
 * The parts of a key never contain a bare `|`, so no two different grants share a key (role
 * `a|b` of login `c` is not role `a` of login `b|c`). Parts without `|` (and, for names, `\`)
 * are kept as they always were, so leases recorded before this escaping keep their keys.
 */

/** A DN in canonical form, its `|` written as the RFC 4514 escape `\7c` (which canonical form never holds). */
function dnPart(dn: string): string {
  return normalizeDn(dn).replaceAll('|', '\\7c');
}

/** A name with `\` and `|` escaped by a backslash. */
function namePart(name: string): string {
  return name.replace(/[\\|]/g, (c) => `\\${c}`);
}

/**
 * What {@link GrantLedger.reconcile} found for one member: held by a lease (`explained`), gone
 * by the time it was looked at (`absent`), or drift that was recorded (`alerted`) or removed
 * (`reverted`).
 */
export type DriftOutcome = 'explained' | 'absent' | 'alerted' | 'reverted';

/**
 * What AWS credentials mode needs beyond a {@link Target}: a way to issue a session and to cut
 * one off early (both on {@link AwsIamTarget}), and the vault that hands the credentials over.
 */
export interface CredentialsMode {
  vault: CredentialVault;
  aws: {
    issueCredentials(ref: AwsIamCredentialsTargetRef, ctx: GrantContext): Promise<IssuedCredentials>;
    revokeSession(ref: AwsIamCredentialsTargetRef, session: SessionInfo, ctx: GrantContext): Promise<unknown>;
  };
}

/** Seconds of validity under which a delivered session is left to expire rather than denied. */
const DENY_THRESHOLD_SECONDS = 5;

function isCredentialsMode(target: TargetRef): target is AwsIamCredentialsTargetRef {
  return target.type === 'aws-iam' && target.mode === 'credentials';
}

export class GrantLedger {
  constructor(
    private readonly leases: LeaseStore,
    private readonly target: Pick<Target, 'grant' | 'revoke' | 'check' | 'listMembers'>,
    private readonly clock: () => Date = () => new Date(),
    private readonly credentials?: CredentialsMode,
  ) {}

  /** Hold a lease for the elevation and make sure the membership exists, read back. */
  async acquire(req: GrantRequest): Promise<GrantReceipt> {
    const lease = this.lease(req);
    return this.leases.withLock(lease.key, async () => {
      if ((await this.leases.hold(lease, this.now())) === 'released') {
        throw new LeaseReleasedError(`elevation ${req.elevationId} has already been revoked`);
      }
      const ctx = this.context(req);
      if (isCredentialsMode(req.target)) return this.issue(req, req.target, ctx);
      const change = await this.target.grant(req.target, req.principal, ctx);
      if (!(await this.target.check(req.target, req.principal, ctx))) {
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
      const ctx = this.context(req);
      if (isCredentialsMode(req.target)) return this.withdraw(req, req.target, ctx);
      await this.target.revoke(req.target, req.principal, ctx);
      if (await this.target.check(req.target, req.principal, ctx)) {
        throw new TargetNotVerifiedError(`${req.principal} is still a member after the revocation`);
      }
      return this.removed(req);
    });
  }

  /** Who holds `target` in the target system right now. */
  members(target: TargetRef): Promise<string[]> {
    return this.target.listMembers(target);
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
   * Memberships only (LDAP, PostgreSQL): an AWS grant is per elevation, so it has no such key.
   */
  async reconcile(
    target: TargetRef,
    principal: string,
    action: DriftAction,
    onDrift?: () => Promise<void>,
  ): Promise<DriftOutcome> {
    if (target.type === 'aws-iam') {
      throw new TargetInvalidError('AWS IAM grants are per elevation and cannot be reconciled by membership');
    }
    return this.settleDrift(
      leaseKey(target, principal, ''),
      target,
      principal,
      { elevationId: '', durationSeconds: 0 },
      action,
      onDrift,
      `${principal} is still a member after reverting the drift`,
    );
  }

  /**
   * AWS attach mode: decide whether the Elevate policy of `elevationId` attached to
   * `principal` is explained by that elevation's held lease, and if not, call `onDrift` and
   * (for `revert`) detach and delete it, confirmed by reading back. The same lock and the same
   * fast path as {@link reconcile}: a grant holds its lease before it creates and attaches the
   * policy, so a grant in progress is always explained.
   */
  async reconcileAwsPolicy(
    principal: string,
    elevationId: string,
    action: DriftAction,
    onDrift?: () => Promise<void>,
  ): Promise<DriftOutcome> {
    const ref: TargetRef = { type: 'aws-iam', mode: 'attach', policyDocument: '{}' };
    return this.settleDrift(
      leaseKey(ref, principal, elevationId),
      ref,
      principal,
      { elevationId, durationSeconds: 0 },
      action,
      onDrift,
      `the policy of ${elevationId} is still attached to ${principal}`,
    );
  }

  /**
   * What {@link reconcile} and {@link reconcileAwsPolicy} do once they know the lease key:
   * a held lease explains the grant; otherwise, under the key's lock, check it is still there,
   * call `onDrift`, and for `revert` remove it and read back (`stillThere` is the error's
   * message if it did not go).
   */
  private async settleDrift(
    key: string,
    ref: TargetRef,
    principal: string,
    ctx: GrantContext,
    action: DriftAction,
    onDrift: (() => Promise<void>) | undefined,
    stillThere: string,
  ): Promise<DriftOutcome> {
    // Fast path, without the lock: a held lease explains the grant. Seeing one that is being
    // released at this moment only defers the decision to the next run (the releaser removes
    // the grant anyway); it can never revert a grant. Only unexplained grants take the lock,
    // so a run over many active grants does not queue behind (or delay) them.
    if ((await this.leases.holders(key)).length > 0) return 'explained';
    return this.leases.withLock(key, async () => {
      if ((await this.leases.holders(key)).length > 0) return 'explained';
      // The list was read before the lock: a release may have removed the grant since.
      if (!(await this.target.check(ref, principal, ctx))) return 'absent';
      await onDrift?.();
      if (action === 'alert') return 'alerted';
      await this.target.revoke(ref, principal, ctx);
      if (await this.target.check(ref, principal, ctx)) throw new TargetNotVerifiedError(stillThere);
      return 'reverted';
    });
  }

  /**
   * Credentials mode: nothing standing is granted, so there is nothing to read back. The
   * session is issued once (a retry reuses the first deposit) and waits, encrypted, for the bot.
   */
  private async issue(
    req: GrantRequest,
    ref: AwsIamCredentialsTargetRef,
    ctx: GrantContext,
  ): Promise<GrantReceipt> {
    const mode = this.requireCredentialsMode();
    let session: SessionInfo;
    try {
      session = await mode.vault.issueOnce(req.elevationId, async () => mode.aws.issueCredentials(ref, ctx));
    } catch (err) {
      if (err instanceof HandoffClosedError) throw new LeaseReleasedError(err.message);
      throw err;
    }
    return {
      target: req.target,
      principal: req.principal,
      alreadyPresent: false,
      sharedWith: [],
      verifiedAt: this.now(),
      session,
    };
  }

  /**
   * Credentials mode: credentials the bot has not fetched are destroyed. Delivered ones that
   * would stay valid are cut off by denying the session in AWS (read back by the target).
   */
  private async withdraw(
    req: GrantRequest,
    ref: AwsIamCredentialsTargetRef,
    ctx: GrantContext,
  ): Promise<RevokeReceipt> {
    const mode = this.requireCredentialsMode();
    const { session, delivered } = await mode.vault.withdraw(req.elevationId);
    let denied = false;
    if (session && delivered) {
      const left = (new Date(session.expiration).getTime() - this.clock().getTime()) / 1000;
      if (left > DENY_THRESHOLD_SECONDS) {
        await mode.aws.revokeSession(ref, session, ctx);
        denied = true;
      }
    }
    return { ...this.removed(req), ...(session ? { session: { ...session, delivered, denied } } : {}) };
  }

  /** The receipt of a grant taken back, with no other elevation holding it. */
  private removed(req: GrantRequest): RevokeReceipt {
    return {
      target: req.target,
      principal: req.principal,
      removed: true,
      stillHeldBy: [],
      verifiedAt: this.now(),
    };
  }

  private requireCredentialsMode(): CredentialsMode {
    if (!this.credentials) {
      throw new TargetInvalidError(
        'AWS credentials mode is not set up in this worker (ELEVATE_CREDENTIALS_KEY is missing)',
      );
    }
    return this.credentials;
  }

  private lease(req: GrantRequest): LeaseInput {
    return {
      elevationId: req.elevationId,
      key: leaseKey(req.target, req.principal, req.elevationId),
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
