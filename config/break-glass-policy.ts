/**
 * A role's `breakGlass`: the emergency path. The bots listed may be granted the role at once,
 * without approval, for at most `maxSeconds`; every activation is announced loudly and must be
 * confirmed by one of `reviewers` with a fresh MFA login within `reviewDeadlineSeconds`, or the
 * bot is locked down. `reviewers` is a list of e-mail addresses, or `{group: <name>}`: one of the
 * role's own approver groups that lists its members.
 *
 * The schema is the role's field; {@link breakGlassPolicyIssues} adds the checks across the
 * policy (the bots exist and may request the role, the cap fits the role, someone can review).
 */
import { z } from 'zod';
import type { ApproverGroup } from '../core/model/approver-group.js';
import type { RoleBreakGlass } from '../core/rules/break-glass.js';

/** The cap when the policy leaves `maxSeconds` out (or the role's own maximum, if shorter). */
export const DEFAULT_BREAK_GLASS_MAX_SECONDS = 3600;
/** How long reviewers have when the policy leaves `reviewDeadlineSeconds` out: a day. */
export const DEFAULT_REVIEW_DEADLINE_SECONDS = 24 * 3600;
/** The longest review deadline: an incident nobody looks at for a month is not being reviewed. */
const MAX_REVIEW_DEADLINE_SECONDS = 30 * 24 * 3600;

const email = z.email({ message: 'must be an e-mail address' }).transform((s) => s.toLowerCase());

/** The policy's `roles[].breakGlass`. */
export const breakGlassSchema = z
  .object({
    bots: z.array(z.string().min(1)).min(1, { message: 'must list at least one bot' }).max(100),
    maxSeconds: z.number().int().min(1).optional(),
    reviewers: z.union([
      z.array(email).min(1, { message: 'must list at least one reviewer' }).max(50),
      z.object({ group: z.string().min(1) }).strict(),
    ]),
    reviewDeadlineSeconds: z
      .number()
      .int()
      .min(1)
      .max(MAX_REVIEW_DEADLINE_SECONDS)
      .default(DEFAULT_REVIEW_DEADLINE_SECONDS),
  })
  .strict();

export type BreakGlassPolicy = z.output<typeof breakGlassSchema>;

/** What of a role the break-glass rule depends on. */
interface RoleView {
  id: string;
  maxDurationSeconds: number;
  approval: { mode: 'auto' } | { mode: 'approvers'; groups: ApproverGroup[] };
  breakGlass?: BreakGlassPolicy | undefined;
}

/** The rule as requests use it: the cap resolved, the reviewers as addresses; undefined without one. */
export function breakGlassRuleOf(role: RoleView): RoleBreakGlass | undefined {
  const bg = role.breakGlass;
  if (!bg) return undefined;
  return {
    bots: bg.bots,
    maxSeconds: Math.min(bg.maxSeconds ?? DEFAULT_BREAK_GLASS_MAX_SECONDS, role.maxDurationSeconds),
    reviewers: reviewersOf(role) ?? [],
    reviewDeadlineSeconds: bg.reviewDeadlineSeconds,
  };
}

/** The reviewers' addresses: the list, or the members of the named approver group (undefined: no such group). */
function reviewersOf(role: RoleView): string[] | undefined {
  const r = role.breakGlass?.reviewers;
  if (!r) return undefined;
  if (Array.isArray(r)) return r;
  if (role.approval.mode !== 'approvers') return undefined;
  return role.approval.groups.find((g) => g.name === r.group)?.members;
}

/** One problem of the policy: where, and what. */
export interface PolicyIssue {
  path: (string | number)[];
  message: string;
}

/**
 * The break-glass rules' problems across the policy: each listed bot exists and may request the
 * role, `maxSeconds` is within the role's maximum, a reviewer group is one of the role's approver
 * groups with listed members, and each bot has a reviewer other than its owner.
 */
export function breakGlassPolicyIssues(policy: {
  bots: readonly { id: string; owner: string; roles: readonly string[] }[];
  roles: readonly RoleView[];
}): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  const bots = new Map(policy.bots.map((b) => [b.id, b]));
  policy.roles.forEach((role, i) => {
    const bg = role.breakGlass;
    if (!bg) return;
    const at = (...rest: (string | number)[]) => ['roles', i, 'breakGlass', ...rest];
    if (bg.maxSeconds !== undefined && bg.maxSeconds > role.maxDurationSeconds) {
      issues.push({
        path: at('maxSeconds'),
        message: `is ${bg.maxSeconds} but the role's maxDurationSeconds is ${role.maxDurationSeconds}`,
      });
    }
    const reviewers = reviewersOf(role);
    if (!reviewers) {
      issues.push({
        path: at('reviewers', 'group'),
        message: `must name one of the role's approver groups that lists its members`,
      });
    }
    bg.bots.forEach((botId, j) => {
      const bot = bots.get(botId);
      if (!bot) {
        issues.push({ path: at('bots', j), message: `unknown bot "${botId}"` });
        return;
      }
      if (!bot.roles.includes(role.id)) {
        issues.push({ path: at('bots', j), message: `bot "${botId}" may not request role "${role.id}"` });
        return;
      }
      if (reviewers && !reviewers.some((r) => r !== bot.owner.toLowerCase())) {
        issues.push({
          path: at('reviewers'),
          message: `must name someone other than ${bot.owner}, the owner of bot "${botId}"`,
        });
      }
    });
  });
  return issues;
}
