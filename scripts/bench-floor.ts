/**
 * The benchmark's floor: what Temporal and slapd cost on their own, measured in the same run as
 * Elevate so that Elevate's figures can be read as an overhead over it (`--floor`, on by default;
 * `--no-floor` leaves it out).
 *
 * A worker of its own on its own task queue, in the bench process and on the same Temporal,
 * runs two bare workflows (`bench-floor-workflows.ts`) against groups that no policy names (so
 * drift detection leaves them alone):
 *
 * - **start → one LDAP modify** (`floorGrant`), started open-loop at the main phase's count and
 *   rate, as Elevate's requests were: the time from the start's call to the modify's answer,
 *   against Elevate's request → active (which adds the HTTP API, the policy, the risk score, the
 *   audit trail, the lock, the lease and the read-back);
 * - **timer → LDAP modify** (`floorWindow`: add, a durable timer, remove), opened at the mass-expiry
 *   phase's count and rate with whole-second windows all ending at one instant, exactly as that
 *   phase opens Elevate's: each removal's lag after its own window's end and the last one after
 *   the first end, from the activity's answer and from slapd's access log (as Elevate's are).
 *
 * Both use the SDK's defaults for the worker, a client on the worker's own connection with eager
 * start asked for (as Elevate's in-process API does), and Elevate's LDAP client for the modify.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { LdapTarget } from '../integrations/ldap/ldap-target.js';
import { completedPerSecond, rampSummary, saturation, spread } from './bench-load-figures.js';
import { slapdFigures, type ExpirySlapd, type SlapdTimedFigures } from './bench-mass-expiry.js';
import { busiest, type CpuPercent, type CpuSnapshot, type ProcessWatch } from './bench-observe.js';
import type { FloorActivities, FloorMember, FloorWindowResult } from './bench-floor-workflows.js';

const TASK_QUEUE = 'elevate-bench-floor';

export interface FloorOptions {
  /** The bench's Temporal frontend (host:port) and namespace. */
  temporal: { address: string; namespace: string };
  /** Elevate's LDAP client, used by the floor's activities for their one modify each. */
  ldap: Pick<LdapTarget, 'grant' | 'revoke' | 'revokeMany' | 'listMembers'>;
  /** Read for the removals' times; without its access log only the activities' answers time them. */
  slapd?: ExpirySlapd;
  /** Groups no policy names: the floor's members go there. */
  groupDns: readonly string[];
  /** Member values to add (bots' DNs); pairs of group and member are never repeated in a phase. */
  memberDns: readonly string[];
  /** Start → one modify: how many, at what rate; a count of 0 skips it. */
  grant: { count: number; ratePerSec: number };
  /** Timer → modify: how many windows, opened at what rate, ending `leadSeconds` after the last start. */
  window: { count: number; ratePerSec: number; leadSeconds: number };
  /** How long to wait for the last removal after the windows end. */
  timeoutSeconds: number;
  say: (line: string) => void;
}

/** Start → one modify. */
export interface FloorGrantFigures {
  workflows: number;
  failed: number;
  ratePerSec: number;
  /** The modify's answer minus the moment the start was called. */
  startToModifyP50Ms: number;
  startToModifyP99Ms: number;
}

/** Timer → modify, all windows ending together. */
export interface FloorWindowFigures {
  workflows: number;
  failed: number;
  ratePerSec: number;
  /** Latest window end minus earliest. */
  expirySpreadMs: number;
  /** Each removal's answer minus its window's end. */
  removalLagP50Ms: number;
  removalLagP99Ms: number;
  removalLagMaxMs: number;
  /** The last removal's answer minus the earliest window end. */
  lastRemovedAfterFirstExpiryMs: number;
  /** The same from slapd's access log; null without it. */
  slapdTimed: SlapdTimedFigures | null;
  membersLeftInLdap: number;
}

export interface FloorFigures {
  taskQueue: string;
  grant: FloorGrantFigures | null;
  massExpiry: FloorWindowFigures | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (sorted: readonly number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const round = (n: number) => Math.round(n * 10) / 10;

/** The compiled workflows next to this file when run from the build, the source under tsx. */
function workflowsPath(): string {
  const js = new URL('./bench-floor-workflows.js', import.meta.url);
  return existsSync(js) ? js.pathname : new URL('./bench-floor-workflows.ts', import.meta.url).pathname;
}

/** The `i`th pair of a phase: every member in the first group, then every member in the next. */
export function floorMember(
  i: number,
  groupDns: readonly string[],
  memberDns: readonly string[],
): FloorMember {
  const m = memberDns.length;
  if (i >= m * groupDns.length)
    throw new Error(`the floor has ${m * groupDns.length} distinct memberships, not ${i + 1}`);
  return { groupDn: groupDns[Math.floor(i / m)]!, memberDn: memberDns[i % m]! };
}

/** Starts `count` workflows open-loop at `ratePerSec`; each promise is its start time and result. */
async function startOpenLoop<T>(
  count: number,
  ratePerSec: number,
  startOne: (i: number) => Promise<() => Promise<T>>,
): Promise<Promise<{ sentAt: number; result: T | Error }>[]> {
  const began = Date.now();
  const runs: Promise<{ sentAt: number; result: T | Error }>[] = [];
  for (let i = 0; i < count; i += 1) {
    const due = began + (i * 1000) / ratePerSec;
    if (due > Date.now()) await sleep(due - Date.now());
    const sentAt = Date.now();
    runs.push(
      startOne(i)
        .then((result) => result())
        .then(
          (result) => ({ sentAt, result }),
          (err: unknown) => ({ sentAt, result: err instanceof Error ? err : new Error(String(err)) }),
        ),
    );
  }
  return runs;
}

/**
 * Each run's outcome, or "timed out" for those not done by `deadline` (epoch ms). One timer for
 * all, cleared when they are done, so nothing keeps the process alive after the phase.
 */
async function untilDeadline<T>(
  runs: readonly Promise<{ sentAt: number; result: T | Error }>[],
  deadline: number,
): Promise<{ sentAt: number; result: T | Error }[]> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<{ sentAt: number; result: Error }>((resolve) => {
    timer = setTimeout(
      () => resolve({ sentAt: 0, result: new Error('timed out') }),
      Math.max(0, deadline - Date.now()),
    );
  });
  try {
    return await Promise.all(runs.map((run) => Promise.race([run, timedOut])));
  } finally {
    clearTimeout(timer);
  }
}

/** Starts one of the floor's workflows with its arguments; its handle answers its result. */
type Start = (
  type: 'floorGrant' | 'floorWindow',
  id: string,
  args: unknown[],
) => Promise<{ result: () => Promise<unknown> }>;

/** The floor's worker, running, and what it can measure. */
export interface Floor {
  /** Start → one modify, then the windows ending together, as the options ask. */
  measure(): Promise<FloorFigures>;
  /** Full bare lifecycles at rising rates, as the ramp runs Elevate's (`bench-ramp.ts`). */
  ramp(o: FloorRampOptions): Promise<FloorRampResult>;
  stop(): Promise<void>;
}

/** Starts the floor's worker (its workflow bundle is built now, a few seconds). */
export async function startFloor(o: FloorOptions): Promise<Floor> {
  const activities: FloorActivities = {
    addMember: async ({ groupDn, memberDn }) => {
      await o.ldap.grant({ type: 'ldap', groupDn }, memberDn);
      return Date.now();
    },
    removeMember: async ({ groupDn, memberDn }) => {
      await o.ldap.revoke({ type: 'ldap', groupDn, member: memberDn });
      return Date.now();
    },
  };
  const connection = await NativeConnection.connect({ address: o.temporal.address });
  const worker = await Worker.create({
    connection,
    namespace: o.temporal.namespace,
    taskQueue: TASK_QUEUE,
    workflowsPath: workflowsPath(),
    activities,
  }).catch(async (err: unknown) => {
    await connection.close();
    throw err;
  });
  const running = worker.run();
  const client = new Client({ connection, namespace: o.temporal.namespace });
  const tag = randomUUID().slice(0, 8);
  const start: Start = (type, id, args) =>
    client.workflow.start(type, {
      taskQueue: TASK_QUEUE,
      workflowId: `bench-floor-${tag}-${id}`,
      args,
      requestEagerStart: true,
    });
  return {
    measure: async () => ({
      taskQueue: TASK_QUEUE,
      grant: o.grant.count > 0 ? await grantPhase(o, start) : null,
      massExpiry: o.window.count > 0 ? await windowPhase(o, start) : null,
    }),
    ramp: (r) => rampPhase(o, start, r),
    stop: async () => {
      worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

async function grantPhase(o: FloorOptions, start: Start): Promise<FloorGrantFigures> {
  const { count, ratePerSec } = o.grant;
  o.say(`floor: starting ${count} bare workflows at ${ratePerSec}/s, each one LDAP modify`);
  const members = Array.from({ length: count }, (_, i) => floorMember(i, o.groupDns, o.memberDns));
  const runs = await startOpenLoop(count, ratePerSec, async (i) => {
    const handle = await start('floorGrant', `grant-${i}`, [members[i]]);
    return () => handle.result() as Promise<number>;
  });
  const done = await Promise.all(runs);
  const latencies = done
    .flatMap(({ sentAt, result }) => (typeof result === 'number' ? [result - sentAt] : []))
    .sort((a, b) => a - b);
  const failed = done.filter((d) => typeof d.result !== 'number').length;
  // Put back as found: the groups hold only their placeholder again.
  const removed = await o.ldap.revokeMany(
    members.map((m) => ({ type: 'ldap', groupDn: m.groupDn, member: m.memberDn })),
  );
  const notRemoved = removed.filter((r) => r instanceof Error);
  if (notRemoved.length > 0)
    throw new Error(
      `floor: ${notRemoved.length} members could not be removed again: ${String(notRemoved[0])}`,
    );
  const figures: FloorGrantFigures = {
    workflows: count,
    failed,
    ratePerSec,
    startToModifyP50Ms: round(pct(latencies, 50)),
    startToModifyP99Ms: round(pct(latencies, 99)),
  };
  o.say(
    `floor: start → modify p50 / p99 ${figures.startToModifyP50Ms} / ${figures.startToModifyP99Ms} ms; ${failed} failed`,
  );
  return figures;
}

async function windowPhase(o: FloorOptions, start: Start): Promise<FloorWindowFigures> {
  const { count, ratePerSec, leadSeconds } = o.window;
  const since = Date.now();
  const endsAt = since + (Math.ceil(count / ratePerSec) + leadSeconds) * 1000;
  o.say(
    `floor: opening ${count} bare windows at ${ratePerSec}/s, all ending at ${new Date(endsAt).toISOString()} (±0.5 s, plus the add)`,
  );
  const members = Array.from({ length: count }, (_, i) => floorMember(i, o.groupDns, o.memberDns));
  const runs = await startOpenLoop(count, ratePerSec, async (i) => {
    const durationSeconds = Math.max(1, Math.round((endsAt - Date.now()) / 1000));
    const handle = await start('floorWindow', `window-${i}`, [{ ...members[i]!, durationSeconds }]);
    return () => handle.result() as Promise<FloorWindowResult>;
  });
  const deadline = endsAt + o.timeoutSeconds * 1000;
  const done = await untilDeadline(runs, deadline);
  const windows = done.map((d, i) => ({ member: members[i]!, result: d.result }));
  const ended = windows.flatMap(({ member, result }) =>
    result instanceof Error ? [] : [{ member, ...result }],
  );
  const lags = ended.map((w) => w.removedAt - w.expiresAt).sort((a, b) => a - b);
  const firstEnd = ended.reduce((m, w) => Math.min(m, w.expiresAt), Infinity);
  const lastEnd = ended.reduce((m, w) => Math.max(m, w.expiresAt), -Infinity);
  const lastRemoved = ended.reduce((m, w) => Math.max(m, w.removedAt), -Infinity);
  const slapdTimed = o.slapd?.accessLogSuffix
    ? await slapdFigures(
        o.slapd,
        since,
        ended.map((w) => ({
          expiresAt: w.expiresAt,
          groupDn: w.member.groupDn,
          principal: w.member.memberDn,
        })),
      )
    : null;
  let membersLeftInLdap = 0;
  for (const groupDn of new Set(members.map((m) => m.groupDn)))
    membersLeftInLdap += (await o.ldap.listMembers({ type: 'ldap', groupDn })).length;
  const figures: FloorWindowFigures = {
    workflows: count,
    failed: count - ended.length,
    ratePerSec,
    expirySpreadMs: ended.length > 0 ? lastEnd - firstEnd : NaN,
    removalLagP50Ms: round(pct(lags, 50)),
    removalLagP99Ms: round(pct(lags, 99)),
    removalLagMaxMs: round(lags.at(-1) ?? NaN),
    lastRemovedAfterFirstExpiryMs: ended.length > 0 ? lastRemoved - firstEnd : NaN,
    slapdTimed,
    membersLeftInLdap,
  };
  o.say(
    `floor: ${ended.length} bare windows ending within ${figures.expirySpreadMs} ms; removal lag p50 / p99 / max ` +
      `${figures.removalLagP50Ms} / ${figures.removalLagP99Ms} / ${figures.removalLagMaxMs} ms, last removed ` +
      `${figures.lastRemovedAfterFirstExpiryMs} ms after the first end` +
      (slapdTimed
        ? ` (slapd's log: ${slapdTimed.lastRemovedAfterFirstExpiryMs} ms, p99 ${slapdTimed.removalLagP99Ms} ms)`
        : ''),
  );
  return figures;
}

/** Elevate's figures from the same run that the floor is set against. */
export interface ElevateFigures {
  requestToActiveP50Ms: number;
  requestToActiveP99Ms: number;
  /** The mass-expiry phase (`bench-mass-expiry.ts`), when it ran. */
  massExpiry: {
    lastRemovedAfterFirstExpiryMs: number;
    revocationLagP99Ms: number;
    slapdTimed: SlapdTimedFigures | null;
  } | null;
  /** The most lifecycles a second a step of Elevate's ramp completed, when it ran. */
  rampMostCompletedPerSec: number | undefined;
}

/**
 * Elevate's figure divided by the floor's, for each pair measured (1.5 = half as long again as
 * the bare workflow; below 1, Elevate did better than it). The issue's goal is 3 at most.
 * Null where either side did not run or has no figure.
 */
export function floorOverhead(
  elevate: ElevateFigures,
  floor: FloorFigures & { ramp: FloorRampResult | null },
) {
  const ratio = (a: number | undefined, b: number | undefined) =>
    a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b <= 0
      ? null
      : Math.round((a / b) * 100) / 100;
  const e = elevate.massExpiry;
  const f = floor.massExpiry;
  return {
    /** Request → active (grant read back) against start → modify answered. */
    requestToActiveP50: ratio(elevate.requestToActiveP50Ms, floor.grant?.startToModifyP50Ms),
    requestToActiveP99: ratio(elevate.requestToActiveP99Ms, floor.grant?.startToModifyP99Ms),
    /** Access gone, by slapd's log: the removal lag's maximum. */
    massExpiryRemovalLagMax: ratio(e?.slapdTimed?.removalLagMaxMs, f?.slapdTimed?.removalLagMaxMs),
    /** Access gone, by slapd's log: removal lag p99. */
    massExpiryRemovalLagP99: ratio(e?.slapdTimed?.removalLagP99Ms, f?.slapdTimed?.removalLagP99Ms),
    /** Removal lag p99: Elevate's receipts (read back) against the floor's removals answered. */
    massExpiryReceiptLagP99: ratio(e?.revocationLagP99Ms, f?.removalLagP99Ms),
    /** Throughput, the other way up: the floor's most lifecycles a second over Elevate's. */
    rampFloorOverElevate: ratio(floor.ramp?.mostCompletedPerSec, elevate.rampMostCompletedPerSec),
  };
}

/** The floor's ramp: the rates, as Elevate's ramp has them, and the watch of the stack's CPU. */
export interface FloorRampOptions {
  rates: readonly number[];
  stepSeconds: number;
  windowSeconds: number;
  /** How long after its last window ends a step may take to finish before the ramp stops. */
  drainTimeoutSeconds: number;
  watch?: Pick<ProcessWatch, 'snapshot' | 'since'>;
}

/** One step of bare lifecycles (add → timer → remove), figured as Elevate's ramp figures its steps. */
export interface FloorRampStep {
  offeredPerSec: number;
  completedPerSec: number;
  started: number;
  completed: number;
  failed: number;
  /** Start called → the add answered. */
  startToAddedP50Ms: number;
  startToAddedP99Ms: number;
  /** The remove answered → the window's end. */
  removalLagP50Ms: number;
  removalLagP99Ms: number;
  cpuPercent: CpuPercent;
  busiest: { process: string; cpuPercent: number } | null;
  saturated: string | null;
}

export interface FloorRampResult {
  stepSeconds: number;
  windowSeconds: number;
  steps: FloorRampStep[];
  highestKeptUpPerSec: number | null;
  saturatedAt: { offeredPerSec: number; reason: string } | null;
  /** The most lifecycles a second any step completed. */
  mostCompletedPerSec: number;
}

async function rampPhase(o: FloorOptions, start: Start, r: FloorRampOptions): Promise<FloorRampResult> {
  const { stepSeconds: D, windowSeconds: W } = r;
  const steps: FloorRampStep[] = [];
  for (const rate of r.rates) {
    const count = Math.round(rate * D);
    o.say(`floor ramp: ${rate} bare lifecycles/s for ${D} s, ${W} s windows`);
    const members = Array.from({ length: count }, (_, i) => floorMember(i, o.groupDns, o.memberDns));
    const t0 = Date.now();
    let cpuFrom: CpuSnapshot | undefined;
    const cpuStart = setTimeout(() => (cpuFrom = r.watch?.snapshot()), W * 1000);
    const cpu = new Promise<CpuPercent>((resolve) =>
      setTimeout(() => resolve(cpuFrom && r.watch ? r.watch.since(cpuFrom) : {}), (D + W) * 1000),
    );
    const runs = await startOpenLoop(count, rate, async (i) => {
      const handle = await start('floorWindow', `ramp-${rate}-${t0}-${i}`, [
        { ...members[i]!, durationSeconds: W },
      ]);
      return () => handle.result() as Promise<FloorWindowResult>;
    });
    const deadline = t0 + (D + W + r.drainTimeoutSeconds) * 1000;
    const done = await untilDeadline(runs, deadline);
    const cpuPercent = await cpu;
    clearTimeout(cpuStart);
    const ended = done.flatMap(({ sentAt, result }) =>
      result instanceof Error ? [] : [{ sentAt, ...result }],
    );
    const toAdded = spread(ended.map((w) => w.addedAt - w.sentAt));
    const lags = spread(ended.map((w) => w.removedAt - w.expiresAt));
    const outcome = {
      offeredPerSec: rate,
      completedPerSec: completedPerSecond(
        ended.map((w) => ({ sentAt: w.sentAt, revokedAt: w.removedAt })),
        t0,
        D,
        W,
      ),
      requestToActiveP99Ms: toAdded.p99Ms,
      revocationLagP99Ms: lags.p99Ms,
    };
    const step: FloorRampStep = {
      offeredPerSec: rate,
      completedPerSec: outcome.completedPerSec,
      started: count,
      completed: ended.length,
      failed: count - ended.length,
      startToAddedP50Ms: toAdded.p50Ms,
      startToAddedP99Ms: toAdded.p99Ms,
      removalLagP50Ms: lags.p50Ms,
      removalLagP99Ms: lags.p99Ms,
      cpuPercent,
      busiest: busiest(cpuPercent) ?? null,
      saturated: saturation(outcome) ?? null,
    };
    steps.push(step);
    o.say(
      `floor ramp: ${rate}/s offered: ${step.completedPerSec}/s completed, ${step.failed} failed; start→added p50/p99 ` +
        `${step.startToAddedP50Ms}/${step.startToAddedP99Ms} ms, removal lag p50/p99 ${step.removalLagP50Ms}/` +
        `${step.removalLagP99Ms} ms; CPU ${Object.entries(cpuPercent)
          .map(([label, p]) => `${label} ${p}%`)
          .join(', ')}${step.saturated ? `; SATURATED (${step.saturated})` : ''}`,
    );
    if (step.failed > 0) {
      o.say('floor ramp: the step did not finish in time; the rest skipped');
      break;
    }
    await sleep(1000);
  }
  const { highestKeptUpPerSec, firstSaturated: at } = rampSummary(steps);
  return {
    stepSeconds: D,
    windowSeconds: W,
    steps,
    highestKeptUpPerSec,
    saturatedAt: at ? { offeredPerSec: at.offeredPerSec, reason: at.saturated! } : null,
    mostCompletedPerSec: Math.max(0, ...steps.map((s) => s.completedPerSec)),
  };
}
