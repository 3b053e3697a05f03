/**
 * The benchmark's expiry phases: many LDAP elevations whose windows end within about one second
 * of each other (mass expiry), or one after another at a steady rate (spread out), and how long
 * after its own expiry each membership is gone.
 *
 * Mass expiry: requests go out open-loop at `ratePerSec`, each with a whole-second duration (what
 * the API accepts) chosen so that its window ends at one common instant. A window starts when the
 * grant is confirmed, so the recorded `expiresAt` values spread over about a second plus the
 * spread of grant latency; the spread is reported alongside the figures. Spread out: the same
 * requests, each for the same short window, so the expiries follow one another at the rate of the
 * requests (10 a second gives one every 100 ms).
 *
 * Timed two ways, neither by polling:
 * - from the revocation receipts: each elevation's lag is its receipt's `verifiedAt` (read-back
 *   confirmed the member gone) minus its own `expiresAt`. The receipt's time includes the
 *   read-back after the LDAP modify, so it is slightly later than the modify itself;
 * - from slapd's own record (`slapdTimed`), when slapd runs with its access log: the time slapd
 *   stamped the modify that deleted the elevation's `member` value (its CSN, taken as slapd starts
 *   applying the modify; see `dev/slapd-access-log.ts`) minus `expiresAt`.
 * In both, "last removed after first expiry" runs from the earliest `expiresAt` to the last
 * removal of the phase.
 */
import type { BotPolicy } from '../config/policy.js';
import type { ElevationView, RevokeReceipt } from '../core/model/elevation.js';
import { normalizeDn } from '../core/rules/dn.js';
import { readMemberChanges } from '../dev/slapd-access-log.js';
import type { SlapdServer } from '../dev/slapd-server.js';
import type { ApiAndWorkerProcess } from '../runtime/api-and-worker.js';

/** The slapd whose access log times the removals (started with `accessLog: true`, or not). */
export type ExpirySlapd = Pick<SlapdServer, 'url' | 'rootDn' | 'rootPassword' | 'accessLogSuffix'>;

/** What every expiry phase needs from the running stack. */
interface ExpiryOptions {
  services: Pick<ApiAndWorkerProcess, 'services' | 'stores'>;
  /** One bot per elevation, each allowed `roleOf(i)`. */
  bots: readonly BotPolicy[];
  roleOf: (i: number) => string;
  /** Requests per second while the windows are being opened. */
  ratePerSec: number;
  /** How long to wait for the last revocation after the windows end before giving up. */
  timeoutSeconds: number;
  /** Read for `slapdTimed`; without it (or without its access log) only receipts are used. */
  slapd?: ExpirySlapd;
  say: (line: string) => void;
}

/** Options of {@link measureMassExpiry}. */
export interface MassExpiryOptions extends ExpiryOptions {
  /** Seconds between the last request and the common end of the windows. */
  leadSeconds: number;
}

/** Options of {@link measureSpreadExpiry}. */
export interface SpreadExpiryOptions extends ExpiryOptions {
  /** Every window's length, so the expiries follow the requests' pace. */
  durationSeconds: number;
}

/** The removal times as slapd recorded them, in milliseconds (0.1 ms resolution). */
export interface SlapdTimedFigures {
  /** Each elevation's removal (the CSN time of the modify that deleted its member value) minus its `expiresAt`. */
  removalLagP50Ms: number;
  removalLagP99Ms: number;
  removalLagMaxMs: number;
  /** The last removal minus the earliest `expiresAt`. */
  lastRemovedAfterFirstExpiryMs: number;
  /** Modifies that removed the phase's members (fewer than removals when they were batched). */
  modifies: number;
  /** Elevations whose removal the access log does not show (expected 0). */
  notInLog: number;
  /** Elevations timed (those the access log shows removed). */
  timed: number;
  /** Each receipt's `verifiedAt` minus slapd's removal (those with a receipt): the read-back and the way back, p50. */
  receiptAfterRemovalP50Ms: number;
}

/** A phase's figures, in milliseconds. */
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
  /** The same from slapd's access log; null when slapd runs without it. */
  slapdTimed: SlapdTimedFigures | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const round = (n: number) => Math.round(n * 10) / 10;
const key = (groupDn: string, member: string) => `${normalizeDn(groupDn)}\n${normalizeDn(member)}`;

/** A revoked elevation's window end and receipt. */
export interface Revoked {
  expiresAt: number;
  receipt: RevokeReceipt;
}

/** A member value that should leave its group when its window ends; `verifiedAt` once a receipt says so. */
export interface ExpectedRemoval {
  expiresAt: number;
  groupDn: string;
  principal: string;
  verifiedAt?: number;
}

/** The LDAP removals the receipts speak of. */
export function removalsOf(revoked: readonly Revoked[]): ExpectedRemoval[] {
  return revoked.flatMap(({ expiresAt, receipt }) =>
    receipt.target.type === 'ldap'
      ? [
          {
            expiresAt,
            groupDn: receipt.target.groupDn,
            principal: receipt.principal,
            verifiedAt: Date.parse(receipt.verifiedAt),
          },
        ]
      : [],
  );
}

/** Sends the requests on schedule, waits for every revocation, and reads the receipts. */
async function runExpiries(
  options: ExpiryOptions,
  durationFor: (i: number) => number,
): Promise<{ ids: string[]; revoked: Revoked[]; notRevoked: number }> {
  const { services, bots, roleOf, ratePerSec } = options;
  const started = Date.now();
  const pending: Promise<ElevationView>[] = [];
  let lastEnd = started;
  for (let i = 0; i < bots.length; i += 1) {
    const due = started + (i * 1000) / ratePerSec;
    if (due > Date.now()) await sleep(due - Date.now());
    const durationSeconds = durationFor(i);
    lastEnd = Math.max(lastEnd, Date.now() + durationSeconds * 1000);
    pending.push(
      services.services.requests
        .request(bots[i]!, { role: roleOf(i), durationSeconds, justification: 'benchmark: expiry' })
        .then((r) => r.elevation),
    );
  }
  const ids = (await Promise.all(pending)).map((e) => e.id);
  options.say(`all ${ids.length} requested after ${Date.now() - started} ms; waiting for every revocation`);

  const deadline = lastEnd + options.timeoutSeconds * 1000;
  const revoked: Revoked[] = [];
  let notRevoked = 0;
  for (const id of ids) {
    let view: ElevationView | undefined;
    for (;;) {
      view = await services.stores.elevations.getElevation(id);
      if (view?.status === 'revoked' || Date.now() > deadline) break;
      await sleep(100);
    }
    const events = view?.status === 'revoked' ? await services.stores.auditLog.listEvents(id) : [];
    const receipt = events.find((e) => e.type === 'elevation.revoked')?.data.receipt as
      RevokeReceipt | undefined;
    if (!receipt || !view?.expiresAt) notRevoked += 1;
    else revoked.push({ expiresAt: Date.parse(view.expiresAt), receipt });
  }
  return { ids, revoked, notRevoked };
}

/**
 * Each expected removal in slapd's access log: the first deletion of its member value from its
 * group after that value was added during the phase (the grant). Read from the directory itself,
 * so it shows access taken away whether or not the elevation's receipt has been recorded yet.
 */
export async function slapdFigures(
  slapd: ExpirySlapd,
  since: number,
  expected: readonly ExpectedRemoval[],
): Promise<SlapdTimedFigures> {
  const changes = await readMemberChanges(
    { url: slapd.url, bindDn: slapd.rootDn, bindPassword: slapd.rootPassword },
    { since, ...(slapd.accessLogSuffix ? { base: slapd.accessLogSuffix } : {}) },
  );
  const added = new Set<string>();
  const removal = new Map<string, { at: number; modify: string }>();
  for (const c of changes) {
    const k = key(c.groupDn, c.memberDn);
    if (c.kind === 'add') added.add(k);
    else if (added.has(k) && !removal.has(k)) removal.set(k, { at: c.at, modify: c.modify });
  }
  const lags: number[] = [];
  const behind: number[] = [];
  const modifies = new Set<string>();
  let lastRemoval = -Infinity;
  let notInLog = 0;
  for (const { expiresAt, groupDn, principal, verifiedAt } of expected) {
    const found = removal.get(key(groupDn, principal));
    if (!found) {
      notInLog += 1;
      continue;
    }
    lags.push(found.at - expiresAt);
    if (verifiedAt !== undefined) behind.push(verifiedAt - found.at);
    modifies.add(found.modify);
    lastRemoval = Math.max(lastRemoval, found.at);
  }
  lags.sort((a, b) => a - b);
  behind.sort((a, b) => a - b);
  // Folded rather than spread into Math.min: tens of thousands of arguments overflow the stack.
  const firstExpiry = expected.reduce((m, r) => Math.min(m, r.expiresAt), Infinity);
  return {
    removalLagP50Ms: round(pct(lags, 50)),
    removalLagP99Ms: round(pct(lags, 99)),
    removalLagMaxMs: round(lags.at(-1) ?? NaN),
    lastRemovedAfterFirstExpiryMs: lags.length > 0 ? round(lastRemoval - firstExpiry) : NaN,
    modifies: modifies.size,
    notInLog,
    timed: lags.length,
    receiptAfterRemovalP50Ms: round(pct(behind, 50)),
  };
}

/** Both timings of one phase, and a line saying what they were. */
async function figures(
  options: ExpiryOptions,
  label: string,
  since: number,
  run: { ids: string[]; revoked: Revoked[]; notRevoked: number },
): Promise<MassExpiryResult> {
  const { revoked } = run;
  const lags = revoked.map((r) => Date.parse(r.receipt.verifiedAt) - r.expiresAt).sort((a, b) => a - b);
  const expiries = revoked.map((r) => r.expiresAt);
  // With nothing revoked, every figure is NaN (null in the JSON) rather than an infinity.
  const firstExpiry = expiries.length > 0 ? Math.min(...expiries) : NaN;
  const lastReceipt = Math.max(...revoked.map((r) => Date.parse(r.receipt.verifiedAt)));
  let slapdTimed: SlapdTimedFigures | null = null;
  if (options.slapd?.accessLogSuffix)
    slapdTimed = await slapdFigures(options.slapd, since, removalsOf(revoked));
  else options.say(`slapd runs without its access log: ${label} is timed by the revocation receipts only`);
  const result: MassExpiryResult = {
    elevations: run.ids.length,
    notRevoked: run.notRevoked,
    expirySpreadMs: Math.max(...expiries) - firstExpiry,
    revocationLagP50Ms: pct(lags, 50),
    revocationLagP99Ms: pct(lags, 99),
    revocationLagMaxMs: lags.at(-1) ?? NaN,
    lastRemovedAfterFirstExpiryMs: lastReceipt - firstExpiry,
    slapdTimed,
  };
  options.say(
    `${label}: ${result.elevations} windows ending within ${result.expirySpreadMs} ms; receipts: lag p50 / p99 / max ` +
      `${result.revocationLagP50Ms} / ${result.revocationLagP99Ms} / ${result.revocationLagMaxMs} ms, last removed ` +
      `${result.lastRemovedAfterFirstExpiryMs} ms after the first expiry`,
  );
  if (slapdTimed) {
    options.say(
      `${label}: slapd's access log: lag p50 / p99 / max ${slapdTimed.removalLagP50Ms} / ${slapdTimed.removalLagP99Ms} / ` +
        `${slapdTimed.removalLagMaxMs} ms, last removed ${slapdTimed.lastRemovedAfterFirstExpiryMs} ms after the first ` +
        `expiry, in ${slapdTimed.modifies} modifies; ${slapdTimed.notInLog} not in the log`,
    );
  }
  return result;
}

/** Opens windows that all end at one instant, waits for every one to be revoked, and times it. */
export async function measureMassExpiry(options: MassExpiryOptions): Promise<MassExpiryResult> {
  const { bots, ratePerSec, say } = options;
  const started = Date.now();
  const endsAt = started + (Math.ceil(bots.length / ratePerSec) + options.leadSeconds) * 1000;
  say(
    `opening ${bots.length} windows at ${ratePerSec}/s, all ending at ${new Date(endsAt).toISOString()} (±0.5 s, plus grant latency)`,
  );
  const run = await runExpiries(options, () => Math.max(1, Math.round((endsAt - Date.now()) / 1000)));
  return figures(options, 'mass expiry', started, run);
}

/** Opens windows of one length at a steady rate, so they end one after another, and times it. */
export async function measureSpreadExpiry(options: SpreadExpiryOptions): Promise<MassExpiryResult> {
  const { bots, ratePerSec, durationSeconds, say } = options;
  const started = Date.now();
  say(
    `opening ${bots.length} windows of ${durationSeconds} s at ${ratePerSec}/s: one ends every ${1000 / ratePerSec} ms`,
  );
  const run = await runExpiries(options, () => durationSeconds);
  return figures(options, 'spread-out expiry', started, run);
}

/** One phase of {@link measureExpiryPhases}; a count of 0 skips it. */
export interface ExpiryPhase {
  count: number;
  ratePerSec: number;
}

/** A phase's result as the benchmark reports it, with the members its groups still hold. */
export type ExpiryPhaseResult = MassExpiryResult & { ratePerSec: number; membersLeftInLdap: number };

/**
 * The benchmark's two expiry phases, mass expiry first, on the first `count` of `bots` each
 * (the spread-out phase reuses the mass-expiry bots, whose elevations are over by then), and
 * after each the members left in `groupDns` (none expected).
 */
export async function measureExpiryPhases(
  options: Omit<ExpiryOptions, 'bots' | 'ratePerSec' | 'services'> & {
    services: Pick<ApiAndWorkerProcess, 'services' | 'stores' | 'target'>;
    bots: readonly BotPolicy[];
    groupDns: readonly string[];
    burst: ExpiryPhase;
    spread: ExpiryPhase & { durationSeconds: number };
  },
): Promise<{ burst: ExpiryPhaseResult | null; spread: ExpiryPhaseResult | null }> {
  const { target } = options.services;
  if (!target) throw new Error('the expiry phases need the stack’s LDAP target');
  const left = async () => {
    let n = 0;
    for (const groupDn of options.groupDns) n += (await target.listMembers({ type: 'ldap', groupDn })).length;
    return n;
  };
  const { burst, spread } = options;
  const burstResult =
    burst.count > 0
      ? await measureMassExpiry({
          ...options,
          bots: options.bots.slice(0, burst.count),
          ratePerSec: burst.ratePerSec,
          leadSeconds: 5,
        })
      : null;
  const burstLeft = burstResult ? await left() : 0;
  const spreadResult =
    spread.count > 0
      ? await measureSpreadExpiry({
          ...options,
          bots: options.bots.slice(0, spread.count),
          ratePerSec: spread.ratePerSec,
          durationSeconds: spread.durationSeconds,
        })
      : null;
  const spreadLeft = spreadResult ? await left() : 0;
  return {
    burst: burstResult && { ...burstResult, ratePerSec: burst.ratePerSec, membersLeftInLdap: burstLeft },
    spread: spreadResult && { ...spreadResult, ratePerSec: spread.ratePerSec, membersLeftInLdap: spreadLeft },
  };
}
