/**
 * Periodic owner attestation: on a schedule each bot's owner confirms, with a fresh MFA login,
 * which of the bot's allowed roles it still needs. What the attestation workflow, the API and
 * the worker agree on: its input, the owner's signed answer, its state, and its names. Pure and
 * free of zod: the workflows import from here.
 */
import type { SignedDecision } from './decisions.js';
import type { AnswerRefusalCode } from './signed-answer.js';

/** The policy's `detection.attestation`: how often owners attest, and how long they have to answer. */
export interface AttestationSettings {
  /** Days after an attestation before the owner is asked again. */
  everyDays: number;
  /** Days the owner has to answer before the bot's eligibility is suspended. */
  answerWithinDays: number;
}

/** Id of the Temporal Schedule that starts the due attestations once a day. */
export const ATTESTATION_SCHEDULE_ID = 'elevate-attestation';

/** What an attestation workflow is started with. */
export interface AttestationInput {
  /** The workflow id: `attestation-<botId>-<yyyy-mm-dd>` (see `core/rules/attestation.ts`). */
  attestationId: string;
  botId: string;
  /** The owner as the policy names them: only they may answer. */
  owner: string;
  /** The bot's allowed roles (the policy's), in policy order. */
  roles: string[];
  /** Roles an earlier attestation trimmed that the policy still allows (shown unticked). */
  trimmed: string[];
  /** When the owner was asked (ISO 8601). */
  requestedAt: string;
  /** When the bot's eligibility is suspended if nobody answers (ISO 8601). */
  deadline: string;
  /** The page the owner opens to review (the MFA login starts there). */
  reviewUrl: string;
}

/** The owner's answer, as the API signs it after their MFA login. */
export interface AttestationAnswer {
  /** The owner's address, from the login (canonical). */
  owner: string;
  /** Roles the owner confirmed the bot still needs. */
  kept: string[];
  /** Roles the owner took away: requests for them are refused until an attestation keeps them. */
  trimmed: string[];
  /** The MFA login's evidence (issuer, subject, amr, auth_time, ID-token hash). */
  evidence: Record<string, unknown>;
}

/** Where an attestation stands. */
export type AttestationStatus = 'pending' | 'confirmed' | 'expired';

/** An attestation as its status query answers. */
export interface AttestationView extends AttestationInput {
  status: AttestationStatus;
  /** The answer, once confirmed. */
  answer?: Omit<AttestationAnswer, 'evidence'> & { at: string };
}

/** `typ` of an attestation answer's token payload (and, with `+jws`, of its header). */
export const ATTESTATION_TOKEN_TYPE = 'elevate-attestation';

/** The attest Update's argument: the owner's answer, signed by the API. */
export type SignedAttestation = SignedDecision;

/** Why the attestation workflow refused an answer (`ApplicationFailure.details[0]`). */
export type AttestationRefusalCode =
  | AnswerRefusalCode // answered already, or the deadline passed; or the signature does not hold
  | 'not_owner' // the person who logged in is not the bot's owner
  | 'unknown_role'; // the answer names a role the attestation did not ask about

/** `ApplicationFailure.type` of an answer the attestation workflow refused. */
export const ATTESTATION_REFUSAL_TYPE = 'AttestationRefused';

/** What the owner is told (a Slack direct message, or a log line with the link). */
export interface AttestationRequest {
  attestationId: string;
  botId: string;
  owner: string;
  roles: string[];
  trimmed: string[];
  deadline: string;
  reviewUrl: string;
}

/**
 * A bot's attestation state, kept with its runtime state (`store/bot-state.ts`, covered by the
 * row's MAC): when its owner last attested, the attestation open now, the roles trimmed, and
 * whether an unanswered attestation suspended it.
 */
export interface BotAttestation {
  /** When the owner last attested (ISO 8601), or null if never. */
  attestedAt: string | null;
  /** Who attested (the owner's address from the login). */
  attestedBy: string | null;
  /** The last attestation asked for (its workflow id) and when. */
  requested: { id: string; at: string } | null;
  /** Roles the owner trimmed: requests for them are refused with `role_suspended`. */
  trimmedRoles: string[];
  /**
   * Set when an attestation expired unanswered: every request of the bot is refused with
   * `attestation_overdue` until its owner attests or an admin enables the bot.
   */
  overdue: { at: string; attestationId: string } | null;
}
