/**
 * The risk score's steps in the elevation workflow: score the request in a local activity (its
 * result is recorded in history, so a replay routes the same way without scoring again), route
 * it with the core's rule, and, for a request the score denied, lock the bot down when the role
 * says so and tell the owner and the security channel.
 */
import { log, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../core/ports/activities.js';
import type { ElevationInput } from '../core/model/elevation.js';
import { routeRequest, type RoutedRequest } from '../core/rules/risk-routing.js';
import type { ElevationState } from './elevation-state.js';
import { errorSummary } from './error-summary.js';

/** Scoring reads the baselines (and folds the newest events into them): local, quick, retried. */
const { scoreRequest } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
});

/** A lockdown is a security step: retried until it is recorded. */
const { lockDownBot } = proxyActivities<Activities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '60s' },
});

/** The alert is retried for an hour, then given up (the audit trail and the log have it). */
const { alertRisk } = proxyActivities<Activities>({
  startToCloseTimeout: '150s',
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '60s' },
});

/** Scores the request and applies the route to the state; returns what was decided. */
export async function scoreAndRoute(input: ElevationInput, state: ElevationState): Promise<RoutedRequest> {
  const assessment = await scoreRequest(input);
  const routed = routeRequest(input.role, assessment);
  state.route(routed);
  return routed;
}

/**
 * After a denial by the score is recorded: the lockdown (when asked for) and the alert. The
 * alert never fails the workflow; the lockdown is retried until it holds.
 */
export async function actOnDenial(
  input: ElevationInput,
  state: ElevationState,
  routed: RoutedRequest,
): Promise<void> {
  if (routed.lockDown) {
    await lockDownBot({
      botId: input.bot.id,
      elevationId: input.elevationId,
      reason: `risk score ${routed.decision.score} (critical) on elevation ${input.elevationId}`,
    });
  }
  await alertRisk({
    elevation: state.snapshot(),
    bot: input.bot,
    role: state.role,
    lockedDown: routed.lockDown,
  }).catch((err: unknown) => {
    log.error('Could not alert about a request the risk score denied', {
      elevationId: input.elevationId,
      error: errorSummary(err),
    });
  });
}
