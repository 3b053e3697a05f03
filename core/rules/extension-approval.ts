/**
 * Approving an extension (`roles[].extend.approval: same-as-request`): who may approve or deny a
 * pending extension, now. One rule for the workflow's validators (which decide) and the server's
 * check before an approver is sent to log in. Pure.
 *
 * An extension is approved like the request was: the same approver groups and quorums (the
 * role's, or the stricter ones the risk score routed the request to), the same exclusions (the
 * bot's owner unless the role allows it, each person once), with MFA. What differs: only the
 * role's own groups (no escalation: the window is short, and an extension that is not approved
 * in time simply does not happen), the approvals counted are the extension's own (approving the
 * request does not approve its extension), and the window closes at the extension's deadline.
 * The rules of {@link approvalRefusal} are applied to the elevation as it would look were the
 * extension the request, so both paths keep one definition of who counts.
 */
import type { RefusalCode } from '../model/decisions.js';
import type { ApproverIdentity, ElevationView } from '../model/elevation.js';
import type { PendingExtension } from '../model/extend.js';
import { approvalRefusal } from './approval-eligibility.js';
import { quorumProgress } from './approval-quorum.js';
import { isFinal } from './elevation-view.js';

/** The elevation as an approval of `pending` sees it: waiting for approvers, with the extension's approvals. */
export function extensionApprovalView(view: ElevationView, pending: PendingExtension): ElevationView {
  return {
    ...view,
    status: 'pending_approval',
    approval: {
      mode: 'approvers',
      quorum: pending.quorum,
      deadline: pending.deadline,
      groups: pending.groups,
    },
    approvals: pending.approvals,
  };
}

/**
 * The pending extension an approval or denial naming `extension` is for, or why there is none:
 * the elevation must be active with exactly that extension waiting.
 */
export function pendingExtensionFor(
  view: ElevationView,
  extension: unknown,
): { pending: PendingExtension } | { code: RefusalCode; message: string } {
  if (typeof extension !== 'number' || !Number.isInteger(extension) || extension < 1) {
    return { code: 'invalid_input', message: 'extension must be the number of the pending extension' };
  }
  if (isFinal(view)) return { code: 'already_ended', message: `the elevation has ended (${view.status})` };
  const pending = view.pendingExtension;
  if (view.status !== 'active' || !pending) {
    return {
      code: 'extension_not_pending',
      message: `no extension of elevation ${view.id} is waiting for approval`,
    };
  }
  if (pending.number !== extension) {
    return {
      code: 'extension_not_pending',
      message: `extension ${extension} of elevation ${view.id} is not the one waiting for approval (extension ${pending.number} is)`,
    };
  }
  return { pending };
}

/**
 * Why `who` may not approve extension `extension` of the elevation now, or undefined when the
 * approval would count. `groups` are the approver groups `who` was found in; `now` is epoch ms.
 */
export function extensionApprovalRefusal(
  view: ElevationView,
  extension: unknown,
  who: string,
  groups: string[],
  ownerMayApprove: boolean,
  now: number,
  identity?: ApproverIdentity,
): { code: RefusalCode; message: string } | undefined {
  const found = pendingExtensionFor(view, extension);
  if (!('pending' in found)) return found;
  const problem = approvalRefusal(
    extensionApprovalView(view, found.pending),
    who,
    groups,
    ownerMayApprove,
    now,
    identity,
  );
  if (problem?.code === 'approval_window_closed') {
    return {
      code: problem.code,
      message: `the extension's approval window closed at ${found.pending.deadline}`,
    };
  }
  return problem;
}

/** Each group's progress and whether the quorum is met, for the extension's approvals so far. */
export function extensionQuorum(
  groups: { name: string; quorum: number }[],
  pending: Pick<PendingExtension, 'approvals'>,
): { met: boolean; groups: PendingExtension['groups'] } {
  return quorumProgress(groups, pending.approvals);
}
