/**
 * Reading a request's parameters, query and body with a zod schema: the first issue becomes a
 * 400 `invalid_request` that names the field at fault, as the caller wrote it.
 */
import type { z } from 'zod';
import { formatPath } from '../../config/load-policy.js';
import { ApiError } from '../../domain/errors.js';

/**
 * Parse `value` with `schema`; the first issue becomes an {@link ApiError} naming its field.
 * `where` names the value itself: a path parameter's name, `query` or `body`.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
  if (issue.code === 'unrecognized_keys') {
    const field = formatPath([...path, issue.keys[0] ?? '']);
    throw new ApiError('invalid_request', `${field}: unknown field`, field);
  }
  // A query parameter is named as the caller wrote it (`status`, not `status[0]`).
  const field = path.length === 0 ? where : where === 'query' ? String(path[0]) : formatPath(path);
  const missing = issue.code === 'invalid_type' && valueAt(value, path) === undefined;
  throw new ApiError('invalid_request', `${field}: ${missing ? 'is required' : issue.message}`, field);
}

function valueAt(value: unknown, path: (string | number)[]): unknown {
  let v = value;
  for (const p of path)
    v = v && typeof v === 'object' ? (v as Record<string | number, unknown>)[p] : undefined;
  return v;
}
