/**
 * Reading the Prometheus text exposition in tests: its samples ({@link parseExposition}), and
 * the rules `promtool check metrics` applies to it (its linter, `promlint`, from
 * prometheus/client_golang), ported rule by rule so that the tests hold Elevate's `/metrics` to
 * them without promtool; {@link findPromtool} finds the real one when it is installed, for the
 * tests that run it too.
 */
import { accessSync, constants, statSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition: one sample per line, `# HELP`/`# TYPE` lines apart. */
export function parseExposition(text: string): { samples: Sample[]; help: Map<string, string> } {
  const samples: Sample[] = [];
  const help = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const meta = /^# HELP (\S+) (.*)$/.exec(line);
    if (meta) {
      help.set(meta[1]!, meta[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, raw] of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[key!] = raw!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    samples.push({ name: m[1]!, labels, value });
  }
  return { samples, help };
}

/** The sum of the samples called `name` whose labels include `labels` (0 when there are none). */
export function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** Whether a sample called `name` with (at least) these labels is there. */
export function has(samples: Sample[], name: string, labels: Record<string, string> = {}): boolean {
  return samples.some((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

/** One thing promtool would report: the family's name and promlint's own wording. */
export interface LintProblem {
  metric: string;
  text: string;
}

interface Family {
  name: string;
  help?: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  /** Each sample's label names, and its name + labels as text (to find duplicates). */
  samples: { labelNames: string[]; key: string }[];
}

const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

/** Map of a unit to its base unit, as promlint has it (`validations/units.go`). */
const UNITS: Record<string, string> = {
  amperes: 'amperes',
  bytes: 'bytes',
  celsius: 'celsius',
  grams: 'grams',
  joules: 'joules',
  kelvin: 'kelvin',
  meters: 'meters',
  metres: 'metres',
  seconds: 'seconds',
  volts: 'volts',
  minutes: 'seconds',
  hours: 'seconds',
  days: 'seconds',
  weeks: 'seconds',
  kelvins: 'kelvin',
  fahrenheit: 'celsius',
  rankine: 'celsius',
  inches: 'meters',
  yards: 'meters',
  miles: 'meters',
  bits: 'bytes',
  calories: 'joules',
  pounds: 'grams',
  ounces: 'grams',
};
const UNIT_PREFIXES = [
  'pico',
  'nano',
  'micro',
  'milli',
  'centi',
  'deci',
  'deca',
  'hecto',
  'kilo',
  'kibi',
  'mega',
  'mebi',
  'giga',
  'gibi',
  'tera',
  'tebi',
  'peta',
  'pebi',
];
const UNIT_ABBREVIATIONS = ['s', 'ms', 'us', 'ns', 'sec', 'b', 'kb', 'mb', 'gb', 'tb', 'pb', 'm', 'h', 'd'];
const CAMEL_CASE = /[a-z][A-Z]/;

/** Splits the exposition into families; throws on a line that is not in the text format. */
function parse(text: string): Family[] {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const help = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (help) {
      const f = family(help[1]!);
      if (f.help !== undefined) throw new Error(`second HELP line for ${f.name}`);
      f.help = help[2]!;
      continue;
    }
    const type = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+)$/.exec(line);
    if (type) {
      if (!TYPES.has(type[2]!)) throw new Error(`unknown metric type in: ${line}`);
      const f = family(type[1]!);
      if (f.samples.length > 0) throw new Error(`TYPE line for ${f.name} after its samples`);
      f.type = type[2] as Family['type'];
      continue;
    }
    if (line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/.exec(line);
    // Go's ParseFloat: a number, or NaN / Inf / Infinity in any case (prom-client writes `Nan`).
    if (!sample || (Number.isNaN(Number(sample[3])) && !/^([+-]?(inf|infinity)|nan)$/i.test(sample[3]!))) {
      throw new Error(`not an exposition line: ${line}`);
    }
    const name = sample[1]!;
    const labelNames = [...(sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)].map(
      (m) => m[1]!,
    );
    // A histogram's or summary's `_bucket`, `_sum` and `_count` belong to it.
    const base = /^(.*)_(bucket|sum|count)$/.exec(name)?.[1];
    const owner =
      base !== undefined && ['histogram', 'summary'].includes(families.get(base)?.type ?? '')
        ? family(base)
        : family(name);
    owner.samples.push({ labelNames, key: `${name}{${sample[2] ?? ''}}` });
  }
  return [...families.values()];
}

function metricUnits(name: string): { unit: string; base: string } | undefined {
  for (const part of name.split('_')) {
    if (UNITS[part]) return { unit: part, base: UNITS[part] };
    for (const prefix of UNIT_PREFIXES) {
      const rest = part.startsWith(prefix) ? UNITS[part.slice(prefix.length)] : undefined;
      if (rest) return { unit: part, base: rest };
    }
  }
  return undefined;
}

/** Everything promlint finds in `text`, in its words (an empty list when the text is clean). */
export function lintExposition(text: string): LintProblem[] {
  const problems: LintProblem[] = [];
  for (const f of parse(text)) {
    const report = (t: string) => problems.push({ metric: f.name, text: t });
    const n = f.name;
    if (f.help === undefined) report('no help text');
    const units = metricUnits(n);
    if (units && units.unit !== units.base)
      report(`use base unit "${units.base}" instead of "${units.unit}"`);
    const isCounter = f.type === 'counter';
    if (isCounter && !n.endsWith('_total')) report('counter metrics should have "_total" suffix');
    if (!isCounter && f.type !== 'untyped' && n.endsWith('_total')) {
      report('non-counter metrics should not have "_total" suffix');
    }
    if (f.type !== 'untyped') {
      const isHistogram = f.type === 'histogram';
      const isSummary = f.type === 'summary';
      if (!isHistogram && n.endsWith('_bucket'))
        report('non-histogram metrics should not have "_bucket" suffix');
      if (!isHistogram && !isSummary && n.endsWith('_count')) {
        report('non-histogram and non-summary metrics should not have "_count" suffix');
      }
      if (!isHistogram && !isSummary && n.endsWith('_sum')) {
        report('non-histogram and non-summary metrics should not have "_sum" suffix');
      }
      for (const s of f.samples) {
        if (!isHistogram && s.labelNames.includes('le'))
          report('non-histogram metrics should not have "le" label');
        if (!isSummary && s.labelNames.includes('quantile')) {
          report('non-summary metrics should not have "quantile" label');
        }
      }
      const lower = n.toLowerCase();
      if (lower.includes(`_${f.type}_`) || lower.endsWith(`_${f.type}`)) {
        report(`metric name should not include type '${f.type}'`);
      }
    }
    if (n.includes(':')) report("metric names should not contain ':'");
    if (CAMEL_CASE.test(n)) report("metric names should be written in 'snake_case' not 'camelCase'");
    for (const s of f.samples) {
      if (s.labelNames.some((l) => CAMEL_CASE.test(l))) {
        report("label names should be written in 'snake_case' not 'camelCase'");
      }
    }
    const lower = n.toLowerCase();
    for (const abbreviation of UNIT_ABBREVIATIONS) {
      if (lower.includes(`_${abbreviation}_`) || lower.endsWith(`_${abbreviation}`)) {
        report('metric names should not contain abbreviated units');
      }
    }
    const seen = new Set<string>();
    for (const s of f.samples) {
      if (seen.has(s.key)) report('metric not unique');
      seen.add(s.key);
    }
  }
  return problems;
}

/**
 * The `promtool` binary, when installed: `PROMTOOL`, then the `PATH`, then Go's bin folder
 * (`go install github.com/prometheus/prometheus/cmd/promtool@…` puts it there).
 */
export function findPromtool(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const candidates = [
    env.PROMTOOL,
    ...(env.PATH ?? '').split(path.delimiter).map((dir) => (dir ? path.join(dir, 'promtool') : undefined)),
    env.GOBIN ? path.join(env.GOBIN, 'promtool') : undefined,
    path.join(env.GOPATH ?? path.join(homedir(), 'go'), 'bin', 'promtool'),
  ];
  return candidates.find((c): c is string => c !== undefined && c !== '' && isExecutable(c));
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}
