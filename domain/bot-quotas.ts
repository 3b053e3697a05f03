/**
 * Per-bot quotas (the policy's `limits`): how many elevations of one role a bot may have
 * awaiting approval and not yet ended, and how many requests it may have accepted in an hour.
 *
 * Counts come from the audit store's elevation summaries, which a workflow writes with its first
 * event, a moment after the request started it. So that two requests of the same bot cannot both
 * pass a limit (the second one not yet seeing the first), the check and the workflow start run
 * under the store's cross-process lock on the bot (`withLock`, as the grant ledger uses it), and
 * every request accepted is noted in a short-lived record of the bot (a single-use namespace) until
 * its summary is in the store: a request counts whatever has been recorded plus what has only
 * been noted.
 */
import type { Logger } from 'pino';
import type { BotLimits } from '../config/policy.js';
import { z } from 'zod';
import type { SingleUseNamespaces, SingleUseRecords } from '../core/ports/single-use.js';
import type { ElevationIndex } from '../store/elevation-index.js';
import type { GrantLeases } from '../store/grant-leases.js';
import type { ElevationStatus, ElevationView } from '../core/model/elevation.js';
import { ApiError } from './errors.js';

/** Which limit refused a request; the 429's `field` is `limits.<name>`. */
export type QuotaLimit = keyof BotLimits;

/** The stores quotas read and write. */
export interface QuotaStores {
  elevations: Pick<ElevationIndex, 'getElevation' | 'listElevations'>;
  /** The cross-process lock on the bot. */
  leases: Pick<GrantLeases, 'withLock'>;
  /** Where the `bot-quota` notes are kept. */
  singleUse: SingleUseNamespaces;
}

/** A request accepted whose summary may not be in the store yet. */
const Noted = z.object({
  id: z.string(),
  role: z.string(),
  /** Whether it waits for approvers (else it is granted at once). */
  pending: z.boolean(),
  /** When it was accepted, epoch ms. */
  at: z.number(),
});
type Noted = z.infer<typeof Noted>;

const HOUR_MS = 3600_000;
/** Statuses of an elevation that has not ended. */
const OPEN: ElevationStatus[] = ['pending_approval', 'approved', 'active', 'revoking'];
/**
 * Requests of one bot accepted but still not recorded, beyond which the workers are taken to be
 * down: new requests get 503 rather than pile up more workflows (and keep the note small).
 */
const MAX_UNRECORDED = 200;

/** 429 `too_many_requests`, naming the limit (`field`) and, when it helps, when to retry. */
export class QuotaError extends ApiError {
  constructor(
    readonly limit: QuotaLimit,
    message: string,
    retryAfterSeconds?: number,
  ) {
    super('too_many_requests', message, `limits.${limit}`);
    if (retryAfterSeconds !== undefined) this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** What a new request would make of the bot's usage. */
export interface QuotaRequest {
  botId: string;
  roleId: string;
  /** Whether the role waits for approvers. */
  needsApproval: boolean;
  /** The elevation id the request would start (a replay of a noted one is not counted). */
  elevationId: string;
  limits: BotLimits;
  now: Date;
}

/**
 * Enforces per-bot quotas around the start of an elevation.
 */
export class BotQuotas {
  /** The requests of each bot noted and not yet recorded, by bot id. */
  private readonly notes: SingleUseRecords<Noted[]>;

  constructor(
    private readonly stores: QuotaStores,
    private readonly logger: Pick<Logger, 'error'>,
  ) {
    this.notes = stores.singleUse.namespace('bot-quota', z.array(Noted));
  }

  /**
   * Run `start` if the request fits the bot's limits, holding the bot's lock so that no other
   * request of the bot is counted or started meanwhile; note the request once `start` returns
   * `true` (a new elevation; `false` means it answered with an existing one).
   *
   * @throws QuotaError when a limit is reached (nothing is started)
   */
  admit<T>(req: QuotaRequest, start: () => Promise<{ started: boolean; result: T }>): Promise<T> {
    return this.stores.leases.withLock(`bot-quota|${req.botId}`, async () => {
      const key = req.botId;
      const noted = await this.unrecorded(key, req.now.getTime());
      // The same request again while its first attempt is not yet recorded: a replay.
      if (!noted.some((n) => n.id === req.elevationId)) await this.check(req, noted);
      const { started, result } = await start();
      if (started) {
        const next = [
          ...noted,
          { id: req.elevationId, role: req.roleId, pending: req.needsApproval, at: req.now.getTime() },
        ];
        const expires = new Date(req.now.getTime() + HOUR_MS);
        try {
          if (!(await this.notes.replace(key, next, expires))) await this.notes.put(key, next, expires);
        } catch (err) {
          // The elevation has started: answer with it. Until its summary is stored (a moment
          // later) the next request of the bot may not count it; that is all this costs.
          this.logger.error(
            { err: (err as Error).message, botId: req.botId, elevationId: req.elevationId },
            'could not note an accepted request for the bot quotas',
          );
        }
      }
      return result;
    });
  }

  /** The noted requests not yet in the store and less than an hour old. */
  private async unrecorded(key: string, now: number): Promise<Noted[]> {
    const noted = (await this.notes.peek(key)) ?? [];
    const left: Noted[] = [];
    // Checked before the store is counted: a summary written in between is then counted once.
    for (const n of noted) {
      if (now - n.at >= HOUR_MS) continue;
      if (!(await this.stores.elevations.getElevation(n.id))) left.push(n);
    }
    return left;
  }

  private async check(req: QuotaRequest, noted: Noted[]): Promise<void> {
    const { limits, botId, roleId } = req;
    if (noted.length >= MAX_UNRECORDED) {
      throw new ApiError(
        'service_unavailable',
        `${noted.length} earlier requests of bot ${botId} are not recorded yet; try again later`,
      );
    }
    const open = await this.list({ botId, roleId, status: OPEN }, limits.openPerRole);
    const ids = new Set(open.map((v) => v.id));
    const unrecorded = noted.filter((n) => n.role === roleId && !ids.has(n.id));
    const pending =
      open.filter((v) => v.status === 'pending_approval').length + unrecorded.filter((n) => n.pending).length;
    if (req.needsApproval && pending >= limits.pendingPerRole) {
      throw new QuotaError(
        'pendingPerRole',
        `bot ${botId} already has ${pending} requests of role ${roleId} waiting for approval (the limit is ${limits.pendingPerRole}); wait for a decision or revoke one`,
      );
    }
    const openCount = open.length + unrecorded.length;
    if (openCount >= limits.openPerRole) {
      throw new QuotaError(
        'openPerRole',
        `bot ${botId} already has ${openCount} elevations of role ${roleId} that have not ended (the limit is ${limits.openPerRole}); revoke one first`,
      );
    }
    const from = new Date(req.now.getTime() - HOUR_MS).toISOString();
    const recent = await this.list({ botId, from }, limits.requestsPerHour);
    const recentIds = new Set(recent.map((v) => v.id));
    const times = [
      ...recent.map((v) => Date.parse(v.requestedAt)),
      ...noted.filter((n) => !recentIds.has(n.id)).map((n) => n.at),
    ].sort((a, b) => b - a);
    if (times.length >= limits.requestsPerHour) {
      // A request becomes possible when the oldest of the newest `requestsPerHour` leaves the hour.
      const oldest = times[limits.requestsPerHour - 1]!;
      const retryAfter = Math.max(1, Math.ceil((oldest + HOUR_MS - req.now.getTime()) / 1000));
      throw new QuotaError(
        'requestsPerHour',
        `bot ${botId} has made ${times.length} requests in the last hour (the limit is ${limits.requestsPerHour}); try again in ${retryAfter} s`,
        retryAfter,
      );
    }
  }

  /** Up to `limit` elevations matching `query` (enough to tell whether a limit is reached). */
  private async list(
    query: { botId: string; roleId?: string; status?: ElevationStatus[]; from?: string },
    limit: number,
  ): Promise<ElevationView[]> {
    return (await this.stores.elevations.listElevations({ ...query, limit })).items;
  }
}
