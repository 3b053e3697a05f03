/**
 * Who may approve an elevation, now: one rule for the workflow's approve validator (which
 * decides) and the server's check before an approver is sent to log in. Pure.
 */
import type { ApproveInput, RefusalCode } from '../model/decisions.js';
import type { ApprovalRecord, ApproverIdentity, ElevationView } from '../model/elevation.js';
import { samePersonKeys } from './approval-quorum.js';
import {
  notYetEscalatedMessage,
  quorumMetWithEscalation,
  usableGroups,
  waitingGroups,
  wouldCountWithEscalation,
} from './approval-nudges.js';
import { canonicalAddress, sameAddress } from './email-address.js';
import { isFinal } from './elevation-view.js';

/**
 * Approver ids are e-mail addresses, compared in canonical form (ASCII, case-insensitive; see
 * `email-address.ts`). A non-ASCII or malformed address matches nothing, so a look-alike such
 * as `\u212Aate@…` (KELVIN SIGN) is never taken for `kate@…`.
 */
export function sameApprover(a: string, b: string): boolean {
  return sameAddress(a, b);
}

/**
 * Whether an earlier approval came from the person described by `identity`: a shared directory
 * entry or the same `(issuer, subject)`. For approvals recorded before identities were, the
 * issuer and subject of their MFA evidence stand in.
 */
function samePerson(record: ApprovalRecord, identity: ApproverIdentity): boolean {
  const evidence = record.evidence ?? {};
  const earlier = record.identity ?? {
    entries: [],
    ...(typeof evidence['issuer'] === 'string' ? { issuer: evidence['issuer'] } : {}),
    ...(typeof evidence['subject'] === 'string' ? { subject: evidence['subject'] } : {}),
  };
  const keys = new Set(samePersonKeys(earlier));
  return samePersonKeys(identity).some((k) => keys.has(k));
}

/**
 * Why `who` may not approve the elevation now, or undefined when the approval would count. One
 * rule for both places that ask: the workflow's approve validator (which decides) and the
 * server's check before an approver is sent to log in (so nobody logs in for nothing).
 * `groups` are the approver groups `who` was found in; `now` is epoch milliseconds. `identity`,
 * when known, also refuses a second approval by the same person under another address.
 */
export function approvalRefusal(
  view: ElevationView,
  who: string,
  groups: string[],
  ownerMayApprove: boolean,
  now: number,
  identity?: ApproverIdentity,
): { code: RefusalCode; message: string } | undefined {
  if (isFinal(view)) return { code: 'already_ended', message: `the elevation has ended (${view.status})` };
  const approval = view.approval;
  if (view.status !== 'pending_approval' || approval.mode !== 'approvers') {
    return { code: 'not_pending', message: `the elevation is not waiting for approval (${view.status})` };
  }
  if (now >= Date.parse(approval.deadline)) {
    return { code: 'approval_window_closed', message: `the approval window closed at ${approval.deadline}` };
  }
  // Escalation groups count only once the request escalated (`approval-nudges.ts`).
  const found = groups;
  groups = usableGroups(approval, found);
  if (groups.length === 0) {
    const waiting = waitingGroups(approval, found);
    if (waiting.length > 0) {
      return { code: 'not_eligible', message: notYetEscalatedMessage(who, approval, waiting) };
    }
    return { code: 'not_eligible', message: `${who} is not in any approver group of role ${view.roleId}` };
  }
  if (!ownerMayApprove && sameApprover(who, view.owner)) {
    return {
      code: 'owner_may_not_approve',
      message: `${who} owns bot ${view.botId} and may not approve its requests`,
    };
  }
  if (view.approvals.some((r) => sameApprover(r.approver, who))) {
    return { code: 'already_approved', message: `${who} has already approved; each approver counts once` };
  }
  const earlier = identity ? view.approvals.find((r) => samePerson(r, identity)) : undefined;
  if (earlier) {
    return {
      code: 'already_approved',
      message: `${who} is the same person (directory entry or identity-provider account) as ${earlier.approver}, who has already approved; each person counts once`,
    };
  }
  if (quorumMetWithEscalation(approval, view.approvals)) {
    return { code: 'not_pending', message: 'the quorum has already been reached' };
  }
  if (
    !wouldCountWithEscalation(approval, view.approvals, {
      approver: who,
      groups,
      ...(identity ? { identity } : {}),
    })
  ) {
    return {
      code: 'not_needed',
      message: `every approver group ${who} belongs to (${groups.join(', ')}) already has its quorum`,
    };
  }
  return undefined;
}

/** Whether `value` is a well-formed {@link ApproverIdentity} (it arrives in a decision's payload). */
export function isIdentity(value: unknown): value is ApproverIdentity {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Partial<Record<keyof ApproverIdentity, unknown>>;
  return (
    Array.isArray(v.entries) &&
    v.entries.length <= 20 &&
    v.entries.every((e) => typeof e === 'string' && e.length <= 1024) &&
    (v.issuer === undefined || (typeof v.issuer === 'string' && v.issuer.length <= 1024)) &&
    (v.subject === undefined || (typeof v.subject === 'string' && v.subject.length <= 1024))
  );
}

/**
 * What is malformed in a new approval's approver and identity (the validators' stricter checks,
 * which do not run on replay), or undefined.
 */
export function approvalInputProblem(a: Partial<ApproveInput> | undefined): string | undefined {
  const address = canonicalAddress(a?.approver?.id);
  if (!address.ok) return `approver.id: ${address.message}`;
  if (a?.identity !== undefined && !isIdentity(a.identity))
    return 'identity must hold entries (strings) and optionally issuer and subject';
  return undefined;
}
