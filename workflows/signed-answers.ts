/**
 * What the workflows that wait for a person's signed answer share (owner attestation,
 * break-glass review): the keys the answers must be signed with, the refusal their update
 * validators answer, and the check of a token before and after it enters history. Only the
 * validators refuse, so nothing here schedules anything but the local activity that loads the
 * keys, with the options each workflow gave it.
 */
import { ApplicationFailure, log, proxyLocalActivities } from '@temporalio/workflow';
import type { Activities } from '../core/ports/activities.js';
import type { DecisionTrust, TrustedDecisionKey } from '../core/model/elevation.js';
import type { AnswerRefusalCode } from '../core/model/signed-answer.js';
import { DecisionRefusal, decisionClaimsOf } from '../core/rules/signed-decision.js';

/** The keys answers must be signed with: local, it reads only the worker's configuration. */
const { loadDecisionTrust } = proxyLocalActivities<Activities>({
  startToCloseTimeout: '15s',
  retry: { initialInterval: '200ms', backoffCoefficient: 2, maximumInterval: '10s' },
});

/** Refuses an answer with `code` (`ApplicationFailure.details[0]`; `detail` follows it). */
export type AnswerRefuser<C extends string> = (code: C, message: string, detail?: string) => never;

/** Refuse an answer: the caller (the API) gets the code, and nothing enters history. */
export function answerRefuser<C extends string>(type: string): AnswerRefuser<C> {
  return (code, message, detail) => {
    throw ApplicationFailure.create({
      type,
      message,
      details: detail === undefined ? [code] : [code, detail],
      nonRetryable: true,
    });
  };
}

/** How a workflow checks an answer's token, and what it says when it cannot. */
export interface AnswerCheck<A, C> {
  /** The token's check (`verifyAttestation`...) with the loaded keys and the nonces used. */
  verify: (arg: A, keys: readonly TrustedDecisionKey[], used: ReadonlySet<string>) => C;
  refuse: AnswerRefuser<AnswerRefusalCode>;
  /** What an answer before the keys are loaded is told. */
  opening: string;
  /** The warning logged when the signature does not hold, and the fields logged with it. */
  warning: string;
  fields: Record<string, unknown>;
}

/**
 * A workflow's signed answers: the keys they must be signed with (refused until loaded), the
 * nonces used, the validator's check and the handler's reading of an accepted token.
 */
export function signedAnswers<A, C extends { nonce: string }>(check: AnswerCheck<A, C>) {
  let trust: DecisionTrust | undefined = undefined;
  const used = new Set<string>();
  return {
    /** Loads the keys (a local activity); answers are refused until then. */
    async loadTrust(): Promise<void> {
      trust = await loadDecisionTrust();
    },

    /** The claims of an answer whose signature holds, or the refusal the validator answers. */
    verified(arg: A): C {
      if (!trust) return check.refuse('not_pending', check.opening);
      try {
        return check.verify(arg, trust.keys, used);
      } catch (err) {
        if (!(err instanceof DecisionRefusal)) throw err;
        log.warn(check.warning, { ...check.fields, code: err.code });
        return check.refuse('unsigned_decision', err.message, err.code);
      }
    },

    /**
     * The claims of a token the validator accepted, its nonce marked used: the handler reads it
     * again without the clock-bound checks.
     */
    accepted(token: string): C {
      const claims = decisionClaimsOf(token) as unknown as C;
      used.add(claims.nonce);
      return claims;
    },
  };
}
