/**
 * The inline risk score routes requests end to end through Temporal: a request like the bot's
 * history is approved automatically and carries its score; one from a new network with a new
 * client scores high and the escalation group joins its approvers; one for a role the bot never
 * used, from elsewhere, scores critical: it is denied before anything is granted, the owner and
 * the security channel are alerted, and the bot is locked down. The bots' histories are audit
 * events appended with past times, as thirty days of requests would have left them.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ElevationView } from '../../core/model/elevation.js';
import type { RiskAlert } from '../../core/ports/notifier.js';
import { createApp } from '../../server/app.js';
import { USUAL, seedRequestHistory } from '../support/risk-history.js';
import { startStack, type Stack } from '../support/stack.js';

const NETWORK = USUAL.ip;
const CLIENT = USUAL.userAgent;
const SECURITY = 'sec@example.org';

let s: Stack;
let http: Server;
let base: string;
const alerts: RiskAlert[] = [];

beforeAll(async () => {
  s = await startStack({
    bots: [
      { id: 'batch-bot', roles: ['reader', 'writer'] },
      { id: 'ops-bot', roles: ['reader', 'admin'] },
    ],
    roles: [
      { id: 'reader' },
      {
        id: 'writer',
        approval: { mode: 'approvers', groups: [{ name: 'owners', members: ['ann@example.org'] }] },
      },
      { id: 'admin', risk: { lockDownOnCritical: true } },
    ],
    detection: {
      minRequests: 10,
      minDays: 7,
      escalation: { name: 'security', members: [SECURITY] },
      alertChannel: 'C0SECURITY',
    },
    notifier: () => ({
      announce: () => Promise.resolve([]),
      publish: () => Promise.resolve(),
      alertRisk: (alert) => {
        alerts.push(alert);
        return Promise.resolve();
      },
    }),
  });
  const app = createApp({ services: s.services, healthChecks: {}, logger: s.logger, trustProxy: 'loopback' });
  http = await new Promise<Server>((resolve) => {
    const h = app.listen(0, '127.0.0.1', () => resolve(h));
  });
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  // Twenty days of history for each bot: the same network, client and hour.
  await seedRequestHistory(s, 'batch-bot', ['reader', 'writer']);
  await seedRequestHistory(s, 'ops-bot', ['reader']);
}, 180_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  await s?.close();
});

async function ask(botId: string, role: string, from: string, client: string): Promise<ElevationView> {
  const res = await fetch(`${base}/v1/elevations`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${s.keys[botId]!}`,
      'content-type': 'application/json',
      'x-forwarded-for': from,
      'user-agent': client,
    },
    body: JSON.stringify({ role, durationSeconds: 60, justification: 'nightly report' }),
  });
  expect(res.status).toBe(202);
  const { id } = (await res.json()) as ElevationView;
  return s.waitFor(id, (v) => v.risk !== undefined && v.status !== 'approved');
}

describe('the risk score routes each request', () => {
  it('when a request looks like the bot’s history, then it is approved automatically and carries its score', async () => {
    const view = await ask('batch-bot', 'reader', NETWORK, CLIENT);
    expect(view.risk).toMatchObject({ level: 'low', route: 'auto', baselined: true });
    expect(view.risk!.reasons.map((r) => r.code)).not.toContain('new_network');
    const active = await s.waitFor(view.id, (v) => v.status === 'active');
    const requested = (await s.stores.auditLog.listEvents(active.id)).find(
      (e) => e.type === 'elevation.requested',
    );
    expect(requested?.data.risk).toEqual(view.risk);
    await s.services.requests.revoke(
      view.id,
      { kind: 'bot', id: 'batch-bot' },
      { kind: 'bot', botId: 'batch-bot' },
    );
  });

  it('when a request comes from a new network with a new client, then it scores high and the security group joins its approvers', async () => {
    const view = await ask('batch-bot', 'writer', '198.51.100.9', 'curl/8.4.0');
    expect(view.risk).toMatchObject({ level: 'high', route: 'escalated' });
    expect(view.risk!.reasons.map((r) => r.code)).toEqual(
      expect.arrayContaining(['new_network', 'new_user_agent']),
    );
    expect(view.risk!.reasons.find((r) => r.code === 'new_network')!.text).toContain('198.51.100.0/24');
    expect(view.status).toBe('pending_approval');
    expect(view.approval).toMatchObject({
      mode: 'approvers',
      quorum: 2,
      groups: [
        { name: 'owners', quorum: 1, approved: 0 },
        { name: 'security', quorum: 1, approved: 0 },
      ],
    });
    // The role's own approver alone no longer completes the quorum.
    await s.services.approvals.approve(view.id, {
      approver: { id: 'ann@example.org' },
      evidence: { method: 'test' },
    });
    const after = await s.waitFor(view.id, (v) => v.approvals.length === 1);
    expect(after.status).toBe('pending_approval');
    await s.services.approvals.approve(view.id, { approver: { id: SECURITY }, evidence: { method: 'test' } });
    await s.waitFor(view.id, (v) => v.status === 'active');
    await s.services.requests.revoke(
      view.id,
      { kind: 'bot', id: 'batch-bot' },
      { kind: 'bot', botId: 'batch-bot' },
    );
  });

  it('when a request for a role the bot never used comes from elsewhere, then it is denied, alerted and the bot locked down', async () => {
    const view = await ask('ops-bot', 'admin', '192.0.2.44', 'python-requests/2.32');
    const denied = await s.waitFor(view.id, (v) => v.status === 'denied');
    expect(denied.risk).toMatchObject({ level: 'critical', route: 'denied' });
    expect(denied.risk!.reasons.map((r) => r.code)).toContain('new_role');
    expect(denied.grantedAt).toBeUndefined();
    expect(await s.isMember('ops-bot', 'admin')).toBe(false);
    const events = await s.stores.auditLog.listEvents(view.id);
    expect(events.map((e) => e.type)).toEqual(['elevation.requested', 'elevation.denied']);
    expect(events[1]!.actor).toEqual({ kind: 'system', id: 'elevate' });
    expect(events[1]!.data.risk).toEqual(denied.risk);
    await expect.poll(() => alerts.map((a) => a.elevation.id), { timeout: 10_000 }).toContain(view.id);
    const alert = alerts.find((a) => a.elevation.id === view.id)!;
    expect(alert).toMatchObject({ channel: 'C0SECURITY', lockedDown: true, bot: { id: 'ops-bot' } });
    expect((await s.stores.botStates.getBotState('ops-bot'))?.locked).toMatchObject({ by: 'elevate' });
    const locked = (await s.stores.auditLog.readEvents(0, 100_000)).filter(
      (e) => e.type === 'bot.locked' && e.data.botId === 'ops-bot',
    );
    expect(locked).toHaveLength(1);
    expect(locked[0]!.actor).toEqual({ kind: 'system', id: 'elevate' });
    // Locked down: its next request is refused before any workflow starts.
    const next = await fetch(`${base}/v1/elevations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.keys['ops-bot']!}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'reader', durationSeconds: 60, justification: 'again' }),
    });
    expect(next.status).toBe(403);
  });
});
