/**
 * The benchmark's mass-expiry phase: many LDAP elevations whose windows end within about one
 * second of each other, and how long after that instant each membership is gone.
 *
 * Requests go out open-loop at `ratePerSec`, each with a whole-second duration (what the API
 * accepts) chosen so that its window ends at one common instant. A window starts when the grant
 * is confirmed, so the recorded `expiresAt` values spread over about a second plus the spread of
 * grant latency; the spread is reported alongside the figures.
 *
 * Measured from the revocation receipts, not from polling: each elevation's lag is its receipt's
 * `verifiedAt` (read-back confirmed the member gone) minus its own `expiresAt`, and the burst is
 * over when the last receipt's `verifiedAt` is reached, counted from the earliest `expiresAt`.
 * The receipt's time includes the read-back after the LDAP modify, so it is slightly later than
 * the modify itself.
 */
import type { BotPolicy } from '../config/policy.js';
import type { ElevationView, RevokeReceipt } from '../core/model/elevation.js';
import type { ApiAndWorkerProcess } from '../runtime/api-and-worker.js';

/** What the phase needs from the running stack. */
export interface MassExpiryOptions {
  services: Pick<ApiAndWorkerProcess, 'services' | 'stores'>;
  /** One bot per elevation, each allowed `roleOf(i)`. */
  bots: readonly BotPolicy[];
  roleOf: (i: number) => string;
  /** Requests per second while the windows are being opened. */
  ratePerSec: number;
  /** Seconds between the last request and the common end of the windows. */
  leadSeconds: number;
  /** How long to wait for the last revocation after the windows end before giving up. */
  timeoutSeconds: number;
  say: (line: string) => void;
}

/** The phase's figures, in milliseconds. */
export interface MassExpiryResult {
  elevations: number;
  notRevoked: number;
  /** Latest `expiresAt` minus earliest: how close together the windows really ended. */
  expirySpreadMs: number;
  /** Each elevation's receipt `verifiedAt` minus its own `expiresAt`: percentiles and maximum. */
  revocationLagP50Ms: number;
  revocationLagP99Ms: number;
  revocationLagMaxMs: number;
  /** The last receipt's `verifiedAt` minus the earliest `expiresAt`. */
  lastRemovedAfterFirstExpiryMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

/** Opens the windows, waits for every one to be revoked, and reads the receipts. */
export async function measureMassExpiry(options: MassExpiryOptions): Promise<MassExpiryResult> {
  const { services, bots, roleOf, ratePerSec, say } = options;
  const sendSeconds = bots.length / ratePerSec;
  const started = Date.now();
  const endsAt = started + (Math.ceil(sendSeconds) + options.leadSeconds) * 1000;
  say(
    `opening ${bots.length} windows at ${ratePerSec}/s, all ending at ${new Date(endsAt).toISOString()} (±0.5 s, plus grant latency)`,
  );
  const pending: Promise<ElevationView>[] = [];
  for (let i = 0; i < bots.length; i += 1) {
    const due = started + (i * 1000) / ratePerSec;
    if (due > Date.now()) await sleep(due - Date.now());
    const durationSeconds = Math.max(1, Math.round((endsAt - Date.now()) / 1000));
    pending.push(
      services.services.requests
        .request(bots[i]!, { role: roleOf(i), durationSeconds, justification: 'benchmark: mass expiry' })
        .then((r) => r.elevation),
    );
  }
  const ids = (await Promise.all(pending)).map((e) => e.id);
  say(`all ${ids.length} requested after ${Date.now() - started} ms; waiting for every revocation`);

  const deadline = endsAt + options.timeoutSeconds * 1000;
  const views = new Map<string, ElevationView>();
  for (const id of ids) {
    for (;;) {
      const view = await services.stores.elevations.getElevation(id);
      if (view?.status === 'revoked' || Date.now() > deadline) {
        if (view) views.set(id, view);
        break;
      }
      await sleep(100);
    }
  }

  const expiries: number[] = [];
  const removals: number[] = [];
  const lags: number[] = [];
  let notRevoked = 0;
  for (const id of ids) {
    const view = views.get(id);
    if (view?.status !== 'revoked' || !view.expiresAt) {
      notRevoked += 1;
      continue;
    }
    const events = await services.stores.auditLog.listEvents(id);
    const receipt = events.find((e) => e.type === 'elevation.revoked')?.data.receipt as
      RevokeReceipt | undefined;
    if (!receipt) {
      notRevoked += 1;
      continue;
    }
    const expiresAt = Date.parse(view.expiresAt);
    const removedAt = Date.parse(receipt.verifiedAt);
    expiries.push(expiresAt);
    removals.push(removedAt);
    lags.push(removedAt - expiresAt);
  }
  lags.sort((a, b) => a - b);
  // With nothing revoked, every figure is NaN (null in the JSON) rather than an infinity.
  const firstExpiry = expiries.length > 0 ? Math.min(...expiries) : NaN;
  const result: MassExpiryResult = {
    elevations: ids.length,
    notRevoked,
    expirySpreadMs: Math.max(...expiries) - firstExpiry,
    revocationLagP50Ms: pct(lags, 50),
    revocationLagP99Ms: pct(lags, 99),
    revocationLagMaxMs: lags.at(-1) ?? NaN,
    lastRemovedAfterFirstExpiryMs: Math.max(...removals) - firstExpiry,
  };
  say(
    `mass expiry: ${result.elevations} windows ending within ${result.expirySpreadMs} ms; revocation lag ` +
      `p50 / p99 / max ${result.revocationLagP50Ms} / ${result.revocationLagP99Ms} / ` +
      `${result.revocationLagMaxMs} ms; last removed ${result.lastRemovedAfterFirstExpiryMs} ms after the first expiry`,
  );
  return result;
}
