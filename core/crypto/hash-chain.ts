/**
 * The audit hash chain, shared by the audit log, the exports and the evidence packs so they cannot disagree on it.
 * Each event's hash is SHA-256 over the RFC 8785 canonical JSON of all its fields except the
 * hash itself, including its position and the previous event's hash.
 */
import { createHash, hash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AuditEvent, ChainAnchor, VerifyResult } from '../model/audit-record.js';

/** `prevHash` of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** Canonical JSON (RFC 8785) of a JSON-compatible value. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be represented as JSON');
  return text;
}

/**
 * The fields an event's hash covers, as a plain record in chain order. Only these fields are
 * copied (the actor's too), so nothing else an object happens to carry — `hash` itself, or a
 * wider row's columns — reaches a hash, an export or a webhook.
 */
function hashedFields(event: Omit<AuditEvent, 'hash'>): Omit<AuditEvent, 'hash'> {
  return {
    position: event.position,
    id: event.id,
    elevationId: event.elevationId,
    seq: event.seq,
    type: event.type,
    at: event.at,
    actor: { kind: event.actor.kind, id: event.actor.id },
    data: event.data,
    prevHash: event.prevHash,
  };
}

/**
 * The event as a plain record with its chain fields, in a fixed order (chain fields first,
 * `hash` last): the form in which it is exported and sent to webhooks. {@link hashEvent}
 * re-computes `hash` from the rest of it.
 */
export function eventRecord(event: AuditEvent): AuditEvent {
  return { ...hashedFields(event), hash: event.hash };
}

/** The hash an event must carry, computed from its other fields. */
export function hashEvent(event: Omit<AuditEvent, 'hash'>): string {
  return createHash('sha256')
    .update(canonicalJson(hashedFields(event)), 'utf8')
    .digest('hex');
}

/**
 * A stored event as an engine reads it, its `data` still the JSON text it was stored as. Both
 * engines store `canonicalJson(data)`, so the hash can be checked without parsing it.
 */
export interface StoredEventText {
  position: number;
  id: string;
  elevationId: string | null;
  seq: number;
  type: string;
  at: string;
  actorKind: string;
  actorId: string;
  dataText: string;
  prevHash: string;
  hash: string;
}

/**
 * {@link hashEvent} computed from the stored text: the canonical JSON of the event is put
 * together around `dataText` as stored (keys in RFC 8785 order; strings and integers exactly as
 * `JSON.stringify` writes them, which RFC 8785 adopts). Equal to `hashEvent` of the parsed event
 * whenever `dataText` is canonical, as the engines store it. When it is not (a row written some
 * other way, or edited), the result differs, and the caller falls back to parsing: a match here
 * therefore proves the row (SHA-256 collisions aside), a mismatch proves nothing by itself.
 */
export function hashStoredEvent(e: StoredEventText): string {
  const text =
    `{"actor":{"id":${JSON.stringify(e.actorId)},"kind":${JSON.stringify(e.actorKind)}},` +
    `"at":${JSON.stringify(e.at)},"data":${e.dataText},` +
    `"elevationId":${e.elevationId === null ? 'null' : JSON.stringify(e.elevationId)},` +
    `"id":${JSON.stringify(e.id)},"position":${e.position},"prevHash":${JSON.stringify(e.prevHash)},` +
    `"seq":${e.seq},"type":${JSON.stringify(e.type)}}`;
  // The one-shot form: about three times faster than createHash() for short inputs, which is
  // most of the cost of verifying a long chain.
  return hash('sha256', text, 'hex');
}

/**
 * Checks events fed in position order, stopping at the first one that does not check out.
 * Engines stream their rows through it in pages, so memory stays bounded.
 */
export class ChainVerifier {
  /** Every hash anchored at each position: two anchors for one position must both hold. */
  private readonly anchors = new Map<number, string[]>();
  private expectedPosition = 1;
  private prevHash = GENESIS_HASH;
  private checked = 0;
  private broken: VerifyResult['firstBroken'];
  private head: VerifyResult['head'];

  /** `anchors`: positions whose hash is known from elsewhere (position 0, the genesis, is ignored). */
  constructor(anchors: ChainAnchor[] = []) {
    for (const a of anchors) {
      if (a.position > 0) this.anchors.set(a.position, [...(this.anchors.get(a.position) ?? []), a.hash]);
    }
  }

  /** Feed the next event; returns false once the chain is broken (stop feeding). */
  next(event: AuditEvent): boolean {
    return this.step(event, () => hashEvent(event) === event.hash);
  }

  /**
   * Feed the next event as stored: its hash is checked from the stored text
   * ({@link hashStoredEvent}), and only when that does not match from `parse()`'s event, so a
   * long chain is verified without parsing every event's data.
   */
  nextStored(stored: StoredEventText, parse: () => AuditEvent): boolean {
    return this.step(stored, () => {
      if (hashStoredEvent(stored) === stored.hash) return true;
      const event = parse();
      return hashEvent(event) === event.hash;
    });
  }

  private step(
    event: Pick<AuditEvent, 'position' | 'id' | 'elevationId' | 'prevHash' | 'hash'>,
    hashHolds: () => boolean,
  ): boolean {
    if (this.broken) return false;
    const at = { position: event.position, eventId: event.id, elevationId: event.elevationId };
    const anchored = this.anchors.get(event.position);
    if (event.position !== this.expectedPosition) {
      this.broken = { ...at, position: this.expectedPosition, reason: 'position_gap' };
    } else if (!hashHolds()) {
      this.broken = { ...at, reason: 'hash_mismatch' };
    } else if (event.prevHash !== this.prevHash) {
      this.broken = { ...at, reason: 'prev_hash_mismatch' };
    } else if (anchored?.some((hash) => hash !== event.hash)) {
      this.broken = { ...at, reason: 'anchor_mismatch' };
    }
    if (this.broken) return false;
    this.checked += 1;
    this.expectedPosition += 1;
    this.prevHash = event.hash;
    this.head = { position: event.position, hash: event.hash };
    return true;
  }

  result(): VerifyResult {
    // An anchor past the last event means events that once existed are gone.
    const beyond = [...this.anchors.keys()].filter((p) => p >= this.expectedPosition);
    if (!this.broken && beyond.length > 0) {
      this.broken = { position: this.expectedPosition, reason: 'truncated' };
    }
    return {
      ok: !this.broken,
      checked: this.checked,
      ...(this.head ? { head: this.head } : {}),
      ...(this.broken ? { firstBroken: this.broken } : {}),
    };
  }
}
