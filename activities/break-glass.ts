/**
 * Break-glass's activities (`workflows/break-glass.ts`, `workflows/break-glass-review-workflow.ts`):
 * start the post-hoc review of an activation, raise its alerts, read where a review stands,
 * record a reviewer's answer, and lock the bot down when the review is missed or rejected. Every
 * event is keyed by the review, so a retried activity records nothing twice; the lockdown is the
 * risk score's (the bot's lock, under its quota lock), recorded as `bot.locked` via `break-glass`.
 */
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { TypedAuditAppender } from '../core/model/audit-record.js';
import {
  breakGlassReviewIdFor,
  type BreakGlassActivation,
  type BreakGlassAlert,
  type BreakGlassContainment,
  type BreakGlassReviewAnswer,
  type BreakGlassReviewInput,
  type BreakGlassReviewStatus,
} from '../core/model/break-glass.js';
import type { Actor } from '../core/model/elevation.js';
import type { BreakGlassActivities } from '../core/ports/activities.js';
import type { ApprovalNotifier } from '../core/ports/notifier.js';
import { BotQuotas } from '../domain/bot-quotas.js';
import type { BotStates } from '../store/bot-state.js';
import type { ReviewActivityStores } from './review-activity-stores.js';
import {
  breakGlassReviewViewOf,
  startBreakGlassReviewWorkflow,
} from '../domain/elevations/break-glass-review-service.js';

const SYSTEM: Actor = { kind: 'system', id: 'elevate' };

export interface BreakGlassActivityDeps {
  temporal: Pick<Client, 'workflow'>;
  taskQueue: string;
  /** The page a reviewer opens for an elevation (the MFA login starts there). */
  reviewUrl: (elevationId: string) => string;
  notifier: Pick<ApprovalNotifier, 'alertBreakGlass'>;
  /** Where the lockdown is set, under the bot's lock (`BotQuotas.lockOut`). */
  quotas: Pick<BotQuotas, 'lockOut'>;
  botStates: Pick<BotStates, 'updateBotState'>;
  store: TypedAuditAppender;
  logger: Pick<Logger, 'info' | 'warn' | 'error'>;
  /** The policy's `detection.alertChannel`: the security channel. */
  alertChannel?: string;
  clock?: () => Date;
}

export function createBreakGlassActivities(deps: BreakGlassActivityDeps): BreakGlassActivities {
  const now = () => (deps.clock ?? (() => new Date()))();
  return {
    async startBreakGlassReview(activation: BreakGlassActivation): Promise<void> {
      const { elevation, bot, role, breakGlass } = activation;
      const reviewId = breakGlassReviewIdFor(elevation.id);
      const input: BreakGlassReviewInput = {
        reviewId,
        elevationId: elevation.id,
        botId: bot.id,
        roleId: role.id,
        owner: bot.owner,
        justification: elevation.justification,
        reviewers: breakGlass.reviewers,
        activatedAt: elevation.requestedAt,
        deadline: breakGlass.reviewDeadline,
        reviewUrl: deps.reviewUrl(elevation.id),
      };
      // A retry after the start went through finds it running: one review per elevation.
      await startBreakGlassReviewWorkflow(deps.temporal, deps.taskQueue, input, activation);
      deps.logger.warn(
        { elevationId: elevation.id, botId: bot.id, roleId: role.id, reviewId, deadline: input.deadline },
        'break-glass activated: the role is granted without approval and must be reviewed',
      );
    },

    async alertBreakGlass(alert: BreakGlassAlert): Promise<void> {
      const channel = alert.channel ?? deps.alertChannel;
      if (deps.notifier.alertBreakGlass) {
        await deps.notifier.alertBreakGlass({ ...alert, ...(channel ? { channel } : {}) });
        return;
      }
      // Without Slack the log is the alert: loud, with the link the reviewers need.
      deps.logger.error(
        {
          elevationId: alert.elevation.id,
          botId: alert.bot.id,
          roleId: alert.role.id,
          owner: alert.bot.owner,
          reviewers: alert.breakGlass.reviewers,
          reviewDeadline: alert.breakGlass.reviewDeadline,
          reviewUrl: alert.reviewUrl,
        },
        'BREAK-GLASS ACTIVATED: a reviewer must confirm it at reviewUrl before reviewDeadline, or the bot is locked down',
      );
    },

    async breakGlassReviewStatus(reviewId: string): Promise<BreakGlassReviewStatus> {
      try {
        return (await breakGlassReviewViewOf(deps.temporal, reviewId)).status;
      } catch (err) {
        // Unknown is not confirmed: the elevation workflow revokes the role.
        deps.logger.warn(
          { reviewId, err: (err as Error).message },
          'could not read a break-glass review; treating it as not confirmed',
        );
        return 'open';
      }
    },

    async recordBreakGlassReview(
      review: BreakGlassReviewInput,
      answer: BreakGlassReviewAnswer,
      late: boolean,
      lockedDown: boolean,
    ): Promise<void> {
      await deps.store.append({
        id: `${review.reviewId}:reviewed`,
        elevationId: review.elevationId,
        type: 'breakglass.reviewed',
        at: now().toISOString(),
        actor: { kind: 'human', id: answer.reviewer },
        data: {
          reviewId: review.reviewId,
          botId: review.botId,
          reviewer: answer.reviewer,
          outcome: answer.outcome,
          comment: answer.comment ?? null,
          late,
          lockedDown,
          evidence: answer.evidence,
        },
      });
      deps.logger.info(
        { reviewId: review.reviewId, botId: review.botId, outcome: answer.outcome, late },
        'break-glass reviewed',
      );
    },

    async containBreakGlass({ review, cause }: BreakGlassContainment): Promise<void> {
      const at = now();
      const reason =
        cause === 'rejected'
          ? `break-glass elevation ${review.elevationId} was rejected by its reviewer`
          : `break-glass elevation ${review.elevationId} was not reviewed by ${review.deadline}`;
      const { result } = await deps.quotas.lockOut(review.botId, at, () =>
        deps.botStates.updateBotState(review.botId, { lock: { by: SYSTEM.id, reason } }, at.toISOString()),
      );
      const alreadyLocked = result.before?.locked != null;
      const locked = {
        id: `${review.reviewId}:locked`,
        elevationId: null,
        type: 'bot.locked' as const,
        at: at.toISOString(),
        actor: SYSTEM,
        data: { botId: review.botId, reason, alreadyLocked, revoked: [], failed: [], via: 'break-glass' },
      };
      await deps.store.append(locked);
      if (cause === 'review_missed') {
        await deps.store.append({
          id: `${review.reviewId}:missed`,
          elevationId: review.elevationId,
          type: 'breakglass.review_missed',
          at: at.toISOString(),
          actor: SYSTEM,
          data: {
            reviewId: review.reviewId,
            botId: review.botId,
            deadline: review.deadline,
            reviewers: review.reviewers,
            lockedDown: true,
          },
        });
      }
      deps.logger.error(
        { reviewId: review.reviewId, elevationId: review.elevationId, botId: review.botId, cause },
        'break-glass not confirmed: the bot is locked down until an admin unlocks it',
      );
    },
  };
}

/** What {@link breakGlassActivitiesOn} builds the activities from: a worker's stores, policy and client. */
export type BreakGlassActivityStores = ReviewActivityStores<
  'botStates' | 'auditLog' | 'elevations' | 'leases' | 'singleUse',
  'detection'
>;

/** The break-glass activities of a worker. */
export function breakGlassActivitiesOn(deps: BreakGlassActivityStores): BreakGlassActivities {
  const logger = deps.logger.child({ component: 'break-glass' });
  return createBreakGlassActivities({
    temporal: deps.temporal,
    taskQueue: deps.taskQueue,
    reviewUrl: (id) => breakGlassReviewUrl(deps.publicUrl, id),
    notifier: deps.notifier,
    quotas: new BotQuotas(
      {
        elevations: deps.stores.elevations,
        auditLog: deps.stores.auditLog,
        leases: deps.stores.leases,
        singleUse: deps.stores.singleUse,
      },
      logger,
    ),
    botStates: deps.stores.botStates,
    store: deps.store ?? deps.stores.auditLog,
    logger,
    ...(deps.policy.detection?.alertChannel ? { alertChannel: deps.policy.detection.alertChannel } : {}),
  });
}

/** The page where a reviewer reviews a break-glass elevation (the MFA login starts there). */
export function breakGlassReviewUrl(publicUrl: string, elevationId: string): string {
  return `${publicUrl}/approvals/breakglass/${elevationId}`;
}
