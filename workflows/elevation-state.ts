/**
 * What one elevation workflow knows and the rules that change it: the view its `status` Query
 * answers, the decisions it has accepted, the keys they must be signed with, and every
 * transition from request to revocation. The Update validators are here too, so a refused
 * approval, denial or revocation is decided in one place, with the core's rules
 * (`core/rules/approval-eligibility.ts`, `approval-quorum.ts`, `signed-decision.ts`).
 *
 * Pure: no activities, timers or workflow context. Time comes from the clock it is given (the
 * workflow's deterministic `Date.now`), so unit tests build it directly, without a Temporal
 * server. The workflow (`elevation-workflow.ts`) drives it; the handlers
 * (`elevation-handlers.ts`) feed it the Updates.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import type {
  Actor,
  ApprovalRule,
  CarriedState,
  DecisionTrust,
  ElevationInput,
  ElevationView,
  EndReason,
  GrantReceipt,
  RevokeReceipt,
  RoleSnapshot,
  SlackMessageRef,
} from '../core/model/elevation.js';
import type {
  ApproveInput,
  DecisionKind,
  DenyInput,
  RefusalCode,
  RequestRefusalCode,
  RevokeInput,
  SignedDecision,
} from '../core/model/decisions.js';
import type { EventDataOf, EventPayload } from '../core/model/event-data.js';
import type { GrantHandle } from '../core/model/targets.js';
import { REFUSAL_FAILURE_TYPE } from './definitions.js';
import {
  approvalInputProblem,
  approvalRefusal,
  isIdentity,
  sameApprover,
} from '../core/rules/approval-eligibility.js';
import { quorumProgress, totalQuorum } from '../core/rules/approval-quorum.js';
import { escalationProgress, quorumMetWithEscalation, usableGroups } from '../core/rules/approval-nudges.js';
import type { RoutedRequest } from '../core/rules/risk-routing.js';
import type { RiskDecision } from '../core/model/risk.js';
import { initialView, isFinal } from '../core/rules/elevation-view.js';
import { approvalDeadline } from '../core/rules/scheduled-start.js';
import { decisionClaimsOf, verifyDecision, type DecisionInputs } from '../core/rules/signed-decision.js';

/** The actor of the steps the workflow takes on its own (expiry, grant, revocation). */
export const SYSTEM: Actor = { kind: 'system', id: 'elevate' };

/** Shortest pause between two reloads of the decision keys (they are asked for, not pushed). */
export const RELOAD_INTERVAL_MS = 10_000;

/**
 * Refuses an Update: the caller gets an `ApplicationFailure` of type `UpdateRefused` whose
 * `details[0]` is the {@link RefusalCode}. Thrown by a validator, the attempt never enters history.
 */
export function refuse(code: RefusalCode, message: string, detail?: string): never {
  throw ApplicationFailure.create({
    type: REFUSAL_FAILURE_TYPE,
    message,
    details: detail === undefined ? [code] : [code, detail],
    nonRetryable: true,
  });
}

/** A request to end the elevation early: who asked, what they said, and the reason it ends with. */
export interface RevokeRequest {
  by: Actor;
  comment?: string;
  reason: EndReason;
}

/**
 * A transition to record: the audit event's type, actor and data (the view after it is added
 * when the event is made). One member per type, so `type` narrows `data`.
 */
export type Transition<T extends EventPayload['type'] = EventPayload['type']> = Extract<
  EventPayload,
  { type: T }
> & { actor: Actor };

/** The end of the wait for a decision, one of four. */
export type ApprovalOutcome = Transition<
  'elevation.denied' | 'elevation.revoked' | 'elevation.expired' | 'elevation.approved'
>;

/** An accepted approval: what to record, and whether it completed the quorum. */
export interface AcceptedApproval {
  data: EventDataOf<'approval.accepted'>;
  quorumMet: boolean;
}

/** The state of one elevation and its rules. */
export class ElevationState {
  /** The live view: what the `status` Query answers and every event carries a copy of. */
  readonly view: ElevationView;
  private trusted: DecisionTrust | undefined;
  /** Nonces of the decisions accepted so far: each signed decision counts once. */
  private readonly usedNonces = new Set<string>();
  private lastReload = Number.NEGATIVE_INFINITY;
  private denial: DenyInput | undefined;
  private revokeRequest: RevokeRequest | undefined;
  /** What the grant's receipt said revokes it (opaque here); absent before, or in old histories. */
  private handle: GrantHandle | undefined;
  /** The rule approvals are checked against: the role's, until the risk score routes otherwise. */
  private approvalRule: ApprovalRule;
  /** A bundle's grant handles, one per role in order (null until its receipt carries one). */
  private readonly bundleHandles: (GrantHandle | null)[];

  /**
   * A new elevation from its start input, or the one a run that continued as new carried over.
   * `now` is the clock (epoch milliseconds): the workflow's `Date.now`.
   */
  constructor(
    private readonly input: ElevationInput,
    private readonly now: () => number,
  ) {
    this.view = input.carried?.view ?? initialView(input, now());
    this.trusted = input.carried?.trust;
    this.handle = input.carried?.handle;
    this.approvalRule = input.role.approval;
    this.bundleHandles = input.carried?.bundleHandles ?? input.bundle?.roles.map(() => null) ?? [];
  }

  /** A deep copy of the view, as it is now (for events and Update results). */
  snapshot(): ElevationView {
    return JSON.parse(JSON.stringify(this.view)) as ElevationView;
  }

  /** Whether nothing more will happen to the elevation. */
  isFinal(): boolean {
    return isFinal(this.view);
  }

  private get rule(): ApprovalRule {
    return this.approvalRule;
  }

  /** The role as it applies to this request: the policy's, with the approval rule the score routed to. */
  get role(): RoleSnapshot {
    return this.approvalRule === this.input.role.approval
      ? this.input.role
      : { ...this.input.role, approval: this.approvalRule };
  }

  // ---- the risk score -----------------------------------------------------------------------

  /**
   * Applies the score's route: the view carries the decision, and when the route changed the
   * approval rule (escalated), approvals are checked against the new one from here on. An
   * automatic role's request that now needs approval waits for it from now, for the escalation
   * window; a role with approvers keeps its deadline and gains a group.
   */
  route(routed: RoutedRequest): void {
    this.view.risk = routed.decision;
    if (routed.approval === this.approvalRule || routed.approval.mode !== 'approvers') return;
    const groups = routed.approval.groups;
    const deadline =
      this.view.approval.mode === 'approvers'
        ? this.view.approval.deadline
        : new Date(approvalDeadline(this.input, this.now(), routed.approval.windowSeconds)).toISOString();
    this.approvalRule = routed.approval;
    this.view.status = 'pending_approval';
    const escalation = this.view.approval.mode === 'approvers' ? this.view.approval.escalation : undefined;
    this.view.approval = {
      mode: 'approvers',
      quorum: totalQuorum(groups),
      deadline,
      groups: quorumProgress(groups, this.view.approvals).groups,
      ...(escalation ? { escalation } : {}),
    };
  }

  /** The score denied the request: it ends `denied`; returns what `elevation.denied` records. */
  deniedByRisk(decision: RiskDecision): EventDataOf<'elevation.denied'> {
    this.view.risk = decision;
    this.end('denied', 'denied');
    return { reason: `risk score: ${decision.routeReason}`, risk: decision };
  }

  private isoNow(): string {
    return new Date(this.now()).toISOString();
  }

  private end(status: ElevationView['status'], reason: EndReason): void {
    this.view.status = status;
    this.view.endReason = reason;
    this.view.endedAt = this.isoNow();
  }

  // ---- signed decisions and their keys ------------------------------------------------------

  /** The public keys decisions must be signed with (absent in runs started before signing). */
  get trust(): DecisionTrust | undefined {
    return this.trusted;
  }

  /** Trust these keys from now on (checked at the start, or reloaded). */
  useTrust(trust: DecisionTrust): void {
    this.trusted = trust;
  }

  /**
   * A decision's input, from a token whose signature holds: what a validator may look at.
   * Throws `DecisionRefusal` (`core/rules/signed-decision.ts`) when it does not hold.
   */
  verified<K extends DecisionKind>(kind: K, arg: unknown): DecisionInputs[K] {
    return verifyDecision(arg as SignedDecision | undefined, {
      keys: this.trusted?.keys ?? [],
      elevationId: this.input.elevationId,
      decision: kind,
      now: this.now(),
      used: this.usedNonces,
    }).input;
  }

  /**
   * A decision's input in its handler, which runs only after the validator accepted it (or on
   * replay, where validators do not run). Its nonce is spent here. Histories recorded before
   * decisions were signed carry the bare input, which is what the code of that time read.
   */
  accepted<K extends DecisionKind>(arg: unknown): DecisionInputs[K] {
    const token = (arg as Partial<SignedDecision> | undefined)?.token;
    if (typeof token !== 'string') return arg as DecisionInputs[K];
    const claims = decisionClaimsOf<K>(token);
    this.usedNonces.add(claims.nonce);
    return claims.input;
  }

  /** The reload validator: refuses a reload less than {@link RELOAD_INTERVAL_MS} after the last. */
  checkReload(): void {
    if (this.now() - this.lastReload < RELOAD_INTERVAL_MS) {
      refuse('invalid_input', 'the decision keys were reloaded less than 10 seconds ago');
    }
  }

  /** A reload has begun (the interval counts from here, whatever the load takes). */
  reloadStarted(): void {
    this.lastReload = this.now();
  }

  // ---- approvals ------------------------------------------------------------------------------

  /**
   * The groups among `claimed` that `who` may act for. The server looks membership up (policy
   * lists, LDAP groups and on-call schedules); a policy list is checked again here against the
   * role as it was when the bot asked, so a list can never be widened after the request.
   */
  eligibleGroups(who: string, claimed: unknown): string[] {
    const rule = this.rule;
    if (rule.mode !== 'approvers' || !Array.isArray(claimed)) return [];
    // Escalation groups are listed too: `approvalRefusal` refuses them until the request escalated.
    return [...rule.groups, ...(rule.escalation?.groups ?? [])]
      .filter((g) => claimed.includes(g.name))
      .filter(
        (g) =>
          g.ldapGroupDn !== undefined ||
          g.oncall !== undefined ||
          (g.members ?? []).some((m) => sameApprover(m, who)),
      )
      .map((g) => g.name);
  }

  /** Throws a refusal when this approval must not count (checked again by the handler). */
  checkApproval(a: ApproveInput): void {
    if (typeof a?.approver?.id !== 'string' || a.approver.id.trim() === '' || a.approver.id.length > 320) {
      refuse('invalid_input', 'approver.id must be a non-empty string');
    }
    const who = a.approver.id;
    const ownerMayApprove = this.rule.mode === 'approvers' && this.rule.ownerMayApprove;
    // `identity` is checked only when the approval carries one, so approvals recorded before
    // it existed replay exactly as they were decided.
    const identity = isIdentity(a.identity) ? a.identity : undefined;
    const problem = approvalRefusal(
      this.view,
      who,
      this.eligibleGroups(who, a.groups),
      ownerMayApprove,
      this.now(),
      identity,
    );
    if (problem) refuse(problem.code, problem.message);
  }

  /** The approve validator: {@link checkApproval} and stricter checks on new approvals (validators do not run on replay). */
  validateApproval(a: ApproveInput): void {
    const problem = approvalInputProblem(a);
    if (problem) refuse('invalid_input', problem);
    this.checkApproval(a);
  }

  /**
   * Counts an approval (checked again: a timer or another update may have been handled since
   * validation) and updates each group's progress.
   */
  approve(a: ApproveInput): AcceptedApproval {
    this.checkApproval(a);
    const approver = a.approver.id.trim().toLowerCase();
    const found = this.eligibleGroups(approver, a.groups);
    const groups = this.view.approval.mode === 'approvers' ? usableGroups(this.view.approval, found) : found;
    const identity = isIdentity(a.identity) ? { identity: a.identity } : {};
    this.view.approvals.push({
      approver,
      at: this.isoNow(),
      groups,
      ...(a.evidence ? { evidence: a.evidence } : {}),
      ...identity,
    });
    const rule = this.rule;
    const progress = rule.mode === 'approvers' ? quorumProgress(rule.groups, this.view.approvals) : undefined;
    if (progress && this.view.approval.mode === 'approvers') this.view.approval.groups = progress.groups;
    const escalation = this.view.approval.mode === 'approvers' ? this.view.approval.escalation : undefined;
    if (escalation && rule.mode === 'approvers' && rule.escalation)
      escalation.groups = escalationProgress(rule.escalation.groups, this.view.approvals);
    return {
      data: {
        approver,
        groups,
        evidence: a.evidence ?? null,
        ...identity,
        comment: a.comment ?? null,
        count: this.view.approvals.length,
        progress: progress?.groups ?? [],
        ...(escalation?.escalatedAt !== undefined ? { escalationProgress: escalation.groups } : {}),
      },
      quorumMet: this.quorumMet(),
    };
  }

  /**
   * Whether the approvals so far meet every group's quorum (or, once the request escalated, every
   * escalation group's: `approval-nudges.ts`).
   */
  quorumMet(): boolean {
    const rule = this.rule;
    if (rule.mode !== 'approvers') return false;
    if (quorumProgress(rule.groups, this.view.approvals).met) return true;
    const approval = this.view.approval;
    return approval.mode === 'approvers' && quorumMetWithEscalation(approval, this.view.approvals);
  }

  // ---- reminders and escalation -------------------------------------------------------------

  /**
   * The escalation timer fired without quorum: the escalation groups may approve from now on.
   * Returns what `approval.escalated` records (undefined when there is nothing to escalate).
   */
  escalate(): EventDataOf<'approval.escalated'> | undefined {
    const rule = this.rule;
    const approval = this.view.approval;
    if (rule.mode !== 'approvers' || !rule.escalation || approval.mode !== 'approvers') return undefined;
    const groups = escalationProgress(rule.escalation.groups, this.view.approvals);
    approval.escalation = {
      dueAt: approval.escalation?.dueAt ?? this.isoNow(),
      escalatedAt: this.isoNow(),
      groups,
    };
    return {
      groups: rule.escalation.groups.map((g) => g.name),
      afterSeconds: rule.escalation.afterSeconds,
      approvals: this.view.approvals.length,
      progress: approval.groups,
      escalationProgress: groups,
      deadline: approval.deadline,
    };
  }

  /** What `approval.reminded` records for reminder `number` (`secondsLeft` in the window). */
  reminded(number: number, secondsLeft: number): EventDataOf<'approval.reminded'> {
    const approval = this.view.approval;
    return {
      number,
      secondsLeft,
      approvals: this.view.approvals.length,
      progress: approval.mode === 'approvers' ? approval.groups : [],
      escalated: approval.mode === 'approvers' && approval.escalation?.escalatedAt !== undefined,
      deadline: approval.mode === 'approvers' ? approval.deadline : this.isoNow(),
    };
  }

  // ---- denial and revocation ------------------------------------------------------------------

  /** The deny validator (checked again by the handler). */
  checkDenial(d: DenyInput): void {
    if (typeof d?.reason !== 'string' || d.reason.trim() === '')
      refuse('invalid_input', 'reason is required');
    if (isFinal(this.view)) refuse('already_ended', `the elevation has ended (${this.view.status})`);
    if (this.view.status !== 'pending_approval')
      refuse('not_pending', `the elevation is ${this.view.status}`);
    if (d.by?.kind === 'human') {
      const eligible =
        this.eligibleGroups(d.by.id, d.groups).length > 0 || sameApprover(d.by.id, this.input.bot.owner);
      if (!eligible) refuse('not_eligible', `${d.by.id} is not an approver for role ${this.input.role.id}`);
    } else if (d?.by?.kind !== 'admin') {
      refuse('invalid_input', 'only approvers and admins may deny');
    }
  }

  /** Takes a denial; the first one decides. */
  deny(d: DenyInput): void {
    this.checkDenial(d);
    this.denial ??= d;
  }

  /** The revoke validator (checked again by the handler). */
  checkRevoke(r: RevokeInput): void {
    if (r?.by?.kind !== 'bot' && r?.by?.kind !== 'admin')
      refuse('invalid_input', 'only the bot or an admin may revoke');
    if (isFinal(this.view) && this.view.status !== 'revoked')
      refuse('already_ended', `the elevation has ended (${this.view.status})`);
  }

  /**
   * Takes a request to end the elevation early. A revocation already under way (expiry, an
   * earlier request) is not started twice; asking again once revoked is answered, not refused.
   */
  requestRevoke(r: RevokeInput): void {
    this.checkRevoke(r);
    if (!this.revokeRequest && this.view.status !== 'revoking' && !isFinal(this.view)) {
      this.revokeRequest = {
        by: r.by,
        reason: r.by.kind === 'bot' ? 'given_back' : 'admin_revoked',
        ...(r.reason !== undefined ? { comment: r.reason } : {}),
      };
    }
  }

  /**
   * The workflow itself ends the elevation early (a break-glass review missed its deadline,
   * `break-glass.ts`): not a decision anyone sent, so no validator; recorded as the end of the
   * window (`expired`) with `comment` saying why.
   */
  endWindowEarly(by: Actor, comment: string): void {
    if (!this.revokeRequest && this.view.status !== 'revoking' && !isFinal(this.view)) {
      this.revokeRequest = { by, reason: 'expired', comment };
    }
  }

  /** The request to end the elevation early, once one was taken. */
  revocationRequested(): RevokeRequest | undefined {
    return this.revokeRequest;
  }

  /**
   * A scheduled elevation was revoked before its start: it ends `revoked` with nothing granted,
   * as a request withdrawn while pending does (`withdrawn` by its bot, `admin_revoked` by an
   * admin). Returns what to record; undefined when no revocation was asked for.
   */
  endBeforeStart(): Transition<'elevation.revoked'> | undefined {
    const request = this.revokeRequest;
    if (!request) return undefined;
    const reason = request.by.kind === 'bot' ? 'withdrawn' : 'admin_revoked';
    this.end('revoked', reason);
    return {
      type: 'elevation.revoked',
      actor: request.by,
      data: { reason, comment: request.comment ?? null, granted: false },
    };
  }

  /** Whether a revocation is under way or the elevation has ended (a revoke Update may answer). */
  revokingOrEnded(): boolean {
    return this.view.status === 'revoking' || isFinal(this.view);
  }

  // ---- the path ---------------------------------------------------------------------------------

  /** The workflow was not started by Elevate's API: it ends `failed` before anything happens. */
  refuseUnverified(message: string, code?: RequestRefusalCode): void {
    // A signature dated outside the window is the API's, on a clock that is off: say so, not "unsigned".
    this.view.lastError =
      code === 'stale'
        ? `request refused by the worker: ${message}`
        : `request not signed by Elevate's API: ${message}`;
    this.end('failed', 'request_unverified');
  }

  /**
   * Ends the elevation `failed` when its duration is outside what the role allows, and says
   * why (the server refuses these; the workflow does not trust its input blindly either).
   */
  failOnBadDuration(): string | undefined {
    const { durationSeconds, role } = this.input;
    if (durationSeconds >= 1 && durationSeconds <= role.maxDurationSeconds) return undefined;
    this.view.lastError = `durationSeconds ${durationSeconds} is outside 1..${role.maxDurationSeconds}`;
    this.end('failed', 'grant_failed');
    return this.view.lastError;
  }

  /** Milliseconds left in the approval window (at least 1, a timer's shortest). */
  approvalTimeLeft(): number {
    const approval = this.view.approval;
    const deadline = approval.mode === 'approvers' ? Date.parse(approval.deadline) : this.now();
    return Math.max(deadline - this.now(), 1);
  }

  /** Whether the wait for a decision is over: quorum met, denied, or withdrawn. */
  decisionArrived(): boolean {
    return this.quorumMet() || this.denial !== undefined || this.revokeRequest !== undefined;
  }

  /**
   * Ends the wait for a decision: denied (a denial wins), withdrawn or revoked by an admin,
   * expired (`decided` false: the window closed first), or approved. Returns what to record.
   */
  closeApproval(decided: boolean): ApprovalOutcome {
    const { denial, revokeRequest } = this;
    if (denial) {
      this.end('denied', 'denied');
      return { type: 'elevation.denied', actor: denial.by, data: { reason: denial.reason } };
    }
    if (revokeRequest) {
      const reason = revokeRequest.by.kind === 'bot' ? 'withdrawn' : 'admin_revoked';
      this.end('revoked', reason);
      return {
        type: 'elevation.revoked',
        actor: revokeRequest.by,
        data: { reason, comment: revokeRequest.comment ?? null, granted: false },
      };
    }
    if (!decided) {
      this.end('expired', 'approval_timeout');
      return {
        type: 'elevation.expired',
        actor: SYSTEM,
        data: {
          approvals: this.view.approvals.length,
          progress: this.view.approval.mode === 'approvers' ? this.view.approval.groups : [],
        },
      };
    }
    this.view.status = 'approved';
    return {
      type: 'elevation.approved',
      actor: SYSTEM,
      data: { approvers: this.view.approvals.map((a) => a.approver) },
    };
  }

  /** The grant failed for good (`error` as `type: message`); the revocation follows. */
  grantFailed(error: { type: string; message: string }): void {
    this.view.lastError = `${error.type}: ${error.message}`;
  }

  /**
   * The target confirmed the grant: active from now for the requested duration, or until
   * `expiresAt` when the worker's expiry revoker set the end (from its read-back). `handle` is
   * what its receipt says revokes it (receipts recorded before handles existed have none).
   */
  activate(handle?: GrantHandle, expiresAt?: string): void {
    this.handle = handle;
    const now = this.now();
    this.view.status = 'active';
    const ends = expiresAt ? Date.parse(expiresAt) : now + this.input.durationSeconds * 1000;
    this.view.grantedAt = new Date(ends - this.input.durationSeconds * 1000).toISOString();
    this.view.expiresAt = new Date(ends).toISOString();
  }

  /** Milliseconds until an active elevation expires (at least 1, a timer's shortest). */
  activeTimeLeft(): number {
    return Math.max(Date.parse(this.view.expiresAt ?? '') - this.now(), 1);
  }

  /**
   * The grant's handle for the revocation: undefined when no receipt carried one (none yet, a
   * grant that never answered, a history recorded before handles), and the target derives it.
   */
  grantHandle(): GrantHandle | undefined {
    return this.handle;
  }

  // ---- a bundle's grants (`role-bundle.ts`) ----------------------------------------------------

  private bundleGrantView(index: number) {
    const grant = this.view.bundle?.grants[index];
    if (!grant) throw new Error(`the bundle has no role at ${index}`);
    return grant;
  }

  /** Role `index` of the bundle is being granted. */
  bundleGranting(index: number): void {
    this.bundleGrantView(index).status = 'granting';
  }

  /** The target confirmed role `index`'s grant: its receipt's handle revokes it. */
  bundleGranted(index: number, receipt: GrantReceipt): void {
    const grant = this.bundleGrantView(index);
    grant.status = 'granted';
    grant.grantedAt = receipt.verifiedAt;
    this.bundleHandles[index] = receipt.handle ?? null;
  }

  /**
   * Role `index`'s grant failed for good: the bundle is not granted (the roles granted before it
   * are revoked next, and the elevation ends `failed`).
   */
  bundleGrantFailed(index: number, error: { type: string; message: string }): void {
    const grant = this.bundleGrantView(index);
    grant.status = 'failed';
    const before = index === 0 ? 'no other role was granted' : 'the roles granted before it are revoked';
    this.view.lastError = `bundle ${this.input.bundle?.id}: role ${grant.roleId} could not be granted (${error.type}: ${error.message}); ${before}`;
  }

  /** Role `index`'s revocation was read back (a role whose grant failed stays `failed`). */
  bundleRevoked(index: number, receipt: RevokeReceipt): void {
    const grant = this.bundleGrantView(index);
    if (grant.status === 'failed') return;
    grant.status = 'revoked';
    grant.revokedAt = receipt.verifiedAt;
  }

  /** The bundle's roles the grant reached (granted, being granted or failed): what is revoked. */
  bundleReached(): number[] {
    return (this.view.bundle?.grants ?? []).flatMap((g, i) => (g.status === 'pending' ? [] : [i]));
  }

  /** Role `index`'s grant handle (undefined: the target derives it). */
  bundleHandle(index: number): GrantHandle | undefined {
    return this.bundleHandles[index] ?? undefined;
  }

  /** The revocation begins (or, in a run that continued as new, goes on). */
  startRevoking(reason: EndReason): void {
    this.view.status = 'revoking';
    this.view.endReason = reason;
  }

  /** A revocation round failed: shown to operators until one succeeds. */
  revokeFailed(attempts: number, error: { type: string; message: string }): void {
    this.view.revokeAttempts = attempts;
    this.view.lastError = `${error.type}: ${error.message}`;
  }

  /** The target confirmed the revocation: `failed` after a failed grant, `revoked` otherwise. */
  revoked(reason: EndReason): 'elevation.failed' | 'elevation.revoked' {
    const failed = reason === 'grant_failed';
    this.end(failed ? 'failed' : 'revoked', reason);
    return failed ? 'elevation.failed' : 'elevation.revoked';
  }

  /** What the next run needs to carry a revocation on after continue-as-new. */
  carriedOver(
    revoke: { reason: EndReason; startedAt: string; attempts: number },
    messages: SlackMessageRef[],
  ): CarriedState {
    return {
      view: this.snapshot(),
      revokeReason: revoke.reason,
      revokeStartedAt: revoke.startedAt,
      revokeAttempts: revoke.attempts,
      messages,
      ...(this.trusted ? { trust: this.trusted } : {}),
      ...(this.handle ? { handle: this.handle } : {}),
      ...(this.input.bundle ? { bundleHandles: [...this.bundleHandles] } : {}),
    };
  }
}
