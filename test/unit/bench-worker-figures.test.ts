/**
 * The benchmark's figures for workers in processes of their own: the sticky cache and heap read
 * from each worker's `/metrics` and summed, RSS read from `/proc`, and where the CPU went from a
 * V8 CPU profile and the process's threads.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { areaOf, summariseProfile, threadSeconds } from '../../scripts/bench-cpu-profile.js';
import {
  clockTicks,
  readStickyCache,
  rssMiBOf,
  sumSeries,
  watchMemory,
  workerMemory,
} from '../../scripts/bench-observe.js';

const TOKEN = 'adm_test-token';

function exposition(cached: number, heapBytes: number): string {
  return [
    '# TYPE temporal_sticky_cache_size gauge',
    `temporal_sticky_cache_size{namespace="default",task_queue="q"} ${cached}`,
    `temporal_sticky_cache_hit_total{namespace="default"} ${cached * 2}`,
    `elevate_nodejs_heap_size_used_bytes ${heapBytes}`,
    `elevate_nodejs_heap_size_used_bytes_other 999`,
  ].join('\n');
}

describe('sumSeries', () => {
  it('when a series has several label sets, then their samples are summed and a longer name is not counted', () => {
    const text = 'a_total{x="1"} 2\na_total{x="2"} 3\na_total_more 100\n# a_total 50';
    expect(sumSeries(text, 'a_total')).toBe(5);
  });

  it('when the series is absent, then undefined', () => {
    expect(sumSeries('b 1', 'a')).toBeUndefined();
  });
});

describe('figures from two workers’ /metrics', () => {
  const servers: Server[] = [];
  const urls: string[] = [];
  const seen: (string | undefined)[] = [];

  beforeAll(async () => {
    for (const [cached, heap] of [
      [100, 64 * 2 ** 20],
      [30, 32 * 2 ** 20],
    ] as const) {
      const server = createServer((req, res) => {
        seen.push(req.headers.authorization);
        res.end(exposition(cached, heap));
      });
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      servers.push(server);
      urls.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    }
  });
  afterAll(() => servers.forEach((s) => s.close()));

  it('when the sticky cache is read, then each worker is asked with the token and the figures are summed', async () => {
    const figures = await readStickyCache(
      urls.map((metricsUrl) => ({ metricsUrl })),
      TOKEN,
    );
    expect(figures.size).toBe(130);
    expect(figures.hits).toBe(260);
    expect(figures.forcedEvictions).toBe(0);
    expect(seen.slice(-2)).toEqual([`Bearer ${TOKEN}`, `Bearer ${TOKEN}`]);
  });

  it('when memory is read, then the heap comes from each one’s metrics and the RSS from /proc', async () => {
    const memory = await workerMemory(
      urls.map((metricsUrl, i) => ({ label: `w${i}`, pid: process.pid, metricsUrl })),
      TOKEN,
    );
    expect(memory.map((m) => [m.label, m.heapUsedMiB])).toEqual([
      ['w0', 64],
      ['w1', 32],
    ]);
    for (const m of memory) expect(m.rssMiB).toBeGreaterThan(10);
  });
});

describe('rssMiBOf', () => {
  it.skipIf(process.platform !== 'linux')('when the process is another one, then /proc gives its RSS', () => {
    // The parent of a test process is a live Node.js process too.
    expect(rssMiBOf(process.ppid)).toBeGreaterThan(10);
  });

  it('when there is no such process, then NaN', () => {
    expect(rssMiBOf(2 ** 22 + 12_345)).toBeNaN();
  });
});

describe('watchMemory', () => {
  it('when a process is sampled for a while, then its range is ordered and counts the samples', async () => {
    const watch = watchMemory([{ label: 'me', pid: process.pid }], 10);
    const hold = Array.from({ length: 200_000 }, (_, i) => ({ i }));
    await new Promise((r) => setTimeout(r, 60));
    const range = watch.stop().me!;
    expect(hold.length).toBe(200_000);
    expect(range.samples).toBeGreaterThanOrEqual(3);
    expect(range.min).toBeGreaterThan(10);
    expect(range.min).toBeLessThanOrEqual(range.p50);
    expect(range.p50).toBeLessThanOrEqual(range.max);
  });
});

describe('threadSeconds', () => {
  it.skipIf(process.platform !== 'linux')('when this process has used CPU, then its threads show it', () => {
    let x = 0;
    for (let i = 0; i < 5e7; i++) x += i % 7;
    expect(x).toBeGreaterThan(0);
    const threads = threadSeconds(process.pid, clockTicks());
    expect(threads.reduce((n, t) => n + t.seconds, 0)).toBeGreaterThan(0);
    expect(threads.map((t) => t.seconds)).toEqual([...threads.map((t) => t.seconds)].sort((a, b) => b - a));
  });
});

describe('CPU profiles', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(path.join(tmpdir(), 'bench-profile-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('when frames come from a package, a folder of the build, Node or V8, then each is its own area', () => {
    expect(areaOf('file:///app/node_modules/@temporalio/worker/lib/x.js', 'f')).toBe('@temporalio/worker');
    expect(areaOf('file:///app/node_modules/kysely/dist/esm/a.js', 'f')).toBe('kysely');
    expect(areaOf('file:///app/dist/domain/expiry-revoker.js', 'f')).toBe('elevate domain');
    expect(areaOf('node:internal/timers', 'f')).toBe('node');
    expect(areaOf('', '(garbage collector)')).toBe('(garbage collector)');
    expect(areaOf('', 'postMessage')).toBe('(native)');
  });

  it('when a profile is summed up, then idle time is apart and the rest is charged to the top frame', () => {
    const frame = (id: number, functionName: string, url = '') => ({
      id,
      callFrame: { functionName, url, lineNumber: 9 },
    });
    const profile = {
      nodes: [
        frame(1, '(root)'),
        frame(2, '(idle)'),
        frame(3, 'executeQuery', 'file:///app/node_modules/kysely/dist/esm/driver.js'),
        frame(4, 'release', 'file:///app/dist/domain/grant-ledger.js'),
      ],
      // 6 s idle, 3 s in kysely, 1 s in the ledger (deltas in microseconds).
      samples: [2, 3, 2, 3, 4, 3],
      timeDeltas: [3e6, 1e6, 3e6, 1e6, 1e6, 1e6],
      startTime: 0,
      endTime: 10e6,
    };
    const file = path.join(dir, 'CPU.20261207.180000.4242.1.002.cpuprofile');
    writeFileSync(file, JSON.stringify(profile));
    const summary = summariseProfile(file);
    expect(summary.thread).toBe('thread 1');
    expect(summary.sampledSeconds).toBe(10);
    expect(summary.idleSeconds).toBe(6);
    expect(summary.areas).toEqual([
      { area: 'kysely', percent: 75 },
      { area: 'elevate domain', percent: 25 },
    ]);
    expect(summary.functions[0]).toEqual({ fn: 'executeQuery kysely/dist/esm/driver.js:10', percent: 75 });
    expect(summary.functions[1]!.fn).toBe('release domain/grant-ledger.js:10');
  });
});
