/**
 * What the workflows that take a person's signed answer (owner attestation, break-glass review)
 * refuse alike, whatever the answer. Pure and free of zod: the workflows import from here.
 */

/**
 * Why such a workflow refused an answer (`ApplicationFailure.details[0]`), besides its own
 * reasons: `not_pending`, it was answered already (or, where there is one, the deadline passed);
 * `unsigned_decision`, the answer's signature does not hold (`details[1]`: the DecisionRefusalCode).
 */
export type AnswerRefusalCode = 'not_pending' | 'unsigned_decision';
