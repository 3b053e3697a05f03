/**
 * Signed checkpoints of the audit hash chain, and the keys that make them.
 *
 * The hash chain alone proves nothing against someone who can write the database: they can
 * rewrite an event, recompute every later hash and the head record, and the chain is
 * consistent again. A checkpoint closes that: every {@link CheckpointPolicy.every} events (or
 * on the first append once {@link CheckpointPolicy.intervalMs} has passed since the last one)
 * the appending process signs `(position, head hash, time)` with an Ed25519 key that is *not*
 * in the database, in the same transaction as the append, under the chain-head lock. So
 * whichever process (API or worker) appends the event that makes a checkpoint due writes it,
 * and positions never race.
 *
 * A checkpoint also lists the hashes of the events since the previous checkpoint (its
 * `segment`, signed through its digest), so that `verify` can name the exact row that was
 * rewritten, not just "somewhere before position P". And it names the previous checkpoint's
 * position (`prev`), so a deleted checkpoint leaves a hole that verify reports.
 *
 * Keys are parsed with the decision keys' code (`core/crypto/decision-keys.ts`): PKCS#8 / SPKI PEM,
 * and a key's id (`kid`) is its RFC 7638 thumbprint.
 */
import { createHash, hkdfSync, sign, verify as verifySignature } from 'node:crypto';
import type { DecisionSigningKey, PublicDecisionKey } from './decision-keys.js';
import { canonicalJson } from './hash-chain.js';

/** Default for {@link CheckpointPolicy.every}: a checkpoint every 100 events. */
export const DEFAULT_CHECKPOINT_EVERY = 100;
/** Default for {@link CheckpointPolicy.intervalMs}: at the first append after 60 s without one. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 60_000;
/** Most events one checkpoint lists (the first checkpoint of a long chain written before keys existed). */
export const MAX_SEGMENT = 10_000;
/** Domain separation: what is signed is this line, then the canonical JSON of the checkpoint. */
const SIGNING_CONTEXT = 'elevate-audit-checkpoint-v1\n';

/** What the appending and verifying processes know about checkpoints. */
export interface CheckpointPolicy {
  /** The private key that signs checkpoints; without it this process writes none. */
  signingKey?: DecisionSigningKey;
  /** The public keys checkpoints are verified under (the signing key's own, and retired ones). */
  publicKeys: readonly PublicDecisionKey[];
  /** A checkpoint is due when this many events were appended since the last one. */
  every: number;
  /** ...or at the first append once this long has passed since the last one. */
  intervalMs: number;
}

/**
 * The integrity settings of a store: checkpoints, the MAC key of rows outside the chain, and
 * what to do when a row fails its check.
 */
export interface StoreIntegrity {
  checkpoints?: CheckpointPolicy;
  /**
   * HMAC-SHA-256 key for `ephemeral` and `bot_state` rows ({@link rowMacKey}); without it rows
   * are written without a MAC and read unchecked.
   */
  macKey?: Buffer;
  /** MAC keys of retired checkpoint keys: their MACs still hold (bot state is rewritten under `macKey`). */
  previousMacKeys?: Buffer[];
  /** Told about every row that fails its MAC (it is treated as absent or quarantined). Must not throw. */
  onTamper?: (report: TamperReport) => void;
}

/** A row outside the chain whose MAC does not check (never carries the row's secret key). */
export interface TamperReport {
  table: 'ephemeral' | 'bot_state';
  /** `ephemeral`: the kind of record (the key up to its first `:`); `bot_state`: the bot id. */
  subject: string;
  /** `missing`: no MAC at all (written by a process without the key, or before the upgrade). */
  reason: 'bad_mac' | 'missing';
}

/** A checkpoint as stored and sent: the signed fields and the signature. */
export interface SignedCheckpoint {
  v: 1;
  /** Chain position the checkpoint is taken at. */
  position: number;
  /** Hash of the event at `position`. */
  hash: string;
  /** When it was signed (ISO instant, the signing process's clock). */
  at: string;
  /** Id of the signing key (RFC 7638 thumbprint). */
  kid: string;
  /** Position of the previous checkpoint (0 for the first). */
  prev: number;
  /** First position whose hash the segment lists (`prev + 1`, unless the segment was capped). */
  first: number;
  /** SHA-256 (hex) of the listed hashes, `first` to `position`, concatenated. */
  segment: string;
  /** Ed25519 signature (base64url) of the context line and the canonical JSON of the rest. */
  signature: string;
}

/** The bytes a checkpoint's signature covers. */
function signedBytes(c: Omit<SignedCheckpoint, 'signature'>): Buffer {
  const { v, position, hash, at, kid, prev, first, segment } = c;
  return Buffer.from(
    SIGNING_CONTEXT + canonicalJson({ v, position, hash, at, kid, prev, first, segment }),
    'utf8',
  );
}

/** SHA-256 (hex) over a segment's hashes, concatenated in position order. */
export function segmentDigest(hashes: readonly string[]): string {
  return createHash('sha256').update(hashes.join(''), 'utf8').digest('hex');
}

/** Splits a stored segment (concatenated 64-hex hashes) into its hashes. */
export function segmentHashes(text: string): string[] {
  return text.match(/[0-9a-f]{64}/g) ?? [];
}

/** Whether a checkpoint is due after appending the event at `position`. */
export function checkpointDue(
  policy: CheckpointPolicy,
  position: number,
  last: { position: number; at: string } | undefined,
  now: Date,
): boolean {
  if (!policy.signingKey) return false;
  const lastPosition = last?.position ?? 0;
  if (position - lastPosition >= policy.every) return true;
  // No checkpoint yet (a new chain, or one written before the key): anchor it at once.
  if (!last) return true;
  return now.getTime() - Date.parse(last.at) >= policy.intervalMs;
}

/** The first position the next checkpoint at `position` lists, after the one at `prev`. */
export function segmentStart(prev: number, position: number): number {
  return Math.max(prev + 1, position - MAX_SEGMENT + 1);
}

/**
 * Signs a checkpoint at `position` over `hashes` (those of `first`..`position`, in order; the
 * last is the head's).
 */
export function signCheckpoint(
  key: DecisionSigningKey,
  args: { position: number; prev: number; first: number; hashes: readonly string[]; at: Date },
): SignedCheckpoint {
  const head = args.hashes[args.hashes.length - 1];
  if (head === undefined || args.hashes.length !== args.position - args.first + 1) {
    throw new Error(`a checkpoint at ${args.position} needs the hashes of ${args.first}..${args.position}`);
  }
  const unsigned = {
    v: 1 as const,
    position: args.position,
    hash: head,
    at: args.at.toISOString(),
    kid: key.kid,
    prev: args.prev,
    first: args.first,
    segment: segmentDigest(args.hashes),
  };
  return { ...unsigned, signature: sign(null, signedBytes(unsigned), key.privateKey).toString('base64url') };
}

/** Why a checkpoint's signature does not hold, or `ok`. */
export type SignatureCheck = 'ok' | 'unknown_key' | 'bad_signature';

/** Checks a checkpoint's signature against the trusted public keys (by `kid`). */
export function checkSignature(c: SignedCheckpoint, keys: readonly PublicDecisionKey[]): SignatureCheck {
  const key = keys.find((k) => k.kid === c.kid);
  if (!key) return 'unknown_key';
  try {
    const ok = verifySignature(null, signedBytes(c), key.key, Buffer.from(c.signature, 'base64url'));
    return ok ? 'ok' : 'bad_signature';
  } catch {
    return 'bad_signature';
  }
}

/** A checkpoint as a webhook header value: base64url of its JSON (see docs/api.md). */
export function checkpointHeader(c: SignedCheckpoint): string {
  return Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
}

/**
 * The MAC key for rows outside the chain, derived (HKDF-SHA-256) from the checkpoint signing
 * key: one secret to provision, held by every process that appends, never in the database.
 */
export function rowMacKey(signingKey: DecisionSigningKey): Buffer {
  const der = signingKey.privateKey.export({ format: 'der', type: 'pkcs8' });
  return Buffer.from(hkdfSync('sha256', der, 'elevate', 'elevate store row mac v1', 32));
}

/** The integrity settings for a store from the configured keys (see `config/settings.ts`). */
export function storeIntegrity(args: {
  signingKey?: DecisionSigningKey;
  /** Retired signing keys (`ELEVATE_AUDIT_CHECKPOINT_KEY_PREVIOUS`): checkpoints and MACs under them still hold. */
  previousKeys?: readonly DecisionSigningKey[];
  publicKeys?: readonly PublicDecisionKey[];
  every?: number;
  intervalSeconds?: number;
  onTamper?: StoreIntegrity['onTamper'];
}): StoreIntegrity {
  const publicKeys = [
    ...(args.signingKey ? [args.signingKey.publicKey] : []),
    ...(args.previousKeys ?? []).map((k) => k.publicKey),
    ...(args.publicKeys ?? []),
  ];
  const unique = publicKeys.filter((k, i) => publicKeys.findIndex((o) => o.kid === k.kid) === i);
  return {
    ...(unique.length > 0
      ? {
          checkpoints: {
            ...(args.signingKey ? { signingKey: args.signingKey } : {}),
            publicKeys: unique,
            every: args.every ?? DEFAULT_CHECKPOINT_EVERY,
            intervalMs: (args.intervalSeconds ?? DEFAULT_CHECKPOINT_INTERVAL_MS / 1000) * 1000,
          },
        }
      : {}),
    ...(args.signingKey ? { macKey: rowMacKey(args.signingKey) } : {}),
    ...(args.signingKey && args.previousKeys?.length
      ? { previousMacKeys: args.previousKeys.map(rowMacKey) }
      : {}),
    ...(args.onTamper ? { onTamper: args.onTamper } : {}),
  };
}
