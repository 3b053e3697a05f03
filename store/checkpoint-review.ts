/**
 * The checkpoint half of `verify`, shared by both engines: check each stored checkpoint's
 * signature and its link to the previous one, hand the good ones to the chain walk as anchors,
 * and, when the walk finds a checkpoint's hash no longer in the chain, find the exact row that
 * was rewritten from the hashes the checkpoint lists.
 */
import type { ChainAnchor, VerifyResult } from '../core/model/audit-record.js';
import {
  checkSignature,
  segmentHashes,
  type CheckpointPolicy,
  type SignedCheckpoint,
} from '../core/crypto/audit-checkpoints.js';

/** What {@link reviewCheckpoints} found. */
export interface CheckpointReview {
  /** The (position, hash) of every checkpoint whose signature holds. */
  anchors: ChainAnchor[];
  /** The first checkpoint problem (a bad signature, or a checkpoint that must exist and does not). */
  problem?: NonNullable<VerifyResult['firstBroken']>;
  anchoring: NonNullable<VerifyResult['anchoring']>;
}

/**
 * Checks the stored checkpoints (in position order) against the trusted keys. Without keys
 * nothing can be checked, and the chain is reported "not anchored".
 */
export function reviewCheckpoints(
  rows: readonly SignedCheckpoint[],
  policy: CheckpointPolicy | undefined,
  headPosition: number,
): CheckpointReview {
  if (!policy || policy.publicKeys.length === 0) {
    return {
      anchors: [],
      anchoring: { status: 'not_anchored', reason: 'no_key', checkpoints: 0, unanchored: headPosition },
    };
  }
  const anchors: ChainAnchor[] = [];
  let problem: CheckpointReview['problem'];
  const note = (p: NonNullable<CheckpointReview['problem']>) => {
    if (!problem || p.position < problem.position) problem = p;
  };
  let last: SignedCheckpoint | undefined;
  for (const row of rows) {
    if (checkSignature(row, policy.publicKeys) !== 'ok') {
      // A forged or altered checkpoint is no anchor, and the chain after it is not vouched for.
      note({ position: row.position, reason: 'checkpoint_invalid' });
      continue;
    }
    const lastPosition = last?.position ?? 0;
    // Each checkpoint names the one before it: a hole there is a checkpoint that was deleted.
    if (row.prev > lastPosition) note({ position: row.prev, reason: 'checkpoint_missing' });
    anchors.push({ position: row.position, hash: row.hash });
    last = row;
  }
  // Appending processes with the key checkpoint at least every `every` events: a longer tail
  // means the newest checkpoints were deleted (or a process appends without the key).
  if (last && headPosition - last.position >= policy.every) {
    note({ position: last.position + policy.every, reason: 'checkpoint_missing' });
  }
  return {
    anchors,
    ...(problem ? { problem } : {}),
    anchoring: last
      ? {
          status: 'anchored',
          checkpoints: anchors.length,
          through: { position: last.position, hash: last.hash, at: last.at, kid: last.kid },
          unanchored: Math.max(headPosition - last.position, 0),
        }
      : { status: 'not_anchored', reason: 'no_checkpoint', checkpoints: 0, unanchored: headPosition },
  };
}

/** One row as {@link locateRewrite} needs it. */
export interface RowHash {
  position: number;
  id: string;
  elevationId: string | null;
  hash: string;
}

/**
 * The first row from `first` on whose hash is not the one the checkpoint signed for it: the row
 * that was rewritten (every row after it was re-hashed to follow it). Undefined if every listed
 * row still matches (the rewrite is before the listed range).
 */
export function locateRewrite(
  checkpoint: { first: number; hashes: string },
  rows: readonly RowHash[],
): NonNullable<VerifyResult['firstBroken']> | undefined {
  const signed = segmentHashes(checkpoint.hashes);
  for (const row of rows) {
    const expected = signed[row.position - checkpoint.first];
    if (expected !== undefined && expected !== row.hash) {
      return {
        position: row.position,
        eventId: row.id,
        elevationId: row.elevationId,
        reason: 'checkpoint_mismatch',
      };
    }
  }
  return undefined;
}

/**
 * The verification result with the checkpoint review folded in: the earliest problem wins, and
 * the anchoring is reported either way.
 */
export function withCheckpoints(walk: VerifyResult, review: CheckpointReview): VerifyResult {
  const candidates = [walk.firstBroken, review.problem].filter(
    (b): b is NonNullable<VerifyResult['firstBroken']> => b !== undefined,
  );
  const first = candidates.sort((a, b) => a.position - b.position)[0];
  const { firstBroken: _ignored, ...rest } = walk;
  return {
    ...rest,
    ok: first === undefined,
    ...(first ? { firstBroken: first } : {}),
    anchoring: review.anchoring,
  };
}

/** Where {@link finishVerify} reads what a checkpoint lists and the rows it covers. */
export interface CheckpointRows {
  listedHashes(position: number): string | undefined | Promise<string | undefined>;
  rows(from: number, to: number): RowHash[] | Promise<RowHash[]>;
}

/**
 * The end of both engines' `verify`: when the walk found a good checkpoint's hash gone from a
 * chain that otherwise hashes cleanly, the rows were rewritten and re-hashed, and the hashes the
 * checkpoint lists name the row that was; then the checkpoint review is folded in.
 */
export async function finishVerify(
  walk: VerifyResult,
  checkpoints: readonly SignedCheckpoint[],
  review: CheckpointReview,
  read: CheckpointRows,
): Promise<VerifyResult> {
  const broken = walk.firstBroken;
  const checkpoint =
    broken?.reason === 'anchor_mismatch'
      ? checkpoints.find(
          (c) => c.position === broken.position && review.anchors.some((a) => a.position === c.position),
        )
      : undefined;
  const hashes = checkpoint ? await read.listedHashes(checkpoint.position) : undefined;
  const located =
    checkpoint && hashes !== undefined
      ? locateRewrite(
          { first: checkpoint.first, hashes },
          await read.rows(checkpoint.first, checkpoint.position),
        )
      : undefined;
  return withCheckpoints(located ? { ...walk, firstBroken: located } : walk, review);
}
