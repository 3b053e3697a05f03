/**
 * Extensions that go back to the approvers (`roles[].extend.approval: same-as-request`), inside
 * the elevation's workflow: the pending extension, its approvals and denial, and how it closes.
 *
 * The `extend` Update of such a role does not move the window: it records `extension.requested`,
 * puts the extension in `view.pendingExtension` and asks the approvers in Slack, and answers at
 * once (the API says 202). Approvals and denials arrive as the request's did (approve and deny
 * Updates, signed by the API, with MFA evidence), naming the extension's number, so a decision
 * made for the request or another extension never counts for this one. Who may approve is the
 * pure rule `core/rules/extension-approval.ts`. The approval that meets the quorum puts the
 * extension in force (`Extensions.put`), as an extension without approval is, and answers once
 * it is. An extension not approved by its deadline, or when the elevation ends first, closes
 * `expired`; the window never moves without the quorum.
 */
import type { Actor, ElevationView } from '../core/model/elevation.js';
import type { ApproveInput, DenyInput } from '../core/model/decisions.js';
import type { ExtendInput, ExtensionClosedOutcome, PendingExtension } from '../core/model/extend.js';
import { approvalInputProblem, isIdentity, sameApprover } from '../core/rules/approval-eligibility.js';
import { totalQuorum } from '../core/rules/approval-quorum.js';
import {
  extensionApprovalRefusal,
  extensionQuorum,
  pendingExtensionFor,
} from '../core/rules/extension-approval.js';
import type { AuditQueue } from './audit-queue.js';
import type { NotifyQueue } from './notify-queue.js';
import { refuse, type ElevationState } from './elevation-state.js';

/** The approvers' side of one elevation's extensions. */
export class ExtensionApprovals {
  /** Extensions asked of the approvers so far: the next one's number is one more. */
  private asked = 0;
  /** The pending extension met its quorum and is being put in force: its deadline no longer applies. */
  private approving = false;

  constructor(
    private readonly state: ElevationState,
    private readonly audit: AuditQueue,
    private readonly notify: NotifyQueue,
  ) {}

  /** The extension waiting for approvers, if any (also while it is being put in force). */
  get pending(): PendingExtension | undefined {
    return this.state.view.pendingExtension;
  }

  /** The extension waiting for approvers whose deadline still applies (not yet approved). */
  waiting(): PendingExtension | undefined {
    return this.approving ? undefined : this.pending;
  }

  /** The role's approval rule, which an extension asks again (never `auto`: the policy refuses it). */
  private rule() {
    const rule = this.state.role.approval;
    if (rule.mode !== 'approvers') {
      refuse(
        'extension_not_allowed',
        `role ${this.state.view.roleId} has no approvers to ask for an extension`,
        'role',
      );
    }
    return rule;
  }

  /** Refuses another extension while one waits for approvers. */
  checkNoneWaiting(): void {
    const p = this.pending;
    if (p) {
      refuse(
        'extension_in_progress',
        `extension ${p.number} of this elevation is waiting for approvers until ${p.deadline}; ask again once it is decided`,
      );
    }
  }

  /**
   * Asks the approvers for `input` (already checked against the role's caps): the extension
   * waits until the role's approval window has passed, and at the latest until the window ends.
   */
  async ask(input: ExtendInput): Promise<ElevationView> {
    const rule = this.rule();
    const view = this.state.view;
    const now = Date.now();
    const deadline = new Date(
      Math.min(Date.parse(view.expiresAt!), now + rule.windowSeconds * 1000),
    ).toISOString();
    const progress = extensionQuorum(rule.groups, { approvals: [] });
    this.asked += 1;
    const pending: PendingExtension = {
      number: this.asked,
      durationSeconds: input.durationSeconds,
      requestedBy: input.by,
      ...(input.justification !== undefined ? { justification: input.justification } : {}),
      requestedAt: new Date(now).toISOString(),
      deadline,
      quorum: totalQuorum(rule.groups),
      groups: progress.groups,
      approvals: [],
    };
    view.pendingExtension = pending;
    await this.audit.recordBeforeNextStep(
      this.audit.event('extension.requested', input.by, {
        number: pending.number,
        durationSeconds: pending.durationSeconds,
        justification: input.justification ?? null,
        requestedBy: input.by,
        deadline,
        quorum: pending.quorum,
        progress: pending.groups,
      }),
    );
    this.notify.publish('extension.requested');
    return this.state.snapshot();
  }

  /** The groups among those `who` was found in that are the role's own (an extension does not escalate). */
  private ownGroups(who: string, claimed: unknown): string[] {
    const own = new Set(this.rule().groups.map((g) => g.name));
    return this.state.eligibleGroups(who, claimed).filter((g) => own.has(g));
  }

  /** Throws a refusal when `a` must not count for the pending extension (checked again by the handler). */
  checkApproval(a: ApproveInput): void {
    if (typeof a?.approver?.id !== 'string' || a.approver.id.trim() === '' || a.approver.id.length > 320) {
      refuse('invalid_input', 'approver.id must be a non-empty string');
    }
    const rule = this.rule();
    const who = a.approver.id;
    const identity = isIdentity(a.identity) ? a.identity : undefined;
    const problem = extensionApprovalRefusal(
      this.state.view,
      a.extension,
      who,
      this.ownGroups(who, a.groups),
      rule.ownerMayApprove,
      Date.now(),
      identity,
    );
    if (problem) refuse(problem.code, problem.message, 'extension');
    if (this.approving) refuse('not_pending', 'the extension has its quorum and is being put in force');
  }

  /** The approve validator for an extension (stricter checks on new approvals, as for the request). */
  validateApproval(a: ApproveInput): void {
    const problem = approvalInputProblem(a);
    if (problem) refuse('invalid_input', problem);
    this.checkApproval(a);
  }

  /**
   * Counts an approval of the pending extension and records it; returns the extension to put in
   * force when this approval met the quorum (its deadline no longer applies from here).
   */
  async approve(
    a: ApproveInput,
  ): Promise<{ extension: ExtendInput; number: number; approvers: string[] } | undefined> {
    this.checkApproval(a);
    const pending = this.pending!;
    const rule = this.rule();
    const approver = a.approver.id.trim().toLowerCase();
    const groups = this.ownGroups(approver, a.groups);
    const identity = isIdentity(a.identity) ? { identity: a.identity } : {};
    pending.approvals.push({
      approver,
      at: new Date().toISOString(),
      groups,
      ...(a.evidence ? { evidence: a.evidence } : {}),
      ...identity,
    });
    const progress = extensionQuorum(rule.groups, pending);
    pending.groups = progress.groups;
    if (progress.met) this.approving = true;
    await this.audit.recordBeforeNextStep(
      this.audit.event(
        'approval.accepted',
        { kind: 'human', id: approver },
        {
          approver,
          groups,
          evidence: a.evidence ?? null,
          ...identity,
          comment: a.comment ?? null,
          count: pending.approvals.length,
          progress: progress.groups,
          extension: pending.number,
        },
      ),
    );
    this.notify.publish('approval.accepted');
    if (!progress.met) return undefined;
    return {
      extension: {
        by: pending.requestedBy,
        durationSeconds: pending.durationSeconds,
        ...(pending.justification !== undefined ? { justification: pending.justification } : {}),
      },
      number: pending.number,
      approvers: pending.approvals.map((r) => r.approver),
    };
  }

  /** The deny validator for an extension: an approver of the role, the bot's owner, or an admin. */
  checkDenial(d: DenyInput): void {
    if (typeof d?.reason !== 'string' || d.reason.trim() === '')
      refuse('invalid_input', 'reason is required');
    const found = pendingExtensionFor(this.state.view, d.extension);
    if (!('pending' in found)) refuse(found.code, found.message, 'extension');
    if (this.approving) refuse('not_pending', 'the extension has its quorum and is being put in force');
    if (d.by?.kind === 'human') {
      const eligible =
        this.ownGroups(d.by.id, d.groups).length > 0 || sameApprover(d.by.id, this.state.view.owner);
      if (!eligible)
        refuse('not_eligible', `${d.by.id} is not an approver for role ${this.state.view.roleId}`);
    } else if (d?.by?.kind !== 'admin') {
      refuse('invalid_input', 'only approvers and admins may deny');
    }
  }

  /** Denies the pending extension: it closes, and the window stays as it is. */
  async deny(d: DenyInput): Promise<ElevationView> {
    this.checkDenial(d);
    await this.close('denied', d.by, d.reason.trim());
    return this.state.snapshot();
  }

  /**
   * Closes the pending extension without moving the window (recorded as `extension.closed`, the
   * thread told). Nothing when none is pending.
   */
  async close(outcome: ExtensionClosedOutcome, by: Actor, reason: string | null): Promise<void> {
    const pending = this.pending;
    if (!pending) return;
    delete this.state.view.pendingExtension;
    this.approving = false;
    await this.audit.recordBeforeNextStep(
      this.audit.event('extension.closed', by, {
        number: pending.number,
        outcome,
        durationSeconds: pending.durationSeconds,
        reason,
        approvals: pending.approvals.length,
        deadline: pending.deadline,
      }),
    );
    // The owner is told too: the bot asked for more time and will not get it.
    this.notify.publish('extension.closed', true, {
      closedExtension: {
        number: pending.number,
        outcome,
        durationSeconds: pending.durationSeconds,
        by,
        reason,
        approvals: pending.approvals.length,
      },
    });
  }

  /** The pending extension was put in force: it is no longer pending. */
  granted(): void {
    delete this.state.view.pendingExtension;
    this.approving = false;
  }
}
