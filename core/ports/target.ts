/**
 * The one interface every target implements. A target holds grants: a principal (the bot's
 * identity in that system) either holds the role named by a {@link TargetRef} or not.
 *
 * Every method is idempotent, because activities run at least once: granting a membership
 * that exists, or revoking one that does not, succeeds. Methods throw only {@link TargetError}
 * subclasses, so callers can tell "try again" from "give up".
 *
 * A grant returns a {@link GrantHandle}: what the target wrote, which the workflow keeps and
 * {@link Target.revoke} and {@link Target.check} take, so taking a grant away never recomputes it
 * from the request ("the grant returns what the revoke needs"). {@link Target.handleFor} derives
 * the same handle from the request, for what has no receipt to carry one: receipts recorded
 * before handles existed, a grant cancelled before it answered, drift nobody granted.
 *
 * The grant ledger (`domain/grant-ledger.ts`) drives every target the same way: it leases the
 * grant's {@link Target.membershipKey}, grants or revokes, and reads back with
 * {@link Target.check} unless the change confirmed itself. It never looks at the kind of target.
 */
import type { EventDataOf } from '../model/event-data.js';
import type { GrantReceipt, RevokeReceipt } from '../model/elevation.js';
import type { ReconcileAwsPrincipal, RoleReconciliation } from '../model/reconcile.js';
import type { GrantHandle, TargetRef } from '../model/targets.js';

export interface TargetChange {
  /** False when the state was already as asked (already a member / already absent). */
  changed: boolean;
  /**
   * True when the target confirmed the change itself, so there is nothing left for
   * {@link Target.check} to read back: it read the change back with more than the handle tells
   * (an AWS policy checked against the role's document), or nothing standing exists (temporary
   * credentials handed over, not a membership).
   */
  confirmed?: boolean;
}

/**
 * What a grant did, with the handle that revokes and reads it back; a target that issues a
 * session says which, for the receipt.
 */
export interface GrantChange<H extends GrantHandle = GrantHandle> extends TargetChange {
  handle: H;
  session?: GrantReceipt['session'];
}

/**
 * What moving a grant's end did ({@link Target.extend}). A target whose grant is versioned (an
 * AWS policy: the moved expiry is a new policy version) says which version the grant now is:
 * reads of the grant that cannot compare it with the role (drift detection, {@link Target.check})
 * accept that version and no other.
 */
export interface ExtendChange extends TargetChange {
  version?: string;
}

/** What a revocation did; a target that issued a session says what became of it, for the receipt. */
export interface RevokeChange extends TargetChange {
  session?: RevokeReceipt['session'];
}

/**
 * The elevation a change is for. Targets that give each elevation its own grant (an AWS policy
 * named after the elevation, with the window's end in it) need it; membership targets (LDAP,
 * PostgreSQL) ignore it.
 */
export interface GrantContext {
  elevationId: string;
  /** The window; a target with a built-in backstop ends the grant this long after granting. */
  durationSeconds: number;
}

/**
 * What reconciliation found for one grant: held by a lease (`explained`), gone by the time it
 * was looked at (`absent`), or drift that was recorded (`alerted`) or removed (`reverted`).
 */
export type DriftOutcome = 'explained' | 'absent' | 'alerted' | 'reverted';

/** Where a target's reconciliation of one principal reports and decides (given by the ledger and the activity). */
export interface DriftHooks {
  /**
   * `explained` when a held lease of `key` explains the grant; otherwise, under the key's lock
   * (the one a grant holds while it leases and grants), the result of `unexplained`, which
   * checks the grant is still there, reports it and, when asked, removes it.
   */
  settle(key: string, unexplained: () => Promise<DriftOutcome>): Promise<DriftOutcome>;
  /** Record a drift event in the audit trail (it belongs to no elevation). */
  record(
    type: 'drift.detected' | 'drift.reverted',
    at: string,
    data: EventDataOf<'drift.detected'>,
  ): Promise<unknown>;
  /** Log a finding (the worker's log). */
  log(level: 'warn' | 'error', data: object, message: string): void;
  /** Count a finding for the metrics. */
  count(targetType: string, outcome: 'alerted' | 'reverted'): void;
  /**
   * The version the elevation's last extension left its grant at ({@link ExtendChange.version}),
   * `undefined` when it was never extended (or the worker keeps no record): what the grant's
   * tamper check accepts.
   */
  grantVersion?(elevationId: string): Promise<string | undefined>;
}

export interface Target<R extends TargetRef = TargetRef, H extends GrantHandle = GrantHandle> {
  /** Make `principal` hold `ref`. Succeeds if it already does. The handle takes it away again. */
  grant(ref: R, principal: string, ctx?: GrantContext): Promise<GrantChange<H>>;
  /**
   * Take the grant `handle` names away. Succeeds if it is already gone (or its role is). The
   * handle comes back from stored JSON: the target checks its shape first and refuses a
   * malformed one with `TargetInvalidError`.
   */
  revoke(handle: H): Promise<RevokeChange>;
  /**
   * Take many grants away at once, as {@link revoke} does each (a target that can do it in
   * fewer round trips, say one change per group, implements it). One answer per handle, in
   * order: its change, or the error that one met.
   */
  revokeMany?(handles: H[]): Promise<(RevokeChange | Error)[]>;
  /**
   * Read back: does the grant `handle` names hold right now? (Checked as for {@link revoke}.)
   * `version` is the one the elevation's last extension reported ({@link ExtendChange.version}),
   * for a target whose grant is versioned; absent, the version the grant was made with.
   */
  check(handle: H, version?: string): Promise<boolean>;
  /**
   * Move the end of the grant `handle` names to `expiresAt`, for a target whose grant carries its
   * own end (an AWS policy's expiry condition); `ref` is the role the grant was made from, so
   * that nothing but the end changes. Absent: the grant has no end of its own and nothing in the
   * target moves. Refused (it throws) when the grant is no longer there or no longer what was
   * granted; the window then stays as it was.
   */
  extend?(ref: R, handle: H, expiresAt: Date): Promise<ExtendChange>;
  /**
   * The handle a grant of `ref` to `principal` for elevation `elevationId` returns, derived
   * without asking the target: for receipts that carry none (recorded before handles existed,
   * or a grant cancelled before it answered) and for drift, which no grant explains (there
   * `elevationId` is empty, and only targets whose grants are memberships answer).
   */
  handleFor(ref: R, principal: string, elevationId: string): H;
  /** Read back: who holds `ref` right now (placeholders excluded)? */
  listMembers(ref: R): Promise<string[]>;
  /**
   * The grant as one comparable string, the ledger's lease key: equal for two elevations that
   * share the grant (a membership), and naming the elevation when each has its own. It must
   * never change for a grant once leases of it exist (they are stored under it).
   */
  membershipKey(ref: R, principal: string, elevationId: string): string;
  /**
   * Why drift in `ref` is not found by comparing {@link listMembers} with the leases (its grants
   * are found per principal instead, or nothing standing exists), or `undefined` when it is.
   * Absent: it always is.
   */
  unreconciledReason?(ref: R): string | undefined;
  /**
   * Reconcile everything one bot principal holds in this target (targets whose grants are not
   * memberships of a role, such as one AWS policy per elevation): a grant that no lease
   * explains and that is not standing is drift.
   */
  reconcilePrincipal?(unit: ReconcileAwsPrincipal, hooks: DriftHooks): Promise<RoleReconciliation>;
  /** Cheap reachability check for health endpoints. Throws a {@link TargetError} when down. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
