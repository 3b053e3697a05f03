/**
 * A role's reminders and escalation, part of its `approval` (mode `approvers`): approvals that
 * do not time out silently.
 *
 * ```yaml
 * approval:
 *   mode: approvers
 *   groups: [{ name: leads, members: [ann@example.org] }]
 *   windowSeconds: 1800
 *   remindBeforeSeconds: [900, 300]  # or remindEverySeconds: 600; [] for none
 *   escalation:
 *     afterSeconds: 1200             # no quorum 20 minutes in: these groups may approve too
 *     groups: [{ name: sre-oncall, members: [oncall@example.org] }]
 * ```
 *
 * Without `remindBeforeSeconds` or `remindEverySeconds`, a window of 10 minutes or more has one
 * reminder 5 minutes before it closes (`core/rules/approval-nudges.ts`). Every step must fall
 * inside the window: one that could never happen is refused when the policy loads, rather than
 * accepted and silently skipped.
 */
import { z } from 'zod';
import type { ApprovalNudgeRule } from '../core/model/approval-nudges.js';
import type { ApproverGroup } from '../core/model/approver-group.js';
import { MAX_REMINDERS } from '../core/rules/approval-nudges.js';

const seconds = z.number().int().min(1);

/** The fields reminders and escalation add to an `approvers` approval rule. */
export function approvalNudgeFields<G extends z.ZodType<ApproverGroup>>(approverGroup: G) {
  return {
    /** Seconds before the window closes at which the approvers who have not decided are reminded. */
    remindBeforeSeconds: z.array(seconds).max(MAX_REMINDERS).optional(),
    /** Remind every this many seconds from the request, while the window is open. */
    remindEverySeconds: seconds.optional(),
    /** Groups that may approve too once `afterSeconds` passed without quorum. */
    escalation: z
      .object({
        afterSeconds: seconds,
        groups: z.array(approverGroup).min(1, { message: 'must list at least one group' }).max(10),
      })
      .strict()
      .optional(),
  };
}

/** The parts of an approval rule the checks below read. */
interface NudgeFields {
  windowSeconds: number;
  groups?: { name: string }[] | undefined;
  remindBeforeSeconds?: number[] | undefined;
  remindEverySeconds?: number | undefined;
  escalation?: { afterSeconds: number; groups: { name: string }[] } | undefined;
}

/**
 * Why an approval rule's reminders or escalation cannot work, as `[path under the rule, message]`
 * pairs; none when they can (or there are none). `groups` are the role's own (absent for the
 * `approvers` shorthand, whose one group is named `approvers`).
 */
export function approvalNudgeProblems(a: NudgeFields): [path: (string | number)[], message: string][] {
  const problems: [(string | number)[], string][] = [];
  const window = a.windowSeconds;
  if (a.remindBeforeSeconds !== undefined && a.remindEverySeconds !== undefined) {
    problems.push([['remindEverySeconds'], 'give remindBeforeSeconds or remindEverySeconds, not both']);
  }
  a.remindBeforeSeconds?.forEach((s, i) => {
    if (s >= window)
      problems.push([['remindBeforeSeconds', i], `is ${s} s, not inside the ${window} s approval window`]);
    if (a.remindBeforeSeconds!.indexOf(s) !== i)
      problems.push([['remindBeforeSeconds', i], `lists ${s} twice`]);
  });
  if (a.remindEverySeconds !== undefined && a.remindEverySeconds >= window) {
    problems.push([
      ['remindEverySeconds'],
      `is ${a.remindEverySeconds} s: no reminder would fit in the ${window} s approval window`,
    ]);
  }
  const escalation = a.escalation;
  if (escalation) {
    if (escalation.afterSeconds >= window) {
      problems.push([
        ['escalation', 'afterSeconds'],
        `is ${escalation.afterSeconds} s: the ${window} s approval window closes before the escalation`,
      ]);
    }
    const own = new Set((a.groups ?? [{ name: 'approvers' }]).map((g) => g.name));
    const seen = new Set<string>();
    escalation.groups.forEach((g, i) => {
      if (own.has(g.name))
        problems.push([
          ['escalation', 'groups', i, 'name'],
          `"${g.name}" is already one of the role's approver groups; name the escalation group differently`,
        ]);
      else if (seen.has(g.name))
        problems.push([['escalation', 'groups', i, 'name'], `duplicate group "${g.name}"`]);
      seen.add(g.name);
    });
  }
  return problems;
}

/** The rule's reminder and escalation settings as the role snapshot carries them (only those given). */
export function approvalNudgeRuleOf(a: {
  remindBeforeSeconds?: number[] | undefined;
  remindEverySeconds?: number | undefined;
  escalation?: { afterSeconds: number; groups: ApproverGroup[] } | undefined;
}): ApprovalNudgeRule {
  return {
    ...(a.remindBeforeSeconds !== undefined ? { remindBeforeSeconds: a.remindBeforeSeconds } : {}),
    ...(a.remindEverySeconds !== undefined ? { remindEverySeconds: a.remindEverySeconds } : {}),
    ...(a.escalation
      ? { escalation: { afterSeconds: a.escalation.afterSeconds, groups: a.escalation.groups } }
      : {}),
  };
}
