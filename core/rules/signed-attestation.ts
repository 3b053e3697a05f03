/**
 * An owner's attestation answer reaches the attestation workflow only as a token signed by
 * Elevate's API, exactly as approvals do (`signed-decision.ts`): an Ed25519 compact JWS over
 * the answer, the attestation it is for, when it was made and a nonce. Its `typ` differs from a
 * decision's, so a signed approval can never count as an attestation, nor the other way round.
 * Pure and synchronous: it runs in the workflow's update validator.
 */
import {
  ATTESTATION_TOKEN_TYPE,
  type AttestationAnswer,
  type SignedAttestation,
} from '../model/attestation.js';
import type { TrustedDecisionKey } from '../model/elevation.js';
import {
  DECISION_MAX_AGE_MS,
  DECISION_MAX_SKEW_MS,
  DecisionRefusal,
  verifiedTokenClaims,
} from './signed-decision.js';

/** What an attestation token's payload says. `iat` is epoch milliseconds. */
export interface AttestationClaims {
  typ: typeof ATTESTATION_TOKEN_TYPE;
  attestationId: string;
  input: AttestationAnswer;
  iat: number;
  nonce: string;
}

export interface VerifyAttestationOptions {
  keys: readonly TrustedDecisionKey[];
  attestationId: string;
  /** The workflow's clock, epoch milliseconds. */
  now: number;
  used: ReadonlySet<string>;
}

/**
 * Check an attest Update's token: signed by a trusted key, for this attestation, recent, its
 * nonce unused, carrying an answer. Returns the claims; throws {@link DecisionRefusal}.
 */
export function verifyAttestation(
  arg: SignedAttestation | undefined,
  opts: VerifyAttestationOptions,
): AttestationClaims {
  const { claims, kid } = verifiedTokenClaims(arg?.token, opts.keys);
  if (claims.typ !== ATTESTATION_TOKEN_TYPE) {
    throw new DecisionRefusal(
      'malformed',
      `the token is not an Elevate attestation (typ ${String(claims.typ)})`,
      kid,
    );
  }
  if (claims.attestationId !== opts.attestationId) {
    throw new DecisionRefusal(
      'wrong_elevation',
      `the answer was made for attestation ${String(claims.attestationId)}, not this one`,
      kid,
    );
  }
  const iat = claims.iat;
  if (typeof iat !== 'number' || !Number.isFinite(iat)) {
    throw new DecisionRefusal('malformed', 'the attestation token has no time (iat)', kid);
  }
  if (iat < opts.now - DECISION_MAX_AGE_MS || iat > opts.now + DECISION_MAX_SKEW_MS) {
    throw new DecisionRefusal(
      'stale',
      `the answer was made at ${new Date(iat).toISOString()}, not within the last ${DECISION_MAX_AGE_MS / 60_000} minutes`,
      kid,
    );
  }
  if (typeof claims.nonce !== 'string' || claims.nonce.length < 16 || claims.nonce.length > 128) {
    throw new DecisionRefusal('malformed', 'the attestation token has no usable nonce', kid);
  }
  if (opts.used.has(claims.nonce)) {
    throw new DecisionRefusal('replayed', 'this answer has already been used once', kid);
  }
  const input = claims.input as Partial<AttestationAnswer> | null;
  if (
    typeof input !== 'object' ||
    input === null ||
    typeof input.owner !== 'string' ||
    !Array.isArray(input.kept) ||
    !input.kept.every((r) => typeof r === 'string')
  ) {
    throw new DecisionRefusal('malformed', 'the attestation token carries no answer', kid);
  }
  return claims as unknown as AttestationClaims;
}
