/**
 * Prometheus metrics on the real stack (Temporal dev server, slapd, SQLite audit store, the
 * worker's activities and the API over HTTP): counters, histograms and gauges move with the
 * right labels when elevations are granted, revoked at expiry and refused; `/metrics` is
 * protected on the API and on the worker's own endpoint; no label carries an id or a secret.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createActivities } from '../../activities/index.js';
import type { AuditEvent } from '../../core/model/audit-record.js';
import { generateSecret, hashSecret } from '../../core/crypto/credentials.js';
import { groupDn } from '../../dev/ldap-seed.js';
import { stepUpSettings, StepUpClient } from '../../integrations/oidc/step-up.js';
import { SlackClient } from '../../integrations/slack/slack-client.js';
import { TargetUnreachableError } from '../../core/errors/target-errors.js';
import { freePort } from '../../dev/processes.js';
import { createMetrics, type Metrics } from '../../integrations/metrics/prometheus.js';
import { startMetricsServer } from '../../runtime/metrics-server.js';
import { startWorker } from '../../runtime/worker.js';
import { createApp } from '../../server/app.js';
import type { ElevationView } from '../../core/model/elevation.js';
import {
  findPromtool,
  has,
  lintExposition,
  parseExposition,
  valueOf,
  type Sample,
} from '../support/prometheus-text.js';
import { startSlackApiStub } from '../../dev/slack-api-stub.js';
import {
  stackServiceSettings,
  startStack,
  SUFFIX,
  testLogger,
  testRequestDeps,
  type Stack,
} from '../support/stack.js';

/** Retries `check` until it passes (the worker records some metrics just after the state shows). */
async function eventually(check: () => Promise<void>, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

// ---- the stack ---------------------------------------------------------------------------------

let stack: Stack;
let metrics: Metrics;
let server: Server;
let base: string;
const metricsToken = `prom-${generateSecret('admin')}`;
/** Elevation ids seen in this file: none may appear in a label. */
const elevationIds = new Set<string>();

beforeAll(async () => {
  metrics = createMetrics({ statusCounts: () => stack.stores.elevations.countByStatus() });
  stack = await startStack({
    bots: [{ id: 'metrics-bot', roles: ['quick', 'needs-ok'] }],
    roles: [
      { id: 'quick', maxDurationSeconds: 120 },
      { id: 'needs-ok', approval: { mode: 'approvers', approvers: ['ann@example.org'], windowSeconds: 120 } },
      { id: 'not-mine' },
    ],
    metrics,
  });
  const app = createApp({
    services: stack.services,
    healthChecks: {},
    logger: testLogger(),
    metrics,
    metricsTokenHash: hashSecret(metricsToken),
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await stack?.close();
});

const botKey = () => stack.keys['metrics-bot']!;

async function call(
  method: string,
  path: string,
  opts: { key?: string; body?: unknown } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = {};
  if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(base + path, {
    method,
    headers,
    ...(opts.body !== undefined ? { body: JSON.stringify(opts.body) } : {}),
  });
  const text = await res.text();
  const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  if (typeof body.id === 'string') elevationIds.add(body.id);
  return { status: res.status, body };
}

async function scrape(url = `${base}/metrics`, token = metricsToken): Promise<Sample[]> {
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  expect(res.status).toBe(200);
  return parseExposition(await res.text()).samples;
}

// ---- tests -------------------------------------------------------------------------------------

describe('an elevation granted and revoked at expiry', () => {
  it('when the window ends, then grants, revocations and the revocation lag are counted per target type', async () => {
    const before = await scrape();
    const created = await call('POST', '/v1/elevations', {
      key: botKey(),
      body: { role: 'quick', durationSeconds: 1, justification: 'metrics: expire' },
    });
    expect(created.status).toBe(202);
    const id = String(created.body.id);
    const polled = await call('GET', `/v1/elevations/${id}?waitSeconds=10`, { key: botKey() });
    expect(polled.status).toBe(200);
    const ended = await stack.waitFor(id, (v: ElevationView) => v.status === 'revoked');
    expect(ended.endReason).toBe('expired');
    expect(await stack.isMember('metrics-bot', 'quick')).toBe(false);

    await eventually(async () => {
      const after = await scrape();
      const delta = (name: string, labels: Record<string, string> = {}) =>
        valueOf(after, name, labels) - valueOf(before, name, labels);
      expect(delta('elevate_elevation_requests_total', { outcome: 'accepted' })).toBe(1);
      expect(delta('elevate_grants_total', { target_type: 'ldap', outcome: 'granted' })).toBe(1);
      expect(delta('elevate_grants_total', { outcome: 'failed' })).toBe(0);
      expect(delta('elevate_revocations_total', { target_type: 'ldap', outcome: 'removed' })).toBe(1);
      expect(delta('elevate_revoke_failures_total')).toBe(0);
      // One observation: a number of seconds, in the top bucket (60 s) and in +Inf.
      expect(delta('elevate_revocation_lag_seconds_count', { target_type: 'ldap' })).toBe(1);
      expect(delta('elevate_revocation_lag_seconds_bucket', { target_type: 'ldap', le: '60' })).toBe(1);
      expect(delta('elevate_revocation_lag_seconds_bucket', { target_type: 'ldap', le: '+Inf' })).toBe(1);
      const lag = delta('elevate_revocation_lag_seconds_sum', { target_type: 'ldap' });
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(lag).toBeLessThan(30);
      // HTTP: the pattern of each route, with the status class.
      expect(
        delta('elevate_http_requests_total', {
          method: 'POST',
          route: '/v1/elevations',
          status_class: '2xx',
        }),
      ).toBe(1);
      expect(
        delta('elevate_http_requests_total', {
          method: 'GET',
          route: '/v1/elevations/:id',
          status_class: '2xx',
        }),
      ).toBe(1);
      expect(
        delta('elevate_http_request_duration_seconds_count', { method: 'GET', route: '/v1/elevations/:id' }),
      ).toBe(1);
    });
  });
});

describe('refused requests and unknown routes', () => {
  it('when a request is refused, then elevation requests count the refusal by its error code', async () => {
    const before = await scrape();
    expect(
      (
        await call('POST', '/v1/elevations', {
          key: botKey(),
          body: { role: 'not-mine', durationSeconds: 30, justification: 'not allowed' },
        })
      ).status,
    ).toBe(403);
    expect(
      (await call('POST', '/v1/elevations', { key: botKey(), body: { role: 'quick', durationSeconds: 0 } }))
        .status,
    ).toBe(400);
    expect((await call('POST', '/v1/elevations', { body: { role: 'quick' } })).status).toBe(401);
    const after = await scrape();
    const delta = (labels: Record<string, string>) =>
      valueOf(after, 'elevate_elevation_requests_total', labels) -
      valueOf(before, 'elevate_elevation_requests_total', labels);
    expect(delta({ outcome: 'role_not_allowed' })).toBe(1);
    expect(delta({ outcome: 'invalid_request' })).toBe(1);
    expect(delta({ outcome: 'unauthenticated' })).toBe(1);
    expect(delta({ outcome: 'accepted' })).toBe(0);
    expect(
      valueOf(after, 'elevate_http_requests_total', {
        method: 'POST',
        route: '/v1/elevations',
        status_class: '4xx',
      }) -
        valueOf(before, 'elevate_http_requests_total', {
          method: 'POST',
          route: '/v1/elevations',
          status_class: '4xx',
        }),
    ).toBe(3);
  });

  it('when a path matches no route, then it is counted as unmatched, not by its URL', async () => {
    const before = await scrape();
    expect((await call('GET', '/v1/nothing/el_0123456789abcdef01234567?token=secret-ish')).status).toBe(404);
    const after = await scrape();
    const labels = { method: 'GET', route: 'unmatched', status_class: '4xx' };
    expect(
      valueOf(after, 'elevate_http_requests_total', labels) -
        valueOf(before, 'elevate_http_requests_total', labels),
    ).toBe(1);
    expect(after.some((s) => (s.labels.route ?? '').includes('nothing'))).toBe(false);
  });
});

describe('gauges computed at scrape time', () => {
  it('when an elevation is active and another waits for approval, then the gauges show them, and 0 once both end', async () => {
    const active = await call('POST', '/v1/elevations', {
      key: botKey(),
      body: { role: 'quick', durationSeconds: 120, justification: 'metrics: active' },
    });
    const pending = await call('POST', '/v1/elevations', {
      key: botKey(),
      body: { role: 'needs-ok', durationSeconds: 60, justification: 'metrics: pending' },
    });
    await eventually(async () => {
      const samples = await scrape();
      expect(valueOf(samples, 'elevate_active_grants')).toBe(1);
      expect(valueOf(samples, 'elevate_pending_approvals')).toBe(1);
    });
    for (const id of [String(active.body.id), String(pending.body.id)]) {
      expect([200, 202]).toContain(
        (await call('POST', `/v1/elevations/${id}/revoke`, { key: botKey() })).status,
      );
      await stack.waitFor(id, (v) => v.status === 'revoked');
    }
    await eventually(async () => {
      const samples = await scrape();
      expect(has(samples, 'elevate_active_grants')).toBe(true);
      expect(valueOf(samples, 'elevate_active_grants')).toBe(0);
      expect(valueOf(samples, 'elevate_pending_approvals')).toBe(0);
    });
  });

  it('when the counts cannot be read, then the gauges are left out of that scrape and the error is reported', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const failing = createMetrics({
      processMetrics: false,
      statusCounts: () => {
        calls += 1;
        return Promise.reject(new Error('store down'));
      },
      onCollectError: (err) => errors.push(err),
    });
    const { samples, help } = parseExposition(await failing.registry.metrics());
    expect(has(samples, 'elevate_active_grants')).toBe(false);
    expect(has(samples, 'elevate_pending_approvals')).toBe(false);
    expect(help.has('elevate_active_grants')).toBe(true);
    // One query per scrape, shared by both gauges.
    expect(calls).toBe(1);
    expect(errors).toHaveLength(1);
  });
});

describe('GET /metrics on the API', () => {
  it('when scraped with the metrics token or an admin token, then it answers the text format with every metric described', async () => {
    for (const token of [metricsToken, stack.adminToken]) {
      const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe(metrics.registry.contentType);
      const { samples, help } = parseExposition(await res.text());
      for (const name of [
        'elevate_http_requests_total',
        'elevate_http_request_duration_seconds',
        'elevate_elevation_requests_total',
        'elevate_active_grants',
        'elevate_pending_approvals',
        'elevate_revocation_lag_seconds',
        'elevate_revocations_total',
        'elevate_revoke_failures_total',
        'elevate_grants_total',
        'elevate_target_errors_total',
        'elevate_drift_findings_total',
        'elevate_slack_api_errors_total',
        'elevate_oidc_errors_total',
      ]) {
        expect(help.get(name), name).toMatch(/\w+ \w+/);
      }
      // Node's process metrics, under the same prefix; the Temporal SDK's under its own.
      expect(has(samples, 'elevate_process_cpu_user_seconds_total')).toBe(true);
      expect(samples.every((s) => /^(elevate|temporal)_/.test(s.name))).toBe(true);
    }
  });

  it("when the worker has run elevations, then the same endpoint serves the Temporal SDK's metrics, and the whole exposition passes promtool's rules", async () => {
    const queue = { namespace: 'default', task_queue: stack.taskQueue };
    let text = '';
    await eventually(async () => {
      const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
      text = await res.text();
      const { samples, help } = parseExposition(text);
      // Task slots, per kind of worker: a workflow worker has free slots and used some.
      const workflowSlots = { ...queue, worker_type: 'WorkflowWorker' };
      expect(valueOf(samples, 'temporal_worker_task_slots_available', workflowSlots)).toBeGreaterThan(0);
      expect(has(samples, 'temporal_worker_task_slots_used', workflowSlots)).toBe(true);
      expect(
        has(samples, 'temporal_worker_task_slots_available', { ...queue, worker_type: 'ActivityWorker' }),
      ).toBe(true);
      expect(has(samples, 'temporal_num_pollers', { ...queue, poller_type: 'workflow_task' })).toBe(true);
      expect(has(samples, 'temporal_sticky_cache_size', queue)).toBe(true);
      // Latencies in seconds, as histograms, with buckets.
      expect(
        valueOf(samples, 'temporal_workflow_task_schedule_to_start_latency_seconds_count', queue),
      ).toBeGreaterThan(0);
      expect(
        valueOf(samples, 'temporal_workflow_task_schedule_to_start_latency_seconds_bucket', {
          ...queue,
          le: '+Inf',
        }),
      ).toBe(valueOf(samples, 'temporal_workflow_task_schedule_to_start_latency_seconds_count', queue));
      expect(
        valueOf(samples, 'temporal_activity_execution_latency_seconds_count', {
          ...queue,
          activity_type: 'acquireGrant',
        }),
      ).toBeGreaterThan(0);
      // Counters end in _total.
      expect(valueOf(samples, 'temporal_workflow_task_queue_poll_succeed_total', queue)).toBeGreaterThan(0);
      expect(valueOf(samples, 'temporal_workflow_completed_total', queue)).toBeGreaterThan(0);
      for (const name of new Set(samples.map((s) => s.name))) {
        if (!name.startsWith('temporal_')) continue;
        const family = name.replace(/_(bucket|sum|count)$/, '');
        expect(help.get(name) ?? help.get(family), name).toMatch(/\w+ \w+/);
      }
    });
    expect(lintExposition(text)).toEqual([]);
    const promtool = findPromtool();
    if (promtool) {
      const check = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
      expect(`${check.stdout}${check.stderr}`).toBe('');
      expect(check.status).toBe(0);
    }
  });

  it('when the token is missing, wrong or a bot key, then it answers 401 and audits the refusal', async () => {
    // Anonymous refusals are recorded once per kind and minute: start a minute of its own.
    await stack.services.audit.flushRefusals();
    const wrong = generateSecret('admin');
    const answers = [
      await fetch(`${base}/metrics`),
      await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${wrong}` } }),
      await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${botKey()}` } }),
      await fetch(`${base}/metrics`, { headers: { authorization: `Basic ${metricsToken}` } }),
    ];
    for (const res of answers) {
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { code: string } };
      expect(body.error.code).toBe('unauthenticated');
    }
    const refused = (await stack.stores.auditLog.readEvents(0, 100_000)).filter(
      (e) => e.type === 'auth.refused' && e.data.path === '/metrics',
    );
    expect(refused.map((e) => e.data.reason).sort()).toEqual(
      ['malformed', 'missing', 'not_admin', 'unknown_token'].sort(),
    );
    expect(refused.find((e) => e.data.reason === 'not_admin')?.actor).toEqual({
      kind: 'bot',
      id: 'metrics-bot',
    });
    const text = JSON.stringify(refused);
    for (const secret of [wrong, botKey(), metricsToken]) expect(text).not.toContain(secret);
  });

  it('when scraped, then no label carries an elevation id, a principal or a secret, and routes are patterns', async () => {
    expect(elevationIds.size).toBeGreaterThanOrEqual(3);
    const res = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${metricsToken}` } });
    const text = await res.text();
    for (const id of elevationIds) expect(text).not.toContain(id);
    for (const secret of [metricsToken, stack.adminToken, botKey()]) expect(text).not.toContain(secret);
    expect(text).not.toContain(groupDn(SUFFIX, 'quick'));
    expect(text).not.toMatch(/el_[0-9a-f]{24}/);
    const { samples } = parseExposition(text);
    const routes = new Set(samples.flatMap((s) => (s.labels.route ? [s.labels.route] : [])));
    expect(routes).toContain('/v1/elevations/:id');
    expect(routes).toContain('/v1/elevations/:id/revoke');
    expect(routes).toContain('/metrics');
    for (const route of routes) expect(route).toMatch(/^(unmatched|(\/([a-z0-9.-]+|:[a-z]+))+)$/);
    for (const s of samples) {
      for (const v of Object.values(s.labels)) expect(v).not.toMatch(/[?=@]|dc=|uid=/);
    }
  });
});

describe("the worker's own /metrics endpoint", () => {
  it('when a worker runs without the API, then its endpoint serves the same registry under the same protection', async () => {
    const worker = await startMetricsServer({
      metrics,
      host: '127.0.0.1',
      port: 0,
      tokenHash: hashSecret(metricsToken),
      auth: stack.services.auth,
      audit: stack.services.audit,
      logger: testLogger(),
    });
    try {
      const url = `http://127.0.0.1:${(worker.address() as AddressInfo).port}`;
      const samples = await scrape(`${url}/metrics`);
      const granted = { target_type: 'ldap', outcome: 'granted' };
      expect(valueOf(samples, 'elevate_grants_total', granted)).toBeGreaterThan(0);
      expect(valueOf(samples, 'elevate_grants_total', granted)).toBe(
        valueOf(await scrape(), 'elevate_grants_total', granted),
      );
      expect(has(samples, 'elevate_active_grants')).toBe(true);
      await scrape(`${url}/metrics`, stack.adminToken);
      await stack.services.audit.flushRefusals(); // a minute of its own (see above)
      const refusedBefore = (await stack.stores.auditLog.readEvents(0, 100_000)).filter(
        (e) => e.type === 'auth.refused' && e.data.path === '/metrics',
      ).length;
      const refusedHeaders: Record<string, string>[] = [
        {},
        { authorization: `Bearer ${botKey()}` },
        { authorization: 'Bearer nope' },
      ];
      for (const headers of refusedHeaders) {
        const res = await fetch(`${url}/metrics`, { headers });
        expect(res.status).toBe(401);
        expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
        expect(await res.text()).not.toContain('elevate_');
      }
      expect((await fetch(`${url}/healthz`)).status).toBe(404);
      const refusedAfter = (await stack.stores.auditLog.readEvents(0, 100_000)).filter(
        (e) => e.type === 'auth.refused' && e.data.path === '/metrics',
      ).length;
      expect(refusedAfter - refusedBefore).toBe(3);
    } finally {
      await new Promise<void>((resolve) => worker.close(() => resolve()));
    }
  });
});

describe('a worker process started without the API', () => {
  it('when ELEVATE_METRICS_PORT is set, then the worker process serves /metrics there, protected by the metrics token, and the probes /livez and /readyz without one', async () => {
    const port = await freePort();
    const taskQueue = `metrics-worker-${randomUUID()}`;
    const services = await startWorker({
      settings: stackServiceSettings(stack, {
        temporal: { address: stack.env.address, namespace: stack.env.namespace ?? 'default', taskQueue },
        metricsPort: port,
        metricsTokenHash: hashSecret(metricsToken),
      }),
      policy: stack.policy,
      logger: testLogger(),
    });
    try {
      expect(services.url).toBeUndefined();
      const url = `http://127.0.0.1:${port}/metrics`;
      const samples = await scrape(url);
      // Its own registry (nothing counted yet, every known series at 0), with the gauges
      // from the shared audit store, and its worker's Temporal SDK metrics.
      expect(has(samples, 'elevate_grants_total', { target_type: 'ldap', outcome: 'granted' })).toBe(true);
      expect(valueOf(samples, 'elevate_grants_total')).toBe(0);
      expect(has(samples, 'elevate_active_grants')).toBe(true);
      await eventually(async () => {
        const own = await scrape(url);
        const queue = { task_queue: taskQueue, worker_type: 'WorkflowWorker' };
        expect(valueOf(own, 'temporal_worker_task_slots_available', queue)).toBeGreaterThan(0);
        expect(
          has(own, 'temporal_num_pollers', { task_queue: taskQueue, poller_type: 'workflow_task' }),
        ).toBe(true);
      });
      expect(has(samples, 'elevate_process_cpu_user_seconds_total')).toBe(true);
      await scrape(url, stack.adminToken);
      expect((await fetch(url)).status).toBe(401);
      expect((await fetch(url, { headers: { authorization: `Bearer ${botKey()}` } })).status).toBe(401);
      // The worker's probes, on the same port and without a token: alive, and ready while its
      // worker runs and Temporal, the audit store and LDAP answer.
      const base = `http://127.0.0.1:${port}`;
      const live = await fetch(`${base}/livez`);
      expect(live.status).toBe(200);
      expect(await live.json()).toEqual({ status: 'ok' });
      const ready = await fetch(`${base}/readyz`);
      const body = (await ready.json()) as { status: string; checks: Record<string, { ok: boolean }> };
      expect(ready.status, JSON.stringify(body)).toBe(200);
      expect(Object.keys(body.checks).sort()).toEqual(['auditStore', 'ldap', 'temporal', 'worker']);
      expect((await fetch(`${base}/readyz`, { method: 'POST' })).status).toBe(404);
    } finally {
      await services.close();
    }
    // Closed with the process's services.
    await expect(fetch(`http://127.0.0.1:${port}/metrics`)).rejects.toThrow();
  }, 120_000);
});

describe('failures counted where they happen', () => {
  it('when a target fails grant and revocation attempts and drift is found, then the activities count them', async () => {
    const own = createMetrics({ processMetrics: false });
    const target = { type: 'ldap' as const, groupDn: 'cn=x,dc=test,dc=example' };
    const activities = createActivities({
      store: {
        append: (e) => Promise.resolve({ ...e, seq: 1, position: 1, prevHash: '', hash: '' } as AuditEvent),
        appendAll: (events) =>
          Promise.resolve(events.map((e) => ({ ...e, seq: 1, position: 1, prevHash: '', hash: '' }))),
      },
      ledger: {
        acquire: () => Promise.reject(new TargetUnreachableError('ldap down')),
        release: () => Promise.reject(new TargetUnreachableError('ldap down')),
        stillRemoved: () => Promise.reject(new TargetUnreachableError('ldap down')),
        members: () => Promise.resolve(['uid=intruder', 'uid=standing']),
        reconcile: () => Promise.resolve('reverted'),
        membershipKey: (_t, principal) => principal,
        explainedKeys: () => Promise.resolve(new Set()),
        unreconciledReason: () => undefined,
        reconcilePrincipal: () => Promise.resolve({ drift: [] }),
        extend: () => Promise.resolve({ changed: false }),
      },
      notifier: { announce: () => Promise.resolve([]), publish: () => Promise.resolve() },
      ...testRequestDeps(),
      logger: testLogger(),
      metrics: own,
    });
    const req = { elevationId: 'el_000000000000000000000001', target, principal: 'uid=bot' };
    await expect(activities.acquireGrant(req)).rejects.toBeInstanceOf(TargetUnreachableError);
    await expect(activities.releaseGrant(req)).rejects.toBeInstanceOf(TargetUnreachableError);
    await expect(activities.releaseGrant(req)).rejects.toBeInstanceOf(TargetUnreachableError);
    const found = await activities.reconcileRole({
      id: 'x',
      target,
      action: 'revert',
      standing: ['uid=standing'],
      principals: [],
    });
    expect(found.drift).toHaveLength(1);

    const { samples } = parseExposition(await own.registry.metrics());
    expect(valueOf(samples, 'elevate_grants_total', { target_type: 'ldap', outcome: 'failed' })).toBe(1);
    expect(valueOf(samples, 'elevate_revoke_failures_total', { target_type: 'ldap' })).toBe(2);
    expect(
      valueOf(samples, 'elevate_target_errors_total', {
        target_type: 'ldap',
        error: 'TargetUnreachableError',
      }),
    ).toBe(3);
    expect(
      valueOf(samples, 'elevate_drift_findings_total', { target_type: 'ldap', outcome: 'reverted' }),
    ).toBe(1);
    // A registry of its own: the stack's metrics did not move.
    expect(valueOf(await scrape(), 'elevate_revoke_failures_total')).toBe(0);
  });

  it('when Slack refuses a call, then it is counted by method, and a lookup that finds nobody is not', async () => {
    const own = createMetrics({ processMetrics: false });
    const stub = await startSlackApiStub({
      token: 'xoxb-metrics-test-token',
      users: [],
      channels: ['C0METRICS'],
    });
    try {
      const slack = new SlackClient({
        token: stub.token,
        apiUrl: stub.url,
        logger: testLogger(),
        metrics: own,
      });
      await expect(slack.postMessage('C0NOWHERE', { text: 'hello', blocks: [] })).rejects.toMatchObject({
        code: 'channel_not_found',
      });
      expect(await slack.userIdByEmail('nobody@example.org')).toBeUndefined();
      const { samples } = parseExposition(await own.registry.metrics());
      expect(valueOf(samples, 'elevate_slack_api_errors_total', { method: 'chat.postMessage' })).toBe(1);
      expect(valueOf(samples, 'elevate_slack_api_errors_total')).toBe(1);
      expect(JSON.stringify(samples)).not.toContain(stub.token);
    } finally {
      await stub.stop();
    }
  });

  it('when the identity provider cannot be discovered, then the discovery stage is counted', async () => {
    const own = createMetrics({ processMetrics: false });
    const port = await freePort();
    const settings = stepUpSettings({
      issuer: `http://127.0.0.1:${port}`,
      clientId: 'elevate',
      redirectUri: 'http://127.0.0.1/approvals/callback',
    });
    await expect(
      StepUpClient.discover(settings, { allowInsecureHttp: true, metrics: own }),
    ).rejects.toThrow();
    const { samples } = parseExposition(await own.registry.metrics());
    expect(valueOf(samples, 'elevate_oidc_errors_total', { stage: 'discovery' })).toBe(1);
    expect(valueOf(samples, 'elevate_oidc_errors_total')).toBe(1);
  });
});
