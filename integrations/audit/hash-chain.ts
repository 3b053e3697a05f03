/**
 * The audit hash chain, shared by both store engines so they cannot disagree on it.
 * Each event's hash is SHA-256 over the RFC 8785 canonical JSON of all its fields except the
 * hash itself, including its position and the previous event's hash.
 */
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import type { AuditEvent, ChainAnchor, VerifyResult } from './audit-store.js';

/** `prevHash` of the first event. */
export const GENESIS_HASH = '0'.repeat(64);

/** Canonical JSON (RFC 8785) of a JSON-compatible value. */
export function canonicalJson(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value cannot be represented as JSON');
  return text;
}

/** The hash an event must carry, computed from its other fields. */
export function hashEvent(event: Omit<AuditEvent, 'hash'>): string {
  const body = {
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
  return createHash('sha256').update(canonicalJson(body), 'utf8').digest('hex');
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
    if (this.broken) return false;
    const at = { position: event.position, eventId: event.id, elevationId: event.elevationId };
    const anchored = this.anchors.get(event.position);
    if (event.position !== this.expectedPosition) {
      this.broken = { ...at, position: this.expectedPosition, reason: 'position_gap' };
    } else if (hashEvent(event) !== event.hash) {
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
