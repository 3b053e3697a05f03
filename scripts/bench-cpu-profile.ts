/**
 * Where a worker process's CPU went, for the benchmark (`--worker-cpu-profile`):
 *
 * - by thread, from `/proc/<pid>/task/<tid>/stat` read just before the worker stops: every thread's
 *   user + system time over the process's life ({@link threadSeconds});
 * - by function and by area, from the V8 CPU profiles Node writes at exit (`--cpu-prof`, one per
 *   JavaScript thread): each sample's time charged to the function on top of the stack (self
 *   time; V8 samples the wall clock, so a call that blocks — a synchronous SQLite write waiting
 *   for the disk — counts as busy, and the profiles' busy time is more than `/proc`'s CPU), and
 *   summed by area — a package under `node_modules`, a folder of Elevate's build,
 *   Node's own code, or V8's pseudo-entries (garbage collector, idle, program).
 */
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseProcStat } from './bench-observe.js';

/** One thread's CPU over the process's life so far. */
export interface ThreadCpu {
  /** `main` for the process's first thread, else the kernel's name for it and its id. */
  thread: string;
  seconds: number;
}

/**
 * Each thread's CPU seconds, largest first, threads that used none left out. Most are named
 * `node` by the kernel whatever they do (V8's helper threads for garbage collection and
 * compilation, libuv's pool, the SDK's workflow thread), so each is listed with its id.
 */
export function threadSeconds(pid: number, ticksPerSecond: number): ThreadCpu[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const out: ThreadCpu[] = [];
  for (const tid of tids) {
    try {
      const line = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const stat = parseProcStat(line);
      const name = /\((.*)\)/.exec(line)?.[1] ?? '?';
      const seconds = stat ? Math.round((stat.ownTicks / ticksPerSecond) * 10) / 10 : 0;
      if (seconds > 0) out.push({ thread: tid === String(pid) ? 'main' : `${name} ${tid}`, seconds });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out.sort((a, b) => b.seconds - a.seconds);
}

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** One profile's summary: the thread, its sampled time, and the top functions and areas by self time (µs in the profile, seconds here). */
export interface ProfileSummary {
  file: string;
  /** `main` or `thread <id>` (from the file name Node gives it). */
  thread: string;
  sampledSeconds: number;
  /** Of the sampled time, the thread was waiting (V8's `(idle)`). */
  idleSeconds: number;
  /** Percent of the busy (not idle) sampled time, largest first. */
  areas: { area: string; percent: number }[];
  functions: { fn: string; percent: number }[];
}

/** The area a frame's script belongs to (see the file comment). */
export function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1]!;
  const built = /\/dist\/([^/]+)\//.exec(url);
  if (built) return `elevate ${built[1]}`;
  if (url.includes('workflow-bundle') || url.startsWith('file:///workflows'))
    return 'elevate workflows (bundle)';
  return path.basename(url);
}

/** Self time by function and by area in one `.cpuprofile`. */
export function summariseProfile(file: string, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const fnTime = new Map<string, number>();
  const areaTime = new Map<string, number>();
  let total = 0;
  let idle = 0;
  // Each delta is the time before its sample was taken; charged to that sample's node.
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const node = byId.get(id);
    if (!node || dt <= 0) return;
    const { functionName, url, lineNumber } = node.callFrame;
    if (!url && functionName === '(idle)') {
      idle += dt;
      return;
    }
    const fn = `${functionName || '(anonymous)'} ${url ? `${shortUrl(url)}:${lineNumber + 1}` : ''}`.trim();
    fnTime.set(fn, (fnTime.get(fn) ?? 0) + dt);
    const area = areaOf(url, functionName);
    areaTime.set(area, (areaTime.get(area) ?? 0) + dt);
    total += dt;
  });
  const busy = total || 1;
  const ranked = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, v]) => [k, Math.round((v / busy) * 1000) / 10] as const);
  const tid = /\.(\d+)\.(\d+)\.\d+\.cpuprofile$/.exec(path.basename(file));
  return {
    file: path.basename(file),
    thread: !tid || tid[2] === '0' ? 'main' : `thread ${tid[2]}`,
    sampledSeconds: Math.round((total + idle) / 1e5) / 10,
    idleSeconds: Math.round(idle / 1e5) / 10,
    areas: ranked(areaTime).map(([area, percent]) => ({ area, percent })),
    functions: ranked(fnTime).map(([fn, percent]) => ({ fn, percent })),
  };
}

function shortUrl(url: string): string {
  const modules = url.lastIndexOf('node_modules/');
  if (modules >= 0) return url.slice(modules + 'node_modules/'.length);
  const dist = url.lastIndexOf('/dist/');
  if (dist >= 0) return url.slice(dist + '/dist/'.length);
  return url.replace(/^file:\/\//, '');
}

/** Every profile in `dir`, summarised. */
export function summariseProfiles(dir: string, top = 15): ProfileSummary[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .sort()
    .map((f) => summariseProfile(path.join(dir, f), top));
}
