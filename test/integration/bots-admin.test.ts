/**
 * Bots at runtime through the admin API, on a real port over the real service, Temporal dev
 * server, slapd and store: lockdown (and what it revokes in LDAP), disable/enable, key rotation,
 * the audit trail of each, and who may do it.
 */
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BotKeyRotation, BotLockResult, BotSummary } from '../../domain/bots/bot-summary.js';
import type { AuditEvent } from '../../core/model/audit-record.js';
import { createApp } from '../../server/app.js';
import type { ElevationView } from '../../core/model/elevation.js';
import { startStack, testLogger, type Stack } from '../support/stack.js';

let stack: Stack;
let server: Server;
let base: string;

beforeAll(async () => {
  stack = await startStack({
    bots: [
      { id: 'lock-bot', roles: ['auto-role', 'needs-ok'] },
      { id: 'toggle-bot', roles: ['auto-role'] },
      { id: 'off-bot', roles: ['auto-role'], disabled: true },
      { id: 'key-bot', roles: ['auto-role'] },
      { id: 'idle-bot', roles: ['auto-role'] },
    ],
    roles: [
      { id: 'auto-role', maxDurationSeconds: 600 },
      { id: 'needs-ok', approval: { mode: 'approvers', approvers: ['ann@example.org'], windowSeconds: 300 } },
    ],
  });
  const app = createApp({ services: stack.services, healthChecks: {}, logger: testLogger() });
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

type ErrorBody = { error?: { code: string; message: string; field?: string } };

async function call<T = Record<string, unknown>>(
  method: string,
  path: string,
  opts: { key?: string; body?: unknown; raw?: string; contentType?: string } = {},
): Promise<{ status: number; body: T & ErrorBody; headers: Headers; text: string }> {
  const headers: Record<string, string> = {};
  if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
  const body = opts.raw ?? (opts.body !== undefined ? JSON.stringify(opts.body) : undefined);
  if (body !== undefined) headers['content-type'] = opts.contentType ?? 'application/json';
  const res = await fetch(base + path, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  return {
    status: res.status,
    body: (text ? JSON.parse(text) : {}) as T & ErrorBody,
    headers: res.headers,
    text,
  };
}

const admin = () => stack.adminToken;
const ADMIN_ACTOR = { kind: 'admin', id: 'test-admin' };
const auto = { role: 'auto-role', durationSeconds: 300, justification: 'nightly load' };

/** Request an elevation as `botId` (with `key`, default its policy key); the answer. */
function request(botId: string, body: Record<string, unknown> = auto, key = stack.keys[botId]!) {
  return call<ElevationView>('POST', '/v1/elevations', { key, body });
}

async function activeElevation(botId: string, key?: string): Promise<string> {
  const res = await request(botId, auto, key);
  expect(res.status).toBe(202);
  await stack.waitFor(res.body.id, (v) => v.status === 'active');
  return res.body.id;
}

/** Every event appended after position `after`. */
async function eventsSince(after: number): Promise<AuditEvent[]> {
  return stack.stores.auditLog.readEvents(after, 10_000);
}

async function head(): Promise<number> {
  const all = await stack.stores.auditLog.readEvents(0, 100_000);
  return all.at(-1)?.position ?? 0;
}

describe('lockdown', () => {
  it('when an admin locks a bot, then its pending and active elevations are revoked, LDAP membership is removed, and new requests get 403 bot_locked without naming who or why', async () => {
    const active = await activeElevation('lock-bot');
    expect(await stack.isMember('lock-bot', 'auto-role')).toBe(true);
    const pending = await request('lock-bot', { ...auto, role: 'needs-ok' });
    await stack.waitFor(pending.body.id, (v) => v.status === 'pending_approval');
    const from = await head();

    const res = await call<BotLockResult>('POST', '/v1/admin/bots/lock-bot/lock', {
      key: admin(),
      body: { reason: 'INC-42 suspected key leak' },
    });

    expect(res.status).toBe(200);
    expect(res.body.revoked.map((v) => v.id).sort()).toEqual([active, pending.body.id].sort());
    expect(res.body.failed).toEqual([]);
    expect(res.body.bot).toMatchObject({
      id: 'lock-bot',
      locked: { by: 'test-admin', reason: 'INC-42 suspected key leak' },
    });
    await stack.waitFor(active, (v) => v.status === 'revoked');
    const ended = await stack.waitFor(pending.body.id, (v) => v.status === 'revoked');
    expect(ended.endReason).toBe('admin_revoked');
    expect(await stack.isMember('lock-bot', 'auto-role')).toBe(false);

    const refused = await request('lock-bot');
    expect(refused.status).toBe(403);
    expect(refused.body.error?.code).toBe('bot_locked');
    // The bot may be the compromised party: it learns the code, not the admin, time or reason.
    expect(refused.body.error?.message).not.toContain('INC-42');
    expect(refused.body.error?.message).not.toContain('test-admin');

    const events = await eventsSince(from);
    const locked = events.filter((e) => e.type === 'bot.locked');
    expect(locked).toHaveLength(1);
    expect(locked[0]).toMatchObject({
      elevationId: null,
      actor: ADMIN_ACTOR,
      data: { botId: 'lock-bot', reason: 'INC-42 suspected key leak', alreadyLocked: false, failed: [] },
    });
    expect((locked[0]!.data.revoked as string[]).sort()).toEqual([active, pending.body.id].sort());
    const started = (await stack.stores.auditLog.listEvents(active)).find((e) => e.type === 'revoke.started');
    expect(started).toMatchObject({ actor: ADMIN_ACTOR, data: { comment: 'INC-42 suspected key leak' } });
    // A pending one ends at once, by the admin's hand.
    const withdrawn = (await stack.stores.auditLog.listEvents(pending.body.id)).find(
      (e) => e.type === 'elevation.revoked',
    );
    expect(withdrawn?.actor).toEqual(ADMIN_ACTOR);
    expect(events.find((e) => e.type === 'request.refused' && e.actor.id === 'lock-bot')?.data).toMatchObject(
      {
        code: 'bot_locked',
      },
    );
  });

  it('when a locked bot reads and gives back its elevations, then both still work', async () => {
    const list = await call<{ items: ElevationView[] }>('GET', '/v1/admin/elevations?bot=lock-bot', {
      key: admin(),
    });
    const id = list.body.items[0]!.id;

    const read = await call<ElevationView>('GET', `/v1/elevations/${id}`, { key: stack.keys['lock-bot'] });
    const back = await call<ElevationView>('POST', `/v1/elevations/${id}/revoke`, {
      key: stack.keys['lock-bot'],
    });

    expect(read.status).toBe(200);
    expect(read.body.botId).toBe('lock-bot');
    expect(back.status).toBe(200);
    expect(back.body.status).toBe('revoked');
  });

  it('when a locked bot is locked again, then the first lock stays, nothing more is revoked and the call is audited', async () => {
    const before = await call<BotSummary>('GET', '/v1/admin/bots/lock-bot', { key: admin() });
    const from = await head();

    const again = await call<BotLockResult>('POST', '/v1/admin/bots/lock-bot/lock', {
      key: admin(),
      body: { reason: 'second look' },
    });

    expect(again.status).toBe(200);
    expect(again.body.revoked).toEqual([]);
    expect(again.body.bot.locked).toEqual(before.body.locked);
    const [event] = (await eventsSince(from)).filter((e) => e.type === 'bot.locked');
    expect(event?.data).toMatchObject({ reason: 'second look', alreadyLocked: true, revoked: [] });
  });

  it('when an admin unlocks the bot, then it may request again and the unlock is audited with the lock it lifted', async () => {
    const from = await head();

    const res = await call<BotSummary>('POST', '/v1/admin/bots/lock-bot/unlock', {
      key: admin(),
      body: { reason: 'INC-42 closed' },
    });

    expect(res.status).toBe(200);
    expect(res.body.locked).toBeNull();
    const id = await activeElevation('lock-bot');
    expect(await stack.isMember('lock-bot', 'auto-role')).toBe(true);
    await call('POST', `/v1/elevations/${id}/revoke`, { key: stack.keys['lock-bot'] });
    const [event] = (await eventsSince(from)).filter((e) => e.type === 'bot.unlocked');
    expect(event).toMatchObject({
      actor: ADMIN_ACTOR,
      data: {
        botId: 'lock-bot',
        reason: 'INC-42 closed',
        wasLocked: true,
        lock: { by: 'test-admin', reason: 'INC-42 suspected key leak' },
      },
    });
  });
});

describe('disable and enable', () => {
  it('when an admin disables a bot, then requests get bot_disabled, its active elevation stays and it can still give it back', async () => {
    const id = await activeElevation('toggle-bot');
    const from = await head();

    const res = await call<BotSummary>('POST', '/v1/admin/bots/toggle-bot/disable', {
      key: admin(),
      body: { reason: 'investigating' },
    });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      disabled: true,
      policyDisabled: false,
      disabledOverride: { value: true, by: 'test-admin' },
      activeElevations: 1,
    });
    const refused = await request('toggle-bot');
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'bot_disabled' });
    expect(refused.body.error?.message).not.toContain('test-admin');
    expect((await stack.services.requests.get(id, { kind: 'admin' })).status).toBe('active');
    const back = await call('POST', `/v1/elevations/${id}/revoke`, { key: stack.keys['toggle-bot'] });
    expect([200, 202]).toContain(back.status);
    await stack.waitFor(id, (v) => v.status === 'revoked');
    const [event] = (await eventsSince(from)).filter((e) => e.type === 'bot.disabled');
    expect(event).toMatchObject({
      actor: ADMIN_ACTOR,
      elevationId: null,
      data: { botId: 'toggle-bot', reason: 'investigating', wasDisabled: false, policyDisabled: false },
    });
  });

  it('when the admin enables it again, then the override is gone and the bot may request', async () => {
    const from = await head();

    const res = await call<BotSummary>('POST', '/v1/admin/bots/toggle-bot/enable', { key: admin() });

    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ disabled: false, disabledOverride: null });
    expect((await request('toggle-bot')).status).toBe(202);
    const [event] = (await eventsSince(from)).filter((e) => e.type === 'bot.enabled');
    expect(event).toMatchObject({
      actor: ADMIN_ACTOR,
      data: { botId: 'toggle-bot', reason: null, wasDisabled: true },
    });
  });

  it('when a bot disabled in the policy is enabled, then an override lets it request, and disabling it clears the override', async () => {
    expect((await request('off-bot')).body.error?.code).toBe('bot_disabled');

    const enabled = await call<BotSummary>('POST', '/v1/admin/bots/off-bot/enable', {
      key: admin(),
      body: { reason: 'needed for the migration' },
    });
    expect(enabled.body).toMatchObject({
      disabled: false,
      policyDisabled: true,
      disabledOverride: { value: false, by: 'test-admin' },
    });
    expect((await request('off-bot')).status).toBe(202);

    const disabled = await call<BotSummary>('POST', '/v1/admin/bots/off-bot/disable', { key: admin() });
    expect(disabled.body).toMatchObject({ disabled: true, policyDisabled: true, disabledOverride: null });
    expect((await request('off-bot')).body.error?.code).toBe('bot_disabled');
  });
});

describe('key rotation', () => {
  it('when an admin rotates a key, then the new key is shown once and works, the old one is refused with 401, and the event holds no key', async () => {
    const oldKey = stack.keys['key-bot']!;
    const from = await head();

    const res = await call<BotKeyRotation>('POST', '/v1/admin/bots/key-bot/rotate-key', {
      key: admin(),
      body: { reason: 'yearly rotation' },
    });

    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const key = res.body.key;
    expect(key).toMatch(/^elv_bot_[A-Za-z0-9_-]{43}$/);
    expect(res.body.bot.keyRotatedBy).toBe('test-admin');
    const old = await request('key-bot', auto, oldKey);
    expect(old.status).toBe(401);
    expect(old.body.error).toMatchObject({ code: 'unauthenticated', field: 'authorization' });
    const id = await activeElevation('key-bot', key);
    expect(await stack.isMember('key-bot', 'auto-role')).toBe(true);
    await call('POST', `/v1/elevations/${id}/revoke`, { key });

    const shown = await call('GET', '/v1/admin/bots/key-bot', { key: admin() });
    const listed = await call('GET', '/v1/admin/bots', { key: admin() });
    expect(shown.text).not.toContain(key);
    expect(listed.text).not.toContain(key);
    const events = await eventsSince(from);
    expect(JSON.stringify(events)).not.toContain(key);
    const rotated = events.find((e) => e.type === 'bot.key_rotated');
    expect(rotated).toMatchObject({
      actor: ADMIN_ACTOR,
      data: { botId: 'key-bot', reason: 'yearly rotation' },
    });
    // The refused old key is recorded under the fingerprint the rotation named as the previous one.
    const refusal = events.find((e) => e.type === 'auth.refused' && e.data.reason === 'unknown_key');
    expect(refusal?.data.credential).toBe(rotated?.data.previousCredential);
  });

  it('when a key is rotated twice, then only the newest works, and a rotated key on the admin API is 403', async () => {
    const first = await call<BotKeyRotation>('POST', '/v1/admin/bots/key-bot/rotate-key', { key: admin() });
    const second = await call<BotKeyRotation>('POST', '/v1/admin/bots/key-bot/rotate-key', { key: admin() });

    expect(second.body.key).not.toBe(first.body.key);
    expect((await request('key-bot', auto, first.body.key)).status).toBe(401);
    expect((await request('key-bot', auto, second.body.key)).status).toBe(202);
    const asAdmin = await call('GET', '/v1/admin/bots', { key: second.body.key });
    expect(asAdmin.status).toBe(403);
    expect(asAdmin.body.error?.code).toBe('forbidden');
  });
});

describe('listing', () => {
  it('when an admin lists bots, then every policy bot appears in order with its state merged and its open elevations counted', async () => {
    const id = await activeElevation('idle-bot');

    const res = await call<{ items: BotSummary[] }>('GET', '/v1/admin/bots', { key: admin() });

    expect(res.status).toBe(200);
    expect(res.body.items.map((b) => b.id)).toEqual(stack.policy.bots.map((b) => b.id));
    const idle = res.body.items.find((b) => b.id === 'idle-bot');
    expect(idle).toMatchObject({
      owner: 'idle-bot-owner@example.org',
      team: 'test',
      environment: 'test',
      roles: ['auto-role'],
      disabled: false,
      locked: null,
      keyRotatedAt: null,
      federation: false,
      activeElevations: 1,
      openElevations: 1,
    });
    expect(idle?.principals.ldapDn).toContain('idle-bot');
    expect(res.body.items.find((b) => b.id === 'key-bot')?.keyRotatedAt).toEqual(expect.any(String));
    await call('POST', `/v1/elevations/${id}/revoke`, { key: stack.keys['idle-bot'] });
    await stack.waitFor(id, (v) => v.status === 'revoked');
    const after = await call<BotSummary>('GET', '/v1/admin/bots/idle-bot', { key: admin() });
    expect(after.body).toMatchObject({ activeElevations: 0, openElevations: 0 });
  });
});

describe('who may, and bad input', () => {
  it.each([
    ['GET', '/v1/admin/bots'],
    ['GET', '/v1/admin/bots/idle-bot'],
    ['POST', '/v1/admin/bots/idle-bot/lock'],
    ['POST', '/v1/admin/bots/idle-bot/unlock'],
    ['POST', '/v1/admin/bots/idle-bot/disable'],
    ['POST', '/v1/admin/bots/idle-bot/enable'],
    ['POST', '/v1/admin/bots/idle-bot/rotate-key'],
  ])(
    'when %s %s comes without a credential or with a bot key, then it is 401 or 403 and nothing changes',
    async (method, path) => {
      const body = method === 'POST' ? { reason: 'should not happen' } : undefined;

      const none = await call(method, path, { ...(body ? { body } : {}) });
      const asBot = await call(method, path, { key: stack.keys['idle-bot'], ...(body ? { body } : {}) });
      const unknown = await call(method, path, {
        key: 'elv_adm_not-a-real-token',
        ...(body ? { body } : {}),
      });

      expect(none.status).toBe(401);
      expect(asBot.status).toBe(403);
      expect(asBot.body.error?.code).toBe('forbidden');
      expect(unknown.status).toBe(401);
      expect(await stack.stores.botStates.getBotState('idle-bot')).toBeUndefined();
    },
  );

  it.each([
    ['lock without a body', '/v1/admin/bots/idle-bot/lock', undefined, 400, 'invalid_request', 'reason'],
    ['lock without a reason', '/v1/admin/bots/idle-bot/lock', {}, 400, 'invalid_request', 'reason'],
    [
      'lock with a blank reason',
      '/v1/admin/bots/idle-bot/lock',
      { reason: '  ' },
      400,
      'invalid_request',
      'reason',
    ],
    [
      'lock with a reason of control characters',
      '/v1/admin/bots/idle-bot/lock',
      { reason: 'a\u0000b' },
      400,
      'invalid_request',
      'reason',
    ],
    ['unlock without a reason', '/v1/admin/bots/idle-bot/unlock', {}, 400, 'invalid_request', 'reason'],
    [
      'disable with an unknown field',
      '/v1/admin/bots/idle-bot/disable',
      { force: true },
      400,
      'invalid_request',
      'force',
    ],
    [
      'a reason that is not text',
      '/v1/admin/bots/idle-bot/rotate-key',
      { reason: 5 },
      400,
      'invalid_request',
      'reason',
    ],
    [
      'a bot id that cannot be one',
      '/v1/admin/bots/Not_A_Bot/lock',
      { reason: 'x' },
      400,
      'invalid_request',
      'id',
    ],
    [
      'a bot the policy does not have',
      '/v1/admin/bots/ghost-bot/lock',
      { reason: 'x' },
      404,
      'not_found',
      'id',
    ],
    ['a bot the policy does not have', '/v1/admin/bots/ghost-bot/enable', {}, 404, 'not_found', 'id'],
  ] as const)(
    'when an admin sends %s, then it is refused naming the field and nothing changes',
    async (...args) => {
      const [, path, body, status, code, field] = args;

      const res = await call('POST', path, { key: admin(), ...(body !== undefined ? { body } : {}) });

      expect(res.status).toBe(status);
      expect(res.body.error).toMatchObject({ code, field });
      expect(await stack.stores.botStates.getBotState('idle-bot')).toBeUndefined();
      expect(await stack.stores.botStates.getBotState('ghost-bot')).toBeUndefined();
    },
  );

  it('when a body is not JSON, then it is 415', async () => {
    const res = await call('POST', '/v1/admin/bots/idle-bot/disable', {
      key: admin(),
      raw: 'reason=x',
      contentType: 'application/x-www-form-urlencoded',
    });

    expect(res.status).toBe(415);
    expect(res.body.error?.code).toBe('unsupported_media_type');
  });

  it('when GET names an unknown bot, then it is 404 naming id', async () => {
    const res = await call('GET', '/v1/admin/bots/ghost-bot', { key: admin() });

    expect(res.status).toBe(404);
    expect(res.body.error).toMatchObject({ code: 'not_found', field: 'id' });
  });
});
