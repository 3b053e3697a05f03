/**
 * One elevation, from request to revocation, as a Temporal workflow (id `elevation-<id>`).
 *
 *   requested → [pending_approval → approved] → active → revoking → revoked
 *                        ↘ denied | expired            ↘ failed (grant impossible)
 *
 * Deterministic: all I/O is in activities. The function below is the path of one elevation;
 * what it knows and the rules that change it are in {@link ElevationState}, the Query and the
 * Updates (approve, deny, revoke, whose validators refuse bad attempts before they enter
 * history) in `elevation-handlers.ts`, and the ordered audit and Slack writes in
 * {@link AuditQueue} and {@link NotifyQueue}. Revocation runs in a non-cancellable scope and
 * is retried until the target confirms it, however long it takes.
 */
import {
  CancellationScope,
  allHandlersFinished,
  condition,
  continueAsNew,
  isCancellation,
  log,
  patched,
  proxyActivities,
  proxyLocalActivities,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities, GrantRequest, ReleaseRequest } from '../core/ports/activities.js';
import type { RequestCheck } from '../core/model/decisions.js';
import type { WorkflowEvent } from '../core/model/events.js';
import type {
  ElevationInput,
  ElevationView,
  EndReason,
  GrantReceipt,
  RevokeReceipt,
} from '../core/model/elevation.js';
import { NON_RETRYABLE_GRANT_ERRORS } from '../core/errors/activity-error-types.js';
import { AuditQueue } from './audit-queue.js';
import { setElevationHandlers } from './elevation-handlers.js';
import { ElevationState, SYSTEM } from './elevation-state.js';
import { errorSummary } from './error-summary.js';
import { NotifyQueue } from './notify-queue.js';
import { actOnDenial, scoreAndRoute } from './risk-route.js';
import { waitForDecision } from './approval-nudges.js';
import { waitForStart } from './scheduled-start.js';
import { Extensions } from './extend.js';
import { activateBreakGlass, holdBreakGlass, scoreBreakGlass } from './break-glass.js';
import { acquireBundle, releaseBundle, type BundleReceipt } from './role-bundle.js';

/**
 * The worker's side of trust: check the API's signature over the start input, and hand over
 * the public keys that decisions must be signed with. Local: it reads only the worker's
 * configuration (and, for a copied request, the audit store).
 */
const { checkRequest } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
});

/**
 * One revocation round: a few quick tries, then the workflow records the failure and waits
 * before the next round. No error type is non-retryable here: a revocation is never abandoned.
 */
const { releaseGrant } = proxyActivities<Activities>({
  startToCloseTimeout: '20s',
  retry: { initialInterval: '300ms', backoffCoefficient: 2, maximumInterval: '2s', maximumAttempts: 3 },
});

/** One run of the workflow: its input, its state and its two queues. */
interface Run {
  input: ElevationInput;
  state: ElevationState;
  audit: AuditQueue;
  notify: NotifyQueue;
  /**
   * The worker's expiry revoker takes the grant away when the window ends, and the workflow's
   * revocation verifies; `revoke.started` is stored with the revocation's outcome, in one
   * write. False for runs started before it existed, which replay as they ran.
   */
  atExpiry: boolean;
  /** The `extend` Update and the wait that follows the window's end when it moves (`extend.ts`). */
  extensions: Extensions;
  /** A break-glass request, in a run with the `break-glass` patch (`break-glass.ts`). */
  breakGlass: boolean;
  /** A bundle's request, in a run with the `role-bundles` patch (`role-bundle.ts`). */
  bundle: boolean;
}

/** The elevation workflow. Returns the final view. */
export async function elevationWorkflow(input: ElevationInput): Promise<ElevationView> {
  const state = new ElevationState(input, () => Date.now());
  const audit = new AuditQueue(input.elevationId, () => state.snapshot());
  const notify = new NotifyQueue(
    input,
    () => state.snapshot(),
    () => state.role,
  );
  const extensions = new Extensions(input, state, audit, notify);
  setElevationHandlers(state, audit, notify, extensions);
  // Decided in the first activation with the other patches (see below why).
  const run: Run = {
    input,
    state,
    audit,
    notify,
    atExpiry: patched('expiry-revoker'),
    extensions,
    // Asked only of break-glass inputs, so the others record exactly what they did before.
    breakGlass: input.breakGlass !== undefined && !input.carried && patched('break-glass'),
    // Asked only of bundle inputs, so the others record exactly what they did before. A run that
    // continued as new asks too: its revocation releases every role of the bundle.
    bundle: input.bundle !== undefined && patched('role-bundles'),
  };
  // Reminders and escalation while the request waits for approvers (`approval-nudges.ts`).
  const nudges = patched('approval-reminders');
  // Extensions that go back to the approvers: asked only of roles that have them, so the others
  // record exactly what they did before.
  extensions.enable(
    patched('extend'),
    input.role.extend?.approval === 'same-as-request' && patched('extend-approval'),
  );
  // A scheduled elevation waits for its start after its approval (`scheduled-start.ts`). Asked
  // only of inputs that carry a start, so the others record exactly what they did before.
  const scheduled = input.startsAt !== undefined && !input.carried && patched('scheduled-start');

  // A run that continued as new carries a revocation on, and does nothing else.
  if (input.carried) {
    await revoke(run, input.carried.revokeReason);
    return finish(run);
  }

  // Only a request the API signed is acted on: one started straight through Temporal is
  // recorded and refused before anything is announced or granted. (Runs started before
  // requests were signed replay without this step.)
  // Whether requests are scored is decided here, in the first activation, with the other patch:
  // a `patched()` call made after a local activity's result can land in another workflow task
  // on replay than it did when it ran (replay resolves the result at once), and read false.
  const scoring = patched('risk-scoring');
  if (patched('signed-requests')) {
    const check = await checkRequest(input, workflowInfo().startTime.getTime());
    state.useTrust(check.trust);
    if (check.outcome !== 'verified') {
      await audit.recordBeforeNextStep(refusedStart(run, check));
      return state.view;
    }
  }

  // The risk score routes the request before it is recorded, so `elevation.requested` carries
  // the score and its reasons. (Runs started before scoring existed replay without this step.)
  const routed = scoring
    ? await (run.breakGlass ? scoreBreakGlass(input, state) : scoreAndRoute(input, state))
    : undefined;

  const requested = audit.event(
    'elevation.requested',
    { kind: 'bot', id: input.bot.id },
    {
      bot: input.bot,
      role: input.role,
      durationSeconds: input.durationSeconds,
      justification: input.justification,
      ticket: input.ticket ?? null,
      requestId: input.requestId ?? null,
      ...(input.startsAt !== undefined ? { startsAt: input.startsAt } : {}),
      ...(input.identity ? { identity: input.identity } : {}),
      ...(input.source ? { source: input.source } : {}),
      ...(routed ? { risk: routed.decision } : {}),
      ...(run.bundle && input.bundle ? { bundle: input.bundle } : {}),
    },
  );
  const badDuration = state.failOnBadDuration();
  if (badDuration !== undefined) {
    await audit.recordBeforeNextStep(
      requested,
      audit.event('elevation.failed', SYSTEM, { error: badDuration }),
    );
    return state.view;
  }

  if (routed?.decision.route === 'denied') {
    const denied = state.deniedByRisk(routed.decision);
    await audit.recordBeforeNextStep(requested, audit.event('elevation.denied', SYSTEM, denied));
    await actOnDenial(input, state, routed);
    return finish(run);
  }

  if (run.breakGlass) {
    // Granted at once; the review comes after (`break-glass.ts`).
    await activateBreakGlass(input, state, audit, requested);
  } else if (state.role.approval.mode === 'auto') {
    await audit.recordBeforeNextStep(requested, audit.event('elevation.approved', SYSTEM, { rule: 'auto' }));
  } else {
    await audit.recordBeforeNextStep(requested);
    notify.announce();
    // Until the quorum is met, someone denies, the bot withdraws, or the window closes.
    // With reminders and escalation, their timers run inside this wait (`approval-nudges.ts`).
    const decided = nudges
      ? await waitForDecision(state, audit, notify)
      : await condition(() => state.decisionArrived(), state.approvalTimeLeft());
    const outcome = state.closeApproval(decided);
    await audit.recordBeforeNextStep(audit.event(outcome.type, outcome.actor, outcome.data));
    notify.publish(outcome.type, true);
    if (state.isFinal()) return finish(run);
  }

  // Scheduled: the grant waits for the start; a revocation before it ends the elevation ungranted.
  if (scheduled && !(await waitForStart(run))) return finish(run);

  // Approved: grant, hold until the window ends, revoke. A revocation that came first skips the grant.
  // The grant step starts the revocation itself, in the same microtask as its own last step: an
  // `await` between the two would let a queued audit write schedule its activity before
  // `releaseGrant`, a different command order from the one running elevations have recorded.
  const early = state.revocationRequested();
  await (early ? revoke(run, early.reason) : grantHoldAndRevoke(run));
  return finish(run);
}

/** Waits for every Update being handled to answer and every message to go out; the final view. */
async function finish({ state, notify }: Run): Promise<ElevationView> {
  await condition(allHandlersFinished);
  await notify.drained();
  return state.view;
}

/**
 * The API did not sign the start input: the elevation ends `failed`, and the refusal is recorded
 * without the elevation's view, so a forged start neither creates an elevation in the list nor
 * overwrites the summary of the genuine one whose id it copied.
 */
function refusedStart({ input, state, audit }: Run, check: RequestCheck): WorkflowEvent {
  state.refuseUnverified(check.message, check.outcome === 'verified' ? undefined : check.outcome);
  const { elevation: _unverifiedView, ...refused } = audit.event(
    'request.unverified',
    { kind: 'anonymous', id: 'temporal' },
    {
      code: check.outcome,
      message: check.message,
      kid: check.kid ?? null,
      claimed: { bot: input.bot.id, role: input.role.id, durationSeconds: input.durationSeconds },
    },
  );
  return refused;
}

/** What the target is asked to grant. */
function grantRequestOf(input: ElevationInput, revokeAtExpiry = false): GrantRequest {
  return {
    elevationId: input.elevationId,
    target: input.role.target,
    principal: input.bot.principal,
    durationSeconds: input.durationSeconds,
    ...(revokeAtExpiry ? { revokeAtExpiry } : {}),
    ...(input.role.extend ? { extendable: true } : {}),
  };
}

/**
 * What the target is asked to revoke: the grant's handle from its receipt when there is one
 * (without one the target derives it from the request, as it did before handles existed).
 */
function releaseRequestOf(input: ElevationInput, state: ElevationState): ReleaseRequest {
  const handle = state.grantHandle();
  return { ...grantRequestOf(input), ...(handle ? { handle } : {}) };
}

/**
 * Grants the role, holds it until the window ends, and revokes it. A revocation that arrives
 * while the grant is under way cancels it (the ledger fences a late grant); one that arrives
 * while it is held ends it early.
 */
async function grantHoldAndRevoke(run: Run): Promise<void> {
  const { input, state, audit, notify } = run;
  const { acquireGrant } = grantActivities(input);
  if (run.bundle) return grantBundleHoldAndRevoke(run, acquireGrant);
  const granting = new CancellationScope();
  const grant = granting.run(() => acquireGrant(grantRequestOf(input, run.atExpiry)));
  void condition(() => state.revocationRequested() !== undefined).then(() => granting.cancel());
  let receipt: GrantReceipt | undefined;
  try {
    receipt = await grant;
  } catch (err) {
    if (!isCancellation(err)) {
      const error = errorSummary(err);
      state.grantFailed(error);
      audit.recordInBackground(audit.event('grant.failed', SYSTEM, { error }));
      notify.publish('grant.failed');
    }
  }
  if (!receipt) return revoke(run, state.revocationRequested()?.reason ?? 'grant_failed');

  // The window ends when the receipt says, if the worker's expiry revoker holds the grant.
  state.activate(receipt.handle, run.atExpiry ? receipt.expiresAt : undefined);
  // The expiry clock runs from the confirmed grant whether or not the audit store is
  // answering right now (the event is stored in order once it is).
  audit.recordInBackground(audit.event('grant.confirmed', SYSTEM, { receipt }));
  notify.publish('grant.confirmed');
  await (run.breakGlass ? holdBreakGlass(input, state) : run.extensions.holdUntilEnd());
  return revoke(run, state.revocationRequested()?.reason ?? 'expired');
}

/** The grant activity, retried until the grant timeout (non-retryable errors fail it at once). */
function grantActivities(input: ElevationInput) {
  return proxyActivities<Activities>({
    startToCloseTimeout: '30s',
    scheduleToCloseTimeout: `${input.timing.grantTimeoutSeconds}s`,
    retry: {
      initialInterval: '500ms',
      backoffCoefficient: 2,
      maximumInterval: '10s',
      nonRetryableErrorTypes: NON_RETRYABLE_GRANT_ERRORS,
    },
  });
}

/**
 * A bundle's path (`role-bundle.ts`): grants its roles in order, all or nothing; holds them
 * until the window ends; revokes them together. A failed grant, or a revocation that arrives
 * while they are being granted, goes straight to the revocation of every role reached.
 */
async function grantBundleHoldAndRevoke(run: Run, acquire: Activities['acquireGrant']): Promise<void> {
  const { input, state, audit, notify } = run;
  const granting = new CancellationScope();
  const all = granting.run(() => acquireBundle(input, state, audit, acquire));
  void condition(() => state.revocationRequested() !== undefined).then(() => granting.cancel());
  const grants = await all;
  if (!grants) {
    const requested = state.revocationRequested();
    if (!requested) notify.publish('grant.failed');
    return revoke(run, requested?.reason ?? 'grant_failed');
  }
  // No handle and no expiry revoker: the window runs from now, and every role goes at its end.
  state.activate();
  audit.recordInBackground(audit.event('bundle.granted', SYSTEM, { bundle: input.bundle!.id, grants }));
  notify.publish('grant.confirmed');
  await run.extensions.holdUntilEnd();
  return revoke(run, state.revocationRequested()?.reason ?? 'expired');
}

/**
 * Removes the grant, never abandoned: in a non-cancellable scope, retried with a growing pause
 * until the target confirms it. When Temporal suggests it, the workflow continues as new with
 * the revocation carried over (after its records are stored and every Update has answered).
 */
function revoke({ input, state, audit, notify, atExpiry, bundle }: Run, reason: EndReason): Promise<void> {
  return CancellationScope.nonCancellable(async () => {
    const carried = input.carried;
    const startedAt = carried?.revokeStartedAt ?? new Date().toISOString();
    state.startRevoking(reason);
    // Stored beside the first attempt, not before it: the revocation does not wait. Runs with
    // the expiry revoker store it with the outcome (or the first failure), one write fewer.
    let started: WorkflowEvent[] = [];
    if (!carried) {
      const request = state.revocationRequested();
      started = [
        audit.event('revoke.started', request?.by ?? SYSTEM, {
          reason,
          comment: request?.comment ?? null,
          requestedBy: request?.by ?? null,
        }),
      ];
      if (!atExpiry) audit.recordInBackground(...started.splice(0));
    }
    let attempts = carried?.revokeAttempts ?? 0;
    // A bundle's revocation has a receipt per role (`receipts`), a role's one (`receipt`).
    let released: { receipt: RevokeReceipt } | { receipts: BundleReceipt<RevokeReceipt>[] };
    for (;;) {
      try {
        released = bundle
          ? { receipts: await releaseBundle(input, state, releaseGrant) }
          : { receipt: await releaseGrant(releaseRequestOf(input, state)) };
        break;
      } catch (err) {
        attempts += 1;
        const error = errorSummary(err);
        state.revokeFailed(attempts, error);
        log.error('Revocation failed; it will be retried until the target confirms it', {
          elevationId: input.elevationId,
          attempt: attempts,
          error: state.view.lastError,
        });
        audit.recordInBackground(
          ...started.splice(0),
          audit.event('revoke.failed', SYSTEM, { attempt: attempts, error }),
        );
        if (workflowInfo().continueAsNewSuggested) {
          await audit.drained();
          // An update being handled must finish in this run: continue-as-new would drop it.
          // (While revoking every handler answers at once; this keeps it so after an edit.)
          await condition(allHandlersFinished);
          await continueAsNew<typeof elevationWorkflow>({
            ...input,
            carried: state.carriedOver({ reason, startedAt, attempts }, notify.messages),
          });
        }
        await sleep(
          Math.min(2 ** Math.min(attempts - 1, 16) * 1000, input.timing.revokeRetryMaxSeconds * 1000),
        );
      }
    }
    const type = state.revoked(reason);
    await audit.recordBeforeNextStep(
      ...started,
      audit.event(type, SYSTEM, { reason, startedAt, ...released, revokeAttempts: attempts }),
    );
    notify.publish(type, true);
  });
}
