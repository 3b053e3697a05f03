/**
 * The audit store: an append-only, hash-chained event log plus a summary row per elevation,
 * the grant ledger's leases, and the approval flow's short-lived single-use records. One
 * interface, two engines (SQLite for the embedded default, PostgreSQL at scale), both in this
 * folder.
 */
import type {
  Actor,
  ElevationStatus,
  ElevationView,
  EventType,
  TargetRef,
} from '../../workflows/definitions.js';

/** An event as the caller hands it over. */
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

/** An event as stored: numbered and chained. */
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
  | 'truncated'; // the chain ends before an anchored position (tail deleted)

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
   * Walk the whole chain in position order and report the first event that does not check
   * out, also against the store's head record and any `anchors` given.
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
}

/**
 * Short-lived records for the approval flow. Not part of the audit chain; expired rows are
 * ignored and purged.
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
   * Delete expired rows; returns how many. Called now and then (also opportunistically from
   * putIfAbsent, cheaply).
   */
  purgeExpired(now?: Date): Promise<number>;
}

/** Every part, as each engine provides them. */
export type Store = AuditStore & LeaseStore & EphemeralStore;
