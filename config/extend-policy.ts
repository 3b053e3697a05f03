/**
 * A role's `extend`: whether an active elevation of the role may be extended, and how far.
 * Left out, it may not (403 `extension_not_allowed`): a window that can grow is standing access
 * in slow motion, so each role says so on purpose, with a cap on the elevation's whole lifetime.
 *
 * ```yaml
 * extend:
 *   maxTotalSeconds: 7200   # the window and every extension together, from the grant
 *   maxExtensions: 2        # default 2
 *   approval: none          # required: extensions are granted at once, without approvers
 * ```
 *
 * `approval` must be said: `none` is the only value this version accepts. `same-as-request`
 * (extensions approved by the role's approvers, as the request was) is refused when the policy
 * loads with a message saying so, rather than accepted and silently granted without approval.
 */
import { z } from 'zod';
import type { ExtendRule } from '../core/model/extend.js';

/** Most extensions any role may allow: more is a standing grant renewed by a loop. */
export const MAX_EXTENSIONS_CAP = 20;

/** The policy's `roles[].extend`. */
export function extendSchema(maxLifetimeSeconds: number) {
  return z
    .object({
      maxTotalSeconds: z.number().int().min(1).max(maxLifetimeSeconds),
      maxExtensions: z.number().int().min(1).max(MAX_EXTENSIONS_CAP).default(2),
      approval: z.enum(['none', 'same-as-request'], {
        message:
          "must be 'none' (extensions are granted at once); say it explicitly, extensions never skip approval by default",
      }),
    })
    .strict();
}

/** A role's `extend`, as the policy gives it. */
export type ExtendPolicy = z.output<ReturnType<typeof extendSchema>>;

/** What a role must satisfy for its `extend` (checked with the role). */
interface RoleForExtend {
  maxDurationSeconds: number;
  target: { type: string; mode?: string };
  extend?: ExtendPolicy | undefined;
}

/**
 * Why a role's `extend` cannot be used, as `[path under the role, message]` pairs; none when it
 * can (or there is none).
 */
export function extendProblems(role: RoleForExtend): [path: (string | number)[], message: string][] {
  const rule = role.extend;
  if (!rule) return [];
  const problems: [(string | number)[], string][] = [];
  if (rule.approval === 'same-as-request') {
    problems.push([
      ['extend', 'approval'],
      "'same-as-request' is not available in this version: extensions cannot yet be sent to approvers; use 'none' (granted at once, within the caps) or leave extend out",
    ]);
  }
  if (rule.maxTotalSeconds <= role.maxDurationSeconds) {
    problems.push([
      ['extend', 'maxTotalSeconds'],
      `must be more than the role's maxDurationSeconds (${role.maxDurationSeconds}), or no request could ever be extended`,
    ]);
  }
  if (role.target.type === 'aws-iam') {
    problems.push([
      ['extend'],
      role.target.mode === 'credentials'
        ? 'AWS credentials mode cannot be extended: the session AWS issued ends when it ends; request a new elevation'
        : "AWS attach mode cannot be extended in this version: the policy's expiry condition would have to move with it",
    ]);
  }
  return problems;
}

/** The role's rule as the workflow's role snapshot carries it; undefined: no extensions. */
export function extendRuleFor(role: { extend?: ExtendPolicy | undefined }): ExtendRule | undefined {
  const rule = role.extend;
  if (!rule || rule.approval !== 'none') return undefined;
  return { maxTotalSeconds: rule.maxTotalSeconds, maxExtensions: rule.maxExtensions, approval: 'none' };
}
