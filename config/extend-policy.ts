/**
 * A role's `extend`: whether an active elevation of the role may be extended, and how far.
 * Left out, it may not (403 `extension_not_allowed`): a window that can grow is standing access
 * in slow motion, so each role says so on purpose, with a cap on the elevation's whole lifetime.
 *
 * ```yaml
 * extend:
 *   maxTotalSeconds: 7200   # the window and every extension together, from the grant
 *   maxExtensions: 2        # default 2
 *   approval: same-as-request   # required: `none` (at once) or `same-as-request` (approvers)
 * ```
 *
 * `approval` must be said, so that no extension skips approval by default. `same-as-request`
 * puts each extension before the approvers the request went to (the same groups and quorums,
 * with MFA; `workflows/extension-approval.ts`), so a role that approves its requests
 * automatically has no one to ask and is refused it.
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
          "must be 'none' (extensions are granted at once) or 'same-as-request' (the role's approvers decide); say it explicitly, extensions never skip approval by default",
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
  approval: { mode: string };
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
  if (rule.approval === 'same-as-request' && role.approval.mode !== 'approvers') {
    problems.push([
      ['extend', 'approval'],
      `'same-as-request' needs approvers, and the role's requests are approved ${role.approval.mode === 'auto' ? 'automatically' : `by '${role.approval.mode}'`}: use 'none' (granted at once, within the caps) or give the role approvers`,
    ]);
  }
  if (rule.maxTotalSeconds <= role.maxDurationSeconds) {
    problems.push([
      ['extend', 'maxTotalSeconds'],
      `must be more than the role's maxDurationSeconds (${role.maxDurationSeconds}), or no request could ever be extended`,
    ]);
  }
  // AWS attach mode extends: its policy's expiry condition moves with the window
  // (`AwsIamAttachTarget.extend`). A credentials-mode session cannot be lengthened.
  if (role.target.type === 'aws-iam' && role.target.mode === 'credentials') {
    problems.push([
      ['extend'],
      'AWS credentials mode cannot be extended: the session AWS issued ends when it ends; request a new elevation',
    ]);
  }
  return problems;
}

/** The role's rule as the workflow's role snapshot carries it; undefined: no extensions. */
export function extendRuleFor(role: { extend?: ExtendPolicy | undefined }): ExtendRule | undefined {
  const rule = role.extend;
  if (!rule) return undefined;
  return {
    maxTotalSeconds: rule.maxTotalSeconds,
    maxExtensions: rule.maxExtensions,
    approval: rule.approval,
  };
}
