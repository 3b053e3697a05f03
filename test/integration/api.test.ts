/**
 * The HTTP API on a real port, over the real service, Temporal dev server, slapd and store.
 */
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ElevationView } from '../../core/model/elevation.js';
import { createApp } from '../../server/app.js';
import { startStack, testLogger, type Stack } from '../support/stack.js';

let stack: Stack;
let server: Server;
let base: string;

beforeAll(async () => {
  stack = await startStack({
    bots: [
      { id: 'api-bot', roles: ['db-read', 'needs-ok'] },
      { id: 'second-bot', roles: ['db-read'] },
      { id: 'off-bot', roles: ['db-read'], disabled: true },
    ],
    roles: [
      { id: 'db-read', maxDurationSeconds: 60 },
      { id: 'needs-ok', approval: { mode: 'approvers', approvers: ['ann@example.org'], windowSeconds: 60 } },
      { id: 'not-granted-to-anyone' },
    ],
  });
  const app = createApp({
    services: stack.services,
    healthChecks: {
      temporal: async () => {
        await stack.env.client.workflowService.getSystemInfo({});
      },
      auditStore: () => stack.stores.database.ping(),
      ldap: () => stack.target.ping(),
    },
    logger: testLogger(),
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  server?.close();
  await stack?.close();
});

type Json = Record<string, unknown> & { error?: { code: string; message: string; field?: string } };

async function call(
  method: string,
  path: string,
  opts: { key?: string; body?: unknown; raw?: string; contentType?: string } = {},
): Promise<{ status: number; body: Json; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) body = JSON.stringify(opts.body);
  if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const res = await fetch(base + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Json) : {}, headers: res.headers };
}

const bot = () => stack.keys['api-bot']!;
const admin = () => stack.adminToken;
const ok = { role: 'db-read', durationSeconds: 30, justification: 'nightly export' };

async function waitUntil(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function workflowCount(): Promise<number> {
  let n = 0;
  for await (const _ of stack.env.client.workflow.list({ query: `TaskQueue = '${stack.taskQueue}'` })) n += 1;
  return n;
}

describe('bot API', () => {
  it('when a bot requests an auto role, then it gets 202 with the elevation and can read and long-poll it', async () => {
    const res = await call('POST', '/v1/elevations', { key: bot(), body: { ...ok, ticket: 'OPS-1' } });
    expect(res.status).toBe(202);
    const view = res.body as unknown as ElevationView;
    expect(view).toMatchObject({ botId: 'api-bot', roleId: 'db-read', status: 'approved', ticket: 'OPS-1' });
    expect(res.headers.get('location')).toBe(`/v1/elevations/${view.id}`);

    const polled = await call('GET', `/v1/elevations/${view.id}?waitSeconds=10`, { key: bot() });
    expect(polled.status).toBe(200);
    expect(polled.body.status).toBe('active');
    expect(await stack.isMember('api-bot', 'db-read')).toBe(true);

    const back = await call('POST', `/v1/elevations/${view.id}/revoke`, {
      key: bot(),
      body: { reason: 'finished' },
    });
    expect([200, 202]).toContain(back.status);
    await stack.waitFor(view.id, (v) => v.status === 'revoked');
    expect(await stack.isMember('api-bot', 'db-read')).toBe(false);
  });

  it('when a long-poll sees no change, then it returns the unchanged elevation after waitSeconds', async () => {
    const created = await call('POST', '/v1/elevations', {
      key: bot(),
      body: { role: 'needs-ok', durationSeconds: 30, justification: 'waits' },
    });
    const id = String(created.body.id);
    await stack.waitFor(id, (v) => v.status === 'pending_approval');
    const started = Date.now();
    const polled = await call('GET', `/v1/elevations/${id}?waitSeconds=1`, { key: bot() });
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(polled.body.status).toBe('pending_approval');
    await call('POST', `/v1/elevations/${id}/revoke`, { key: bot() });
  });

  it('when a long-poll waits until a status the elevation already has, then it answers at once', async () => {
    const created = await call('POST', '/v1/elevations', { key: bot(), body: ok });
    const id = String(created.body.id);
    await stack.waitFor(id, (v) => v.status === 'active');
    const started = Date.now();
    const polled = await call('GET', `/v1/elevations/${id}?until=active&waitSeconds=10`, { key: bot() });
    expect(polled.status).toBe(200);
    expect(polled.body.status).toBe('active');
    expect(Date.now() - started).toBeLessThan(2_000);
    await call('POST', `/v1/elevations/${id}/revoke`, { key: bot() });
  });

  it('when a long-poll waits until a status that comes later, then it answers when it comes, not at the statuses on the way', async () => {
    const created = await call('POST', '/v1/elevations', {
      key: bot(),
      body: { role: 'needs-ok', durationSeconds: 30, justification: 'waits for active' },
    });
    const id = String(created.body.id);
    await stack.waitFor(id, (v) => v.status === 'pending_approval');
    const started = Date.now();
    const untilActive = call('GET', `/v1/elevations/${id}?until=active,denied&waitSeconds=20`, {
      key: bot(),
    });
    let givenBackAnswered = false;
    const untilRevoked = call('GET', `/v1/elevations/${id}?until=revoked&waitSeconds=30`, {
      key: bot(),
    }).then((res) => {
      givenBackAnswered = true;
      return res;
    });
    await new Promise((r) => setTimeout(r, 1_000));
    await stack.services.approvals.approve(id, {
      approver: { id: 'ann@example.org' },
      evidence: { method: 'test' },
    });
    const active = await untilActive;
    expect(active.status).toBe(200);
    expect(active.body.status).toBe('active');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    expect(Date.now() - started).toBeLessThan(15_000);

    // approved and active were changes, but not what the second call waits for: it still waits.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(givenBackAnswered).toBe(false);
    await call('POST', `/v1/elevations/${id}/revoke`, { key: bot() });
    const revoked = await untilRevoked;
    expect(revoked.body).toMatchObject({ status: 'revoked', endReason: 'given_back' });
  });

  it('when a long-poll waits until a status but the elevation has ended in another, then it answers at once with the final status', async () => {
    const created = await call('POST', '/v1/elevations', {
      key: bot(),
      body: { role: 'needs-ok', durationSeconds: 30, justification: 'withdrawn before approval' },
    });
    const id = String(created.body.id);
    await stack.waitFor(id, (v) => v.status === 'pending_approval');
    await call('POST', `/v1/elevations/${id}/revoke`, { key: bot() });
    await stack.waitFor(id, (v) => v.status === 'revoked');
    const started = Date.now();
    const polled = await call('GET', `/v1/elevations/${id}?until=active&waitSeconds=10`, { key: bot() });
    expect(polled.body).toMatchObject({ status: 'revoked', endReason: 'withdrawn' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('when until names a status that does not exist, then it is 400 naming the field until', async () => {
    const created = await call('POST', '/v1/elevations', { key: bot(), body: ok });
    const id = String(created.body.id);
    const res = await call('GET', `/v1/elevations/${id}?until=active,granted&waitSeconds=5`, { key: bot() });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', field: 'until' });
    expect(res.body.error?.message).toContain('pending_approval');
    await call('POST', `/v1/elevations/${id}/revoke`, { key: bot() });
  });

  it('when the same requestId is sent twice, then the second answer is the same elevation, marked as replayed', async () => {
    const body = { ...ok, requestId: 'build-981' };
    const a = await call('POST', '/v1/elevations', { key: bot(), body });
    const b = await call('POST', '/v1/elevations', { key: bot(), body });
    expect(b.status).toBe(202);
    expect(b.body.id).toBe(a.body.id);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    const c = await call('POST', '/v1/elevations', { key: bot(), body: { ...body, justification: 'other' } });
    expect(c.status).toBe(409);
    expect(c.body.error).toMatchObject({ code: 'idempotency_conflict', field: 'justification' });
  });

  it("when a bot asks for another bot's elevation, then it is not found", async () => {
    const theirs = await call('POST', '/v1/elevations', { key: stack.keys['second-bot']!, body: ok });
    const res = await call('GET', `/v1/elevations/${String(theirs.body.id)}`, { key: bot() });
    expect(res.status).toBe(404);
    expect(res.body.error?.code).toBe('not_found');
    const revoke = await call('POST', `/v1/elevations/${String(theirs.body.id)}/revoke`, { key: bot() });
    expect(revoke.status).toBe(404);
  });
});

describe('bad input', () => {
  const cases: [string, Record<string, unknown> | string, number, string, string][] = [
    ['an unknown role', { ...ok, role: 'nope' }, 422, 'unknown_role', 'role'],
    [
      'a role the bot may not request',
      { ...ok, role: 'not-granted-to-anyone' },
      403,
      'role_not_allowed',
      'role',
    ],
    ['LDAP-special characters in the role', { ...ok, role: '*)(cn=*' }, 400, 'invalid_request', 'role'],
    ['a zero duration', { ...ok, durationSeconds: 0 }, 400, 'invalid_request', 'durationSeconds'],
    ['a negative duration', { ...ok, durationSeconds: -5 }, 400, 'invalid_request', 'durationSeconds'],
    ['a fractional duration', { ...ok, durationSeconds: 1.5 }, 400, 'invalid_request', 'durationSeconds'],
    ['a duration as a string', { ...ok, durationSeconds: '30' }, 400, 'invalid_request', 'durationSeconds'],
    [
      "a duration above the role's maximum",
      { ...ok, durationSeconds: 61 },
      422,
      'duration_too_long',
      'durationSeconds',
    ],
    [
      'a missing justification',
      { role: 'db-read', durationSeconds: 30 },
      400,
      'invalid_request',
      'justification',
    ],
    ['a blank justification', { ...ok, justification: '   ' }, 400, 'invalid_request', 'justification'],
    [
      'an oversized justification',
      { ...ok, justification: 'x'.repeat(1001) },
      400,
      'invalid_request',
      'justification',
    ],
    ['control characters', { ...ok, justification: 'a\u0000b' }, 400, 'invalid_request', 'justification'],
    ['an unknown field', { ...ok, admin: true }, 400, 'invalid_request', 'admin'],
    ['a malformed requestId', { ...ok, requestId: 'a,b=c' }, 400, 'invalid_request', 'requestId'],
    ['a body that is not JSON', '{"role": ', 400, 'invalid_json', 'body'],
    ['a body over 16 KiB', { ...ok, ticket: 'x'.repeat(17_000) }, 413, 'payload_too_large', 'body'],
  ];

  it.each(cases)(
    'when the request has %s, then it is refused naming the field and no workflow starts',
    async (_, body, status, code, field) => {
      const before = await workflowCount();
      const res = await call('POST', '/v1/elevations', {
        key: bot(),
        ...(typeof body === 'string' ? { raw: body } : { body }),
      });
      expect(res.status).toBe(status);
      expect(res.body.error).toMatchObject({ code, field });
      expect(res.body.error?.message).toContain(field === 'body' ? '' : field);
      expect(await workflowCount()).toBe(before);
    },
  );

  it('when the body is not JSON-typed, then it is 415 naming content-type', async () => {
    const res = await call('POST', '/v1/elevations', {
      key: bot(),
      raw: JSON.stringify(ok),
      contentType: 'text/plain',
    });
    expect(res.status).toBe(415);
    expect(res.body.error).toMatchObject({ code: 'unsupported_media_type', field: 'content-type' });
  });

  it('when the elevation id in the path is malformed or unknown, then 400 or 404 names the id', async () => {
    const bad = await call('GET', '/v1/elevations/el_*)(uid=*', { key: bot() });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatchObject({ code: 'invalid_request', field: 'id' });
    const unknown = await call('GET', `/v1/elevations/el_${'0'.repeat(24)}`, { key: bot() });
    expect(unknown.status).toBe(404);
    const wait = await call('GET', `/v1/elevations/el_${'0'.repeat(24)}?waitSeconds=99`, { key: bot() });
    expect(wait.status).toBe(400);
    expect(wait.body.error?.field).toBe('waitSeconds');
  });

  it('when a refusal concerns a known elevation id, then the audit event names that elevation, once', async () => {
    const id = `el_${'1'.repeat(24)}`;
    await call('GET', `/v1/elevations/${id}`, { key: bot() });
    const events = await stack.stores.auditLog.listEvents(id);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'request.refused', data: { code: 'not_found', method: 'GET' } });
  });

  it('when a disabled bot asks, then it is 403 bot_disabled', async () => {
    const res = await call('POST', '/v1/elevations', { key: stack.keys['off-bot']!, body: ok });
    expect(res.status).toBe(403);
    expect(res.body.error?.code).toBe('bot_disabled');
  });

  it('when a known bot is refused, or an unknown key is tried, then each attempt is in the audit trail without the secret', async () => {
    const head = (await stack.stores.auditLog.verify()).head?.position ?? 0;
    await call('POST', '/v1/elevations', { key: bot(), body: { ...ok, role: 'nope' } });
    const wrongKey = 'elv_bot_this-key-was-never-issued-0000000000000';
    await call('POST', '/v1/elevations', { key: wrongKey, body: ok });

    const events = await stack.stores.auditLog.readEvents(head, 100);
    const refused = events.find((e) => e.type === 'request.refused');
    expect(refused).toMatchObject({
      elevationId: null,
      actor: { kind: 'bot', id: 'api-bot' },
      data: { code: 'unknown_role', field: 'role', method: 'POST', path: '/v1/elevations' },
    });
    const auth = events.find((e) => e.type === 'auth.refused');
    expect(auth).toMatchObject({ actor: { kind: 'anonymous' }, data: { reason: 'unknown_key' } });
    expect(JSON.stringify(events)).not.toContain(wrongKey);
    expect((await stack.stores.auditLog.verify()).ok).toBe(true);
  });
});

describe('credentials', () => {
  it.each([
    ['no Authorization header', undefined],
    ['an unknown key', 'elv_bot_not-a-real-key-at-all-000000000000000'],
    ['an empty bearer', ''],
  ])('when a bot call has %s, then it is 401 naming authorization', async (_, key) => {
    const res = await call('POST', '/v1/elevations', { ...(key !== undefined ? { key } : {}), body: ok });
    expect(res.status).toBe(401);
    expect(res.body.error).toMatchObject({ code: 'unauthenticated', field: 'authorization' });
  });

  it('when an unauthenticated caller sends a malformed body, then the answer is 401, not a hint about the body', async () => {
    for (const raw of ['not json', '{}']) {
      const res = await fetch(`${base}/v1/elevations`, {
        method: 'POST',
        headers: { 'content-type': raw === '{}' ? 'text/plain' : 'application/json' },
        body: raw,
      });
      expect(res.status).toBe(401);
    }
  });

  it('when an admin token is used on the bot API, then it is refused', async () => {
    const res = await call('POST', '/v1/elevations', { key: admin(), body: ok });
    expect(res.status).toBe(401);
  });

  it('when a bot key is used on the admin API, then it is 403', async () => {
    const res = await call('GET', '/v1/admin/elevations', { key: bot() });
    expect(res.status).toBe(403);
    expect(res.body.error?.code).toBe('forbidden');
  });
});

describe('admin API', () => {
  it('when an admin lists with filters and pages, then every matching elevation appears once, newest first', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i += 1) {
      const res = await call('POST', '/v1/elevations', { key: stack.keys['second-bot']!, body: ok });
      ids.push(String(res.body.id));
    }
    // The list reads the audit store, which has the elevation once its workflow recorded it.
    await waitUntil(async () =>
      (await Promise.all(ids.map((id) => stack.stores.elevations.getElevation(id)))).every(Boolean),
    );
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const res = await call(
        'GET',
        `/v1/admin/elevations?bot=second-bot&role=db-read&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        { key: admin() },
      );
      expect(res.status).toBe(200);
      const items = res.body.items as ElevationView[];
      expect(items.length).toBeLessThanOrEqual(2);
      for (const item of items) expect(item.botId).toBe('second-bot');
      seen.push(...items.map((i) => i.id));
      cursor = res.body.nextCursor as string | undefined;
    } while (cursor);
    for (const id of ids) expect(seen.filter((s) => s === id)).toHaveLength(1);
    const stamps = await Promise.all(seen.map((id) => stack.stores.elevations.getElevation(id)));
    const times = stamps.map((v) => v!.requestedAt);
    expect([...times].sort().reverse()).toEqual(times);
  });

  it('when an admin filters by status and time range, then only matching elevations return', async () => {
    const since = new Date(Date.now() - 60_000).toISOString();
    const res = await call('GET', `/v1/admin/elevations?status=active,revoked&from=${since}`, {
      key: admin(),
    });
    expect(res.status).toBe(200);
    for (const item of res.body.items as ElevationView[]) {
      expect(['active', 'revoked']).toContain(item.status);
      expect(Date.parse(item.requestedAt)).toBeGreaterThanOrEqual(Date.parse(since));
    }
    const future = await call(
      'GET',
      `/v1/admin/elevations?from=${new Date(Date.now() + 3600_000).toISOString()}`,
      {
        key: admin(),
      },
    );
    expect(future.body.items).toEqual([]);
  });

  it.each([
    ['status=bogus', 'status'],
    ['limit=0', 'limit'],
    ['limit=500', 'limit'],
    ['from=yesterday', 'from'],
    ['cursor=not-a-cursor', 'cursor'],
    ['sort=asc', 'sort'],
  ])('when the list query has %s, then it is 400 naming %s', async (query, field) => {
    const res = await call('GET', `/v1/admin/elevations?${query}`, { key: admin() });
    expect(res.status).toBe(400);
    expect(res.body.error?.field).toBe(field);
  });

  it('when an admin opens and revokes an elevation, then the timeline shows every event and the reason is required', async () => {
    const created = await call('POST', '/v1/elevations', { key: bot(), body: ok });
    const id = String(created.body.id);
    await stack.waitFor(id, (v) => v.status === 'active');

    const noReason = await call('POST', `/v1/admin/elevations/${id}/revoke`, { key: admin(), body: {} });
    expect(noReason.status).toBe(400);
    expect(noReason.body.error?.field).toBe('reason');

    const revoked = await call('POST', `/v1/admin/elevations/${id}/revoke`, {
      key: admin(),
      body: { reason: 'incident 7' },
    });
    expect([200, 202]).toContain(revoked.status);
    await stack.waitFor(id, (v) => v.status === 'revoked');

    const again = await call('POST', `/v1/admin/elevations/${id}/revoke`, {
      key: admin(),
      body: { reason: 'twice' },
    });
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('revoked');

    const timeline = await call('GET', `/v1/admin/elevations/${id}`, { key: admin() });
    expect(timeline.status).toBe(200);
    const events = timeline.body.events as {
      type: string;
      actor: { kind: string; id: string };
      data: Record<string, unknown>;
    }[];
    expect(events.map((e) => e.type)).toEqual([
      'elevation.requested',
      'elevation.approved',
      'grant.confirmed',
      'request.refused',
      'revoke.started',
      'elevation.revoked',
    ]);
    // The refused attempt without a reason is part of this elevation's story.
    expect(events[3]).toMatchObject({
      actor: { kind: 'admin', id: 'test-admin' },
      data: { field: 'reason' },
    });
    expect(events[4]!.actor).toEqual({ kind: 'admin', id: 'test-admin' });
  });

  it('when an admin verifies the audit chain, then it reports ok with the head, which later serves as an anchor', async () => {
    const res = await call('GET', '/v1/admin/audit/verify', { key: admin() });
    expect(res.status).toBe(200);
    expect(res.body.ok).toBe(true);
    expect(res.body.checked).toBeGreaterThan(0);
    const head = res.body.head as { position: number; hash: string };
    expect(head.position).toBe(res.body.checked);

    const anchored = await call('GET', `/v1/admin/audit/verify?anchor=${head.position}:${head.hash}`, {
      key: admin(),
    });
    expect(anchored.body.ok).toBe(true);
    const wrong = await call('GET', `/v1/admin/audit/verify?anchor=${head.position}:${'0'.repeat(64)}`, {
      key: admin(),
    });
    expect(wrong.body).toMatchObject({
      ok: false,
      firstBroken: { position: head.position, reason: 'anchor_mismatch' },
    });
    const bad = await call('GET', '/v1/admin/audit/verify?anchor=3:nothex', { key: admin() });
    expect(bad.status).toBe(400);
    expect(bad.body.error?.field).toBe('anchor');
  });
});

describe('audit export', () => {
  const get = (query: string, key?: string) =>
    fetch(
      `${base}/v1/admin/audit/export${query}`,
      key ? { headers: { authorization: `Bearer ${key}` } } : {},
    );

  it('when an admin exports, then the whole chain streams as JSON Lines that re-verify, and the export is on record', async () => {
    const res = await get('?format=jsonl', admin());
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/x-ndjson');
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="elevate-audit-jsonl-/);
    const lines = (await res.text())
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const stored = await stack.stores.auditLog.readEvents(0, 1_000_000);
    // Everything up to and including this export's own record, in chain order, hashes intact.
    expect(lines.map((l) => l['hash'])).toEqual(stored.slice(0, lines.length).map((e) => e.hash));
    for (let i = 1; i < lines.length; i++) expect(lines[i]!['prevHash']).toBe(lines[i - 1]!['hash']);
    const exported = lines.at(-1)!;
    expect(exported).toMatchObject({
      type: 'audit.exported',
      actor: { kind: 'admin' },
      data: { format: 'jsonl' },
    });
  });

  it('when an admin exports CSV or OCSF for a window, then only that window comes, in the asked format', async () => {
    const stored = await stack.stores.auditLog.readEvents(0, 1_000_000);
    const since = stored[0]!.at;
    const csv = await get(`?format=csv&since=${encodeURIComponent(since)}`, admin());
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const rows = (await csv.text()).split('\r\n');
    expect(rows[0]).toBe(
      'position,id,at,type,elevation_id,seq,actor_kind,actor_id,data,prev_hash,hash,risk_score,risk_level,risk_reasons',
    );
    const ocsf = await get(`?format=ocsf&until=${encodeURIComponent(since)}`, admin());
    expect(ocsf.status).toBe(200);
    // Nothing happened before the first event.
    expect(await ocsf.text()).toBe('');
  });

  it('when the caller is not an admin or the query is bad, then nothing is exported', async () => {
    expect((await get('?format=jsonl')).status).toBe(401);
    expect((await get('?format=jsonl', bot())).status).toBe(403);
    const bad = await get('?format=xml', admin());
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { field: string } }).error.field).toBe('format');
    const badTime = await get('?since=yesterday', admin());
    expect(((await badTime.json()) as { error: { field: string } }).error.field).toBe('since');
    const reversed = await get('?since=2026-01-02T00:00:00Z&until=2026-01-01T00:00:00Z', admin());
    expect(reversed.status).toBe(400);
  });
});

describe('health', () => {
  it('when every part answers, then /healthz is 200; when LDAP is down, then 503 names it', async () => {
    const up = await call('GET', '/healthz');
    expect(up.status).toBe(200);
    expect(up.body.status).toBe('ok');

    await stack.slapd.stop();
    try {
      const down = await call('GET', '/healthz');
      expect(down.status).toBe(503);
      const checks = down.body.checks as Record<string, { ok: boolean }>;
      expect(checks.ldap?.ok).toBe(false);
      expect(checks.temporal?.ok).toBe(true);
      // Unauthenticated: which part is down, not where it lives or how it failed.
      expect(JSON.stringify(down.body)).not.toMatch(/ldap:\/\/|127\.0\.0\.1|cn=|error/i);
    } finally {
      await stack.slapd.restart();
    }
    expect((await call('GET', '/healthz')).status).toBe(200);
  });
});
