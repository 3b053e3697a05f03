/**
 * What `/metrics` exposes before anything has happened, and whether Prometheus' own checker
 * accepts it:
 *
 * - every known label set of Elevate's labelled counters (and the revocation lag histogram) is
 *   there at 0 from the start, so `increase()` sees a series' first event (the `ElevateDrift`
 *   alert on a process's first finding); the known sets match the code that counts;
 * - the exposition passes the rules of `promtool check metrics` (ported in
 *   `test/support/prometheus-text.ts`, shown here to fail on each broken rule), and the real
 *   promtool when it is installed;
 * - the Temporal SDK's metrics, as the bridge turns Core's buffered updates into Prometheus
 *   families (fed here by hand; `test/integration/metrics.test.ts` runs a real worker).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BufferedMetricUpdate } from '@temporalio/worker';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { describe, expect, it } from 'vitest';
import * as targetErrors from '../../core/errors/target-errors.js';
import {
  DRIFT_OUTCOMES,
  ELEVATION_REQUEST_OUTCOMES,
  GRANT_OUTCOMES,
  OIDC_ERROR_STAGES,
  REVOCATION_LAG_BUCKETS,
  REVOCATION_OUTCOMES,
  TARGET_ERROR_NAMES,
  TARGET_TYPES,
  createMetrics,
} from '../../integrations/metrics/prometheus.js';
import { SLACK_METHODS } from '../../core/ports/metrics.js';
import { TemporalMetricsBridge, prometheusName } from '../../integrations/metrics/temporal-metrics.js';
import { API_ROUTES } from '../../server/openapi/routes.js';
import { findPromtool, has, lintExposition, parseExposition, valueOf } from '../support/prometheus-text.js';

const root = path.resolve(import.meta.dirname, '../..');

/** Elevate's metrics as a fresh process exposes them, without the Temporal SDK's. */
async function freshExposition(processMetrics = true): Promise<string> {
  return createMetrics({ processMetrics, temporal: false }).registry.metrics();
}

describe('label sets known in advance', () => {
  it('when metrics are created, then every known series of the labelled counters is exported at 0', async () => {
    const text = await freshExposition(false);
    // As Prometheus will read them (the alert in docs/operations.md sums these per target type).
    expect(text).toContain('elevate_drift_findings_total{target_type="ldap",outcome="alerted"} 0\n');
    expect(text).toContain('elevate_drift_findings_total{target_type="aws-iam",outcome="reverted"} 0\n');
    expect(text).toContain('elevate_revoke_failures_total{target_type="postgres"} 0\n');
    expect(text).toContain(
      'elevate_target_errors_total{target_type="ldap",error="TargetUnreachableError"} 0\n',
    );
    expect(text).toContain('elevate_elevation_requests_total{outcome="role_not_allowed"} 0\n');
    expect(text).toContain('elevate_slack_api_errors_total{method="chat.postMessage"} 0\n');
    expect(text).toContain('elevate_oidc_errors_total{stage="discovery"} 0\n');

    const { samples } = parseExposition(text);
    const zero = (name: string, labels: Record<string, string>) => {
      expect(has(samples, name, labels), `${name} ${JSON.stringify(labels)}`).toBe(true);
      expect(valueOf(samples, name, labels)).toBe(0);
    };
    expect(TARGET_TYPES).toEqual(['ldap', 'postgres', 'aws-iam']);
    for (const target_type of TARGET_TYPES) {
      zero('elevate_revoke_failures_total', { target_type });
      for (const outcome of GRANT_OUTCOMES) zero('elevate_grants_total', { target_type, outcome });
      for (const outcome of REVOCATION_OUTCOMES) zero('elevate_revocations_total', { target_type, outcome });
      for (const outcome of DRIFT_OUTCOMES) zero('elevate_drift_findings_total', { target_type, outcome });
      for (const error of TARGET_ERROR_NAMES) zero('elevate_target_errors_total', { target_type, error });
      // The revocation lag histogram too: every bucket, the sum and the count.
      for (const le of [...REVOCATION_LAG_BUCKETS.map(String), '+Inf']) {
        zero('elevate_revocation_lag_seconds_bucket', { target_type, le });
      }
      zero('elevate_revocation_lag_seconds_sum', { target_type });
      zero('elevate_revocation_lag_seconds_count', { target_type });
    }
    for (const outcome of ELEVATION_REQUEST_OUTCOMES) zero('elevate_elevation_requests_total', { outcome });
    for (const method of SLACK_METHODS) zero('elevate_slack_api_errors_total', { method });
    for (const stage of OIDC_ERROR_STAGES) zero('elevate_oidc_errors_total', { stage });
    // Route patterns belong to the app: no HTTP series before the first request.
    expect(has(samples, 'elevate_http_requests_total')).toBe(false);
  });

  it('when an event is counted, then its zero series moves to 1 and the others stay at 0', async () => {
    const metrics = createMetrics({ processMetrics: false, temporal: false });
    const before = parseExposition(await metrics.registry.metrics()).samples;
    metrics.driftFindings.inc({ target_type: 'ldap', outcome: 'alerted' });
    const after = parseExposition(await metrics.registry.metrics()).samples;
    const labels = { target_type: 'ldap', outcome: 'alerted' };
    // What increase() needs: a sample at 0 before the event.
    expect(has(before, 'elevate_drift_findings_total', labels)).toBe(true);
    expect(valueOf(after, 'elevate_drift_findings_total', labels)).toBe(1);
    expect(valueOf(after, 'elevate_drift_findings_total')).toBe(1);
    expect(after.filter((s) => s.name === 'elevate_drift_findings_total')).toHaveLength(6);
  });

  it('when a target error class exists, then its name is among the known error labels', () => {
    // Every class the module exports that extends TargetError (the base itself is abstract).
    const classes = Object.values(targetErrors).filter(
      (v) => typeof v === 'function' && v.prototype instanceof targetErrors.TargetError,
    ) as unknown as (new (message: string) => targetErrors.TargetError)[];
    expect(classes.length).toBeGreaterThanOrEqual(5);
    for (const Cls of classes) expect(TARGET_ERROR_NAMES).toContain(new Cls('x').name);
  });

  it('when the API reference lists an error of POST /v1/elevations, then it is a known outcome', () => {
    const route = API_ROUTES.find((r) => r.method === 'post' && r.path === '/v1/elevations');
    expect(route).toBeDefined();
    const codes = new Set<string>();
    for (const [status, response] of Object.entries(route!.responses)) {
      if (Number(status) < 400) continue;
      for (const [, code] of (response.description ?? '').matchAll(/`([a-z]+(?:_[a-z]+)*)`/g))
        codes.add(code!);
    }
    // The error's `field` is named in the descriptions too; it is not a code.
    codes.delete('field');
    expect(codes).toContain('role_not_allowed');
    expect(codes).toContain('unauthenticated');
    for (const code of codes) expect(ELEVATION_REQUEST_OUTCOMES as readonly string[]).toContain(code);
  });

  it('when the Slack client calls a Web API method, then the method is among the known labels', () => {
    const source = readFileSync(path.join(root, 'integrations/slack/slack-client.ts'), 'utf8');
    const called = [...source.matchAll(/(?:this\.send|toSlackApiError)\('([a-zA-Z.]+)'/g)].map((m) => m[1]!);
    expect(called).toContain('views.open');
    expect(new Set(called).size).toBeGreaterThanOrEqual(5);
    for (const method of called) expect(SLACK_METHODS as readonly string[]).toContain(method);
  });
});

/** An exposition that breaks one or more of promtool's rules per family. */
const BROKEN = [
  '# HELP app_requests Requests.',
  '# TYPE app_requests counter',
  'app_requests 1',
  '# HELP app_queue_total Queued.',
  '# TYPE app_queue_total gauge',
  'app_queue_total 2',
  '# TYPE app_no_help gauge',
  'app_no_help 3',
  '# HELP app_wait_milliseconds Wait.',
  '# TYPE app_wait_milliseconds histogram',
  'app_wait_milliseconds_bucket{le="+Inf"} 1',
  'app_wait_milliseconds_sum 1',
  'app_wait_milliseconds_count 1',
  '# HELP app_size_bucket Size.',
  '# TYPE app_size_bucket gauge',
  'app_size_bucket{le="1"} 4',
  '# HELP app_latency_ms Latency.',
  '# TYPE app_latency_ms gauge',
  'app_latency_ms 5',
  '# HELP app_errors_gauge Errors.',
  '# TYPE app_errors_gauge gauge',
  'app_errors_gauge{errorKind="x"} 6',
  '# HELP app_dup Duplicated.',
  '# TYPE app_dup gauge',
  'app_dup{a="1"} 1',
  'app_dup{a="1"} 2',
  '',
].join('\n');

/** The alerting rule groups (YAML) of the Metrics section of docs/operations.md. */
function alertRules(): string[] {
  const doc = readFileSync(path.join(root, 'docs/operations.md'), 'utf8');
  const section = doc.slice(
    doc.indexOf('\n## Metrics\n'),
    doc.indexOf('\n## ', doc.indexOf('\n## Metrics\n') + 1),
  );
  return [...section.matchAll(/```yaml\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .filter((y) => y.startsWith('groups:'));
}

describe("promtool's rules", () => {
  it('when a fresh process exposes its metrics, then no rule is broken', async () => {
    expect(lintExposition(await freshExposition())).toEqual([]);
  });

  it("when prom-client's default Node.js metrics are exposed as they come, then its three _total gauges are reported, and Elevate leaves them out", async () => {
    const raw = new Registry();
    collectDefaultMetrics({ register: raw, prefix: 'elevate_' });
    const problems = lintExposition(await raw.metrics());
    expect(problems.map((p) => p.metric).sort()).toEqual([
      'elevate_nodejs_active_handles_total',
      'elevate_nodejs_active_requests_total',
      'elevate_nodejs_active_resources_total',
    ]);
    for (const p of problems) expect(p.text).toBe('non-counter metrics should not have "_total" suffix');

    const { samples } = parseExposition(await freshExposition());
    for (const p of problems) expect(has(samples, p.metric)).toBe(false);
    // The per-type gauges they summed are still there, and so are the _total counters.
    expect(has(samples, 'elevate_nodejs_active_handles')).toBe(true);
    expect(has(samples, 'elevate_process_cpu_seconds_total')).toBe(true);
  });

  it('when an exposition breaks a rule, then the rule reports it in promtool’s words', () => {
    const found = lintExposition(BROKEN).map((p) => `${p.metric} ${p.text}`);
    expect(found.sort()).toEqual(
      [
        'app_requests counter metrics should have "_total" suffix',
        'app_queue_total non-counter metrics should not have "_total" suffix',
        'app_no_help no help text',
        'app_wait_milliseconds use base unit "seconds" instead of "milliseconds"',
        'app_size_bucket non-histogram metrics should not have "_bucket" suffix',
        'app_size_bucket non-histogram metrics should not have "le" label',
        'app_latency_ms metric names should not contain abbreviated units',
        "app_errors_gauge metric name should not include type 'gauge'",
        "app_errors_gauge label names should be written in 'snake_case' not 'camelCase'",
        'app_dup metric not unique',
      ].sort(),
    );
    expect(() => lintExposition('app_x{a="1"} not-a-number\n')).toThrow(/not an exposition line/);
  });

  it('when the alerts docs/operations.md suggests name an Elevate metric, then a fresh process exports it', async () => {
    const { samples } = parseExposition(await freshExposition());
    const names = new Set(samples.map((s) => s.name));
    const used = [
      ...alertRules()
        .join('\n')
        .matchAll(/\belevate_[a-z_]+/g),
    ].map((m) => m[0]);
    expect(used).toContain('elevate_drift_findings_total');
    for (const name of used) expect(names, name).toContain(name);
  });

  const promtool = findPromtool();
  const noPromtool =
    'promtool is not installed (go install github.com/prometheus/prometheus/cmd/promtool@v0.316.0, or set PROMTOOL)';
  const run = (tool: string, args: string[], input?: string) =>
    spawnSync(tool, args, { input, encoding: 'utf8' });

  it('when the real promtool checks the exposition, then it accepts it, and refuses the raw default metrics', async (ctx) => {
    if (!promtool) return ctx.skip(noPromtool);
    const ok = run(promtool, ['check', 'metrics'], await freshExposition());
    expect(`${ok.stdout}${ok.stderr}`).toBe('');
    expect(ok.status).toBe(0);

    const raw = new Registry();
    collectDefaultMetrics({ register: raw, prefix: 'elevate_' });
    const refused = run(promtool, ['check', 'metrics'], await raw.metrics());
    expect(refused.status).toBe(3);
    expect(refused.stderr).toContain(
      'elevate_nodejs_active_handles_total non-counter metrics should not have "_total" suffix',
    );
  });

  it('when the real promtool checks a broken exposition, then it finds what the ported rules find', (ctx) => {
    if (!promtool) return ctx.skip(noPromtool);
    const result = run(promtool, ['check', 'metrics'], BROKEN);
    expect(result.status).toBe(3);
    const reported = `${result.stdout}${result.stderr}`.split('\n').filter(Boolean).sort();
    expect(reported).toEqual(
      lintExposition(BROKEN)
        .map((p) => `${p.metric} ${p.text}`)
        .sort(),
    );
  });

  it('when the real promtool checks the alerts docs/operations.md suggests, then they are valid rules', (ctx) => {
    if (!promtool) return ctx.skip(noPromtool);
    const dir = mkdtempSync(path.join(tmpdir(), 'elevate-rules-'));
    try {
      const files = alertRules().map((yaml, i) => {
        const file = path.join(dir, `rules-${i}.yml`);
        writeFileSync(file, yaml);
        return file;
      });
      expect(files.length).toBeGreaterThanOrEqual(2);
      const result = run(promtool, ['check', 'rules', ...files]);
      expect(result.stderr).toBe('');
      expect(result.status).toBe(0);
      expect(result.stdout).toMatch(/SUCCESS: 4 rules found[\s\S]*SUCCESS: 4 rules found/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---- the Temporal SDK's metrics ----------------------------------------------------------------

/** A bridge whose buffer hands out the updates a test queues, instead of Core's. */
function fedBridge(): { bridge: TemporalMetricsBridge; feed: (...updates: BufferedMetricUpdate[]) => void } {
  const bridge = new TemporalMetricsBridge();
  const queue: BufferedMetricUpdate[] = [];
  bridge.buffer.retrieveUpdates = () => queue.splice(0).values();
  return { bridge, feed: (...updates) => queue.push(...updates) };
}

const slotsAvailable = {
  name: 'temporal_worker_task_slots_available',
  description: 'Current number of available slots per task type',
  kind: 'gauge',
  valueType: 'int',
} as const;
const pollSucceed = {
  name: 'temporal_workflow_task_queue_poll_succeed',
  description: 'Count of workflow task queue poll successes',
  kind: 'counter',
  valueType: 'int',
} as const;
const scheduleToStart = {
  name: 'temporal_workflow_task_schedule_to_start_latency',
  unit: 's',
  description: 'Histogram of workflow task schedule-to-start latencies',
  kind: 'histogram',
  valueType: 'int',
} as const;
const queue = { namespace: 'default', task_queue: 'elevate' };

describe("the Temporal SDK's metrics", () => {
  it('when Core names a metric, then its Prometheus name follows the rules and keeps the temporal_ prefix', () => {
    expect(prometheusName('temporal_workflow_task_execution_failed', 'counter', undefined)).toBe(
      'temporal_workflow_task_execution_failed_total',
    );
    expect(prometheusName('temporal_request_total', 'counter', undefined)).toBe('temporal_request_total');
    expect(prometheusName('temporal_activity_execution_latency', 'histogram', 's')).toBe(
      'temporal_activity_execution_latency_seconds',
    );
    expect(prometheusName('temporal_worker_task_slots_used', 'gauge', undefined)).toBe(
      'temporal_worker_task_slots_used',
    );
    expect(prometheusName('temporal_queue_total', 'gauge', undefined)).toBe('temporal_queue');
    // A metric without Core's prefix (a custom one) can never take an Elevate name.
    expect(prometheusName('elevate_grants', 'counter', undefined)).toBe('temporal_elevate_grants_total');
    expect(prometheusName('my.metric', 'gauge', undefined)).toBe('temporal_my_metric');
  });

  it('when Core reports updates, then counters add up, gauges keep the last value and histograms count into buckets', async () => {
    const { bridge, feed } = fedBridge();
    const registry = new Registry();
    bridge.attach(registry);
    feed(
      { metric: pollSucceed, value: 1, attributes: queue },
      { metric: pollSucceed, value: 2, attributes: queue },
      { metric: slotsAvailable, value: 100, attributes: { ...queue, worker_type: 'WorkflowWorker' } },
      { metric: slotsAvailable, value: 99, attributes: { ...queue, worker_type: 'WorkflowWorker' } },
      { metric: slotsAvailable, value: 100, attributes: { ...queue, worker_type: 'ActivityWorker' } },
      { metric: scheduleToStart, value: 0.003, attributes: queue },
      { metric: scheduleToStart, value: 0.7, attributes: queue },
      { metric: scheduleToStart, value: 5000, attributes: queue },
      {
        metric: { name: 'temporal_activity_task_received', kind: 'counter', valueType: 'int' },
        value: 1,
        attributes: { ...queue, eager: true },
      },
    );
    // A scrape applies what Core buffered since the last drain.
    bridge.drain();
    const text = await registry.metrics();
    const { samples, help } = parseExposition(text);
    expect(valueOf(samples, 'temporal_workflow_task_queue_poll_succeed_total', queue)).toBe(3);
    expect(help.get('temporal_workflow_task_queue_poll_succeed_total')).toBe(
      'Count of workflow task queue poll successes',
    );
    expect(text).toContain('# TYPE temporal_workflow_task_queue_poll_succeed_total counter');
    expect(text).toContain('# TYPE temporal_worker_task_slots_available gauge');
    expect(text).toContain('# TYPE temporal_workflow_task_schedule_to_start_latency_seconds histogram');
    expect(
      valueOf(samples, 'temporal_worker_task_slots_available', { ...queue, worker_type: 'WorkflowWorker' }),
    ).toBe(99);
    expect(
      valueOf(samples, 'temporal_worker_task_slots_available', { ...queue, worker_type: 'ActivityWorker' }),
    ).toBe(100);
    const bucket = (le: string) =>
      valueOf(samples, 'temporal_workflow_task_schedule_to_start_latency_seconds_bucket', { ...queue, le });
    expect([bucket('0.1'), bucket('0.5'), bucket('1'), bucket('1000'), bucket('+Inf')]).toEqual([
      1, 1, 2, 2, 3,
    ]);
    expect(valueOf(samples, 'temporal_workflow_task_schedule_to_start_latency_seconds_count', queue)).toBe(3);
    expect(
      valueOf(samples, 'temporal_workflow_task_schedule_to_start_latency_seconds_sum', queue),
    ).toBeCloseTo(5000.703);
    expect(valueOf(samples, 'temporal_activity_task_received_total', { eager: 'true' })).toBe(1);
    expect(lintExposition(text)).toEqual([]);

    // Later updates keep adding to the same series.
    feed({ metric: pollSucceed, value: 4, attributes: queue });
    const later = parseExposition(await registry.metrics()).samples;
    expect(valueOf(later, 'temporal_workflow_task_queue_poll_succeed_total', queue)).toBe(7);
  });

  it('when a registry is attached after Core reported, then it serves the metrics known so far and the ones that come later', async () => {
    const { bridge, feed } = fedBridge();
    const early = new Registry();
    bridge.attach(early);
    feed({ metric: pollSucceed, value: 1, attributes: queue });
    bridge.drain();
    const late = createMetrics({ processMetrics: false, temporal: bridge });
    feed({ metric: slotsAvailable, value: 5, attributes: { ...queue, worker_type: 'WorkflowWorker' } });
    bridge.drain();
    for (const registry of [early, late.registry]) {
      const { samples } = parseExposition(await registry.metrics());
      expect(valueOf(samples, 'temporal_workflow_task_queue_poll_succeed_total')).toBe(1);
      expect(valueOf(samples, 'temporal_worker_task_slots_available')).toBe(5);
    }
    // Next to Elevate's own, without a clash, and still clean.
    const text = await late.registry.metrics();
    expect(text).toContain('elevate_grants_total');
    expect(lintExposition(text)).toEqual([]);
  });

  it('when Core cannot be read, then the error is reported once until a drain succeeds again', () => {
    const bridge = new TemporalMetricsBridge();
    const errors: unknown[] = [];
    bridge.onError = (err) => errors.push(err);
    let fail = true;
    bridge.buffer.retrieveUpdates = () => {
      if (fail) throw new Error('runtime gone');
      return [].values();
    };
    bridge.drain();
    bridge.drain();
    expect(errors).toHaveLength(1);
    fail = false;
    bridge.drain();
    fail = true;
    bridge.drain();
    expect(errors).toHaveLength(2);
  });
});
