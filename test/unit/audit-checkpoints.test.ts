/**
 * Signed checkpoints without a database: what a signature covers, how the stored checkpoints
 * are reviewed (forged, missing, overdue), how a rewritten row is located, and how the console
 * page words a chain that nothing vouches for.
 */
import { describe, expect, it } from 'vitest';
import { newDecisionKeyPair, parsePublicKeys, parseSigningKey } from '../../core/crypto/decision-keys.js';
import type { VerifyResult } from '../../core/model/audit-record.js';
import { locateRewrite, reviewCheckpoints, withCheckpoints } from '../../store/checkpoint-review.js';
import {
  checkSignature,
  checkpointDue,
  signCheckpoint,
  storeIntegrity,
  type CheckpointPolicy,
  type SignedCheckpoint,
} from '../../core/crypto/audit-checkpoints.js';
import { verifyResultPage } from '../../server/admin/views/audit-verify.js';
import { loadSettings } from '../../config/settings.js';

const key = parseSigningKey(newDecisionKeyPair().privatePem);
const other = parseSigningKey(newDecisionKeyPair().privatePem);
const hashOf = (n: number) => n.toString(16).padStart(64, '0');
const policy: CheckpointPolicy = {
  signingKey: key,
  publicKeys: [key.publicKey],
  every: 3,
  intervalMs: 60_000,
};

/** Checkpoints at 3, 6, 9 over hashes 1..9, as an appending process would sign them. */
function chainOfCheckpoints(): SignedCheckpoint[] {
  return [3, 6, 9].map((position) =>
    signCheckpoint(key, {
      position,
      prev: position - 3,
      first: position - 2,
      hashes: [position - 2, position - 1, position].map(hashOf),
      at: new Date('2026-11-22T10:00:00.000Z'),
    }),
  );
}

describe('checkpoint signatures', () => {
  it('when any signed field changes, then the signature no longer holds; with the public key alone it does', () => {
    const [c] = chainOfCheckpoints();
    const publicOnly = parsePublicKeys(key.publicKey.pem);
    expect(checkSignature(c!, publicOnly)).toBe('ok');
    for (const change of [
      { hash: hashOf(99) },
      { position: 4 },
      { prev: 1 },
      { at: '2026-01-01T00:00:00.000Z' },
    ]) {
      expect(checkSignature({ ...c!, ...change }, publicOnly), JSON.stringify(change)).toBe('bad_signature');
    }
  });

  it('when a checkpoint is signed with a key nobody configured, then it is unknown_key', () => {
    const forged = signCheckpoint(other, {
      position: 3,
      prev: 0,
      first: 1,
      hashes: [1, 2, 3].map(hashOf),
      at: new Date(),
    });
    expect(checkSignature(forged, [key.publicKey])).toBe('unknown_key');
  });

  it('when a segment does not list every hash up to the position, then signing refuses', () => {
    expect(() =>
      signCheckpoint(key, { position: 3, prev: 0, first: 1, hashes: [hashOf(3)], at: new Date() }),
    ).toThrow();
  });
});

describe('when a checkpoint is due', () => {
  const at = '2026-11-22T10:00:00.000Z';
  it('when `every` events passed, or the interval since the last one, or there is none yet, then it is due', () => {
    const now = new Date(Date.parse(at) + 1_000);
    expect(checkpointDue(policy, 5, { position: 3, at }, now)).toBe(false);
    expect(checkpointDue(policy, 6, { position: 3, at }, now)).toBe(true);
    expect(checkpointDue(policy, 4, { position: 3, at }, new Date(Date.parse(at) + 60_000))).toBe(true);
    expect(checkpointDue(policy, 1, undefined, now)).toBe(true);
    expect(checkpointDue({ ...policy, signingKey: undefined }, 6, { position: 3, at }, now)).toBe(false);
  });
});

describe('reviewing the stored checkpoints', () => {
  it('when all hold, then each is an anchor and the chain is anchored through the newest', () => {
    const review = reviewCheckpoints(chainOfCheckpoints(), policy, 10);
    expect(review.anchors.map((a) => a.position)).toEqual([3, 6, 9]);
    expect(review.problem).toBeUndefined();
    expect(review.anchoring).toMatchObject({
      status: 'anchored',
      checkpoints: 3,
      through: { position: 9 },
      unanchored: 1,
    });
  });

  it('when one in the middle was deleted, then the next one names it missing', () => {
    const [a, , c] = chainOfCheckpoints();
    expect(reviewCheckpoints([a!, c!], policy, 9).problem).toEqual({
      position: 6,
      reason: 'checkpoint_missing',
    });
  });

  it('when the newest were deleted, then the tail is too long and one is missing', () => {
    const [a] = chainOfCheckpoints();
    expect(reviewCheckpoints([a!], policy, 9).problem).toEqual({ position: 6, reason: 'checkpoint_missing' });
  });

  it('when one is forged, then it is invalid and no anchor', () => {
    const [a, b, c] = chainOfCheckpoints();
    const review = reviewCheckpoints([a!, { ...b!, hash: hashOf(42) }, c!], policy, 9);
    expect(review.problem).toEqual({ position: 6, reason: 'checkpoint_invalid' });
    expect(review.anchors.map((x) => x.position)).toEqual([3, 9]);
  });

  it('when no key is configured, then nothing is checked and the chain is not anchored', () => {
    expect(reviewCheckpoints(chainOfCheckpoints(), undefined, 9)).toEqual({
      anchors: [],
      anchoring: { status: 'not_anchored', reason: 'no_key', checkpoints: 0, unanchored: 9 },
    });
  });

  it('when the rows are compared with the hashes a checkpoint lists, then the first that differs is the rewritten one', () => {
    const rows = [4, 5, 6].map((p) => ({
      position: p,
      id: `e${p}`,
      elevationId: null,
      hash: p >= 5 ? hashOf(100 + p) : hashOf(p),
    }));
    expect(locateRewrite({ first: 4, hashes: [4, 5, 6].map(hashOf).join('') }, rows)).toEqual({
      position: 5,
      eventId: 'e5',
      elevationId: null,
      reason: 'checkpoint_mismatch',
    });
  });

  it('when the walk and the review both find something, then the earliest is reported', () => {
    const walk: VerifyResult = {
      ok: false,
      checked: 7,
      firstBroken: { position: 8, reason: 'hash_mismatch' },
    };
    const review = reviewCheckpoints([chainOfCheckpoints()[0]!], policy, 9);
    expect(withCheckpoints(walk, review).firstBroken).toEqual({ position: 6, reason: 'checkpoint_missing' });
  });

  it('when the checkpoint key is given with retired keys, then checkpoints under either hold', () => {
    const integrity = storeIntegrity({ signingKey: other, previousKeys: [key] });
    expect(reviewCheckpoints(chainOfCheckpoints(), integrity.checkpoints, 9).problem).toBeUndefined();
    expect(integrity.previousMacKeys).toHaveLength(1);
  });
});

describe('the console page of a verification', () => {
  const user = { email: 'alice@example.org', csrf: 'csrf-token' };

  it('when no checkpoint vouches for the chain, then it says "not anchored", never "intact"', () => {
    const html = verifyResultPage({
      user,
      result: {
        ok: true,
        checked: 5,
        anchoring: { status: 'not_anchored', reason: 'no_key', checkpoints: 0, unanchored: 5 },
      },
    });
    expect(html).toContain('not anchored');
    expect(html).toContain('ELEVATE_AUDIT_CHECKPOINT_KEY');
    expect(html).not.toContain('intact');
  });

  it('when a signed checkpoint vouches for it, then it says intact and names the checkpoint', () => {
    const html = verifyResultPage({
      user,
      result: {
        ok: true,
        checked: 5,
        anchoring: {
          status: 'anchored',
          checkpoints: 1,
          through: { position: 3, hash: hashOf(3), at: '2026-11-22T10:00:00.000Z', kid: key.kid },
          unanchored: 2,
        },
      },
    });
    expect(html).toContain('intact');
    expect(html).toContain('the newest at position 3');
  });
});

describe('checkpoint settings', () => {
  it('when the checkpoint key and a retired one are set, then both are parsed, with the defaults', () => {
    const retired = newDecisionKeyPair().privatePem;
    const s = loadSettings({
      ELEVATE_AUDIT_CHECKPOINT_KEY: newDecisionKeyPair().privatePem,
      ELEVATE_AUDIT_CHECKPOINT_KEY_PREVIOUS: retired,
    });
    expect(s.auditCheckpoints).toMatchObject({ every: 100, intervalSeconds: 60 });
    expect(s.auditCheckpoints?.signingKey?.kid).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(s.auditCheckpoints?.previousKeys?.map((k) => k.kid)).toEqual([parseSigningKey(retired).kid]);
  });

  it('when the checkpoint key is not a private key, or the cadence is out of range, then start-up fails naming the setting', () => {
    expect(() => loadSettings({ ELEVATE_AUDIT_CHECKPOINT_KEY: 'not-a-key' })).toThrow(
      /ELEVATE_AUDIT_CHECKPOINT_KEY/,
    );
    expect(() =>
      loadSettings({ ELEVATE_AUDIT_CHECKPOINT_PUBLIC_KEYS: newDecisionKeyPair().privatePem }),
    ).toThrow(/ELEVATE_AUDIT_CHECKPOINT_PUBLIC_KEYS/);
    expect(() => loadSettings({ ELEVATE_AUDIT_CHECKPOINT_EVERY: '0' })).toThrow(
      /ELEVATE_AUDIT_CHECKPOINT_EVERY/,
    );
  });
});
