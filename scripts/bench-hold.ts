/**
 * The benchmark's hold: many grants active at once, what holding them costs the worker, and how
 * fast they are taken away when their windows end.
 *
 * N LDAP elevations, no two of the same bot and role, are requested at `ratePerSec` (through the request service,
 * as the expiry phases do, with at most `maxInFlight` requests unanswered), each with a whole-
 * second window chosen so that the first ends `leadSeconds` after the last request is due and
 * the ends follow one another evenly over `spreadSeconds` ({@link holdEnd}). A request that would
 * leave less than {@link MIN_MARGIN_MS} before its window ends is not sent: the stack did not
 * keep up with the rate, and the result says how many were opened.
 *
 * At the plateau (every opened elevation active, or the first window about to end) the bench
 * process's RSS and heap are read, and each worker's (the bench process's own when the worker runs
 * in it, else each worker process's RSS from `/proc` and heap from its `/metrics`), with the SDK's
 * sticky-cache size; CPU is measured from there to the first window's end (the cost of just
 * holding: timers, drift detection over every membership) and from there until the end.
 *
 * The end: every elevation recorded as ended, or — since the workflows record revocations more
 * slowly than the expiry revoker removes access — the directory holding none of the hold's
 * members any more and then {@link RECEIPT_GRACE_MS} for the receipts, or the timeout. Access is
 * judged from the directory itself: slapd's access log gives every opened elevation's removal,
 * receipt or not (`slapdFigures`), and the groups are read for members left. Then, per elevation:
 *
 * - revocation lag: the receipt's `verifiedAt` minus `expiresAt` (access gone: the worker's
 *   expiry revoker's read-back, or the workflow's when the revoker is off or failed), for those
 *   recorded by the end, and slapd's removal minus `expiresAt` for all;
 * - workflow lag: `endedAt` (the workflow recorded the revocation, in workflow time) minus
 *   `expiresAt`. A workflow the worker evicted from its cache (`--max-cached-workflows` below N)
 *   replays its whole history when its timer fires before it can go on, so this is where a
 *   smaller cache shows; the sticky-cache counters over the expiry (forced evictions, misses,
 *   seconds spent replaying) say how much of it there was.
 */
import type { BotPolicy } from '../config/policy.js';
import type { RevokeReceipt } from '../core/model/elevation.js';
import type { ApiAndWorkerProcess } from '../runtime/api-and-worker.js';
import {
  slapdFigures,
  type ExpectedRemoval,
  type ExpirySlapd,
  type Revoked,
  type SlapdTimedFigures,
} from './bench-mass-expiry.js';
import {
  memoryMiB,
  stickyCacheDelta,
  watchMemory,
  type CpuPercent,
  type ProcessWatch,
  type StickyCacheFigures,
  type RssRange,
  type WorkerMemory,
} from './bench-observe.js';
import type { BenchWorker } from './bench-workers.js';
import { holdEnd, round, spread } from './bench-load-figures.js';

/** A request is not sent when its window would end sooner than this after it. */
export const MIN_MARGIN_MS = 5_000;

/** Once the directory holds none of the hold's members, how long to wait for the receipts. */
export const RECEIPT_GRACE_MS = 120_000;

export interface HoldOptions {
  services: Pick<ApiAndWorkerProcess, 'services' | 'stores'>;
  /** One per elevation, in the order of the requests; no (bot, role) pair twice. */
  grants: readonly { bot: BotPolicy; role: string }[];
  ratePerSec: number;
  leadSeconds: number;
  spreadSeconds: number;
  /** Requests sent but not yet answered, at most (default 500). */
  maxInFlight?: number;
  /** How long after the last window's end to wait for its revocation. */
  timeoutSeconds: number;
  /** What the worker runs with, for the report. */
  expiryRevokerConcurrency: number;
  maxCachedWorkflows: number | null;
  /** Where the worker runs: the bench process, or processes of its own. */
  workers: readonly BenchWorker[];
  slapd?: ExpirySlapd;
  /** Each grant's group, as its role names it. */
  groupDnOf: (role: string) => string;
  /** Members the hold's groups still hold. */
  membersLeft: () => Promise<number>;
  watch: ProcessWatch;
  /** The workers' sticky-cache counters now (their `/metrics`, summed). */
  stickyCache: () => Promise<StickyCacheFigures>;
  /** Each worker's memory now. */
  workerMemory: () => Promise<WorkerMemory[]>;
  say: (line: string) => void;
}

export interface HoldResult {
  requested: number;
  opened: number;
  /** Requests refused or failed. */
  failedToOpen: number;
  failureExamples: string[];
  /** Whether requests stopped early because the stack fell behind the rate. */
  behindSchedule: boolean;
  ratePerSec: number;
  /** From the first request to the last answer. */
  openSeconds: number;
  leadSeconds: number;
  spreadSeconds: number;
  /** The worker's sticky cache capacity (the SDK's default from the heap size unless set). */
  maxCachedWorkflows: number | null;
  expiryRevokerConcurrency: number;
  plateau: {
    active: number;
    /** After the first request. */
    reachedAfterMs: number;
    /** The bench process (the API and the load generator, and the worker unless it has its own). */
    rssMiB: number;
    heapUsedMiB: number;
    /** Each worker (the bench process's figures again when the worker runs in it). */
    workers: WorkerMemory[];
    /**
     * Each process's RSS sampled every second from the plateau to the first window's end: V8
     * collects garbage lazily while memory is plentiful, so RSS swings by hundreds of MiB with
     * nothing more held, and one reading says little.
     */
    rssMiBRange: Record<string, RssRange>;
    stickyCacheSize: number;
    /** From the plateau to the first window's end. */
    cpuPercent: CpuPercent;
  };
  expiry: {
    /** Elevations whose workflow had not recorded the revocation when the bench stopped waiting. */
    receiptsOutstanding: number;
    /** Members left in the hold's groups at the end (expected 0). */
    membersLeftInLdap: number;
    /** When the groups were seen empty, after the last window's end (null: not seen). */
    groupsEmptyAfterLastEndMs: number | null;
    expirySpreadMs: number;
    revocationLagP50Ms: number;
    revocationLagP99Ms: number;
    revocationLagMaxMs: number;
    /** The last receipt's `verifiedAt` minus the earliest `expiresAt`. */
    lastRemovedAfterFirstExpiryMs: number;
    workflowLagP50Ms: number;
    workflowLagP99Ms: number;
    workflowLagMaxMs: number;
    /** Receipts whose removal the expiry revoker made (the rest: the workflows). */
    removedByExpiryRevoker: number;
    slapdTimed: SlapdTimedFigures | null;
    /** Over the expiry: counters as differences, the cache size at the end. */
    stickyCache: StickyCacheFigures;
    cpuPercent: CpuPercent;
    /** RSS over the expiry, by process. */
    rssMiBRange: Record<string, RssRange>;
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const OPEN = ['pending_approval', 'approved', 'active', 'revoking'] as const;

/** Opens the windows on schedule; the ids of those the service accepted. */
async function open(
  o: HoldOptions,
  plan: Parameters<typeof holdEnd>[1],
): Promise<{
  ids: string[];
  grantOf: Map<string, number>;
  failed: number;
  examples: Set<string>;
  behind: boolean;
}> {
  const ids: string[] = [];
  const grantOf = new Map<string, number>();
  const examples = new Set<string>();
  const inFlight = new Set<Promise<void>>();
  const maxInFlight = o.maxInFlight ?? 500;
  let failed = 0;
  let behind = false;
  for (let i = 0; i < plan.count; i += 1) {
    const due = plan.start + (i * 1000) / plan.ratePerSec;
    if (due > Date.now()) await sleep(due - Date.now());
    while (inFlight.size >= maxInFlight) await Promise.race(inFlight);
    const remaining = holdEnd(i, plan) - Date.now();
    if (remaining < MIN_MARGIN_MS) {
      behind = true;
      o.say(`hold: ${i} requested, the rest would end too soon: the stack fell behind ${plan.ratePerSec}/s`);
      break;
    }
    const { bot, role } = o.grants[i]!;
    const request = o.services.services.requests
      .request(bot, {
        role,
        durationSeconds: Math.round(remaining / 1000),
        justification: 'benchmark: hold',
      })
      .then(
        (r) => {
          ids.push(r.elevation.id);
          grantOf.set(r.elevation.id, i);
        },
        (error: Error) => {
          failed += 1;
          if (examples.size < 3) examples.add(error.message.slice(0, 200));
        },
      )
      .finally(() => inFlight.delete(request));
    inFlight.add(request);
  }
  await Promise.all(inFlight);
  return { ids, grantOf, failed, examples, behind };
}

async function counts(o: HoldOptions): Promise<{ active: number; open: number }> {
  const c = await o.services.stores.elevations.countByStatus();
  return { active: c.active, open: OPEN.reduce((n, s) => n + c[s], 0) };
}

/** Opens, holds and lets expire N windows (see the file comment). */
export async function measureHold(o: HoldOptions): Promise<HoldResult> {
  const count = o.grants.length;
  const before = await counts(o);
  const plan = {
    start: Date.now(),
    count,
    ratePerSec: o.ratePerSec,
    leadSeconds: o.leadSeconds,
    spreadSeconds: o.spreadSeconds,
  };
  const firstEnd = holdEnd(0, plan);
  const lastEnd = holdEnd(count - 1, plan);
  o.say(
    `hold: opening ${count} windows at ${o.ratePerSec}/s, ending from ${new Date(firstEnd).toISOString()} over ${o.spreadSeconds} s`,
  );
  const opened = await open(o, plan);
  const openSeconds = round((Date.now() - plan.start) / 1000);
  o.say(
    `hold: ${opened.ids.length} opened in ${openSeconds} s (${opened.failed} failed); waiting for the plateau`,
  );

  let active = 0;
  for (;;) {
    active = (await counts(o)).active - before.active;
    if (active >= opened.ids.length || Date.now() > firstEnd - 2000) break;
    await sleep(1000);
  }
  const reachedAfterMs = Date.now() - plan.start;
  const memory = memoryMiB();
  const workers = await o.workerMemory();
  const atPlateau = await o.stickyCache();
  const holding = o.watch.snapshot();
  const processes = [{ label: 'bench', pid: process.pid }, ...o.workers.filter((w) => w.pid !== process.pid)];
  const plateauRss = watchMemory(processes);
  const ownWorkers = o.workers.some((w) => w.pid !== process.pid);
  o.say(
    `hold: plateau of ${active} active after ${round(reachedAfterMs / 1000)} s: bench RSS ${memory.rss} MiB, heap ${memory.heapUsed} MiB` +
      (ownWorkers
        ? workers.map((w) => `; ${w.label} RSS ${w.rssMiB} MiB, heap ${w.heapUsedMiB} MiB`).join('')
        : '') +
      `; ${atPlateau.size} workflows cached`,
  );
  if (firstEnd > Date.now()) await sleep(firstEnd - Date.now());
  const expiring = o.watch.snapshot();
  const plateauCpu = o.watch.since(holding, expiring);
  const plateauRange = plateauRss.stop();

  const rss = watchMemory(processes);
  const deadline = lastEnd + o.timeoutSeconds * 1000;
  let emptyAt: number | null = null;
  for (let k = 0; (await counts(o)).open > before.open && Date.now() < deadline; k += 1) {
    if (emptyAt === null && Date.now() > lastEnd && k % 10 === 0 && (await o.membersLeft()) === 0) {
      emptyAt = Date.now();
      o.say(
        `hold: the groups hold none of the hold's members ${round((emptyAt - lastEnd) / 1000)} s after the last end`,
      );
    }
    if (emptyAt !== null && Date.now() > emptyAt + RECEIPT_GRACE_MS) break;
    await sleep(500);
  }
  const membersLeftInLdap = await o.membersLeft();
  const expiryCpu = o.watch.since(expiring);
  const rssSeen = rss.stop();
  const cache = stickyCacheDelta(atPlateau, await o.stickyCache());

  const revoked: Revoked[] = [];
  const expected: ExpectedRemoval[] = [];
  const workflowLags: number[] = [];
  let byRevoker = 0;
  for (const id of opened.ids) {
    const view = await o.services.stores.elevations.getElevation(id);
    if (!view?.expiresAt) continue;
    const { bot, role } = o.grants[opened.grantOf.get(id)!]!;
    const removal = {
      expiresAt: Date.parse(view.expiresAt),
      groupDn: o.groupDnOf(role),
      principal: bot.ldapDn!,
    };
    if (view.status !== 'revoked') {
      expected.push(removal);
      continue;
    }
    const events = await o.services.stores.auditLog.listEvents(id);
    const receipt = events.find((e) => e.type === 'elevation.revoked')?.data.receipt as
      RevokeReceipt | undefined;
    if (!receipt) {
      expected.push(removal);
      continue;
    }
    const expiresAt = Date.parse(view.expiresAt);
    revoked.push({ expiresAt, receipt });
    expected.push({ ...removal, verifiedAt: Date.parse(receipt.verifiedAt) });
    if (view.endedAt) workflowLags.push(Date.parse(view.endedAt) - expiresAt);
    if (receipt.removedBy === 'expiry-revoker') byRevoker += 1;
  }
  const lag = spread(revoked.map((r) => Date.parse(r.receipt.verifiedAt) - r.expiresAt));
  const workflow = spread(workflowLags);
  // Folded rather than spread into Math.min/max: tens of thousands of arguments overflow the stack.
  // Every opened window's end, receipt or not (the spread is the hold's, not the receipts').
  const firstExpiry = expected.reduce((m, r) => Math.min(m, r.expiresAt), Infinity);
  const lastExpiry = expected.reduce((m, r) => Math.max(m, r.expiresAt), -Infinity);
  const lastRemoved = revoked.reduce((m, r) => Math.max(m, Date.parse(r.receipt.verifiedAt)), -Infinity);
  const slapdTimed =
    o.slapd?.accessLogSuffix && expected.length > 0
      ? await slapdFigures(o.slapd, plan.start, expected)
      : null;

  const result: HoldResult = {
    requested: count,
    opened: opened.ids.length,
    failedToOpen: opened.failed,
    failureExamples: [...opened.examples],
    behindSchedule: opened.behind,
    ratePerSec: o.ratePerSec,
    openSeconds,
    leadSeconds: o.leadSeconds,
    spreadSeconds: o.spreadSeconds,
    maxCachedWorkflows: o.maxCachedWorkflows,
    expiryRevokerConcurrency: o.expiryRevokerConcurrency,
    plateau: {
      active,
      reachedAfterMs,
      rssMiB: memory.rss,
      heapUsedMiB: memory.heapUsed,
      workers,
      rssMiBRange: plateauRange,
      stickyCacheSize: atPlateau.size,
      cpuPercent: plateauCpu,
    },
    expiry: {
      receiptsOutstanding: opened.ids.length - revoked.length,
      membersLeftInLdap,
      groupsEmptyAfterLastEndMs: emptyAt === null ? null : emptyAt - lastEnd,
      expirySpreadMs: expected.length > 0 ? lastExpiry - firstExpiry : NaN,
      revocationLagP50Ms: lag.p50Ms,
      revocationLagP99Ms: lag.p99Ms,
      revocationLagMaxMs: lag.maxMs,
      lastRemovedAfterFirstExpiryMs: revoked.length > 0 ? lastRemoved - firstExpiry : NaN,
      workflowLagP50Ms: workflow.p50Ms,
      workflowLagP99Ms: workflow.p99Ms,
      workflowLagMaxMs: workflow.maxMs,
      removedByExpiryRevoker: byRevoker,
      slapdTimed,
      stickyCache: cache,
      cpuPercent: expiryCpu,
      rssMiBRange: rssSeen,
    },
  };
  const e = result.expiry;
  o.say(
    `hold: ${revoked.length} receipts (${e.receiptsOutstanding} outstanding), ${e.membersLeftInLdap} members left in LDAP` +
      (slapdTimed
        ? `; slapd: ${slapdTimed.timed} removed (${slapdTimed.notInLog} not in its log), lag p50/p99/max ${slapdTimed.removalLagP50Ms}/${slapdTimed.removalLagP99Ms}/${slapdTimed.removalLagMaxMs} ms`
        : '') +
      `; receipts' lag p50/p99/max ${e.revocationLagP50Ms}/${e.revocationLagP99Ms}/${e.revocationLagMaxMs} ms, ` +
      `workflows recorded it p50/p99/max ${e.workflowLagP50Ms}/${e.workflowLagP99Ms}/${e.workflowLagMaxMs} ms after expiry; ` +
      `${cache.forcedEvictions} forced evictions, ${cache.misses} cache misses, ${cache.replaySeconds} s replaying`,
  );
  return result;
}
