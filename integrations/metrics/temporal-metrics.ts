/**
 * The Temporal SDK's own metrics — Core's task slots, pollers, poll, schedule-to-start and
 * execution latencies, workflow task failures, the sticky cache — in Elevate's Prometheus
 * registries, so a worker's `/metrics` (the API's, or the worker's own on `ELEVATE_METRICS_PORT`)
 * serves them next to Elevate's, behind the same token.
 *
 * How: the process's Temporal runtime records into a `MetricsBuffer` (the SDK's lang-side
 * exporter) instead of serving its own Prometheus endpoint, which would be a second port and
 * one without the token (the metrics are sensitive, see `metrics.ts`). This module drains the
 * buffer every second and at each scrape, and keeps one Prometheus family per Core metric:
 * counters add the deltas Core reports, gauges keep the last value, histograms count each
 * observation into buckets close to Core's own. The exposition follows Prometheus' naming
 * rules, which `promtool check metrics` enforces: every name starts `temporal_` (never
 * `elevate_`, so nothing clashes), counters end `_total`, durations are in seconds and named
 * `_seconds`.
 *
 * Only a worker process has a Temporal runtime (the API's client does not use Core), so only
 * workers show `temporal_*` metrics.
 */
import { MetricsBuffer, type BufferedMetricUpdate, type MetricsExporterConfig } from '@temporalio/worker';
import type { Metric as PromMetric, Registry } from 'prom-client';

/** Prefix of every Temporal SDK metric name (Core's own default). */
export const TEMPORAL_METRICS_PREFIX = 'temporal_';

/** How often the buffer is drained between scrapes; Core drops updates once it is full. */
const DRAIN_INTERVAL_MS = 1000;
/** Updates Core may buffer between two drains (a busy worker makes a few thousand a second). */
const MAX_BUFFER_SIZE = 100_000;

/**
 * Histogram buckets in seconds, by Core metric name (without the prefix): Core's own choices for
 * its Prometheus exporter, which Temporal's dashboards assume.
 */
const BUCKETS: Record<string, number[]> = {
  workflow_endtoend_latency: [0.1, 0.5, 1, 1.5, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 36_000, 86_400],
  workflow_task_execution_latency: [0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
  workflow_task_replay_latency: [0.001, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1],
  workflow_task_schedule_to_start_latency: [0.1, 0.5, 1, 5, 10, 100, 1000],
  activity_schedule_to_start_latency: [0.1, 0.5, 1, 5, 10, 100, 1000],
  activity_execution_latency: [0.05, 0.1, 0.5, 1, 5, 10, 60],
  activity_succeed_endtoend_latency: [0.05, 0.1, 0.5, 1, 5, 10, 60],
  local_activity_execution_latency: [0.05, 0.1, 0.5, 1, 5, 10, 60],
  local_activity_succeed_endtoend_latency: [0.05, 0.1, 0.5, 1, 5, 10, 60],
  // Long polls wait up to about a minute for a task.
  long_request_latency: [0.05, 0.1, 0.5, 1, 2.5, 10, 30, 60, 90],
};
const DEFAULT_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 2.5, 10, 60];

type FamilyType = 'counter' | 'gauge' | 'histogram';
type Labels = Record<string, string>;
interface Series {
  labels: Labels;
  /** Counter or gauge value; unused by histograms. */
  value: number;
  /** Histogram: observations per bucket (not cumulative), the last one past every bound. */
  counts: number[];
  sum: number;
}
interface Sample {
  metricName?: string;
  labels: Labels;
  value: number;
}

/**
 * One Prometheus family, shaped like prom-client's own metrics (`name`, `help`, `type`,
 * `get()`), so a registry serves it next to Elevate's.
 */
class Family {
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: FamilyType,
    private readonly buckets: number[],
    private readonly beforeCollect: () => void,
  ) {}

  record(kind: BufferedMetricUpdate['metric']['kind'], labels: Labels, value: number): void {
    const key = JSON.stringify(labels);
    let s = this.series.get(key);
    if (!s) {
      s = { labels, value: 0, counts: this.buckets.map(() => 0).concat(0), sum: 0 };
      this.series.set(key, s);
    }
    if (this.type === 'histogram') {
      const i = this.buckets.findIndex((bound) => value <= bound);
      s.counts[i === -1 ? this.buckets.length : i]! += 1;
      s.sum += value;
    } else if (kind === 'gauge') {
      s.value = value;
    } else {
      // Counters and up-down counters report deltas.
      s.value += value;
    }
  }

  /** prom-client's collection call: the family's samples, with Core's latest updates applied. */
  get(): Promise<{ name: string; help: string; type: FamilyType; aggregator: string; values: Sample[] }> {
    this.beforeCollect();
    const values: Sample[] = [];
    for (const s of this.series.values()) {
      if (this.type !== 'histogram') {
        values.push({ labels: s.labels, value: s.value });
        continue;
      }
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += s.counts[i]!;
        values.push({
          metricName: `${this.name}_bucket`,
          labels: { ...s.labels, le: String(bound) },
          value: cumulative,
        });
      });
      const count = cumulative + s.counts[this.buckets.length]!;
      values.push({ metricName: `${this.name}_bucket`, labels: { ...s.labels, le: '+Inf' }, value: count });
      values.push({ metricName: `${this.name}_sum`, labels: s.labels, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: s.labels, value: count });
    }
    return Promise.resolve({
      name: this.name,
      help: this.help,
      type: this.type,
      aggregator: this.aggregator,
      values,
    });
  }

  /** Called by `Registry.resetMetrics()`. */
  reset(): void {
    this.series.clear();
  }
}

/** The Prometheus name of a Core metric, by Prometheus' rules (see the module comment). */
export function prometheusName(coreName: string, type: FamilyType, unit: string | undefined): string {
  let name = coreName.replace(/[^a-zA-Z0-9_]/g, '_');
  if (!name.startsWith(TEMPORAL_METRICS_PREFIX)) name = TEMPORAL_METRICS_PREFIX + name;
  if (type === 'counter') return name.endsWith('_total') ? name : `${name}_total`;
  name = name.replace(/_total$/, '');
  if (type === 'histogram' && isDuration(unit) && !name.endsWith('_seconds')) name += '_seconds';
  return name;
}

function isDuration(unit: string | undefined): unit is 's' | 'ms' {
  return unit === 's' || unit === 'ms';
}

/** Core's attributes as Prometheus labels: valid names, string values; `le` is the histograms'. */
function labelsOf(attributes: BufferedMetricUpdate['attributes']): Labels {
  const labels: Labels = {};
  for (const key of Object.keys(attributes).sort()) {
    let name = key.replace(/[^a-zA-Z0-9_]/g, '_');
    if (/^[0-9]/.test(name) || name === 'le' || name === 'quantile' || name.startsWith('__')) {
      name = `temporal_${name}`;
    }
    labels[name] = String(attributes[key]);
  }
  return labels;
}

/**
 * The bridge between the process's Temporal runtime and Elevate's registries. There is one per
 * process ({@link temporalMetrics}), as there is one Temporal runtime.
 */
export class TemporalMetricsBridge {
  /** Where Core records its metrics: pass {@link exporter} to `Runtime.install`. */
  readonly buffer = new MetricsBuffer({ maxBufferSize: MAX_BUFFER_SIZE, useSecondsForDurations: true });
  /** Told when draining the buffer fails (once, until a drain succeeds again). */
  onError: ((err: unknown) => void) | undefined;
  private readonly families = new Map<string, Family>();
  /** Weak: a registry that is no longer used (a test's, a stopped service's) can go. */
  private readonly registries = new Set<WeakRef<Registry>>();
  private timer: NodeJS.Timeout | undefined;
  private failing = false;

  /**
   * The `telemetryOptions.metrics` of `Runtime.install`: Core's metrics into the buffer, without
   * the constant `service_name` label. Starts draining the buffer every second.
   */
  exporter(): MetricsExporterConfig {
    this.timer ??= setInterval(() => this.drain(), DRAIN_INTERVAL_MS).unref();
    return { buffer: this.buffer, attachServiceName: false };
  }

  /** Serve the Temporal metrics from `registry` too: those known now, and those Core adds later. */
  attach(registry: Registry): void {
    this.registries.add(new WeakRef(registry));
    for (const family of this.families.values()) register(registry, family);
  }

  /** Apply every update Core has buffered since the last drain. */
  drain(): void {
    let updates: Iterable<BufferedMetricUpdate>;
    try {
      updates = this.buffer.retrieveUpdates();
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.onError?.(err);
      this.failing = true;
      return;
    }
    for (const { metric, value, attributes } of updates) {
      const type: FamilyType =
        metric.kind === 'counter' ? 'counter' : metric.kind === 'histogram' ? 'histogram' : 'gauge';
      const name = prometheusName(metric.name, type, metric.unit);
      let family = this.families.get(name);
      if (!family) {
        const base = metric.name.replace(/^temporal_/, '');
        family = new Family(
          name,
          metric.description || `Temporal SDK metric ${metric.name}.`,
          type,
          type === 'histogram' ? (BUCKETS[base] ?? DEFAULT_BUCKETS) : [],
          () => this.drain(),
        );
        this.families.set(name, family);
        for (const ref of this.registries) {
          const registry = ref.deref();
          if (registry) register(registry, family);
          else this.registries.delete(ref);
        }
      } else if (family.type !== type) {
        // Two Core metrics that map to one name with different types: keep the first.
        continue;
      }
      const seconds = type === 'histogram' && metric.unit === 'ms' ? value / 1000 : value;
      family.record(metric.kind, labelsOf(attributes), seconds);
    }
  }
}

function register(registry: Registry, family: Family): void {
  // prom-client serves any object with its metrics' shape (name, help, type, get); its typings
  // only name its own classes.
  if (!registry.getSingleMetric(family.name)) registry.registerMetric(family as unknown as PromMetric);
}

/** The process's bridge: `installTemporalLogging` gives its exporter to the Temporal runtime. */
export const temporalMetrics = new TemporalMetricsBridge();
