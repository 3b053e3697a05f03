/**
 * Stopping a process loses nothing. SIGTERM to an `elevate worker` process while a grant is
 * in flight: it polls no more, lets the activity finish within ELEVATE_SHUTDOWN_GRACE_SECONDS
 * and exits 0; with a grace time too short, the activity is given up and a new worker
 * retries it. The API, asked to stop, answers the long-poll it is holding and says it is not
 * ready before it closes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildId } from '../../runtime/build-info.js';
import { startApi } from '../../runtime/api.js';
import { createApp } from '../../server/app.js';
import { workflowIdFor } from '../../core/model/elevation.js';
import {
  botOf,
  stackServiceSettings,
  startStack,
  testLogger,
  workerProcessEnv,
  type Stack,
} from '../support/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    bots: [{ id: 'etl-bot', roles: ['warehouse'] }],
    roles: [{ id: 'warehouse', maxDurationSeconds: 600 }],
    timing: { grantTimeoutSeconds: 120, revokeRetryMaxSeconds: 1 },
    worker: false,
  });
});

afterAll(async () => {
  process.kill(stack.slapd.pid, 'SIGCONT');
  await stack?.close();
});

function startWorker(graceSeconds: number): {
  child: ChildProcess;
  exited: Promise<number | null>;
  stderr: () => string;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('bin/elevate.ts'), 'worker'], {
    env: workerProcessEnv(stack, { ELEVATE_SHUTDOWN_GRACE_SECONDS: String(graceSeconds), LOG_LEVEL: 'info' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (err += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, exited, stderr: () => err };
}

/** Wait until the elevation's grant activity has been picked up by a worker and is running. */
async function grantInFlight(id: string, attempt = 1): Promise<void> {
  const handle = stack.env.client.workflow.getHandle(workflowIdFor(id));
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { raw } = await handle.describe();
    // Started: a worker has the attempt (state STARTED, 2), not just scheduled.
    const running = (raw.pendingActivities ?? []).find(
      (a) => a.activityType?.name === 'acquireGrant' && Number(a.state) === 2 && (a.attempt ?? 0) >= attempt,
    );
    if (running) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`the grant of ${id} never started`);
}

const request = () =>
  stack.services.requests
    .request(botOf(stack, 'etl-bot'), {
      role: 'warehouse',
      durationSeconds: 300,
      justification: 'shutdown test',
    })
    .then((r) => r.elevation);

describe('a worker asked to stop', () => {
  it('when SIGTERM arrives while a grant is in flight, then the grant finishes within the grace time, the worker exits 0, nothing is granted twice, and each task names the build that ran it', async () => {
    const first = startWorker(20);
    // slapd frozen: the grant's LDAP write waits (up to its 5 s timeout) instead of finishing.
    process.kill(stack.slapd.pid, 'SIGSTOP');
    const elevation = await request();
    await grantInFlight(elevation.id);
    first.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    process.kill(stack.slapd.pid, 'SIGCONT');
    const code = await first.exited;
    expect(code, first.stderr()).toBe(0);
    expect(first.stderr()).toMatch(/worker stopping/);
    // The activity completed on the stopping worker; a new worker carries the workflow on.
    const second = startWorker(20);
    try {
      await stack.waitFor(elevation.id, (v) => v.status === 'active', 60_000);
      expect(await stack.isMember('etl-bot', 'warehouse')).toBe(true);
      const events = (await stack.stores.auditLog.listEvents(elevation.id)).map((e) => e.type);
      expect(events.filter((t) => t === 'grant.confirmed')).toHaveLength(1);
      // The grant's first attempt was the one the stopping worker had, and it completed there.
      const history = await stack.env.client.workflow.getHandle(workflowIdFor(elevation.id)).fetchHistory();
      const started = (history.events ?? []).filter(
        (e) =>
          e.activityTaskStartedEventAttributes && e.activityTaskStartedEventAttributes.attempt !== undefined,
      );
      const grantStarted = started[0]!.activityTaskStartedEventAttributes!;
      expect(grantStarted.attempt).toBe(1);
      expect(grantStarted.identity).toMatch(new RegExp(`^${first.child.pid}@`));
      expect((history.events ?? []).some((e) => e.activityTaskCompletedEventAttributes)).toBe(true);
      // Every workflow task says which build completed it: the package version and the commit.
      const completed = (history.events ?? []).flatMap((e) => e.workflowTaskCompletedEventAttributes ?? []);
      expect(completed.length).toBeGreaterThan(0);
      for (const task of completed) {
        expect(task.workerVersion?.buildId).toBe(buildId());
        expect(task.workerDeploymentName).toBe('elevate');
      }
      await stack.services.requests.revoke(
        elevation.id,
        { kind: 'bot', id: 'etl-bot' },
        { kind: 'bot', botId: 'etl-bot' },
      );
      await stack.waitFor(elevation.id, (v) => v.status === 'revoked', 30_000);
    } finally {
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);
    }
  });

  it('when the grace time is shorter than the grant, then the grant is given up, the worker exits, and a new worker retries it: nothing is lost', async () => {
    const first = startWorker(1);
    process.kill(stack.slapd.pid, 'SIGSTOP');
    const elevation = await request();
    await grantInFlight(elevation.id);
    first.child.kill('SIGTERM');
    const code = await first.exited;
    // The attempt was cancelled after a second (or abandoned after the force time): either way
    // the process is gone and Temporal owns the retry.
    expect([0, 1], first.stderr()).toContain(code);
    process.kill(stack.slapd.pid, 'SIGCONT');
    const second = startWorker(20);
    try {
      await stack.waitFor(elevation.id, (v) => v.status === 'active', 90_000);
      expect(await stack.isMember('etl-bot', 'warehouse')).toBe(true);
      await stack.services.requests.revoke(
        elevation.id,
        { kind: 'bot', id: 'etl-bot' },
        { kind: 'bot', botId: 'etl-bot' },
      );
      await stack.waitFor(elevation.id, (v) => v.status === 'revoked', 30_000);
      const events = await stack.stores.auditLog.listEvents(elevation.id);
      expect(
        await stack.isMember('etl-bot', 'warehouse'),
        JSON.stringify(events.map((e) => [e.type, e.data])),
      ).toBe(false);
      expect((await stack.stores.auditLog.verify()).ok).toBe(true);
    } finally {
      second.child.kill('SIGTERM');
      await second.exited;
    }
  });
});

describe('an API asked to stop', () => {
  it('when it stops during a long-poll, then the long-poll is answered at once and new connections are refused', async () => {
    await stack.startWorker();
    const services = await startApi({
      settings: stackServiceSettings(stack, { shutdownGraceSeconds: 10 }),
      policy: stack.policy,
      logger: testLogger(),
    });
    try {
      expect((await fetch(`${services.url}/livez`)).status).toBe(200);
      expect((await fetch(`${services.url}/readyz`)).status).toBe(200);
      const headers = { authorization: `Bearer ${stack.keys['etl-bot']!}` };
      const created = await fetch(`${services.url}/v1/elevations`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'warehouse', durationSeconds: 60, justification: 'drain' }),
      });
      const { id } = (await created.json()) as { id: string };
      await stack.waitFor(id, (v) => v.status === 'active');
      // A long-poll for a change that will not come in 30 s.
      const started = Date.now();
      const polling = fetch(`${services.url}/v1/elevations/${id}?waitSeconds=30`, { headers });
      await new Promise((r) => setTimeout(r, 300));
      const closing = services.close();
      const answer = await polling;
      expect(answer.status).toBe(200);
      expect(((await answer.json()) as { status: string }).status).toBe('active');
      expect(Date.now() - started).toBeLessThan(10_000);
      await closing;
      await expect(fetch(`${services.url}/livez`)).rejects.toThrow();
      await stack.services.requests.revoke(
        id,
        { kind: 'bot', id: 'etl-bot' },
        { kind: 'bot', botId: 'etl-bot' },
      );
    } finally {
      await services.close().catch(() => undefined);
      await stack.stopWorker();
    }
  });

  it('when the process is stopping, then /readyz answers 503 draining without running a check, and /livez still 200', async () => {
    const stopping = new AbortController();
    let checked = 0;
    const app = createApp({
      services: stack.services,
      healthChecks: {
        temporal: () => {
          checked += 1;
          return Promise.resolve();
        },
      },
      logger: testLogger(),
      shutdown: stopping.signal,
    });
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      expect((await fetch(`${base}/readyz`)).status).toBe(200);
      expect(checked).toBe(1);
      stopping.abort();
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toEqual({ status: 'draining', checks: {} });
      expect((await fetch(`${base}/healthz`)).status).toBe(503);
      expect((await fetch(`${base}/livez`)).status).toBe(200);
      expect(checked).toBe(1);
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });
});
