/**
 * Admission of a bot's requests: per-bot quotas (the policy's `limits`: how many elevations of one
 * role a bot may have awaiting approval and not yet ended, and how many requests it may have
 * accepted in an hour), and the bot's lockdown and disable state, checked where a request becomes
 * an elevation. A role bundle's elevation counts towards each of its roles, and a bundle is
 * admitted only while every one of its roles is under its limits: asking for a role inside a
 * bundle does not get round the role's own limit.
 *
 * Counts come from the audit store's elevation summaries, which a workflow writes with its first
 * event, a moment after the request started it. So that two requests of the same bot cannot both
 * pass a limit (the second one not yet seeing the first), the check and the workflow start run
 * under the store's cross-process lock on the bot (`withLock`, as the grant ledger uses it), and
 * every request admitted is noted in a short-lived record of the bot (a single-use namespace)
 * before its workflow is started, until its summary is in the store: a request counts whatever
 * has been recorded plus what has only been noted. A lockdown takes the same lock
 * ({@link BotQuotas.lockOut}) and finds there the requests not yet recorded.
 */
import type { Logger } from 'pino';
import type { BotLimits } from '../config/policy.js';
import { z } from 'zod';
import type { SingleUseNamespaces, SingleUseRecords } from '../core/ports/single-use.js';
import type { ElevationIndex } from '../store/elevation-index.js';
import type { GrantLeases } from '../store/grant-leases.js';
import type { AuditLog } from '../store/audit-log.js';
import type { ElevationStatus, ElevationView } from '../core/model/elevation.js';
import { ApiError } from './errors.js';

/** Which limit refused a request; the 429's `field` is `limits.<name>`. */
export type QuotaLimit = keyof BotLimits;

/** The stores quotas read and write. */
export interface QuotaStores {
  elevations: Pick<ElevationIndex, 'getElevation' | 'listElevations'>;
  /**
   * Where a request the worker refused is recorded: its workflow ends `failed` and records
   * `request.unverified` without a summary (so a forged start creates no elevation), and that
   * event is what says the request is over.
   */
  auditLog: Pick<AuditLog, 'listEvents'>;
  /** The cross-process lock on the bot. */
  leases: Pick<GrantLeases, 'withLock'>;
  /** Where the `bot-quota` notes are kept. */
  singleUse: SingleUseNamespaces;
}

/** A request accepted whose summary may not be in the store yet. */
const Noted = z.object({
  id: z.string(),
  role: z.string(),
  /** A bundle's roles (its `role` is the bundle's id); absent for a single role. */
  roles: z.array(z.string()).optional(),
  /** Whether it waits for approvers (else it is granted at once). */
  pending: z.boolean(),
  /** When it was accepted, epoch ms. */
  at: z.number(),
});
type Noted = z.infer<typeof Noted>;

const HOUR_MS = 3600_000;
/**
 * How long a request stays noted while its summary is not in the store: far longer than the hour
 * quotas count, so that a lockdown finds a request whose workers were down for a while.
 */
const NOTE_TTL_MS = 24 * HOUR_MS;
/** Statuses of an elevation that has not ended. */
const OPEN: ElevationStatus[] = ['pending_approval', 'approved', 'active', 'revoking'];
/**
 * Requests of one bot accepted but still not recorded, beyond which the workers are taken to be
 * down: new requests get 503 rather than pile up more workflows (and keep the note small).
 */
const MAX_UNRECORDED = 200;
/** Open elevations of a bot read per page when its limits are checked. */
const OPEN_PAGE = 500;

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
  /** The role's id (a bundle's: the bundle's id). */
  roleId: string;
  /** A bundle's roles, each counted and limited; absent for a single role. */
  roleIds?: readonly string[];
  /** Whether the role waits for approvers. */
  needsApproval: boolean;
  /** The elevation id the request would start (a replay of a noted one is not counted). */
  elevationId: string;
  limits: BotLimits;
  now: Date;
}

/** How a request is admitted ({@link BotQuotas.admit}). */
export interface Admission<T> {
  /**
   * Refuses the request by throwing (the bot is locked or disabled); run first under the bot's
   * lock, so that a lockdown, which takes the same lock, is either seen here or finds the request.
   */
  gate: () => Promise<void>;
  /** Starts the elevation (or answers with the existing one a replay names). */
  start: () => Promise<T>;
  /**
   * After `start` threw: whether the elevation may have started anyway (a lost answer), in
   * which case its note is kept for the lockdown and the quotas. Default: it may have.
   */
  mayHaveStarted?: (err: unknown) => Promise<boolean>;
}

/**
 * Admits the requests of a bot one at a time: its state, its quotas, the workflow start.
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
   * Admit a request, holding the bot's lock so that no other request of the bot is counted or
   * started meanwhile, and no lockdown of the bot changes its state: `gate` first, then the
   * limits, then the request is noted, then `start` runs. A note is written before the start,
   * so an elevation that starts is always noted (a note that cannot be written is a 503 and
   * nothing starts); a start that surely failed takes its note back.
   *
   * @throws QuotaError when a limit is reached (nothing is started)
   */
  admit<T>(req: QuotaRequest, admission: Admission<T>): Promise<T> {
    return this.stores.leases.withLock(lockKey(req.botId), async () => {
      await admission.gate();
      const key = req.botId;
      const now = req.now.getTime();
      const unrecorded = await this.unrecorded(key, now);
      // The same request again while its first attempt is not yet recorded: a replay.
      const replay = unrecorded.some((n) => n.id === req.elevationId);
      if (!replay) {
        // Quotas count the last hour's requests (a note older than that is kept for lockdowns).
        await this.check(
          req,
          unrecorded.filter((n) => now - n.at < HOUR_MS),
        );
        await this.write(
          key,
          [
            ...unrecorded,
            {
              id: req.elevationId,
              role: req.roleId,
              ...(req.roleIds ? { roles: [...req.roleIds] } : {}),
              pending: req.needsApproval,
              at: now,
            },
          ],
          now,
        );
      }
      try {
        return await admission.start();
      } catch (err) {
        if (!replay && !(await (admission.mayHaveStarted?.(err) ?? Promise.resolve(true)))) {
          await this.write(key, unrecorded, now).catch((noteErr: unknown) => {
            // Counted as open until its note expires: a quota may refuse a little early.
            this.logger.error(
              { err: (noteErr as Error).message, botId: req.botId, elevationId: req.elevationId },
              'could not take back the note of a request that did not start',
            );
          });
        }
        throw err;
      }
    });
  }

  /**
   * Run `fn` under the bot's lock, the one every request of the bot is admitted under, after
   * listing (under it too) the ids of the requests admitted but not recorded in the store yet.
   * What `fn` changes (a lockdown) is seen by every request admitted after it; every request
   * admitted before it is in the list or has its summary in the store.
   */
  lockOut<T>(botId: string, now: Date, fn: () => Promise<T>): Promise<{ result: T; unrecorded: string[] }> {
    return this.stores.leases.withLock(lockKey(botId), async () => {
      const unrecorded = (await this.unrecorded(botId, now.getTime())).map((n) => n.id);
      return { result: await fn(), unrecorded };
    });
  }

  /**
   * The noted requests not yet in the store (and noted less than {@link NOTE_TTL_MS} ago). A
   * request whose workflow refused it (`request.unverified`: an API whose clock is off, a key the
   * workers do not trust) has no summary, ever; its recorded refusal ends its note, or every such
   * request would count as open for an hour and a bot would be refused for elevations it never had.
   */
  private async unrecorded(key: string, now: number): Promise<Noted[]> {
    const noted = (await this.notes.peek(key)) ?? [];
    const left: Noted[] = [];
    // Checked before the store is counted: a summary written in between is then counted once.
    for (const n of noted) {
      if (now - n.at >= NOTE_TTL_MS) continue;
      if (await this.stores.elevations.getElevation(n.id)) continue;
      const events = await this.stores.auditLog.listEvents(n.id);
      if (!events.some((e) => e.type === 'request.unverified')) left.push(n);
    }
    return left;
  }

  private async write(key: string, notes: Noted[], now: number): Promise<void> {
    const expires = new Date(now + NOTE_TTL_MS);
    if (!(await this.notes.replace(key, notes, expires))) await this.notes.put(key, notes, expires);
  }

  private async check(req: QuotaRequest, noted: Noted[]): Promise<void> {
    const { limits, botId, roleId } = req;
    if (noted.length >= MAX_UNRECORDED) {
      throw new ApiError(
        'service_unavailable',
        `${noted.length} earlier requests of bot ${botId} are not recorded yet; try again later`,
      );
    }
    // Every elevation of the bot not yet ended (bounded by the limits themselves), each with the
    // roles it grants, and the requests noted but not recorded yet.
    const open = await this.openOf(botId);
    const ids = new Set(open.map((v) => v.id));
    const held = [
      ...open.map((v) => ({
        roles: v.bundle ? v.bundle.grants.map((g) => g.roleId) : [v.roleId],
        pending: v.status === 'pending_approval',
      })),
      ...noted.filter((n) => !ids.has(n.id)).map((n) => ({ roles: n.roles ?? [n.role], pending: n.pending })),
    ];
    for (const role of req.roleIds ?? [roleId]) {
      const ofRole = held.filter((h) => h.roles.includes(role));
      const inBundle = req.roleIds ? ` (in bundle ${roleId})` : '';
      const counted = 'counting the bundles that include it';
      const pending = ofRole.filter((h) => h.pending).length;
      if (req.needsApproval && pending >= limits.pendingPerRole) {
        throw new QuotaError(
          'pendingPerRole',
          `bot ${botId} already has ${pending} requests of role ${role}${inBundle} waiting for approval, ${counted} (the limit is ${limits.pendingPerRole}); wait for a decision or revoke one`,
        );
      }
      if (ofRole.length >= limits.openPerRole) {
        throw new QuotaError(
          'openPerRole',
          `bot ${botId} already has ${ofRole.length} elevations of role ${role}${inBundle} that have not ended, ${counted} (the limit is ${limits.openPerRole}); revoke one first`,
        );
      }
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

  /** Every elevation of the bot that has not ended, page by page. */
  private async openOf(botId: string): Promise<ElevationView[]> {
    const open: ElevationView[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.stores.elevations.listElevations({
        botId,
        status: OPEN,
        limit: OPEN_PAGE,
        ...(cursor !== undefined ? { cursor } : {}),
      });
      open.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return open;
  }

  /** Up to `limit` elevations matching `query` (enough to tell whether a limit is reached). */
  private async list(query: { botId: string; from: string }, limit: number): Promise<ElevationView[]> {
    return (await this.stores.elevations.listElevations({ ...query, limit })).items;
  }
}

/** The key of the bot's lock (shared by admissions and lockdowns). */
function lockKey(botId: string): string {
  return `bot-quota|${botId}`;
}
