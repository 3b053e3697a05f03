/**
 * The audit store: an append-only, hash-chained event log plus a summary row per elevation,
 * the grant ledger's leases, and the approval flow's short-lived single-use records. One
 * interface, two engines (SQLite for the embedded default, PostgreSQL at scale), both in this
 * folder.
 */
import type { Actor, ElevationStatus, ElevationView } from '../../core/model/elevation.js';
import type { EventType } from '../../core/model/events.js';
import type { EventDataOf } from '../../core/model/event-data.js';
import type { TargetRef, TargetType } from '../../core/model/targets.js';
import type { Risk } from '../../core/rules/risk.js';
import type { SignedCheckpoint } from './checkpoints.js';

/**
 * An event as the caller hands it over. The store takes any JSON object as `data`; Elevate's own
 * code appends through {@link TypedAuditAppender}, which checks it against the event type's
 * schema at compile time.
 */
export interface NewAuditEvent {
  /** Unique id, also the idempotency key: appending the same id twice stores it once. */
  id: string;
  /** The elevation it belongs to, or null for refusals that name none (bad credentials...). */
  elevationId: string | null;
  type: EventType;
  /** ISO-8601 instant the thing happened. */
  at: string;
  actor: Actor;
  data: Record<string, unknown>;
  /** The elevation as it stands after this event; replaces its summary row atomically. */
  elevation?: ElevationView;
}

/** A {@link NewAuditEvent} of type `T` whose `data` is typed by `T` (`core/model/event-data.ts`). */
export type TypedNewAuditEvent<T extends EventType> = Omit<NewAuditEvent, 'type' | 'data'> & {
  type: T;
  data: EventDataOf<T>;
};

/**
 * The append of an {@link AuditStore}, as Elevate's own writers see it: each event's `data` must
 * be what its type says. Every `AuditStore` is one.
 */
export interface TypedAuditAppender {
  append<T extends EventType>(event: TypedNewAuditEvent<T>): Promise<AuditEvent>;
}

/**
 * An event as stored: numbered and chained. `data` is as stored, of any shape a version of
 * Elevate (or a damaged row) left: read it with `parseEventData` (`core/model/event-data.ts`).
 */
export interface AuditEvent {
  id: string;
  elevationId: string | null;
  /** 1, 2, 3... within one elevation (events without an elevation share one sequence). */
  seq: number;
  type: EventType;
  at: string;
  actor: Actor;
  data: Record<string, unknown>;
  /** 1, 2, 3... across the whole store: the chain order. */
  position: number;
  /** Hash of the event at `position - 1` (64 zeros for the first). */
  prevHash: string;
  /** SHA-256 (hex) of the canonical JSON of every field above except `hash` itself. */
  hash: string;
}

/** Filters for listing elevations; newest first. */
export interface ElevationQuery {
  botId?: string;
  roleId?: string;
  /** The bot's owner (e-mail, lower case) as recorded at request time. */
  owner?: string;
  /** The bot's team as recorded at request time. */
  team?: string;
  /** The role's environment. */
  environment?: string;
  /** The kind of target the role is granted in. */
  targetType?: TargetType;
  /** The elevation's risk (see `core/rules/risk.ts`). */
  risk?: Risk;
  status?: ElevationStatus[];
  /** Requested at or after this ISO instant. */
  from?: string;
  /** Requested strictly before this ISO instant. */
  to?: string;
  limit: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface ElevationPage {
  items: ElevationView[];
  /** Present when more items follow. */
  nextCursor?: string;
}

/** Why a position in the chain does not check out. */
export type ChainBreak =
  | 'hash_mismatch' // the row's content does not hash to its stored hash (edited)
  | 'prev_hash_mismatch' // the row does not follow the row before it (deleted or reordered)
  | 'position_gap' // a position is missing (deleted)
  | 'anchor_mismatch' // the event at an anchored position has another hash (chain rewritten)
  | 'truncated' // the chain ends before an anchored position (tail deleted)
  | 'checkpoint_mismatch' // the row's hash is not the one a signed checkpoint recorded (rewritten here)
  | 'checkpoint_invalid' // a stored checkpoint's signature does not hold (forged or altered)
  | 'checkpoint_missing'; // a checkpoint that must exist at this position is gone (deleted)

/**
 * A (position, hash) known to be in the chain: the store's own head record, or one an admin
 * noted from an earlier verify. A rewrite of everything after some point re-hashes cleanly,
 * but cannot keep an anchor's hash.
 */
export interface ChainAnchor {
  position: number;
  hash: string;
}

export interface VerifyResult {
  ok: boolean;
  /** Events checked. */
  checked: number;
  /** Last event of the chain as found; record it elsewhere to detect a truncated tail later. */
  head?: { position: number; hash: string };
  /** The first event that does not check out (for `truncated`, the first missing position). */
  firstBroken?: {
    position: number;
    eventId?: string;
    elevationId?: string | null;
    reason: ChainBreak;
  };
  /**
   * Whether signed checkpoints vouch for the chain (see `checkpoints.ts`). Without them a clean
   * walk only shows the chain is self-consistent: anyone who can write the database could have
   * rewritten it and recomputed every hash. Set by the stores' `verify`.
   */
  anchoring?: ChainAnchoring;
}

/** How far signed checkpoints vouch for the chain. */
export interface ChainAnchoring {
  /** `anchored`: a checkpoint whose signature holds covers the chain up to `through`. */
  status: 'anchored' | 'not_anchored';
  /** Why not: no checkpoint key is configured here, or no checkpoint has been written yet. */
  reason?: 'no_key' | 'no_checkpoint';
  /** Checkpoints whose signature holds. */
  checkpoints: number;
  /** The newest of them. */
  through?: { position: number; hash: string; at: string; kid: string };
  /** Events after the newest checkpoint (covered by the next one). */
  unanchored: number;
}

/** Signed checkpoints of the chain, as the stores keep them. */
export interface CheckpointStore {
  /** The newest stored checkpoint (unchecked), if any: webhooks carry it, evidence packs show it. */
  latestCheckpoint(): Promise<SignedCheckpoint | undefined>;
}

export interface AuditStore {
  /** Append one event (idempotent by `id`); returns the stored event. */
  append(event: NewAuditEvent): Promise<AuditEvent>;
  /** All events of one elevation, in `seq` order. */
  listEvents(elevationId: string): Promise<AuditEvent[]>;
  /** Up to `limit` events after `afterPosition`, in chain order (page through the whole log). */
  readEvents(afterPosition: number, limit: number): Promise<AuditEvent[]>;
  /** The summary row of one elevation. */
  getElevation(id: string): Promise<ElevationView | undefined>;
  listElevations(query: ElevationQuery): Promise<ElevationPage>;
  /**
   * How many elevations are in each status (every status present, 0 for none). One grouped
   * count over the `elevations_status` index, cheap enough for every metrics scrape.
   */
  countByStatus(): Promise<Record<ElevationStatus, number>>;
  /**
   * Walk the whole chain in position order and report the first event that does not check
   * out, also against the store's head record, its signed checkpoints (see `checkpoints.ts`)
   * and any `anchors` given; `anchoring` says whether checkpoints vouch for the chain.
   */
  verify(options?: { anchors?: ChainAnchor[] }): Promise<VerifyResult>;
  /** Cheap round trip for health checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** One elevation's claim on a (target, principal) membership. */
export interface Lease {
  elevationId: string;
  /** Identifies the membership: target type, target object and principal, normalised. */
  key: string;
  target: TargetRef;
  principal: string;
  state: 'held' | 'released';
  acquiredAt?: string;
  releasedAt?: string;
}

export type LeaseInput = Pick<Lease, 'elevationId' | 'key' | 'target' | 'principal'>;

/** A lease that is held, as {@link LeaseStore.heldLeases} lists it. */
export type HeldLease = LeaseInput & { acquiredAt: string };

/**
 * The durable half of the grant ledger. The ledger's rule is: a principal is a member of a
 * target while at least one lease on that key is held. Changes to one key are serialised by
 * {@link LeaseStore.withLock}, so deciding "am I the last holder?" and changing the target
 * happen as one step, across processes.
 */
export interface LeaseStore {
  /**
   * Run `fn` while holding the exclusive lock on `key`. The lock is released when `fn`
   * settles, and also if this process dies (PostgreSQL: it is tied to the connection;
   * SQLite: the holder renews it while `fn` runs, and it lapses `lockTtlMs` after the last
   * renewal).
   */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T>;
  /**
   * Mark the lease held (creating it if needed). Returns `'released'` without changing
   * anything if the lease was already released: a released lease is never held again.
   */
  hold(lease: LeaseInput, at: string): Promise<'held' | 'released'>;
  /**
   * Mark the lease released (creating a released tombstone if it never existed, so a late
   * grant cannot hold it afterwards). Idempotent.
   */
  release(lease: LeaseInput, at: string): Promise<void>;
  /** Elevation ids whose lease on `key` is held, oldest first. */
  holders(key: string): Promise<string[]>;
  getLease(elevationId: string): Promise<Lease | undefined>;
  /**
   * Up to `limit` held leases, by elevation id, after `after` (the last elevation id of the
   * previous page; omit it for the first). Keyset-paged over an index of held leases only, so
   * a page costs the same however many released leases the store has kept.
   *
   * @throws {@link InvalidQueryError} when `limit` is not a whole number from 1 to 1000
   */
  heldLeases(page: { after?: string; limit: number }): Promise<HeldLease[]>;
}

/**
 * Short-lived records for the approval flow. Not part of the audit chain; expired rows are
 * ignored and purged. With a MAC key (see `row-mac.ts`) each row carries an HMAC over its key,
 * value and expiry: a row inserted or altered behind the store's back reads as absent.
 *
 * They live in the audit store's database so that every API process sees the same records:
 * an OIDC login started on one process may finish on another, and a Slack interaction
 * replayed to a second process must still act only once. Expiry is judged by the clock of
 * the process making the call, the same clock that computes `expiresAt`. Keys are 1 to 512
 * characters; a value's JSON text is at most 64 KiB (UTF-8).
 */
export interface EphemeralStore {
  /**
   * Store `value` (JSON-serialisable) under `key` until `expiresAt`, unless a live (unexpired)
   * entry exists. True when stored. Atomic across processes.
   *
   * @throws {@link InvalidEphemeralError} when the key, value or expiry cannot be stored
   *   (key empty or too long, value not JSON or larger than 64 KiB, expiry not a valid date)
   */
  putIfAbsent(key: string, value: unknown, expiresAt: Date): Promise<boolean>;
  /** The live value under `key`, if any. */
  peek(key: string): Promise<unknown>;
  /**
   * Remove and return the live value under `key` (single use: of two concurrent takes across
   * processes exactly one gets it). Undefined when absent or expired.
   */
  take(key: string): Promise<unknown>;
  /**
   * Replace the value and expiry of the live record under `key` (a console session that slides
   * its idle timeout). False, and nothing stored, when there is no live record: a record taken
   * or expired meanwhile is not brought back.
   *
   * @throws {@link InvalidEphemeralError} as {@link EphemeralStore.putIfAbsent} does
   */
  replace(key: string, value: unknown, expiresAt: Date): Promise<boolean>;
  /**
   * Delete expired rows; returns how many. Called now and then (also opportunistically from
   * putIfAbsent, cheaply).
   */
  purgeExpired(now?: Date): Promise<number>;
}

/** A stream cursor as stored, for inspection. */
export interface StreamCursor {
  /** The state last saved (JSON), or null when the cursor was claimed but never saved. */
  state: unknown;
  /** Who holds, or last held, the lease. */
  owner: string;
  /** When the lease lapses (in the past: free to claim). */
  leaseUntil: Date;
  /** When the state was last saved or the cursor created. */
  updatedAt: Date;
}

/**
 * Durable progress of a consumer that follows the audit chain with `readEvents` (the webhook
 * sink), with a lease so that one process at a time advances each cursor. Not part of the
 * chain. Lease times are judged by the clock of the process making the call, so the processes
 * sharing a store need clocks that agree (NTP); holders stop work well before their lease ends.
 *
 * Only the holder can write: `saveCursor` and `renewCursor` fail once another owner has
 * claimed the cursor, even if that owner has since released it. That is the fence that keeps
 * a holder who stalled past its lease from overwriting its successor's progress.
 */
export interface CursorStore {
  /**
   * Take the lease on cursor `name` for `owner` until `ttlMs` from now, when it is free, lapsed
   * or already `owner`'s (creating the cursor if needed). Atomic across processes.
   *
   * @returns the saved state (`null` when never saved) if `owner` now holds the lease;
   *   `undefined` when another owner holds it
   */
  claimCursor(name: string, owner: string, ttlMs: number): Promise<{ state: unknown } | undefined>;
  /** Extend `owner`'s lease to `ttlMs` from now. False when the cursor has passed to another owner. */
  renewCursor(name: string, owner: string, ttlMs: number): Promise<boolean>;
  /**
   * Replace the state (JSON-serialisable) and extend the lease, only while `owner` holds the
   * cursor. False when it has passed to another owner; nothing is written then.
   */
  saveCursor(name: string, owner: string, ttlMs: number, state: unknown): Promise<boolean>;
  /** End `owner`'s lease now (the state stays), so another process can take over at once. */
  releaseCursor(name: string, owner: string): Promise<void>;
  /** The cursor as stored, if it exists. */
  readCursor(name: string): Promise<StreamCursor | undefined>;
}

/** An admin's lockdown of a bot: no new requests until it is unlocked. */
export interface BotLock {
  /** When the bot was locked (ISO instant). */
  at: string;
  /** The admin who locked it. */
  by: string;
  /** Why, as the admin said. */
  reason: string;
}

/**
 * What admins changed about one bot at runtime, since the policy was deployed. Absent fields
 * of the policy are not repeated here: the policy stays the source of the bot's identity,
 * roles and principals, and this record only overrides what it says.
 */
export interface BotState {
  botId: string;
  /** Locked down (requests refused with `bot_locked`), or null. */
  locked: BotLock | null;
  /**
   * An admin's override of the policy's `disabled`, or null when the policy decides. The
   * service keeps an override only while it differs from the policy.
   */
  disabled: { value: boolean; at: string; by: string } | null;
  /**
   * The API key an admin rotated to (its hash), or null: the policy's `apiKeyHash` is then the
   * bot's key. Once set, the policy's key no longer authenticates the bot.
   */
  apiKey: { hash: string; rotatedAt: string; rotatedBy: string } | null;
  /** When any of it last changed. */
  updatedAt: string;
}

/** A change to a bot's state; fields left out stay as they are. */
export interface BotStateChange {
  /**
   * Lock the bot (a lock already in place is kept, with its own time, admin and reason), or
   * unlock it with null.
   */
  lock?: { by: string; reason: string } | null;
  /**
   * Override the policy's `disabled` (an override with the same value keeps its time and admin),
   * or go back to the policy with null.
   */
  disabled?: { value: boolean; by: string } | null;
  /** Replace the bot's API key with the one whose hash (`sha256:<hex>`) this is. */
  apiKey?: { hash: string; by: string };
}

/**
 * Runtime state of bots, kept in the audit store's database so that every API process sees
 * the same lockdowns, overrides and rotated keys. Not part of the audit chain: every change is
 * recorded there by the caller as an event. With a MAC key (see `row-mac.ts`) a row altered
 * behind the store's back reads as *quarantined*: locked, with an API key nobody holds.
 */
export interface BotStateStore {
  /** The bot's state, if an admin ever changed it. */
  getBotState(botId: string): Promise<BotState | undefined>;
  /** The state holding this rotated API key hash, if any (how a rotated key authenticates). */
  findBotStateByKeyHash(keyHash: string): Promise<BotState | undefined>;
  /** Every bot's state, by bot id. */
  listBotStates(): Promise<BotState[]>;
  /**
   * Apply `change` to the bot's state (creating it if needed), as one atomic step across
   * processes; `at` is the instant recorded for what changes.
   *
   * @returns the state before (undefined if there was none) and after
   * @throws {@link InvalidQueryError} when the bot id or key hash is malformed
   */
  updateBotState(
    botId: string,
    change: BotStateChange,
    at: string,
  ): Promise<{ before: BotState | undefined; after: BotState }>;
  /**
   * How many elevations of each bot are not yet ended (`pending_approval`, `approved`, `active`,
   * `revoking`), by bot id and status; only bots and statuses with some. One grouped count.
   */
  openElevationCounts(botId?: string): Promise<Record<string, Partial<Record<ElevationStatus, number>>>>;
}

/** Every part, as each engine provides them. */
export type Store = AuditStore & LeaseStore & EphemeralStore & CursorStore & BotStateStore & CheckpointStore;
