/**
 * Reading a grant handle (`GrantHandle` in `core/model/targets.ts`) back from stored JSON: each
 * target checks the handle it is given against its own schema before acting on it, since the
 * handle comes from the workflow's history, not from the target's own memory.
 *
 * Imports zod: workflows must not import this module (the workflow bundle must not carry zod).
 */
import type { z } from 'zod';
import { TargetInvalidError } from '../errors/target-errors.js';

/**
 * `handle` as `schema` reads it (unknown fields dropped).
 *
 * @throws {TargetInvalidError} naming `target` and what is wrong, when it does not match: a
 *   handle made by another target or by nobody, which no retry can mend.
 */
export function readGrantHandle<T>(schema: z.ZodType<T>, handle: unknown, target: string): T {
  const parsed = schema.safeParse(handle);
  if (parsed.success) return parsed.data;
  const problems = parsed.error.issues
    .map((i) => (i.path.length > 0 ? `${i.path.join('.')}: ${i.message}` : i.message))
    .join('; ');
  throw new TargetInvalidError(`not a grant handle of the ${target} target (${problems})`);
}
