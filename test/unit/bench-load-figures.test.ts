/**
 * The arithmetic of the benchmark's load phases, apart from any running stack: the completion
 * rate a ramp step scores whether the stack keeps up or falls behind, when a step counts as
 * saturated, when held windows end, and how CPU and sticky-cache figures are read from `/proc`
 * and `/metrics` text.
 */
import { describe, expect, it } from 'vitest';
import {
  completedPerSecond,
  holdEnd,
  holdLayout,
  parseRates,
  rampSummary,
  saturation,
  spread,
  type LifecycleTimes,
} from '../../scripts/bench-load-figures.js';
import { policySchema } from '../../config/policy.js';
import { generateSecret, hashSecret } from '../../core/crypto/credentials.js';
import { checkScheduleInput, loadPlan } from '../../scripts/bench-load.js';
import {
  busiest,
  cpuBetween,
  parseMachineStat,
  parseProcStat,
  parseStickyCache,
  stickyCacheDelta,
  ticksOf,
} from '../../scripts/bench-observe.js';

const T0 = 1_000_000;

/** `count` lifecycles offered at `rate`, each sent on schedule and done `done(i)` ms after it. */
function lifecycles(rate: number, count: number, done: (i: number) => number): LifecycleTimes[] {
  return Array.from({ length: count }, (_, i) => {
    const sentAt = T0 + (i * 1000) / rate;
    return { sentAt, revokedAt: sentAt + done(i) };
  });
}

describe('completedPerSecond', () => {
  it('when every lifecycle takes its window plus a steady overhead, then the step scores the offered rate', () => {
    const steps = lifecycles(40, 40 * 25, () => 3000 + 120);
    expect(completedPerSecond(steps, T0, 25, 3)).toBe(40);
  });

  it('when the stack completes only 25 a second of 40 offered, then the step scores about 25', () => {
    // Completions queue: the i-th is done at 3 s + i/25 s after the step starts.
    const steps = Array.from({ length: 1000 }, (_, i) => ({
      sentAt: T0 + (i * 1000) / 40,
      revokedAt: T0 + 3000 + (i * 1000) / 25,
    }));
    const rate = completedPerSecond(steps, T0, 25, 3);
    expect(rate).toBeGreaterThan(23);
    expect(rate).toBeLessThan(27);
  });

  it('when a few lifecycles are very slow, then only they are lost, not the rate', () => {
    const steps = lifecycles(20, 500, (i) => (i % 100 === 7 ? 3000 + 20_000 : 3100));
    expect(completedPerSecond(steps, T0, 25, 3)).toBeGreaterThanOrEqual(19.8);
  });

  it('when nothing completed, then the rate is 0', () => {
    expect(completedPerSecond([], T0, 25, 3)).toBe(0);
  });
});

describe('saturation', () => {
  const kept = { offeredPerSec: 40, completedPerSec: 39, requestToActiveP99Ms: 300, revocationLagP99Ms: 200 };

  it('when the step kept up within 10 % and both p99s are under 1 s, then it is not saturated', () => {
    expect(saturation(kept)).toBeUndefined();
  });

  it('when it completed more than 10 % fewer than offered, then it is saturated, with the rates named', () => {
    expect(saturation({ ...kept, completedPerSec: 35 })).toMatch(/35\/s of 40\/s/);
  });

  it('when a p99 is over 1 s, then it is saturated, naming which', () => {
    expect(saturation({ ...kept, requestToActiveP99Ms: 1500 })).toMatch(/request→active/);
    expect(saturation({ ...kept, revocationLagP99Ms: 1001 })).toMatch(/revocation lag/);
  });

  it('when a p99 could not be measured (NaN), then it does not pass for a fast one', () => {
    expect(saturation({ ...kept, revocationLagP99Ms: NaN })).toMatch(/revocation lag/);
  });
});

describe('holdEnd', () => {
  const plan = { start: T0, count: 1001, ratePerSec: 100, leadSeconds: 30, spreadSeconds: 60 };

  it('when planned, then the first window ends the lead after the last request and the last one the spread later', () => {
    expect(holdEnd(0, plan)).toBe(T0 + (10.01 + 30) * 1000);
    expect(holdEnd(1000, plan)).toBe(T0 + (10.01 + 30 + 60) * 1000);
    expect(holdEnd(500, plan)).toBe(T0 + (10.01 + 30 + 30) * 1000);
  });

  it('when there is one window, then it ends at the lead', () => {
    expect(holdEnd(0, { ...plan, count: 1 })).toBe(T0 + (0.01 + 30) * 1000);
  });
});

describe('holdLayout', () => {
  const pairs = (count: number, maxBots: number, groupSize: number) => {
    const layout = holdLayout(count, maxBots, groupSize);
    return { layout, grants: Array.from({ length: count }, (_, j) => layout.grantOf(j)) };
  };

  it('when there are more grants than bots, then no (bot, group) pair repeats and no group outgrows its size', () => {
    const { layout, grants } = pairs(50_000, 5_000, 1_000);
    expect(layout).toMatchObject({ bots: 5_000, groups: 50 });
    expect(new Set(grants.map((g) => `${g.bot}/${g.group}`)).size).toBe(50_000);
    const members = new Map<number, number>();
    for (const g of grants) members.set(g.group, (members.get(g.group) ?? 0) + 1);
    expect(Math.max(...members.values())).toBe(1_000);
    expect(Math.max(...grants.map((g) => g.group))).toBe(49);
  });

  it('when a bot is asked for its groups, then they are exactly those its grants use', () => {
    const { layout, grants } = pairs(2_345, 1_000, 300);
    for (const bot of [0, 344, 345, 999]) {
      const used = grants.filter((g) => g.bot === bot).map((g) => g.group);
      expect(layout.groupsOf(bot)).toEqual(used);
    }
    expect(layout.groupsOf(344)).toHaveLength(3);
    expect(layout.groupsOf(345)).toHaveLength(2);
  });

  it('when there are fewer grants than the bot limit, then each grant has a bot of its own', () => {
    const { layout, grants } = pairs(200, 5_000, 1_000);
    expect(layout).toMatchObject({ bots: 200, groups: 1 });
    expect(new Set(grants.map((g) => g.bot)).size).toBe(200);
  });
});

describe('parseRates and spread', () => {
  it('when given rates, then they are read in order; when one is not a positive number, then it is refused', () => {
    expect(parseRates('20, 40,60')).toEqual([20, 40, 60]);
    expect(() => parseRates('20,x')).toThrow(/--ramp/);
    expect(() => parseRates('20,0')).toThrow(/--ramp/);
  });

  it('when given values in any order, then p50, p99 and max are those of the sorted values', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(spread(values)).toEqual({ p50Ms: 50, p99Ms: 99, maxMs: 100 });
  });
});

describe('CPU from /proc', () => {
  // Real lines, with a command name holding spaces and parentheses.
  const stat = (pid: number, ppid: number, utime: number, stime: number, cutime = 0, cstime = 0) =>
    `${pid} (postgres: a (b)) S ${ppid} 1 1 0 -1 4194560 100 0 0 0 ${utime} ${stime} ${cutime} ${cstime} 20 0 1 0 100 1000 10`;

  it('when a stat line has spaces and parentheses in its name, then the times are read after the last one', () => {
    expect(parseProcStat(stat(42, 7, 150, 50, 3, 4))).toEqual({
      pid: 42,
      ppid: 7,
      ownTicks: 200,
      childTicks: 7,
    });
    expect(parseProcStat('garbage')).toBeUndefined();
  });

  it("when a tree is asked for, then descendants and the children they reaped count, and others' processes do not", () => {
    const stats = [
      stat(10, 1, 100, 0, 30, 0),
      stat(11, 10, 20, 5),
      stat(12, 11, 7, 0),
      stat(99, 1, 1000, 0),
    ].map((l) => parseProcStat(l)!);
    expect(ticksOf(10, stats, true)).toBe(100 + 30 + 25 + 7);
    expect(ticksOf(10, stats, false)).toBe(100);
    expect(ticksOf(55, stats, true)).toBeUndefined();
  });

  it("when two snapshots are compared, then each process is a percent of one core and the machine's unexplained share is 'other'", () => {
    const machine = parseMachineStat('cpu  100 0 50 800 50 0 0 0 0 0\ncpu0 1 2 3\n')!;
    expect(machine).toEqual({ busy: 150, total: 1000 });
    const a = { at: 0, ticks: { bench: 100, temporal: 50 }, machineBusy: 1000 };
    const b = { at: 10_000, ticks: { bench: 600, temporal: 350, gone: 1 }, machineBusy: 2_500 };
    const cpu = cpuBetween(a, b, 100);
    expect(cpu).toEqual({ bench: 50, temporal: 30, machine: 150, other: 70 });
    expect(busiest(cpu)).toEqual({ process: 'bench', cpuPercent: 50 });
  });
});

describe('sticky cache from /metrics', () => {
  const exposition = (hits: number, evictions: number) =>
    [
      '# HELP temporal_sticky_cache_size x',
      '# TYPE temporal_sticky_cache_size gauge',
      'temporal_sticky_cache_size{namespace="default",task_queue="q"} 120',
      `temporal_sticky_cache_hit_total{namespace="default",task_queue="q"} ${hits}`,
      `temporal_sticky_cache_total_forced_eviction_total{namespace="default",task_queue="q"} ${evictions}`,
      'temporal_workflow_task_replay_latency_seconds_sum{namespace="default",task_queue="q",workflow_type="a"} 0.25',
      'temporal_workflow_task_replay_latency_seconds_sum{namespace="default",task_queue="q",workflow_type="b"} 0.5',
      'temporal_workflow_task_replay_latency_seconds_count{namespace="default",task_queue="q"} 999',
      'elevate_sticky_cache_size 5',
    ].join('\n');

  it('when read, then each series is summed over its labels and missing ones are 0', () => {
    expect(parseStickyCache(exposition(10, 2))).toEqual({
      size: 120,
      hits: 10,
      misses: 0,
      forcedEvictions: 2,
      replaySeconds: 0.75,
    });
  });

  it('when two readings are compared, then counters are differences and the size is the later one', () => {
    const a = parseStickyCache(exposition(10, 2));
    const b = { ...parseStickyCache(exposition(50, 9)), size: 80 };
    expect(stickyCacheDelta(a, b)).toEqual({
      size: 80,
      hits: 40,
      misses: 0,
      forcedEvictions: 7,
      replaySeconds: 0,
    });
  });
});

describe('checkScheduleInput', () => {
  const suffix = 'dc=bench,dc=example';
  const policyFor = (hold: string) => {
    const plan = loadPlan({ hold }, { suffix, rampRoles: ['bench-role-0'] });
    const policy = policySchema.parse({
      version: 1,
      admins: [{ id: 'admin', tokenHash: hashSecret(generateSecret('admin')) }],
      bots: plan.bots,
      roles: plan.roles,
    });
    return { plan, policy };
  };

  it('when the hold grows, then the schedule input does not grow with its bots: the worker reads their principals from its policy', () => {
    const small = policyFor('100');
    const large = policyFor('3000');
    expect(large.policy.bots.length - small.policy.bots.length).toBeGreaterThan(1000);
    const a = checkScheduleInput(small.policy, small.plan);
    const b = checkScheduleInput(large.policy, large.plan);
    // One entry per role: 2,900 more bots would have added some 180 KB of principals.
    expect(b - a).toBeLessThan(2_000);
  });

  it("when the input is over Temporal's blob limit, then it is refused before anything starts, naming the flag", () => {
    const { policy, plan } = policyFor('100');
    expect(() => checkScheduleInput(policy, { ...plan, blobLimitBytes: 100 })).toThrow(
      /--temporal-blob-limit/,
    );
  });
});

describe('rampSummary', () => {
  it('names the first saturated step and the highest rate kept up with before it', () => {
    const step = (offeredPerSec: number, saturated: string | null) => ({ offeredPerSec, saturated });
    const steps = [step(10, null), step(20, null), step(30, 'slow'), step(40, null)];
    expect(rampSummary(steps)).toEqual({ highestKeptUpPerSec: 20, firstSaturated: steps[2] });
    expect(rampSummary([step(10, null)])).toEqual({ highestKeptUpPerSec: 10, firstSaturated: undefined });
    expect(rampSummary([step(10, 'slow')])).toEqual({
      highestKeptUpPerSec: null,
      firstSaturated: { offeredPerSec: 10, saturated: 'slow' },
    });
  });
});
