/**
 * Membership keys for one drift-detection run over a role's members: each principal's key made
 * once (an LDAP key normalises DNs, some microseconds each, and the same principal is asked about
 * as a member, as standing and as a bot), and the list made in slices with a turn of the event
 * loop between them, so that tens of thousands of members never hold the worker's other
 * activities and the expiry revoker's timers for more than a few milliseconds.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';

/** How many principals are keyed between two turns of the event loop (some milliseconds). */
const KEYS_PER_SLICE = 1_000;

/** Keys of lists of principals, each made by `keyOf` at most once in the life of the returned function. */
export function membershipKeys(
  keyOf: (principal: string) => string,
): (principals: readonly string[]) => Promise<string[]> {
  const made = new Map<string, string>();
  return async (principals) => {
    const keys: string[] = [];
    for (const [i, principal] of principals.entries()) {
      if (i > 0 && i % KEYS_PER_SLICE === 0) await nextTurn();
      let key = made.get(principal);
      if (key === undefined) {
        key = keyOf(principal);
        made.set(principal, key);
      }
      keys.push(key);
    }
    return keys;
  };
}
