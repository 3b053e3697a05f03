/**
 * The benchmark's ramp: full elevation lifecycles at rising rates, to find where the stack
 * saturates and which process is busiest there.
 *
 * Each step sends requests through the HTTP API at its rate for `stepSeconds`, open-loop (on
 * schedule, however slow the answers), each from a bot of its own within the step (a bot's second
 * request of the same role would share the first one's grant; the next step uses the same bots
 * again, once they have all ended), each for a short window of `windowSeconds`:
 * request → grant confirmed by read-back → window → revocation confirmed by read-back. The step
 * then waits until every one of its elevations has ended before the next one starts, so steps
 * never overlap. From what the system recorded:
 *
 * - request → active: `grantedAt` minus the moment the client sent the request;
 * - revocation lag: the revocation receipt's `verifiedAt` minus `expiresAt`;
 * - completed a second: see {@link completedPerSecond};
 * - CPU of each watched process from the end of the first windows to the end of the last ones
 *   (`windowSeconds` after the step's start to `windowSeconds` after its end: grants and
 *   revocations both under way), and the bench process's RSS (the worker runs in it) each second.
 *
 * A step is saturated when it completed more than 10 % fewer lifecycles a second than offered,
 * or a p99 exceeded 1 s ({@link saturation}); the result names the first such step and the
 * process that used most CPU in it. The bench process also runs the load generator (the HTTP
 * client), so its CPU is a little more than the API's (and the worker's, unless the worker runs
 * in processes of its own: `--worker-processes`, `bench-workers.ts`).
 */
import type { ElevationView, RevokeReceipt } from '../core/model/elevation.js';
import type { ApiAndWorkerProcess } from '../runtime/api-and-worker.js';
import {
  busiest,
  watchMemory,
  type CpuPercent,
  type CpuSnapshot,
  type ProcessWatch,
} from './bench-observe.js';
import {
  completedPerSecond,
  rampSummary,
  round,
  saturation,
  spread,
  type LifecycleTimes,
} from './bench-load-figures.js';

/** A bot the ramp may use for one lifecycle: its API key and the role it asks for. */
export interface RampBot {
  key: string;
  role: string;
}

export interface RampOptions {
  /** The API's base URL. */
  api: string;
  services: Pick<ApiAndWorkerProcess, 'stores'>;
  /** At least as many as the largest step's lifecycles; each used once a step, in order. */
  bots: readonly RampBot[];
  /** Lifecycles a second offered, one step each, in order. */
  rates: readonly number[];
  stepSeconds: number;
  windowSeconds: number;
  /** How long after its last window ends a step may take to finish before the ramp stops. */
  drainTimeoutSeconds: number;
  watch: ProcessWatch;
  /** The processes whose RSS each step reports (the bench's, and the workers' when they have their own). */
  memoryOf: readonly { label: string; pid: number }[];
  say: (line: string) => void;
}

/** One step's figures (milliseconds, percent of one core, MiB). */
export interface RampStep {
  offeredPerSec: number;
  completedPerSec: number;
  requested: number;
  completed: number;
  /** Requests refused or failed, and elevations that did not end revoked in time. */
  failures: number;
  failureExamples: string[];
  requestToActiveP50Ms: number;
  requestToActiveP99Ms: number;
  revocationLagP50Ms: number;
  revocationLagP99Ms: number;
  /** The last revocation read back, after the step's last window was due to end. */
  lastRevokedAfterStepMs: number;
  cpuPercent: CpuPercent;
  busiest: { process: string; cpuPercent: number } | null;
  /** The largest RSS seen in the step, by process. */
  rssMiBMax: Record<string, number>;
  /** Why it counts as saturated; null when it kept up. */
  saturated: string | null;
}

export interface RampResult {
  stepSeconds: number;
  windowSeconds: number;
  steps: RampStep[];
  /** The first saturated step, and the process busiest in it. */
  saturatedAt: { offeredPerSec: number; reason: string; busiest: RampStep['busiest'] } | null;
  /** The highest offered rate completed before the first saturated step. */
  highestKeptUpPerSec: number | null;
  /** Steps left out because one did not finish in time (later steps would have overlapped it). */
  skippedRates: number[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const OPEN = ['pending_approval', 'approved', 'active', 'revoking'] as const;

interface Sent {
  sentAt: number;
  id?: string;
  error?: string;
}

async function post(api: string, bot: RampBot, windowSeconds: number): Promise<Sent> {
  const sentAt = Date.now();
  try {
    const res = await fetch(`${api}/v1/elevations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${bot.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        role: bot.role,
        durationSeconds: windowSeconds,
        justification: 'benchmark: ramp',
      }),
    });
    if (res.status !== 202)
      return { sentAt, error: `HTTP ${res.status} ${(await res.text()).slice(0, 200)}` };
    return { sentAt, id: ((await res.json()) as ElevationView).id };
  } catch (error) {
    return { sentAt, error: (error as Error).message };
  }
}

async function openCount(services: RampOptions['services']): Promise<number> {
  const counts = await services.stores.elevations.countByStatus();
  return OPEN.reduce((n, s) => n + counts[s], 0);
}

async function runStep(
  o: RampOptions,
  rate: number,
  bots: readonly RampBot[],
): Promise<{ step: RampStep; finished: boolean }> {
  const { stepSeconds: D, windowSeconds: W, services } = o;
  const count = bots.length;
  const openBefore = await openCount(services);
  const memory = watchMemory(o.memoryOf);
  const t0 = Date.now();
  let cpuFrom: CpuSnapshot | undefined;
  const cpuStart = setTimeout(() => (cpuFrom = o.watch.snapshot()), W * 1000);
  const cpu = new Promise<CpuPercent>((resolve) =>
    setTimeout(() => resolve(cpuFrom ? o.watch.since(cpuFrom) : {}), (D + W) * 1000),
  );

  const sends: Promise<Sent>[] = [];
  for (let i = 0; i < count; i += 1) {
    const due = t0 + (i * 1000) / rate;
    if (due > Date.now()) await sleep(due - Date.now());
    sends.push(post(o.api, bots[i]!, W));
  }
  const sent = await Promise.all(sends);
  const deadline = t0 + (D + W + o.drainTimeoutSeconds) * 1000;
  while ((await openCount(services)) > openBefore && Date.now() < deadline) await sleep(500);
  const cpuPercent = await cpu;
  clearTimeout(cpuStart);
  const rss = memory.stop();

  const toActive: number[] = [];
  const lags: number[] = [];
  const lifecycles: LifecycleTimes[] = [];
  const examples = new Set<string>();
  let failures = 0;
  let unfinished = 0;
  for (const s of sent) {
    if (!s.id) {
      failures += 1;
      examples.add(s.error ?? 'no answer');
      continue;
    }
    const view = await services.stores.elevations.getElevation(s.id);
    const events = view?.status === 'revoked' ? await services.stores.auditLog.listEvents(s.id) : [];
    const receipt = events.find((e) => e.type === 'elevation.revoked')?.data.receipt as
      RevokeReceipt | undefined;
    if (!view?.grantedAt || !view.expiresAt || !receipt) {
      failures += 1;
      if (view && OPEN.includes(view.status as (typeof OPEN)[number])) unfinished += 1;
      examples.add(`${s.id}: ${view?.status ?? 'not recorded'}`);
      continue;
    }
    const revokedAt = Date.parse(receipt.verifiedAt);
    toActive.push(Date.parse(view.grantedAt) - s.sentAt);
    lags.push(revokedAt - Date.parse(view.expiresAt));
    lifecycles.push({ sentAt: s.sentAt, revokedAt });
  }
  const activeFigures = spread(toActive);
  const lagFigures = spread(lags);
  const lastRevoked = Math.max(...lifecycles.map((l) => l.revokedAt));
  const outcome = {
    offeredPerSec: rate,
    completedPerSec: completedPerSecond(lifecycles, t0, D, W),
    requestToActiveP99Ms: activeFigures.p99Ms,
    revocationLagP99Ms: lagFigures.p99Ms,
  };
  const step: RampStep = {
    ...outcome,
    requested: count,
    completed: lifecycles.length,
    failures,
    failureExamples: [...examples].slice(0, 3),
    requestToActiveP50Ms: activeFigures.p50Ms,
    revocationLagP50Ms: lagFigures.p50Ms,
    lastRevokedAfterStepMs: lifecycles.length > 0 ? round(lastRevoked - (t0 + (D + W) * 1000)) : NaN,
    cpuPercent,
    busiest: busiest(cpuPercent) ?? null,
    rssMiBMax: Object.fromEntries(Object.entries(rss).map(([label, r]) => [label, r.max])),
    saturated: saturation(outcome) ?? null,
  };
  return { step, finished: unfinished === 0 };
}

function describe(step: RampStep): string {
  const cpu = Object.entries(step.cpuPercent)
    .map(([label, p]) => `${label} ${p}%`)
    .join(', ');
  return (
    `${step.offeredPerSec}/s offered: ${step.completedPerSec}/s completed, ${step.failures} failed; ` +
    `request→active p50/p99 ${step.requestToActiveP50Ms}/${step.requestToActiveP99Ms} ms, ` +
    `revocation lag p50/p99 ${step.revocationLagP50Ms}/${step.revocationLagP99Ms} ms; CPU ${cpu}; ` +
    `RSS max ${Object.entries(step.rssMiBMax)
      .map(([label, mib]) => `${label} ${mib}`)
      .join(', ')} MiB${step.saturated ? `; SATURATED (${step.saturated})` : ''}`
  );
}

/** Runs every step in order (see the file comment). */
export async function measureRamp(o: RampOptions): Promise<RampResult> {
  const counts = o.rates.map((r) => Math.round(r * o.stepSeconds));
  const needed = Math.max(0, ...counts);
  if (needed > o.bots.length) throw new Error(`the ramp needs ${needed} bots, it was given ${o.bots.length}`);
  const steps: RampStep[] = [];
  let skippedRates: number[] = [];
  for (const [k, rate] of o.rates.entries()) {
    o.say(`ramp: ${rate} lifecycles/s for ${o.stepSeconds} s, ${o.windowSeconds} s windows`);
    const { step, finished } = await runStep(o, rate, o.bots.slice(0, counts[k]));
    steps.push(step);
    o.say(`ramp: ${describe(step)}`);
    if (!finished) {
      skippedRates = o.rates.slice(k + 1);
      o.say(`ramp: the step did not finish in time; the rest (${skippedRates.join(', ') || 'none'}) skipped`);
      break;
    }
    await sleep(1000);
  }
  const { highestKeptUpPerSec, firstSaturated: saturatedAt } = rampSummary(steps);
  return {
    stepSeconds: o.stepSeconds,
    windowSeconds: o.windowSeconds,
    steps,
    saturatedAt: saturatedAt
      ? {
          offeredPerSec: saturatedAt.offeredPerSec,
          reason: saturatedAt.saturated!,
          busiest: saturatedAt.busiest,
        }
      : null,
    highestKeptUpPerSec,
    skippedRates,
  };
}
