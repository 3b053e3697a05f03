/**
 * The worker's side of extending an active elevation (`extendGrant`): the grant's window now
 * ends later, so whatever would take it away at the old end must wait for the new one.
 *
 * - The worker's expiry revoker (`domain/expiry-revoker.ts`) keeps an in-memory timer on the
 *   worker that confirmed the grant, which need not be this one. The new end is written to the
 *   store, where every worker's revoker looks when the old end of an extendable grant comes,
 *   and this worker's own timer (if it has the grant) moves at once.
 * - A grant that carries its own end moves in the target first (`Target.extend`, through the
 *   ledger, under the grant's lock): AWS attach mode's policy has an expiry condition, moved to
 *   the new end plus the slack by a new policy version. If the target refuses, the activity
 *   throws before anything else moved, and the window stays as it was. The version the policy
 *   now has is kept next to the extended end ({@link grantVersionKey}): drift detection accepts
 *   that version of the policy and no other (`integrations/aws/policy-check.ts`). LDAP and
 *   PostgreSQL grants carry no end of their own, so nothing in the target changes; AWS
 *   credentials mode is refused extensions by the policy schema (`config/extend-policy.ts`).
 * - A role bundle's elevation is never extended (its workflow refuses it, `workflows/extend.ts`):
 *   its grants are not on the expiry revoker, and one window moving for several targets is
 *   left for a request of the bundle again.
 */
import type { Logger } from 'pino';
import type { ExtendGrantRequest } from '../core/ports/activities.js';
import type { ExtendGrantResult } from '../core/model/extend.js';
import type { SingleUseRecords } from '../core/ports/single-use.js';
import type { ExpiryRevoker } from '../domain/expiry-revoker.js';
import type { GrantLedger } from '../domain/grant-ledger.js';

/**
 * Namespace of the extended windows in the store's single-use records: the end under the
 * elevation id (ISO 8601), and the version of a versioned grant under {@link grantVersionKey}.
 */
export const EXTENDED_WINDOWS_NAMESPACE = 'extended-window';

/** Where the version an extension left a versioned grant at (an AWS policy's) is kept. */
export function grantVersionKey(elevationId: string): string {
  return `grant-version:${elevationId}`;
}

/** How long an extended end is kept after it passes (the old end's timer looks before then). */
const KEEP_AFTER_END_MS = 3600_000;

export interface ExtendActivityDeps {
  /** Where the grant's own end moves (the ledger, to the target); without it nothing in the target moves. */
  grants?: Pick<GrantLedger, 'extend'>;
  /** This worker's expiry revoker, if it runs one. */
  expiry?: Pick<ExpiryRevoker, 'reschedule'>;
  /** Where the extended ends are kept for every worker's revoker ({@link EXTENDED_WINDOWS_NAMESPACE}). */
  windows?: Pick<SingleUseRecords<string>, 'put' | 'replace'>;
  logger: Pick<Logger, 'info'>;
}

/** The `extendGrant` activity. */
export function extendGrantActivity({
  grants,
  expiry,
  windows,
  logger,
}: ExtendActivityDeps): (req: ExtendGrantRequest) => Promise<ExtendGrantResult> {
  return async (req) => {
    const end = Date.parse(req.expiresAt);
    if (Number.isNaN(end)) throw new Error(`expiresAt ${JSON.stringify(req.expiresAt)} is not an instant`);
    // The target first: when it refuses, neither the store nor the timer has moved.
    const change = await grants?.extend(req);
    if (windows) {
      const keepUntil = new Date(end + KEEP_AFTER_END_MS);
      const keep = async (id: string, value: string) => {
        if (!(await windows.replace(id, value, keepUntil))) await windows.put(id, value, keepUntil);
      };
      // Kept at once: until it is, drift detection takes the new version for someone else's.
      if (change?.version !== undefined) await keep(grantVersionKey(req.elevationId), change.version);
      // Written before the timer moves: a revoker that looks from now on finds the new end.
      await keep(req.elevationId, req.expiresAt);
    }
    const rescheduled = expiry?.reschedule(req.elevationId, end) ?? false;
    logger.info(
      {
        elevationId: req.elevationId,
        from: req.previousExpiresAt,
        to: req.expiresAt,
        rescheduled,
        ...(change?.version !== undefined ? { grantVersion: change.version } : {}),
      },
      'elevation window extended',
    );
    return { rescheduled, at: new Date().toISOString() };
  };
}

/**
 * The version an extension left an elevation's grant at, for drift detection's tamper check
 * (`DriftHooks.grantVersion`); `undefined` when it was never extended.
 */
export function grantVersionFrom(
  windows: Pick<SingleUseRecords<string>, 'peek'>,
): (elevationId: string) => Promise<string | undefined> {
  return (elevationId) => windows.peek(grantVersionKey(elevationId));
}

/** The extended end of an elevation's window, for an expiry revoker's `movedEnd`. */
export function movedEndFrom(
  windows: Pick<SingleUseRecords<string>, 'peek'>,
): (elevationId: string) => Promise<number | undefined> {
  return async (elevationId) => {
    const at = await windows.peek(elevationId);
    const end = at === undefined ? Number.NaN : Date.parse(at);
    return Number.isNaN(end) ? undefined : end;
  };
}
