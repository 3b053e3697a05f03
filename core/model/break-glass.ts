/**
 * Break-glass: the emergency path of a role. A listed bot may be granted the role at once,
 * without approval, for a short capped window; the activation is announced loudly, and named
 * reviewers must confirm it with a fresh MFA login before a deadline, or the bot is locked down.
 * What the elevation workflow, the review workflow, the API and the worker agree on. Pure and
 * free of zod: the workflows import from here.
 */
import type { SignedDecision } from './decisions.js';
import type { AnswerRefusalCode } from './signed-answer.js';
import type { BotSnapshot, ElevationView, RoleSnapshot } from './elevation.js';

/** A role's break-glass rule as the request snapshot carries it (the policy's, resolved). */
export interface BreakGlassRule {
  /** The longest window a break-glass elevation of the role may have (never above the role's). */
  maxSeconds: number;
  /** Who may confirm or reject the activation (canonical e-mail addresses). */
  reviewers: string[];
  /** Seconds after the activation by which a reviewer must confirm it. */
  reviewDeadlineSeconds: number;
}

/** A break-glass elevation's start input adds the rule and when its review is due. */
export interface BreakGlassRequest extends BreakGlassRule {
  /** When the review is due (ISO 8601): the request time plus `reviewDeadlineSeconds`. */
  reviewDeadline: string;
}

/** Id of the review workflow of one break-glass elevation. */
export function breakGlassReviewIdFor(elevationId: string): string {
  return `breakglass-review-${elevationId}`;
}

/** What the review workflow is started with. */
export interface BreakGlassReviewInput {
  /** The workflow id, {@link breakGlassReviewIdFor} the elevation. */
  reviewId: string;
  elevationId: string;
  botId: string;
  roleId: string;
  owner: string;
  justification: string;
  reviewers: string[];
  /** When the elevation was activated (ISO 8601). */
  activatedAt: string;
  /** When a confirmation is due (ISO 8601). */
  deadline: string;
  /** The page a reviewer opens (the MFA login starts there). */
  reviewUrl: string;
}

/** A reviewer's verdict. */
export type BreakGlassOutcome = 'confirmed' | 'rejected';

/** A reviewer's answer, as the API signs it after their MFA login. */
export interface BreakGlassReviewAnswer {
  /** The reviewer's address, from the login (canonical). */
  reviewer: string;
  outcome: BreakGlassOutcome;
  /** Why, in the reviewer's words (optional for a confirmation). */
  comment?: string;
  /** The MFA login's evidence (issuer, subject, amr, auth_time, ID-token hash). */
  evidence: Record<string, unknown>;
}

/**
 * Where the incident stands: `open` until reviewed; `overdue` when the deadline passed without a
 * confirmation (the bot is locked down, and a late review may still close the incident);
 * `confirmed` or `rejected` once a reviewer answered (closed).
 */
export type BreakGlassReviewStatus = 'open' | 'overdue' | 'confirmed' | 'rejected';

/** The review as its status query answers. */
export interface BreakGlassReviewView extends BreakGlassReviewInput {
  status: BreakGlassReviewStatus;
  /** The answer, once a reviewer gave one. */
  answer?: Omit<BreakGlassReviewAnswer, 'evidence'> & { at: string; late: boolean };
}

/** `typ` of a review answer's token payload (and, with `+jws`, of its header). */
export const BREAK_GLASS_REVIEW_TOKEN_TYPE = 'elevate-breakglass-review';

/** The review Update's argument: the reviewer's answer, signed by the API. */
export type SignedBreakGlassReview = SignedDecision;

/** Why the review workflow refused an answer (`ApplicationFailure.details[0]`). */
export type BreakGlassRefusalCode =
  | AnswerRefusalCode // a reviewer answered already; or the signature does not hold
  | 'not_reviewer' // the person who logged in is not a named reviewer
  | 'self_review'; // the bot's owner may not review their own bot's break-glass

/** `ApplicationFailure.type` of an answer the review workflow refused. */
export const BREAK_GLASS_REFUSAL_TYPE = 'BreakGlassReviewRefused';

/** A break-glass activation, as the elevation workflow hands it to its review. */
export interface BreakGlassActivation {
  elevation: ElevationView;
  bot: BotSnapshot;
  role: RoleSnapshot;
  breakGlass: BreakGlassRequest;
}

/** What the activation alert tells (security channel, owner, reviewers). */
export interface BreakGlassAlert extends BreakGlassActivation {
  /** The review page. */
  reviewUrl: string;
  /** The policy's `detection.alertChannel`, when set (else the approval channel). */
  channel?: string;
}

/** What the review workflow's containment does when the review is missed or rejected. */
export interface BreakGlassContainment {
  review: BreakGlassReviewInput;
  /** `review_missed`: the deadline passed; `rejected`: a reviewer said no. */
  cause: 'review_missed' | 'rejected';
}
