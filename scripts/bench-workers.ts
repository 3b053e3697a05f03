/**
 * The benchmark's workers in processes of their own (`--worker-processes N`): N `elevate worker`
 * processes, started from the build as an operator would start them (settings in the
 * environment, the policy in a file), on the bench's Temporal, slapd, SQLite audit store and
 * targets, while the API runs in the bench process. With them the bench can say what the worker
 * alone costs (its RSS is not the API's and the load generator's too), and how lifecycles a
 * second change from one worker process to two.
 *
 * Each worker serves `/metrics` and `/readyz` on a port of its own; the bench reads its sticky
 * cache and heap there. With `cpuProfileDir`, each runs under V8's CPU profiler (`--cpu-prof`,
 * one profile per JavaScript thread: the main thread and the SDK's workflow thread), written when
 * the worker stops (`bench-cpu-profile.ts` sums them up).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { freePort } from '../dev/processes.js';

/** One worker process the bench watches. */
export interface BenchWorker {
  label: string;
  pid: number;
  /** Where its `/metrics` is (the API's URL when the worker runs in the bench process). */
  metricsUrl: string;
}

export interface BenchWorkerProcesses {
  workers: BenchWorker[];
  /** SIGTERM to each, then wait (SIGKILL after `graceMs`); their CPU profiles are written by then. */
  stop(graceMs?: number): Promise<void>;
}

export interface BenchWorkerOptions {
  count: number;
  /** The bench's folder: the policy file goes there. */
  dir: string;
  /** The policy as its file says it (before parsing). */
  policy: unknown;
  /** The worker's settings as environment variables (see docs/configuration.md). */
  env: NodeJS.ProcessEnv;
  /** Run each under V8's CPU profiler, writing its profiles here. */
  cpuProfileDir?: string;
  /** More Node.js flags for each (`--max-old-space-size=256`, say). */
  nodeOptions?: readonly string[];
  say: (line: string) => void;
}

const ELEVATE = path.resolve(import.meta.dirname, '../bin/elevate.js');
const READY_TIMEOUT_MS = 120_000;

/** Starts `count` worker processes and waits until each says it is ready (`/readyz`). */
export async function startBenchWorkers(o: BenchWorkerOptions): Promise<BenchWorkerProcesses> {
  const config = path.join(o.dir, 'policy.yaml');
  writeFileSync(config, stringify(o.policy));
  const children: { child: ChildProcess; exited: Promise<void>; tail: () => string }[] = [];
  const workers: BenchWorker[] = [];
  const stop = async (graceMs = 30_000) => {
    await Promise.all(
      children.map(async ({ child, exited }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }),
    );
  };
  try {
    for (let i = 0; i < o.count; i += 1) {
      const port = await freePort();
      const label = `worker${i + 1}`;
      const child = spawn(
        process.execPath,
        [
          ...(o.nodeOptions ?? []),
          ...(o.cpuProfileDir ? ['--cpu-prof', '--cpu-prof-dir', o.cpuProfileDir] : []),
          ELEVATE,
          'worker',
        ],
        {
          env: { ...process.env, ...o.env, ELEVATE_CONFIG: config, ELEVATE_METRICS_PORT: String(port) },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let tail = '';
      const collect = (chunk: Buffer) => void (tail = (tail + chunk.toString('utf8')).slice(-8_000));
      child.stdout?.on('data', collect);
      child.stderr?.on('data', collect);
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      children.push({ child, exited, tail: () => tail });
      workers.push({ label, pid: child.pid!, metricsUrl: `http://127.0.0.1:${port}` });
    }
    await Promise.all(
      workers.map(async (w, i) => {
        const { child, tail } = children[i]!;
        const deadline = Date.now() + READY_TIMEOUT_MS;
        for (;;) {
          if (child.exitCode !== null || child.signalCode !== null)
            throw new Error(
              `${w.label} exited (${child.exitCode ?? child.signalCode}) before it was ready:\n${tail()}`,
            );
          const ready = await fetch(`${w.metricsUrl}/readyz`).then(
            (r) => r.status === 200,
            () => false,
          );
          if (ready) return;
          if (Date.now() > deadline)
            throw new Error(`${w.label} not ready after ${READY_TIMEOUT_MS} ms:\n${tail()}`);
          await sleep(250);
        }
      }),
    );
  } catch (error) {
    await stop(5_000);
    throw error;
  }
  o.say(`${o.count} worker process(es) ready: ${workers.map((w) => `${w.label} pid ${w.pid}`).join(', ')}`);
  return { workers, stop };
}

/** The bench's settings for a worker process, as `elevate worker` reads them from its environment. */
export function workerProcessEnv(s: {
  temporal: { address: string; namespace: string; taskQueue: string };
  ldap: { url: string; bindDn: string; bindPassword: string };
  sqlitePath: string;
  decisionPublicKeyPem: string;
  grantTimeoutSeconds: number;
  revokeRetryMaxSeconds: number;
  reconcileIntervalSeconds: number;
  publicUrl: string;
  slack?: { botToken: string; signingSecret: string; apiUrl: string };
  /** `ELEVATE_WORKER_*` and the rest the bench's worker settings came from. */
  worker: NodeJS.ProcessEnv;
  /** The targets' own variables (PostgreSQL servers, the AWS endpoint). */
  targets: NodeJS.ProcessEnv;
}): NodeJS.ProcessEnv {
  return {
    TEMPORAL_ADDRESS: s.temporal.address,
    TEMPORAL_NAMESPACE: s.temporal.namespace,
    ELEVATE_TASK_QUEUE: s.temporal.taskQueue,
    LDAP_URL: s.ldap.url,
    LDAP_BIND_DN: s.ldap.bindDn,
    LDAP_BIND_PASSWORD: s.ldap.bindPassword,
    ELEVATE_SQLITE_PATH: s.sqlitePath,
    ELEVATE_DECISION_PUBLIC_KEYS: s.decisionPublicKeyPem,
    ELEVATE_GRANT_TIMEOUT_SECONDS: String(s.grantTimeoutSeconds),
    ELEVATE_REVOKE_RETRY_MAX_SECONDS: String(s.revokeRetryMaxSeconds),
    ELEVATE_RECONCILE_INTERVAL_SECONDS: String(s.reconcileIntervalSeconds),
    ELEVATE_PUBLIC_URL: s.publicUrl,
    ...(s.slack
      ? {
          SLACK_BOT_TOKEN: s.slack.botToken,
          SLACK_SIGNING_SECRET: s.slack.signingSecret,
          SLACK_API_URL: s.slack.apiUrl,
        }
      : {}),
    LOG_LEVEL: 'warn',
    ...s.worker,
    ...s.targets,
  };
}
