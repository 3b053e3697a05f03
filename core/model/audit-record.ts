/**
 * The audit trail's records as the stores keep them and every reader sees them: an event as a
 * writer hands it over, as stored (numbered and chained), and what verifying the chain reports.
 * Pure types: the stores (`store/audit-log.ts`), the exports and the console share them.
 */
import type { Actor, ElevationView } from './elevation.js';
import type { EventType } from './events.js';
import type { EventDataOf } from './event-data.js';

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
 * The append of the audit log, as Elevate's own writers see it: each event's `data` must
 * be what its type says. The audit log (`store/audit-log.ts`) is one.
 */
export interface TypedAuditAppender {
  append<T extends EventType>(event: TypedNewAuditEvent<T>): Promise<AuditEvent>;
}

/** An appender that also stores several events as one unit, as the workflow's records need. */
export interface OrderedAuditAppender extends TypedAuditAppender {
  /** Events in order, all or none: an elevation's events never land out of order. */
  appendAll(events: readonly TypedNewAuditEvent<EventType>[]): Promise<AuditEvent[]>;
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
   * Whether signed checkpoints vouch for the chain (see `core/crypto/audit-checkpoints.ts`). Without them a clean
   * walk only shows the chain is self-consistent: anyone who can write the database could have
   * rewritten it and recomputed every hash. Set by the audit log's `verify`.
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
