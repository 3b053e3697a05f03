/**
 * The worker's side of extending an active elevation (`extendGrant`): the grant's window now
 * ends later, so whatever would take it away at the old end must wait for the new one.
 *
 * - The worker's expiry revoker (`domain/expiry-revoker.ts`) keeps an in-memory timer on the
 *   worker that confirmed the grant, which need not be this one. The new end is written to the
 *   store, where every worker's revoker looks when the old end of an extendable grant comes,
 *   and this worker's own timer (if it has the grant) moves at once.
 * - LDAP and PostgreSQL grants carry no end of their own, so nothing in the target changes. (AWS
 *   attach mode, whose policy carries an expiry condition, is refused extensions by the policy
 *   schema until the condition can move with it: `config/extend-policy.ts`.)
 * - A role bundle's elevation is never extended (its workflow refuses it, `workflows/extend.ts`):
 *   its grants are not on the expiry revoker, and one window moving for several targets is
 *   left for a request of the bundle again.
 */
import type { Logger } from 'pino';
import type { ExtendGrantRequest } from '../core/ports/activities.js';
import type { ExtendGrantResult } from '../core/model/extend.js';
import type { SingleUseRecords } from '../core/ports/single-use.js';
import type { ExpiryRevoker } from '../domain/expiry-revoker.js';

/** Namespace of the extended windows' ends in the store's single-use records (value: ISO 8601). */
export const EXTENDED_WINDOWS_NAMESPACE = 'extended-window';

/** How long an extended end is kept after it passes (the old end's timer looks before then). */
const KEEP_AFTER_END_MS = 3600_000;

export interface ExtendActivityDeps {
  /** This worker's expiry revoker, if it runs one. */
  expiry?: Pick<ExpiryRevoker, 'reschedule'>;
  /** Where the extended ends are kept for every worker's revoker ({@link EXTENDED_WINDOWS_NAMESPACE}). */
  windows?: Pick<SingleUseRecords<string>, 'put' | 'replace'>;
  logger: Pick<Logger, 'info'>;
}

/** The `extendGrant` activity. */
export function extendGrantActivity({
  expiry,
  windows,
  logger,
}: ExtendActivityDeps): (req: ExtendGrantRequest) => Promise<ExtendGrantResult> {
  return async (req) => {
    const end = Date.parse(req.expiresAt);
    if (Number.isNaN(end)) throw new Error(`expiresAt ${JSON.stringify(req.expiresAt)} is not an instant`);
    if (windows) {
      // Written before the timer moves: a revoker that looks from now on finds the new end.
      const keepUntil = new Date(end + KEEP_AFTER_END_MS);
      if (!(await windows.replace(req.elevationId, req.expiresAt, keepUntil))) {
        await windows.put(req.elevationId, req.expiresAt, keepUntil);
      }
    }
    const rescheduled = expiry?.reschedule(req.elevationId, end) ?? false;
    logger.info(
      { elevationId: req.elevationId, from: req.previousExpiresAt, to: req.expiresAt, rescheduled },
      'elevation window extended',
    );
    return { rescheduled, at: new Date().toISOString() };
  };
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
