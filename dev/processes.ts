/** Small helpers for the child processes the embedded runtime, tests and benchmarks start. */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A TCP port that was free on loopback a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

/** Whether `port` can be bound on loopback right now. */
export function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Kill the process named in a pidfile left behind by a run that crashed, if it is still
 * alive, and remove the file.
 */
export function killStale(pidFile: string): void {
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  if (Number.isInteger(pid) && pid > 1) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  rmSync(pidFile, { force: true });
}

/** Retry `probe` until it resolves; fail after `timeoutMs` or as soon as `exited` settles. */
export async function waitFor(
  probe: () => Promise<void>,
  opts: { timeoutMs: number; exited?: Promise<unknown>; what: string },
): Promise<void> {
  const deadline = Date.now() + opts.timeoutMs;
  let exitedEarly = false;
  void opts.exited?.then(() => {
    exitedEarly = true;
  });
  let last: unknown;
  while (Date.now() < deadline) {
    if (exitedEarly) throw new Error(`${opts.what} exited during start-up`);
    try {
      await probe();
      return;
    } catch (err) {
      last = err;
    }
    await sleep(200);
  }
  throw new Error(
    `${opts.what} did not become ready within ${opts.timeoutMs} ms: ${(last as Error)?.message ?? ''}`,
  );
}
