/**
 * The check of a person's answer that reaches a workflow other than an elevation's (an owner's
 * attestation, a reviewer's break-glass verdict): signed by Elevate's API as decisions are
 * (`signed-decision.ts`), with its own `typ` so that no other kind of signed token counts as
 * this one. Pure and synchronous: it runs in the workflow's update validator.
 */
import type { TrustedDecisionKey } from '../model/elevation.js';
import {
  DECISION_MAX_AGE_MS,
  DECISION_MAX_SKEW_MS,
  DecisionRefusal,
  verifiedTokenClaims,
} from './signed-decision.js';

/** What kind of answer a workflow takes, and how its refusals name it. */
export interface SignedAnswerKind<A> {
  /** The token's `typ`. */
  tokenType: string;
  /** What the token is, in "the token is not an Elevate …" (`attestation`, `break-glass review`). */
  what: string;
  /** The claim that names what the answer is for (`attestationId`, `reviewId`). */
  idClaim: string;
  /** What that id names, in "the answer was made for … <id>" (`attestation`, `review`). */
  idNoun: string;
  /** The token's name in "the … token has no time" (`attestation`, `review`). */
  tokenNoun: string;
  /** Whether the token's input is an answer of this kind. */
  isAnswer: (input: Partial<A>) => boolean;
}

/** What an answer token's payload says besides the id it is for. `iat` is epoch milliseconds. */
export interface SignedAnswerClaims<T extends string, A> {
  typ: T;
  input: A;
  iat: number;
  nonce: string;
}

/** Where the answer is checked: the trusted keys, what it must be for, the clock and the nonces used. */
export interface VerifySignedAnswerOptions {
  keys: readonly TrustedDecisionKey[];
  /** The id the `idClaim` must hold. */
  id: string;
  /** The workflow's clock, epoch milliseconds. */
  now: number;
  used: ReadonlySet<string>;
}

/**
 * Check an answer Update's token: signed by a trusted key, of `kind`'s type, for this id, recent,
 * its nonce unused, carrying an answer. Returns the claims; throws {@link DecisionRefusal}.
 */
export function verifySignedAnswer<A>(
  token: unknown,
  kind: SignedAnswerKind<A>,
  opts: VerifySignedAnswerOptions,
): Record<string, unknown> {
  const { claims, kid } = verifiedTokenClaims(token, opts.keys);
  if (claims.typ !== kind.tokenType) {
    throw new DecisionRefusal(
      'malformed',
      `the token is not an Elevate ${kind.what} (typ ${String(claims.typ)})`,
      kid,
    );
  }
  if (claims[kind.idClaim] !== opts.id) {
    throw new DecisionRefusal(
      'wrong_elevation',
      `the answer was made for ${kind.idNoun} ${String(claims[kind.idClaim])}, not this one`,
      kid,
    );
  }
  const iat = claims.iat;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) {
    throw new DecisionRefusal('malformed', `the ${kind.tokenNoun} token has no time (iat)`, kid);
  }
  if (iat < opts.now - DECISION_MAX_AGE_MS || iat > opts.now + DECISION_MAX_SKEW_MS) {
    throw new DecisionRefusal(
      'stale',
      `the answer was made at ${new Date(iat).toISOString()}, not within the last ${DECISION_MAX_AGE_MS / 60_000} minutes`,
      kid,
    );
  }
  if (typeof claims.nonce !== 'string' || claims.nonce.length < 16 || claims.nonce.length > 128) {
    throw new DecisionRefusal('malformed', `the ${kind.tokenNoun} token has no usable nonce`, kid);
  }
  if (opts.used.has(claims.nonce)) {
    throw new DecisionRefusal('replayed', 'this answer has already been used once', kid);
  }
  const input = claims.input as Partial<A> | null;
  if (typeof input !== 'object' || input === null || !kind.isAnswer(input)) {
    throw new DecisionRefusal('malformed', `the ${kind.tokenNoun} token carries no answer`, kid);
  }
  return claims;
}
