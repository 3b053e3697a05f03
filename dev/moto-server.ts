/**
 * A throwaway moto server (Python's AWS mock, `moto_server`) on a free loopback port, for tests
 * that talk to IAM and STS with the real AWS SDK. Each call to {@link startMoto} starts its own
 * server with its own state; `stop()` kills its whole process group, so nothing is left behind.
 *
 * moto is installed by `scripts/setup` (`pip install 'moto[server]'`).
 */
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort, waitFor } from './processes.js';

/** One request moto received, as {@link MotoServer.record} returns it. */
export interface MotoRequest {
  /** The API action, e.g. `AssumeRole` (query-protocol services: IAM, STS). */
  action: string;
  /** The form parameters of the request, `Action` and `Version` included. */
  params: Record<string, string>;
}

/** A running moto server. */
export interface MotoServer {
  /** `http://127.0.0.1:<port>`: the endpoint to give the AWS SDK. */
  url: string;
  /** Stops the server (its whole process group) and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
  /** Forgets every resource (all services, all accounts). */
  reset(): Promise<void>;
  /**
   * From now on, moto checks every request's signature and IAM policies, as AWS does: only
   * access keys created in moto work, and only for what their policies allow. It cannot be
   * turned off again; start a separate server for such tests.
   */
  enforceAuth(): Promise<void>;
  /** Runs `fn` with moto's request recorder on and returns the requests moto received meanwhile. */
  record<T>(fn: () => Promise<T>): Promise<{ result: T; requests: MotoRequest[] }>;
}

const SETUP_HINT = "run scripts/setup (it installs moto with pip install 'moto[server]')";
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 5_000;

/** MOTO_SERVER_PATH, then Python's scripts directory (where pip puts it), then PATH. */
function findMotoServer(): string {
  let scripts: string | undefined;
  try {
    scripts = execFileSync('python3', ['-c', 'import sysconfig;print(sysconfig.get_path("scripts"))'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    scripts = undefined;
  }
  const candidates = [
    process.env['MOTO_SERVER_PATH'],
    scripts ? path.join(scripts, 'moto_server') : undefined,
    ...(process.env['PATH'] ?? '')
      .split(path.delimiter)
      .filter(Boolean)
      .map((dir) => path.join(dir, 'moto_server')),
  ];
  for (const candidate of candidates) {
    if (!candidate) continue;
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  throw new Error(
    `moto_server was not found (MOTO_SERVER_PATH, Python's scripts directory, PATH): ${SETUP_HINT}`,
  );
}

async function call(url: string, method: 'GET' | 'POST', body?: string): Promise<string> {
  const res = await fetch(url, { method, body, signal: AbortSignal.timeout(5_000) });
  const text = await res.text();
  if (!res.ok) throw new Error(`moto answered ${res.status} to ${method} ${url}: ${text.slice(0, 200)}`);
  return text;
}

function parseRecording(text: string): MotoRequest[] {
  return text
    .split('\n')
    .filter((line) => line.trim())
    .map((line) => {
      const entry = JSON.parse(line) as { body?: string | null; body_encoded?: boolean };
      const body = entry.body_encoded
        ? Buffer.from(entry.body ?? '', 'base64').toString('utf8')
        : (entry.body ?? '');
      const params = Object.fromEntries(new URLSearchParams(body));
      return { action: params['Action'] ?? '', params };
    });
}

/**
 * Starts moto on a free loopback port and waits until it answers.
 *
 * @throws Error when `moto_server` is not installed (telling to run `scripts/setup`), or when
 *   it exits or does not answer in time (with the tail of its output).
 */
export async function startMoto(): Promise<MotoServer> {
  const executable = findMotoServer();
  const dir = await mkdtemp(path.join(tmpdir(), 'elevate-moto-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  // Its own process group (detached), so stop() reaches moto even behind a pyenv shim.
  const child = spawn(executable, ['-H', '127.0.0.1', '-p', String(port)], {
    cwd: dir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    // The recorder writes to a file; keep it in the server's own directory.
    env: { ...process.env, MOTO_RECORDER_FILEPATH: path.join(dir, 'recording.jsonl') },
  });
  let output = '';
  const keep = (chunk: Buffer): void => {
    output = (output + chunk.toString('utf8')).slice(-4_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', (err) => {
      keep(Buffer.from(`${err.message}\n`));
      resolve();
    });
  });
  let running = true;
  void exited.then(() => {
    running = false;
  });

  const killGroup = (signal: NodeJS.Signals): void => {
    if (!running || child.pid === undefined) return;
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
  };
  const onExit = (): void => killGroup('SIGKILL');
  process.once('exit', onExit);

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', onExit);
    killGroup('SIGTERM');
    const timer = setTimeout(() => killGroup('SIGKILL'), STOP_TIMEOUT_MS);
    if (running) await exited;
    clearTimeout(timer);
    await rm(dir, { recursive: true, force: true });
  };

  try {
    await waitFor(
      async () => {
        await call(`${url}/moto-api/`, 'GET');
      },
      { timeoutMs: START_TIMEOUT_MS, exited, what: 'moto_server' },
    );
  } catch (err) {
    await stop();
    throw new Error(
      `${(err as Error).message} (${SETUP_HINT} if moto is missing)\n--- moto output ---\n${output}`,
    );
  }

  return {
    url,
    stop,
    reset: async () => {
      await call(`${url}/moto-api/reset`, 'POST');
    },
    enforceAuth: async () => {
      // The number of requests still let through unchecked, counted from now.
      await call(`${url}/moto-api/reset-auth`, 'POST', '0');
    },
    record: async <T>(fn: () => Promise<T>) => {
      await call(`${url}/moto-api/recorder/reset-recording`, 'POST');
      await call(`${url}/moto-api/recorder/start-recording`, 'POST');
      let result: T;
      try {
        result = await fn();
      } finally {
        await call(`${url}/moto-api/recorder/stop-recording`, 'POST');
      }
      const requests = parseRecording(await call(`${url}/moto-api/recorder/download-recording`, 'GET'));
      return { result, requests };
    },
  };
}
