/**
 * Break-glass's steps in the elevation workflow (runs with the `break-glass` patch only):
 *
 * - the request is scored as any other, and the score recorded, but never routed: the emergency
 *   path exists for the unusual request a score would hold up (`core/rules/break-glass.ts`);
 * - it is approved at once: `elevation.approved` (rule `break_glass`) and `breakglass.activated`
 *   are stored before anything else, then one activity starts the review workflow, which raises
 *   the alerts (the review lives in its own workflow, so its deadline outlives the elevation and
 *   this history stays short);
 * - while the role is held, the review's deadline is a second wake-up: if the role is still held
 *   then and no reviewer has confirmed, the workflow ends the window itself (as the system:
 *   `expired`, the reason in the revocation's comment), while the review workflow locks the bot
 *   down.
 */
import { condition, log, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../core/ports/activities.js';
import type { ElevationInput } from '../core/model/elevation.js';
import type { WorkflowEvent } from '../core/model/events.js';
import { breakGlassReviewIdFor } from '../core/model/break-glass.js';
import { breakGlassRiskDecision } from '../core/rules/break-glass.js';
import { routeRequest, type RoutedRequest } from '../core/rules/risk-routing.js';
import type { AuditQueue } from './audit-queue.js';
import { SYSTEM, type ElevationState } from './elevation-state.js';
import { errorSummary } from './error-summary.js';

/** Scoring and the review's status: local, quick, retried (as the risk route's scoring). */
const { scoreRequest, breakGlassReviewStatus } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
});

/**
 * Starting the review workflow (which raises the alerts): quick, retried for ten minutes. The
 * grant waits for it: a break-glass grant nobody is told of, or that nobody must review, is what
 * this path must never be.
 */
const { startBreakGlassReview } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  scheduleToCloseTimeout: '10m',
  retry: { initialInterval: '500ms', backoffCoefficient: 2, maximumInterval: '30s' },
});

/** Scores the request and records the score on the view, routed `auto` (see the module comment). */
export async function scoreBreakGlass(input: ElevationInput, state: ElevationState): Promise<RoutedRequest> {
  const assessment = await scoreRequest(input);
  const routed = routeRequest(input.role, assessment);
  const recorded: RoutedRequest = {
    decision: breakGlassRiskDecision(routed.decision),
    approval: input.role.approval,
    lockDown: false,
  };
  state.route(recorded);
  return recorded;
}

/**
 * Approves the request at once: stores `requested`, `elevation.approved` and
 * `breakglass.activated` before the next step, then starts the review (which raises the alerts).
 */
export async function activateBreakGlass(
  input: ElevationInput,
  state: ElevationState,
  audit: AuditQueue,
  requested: WorkflowEvent,
): Promise<void> {
  const bg = input.breakGlass!;
  await audit.recordBeforeNextStep(
    requested,
    audit.event('elevation.approved', SYSTEM, { rule: 'break_glass' }),
    audit.event(
      'breakglass.activated',
      { kind: 'bot', id: input.bot.id },
      {
        botId: input.bot.id,
        roleId: input.role.id,
        owner: input.bot.owner,
        justification: input.justification,
        durationSeconds: input.durationSeconds,
        maxSeconds: bg.maxSeconds,
        reviewers: bg.reviewers,
        reviewDeadline: bg.reviewDeadline,
        ...(state.view.risk ? { risk: state.view.risk } : {}),
      },
    ),
  );
  await startBreakGlassReview({
    elevation: state.snapshot(),
    bot: input.bot,
    role: state.role,
    breakGlass: bg,
  }).catch((err: unknown) => {
    // Still granted (the emergency is real): the events are stored, and the deadline below
    // revokes the role if no review confirms it, which nobody can without the review workflow.
    log.error('Could not start the break-glass review', {
      elevationId: input.elevationId,
      error: errorSummary(err),
    });
  });
}

/**
 * Holds the role until its window ends or a revocation is asked for; if the review's deadline
 * comes first and no reviewer has confirmed by then, asks for the revocation itself.
 */
export async function holdBreakGlass(input: ElevationInput, state: ElevationState): Promise<void> {
  const ended = () => state.revocationRequested() !== undefined;
  const deadline = Date.parse(input.breakGlass!.reviewDeadline);
  const untilDeadline = deadline - Date.now();
  if (untilDeadline < state.activeTimeLeft()) {
    if (await condition(ended, Math.max(untilDeadline, 1))) return;
    const status = await breakGlassReviewStatus(breakGlassReviewIdFor(input.elevationId));
    if (status !== 'confirmed') {
      log.warn('Break-glass review missed while the role is held: revoking it', {
        elevationId: input.elevationId,
        status,
      });
      state.endWindowEarly(
        SYSTEM,
        `break-glass review ${status === 'rejected' ? 'rejected' : 'missed'} (deadline ${input.breakGlass!.reviewDeadline})`,
      );
      return;
    }
  }
  await condition(ended, state.activeTimeLeft());
}
