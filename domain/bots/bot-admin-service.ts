/**
 * Bots at runtime, for admins (the admin API, the CLI and the console call these): list and read
 * them, lock one down in an incident, unlock it, disable or enable it, rotate its API key. Every
 * change is recorded through the audit service.
 */
import type { Logger } from 'pino';
import type { BotPolicy, Policy } from '../../config/policy.js';
import type { Actor, ElevationView } from '../../core/model/elevation.js';
import { generateSecret, hashSecret } from '../../core/crypto/credentials.js';
import type { BotStateChange, BotStates } from '../../store/bot-state.js';
import type { ElevationIndex } from '../../store/elevation-index.js';
import type { AuditService } from '../audit/audit-service.js';
import type { BotQuotas } from '../bot-quotas.js';
import { ApiError, unavailable } from '../errors.js';
import type { RequestService } from '../elevations/request-service.js';
import {
  keyFingerprint,
  summarise,
  type AdminContext,
  type BotKeyRotation,
  type BotLockResult,
  type BotSummary,
} from './bot-summary.js';

export interface BotAdminServiceDeps {
  policy: Pick<Policy, 'bots'>;
  botStates: Pick<BotStates, 'getBotState' | 'listBotStates' | 'updateBotState'>;
  elevations: Pick<ElevationIndex, 'listElevations' | 'openElevationCounts'>;
  /** The bot's lock, the one its requests are admitted under, and the requests noted there. */
  quotas: Pick<BotQuotas, 'lockOut'>;
  /** How a lockdown revokes. */
  requests: Pick<RequestService, 'revoke'>;
  audit: Pick<AuditService, 'recordAdminAction'>;
  logger: Pick<Logger, 'warn' | 'error'>;
  clock?: () => Date;
}

/** The statuses a lockdown revokes: everything that holds, or may soon hold, the role. */
const LOCKDOWN_REVOKES: ElevationView['status'][] = ['pending_approval', 'approved', 'active'];

export class BotAdminService {
  private readonly clock: () => Date;

  constructor(private readonly deps: BotAdminServiceDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  /** Every bot of the policy, in policy order, with its runtime state and elevation counts. */
  async listBots(): Promise<BotSummary[]> {
    const [states, counts] = await Promise.all([
      this.read(this.deps.botStates.listBotStates()),
      this.read(this.deps.elevations.openElevationCounts()),
    ]);
    const byId = new Map(states.map((s) => [s.botId, s]));
    return this.deps.policy.bots.map((b) => summarise(b, byId.get(b.id), counts[b.id]));
  }

  /** One bot as {@link listBots} shows it; `not_found` if the policy has no such bot. */
  async getBot(botId: string): Promise<BotSummary> {
    const bot = this.policyBot(botId);
    const [state, counts] = await Promise.all([
      this.read(this.deps.botStates.getBotState(botId)),
      this.read(this.deps.elevations.openElevationCounts(botId)),
    ]);
    return summarise(bot, state, counts[botId]);
  }

  /**
   * Lock a bot down: mark it locked, so that no new request gets through (they are refused with
   * 403 `bot_locked`), then revoke every elevation of it that is pending approval, approved or
   * active, as `by`, with `reason`. The bot can still read and give back its elevations.
   *
   * No request slips through, without any waiting: a request is admitted under the bot's
   * cross-process lock (`BotQuotas.admit`), where it reads the bot's state, and is noted there
   * before its workflow starts; the note stays until the workflow's summary is in the store. The
   * lock is set under that same lock, and the noted requests not yet recorded are collected in
   * the same critical section. So every request is admitted either after it, and then sees the
   * lock and is refused; or before it, and then it is either among the collected ones, or its
   * summary was in the store when they were collected, and the store is listed afterwards.
   * Revoking one that is not recorded yet reaches its workflow directly (the workflow's own
   * `status` Query answers until its summary is stored).
   *
   * Idempotent: locking a locked bot keeps the first lock (its time, admin and reason) and revokes
   * whatever is still open. Every call is recorded as a `bot.locked` event with the revoked ids.
   */
  async lockBot(
    botId: string,
    by: Actor,
    reason: string,
    context: AdminContext = {},
  ): Promise<BotLockResult> {
    this.policyBot(botId);
    const {
      result: { before },
      unrecorded,
    } = await this.deps.quotas
      .lockOut(botId, this.clock(), () => this.changeBotState(botId, { lock: { by: by.id, reason } }))
      .catch((err: unknown) => {
        throw unavailable(this.deps.logger, err, 'lock the bot');
      });
    const ids = new Set([...(await this.openElevationsOf(botId)).map((v) => v.id), ...unrecorded]);
    const revoked: ElevationView[] = [];
    const failed: BotLockResult['failed'] = [];
    for (const id of ids) {
      try {
        revoked.push(await this.deps.requests.revoke(id, by, { kind: 'admin' }, reason));
      } catch (err) {
        // Ended on its own meanwhile: nothing left to take away. A noted request whose workflow
        // Temporal does not know never started.
        if (err instanceof ApiError && err.code === 'already_ended') continue;
        if (err instanceof ApiError && err.code === 'not_found' && unrecorded.includes(id)) continue;
        const error = unavailable(this.deps.logger, err, 'revoke the elevation');
        failed.push({ id, code: error.code, message: error.message });
      }
    }
    await this.deps.audit.recordAdminAction('bot.locked', null, by, {
      botId,
      reason,
      alreadyLocked: before?.locked != null,
      revoked: revoked.map((v) => v.id),
      failed: failed.map((f) => f.id),
      ...context,
    });
    this.deps.logger.warn(
      { botId, by: by.id, revoked: revoked.length, failed: failed.length },
      'bot locked down',
    );
    return { bot: await this.getBot(botId), revoked, failed };
  }

  /** Lift a lockdown: the bot may request again (unless disabled). Recorded as `bot.unlocked`. */
  async unlockBot(botId: string, by: Actor, reason: string, context: AdminContext = {}): Promise<BotSummary> {
    this.policyBot(botId);
    const { before } = await this.changeBotState(botId, { lock: null });
    await this.deps.audit.recordAdminAction('bot.unlocked', null, by, {
      botId,
      reason,
      wasLocked: before?.locked != null,
      ...(before?.locked ? { lock: before.locked } : {}),
      ...context,
    });
    return this.getBot(botId);
  }

  /**
   * Disable or enable a bot at runtime, overriding the policy's `disabled`. The override is kept
   * only while it differs from the policy: enabling a bot that the policy enables clears it, so a
   * later `disabled: true` in the policy takes effect. A disabled bot's requests are refused with
   * `bot_disabled`; its elevations are left alone (lock it to end them). Recorded as
   * `bot.disabled` or `bot.enabled`.
   */
  async setBotDisabled(
    botId: string,
    disabled: boolean,
    by: Actor,
    reason?: string,
    context: AdminContext = {},
  ): Promise<BotSummary> {
    const bot = this.policyBot(botId);
    const { before } = await this.changeBotState(botId, {
      disabled: disabled === bot.disabled ? null : { value: disabled, by: by.id },
      // Enabling also lifts a suspension for an unanswered owner attestation.
      ...(disabled ? {} : { attestationOverdue: null }),
    });
    const lifted = !disabled && before?.attestation?.overdue != null;
    await this.deps.audit.recordAdminAction(disabled ? 'bot.disabled' : 'bot.enabled', null, by, {
      botId,
      reason: reason ?? null,
      wasDisabled: before?.disabled?.value ?? bot.disabled,
      policyDisabled: bot.disabled,
      ...(lifted ? { liftedAttestationSuspension: true } : {}),
      ...context,
    });
    return this.getBot(botId);
  }

  /**
   * Give a bot a new API key, returned once: only its hash is stored. From now on the old key
   * (the policy's, or the previous rotated one) is refused with 401, in every API process.
   * Workload identity tokens are not affected. Recorded as `bot.key_rotated` with fingerprints of
   * the new and the previous key (never a key); if that event cannot be recorded, the key is not
   * handed out (503) and the bot has no working key until the next rotation.
   */
  async rotateBotKey(
    botId: string,
    by: Actor,
    reason?: string,
    context: AdminContext = {},
  ): Promise<BotKeyRotation> {
    const bot = this.policyBot(botId);
    const key = generateSecret('bot');
    const hash = hashSecret(key);
    const { before } = await this.changeBotState(botId, { apiKey: { hash, by: by.id } });
    await this.deps.audit.recordAdminAction('bot.key_rotated', null, by, {
      botId,
      reason: reason ?? null,
      credential: keyFingerprint(hash),
      previousCredential: keyFingerprint(before?.apiKey?.hash ?? bot.apiKeyHash),
      ...context,
    });
    this.deps.logger.warn({ botId, by: by.id }, 'bot API key rotated');
    return { bot: await this.getBot(botId), key };
  }

  /** @throws ApiError `not_found` (field `id`) when the policy has no such bot */
  private policyBot(botId: string): BotPolicy {
    const bot = this.deps.policy.bots.find((b) => b.id === botId);
    if (!bot) throw new ApiError('not_found', `bot ${botId} not found`, 'id');
    return bot;
  }

  private read<T>(p: Promise<T>): Promise<T> {
    return p.catch((err: unknown) => {
      throw unavailable(this.deps.logger, err, 'read the audit store');
    });
  }

  private changeBotState(botId: string, change: BotStateChange) {
    return this.deps.botStates
      .updateBotState(botId, change, this.clock().toISOString())
      .catch((err: unknown) => {
        throw unavailable(this.deps.logger, err, 'change the bot');
      });
  }

  /** Elevations of the bot that a lockdown revokes, every page. */
  private async openElevationsOf(botId: string): Promise<ElevationView[]> {
    const all: ElevationView[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.read(
        this.deps.elevations.listElevations({
          botId,
          status: LOCKDOWN_REVOKES,
          limit: 200,
          ...(cursor ? { cursor } : {}),
        }),
      );
      all.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return all;
  }
}
