/**
 * The one interface every target implements. A target holds memberships: a principal (the
 * bot's identity in that system) either holds the role named by a {@link TargetRef} or not.
 *
 * Every method is idempotent, because activities run at least once: granting a membership
 * that exists, or revoking one that does not, succeeds. Methods throw only {@link TargetError}
 * subclasses, so callers can tell "try again" from "give up".
 */
import type { TargetRef } from '../workflows/definitions.js';

export interface TargetChange {
  /** False when the state was already as asked (already a member / already absent). */
  changed: boolean;
}

export interface Target {
  /** Make `principal` hold `ref`. Succeeds if it already does. */
  grant(ref: TargetRef, principal: string): Promise<TargetChange>;
  /** Make `principal` not hold `ref`. Succeeds if it already does not (or `ref` is gone). */
  revoke(ref: TargetRef, principal: string): Promise<TargetChange>;
  /** Read back: does `principal` hold `ref` right now? */
  check(ref: TargetRef, principal: string): Promise<boolean>;
  /** Read back: who holds `ref` right now (placeholders excluded)? */
  listMembers(ref: TargetRef): Promise<string[]>;
  /** Cheap reachability check for health endpoints. Throws a {@link TargetError} when down. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
