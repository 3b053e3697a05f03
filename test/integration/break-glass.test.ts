/**
 * Break-glass end to end, on the real stack (Temporal, slapd, the store, the worker), the
 * development identity provider and the stand-in for Slack: a listed bot is granted a role that
 * needs approval at once on its emergency path, loudly (the security channel, the owner, the
 * reviewer, `breakglass.activated`); a named reviewer confirms it with MFA (the bot's owner may
 * not); and an activation nobody reviews by its deadline loses the role, locks the bot down and
 * keeps its incident open until a late review closes it.
 */
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { AuditEvent } from '../../core/model/audit-record.js';
import type { ElevationView } from '../../core/model/elevation.js';
import { adminConsole } from '../../server/admin/console.js';
import { createApp } from '../../server/app.js';
import { tokenDigest } from '../../server/browser-login.js';
import { person, startApprovalStack, type ApprovalStack } from '../support/approval-stack.js';

const olive = person('olive'); // owns the bots, and is a reviewer: she may not review her own bots
const lee = person('lee'); // the reviewer
const sam = person('sam'); // neither
const SECURITY = 'CSECURITY1';

let s: ApprovalStack;

beforeAll(async () => {
  const approval = { mode: 'approvers' as const, groups: [{ name: 'leads', members: [lee.email] }] };
  s = await startApprovalStack({
    people: [olive, lee, sam],
    bots: [
      { id: 'fire-bot', roles: ['db', 'db-fast'], owner: olive.email },
      { id: 'late-bot', roles: ['db-fast'], owner: olive.email },
      { id: 'calm-bot', roles: ['db'], owner: olive.email },
      { id: 'bad-bot', roles: ['db'], owner: olive.email },
    ],
    roles: [
      {
        id: 'db',
        approval,
        breakGlass: { bots: ['fire-bot', 'bad-bot'], maxSeconds: 300, reviewers: [lee.email, olive.email] },
      },
      {
        id: 'db-fast',
        approval,
        // Seconds, so that the missed review is seen within the test.
        breakGlass: { bots: ['fire-bot', 'late-bot'], reviewers: [lee.email], reviewDeadlineSeconds: 3 },
      },
    ],
    detection: { alertChannel: SECURITY },
  });
}, 120_000);

afterAll(async () => {
  if (console_) {
    const { server } = console_;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
  await s?.close();
});

async function until<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function events(type: string, elevationId?: string): Promise<AuditEvent[]> {
  return (await s.stack.stores.auditLog.readEvents(0, 100_000)).filter(
    (e) => e.type === type && (elevationId === undefined || e.elevationId === elevationId),
  );
}

function request(botId: string, body: Record<string, unknown>): Promise<Response> {
  return fetch(`${s.url}/v1/elevations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${s.stack.keys[botId]}`, 'content-type': 'application/json' },
    body: JSON.stringify({ durationSeconds: 60, justification: 'the primary is down', ...body }),
  });
}

async function elevation(botId: string, id: string, until?: string): Promise<ElevationView> {
  const query = until ? `?waitSeconds=20&until=${until}` : '';
  const res = await fetch(`${s.url}/v1/elevations/${id}${query}`, {
    headers: { authorization: `Bearer ${s.stack.keys[botId]}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as ElevationView;
}

/** The console, served with a session as its sign-in leaves one (the page's guard reads it). */
let console_: { server: Server; base: string; sid: string } | undefined;

async function consoleServer(): Promise<{ base: string; sid: string }> {
  if (console_) return console_;
  const app = createApp({
    services: s.stack.services,
    healthChecks: {},
    logger: s.stack.logger,
    adminConsole: adminConsole({
      ...s.stack.services,
      policy: s.stack.policy,
      ...s.stack.stores,
      settings: {
        groupsClaim: 'groups',
        groups: ['admins'],
        idleMinutes: 30,
        maxHours: 8,
        recheckMinutes: 5,
      },
      login: () => Promise.reject(new Error('no sign-in in this test')),
      publicUrl: 'http://127.0.0.1',
      logger: s.stack.logger,
    }),
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const sid = randomBytes(32).toString('base64url');
  const t = Date.now();
  await s.stack.stores.singleUse.namespace('admin-session', z.unknown()).put(
    tokenDigest(sid),
    {
      email: 'ada@example.org',
      issuer: 'https://idp.example.org',
      subject: 'ada',
      rights: ['oidc_group'],
      csrf: randomBytes(32).toString('base64url'),
      createdAt: t,
      lastSeenAt: t,
      checkedAt: t,
    },
    new Date(t + 3600_000),
  );
  console_ = { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, sid };
  return console_;
}

/** The row of the console's Break-glass page for an elevation, as text. */
async function consoleRow(elevationId: string): Promise<string> {
  const { base, sid } = await consoleServer();
  const res = await fetch(`${base}/admin/break-glass`, { headers: { cookie: `elevate_admin=${sid}` } });
  expect(res.status).toBe(200);
  const row = (await res.text()).split('<tr>').find((r) => r.includes(`/admin/elevations/${elevationId}`));
  expect(row).toBeDefined();
  return row!.replace(/<[^>]+>/g, ' ');
}

/** The reviewer's verdict through the review page, after the MFA login. */
async function review(elevationId: string, who: typeof lee, outcome: 'confirmed' | 'rejected') {
  const browser = s.browser();
  const page = await browser.login(`${s.url}/approvals/breakglass/${elevationId}`, who);
  if (page.status !== 200) return page;
  const confirmation = /name="confirmation" value="([^"]+)"/.exec(await page.text())?.[1];
  expect(confirmation).toBeDefined();
  return browser.post(`${s.url}/approvals/breakglass/confirm`, {
    confirmation: confirmation!,
    outcome,
    comment: 'seen the incident',
  });
}

describe('break-glass', () => {
  it('when a bot not listed, a duration over the cap or a scheduled start asks for it, then each is refused naming the field', async () => {
    const calm = await request('calm-bot', { role: 'db', breakGlass: true });
    expect(calm.status).toBe(403);
    expect(((await calm.json()) as { error: object }).error).toMatchObject({
      code: 'break_glass_not_allowed',
      field: 'breakGlass',
    });
    const long = await request('fire-bot', { role: 'db', breakGlass: true, durationSeconds: 301 });
    expect(long.status).toBe(422);
    expect(((await long.json()) as { error: object }).error).toMatchObject({
      code: 'duration_too_long',
      field: 'durationSeconds',
    });
    const later = await request('fire-bot', {
      role: 'db',
      breakGlass: true,
      startsAt: new Date(Date.now() + 3600_000).toISOString(),
    });
    expect(later.status).toBe(400);
    expect(((await later.json()) as { error: { field?: string } }).error.field).toBe('startsAt');
  }, 30_000);

  it('when a listed bot breaks the glass, then it is granted at once and loudly, the owner may not review it, and a reviewer confirms it with MFA', async () => {
    const res = await request('fire-bot', { role: 'db', breakGlass: true });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const active = await elevation('fire-bot', id, 'active');
    expect(active.status).toBe('active');

    const approved = await events('elevation.approved', id);
    expect(approved.map((e) => e.data)).toEqual([{ rule: 'break_glass' }]);
    const [activated] = await events('breakglass.activated', id);
    expect(activated?.data).toMatchObject({
      botId: 'fire-bot',
      roleId: 'db',
      owner: olive.email,
      maxSeconds: 300,
      reviewers: [lee.email, olive.email],
    });

    // The security channel, the owner and each reviewer; the reviewer's has the Review link.
    const posted = () => s.slack.calls.filter((c) => c.method === 'chat.postMessage');
    const to = (channel: string) =>
      posted().find((c) => c.args.channel === channel && JSON.stringify(c.args).includes(id));
    await s.slack.waitFor(() => [SECURITY, lee.slackUserId, olive.slackUserId].every((c) => to(c)), 20_000);
    expect(JSON.stringify(to(SECURITY)!.args)).toContain('Break-glass: fire-bot');
    expect(JSON.stringify(to(lee.slackUserId)!.args)).toContain(`/approvals/breakglass/${id}`);

    const stranger = await review(id, sam, 'confirmed');
    expect(stranger.status).toBe(403);
    expect(await stranger.text()).toContain('not_reviewer');
    const owner = await review(id, olive, 'confirmed');
    expect(owner.status).toBe(403);
    expect(await owner.text()).toContain('self_review');
    const refused = (await events('breakglass.refused', id)).map((e) => [
      e.actor.id,
      (e.data as { code: string }).code,
    ]);
    expect(refused).toEqual([
      [sam.email, 'not_reviewer'],
      [olive.email, 'self_review'],
    ]);

    const done = await review(id, lee, 'confirmed');
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('Your review was recorded');
    const [reviewed] = await events('breakglass.reviewed', id);
    expect(reviewed?.actor).toEqual({ kind: 'human', id: lee.email });
    expect(reviewed?.data).toMatchObject({ outcome: 'confirmed', late: false, lockedDown: false });
    expect(await s.stack.services.breakGlassReviews.view(id)).toMatchObject({ status: 'confirmed' });

    // Answered once: the link is spent, and the bot may still request.
    expect((await review(id, lee, 'rejected')).status).toBe(409);
    expect((await s.stack.stores.botStates.getBotState('fire-bot'))?.locked ?? null).toBeNull();
  }, 90_000);

  it('when a reviewer rejects it, then the bot is locked down at once and the incident closes', async () => {
    const res = await request('bad-bot', { role: 'db', breakGlass: true });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await elevation('bad-bot', id, 'active');
    const done = await review(id, lee, 'rejected');
    expect(done.status).toBe(200);
    expect(await done.text()).toContain('locked down');
    const [reviewed] = await events('breakglass.reviewed', id);
    expect(reviewed?.data).toMatchObject({
      outcome: 'rejected',
      lockedDown: true,
      comment: 'seen the incident',
    });
    expect((await s.stack.stores.botStates.getBotState('bad-bot'))?.locked).toBeTruthy();
    const again = await request('bad-bot', { role: 'db', breakGlass: true });
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('bot_locked');
    expect(await consoleRow(id)).toContain('closed: rejected');
  }, 60_000);

  it('when nobody reviews by the deadline, then the role is revoked, the bot is locked down, and the incident stays open until a late review', async () => {
    const res = await request('late-bot', { role: 'db-fast', breakGlass: true });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };

    const revoked = await elevation('late-bot', id, 'revoked');
    expect(revoked.status).toBe('revoked');
    const [started] = await events('revoke.started', id);
    expect(started?.actor.kind).toBe('system');
    expect((started?.data as { comment: string }).comment).toContain('break-glass review missed');
    const missed = await until(
      'the missed review',
      async () => (await events('breakglass.review_missed', id))[0],
    );
    expect(missed.data).toMatchObject({ botId: 'late-bot', reviewers: [lee.email], lockedDown: true });
    const locked = (await events('bot.locked')).filter(
      (e) => (e.data as { botId: string }).botId === 'late-bot',
    );
    expect(locked.map((e) => (e.data as { via?: string }).via)).toEqual(['break-glass']);

    const again = await request('late-bot', { role: 'db-fast', breakGlass: true });
    expect(again.status).toBe(403);
    expect(((await again.json()) as { error: { code: string } }).error.code).toBe('bot_locked');

    // Open: the incident waits for a review, however late.
    expect(await s.stack.services.breakGlassReviews.view(id)).toMatchObject({ status: 'overdue' });
    expect(await consoleRow(id)).toContain('open: review missed');
    const late = await review(id, lee, 'confirmed');
    expect(late.status).toBe(200);
    const [reviewed] = await events('breakglass.reviewed', id);
    expect(reviewed?.data).toMatchObject({ outcome: 'confirmed', late: true });
    expect(await consoleRow(id)).toContain('closed: confirmed');
    // The lockdown stays for an admin to lift.
    expect((await s.stack.stores.botStates.getBotState('late-bot'))?.locked).toBeTruthy();
  }, 90_000);
});
