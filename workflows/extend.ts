/**
 * Extending an active elevation, inside its workflow: the `extend` Update's validator and
 * handler, and the wait that holds the grant until its (possibly moved) end.
 *
 * An extension is checked by the role's rule as the elevation started with it (the role
 * snapshot's `extend`, `core/rules/extend.ts`), once in the validator (a refused attempt never
 * enters history) and again in the handler, since the window may have ended in between. The
 * handler has the worker move the expiry revoker's due time first (`extendGrant`), then moves
 * the workflow's own end, records `elevation.extended` and tells Slack. One extension at a time;
 * if the window ends while one is being made, the elevation expires as usual and the extension
 * is refused.
 *
 * A role whose extensions go back to the approvers (`approval: same-as-request`) puts the
 * extension before them instead (`extension-approval.ts`), and the approval that meets the
 * quorum puts it in force the same way.
 *
 * Runs started before extensions existed (`patched('extend')` false) refuse every extension and
 * hold the grant exactly as they did; runs started before extensions could be approved
 * (`patched('extend-approval')`, asked only of roles that need it) refuse those.
 */
import { ApplicationFailure, condition, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../core/ports/activities.js';
import type { ElevationInput, ElevationView } from '../core/model/elevation.js';
import type { ApproveInput, DenyInput } from '../core/model/decisions.js';
import type { ExtendInput } from '../core/model/extend.js';
import { extendedEnd, extensionRefusal, lifetimeAfter } from '../core/rules/extend.js';
import type { AuditQueue } from './audit-queue.js';
import type { NotifyQueue } from './notify-queue.js';
import { refuse, type ElevationState } from './elevation-state.js';
import { errorSummary } from './error-summary.js';
import { ExtensionApprovals } from './extension-approval.js';
import { SYSTEM } from './elevation-state.js';

/** Moving the revokers' due time is a store write and a timer: quick, retried for a minute. */
const { extendGrant } = proxyActivities<Activities>({
  startToCloseTimeout: '15s',
  scheduleToCloseTimeout: '60s',
  retry: { initialInterval: '300ms', backoffCoefficient: 2, maximumInterval: '5s' },
});

/** `ApplicationFailure.type` of an extension the worker could not put in force (a 503 for the caller). */
export const EXTEND_FAILED_TYPE = 'ExtendFailed';

/** The extensions of one elevation. */
export class Extensions {
  private enabled = false;
  private approvalsEnabled = false;
  private inFlight = false;
  private readonly approvals: ExtensionApprovals;

  constructor(
    private readonly input: ElevationInput,
    private readonly state: ElevationState,
    private readonly audit: AuditQueue,
    private readonly notify: NotifyQueue,
  ) {
    this.approvals = new ExtensionApprovals(state, audit, notify);
  }

  /**
   * Whether this run may extend, and extend with approvers (decided in its first activation, with
   * the other patches).
   */
  enable(on: boolean, withApprovers = false): void {
    this.enabled = on;
    this.approvalsEnabled = on && withApprovers;
  }

  /** Whether the role's extensions go back to the approvers. */
  private get needsApprovers(): boolean {
    return this.state.role.extend?.approval === 'same-as-request';
  }

  /** The validator (and the handler's recheck): throws a refusal when `input` may not extend now. */
  check(input: ExtendInput): void {
    if (!this.enabled) {
      refuse('extension_not_allowed', 'this elevation started before extensions existed', 'role');
    }
    if (this.input.bundle) {
      // Its grants are not on the worker's expiry revoker, which moves one grant's end: a bundle
      // is asked for again instead (`role-bundle.ts`).
      refuse(
        'extension_not_allowed',
        `bundle ${this.input.bundle.id}'s elevations cannot be extended; request the bundle again`,
        'bundle',
      );
    }
    const problem = extensionRefusal(this.state.view, this.state.role.extend, input);
    if (problem) refuse(problem.code, problem.message, problem.field);
    if (this.needsApprovers && !this.approvalsEnabled) {
      refuse(
        'extension_not_allowed',
        'this elevation started before extensions could be sent to approvers; request a new elevation',
        'role',
      );
    }
    this.approvals.checkNoneWaiting();
    if (this.inFlight) {
      refuse('extension_in_progress', 'another extension of this elevation is being made; try again');
    }
  }

  /**
   * The handler: moves the end everywhere, records it, and answers with the view; or, for a role
   * whose extensions need approval, asks the approvers and answers with the pending extension.
   */
  async extend(input: ExtendInput): Promise<ElevationView> {
    this.check(input);
    if (this.needsApprovers) return this.approvals.ask(input);
    return this.put(input);
  }

  /** Whether an approve or deny Update is for an extension (it names one) rather than the request. */
  static forExtension(d: { extension?: unknown } | undefined): boolean {
    return d?.extension !== undefined;
  }

  /** The approve validator of an extension's approval. */
  validateApproval(a: ApproveInput): void {
    if (!this.approvalsEnabled)
      refuse('extension_not_pending', 'no extension of this elevation waits for approvers');
    this.approvals.validateApproval(a);
  }

  /**
   * The approve handler of an extension's approval: counts it, and the one that meets the quorum
   * puts the extension in force before answering (or closes it, when it can no longer be).
   */
  async approve(a: ApproveInput): Promise<ElevationView> {
    const approved = await this.approvals.approve(a);
    if (!approved) return this.state.snapshot();
    this.inFlight = true;
    try {
      const view = this.state.view;
      if (view.status !== 'active') {
        await this.approvals.close('expired', SYSTEM, `the elevation ended first (${view.status})`);
        return this.state.snapshot();
      }
      return await this.put(approved.extension, { number: approved.number, approvers: approved.approvers });
    } catch (err) {
      const ended = this.state.view.status !== 'active';
      await this.approvals.close(ended ? 'expired' : 'failed', SYSTEM, errorSummary(err).message);
      return this.state.snapshot();
    } finally {
      this.inFlight = false;
    }
  }

  /** The deny validator of an extension's denial. */
  checkDenial(d: DenyInput): void {
    if (!this.approvalsEnabled)
      refuse('extension_not_pending', 'no extension of this elevation waits for approvers');
    this.approvals.checkDenial(d);
  }

  /** The deny handler of an extension's denial: it closes, the window stays. */
  denyExtension(d: DenyInput): Promise<ElevationView> {
    return this.approvals.deny(d);
  }

  /**
   * Moves the end everywhere and records it (`approved`: the approvers' extension and who approved
   * it). Throws a refusal when the window ended while the worker moved the revoker.
   */
  private async put(
    input: ExtendInput,
    approved?: { number: number; approvers: string[] },
  ): Promise<ElevationView> {
    this.inFlight = true;
    try {
      const view = this.state.view;
      const from = view.expiresAt!;
      const to = extendedEnd(view, input.durationSeconds);
      const handle = this.state.grantHandle();
      let rescheduled: boolean;
      try {
        ({ rescheduled } = await extendGrant({
          elevationId: this.input.elevationId,
          target: this.input.role.target,
          principal: this.input.bot.principal,
          durationSeconds: this.input.durationSeconds,
          ...(this.input.role.extend ? { extendable: true } : {}),
          ...(handle ? { handle } : {}),
          previousExpiresAt: from,
          expiresAt: to,
        }));
      } catch (err) {
        const error = errorSummary(err);
        throw ApplicationFailure.create({
          type: EXTEND_FAILED_TYPE,
          message: `the extension could not be put in force: ${error.type}: ${error.message}`,
          nonRetryable: true,
        });
      }
      // The window may have ended while the worker moved the revoker: then it stays ended.
      if (view.status !== 'active' || view.expiresAt !== from) {
        refuse('not_active', `the elevation's window ended first (${view.status})`);
      }
      const rule = this.state.role.extend!;
      const lifetimeSeconds = lifetimeAfter(view, input.durationSeconds);
      view.expiresAt = to;
      view.extensions = (view.extensions ?? 0) + 1;
      view.extendedSeconds = (view.extendedSeconds ?? 0) + input.durationSeconds;
      if (approved) this.approvals.granted();
      await this.audit.recordBeforeNextStep(
        this.audit.event('elevation.extended', input.by, {
          from,
          to,
          durationSeconds: input.durationSeconds,
          justification: input.justification ?? null,
          requestedBy: input.by,
          extensions: view.extensions,
          lifetimeSeconds,
          maxTotalSeconds: rule.maxTotalSeconds,
          rescheduled,
          ...(approved ? { extension: approved.number, approvers: approved.approvers } : {}),
        }),
      );
      // The owner is told too: an extension is a grant lasting longer than was approved.
      this.notify.publish('elevation.extended', true, {
        extension: {
          by: input.by,
          durationSeconds: input.durationSeconds,
          ...(input.justification !== undefined ? { justification: input.justification } : {}),
        },
      });
      return this.state.snapshot();
    } finally {
      this.inFlight = false;
    }
  }

  /**
   * Holds the grant until a revocation is asked for or the window ends, following the end when
   * an extension moves it. Runs that cannot extend wait exactly as before (one timer).
   */
  async holdUntilEnd(): Promise<void> {
    const state = this.state;
    const revoking = () => state.revocationRequested() !== undefined;
    if (!this.enabled) {
      await condition(revoking, state.activeTimeLeft());
      return;
    }
    for (;;) {
      const end = state.view.expiresAt;
      // An extension waiting for approvers closes at its deadline, when that comes first.
      const pending = this.approvals.waiting();
      const closesFirst = pending !== undefined && Date.parse(pending.deadline) < Date.parse(end ?? '');
      const woken = await condition(
        () => revoking() || state.view.expiresAt !== end || this.approvals.waiting() !== pending,
        closesFirst ? Math.max(Date.parse(pending.deadline) - Date.now(), 1) : state.activeTimeLeft(),
      );
      if (revoking()) break;
      if (woken) continue;
      if (closesFirst) {
        await this.approvals.close('expired', SYSTEM, 'no quorum by its deadline');
        continue;
      }
      if (state.view.expiresAt === end) break;
    }
    // Still waiting when the elevation ends: it can no longer be granted. Recorded in order
    // before the revocation's events, which do not wait for it.
    if (this.approvals.waiting()) {
      const why = revoking() ? 'the elevation was revoked first' : 'the window ended first';
      void this.approvals.close('expired', SYSTEM, why);
    }
  }
}
