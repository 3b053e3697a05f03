/**
 * The one interface every target implements. A target holds memberships: a principal (the
 * bot's identity in that system) either holds the role named by a {@link TargetRef} or not.
 *
 * Every method is idempotent, because activities run at least once: granting a membership
 * that exists, or revoking one that does not, succeeds. Methods throw only {@link TargetError}
 * subclasses, so callers can tell "try again" from "give up".
 */
import type { TargetRef } from '../model/targets.js';

export interface TargetChange {
  /** False when the state was already as asked (already a member / already absent). */
  changed: boolean;
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

export interface Target<R extends TargetRef = TargetRef> {
  /** Make `principal` hold `ref`. Succeeds if it already does. */
  grant(ref: R, principal: string, ctx?: GrantContext): Promise<TargetChange>;
  /** Make `principal` not hold `ref`. Succeeds if it already does not (or `ref` is gone). */
  revoke(ref: R, principal: string, ctx?: GrantContext): Promise<TargetChange>;
  /** Read back: does `principal` hold `ref` right now? */
  check(ref: R, principal: string, ctx?: GrantContext): Promise<boolean>;
  /** Read back: who holds `ref` right now (placeholders excluded)? */
  listMembers(ref: R): Promise<string[]>;
  /** Cheap reachability check for health endpoints. Throws a {@link TargetError} when down. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
