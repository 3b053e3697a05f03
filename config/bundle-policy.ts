/**
 * The policy's `bundles`: several roles a bot asks for in one request, approved once, granted
 * all or nothing and revoked together (`workflows/role-bundle.ts`).
 *
 * ```yaml
 * bundles:
 *   - id: release-train
 *     roles: [deploy-ldap, warehouse-write]   # granted in this order, revoked together
 *     approval:                               # optional: else the strictest of the roles'
 *       mode: approvers
 *       approvers: [ann@example.org]
 * ```
 *
 * A bot may request a bundle only if it may request each of its roles. The bundle is approved by
 * its own `approval`, which must be at least as strict as each role's (approvers whenever a role
 * needs them, with at least the largest of their quorums), or else by the strictest of its roles'
 * (approvers over automatic, then the largest quorum, then the first listed); its duration is
 * capped by the smallest `maxDurationSeconds`. A bundle's elevation cannot be extended, scheduled
 * or asked for on the emergency path.
 */
import { z } from 'zod';
import type { ApprovalRule } from '../core/model/elevation.js';
import type { TargetRef } from '../core/model/targets.js';
import { totalQuorum } from '../core/rules/approval-quorum.js';
import type { PolicyIssue } from './break-glass-policy.js';

/** Most roles one bundle may hold. */
export const MAX_BUNDLE_ROLES = 10;

/** The policy's `bundles[]`, built with the policy's id and approval schemas. */
export function bundleSchema<I extends z.ZodType<string>, A extends z.ZodType>(id: I, approval: A) {
  return z
    .object({
      id,
      description: z.string().max(500).optional(),
      roles: z
        .array(id)
        .min(2, { message: 'must list at least two roles (one role is requested as a role)' })
        .max(MAX_BUNDLE_ROLES, { message: `must list at most ${MAX_BUNDLE_ROLES} roles` }),
      /** Left out: the strictest of the roles' approval rules. */
      approval: approval.optional(),
    })
    .strict();
}

/** What the bundle rules read of a role. */
interface RoleView {
  id: string;
  environment: string;
  target: TargetRef;
  maxDurationSeconds: number;
  approval: ApprovalRule;
}

/** What the bundle rules read of a bundle. */
export interface BundleView {
  id: string;
  description?: string | undefined;
  roles: readonly string[];
  approval?: ApprovalRule | undefined;
}

/** A rule's strictness: automatic below any approvers, then by the approvals it needs in all. */
function strictness(rule: ApprovalRule): number {
  return rule.mode === 'auto' ? 0 : totalQuorum(rule.groups);
}

/**
 * The role whose approval rule applies to the bundle when it names none: the strictest (the
 * first of equals). Undefined only for a bundle of no known role.
 */
export function strictestRole<R extends RoleView>(roles: readonly R[]): R | undefined {
  return roles.reduce<R | undefined>(
    (best, r) => (best === undefined || strictness(r.approval) > strictness(best.approval) ? r : best),
    undefined,
  );
}

/**
 * Where the policy's bundles break a rule, as issues naming the field: ids unique and apart from
 * the role ids, roles known, distinct, in one environment, on distinct targets, no AWS
 * credentials mode and at most one AWS role, and an explicit approval at least as strict as
 * each role's.
 */
export function bundlePolicyIssues(policy: {
  roles: readonly RoleView[];
  bundles?: readonly BundleView[] | undefined;
}): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const roles = new Map(policy.roles.map((r) => [r.id, r]));
  const ids = new Set<string>();
  (policy.bundles ?? []).forEach((bundle, i) => {
    const at = (...rest: (string | number)[]) => ['bundles', i, ...rest];
    if (ids.has(bundle.id)) issues.push({ path: at('id'), message: `duplicate bundle id "${bundle.id}"` });
    if (roles.has(bundle.id)) {
      issues.push({
        path: at('id'),
        message: `"${bundle.id}" is a role id too: a request names a role or a bundle, so they must differ`,
      });
    }
    ids.add(bundle.id);
    const seen = new Set<string>();
    const targets = new Map<string, string>();
    const found: RoleView[] = [];
    let aws = 0;
    bundle.roles.forEach((roleId, j) => {
      const role = roles.get(roleId);
      if (!role) {
        issues.push({ path: at('roles', j), message: `unknown role "${roleId}"` });
        return;
      }
      if (seen.has(roleId)) {
        issues.push({ path: at('roles', j), message: `lists role "${roleId}" twice` });
        return;
      }
      seen.add(roleId);
      const first = found[0];
      if (first && role.environment !== first.environment) {
        issues.push({
          path: at('roles', j),
          message: `role "${roleId}" is in environment "${role.environment}" but "${first.id}" is in "${first.environment}"`,
        });
      }
      const key = JSON.stringify(role.target);
      const twin = targets.get(key);
      if (twin !== undefined) {
        issues.push({
          path: at('roles', j),
          message: `role "${roleId}" grants the same as role "${twin}"; list one of them`,
        });
      }
      targets.set(key, roleId);
      if (role.target.type === 'aws-iam') {
        aws += 1;
        if (role.target.mode === 'credentials') {
          issues.push({
            path: at('roles', j),
            message: `role "${roleId}" hands out AWS credentials, which a bundle cannot hold`,
          });
        } else if (aws > 1) {
          issues.push({ path: at('roles', j), message: 'a bundle may hold at most one aws-iam role' });
        }
      }
      found.push(role);
    });
    const approval = bundle.approval;
    const strictest = strictestRole(found);
    if (approval && strictest && strictness(approval) < strictness(strictest.approval)) {
      issues.push({
        path: at('approval'),
        message:
          approval.mode === 'auto'
            ? `must need approvers: role "${strictest.id}" does`
            : `needs ${strictness(approval)} approval(s) in all but role "${strictest.id}" needs ${strictness(strictest.approval)}; a bundle is at least as strict as each of its roles`,
      });
    }
  });
  return issues;
}
