/**
 * Loads the policy file: YAML, `${VAR}` interpolation from the environment, then the zod
 * schema. Any problem becomes one {@link ConfigError} that names the file, line, column and
 * field path, e.g. `policy.yaml:23:17 roles[1].approval.quorum: is 3 but only 2 approver(s)...`.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, isMap, isNode, isScalar, isSeq, parseDocument } from 'yaml';
import { ConfigError } from '../core/errors/config-error.js';
import { policySchema, type Policy } from './policy.js';
import { identityConflicts } from './identity-uniqueness.js';

const VARIABLE = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** `roles[1].approval.quorum` from `['roles', 1, 'approval', 'quorum']`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out || '(top level)';
}

/**
 * Replaces `${NAME}` and `${NAME:-default}` in every string value; `$$` is a literal `$`.
 * A variable that is unset (and has no default) is an error naming the field, so a secret
 * meant to come from the environment can never silently be empty.
 */
function interpolate(value: unknown, env: NodeJS.ProcessEnv, path: (string | number)[]): unknown {
  if (typeof value === 'string') {
    return value.replace(VARIABLE, (match, name: string | undefined, fallback: string | undefined) => {
      if (match === '$$') return '$';
      const found = env[name as string];
      if (found !== undefined && found !== '') return found;
      if (fallback !== undefined) return fallback;
      throw Object.assign(new Error(`environment variable ${name} is not set`), { path });
    });
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolate(v, env, [...path, i]));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, interpolate(v, env, [...path, k])]));
  }
  return value;
}

/** Parses and validates policy text. `source` names the file in messages. */
export function parsePolicy(text: string, source: string, env: NodeJS.ProcessEnv = process.env): Policy {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  /** `file:line:col` of the field's key (or the deepest part of the path that exists). */
  const where = (path: (string | number)[]): string => {
    for (let n = path.length; n > 0; n -= 1) {
      const parent = doc.getIn(path.slice(0, n - 1), true);
      const last = path[n - 1];
      let range: [number, number, number] | null | undefined;
      if (isMap(parent)) {
        const key = parent.items.find((pair) => isScalar(pair.key) && pair.key.value === last)?.key;
        range = isScalar(key) ? key.range : undefined;
      } else if (isSeq(parent) && typeof last === 'number') {
        const item: unknown = parent.items[last];
        range = isNode(item) ? item.range : undefined;
      }
      if (range) {
        const { line, col } = lineCounter.linePos(range[0]);
        return `${source}:${line}:${col}`;
      }
    }
    return source;
  };

  const syntax = doc.errors[0];
  if (syntax) {
    const pos = syntax.linePos?.[0];
    const at = pos ? `${source}:${pos.line}:${pos.col}` : source;
    throw new ConfigError(`${at} invalid YAML: ${syntax.message.split('\n')[0]}`, '(yaml)');
  }

  let raw: unknown;
  try {
    raw = interpolate(doc.toJS(), env, []);
  } catch (err) {
    const path = (err as { path?: (string | number)[] }).path ?? [];
    throw new ConfigError(`${where(path)} ${formatPath(path)}: ${(err as Error).message}`, formatPath(path));
  }

  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
      // zod reports unknown keys on the object; name the key itself.
      if (issue.code === 'unrecognized_keys') {
        return issue.keys
          .map((key) => `${where([...path, key])} ${formatPath([...path, key])}: unknown field`)
          .join('\n');
      }
      return `${where(path)} ${formatPath(path)}: ${issue.message}`;
    });
    const first = parsed.error.issues[0];
    const firstPath = first
      ? formatPath(first.path.filter((p): p is string | number => typeof p !== 'symbol'))
      : '';
    throw new ConfigError(lines.join('\n'), firstPath);
  }
  const shared = identityConflicts(parsed.data);
  if (shared.length > 0) {
    throw new ConfigError(
      shared.map((c) => `${where(c.path)} ${formatPath(c.path)}: ${c.message}`).join('\n'),
      formatPath(shared[0]!.path),
    );
  }
  return deepFreeze(parsed.data);
}

/** Reads, parses and validates the policy file at `file`. */
export function loadPolicy(file: string, env: NodeJS.ProcessEnv = process.env): Policy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(
      `${file}: cannot read the policy file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      'ELEVATE_CONFIG',
    );
  }
  return parsePolicy(text, file, env);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
