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
import {
  verifySignedAnswer,
  type SignedAnswerClaims,
  type SignedAnswerKind,
  type VerifySignedAnswerOptions,
} from './signed-answer.js';

/** What an attestation token's payload says. `iat` is epoch milliseconds. */
export interface AttestationClaims extends SignedAnswerClaims<
  typeof ATTESTATION_TOKEN_TYPE,
  AttestationAnswer
> {
  attestationId: string;
}

export interface VerifyAttestationOptions extends Omit<VerifySignedAnswerOptions, 'id'> {
  attestationId: string;
}

/** An owner's attestation answer, as {@link verifySignedAnswer} checks it. */
const ATTESTATION_ANSWER: SignedAnswerKind<AttestationAnswer> = {
  tokenType: ATTESTATION_TOKEN_TYPE,
  what: 'attestation',
  idClaim: 'attestationId',
  idNoun: 'attestation',
  tokenNoun: 'attestation',
  isAnswer: (input) =>
    typeof input.owner === 'string' &&
    Array.isArray(input.kept) &&
    input.kept.every((r) => typeof r === 'string'),
};

/**
 * Check an attest Update's token: signed by a trusted key, for this attestation, recent, its
 * nonce unused, carrying an answer. Returns the claims; throws `DecisionRefusal`.
 */
export function verifyAttestation(
  arg: SignedAttestation | undefined,
  opts: VerifyAttestationOptions,
): AttestationClaims {
  const { attestationId, ...rest } = opts;
  return verifySignedAnswer(arg?.token, ATTESTATION_ANSWER, {
    ...rest,
    id: attestationId,
  }) as unknown as AttestationClaims;
}
