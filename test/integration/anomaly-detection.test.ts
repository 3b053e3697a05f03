/**
 * Continuous detection end to end, on a whole stack (Temporal, slapd, SQLite, the worker): a
 * history seeded in the real audit store (a fleet's usual days then a burst, credential refusals,
 * a bot that gave grants back early and now lets them run out, a bot idle for 40 days, a bot whose
 * owner is not in the directory) is looked at by `detectionWorkflow`, run three times.
 *
 * Each anomaly is recorded once as `anomaly.detected`, alerted once, and counted once in
 * `elevate_anomalies_total{kind}`; an alert that failed is delivered by the next run, without a
 * second event. The console's list pages them newest first. The schedule: created and updated in
 * place with its paused state kept, a triggered run goes through, and the worker process
 * (`runtime/worker.ts`) sets up `elevate-detection` from its policy. The console's Anomalies page
 * lists them for a signed-in admin, a page at a time.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { detectionActivitiesOn } from '../../activities/anomaly-detection.js';
import { DETECTION_SCHEDULE_ID, type DetectionRunResult } from '../../core/model/anomaly.js';
import type { AuditEvent } from '../../core/model/audit-record.js';
import type { ElevationView, EndReason } from '../../core/model/elevation.js';
import { eventDataOf } from '../../core/model/event-data.js';
import type { EventType } from '../../core/model/events.js';
import type { AnomalyAlert } from '../../core/ports/notifier.js';
import { createMetrics } from '../../integrations/metrics/prometheus.js';
import { LogNotifier } from '../../integrations/notify/log-notifier.js';
import { startWorker } from '../../runtime/worker.js';
import { tokenDigest } from '../../server/browser-login.js';
import { adminConsole } from '../../server/admin/console.js';
import { createApp } from '../../server/app.js';
import { ensureDetectionSchedule } from '../../worker/detection-schedule.js';
import { detectionWorkflow } from '../../workflows/detection-workflow.js';
import { seedRequestHistory } from '../support/risk-history.js';
import { stackServiceSettings, startStack, testLogger, type Stack } from '../support/stack.js';

const MINUTE = 60_000;
const DAY = 86_400_000;
const BOTS = ['fleet-a', 'fleet-b', 'creds-bot', 'habit-bot', 'old-bot', 'orphan-bot'];

let stack: Stack;
const alerts: AnomalyAlert[] = [];
/** The first alert of an orphaned bot fails, as a Slack outage would. */
let failOrphanAlert = true;
const metrics = createMetrics({ temporal: false, processMetrics: false });

/** The log notifier, recording what detection alerts. */
class RecordingNotifier extends LogNotifier {
  override alertAnomaly(alert: AnomalyAlert): Promise<void> {
    if (failOrphanAlert && alert.finding.kind === 'orphaned') {
      failOrphanAlert = false;
      return Promise.reject(new Error('Slack answered 503'));
    }
    alerts.push(alert);
    return Promise.resolve();
  }
}

beforeAll(async () => {
  stack = await startStack({
    bots: BOTS.map((id) => ({
      id,
      roles: ['ops'],
      ...(id === 'orphan-bot' ? { owner: 'gone@example.org' } : {}),
    })),
    roles: [{ id: 'ops' }],
    // Every owner is a person in the directory, except the orphan's.
    people: BOTS.filter((id) => id !== 'orphan-bot').map((id) => ({
      uid: `${id}-owner`,
      mail: `${id}-owner@example.org`,
    })),
    detection: { fleetSpikeMinRequests: 10, scanIntervalSeconds: 600 },
    notifier: ({ logger }) =>
      new RecordingNotifier({ logger, approvalUrl: (id) => `http://127.0.0.1/${id}` }),
    metrics,
  });
  await seed();
}, 120_000);

afterAll(async () => {
  await stack?.close();
});

const ago = (ms: number) => new Date(Date.now() - ms).toISOString();

/** What the stack's audit store must hold for each kind of anomaly (and nothing more). */
async function seed(): Promise<void> {
  // (a) ten ordinary days of the fleet (team `test`: one request a day each), then a burst.
  await seedRequestHistory(stack, 'fleet-a', ['ops'], 10);
  await seedRequestHistory(stack, 'fleet-b', ['ops'], 10);
  const role = stack.policy.roles[0]!;
  for (const [botId, n] of [
    ['fleet-a', 14],
    ['fleet-b', 10],
  ] as const) {
    for (let i = 0; i < n; i++) {
      await stack.stores.auditLog.append({
        id: randomUUID(),
        elevationId: `burst-${botId}-${i}`,
        type: 'elevation.requested',
        at: ago((i + 1) * 20_000),
        actor: { kind: 'bot', id: botId },
        data: {
          bot: { id: botId },
          role: { id: role.id, target: role.target, approval: role.approval },
          durationSeconds: 60,
          justification: 'burst',
          source: { ip: '203.0.113.7', userAgent: 'batch-runner/2.1', authMethod: 'api_key' },
        },
      });
    }
  }
  // (b) three refused credential fetches within the hour.
  for (const minutes of [5, 15, 30]) {
    await stack.stores.auditLog.append({
      id: randomUUID(),
      elevationId: 'el_creds',
      type: 'credentials.refused',
      at: ago(minutes * MINUTE),
      actor: { kind: 'bot', id: 'creds-bot' },
      data: { reason: 'already_delivered', status: 'active' },
    });
  }
  // (c) six grants given back early, then three run to expiry.
  const ends: EndReason[] = [
    'given_back',
    'given_back',
    'given_back',
    'given_back',
    'given_back',
    'given_back',
  ];
  for (const [i, end] of [...ends, 'expired', 'expired', 'expired'].entries()) {
    await seedElevation(`el_habit_${i}`, 'habit-bot', (12 - i) * DAY, end as EndReason);
  }
  // (d) one request, 40 days ago.
  await seedElevation('el_old_0', 'old-bot', 40 * DAY, 'given_back');
}

/** An elevation as the worker records it: requested, granted, then ended for `end`. */
async function seedElevation(id: string, botId: string, msAgo: number, end: EndReason): Promise<void> {
  const requestedAt = ago(msAgo);
  const grantedAt = ago(msAgo - 5000);
  const endedAt = ago(msAgo - (end === 'given_back' ? 30_000 : 600_000));
  const base: ElevationView = {
    id,
    workflowId: `elevation-${id}`,
    status: 'approved',
    botId,
    roleId: 'ops',
    owner: `${botId}-owner@example.org`,
    environment: 'test',
    durationSeconds: 600,
    justification: 'detection test',
    requestedAt,
    approval: { mode: 'auto' },
    approvals: [],
    revokeAttempts: 0,
  };
  const active = { ...base, status: 'active' as const, grantedAt };
  const events: [EventType, string, ElevationView][] = [
    ['elevation.requested', requestedAt, base],
    ['grant.confirmed', grantedAt, active],
    ['elevation.revoked', endedAt, { ...active, status: 'revoked', endedAt, endReason: end }],
  ];
  for (const [n, [type, at, view]] of events.entries()) {
    await stack.stores.auditLog.append({
      id: `${id}-${n}`,
      elevationId: id,
      type,
      at,
      actor: { kind: 'system', id: 'elevate' },
      data: {},
      elevation: view,
    });
  }
}

const detect = (): Promise<DetectionRunResult> =>
  stack.env.client.workflow.execute(detectionWorkflow, {
    taskQueue: stack.taskQueue,
    workflowId: `detection-${randomUUID()}`,
  });

async function anomalyEvents(): Promise<AuditEvent[]> {
  return (await stack.stores.auditLog.readEvents(0, 100_000)).filter((e) => e.type === 'anomaly.detected');
}

async function counted(): Promise<Record<string, number>> {
  const metric = await metrics.registry.getSingleMetric('elevate_anomalies_total')!.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.kind), v.value]));
}

describe('detectionWorkflow', () => {
  it('when the history holds each kind of anomaly, then each is recorded, alerted and counted once, however often detection runs', async () => {
    const first = await detect();

    expect(first).toMatchObject({ found: 5, recorded: 5, suppressed: 0, alertFailures: 1, skipped: [] });
    expect(first.byKind).toEqual({
      fleet_rate_spike: 1,
      credential_refusals: 1,
      grants_run_to_expiry: 1,
      dormant: 1,
      orphaned: 1,
    });
    const events = await anomalyEvents();
    const found = events.map((e) => eventDataOf(e, 'anomaly.detected')!);
    expect(found.map((d) => `${d.kind}/${d.botId}`).sort()).toEqual([
      'credential_refusals/creds-bot',
      'dormant/old-bot',
      'fleet_rate_spike/fleet-a',
      'grants_run_to_expiry/habit-bot',
      'orphaned/orphan-bot',
    ]);
    expect(found.find((d) => d.kind === 'fleet_rate_spike')).toMatchObject({
      severity: 'high',
      evidence: { requestsLastHour: 24, usualBusiestHour: 2, threshold: 10, topBotRequests: 14 },
      fleet: { by: 'team', id: 'test', bots: [...BOTS].sort() },
    });
    expect(found.find((d) => d.kind === 'grants_run_to_expiry')?.evidence).toEqual({
      expiredInARow: 3,
      earlierGrants: 6,
      earlierGivenBack: 6,
    });
    expect(found.find((d) => d.kind === 'dormant')?.evidence).toMatchObject({
      daysIdle: 40,
      neverRequested: 0,
    });
    expect(found.find((d) => d.kind === 'orphaned')?.text).toContain('gone@example.org');
    expect(events.every((e) => e.elevationId === null && e.actor.kind === 'system')).toBe(true);
    // The orphan's alert failed: the other four were delivered, once each.
    expect(alerts.map((a) => a.finding.kind).sort()).toEqual([
      'credential_refusals',
      'dormant',
      'fleet_rate_spike',
      'grants_run_to_expiry',
    ]);
    expect(alerts.find((a) => a.finding.kind === 'dormant')).toMatchObject({
      owner: 'old-bot-owner@example.org',
      team: 'test',
    });
    expect(await counted()).toEqual({
      fleet_rate_spike: 1,
      credential_refusals: 1,
      grants_run_to_expiry: 1,
      dormant: 1,
      orphaned: 1,
    });

    const second = await detect();

    expect(second).toMatchObject({ found: 5, recorded: 0, suppressed: 4, alertFailures: 0, byKind: {} });
    // The failed alert was delivered now, for the event already recorded.
    const orphan = events.find((e) => e.data.kind === 'orphaned')!;
    expect(alerts.filter((a) => a.finding.kind === 'orphaned').map((a) => a.eventId)).toEqual([orphan.id]);

    const third = await detect();

    expect(third).toMatchObject({ found: 5, recorded: 0, suppressed: 5 });
    expect((await anomalyEvents()).map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(alerts).toHaveLength(5);
    expect(Object.values(await counted()).reduce((a, b) => a + b, 0)).toBe(5);
  });

  it('when the console lists anomalies, then they come newest first, a page at a time', async () => {
    const all = (await anomalyEvents()).reverse();
    const one = await stack.stores.eventsByType.page('anomaly.detected', { limit: 2 });
    const two = await stack.stores.eventsByType.page('anomaly.detected', { limit: 2, before: one.next! });
    const three = await stack.stores.eventsByType.page('anomaly.detected', { limit: 2, before: two.next! });

    expect([...one.items, ...two.items, ...three.items].map((e) => e.id)).toEqual(all.map((e) => e.id));
    expect(three.next).toBeUndefined();
  });

  it('when no directory is configured, then orphaned bots are not looked for, and the run says so', async () => {
    const activity = detectionActivitiesOn({
      stores: stack.stores,
      policy: stack.policy,
      notifier: new RecordingNotifier({ logger: testLogger(), approvalUrl: () => '' }),
      logger: testLogger(),
    });

    const result = await activity.detectAnomalies();

    expect(result.skipped).toEqual([
      'orphaned bots: no directory is configured (LDAP_URL), so owners cannot be looked up',
    ]);
    expect(result.found).toBe(4);
  });
});

describe('the Anomalies page', () => {
  it('when an admin opens it, then the anomalies are listed newest first, two a page; signed out, it asks to sign in', async () => {
    const app = createApp({
      services: stack.services,
      healthChecks: {},
      logger: testLogger(),
      adminConsole: adminConsole({
        ...stack.services,
        policy: stack.policy,
        ...stack.stores,
        settings: {
          groupsClaim: 'groups',
          groups: ['admins'],
          idleMinutes: 30,
          maxHours: 8,
          recheckMinutes: 5,
        },
        login: () => Promise.reject(new Error('no sign-in in this test')),
        publicUrl: 'http://127.0.0.1',
        logger: testLogger(),
        pageSize: 2,
      }),
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      // A session as the sign-in leaves one (the page's guard reads it like any other).
      const sid = randomBytes(32).toString('base64url');
      const t = Date.now();
      await stack.stores.singleUse.namespace('admin-session', z.unknown()).put(
        tokenDigest(sid),
        {
          email: 'ann@example.org',
          issuer: 'https://idp.example.org',
          subject: 'ann',
          rights: ['oidc_group'],
          csrf: randomBytes(32).toString('base64url'),
          createdAt: t,
          lastSeenAt: t,
          checkedAt: t,
        },
        new Date(t + 3600_000),
      );
      const get = async (path: string, signedIn = true) => {
        const res = await fetch(`${base}${path}`, {
          redirect: 'manual',
          headers: signedIn ? { cookie: `elevate_admin=${sid}` } : {},
        });
        return { status: res.status, location: res.headers.get('location'), html: await res.text() };
      };
      const kinds = (html: string) =>
        [...html.matchAll(/<td data-label="Kind"><code>([a-z_]+)<\/code>/g)].map((m) => m[1]);
      const newestFirst = (await anomalyEvents())
        .reverse()
        .map((e) => eventDataOf(e, 'anomaly.detected')!.kind);

      const out = await get('/admin/anomalies', false);
      expect(out.status).toBe(302);
      expect(out.location).toContain('/admin/login');

      const first = await get('/admin/anomalies');
      expect(first.status).toBe(200);
      expect(first.html).toContain('<h1>Anomalies</h1>');
      expect(kinds(first.html)).toEqual(newestFirst.slice(0, 2));
      const next = /href="\/admin\/anomalies\?cursor=(\d+)"/.exec(first.html)?.[1];
      expect(next).toBeDefined();
      const second = await get(`/admin/anomalies?cursor=${next}`);
      expect(kinds(second.html)).toEqual(newestFirst.slice(2, 4));

      const bad = await get('/admin/anomalies?cursor=not-a-position');
      expect(bad.status).toBe(200);
      expect(bad.html).toContain('That page link is not valid');
      expect(kinds(bad.html)).toEqual(newestFirst.slice(0, 2));
    } finally {
      server.close();
    }
  });
});

describe('the detection schedule', () => {
  it('when ensured twice, then it is updated in place and stays paused if paused; a triggered run goes through', async () => {
    const scheduleId = `test-detection-${randomUUID()}`;
    const first = await ensureDetectionSchedule(stack.env.client, {
      taskQueue: stack.taskQueue,
      intervalSeconds: 3600,
      scheduleId,
    });
    try {
      await first.pause('maintenance');
      const handle = await ensureDetectionSchedule(stack.env.client, {
        taskQueue: stack.taskQueue,
        intervalSeconds: 1800,
        scheduleId,
      });
      expect(handle.scheduleId).toBe(first.scheduleId);
      const described = await handle.describe();
      expect(described.spec.intervals?.[0]?.every).toBe(1800_000);
      expect(described.policies.overlap).toBe('SKIP');
      expect(described.state.paused).toBe(true);
      expect(described.action).toMatchObject({
        workflowType: 'detectionWorkflow',
        taskQueue: stack.taskQueue,
      });

      await handle.unpause();
      await handle.trigger();
      const started = await waitFor(async () => (await handle.describe()).info.recentActions[0]);
      const result = (await stack.env.client.workflow
        .getHandle(started.action.workflow.workflowId)
        .result()) as DetectionRunResult;
      expect(result.found).toBe(5);
    } finally {
      await first.delete();
    }
  });

  it('when a worker process starts, then it sets up elevate-detection with the interval of its policy', async () => {
    const worker = await startWorker({
      settings: stackServiceSettings(stack),
      policy: stack.policy,
      logger: testLogger(),
    });
    try {
      const described = await stack.env.client.schedule.getHandle(DETECTION_SCHEDULE_ID).describe();

      expect(described.spec.intervals?.[0]?.every).toBe(600_000);
      expect(described.action).toMatchObject({
        workflowType: 'detectionWorkflow',
        taskQueue: stack.taskQueue,
      });
    } finally {
      await worker.close();
    }
  });
});

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('timed out');
}
