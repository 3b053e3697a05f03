/**
 * Per-bot quotas (the policy's `limits`) over the HTTP API, on the real Temporal dev server,
 * slapd and store: a leaked key cannot flood approvers, hold a role through overlapping
 * elevations or start workflows without end. Refusals are 429 `too_many_requests` naming the
 * limit, audited as `request.refused`, and start nothing; replays are not counted.
 */
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../config/policy.js';
import { createDomainServices } from '../../domain/domain-services.js';
import { createApp } from '../../server/app.js';
import type { ElevationView } from '../../core/model/elevation.js';
import { startStack, testLogger, type Stack } from '../support/stack.js';

let stack: Stack;
let server: Server;
let base: string;

beforeAll(async () => {
  stack = await startStack({
    bots: [
      { id: 'flood-bot', roles: ['needs-ok'] },
      { id: 'overlap-bot', roles: ['auto-role'] },
      { id: 'race-bot', roles: ['auto-role'] },
      { id: 'rate-bot', roles: ['auto-role'] },
      { id: 'roomy-bot', roles: ['needs-ok'] },
    ],
    roles: [
      { id: 'auto-role' },
      { id: 'needs-ok', approval: { mode: 'approvers', approvers: ['ann@example.org'], windowSeconds: 600 } },
    ],
  });
  // The policy as an operator would write it: tight defaults, one bot given more room.
  const policy: Policy = {
    ...stack.policy,
    limits: { pendingPerRole: 2, openPerRole: 2, requestsPerHour: 3 },
    bots: stack.policy.bots.map((b) =>
      b.id === 'race-bot'
        ? { ...b, limits: { openPerRole: 1 } }
        : b.id === 'rate-bot'
          ? { ...b, limits: { openPerRole: 10 } }
          : b.id === 'roomy-bot'
            ? { ...b, limits: { pendingPerRole: 3, openPerRole: 5, requestsPerHour: 10 } }
            : b,
    ),
  };
  const services = createDomainServices({
    policy,
    temporal: stack.env.client,
    signer: stack.signer,
    taskQueue: stack.taskQueue,
    ...stack.stores,
    timing: stack.timing,
    logger: testLogger(),
    directory: stack.directory,
  });
  const app = createApp({ services, healthChecks: {}, logger: testLogger() });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}, 180_000);

afterAll(async () => {
  server?.close();
  await stack?.close();
});

type Json = Record<string, unknown> & { error?: { code: string; message: string; field?: string } };

async function request(
  botId: string,
  body: Record<string, unknown>,
): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(`${base}/v1/elevations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${stack.keys[botId]}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json, headers: res.headers };
}

const ask = (role: string, extra: Record<string, unknown> = {}) => ({
  role,
  durationSeconds: 600,
  justification: 'quota test',
  ...extra,
});

async function refusalsOf(botId: string) {
  const events = await stack.stores.auditLog.readEvents(0, 100_000);
  return events.filter((e) => e.type === 'request.refused' && e.actor.id === botId);
}

async function elevationsOf(botId: string): Promise<ElevationView[]> {
  return (await stack.stores.elevations.listElevations({ botId, limit: 100 })).items;
}

describe('per-bot quotas', () => {
  it('when a bot already has pendingPerRole requests waiting for approval, then the next is 429 naming the limit, audited, and notifies nobody', async () => {
    const waiting: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await request('flood-bot', ask('needs-ok'));
      expect(res.status).toBe(202);
      waiting.push(String(res.body.id));
    }

    const refused = await request('flood-bot', ask('needs-ok'));

    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'too_many_requests', field: 'limits.pendingPerRole' });
    expect(refused.body.error?.message).toContain('waiting for approval');
    // Nothing that an approver could be asked about was started.
    for (const id of waiting) await stack.waitFor(id, (v) => v.status === 'pending_approval');
    expect((await elevationsOf('flood-bot')).map((v) => v.id).sort()).toEqual(waiting.sort());
    expect((await refusalsOf('flood-bot')).map((e) => e.data)).toEqual([
      expect.objectContaining({ code: 'too_many_requests', field: 'limits.pendingPerRole' }),
    ]);
  });

  it('when a bot holds openPerRole elevations of an auto role, then another is refused until it gives one back', async () => {
    const first = await request('overlap-bot', ask('auto-role'));
    const second = await request('overlap-bot', ask('auto-role'));
    expect([first.status, second.status]).toEqual([202, 202]);
    await stack.waitFor(String(first.body.id), (v) => v.status === 'active');

    const refused = await request('overlap-bot', ask('auto-role'));
    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'too_many_requests', field: 'limits.openPerRole' });
    expect(refused.headers.get('retry-after')).toBeNull();

    await stack.services.requests.revoke(
      String(first.body.id),
      { kind: 'bot', id: 'overlap-bot' },
      { kind: 'admin' },
    );
    await stack.waitFor(String(first.body.id), (v) => v.status === 'revoked');
    expect((await request('overlap-bot', ask('auto-role'))).status).toBe(202);
  });

  it('when requests of one bot race for its last open slot, then exactly one gets it', async () => {
    // None of them is in the store when the others are checked: only the bot's lock and the
    // noted requests keep them from all passing a limit of 1.
    const answers = await Promise.all(Array.from({ length: 5 }, () => request('race-bot', ask('auto-role'))));

    expect(answers.map((a) => a.status).sort()).toEqual([202, 429, 429, 429, 429]);
    expect(
      answers.filter((a) => a.status === 429).every((a) => a.body.error?.field === 'limits.openPerRole'),
    ).toBe(true);
    const accepted = answers.find((a) => a.status === 202)!;
    await stack.waitFor(String(accepted.body.id), (v) => v.status === 'active');
    expect((await elevationsOf('race-bot')).map((v) => v.id)).toEqual([accepted.body.id]);
  });

  it('when a bot has made requestsPerHour requests, then the next is 429 with Retry-After, and a replay of an earlier one still answers', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await request('rate-bot', ask('auto-role', { requestId: `job-${i}` }));
      expect(res.status).toBe(202);
      ids.push(String(res.body.id));
    }

    const refused = await request('rate-bot', ask('auto-role', { requestId: 'job-3' }));
    const replay = await request('rate-bot', ask('auto-role', { requestId: 'job-0' }));

    expect(refused.status).toBe(429);
    expect(refused.body.error).toMatchObject({ code: 'too_many_requests', field: 'limits.requestsPerHour' });
    const retryAfter = Number(refused.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(3000);
    expect(retryAfter).toBeLessThanOrEqual(3600);
    expect(replay.status).toBe(202);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.id).toBe(ids[0]);
    for (const id of ids) await stack.waitFor(id, (v) => v.status === 'active');
    expect(await elevationsOf('rate-bot')).toHaveLength(3);
  });

  it("when a bot's own limits are higher than the policy's, then they apply to it", async () => {
    for (let i = 0; i < 3; i++) expect((await request('roomy-bot', ask('needs-ok'))).status).toBe(202);

    const refused = await request('roomy-bot', ask('needs-ok'));

    expect(refused.status).toBe(429);
    expect(refused.body.error?.field).toBe('limits.pendingPerRole');
    expect(refused.body.error?.message).toContain('the limit is 3');
  });
});
