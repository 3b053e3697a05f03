/**
 * The benchmark's short windows on one target (PostgreSQL roles, AWS IAM policies): one bot per
 * elevation, requested one after another at most `ratePerSec` a second, each window
 * `durationSeconds` long; then every one waited for until revoked. Its revocation lag is the
 * revocation receipt's `verifiedAt` (the target read back without the grant) minus `expiresAt`.
 */
import type { BotPolicy } from '../config/policy.js';
import type { RevokeReceipt } from '../core/model/elevation.js';
import type { ApiAndWorkerProcess } from '../runtime/api-and-worker.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Each elevation's revocation lag in milliseconds, ascending; throws when one is not revoked in time. */
export async function shortWindowLags(o: {
  services: Pick<ApiAndWorkerProcess, 'services' | 'stores'>;
  bots: readonly BotPolicy[];
  role: string;
  durationSeconds: number;
  ratePerSec: number;
  /** The target, in the error message. */
  what: string;
}): Promise<number[]> {
  const { services } = o;
  const ids: string[] = [];
  for (const bot of o.bots) {
    const due = Date.now() + 1000 / o.ratePerSec;
    const { elevation } = await services.services.requests.request(bot, {
      role: o.role,
      durationSeconds: o.durationSeconds,
      justification: 'benchmark',
    });
    ids.push(elevation.id);
    if (due > Date.now()) await sleep(due - Date.now());
  }
  const lags: number[] = [];
  const deadline = Date.now() + (o.durationSeconds + 120) * 1000;
  for (const id of ids) {
    for (;;) {
      const view = await services.stores.elevations.getElevation(id);
      if (view?.status === 'revoked' && view.expiresAt) {
        const events = await services.stores.auditLog.listEvents(id);
        const receipt = events.find((e) => e.type === 'elevation.revoked')?.data.receipt as
          RevokeReceipt | undefined;
        if (!receipt) throw new Error(`${o.what} elevation ${id} was revoked without a receipt`);
        lags.push(Date.parse(receipt.verifiedAt) - Date.parse(view.expiresAt));
        break;
      }
      if (Date.now() > deadline)
        throw new Error(`${o.what} elevation ${id} was not revoked in time (status ${view?.status})`);
      await sleep(100);
    }
  }
  return lags.sort((a, b) => a - b);
}
