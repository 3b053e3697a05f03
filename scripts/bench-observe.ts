/**
 * What the load phases of the benchmark watch besides latency: the CPU each process of the stack
 * uses, the bench process's memory (the worker runs in it), and the Temporal SDK's sticky-cache
 * counters from the worker's `/metrics`.
 *
 * CPU is read from `/proc` (Linux), not sampled by `ps`: each process's `utime + stime` in clock
 * ticks at two instants, so the figure is the exact CPU time it used in between, as a percentage
 * of one core (two busy cores are 200). A process that forks workers (PostgreSQL starts one
 * backend per connection) is counted with all of its descendants, live ones by their own times
 * and exited ones by what their parents collected (`cutime + cstime`). The machine's own busy
 * time (`/proc/stat`) is reported too, so that what other programs used is visible: on a machine
 * shared with other work, `other` is the part of the machine's busy time no watched process used.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import pg from 'pg';

/** One process (or process tree) to watch. */
export interface WatchedProcess {
  label: string;
  pid: number;
  /** Count its descendants too (PostgreSQL's backends); default false. */
  tree?: boolean;
}

/** CPU times at one instant, in clock ticks. */
export interface CpuSnapshot {
  at: number;
  ticks: Record<string, number>;
  machineBusy: number;
}

/** Percent of one core each watched process used between two snapshots; `machine` is all of it. */
export type CpuPercent = Record<string, number>;

/** The fields of `/proc/<pid>/stat` the watch uses (after the command name, which may hold spaces). */
export interface ProcStat {
  pid: number;
  ppid: number;
  /** Its own user + system time. */
  ownTicks: number;
  /** What it collected from children that exited (`cutime + cstime`). */
  childTicks: number;
}

/** Parses one `/proc/<pid>/stat` line; undefined when it is not one. */
export function parseProcStat(line: string): ProcStat | undefined {
  const close = line.lastIndexOf(')');
  const pid = Number.parseInt(line, 10);
  if (close < 0 || !Number.isInteger(pid)) return undefined;
  // After "pid (comm) ": state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt
  // utime stime cutime cstime …, fields 3 to 17 of proc(5).
  const f = line
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const n = (i: number) => Number(f[i]);
  if (f.length < 15 || [1, 11, 12, 13, 14].some((i) => !Number.isFinite(n(i)))) return undefined;
  return { pid, ppid: n(1), ownTicks: n(11) + n(12), childTicks: n(13) + n(14) };
}

/** Busy and total ticks of all CPUs from `/proc/stat`'s first line (idle and iowait are not busy). */
export function parseMachineStat(text: string): { busy: number; total: number } | undefined {
  const line = text.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) return undefined;
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  const total = v.slice(0, 8).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  return { busy: total - (v[3] ?? 0) - (v[4] ?? 0), total };
}

/** Ticks used by `root` and, with `tree`, by all its descendants among `stats`. */
export function ticksOf(root: number, stats: readonly ProcStat[], tree: boolean): number | undefined {
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const self = byPid.get(root);
  if (!self) return undefined;
  if (!tree) return self.ownTicks;
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) {
    const siblings = children.get(s.ppid);
    if (siblings) siblings.push(s);
    else children.set(s.ppid, [s]);
  }
  let sum = 0;
  const todo = [self];
  for (let s = todo.pop(); s; s = todo.pop()) {
    sum += s.ownTicks + s.childTicks;
    todo.push(...(children.get(s.pid) ?? []));
  }
  return sum;
}

/** Percent of one core from two snapshots; processes gone in either are left out. */
export function cpuBetween(a: CpuSnapshot, b: CpuSnapshot, ticksPerSecond: number): CpuPercent {
  const seconds = (b.at - a.at) / 1000;
  // Under half a second, a few ticks would read as large percentages: nothing to report.
  if (seconds < 0.5) return {};
  const pct = (ticks: number) => Math.round((ticks / ticksPerSecond / seconds) * 1000) / 10;
  const out: CpuPercent = {};
  let watched = 0;
  for (const [label, end] of Object.entries(b.ticks)) {
    const start = a.ticks[label];
    if (start === undefined) continue;
    out[label] = pct(end - start);
    watched += end - start;
  }
  out.machine = pct(b.machineBusy - a.machineBusy);
  out.other = Math.max(0, pct(b.machineBusy - a.machineBusy - watched));
  return out;
}

/** The process among `cpu` (without `machine` and `other`) that used most, or undefined. */
export function busiest(cpu: CpuPercent): { process: string; cpuPercent: number } | undefined {
  const entries = Object.entries(cpu).filter(([label]) => label !== 'machine' && label !== 'other');
  const top = entries.sort((x, y) => y[1] - x[1])[0];
  return top && { process: top[0], cpuPercent: top[1] };
}

function readStats(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const s = parseProcStat(readFileSync(`/proc/${name}/stat`, 'utf8'));
      if (s) stats.push(s);
    } catch {
      // it exited between the listing and the read
    }
  }
  return stats;
}

/** Clock ticks a second (`getconf CLK_TCK`; 100 on every common Linux). */
export function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    return n > 0 ? n : 100;
  } catch {
    return 100;
  }
}

/** Watches the CPU of a fixed set of processes; `available` is false off Linux. */
export class ProcessWatch {
  readonly available: boolean;
  readonly ticksPerSecond: number;

  constructor(readonly processes: readonly WatchedProcess[]) {
    this.available = process.platform === 'linux';
    this.ticksPerSecond = this.available ? clockTicks() : 100;
  }

  snapshot(): CpuSnapshot {
    const at = Date.now();
    if (!this.available) return { at, ticks: {}, machineBusy: 0 };
    const stats = readStats();
    const ticks: Record<string, number> = {};
    for (const p of this.processes) {
      const t = ticksOf(p.pid, stats, p.tree ?? false);
      if (t !== undefined) ticks[p.label] = t;
    }
    const machine = parseMachineStat(readFileSync('/proc/stat', 'utf8'));
    return { at, ticks, machineBusy: machine?.busy ?? 0 };
  }

  /** CPU between a snapshot and now (or another snapshot). */
  since(a: CpuSnapshot, b: CpuSnapshot = this.snapshot()): CpuPercent {
    return this.available ? cpuBetween(a, b, this.ticksPerSecond) : {};
  }
}

/** The PostgreSQL server's main process (its backends' parent), found through one connection. */
export async function postmasterPid(url: string): Promise<number | undefined> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const backend = rows[0]?.pid;
    if (backend === undefined || process.platform !== 'linux') return undefined;
    return parseProcStat(readFileSync(`/proc/${backend}/stat`, 'utf8'))?.ppid;
  } finally {
    await client.end();
  }
}

const mib = (n: number) => Math.round((n / 2 ** 20) * 10) / 10;

/** The bench process's memory, in MiB (the API runs in it, and the worker unless it has its own). */
export function memoryMiB(): { rss: number; heapUsed: number } {
  const m = process.memoryUsage();
  return { rss: mib(m.rss), heapUsed: mib(m.heapUsed) };
}

/** `VmRSS` of `/proc/<pid>/status`, in MiB; NaN when it cannot be read (gone, or not Linux). */
export function rssMiBOf(pid: number): number {
  if (pid === process.pid) return memoryMiB().rss;
  try {
    const kib = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kib === undefined ? NaN : mib(Number(kib) * 1024);
  } catch {
    return NaN;
  }
}

/** RSS samples of one process over a while, MiB: V8 collects lazily, so one reading can be far off. */
export interface RssRange {
  min: number;
  p50: number;
  max: number;
  samples: number;
}

/** Samples each process's RSS every `ms` until stopped; the range seen of each, by label. */
export function watchMemory(
  processes: readonly { label: string; pid: number }[],
  ms = 1000,
): { stop(): Record<string, RssRange> } {
  const seen: Record<string, number[]> = {};
  const sample = () => {
    for (const p of processes) {
      const rss = rssMiBOf(p.pid);
      if (Number.isFinite(rss)) (seen[p.label] ??= []).push(rss);
    }
  };
  sample();
  const timer = setInterval(sample, ms);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      sample();
      const out: Record<string, RssRange> = {};
      for (const [label, values] of Object.entries(seen)) {
        const sorted = [...values].sort((a, b) => a - b);
        out[label] = {
          min: sorted[0]!,
          p50: sorted[Math.floor((sorted.length - 1) / 2)]!,
          max: sorted.at(-1)!,
          samples: sorted.length,
        };
      }
      return out;
    },
  };
}

/** One worker process's memory: RSS from `/proc`, the main thread's heap from its `/metrics`. */
export interface WorkerMemory {
  label: string;
  rssMiB: number;
  heapUsedMiB: number;
}

/** Sums the samples of `series` (any labels) in a Prometheus text exposition; undefined if absent. */
export function sumSeries(text: string, series: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_:][\w:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m?.[1] === series) sum = (sum ?? 0) + Number(m[2]);
  }
  return sum;
}

async function scrape(metricsUrl: string, token: string): Promise<string> {
  const res = await fetch(`${metricsUrl}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  if (res.status !== 200) throw new Error(`${metricsUrl}/metrics: HTTP ${res.status}`);
  return await res.text();
}

/** Each worker's {@link WorkerMemory} (an admin token is accepted at `/metrics`). */
export async function workerMemory(
  workers: readonly { label: string; pid: number; metricsUrl: string }[],
  token: string,
): Promise<WorkerMemory[]> {
  return await Promise.all(
    workers.map(async (w) => {
      const heap = sumSeries(await scrape(w.metricsUrl, token), 'elevate_nodejs_heap_size_used_bytes');
      return { label: w.label, rssMiB: rssMiBOf(w.pid), heapUsedMiB: heap === undefined ? NaN : mib(heap) };
    }),
  );
}

/** The SDK's sticky cache and replays, summed over every label (task queue, namespace). */
export interface StickyCacheFigures {
  /** Workflows in the worker's cache (gauge). */
  size: number;
  hits: number;
  misses: number;
  /** Workflows evicted because the cache was full. */
  forcedEvictions: number;
  /**
   * Seconds the worker spent applying history it had already seen, over every workflow task
   * that had some (the SDK's replay latency, summed): small while workflows stay cached, the
   * whole history again for each one evicted.
   */
  replaySeconds: number;
}

const STICKY_SERIES: Record<keyof StickyCacheFigures, string> = {
  size: 'temporal_sticky_cache_size',
  hits: 'temporal_sticky_cache_hit_total',
  misses: 'temporal_sticky_cache_miss_total',
  forcedEvictions: 'temporal_sticky_cache_total_forced_eviction_total',
  replaySeconds: 'temporal_workflow_task_replay_latency_seconds_sum',
};

/** Sums each series of {@link STICKY_SERIES} in a Prometheus text exposition (absent: 0). */
export function parseStickyCache(text: string): StickyCacheFigures {
  const out = {} as StickyCacheFigures;
  for (const [key, name] of Object.entries(STICKY_SERIES) as [keyof StickyCacheFigures, string][])
    out[key] = sumSeries(text, name) ?? 0;
  return out;
}

/**
 * {@link StickyCacheFigures} summed over the workers' `/metrics` (the API's, when the worker runs
 * in the bench process; an admin token is accepted).
 */
export async function readStickyCache(
  workers: readonly { metricsUrl: string }[],
  token: string,
): Promise<StickyCacheFigures> {
  const each = await Promise.all(
    workers.map(async (w) => parseStickyCache(await scrape(w.metricsUrl, token))),
  );
  const sum = {} as StickyCacheFigures;
  for (const key of Object.keys(STICKY_SERIES) as (keyof StickyCacheFigures)[])
    sum[key] = each.reduce((n, f) => n + f[key], 0);
  return sum;
}

/** `b - a` for the counters; the gauge as `b` has it. */
export function stickyCacheDelta(a: StickyCacheFigures, b: StickyCacheFigures): StickyCacheFigures {
  return {
    size: b.size,
    hits: b.hits - a.hits,
    misses: b.misses - a.misses,
    forcedEvictions: b.forcedEvictions - a.forcedEvictions,
    replaySeconds: Math.round((b.replaySeconds - a.replaySeconds) * 1000) / 1000,
  };
}
