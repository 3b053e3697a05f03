/**
 * Scheduled elevations (`startsAt`) and per-bot allowed time windows over the HTTP API, on the
 * real Temporal dev server, slapd and store: a scheduled request is approved ahead, granted by
 * the workflow's timer at its start (not before) and revoked at its end; without a decision by
 * the start it expires; withdrawn or revoked by an admin before the start it ends with nothing
 * granted, audited. A start out of the role's range, or a window outside the bot's allowed
 * windows, is a 4xx naming the field, audited, and starts nothing. Windows are short (a few
 * seconds) so the test stays fast.
 */
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Policy } from '../../config/policy.js';
import type { AuditEvent } from '../../core/model/audit-record.js';
import { createDomainServices } from '../../domain/domain-services.js';
import { createApp } from '../../server/app.js';
import { startStack, testLogger, type Stack } from '../support/stack.js';

const MINUTE = 60_000;
const EVERY_DAY = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** `HH:MM` of instant `ms` on the wall clock of `timeZone`. */
function clockIn(ms: number, timeZone: string): string {
  return new Intl.DateTimeFormat('en-GB', {
    timeZone,
    hour: '2-digit',
    minute: '2-digit',
    hourCycle: 'h23',
  }).format(new Date(ms));
}

// Windows relative to now: one that opens in about two hours (Berlin time, so the zone is
// applied on the way), and one open now that closes in about ten minutes.
const t0 = Date.now();
const laterFrom = Math.ceil((t0 + 2 * 60 * MINUTE) / MINUTE) * MINUTE;
const LATER = {
  days: [...EVERY_DAY],
  from: clockIn(laterFrom, 'Europe/Berlin'),
  to: clockIn(laterFrom + 60 * MINUTE, 'Europe/Berlin'),
  timeZone: 'Europe/Berlin',
};
const NOW_SHORT = {
  days: [...EVERY_DAY],
  from: clockIn(t0 - 60 * MINUTE, 'UTC'),
  to: clockIn(t0 + 11 * MINUTE, 'UTC'),
  timeZone: 'UTC',
};

let stack: Stack;
let server: Server;
let base: string;

beforeAll(async () => {
  stack = await startStack({
    bots: [
      { id: 'sched-bot', roles: ['auto-role', 'needs-ok', 'near-only', 'never-ahead'] },
      { id: 'night-bot', roles: ['auto-role'] },
      { id: 'short-bot', roles: ['auto-role'] },
    ],
    roles: [
      { id: 'auto-role' },
      { id: 'needs-ok', approval: { mode: 'approvers', approvers: ['ann@example.org'], windowSeconds: 600 } },
      { id: 'near-only' },
      { id: 'never-ahead' },
    ],
  });
  // The policy as an operator would write it: leads per role, windows per bot.
  const policy: Policy = {
    ...stack.policy,
    bots: stack.policy.bots.map((b) =>
      b.id === 'night-bot'
        ? { ...b, allowedWindows: [LATER] }
        : b.id === 'short-bot'
          ? { ...b, allowedWindows: [NOW_SHORT] }
          : b,
    ),
    roles: stack.policy.roles.map((r) =>
      r.id === 'near-only'
        ? { ...r, schedule: { maxLeadSeconds: 30 } }
        : r.id === 'never-ahead'
          ? { ...r, schedule: { maxLeadSeconds: 0 } }
          : r,
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

async function call(path: string, key: string, body: unknown): Promise<{ status: number; body: Json }> {
  const res = await fetch(base + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Json };
}

const request = (botId: string, body: Record<string, unknown>) =>
  call('/v1/elevations', stack.keys[botId]!, { justification: 'change window', durationSeconds: 2, ...body });
const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

async function eventsOf(elevationId: string): Promise<AuditEvent[]> {
  return (await stack.stores.auditLog.readEvents(0, 100_000)).filter((e) => e.elevationId === elevationId);
}

async function refusalsOf(botId: string): Promise<AuditEvent[]> {
  return (await stack.stores.auditLog.readEvents(0, 100_000)).filter(
    (e) => e.type === 'request.refused' && e.actor.id === botId,
  );
}

describe('scheduled elevations', () => {
  it('when a scheduled request is approved ahead, then it is granted at its start, not before, and revoked at its end', async () => {
    const startsAt = inSeconds(6);
    const res = await request('sched-bot', { role: 'needs-ok', startsAt });
    expect(res.status).toBe(202);
    const id = String(res.body.id);
    // The approval window closes at the start at the latest.
    expect(res.body).toMatchObject({
      status: 'pending_approval',
      startsAt,
      approval: { deadline: startsAt },
    });

    await stack.services.approvals.approve(id, { approver: { id: 'ann@example.org' } });
    const approved = await stack.waitFor(id, (v) => v.status === 'approved');
    expect(approved.grantedAt).toBeUndefined();
    expect(approved.startsAt).toBe(startsAt);
    expect(Date.now()).toBeLessThan(Date.parse(startsAt));
    expect(await stack.isMember('sched-bot', 'needs-ok')).toBe(false);

    const active = await stack.waitFor(id, (v) => v.status === 'active', 20_000);
    expect(Date.parse(active.grantedAt!)).toBeGreaterThanOrEqual(Date.parse(startsAt));
    expect(active.expiresAt).toBe(new Date(Date.parse(active.grantedAt!) + 2000).toISOString());
    expect(await stack.isMember('sched-bot', 'needs-ok')).toBe(true);

    const ended = await stack.waitFor(id, (v) => v.status === 'revoked', 20_000);
    expect(ended.endReason).toBe('expired');
    expect(await stack.isMember('sched-bot', 'needs-ok')).toBe(false);
    const types = (await eventsOf(id)).map((e) => e.type);
    expect(types.indexOf('elevation.approved')).toBeLessThan(types.indexOf('grant.confirmed'));
    const requested = (await eventsOf(id)).find((e) => e.type === 'elevation.requested');
    expect(requested?.data).toMatchObject({ startsAt });
  }, 60_000);

  it('when no decision comes by the start, then the request expires at its start and nothing is granted', async () => {
    const startsAt = inSeconds(2);
    const res = await request('sched-bot', { role: 'needs-ok', startsAt });
    expect(res.status).toBe(202);
    const ended = await stack.waitFor(String(res.body.id), (v) => v.status === 'expired', 20_000);
    expect(Date.parse(ended.endedAt!)).toBeGreaterThanOrEqual(Date.parse(startsAt));
    expect(ended.grantedAt).toBeUndefined();
  }, 30_000);

  it('when the bot gives back an approved scheduled elevation before its start, then it ends withdrawn with nothing granted', async () => {
    const startsAt = inSeconds(120);
    const res = await request('sched-bot', { role: 'auto-role', startsAt, durationSeconds: 60 });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'approved', startsAt });
    expect(res.body.grantedAt).toBeUndefined();
    const id = String(res.body.id);
    await stack.waitFor(id, (v) => v.status === 'approved');

    const back = await call(`/v1/elevations/${id}/revoke`, stack.keys['sched-bot']!, {
      reason: 'change moved',
    });
    expect(back.status).toBe(200);
    expect(back.body).toMatchObject({ status: 'revoked', endReason: 'withdrawn' });

    const events = await eventsOf(id);
    expect(events.find((e) => e.type === 'elevation.revoked')?.data).toMatchObject({
      reason: 'withdrawn',
      comment: 'change moved',
      granted: false,
    });
    expect(events.some((e) => e.type === 'grant.confirmed')).toBe(false);
    expect(await stack.isMember('sched-bot', 'auto-role')).toBe(false);
  }, 30_000);

  it('when an admin revokes a scheduled elevation before its start, then it ends admin_revoked with nothing granted', async () => {
    const res = await request('sched-bot', {
      role: 'auto-role',
      startsAt: inSeconds(120),
      durationSeconds: 60,
    });
    const id = String(res.body.id);
    await stack.waitFor(id, (v) => v.status === 'approved');

    const revoked = await call(`/v1/admin/elevations/${id}/revoke`, stack.adminToken, { reason: 'freeze' });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ status: 'revoked', endReason: 'admin_revoked' });
    const events = await eventsOf(id);
    expect(events.find((e) => e.type === 'elevation.revoked')).toMatchObject({
      actor: { kind: 'admin', id: 'test-admin' },
      data: { reason: 'admin_revoked', granted: false },
    });
    expect(events.some((e) => e.type === 'grant.confirmed')).toBe(false);
  }, 30_000);

  it.each([
    ['more than a minute in the past', 'auto-role', () => inSeconds(-300), /in the past/],
    ["further ahead than the role's maxLeadSeconds", 'near-only', () => inSeconds(120), /at most 30 s ahead/],
    [
      'any time ahead for a role with maxLeadSeconds 0',
      'never-ahead',
      () => inSeconds(10),
      /cannot be scheduled/,
    ],
  ])(
    'when startsAt is %s, then it is 422 start_out_of_range naming startsAt, audited',
    async (_l, role, at, message) => {
      const before = (await refusalsOf('sched-bot')).length;
      const res = await request('sched-bot', { role, startsAt: at() });
      expect(res.status).toBe(422);
      expect(res.body.error).toMatchObject({ code: 'start_out_of_range', field: 'startsAt' });
      expect(res.body.error?.message).toMatch(message);
      const refusals = await refusalsOf('sched-bot');
      expect(refusals).toHaveLength(before + 1);
      expect(refusals.at(-1)?.data).toMatchObject({ code: 'start_out_of_range', field: 'startsAt' });
    },
  );

  it('when startsAt has no time zone, then it is 400 naming startsAt', async () => {
    const res = await request('sched-bot', { role: 'auto-role', startsAt: '2026-12-08T01:00:00' });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 'invalid_request', field: 'startsAt' });
  });
});

describe('allowed time windows', () => {
  it('when a bot asks outside its allowed window, then it is 403 outside_allowed_window naming startsAt and the next window, and nothing starts', async () => {
    const res = await request('night-bot', { role: 'auto-role', durationSeconds: 600 });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'outside_allowed_window', field: 'startsAt' });
    expect(res.body.error?.message).toContain(`${LATER.from}-${LATER.to} Europe/Berlin`);
    expect(res.body.error?.message).toContain(new Date(laterFrom).toISOString());
    expect((await refusalsOf('night-bot')).at(-1)?.data).toMatchObject({ code: 'outside_allowed_window' });
    expect((await stack.stores.elevations.listElevations({ botId: 'night-bot', limit: 10 })).items).toEqual(
      [],
    );
  });

  it('when the bot schedules the request inside its allowed window, then it is accepted and waits for the start', async () => {
    const startsAt = new Date(laterFrom + MINUTE).toISOString();
    const res = await request('night-bot', { role: 'auto-role', durationSeconds: 600, startsAt });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ status: 'approved', startsAt });
    const id = String(res.body.id);
    await stack.waitFor(id, (v) => v.status === 'approved');
    // Cleared before its start, so the stack closes with nothing waiting.
    const back = await call(`/v1/elevations/${id}/revoke`, stack.keys['night-bot']!, {});
    expect(back.body).toMatchObject({ status: 'revoked', endReason: 'withdrawn' });
  }, 30_000);

  it('when a scheduled window runs past the end of the allowed window, then it is refused naming durationSeconds', async () => {
    const startsAt = new Date(laterFrom + 50 * MINUTE).toISOString();
    const res = await request('night-bot', { role: 'auto-role', durationSeconds: 1200, startsAt });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatchObject({ code: 'outside_allowed_window', field: 'durationSeconds' });
  });

  it('when the window is open now but closes before the requested duration ends, then it is refused naming durationSeconds; a shorter one is granted', async () => {
    const long = await request('short-bot', { role: 'auto-role', durationSeconds: 3600 });
    expect(long.status).toBe(403);
    expect(long.body.error).toMatchObject({ code: 'outside_allowed_window', field: 'durationSeconds' });
    expect(long.body.error?.message).toMatch(/runs past the end of the allowed window/);

    const short = await request('short-bot', { role: 'auto-role', durationSeconds: 2 });
    expect(short.status).toBe(202);
    const ended = await stack.waitFor(String(short.body.id), (v) => v.status === 'revoked', 20_000);
    expect(ended.grantedAt).toBeDefined();
  }, 30_000);
});
