/**
 * The risk score's activities: score a request before the workflow routes it, tell people about
 * a request the score denied, and lock its bot down when the role says so. Built by a factory
 * from their dependencies, like the other activities.
 */
import type { Logger } from 'pino';
import type { RiskActivities, RiskLockdown } from '../core/ports/activities.js';
import type { TypedAuditAppender } from '../core/model/audit-record.js';
import type { ElevationInput } from '../core/model/elevation.js';
import type { RiskAssessment } from '../core/model/risk.js';
import type { ApprovalNotifier, RiskAlert } from '../core/ports/notifier.js';
import { RiskScorer } from '../domain/detection/risk-scorer.js';
import { BotQuotas } from '../domain/bot-quotas.js';
import type { Policy } from '../config/policy.js';
import type { Stores } from '../store/stores.js';
import type { BotStates } from '../store/bot-state.js';

/** Who the score's lockdowns are recorded as. */
const SCORE_ACTOR = { kind: 'system', id: 'elevate' } as const;

export interface RiskActivityDeps {
  scorer: Pick<RiskScorer, 'score'>;
  notifier: ApprovalNotifier;
  /** Where the lockdown is set, under the bot's lock (`BotQuotas.lockOut`), and recorded. */
  quotas: Pick<BotQuotas, 'lockOut'>;
  botStates: Pick<BotStates, 'updateBotState'>;
  store: TypedAuditAppender;
  logger: Pick<Logger, 'info' | 'warn'>;
  /** The policy's `detection.alertChannel`: where alerts go unless the workflow named one. */
  alertChannel?: string;
}

export function createRiskActivities(deps: RiskActivityDeps): RiskActivities {
  return {
    /** The request's score against its bot's baseline (the workflow routes on it). */
    async scoreRequest(input: ElevationInput): Promise<RiskAssessment> {
      const assessment = await deps.scorer.score(input);
      deps.logger.info(
        {
          elevationId: input.elevationId,
          botId: input.bot.id,
          roleId: input.role.id,
          score: assessment.score,
          riskLevel: assessment.level,
          reasons: assessment.reasons.map((r) => r.code),
        },
        'request scored',
      );
      return assessment;
    },

    /** Tells the owner and the security channel (the audit trail has the denial already; the notifier logs it). */
    async alertRisk(alert: RiskAlert): Promise<void> {
      const channel = alert.channel ?? deps.alertChannel;
      await deps.notifier.alertRisk?.({ ...alert, ...(channel ? { channel } : {}) });
    },

    /**
     * Locks the bot down: new requests are refused with `bot_locked` until an admin unlocks it.
     * Its other open elevations are left to their admins (revoking them takes a decision signed
     * by the API, which the worker cannot sign); the event lists none revoked.
     */
    async lockDownBot(lockdown: RiskLockdown): Promise<void> {
      const now = new Date();
      const { result } = await deps.quotas.lockOut(lockdown.botId, now, () =>
        deps.botStates.updateBotState(
          lockdown.botId,
          { lock: { by: SCORE_ACTOR.id, reason: lockdown.reason } },
          now.toISOString(),
        ),
      );
      await deps.store.append({
        // One event per elevation: a retried activity records it once.
        id: `risk-lockdown-${lockdown.elevationId}`,
        elevationId: null,
        type: 'bot.locked',
        at: now.toISOString(),
        actor: SCORE_ACTOR,
        data: {
          botId: lockdown.botId,
          reason: lockdown.reason,
          alreadyLocked: result.before?.locked != null,
          revoked: [],
          failed: [],
          via: 'risk-score',
        },
      });
    },
  };
}

/** What {@link riskActivitiesOn} builds the risk activities from: a process's stores and policy. */
export interface RiskActivityStores {
  stores: Pick<Stores, 'baselines' | 'botStates' | 'elevations' | 'leases' | 'singleUse' | 'auditLog'>;
  policy: Pick<Policy, 'bots' | 'detection'>;
  notifier: ApprovalNotifier;
  /** Where appends go (defaults to the stores' audit log). */
  store?: TypedAuditAppender;
  logger: Logger;
}

/**
 * The worker's risk scorer over its stores; a damaged stored baseline is logged (the bot is
 * scored as one without history and the next fold writes a fresh baseline over it).
 */
export function scorerOn(
  stores: Pick<RiskActivityStores['stores'], 'baselines' | 'botStates'>,
  policy: RiskActivityStores['policy'],
  logger: RiskActivityStores['logger'],
): RiskScorer {
  return new RiskScorer({
    baselines: stores.baselines,
    botStates: stores.botStates,
    policy,
    onDamagedBaseline: (botId, problem) =>
      logger.warn({ botId, problem }, 'a stored baseline is damaged; scoring the bot as one without history'),
  });
}

/** The risk activities of a worker, over its stores. */
export function riskActivitiesOn({
  stores,
  policy,
  notifier,
  store,
  logger,
}: RiskActivityStores): RiskActivities {
  return createRiskActivities({
    scorer: scorerOn(stores, policy, logger),
    notifier,
    quotas: new BotQuotas(
      {
        elevations: stores.elevations,
        auditLog: stores.auditLog,
        leases: stores.leases,
        singleUse: stores.singleUse,
      },
      logger,
    ),
    botStates: stores.botStates,
    store: store ?? stores.auditLog,
    logger: logger.child({ component: 'risk' }),
    ...(policy.detection?.alertChannel ? { alertChannel: policy.detection.alertChannel } : {}),
  });
}
