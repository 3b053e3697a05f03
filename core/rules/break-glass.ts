/**
 * Break-glass's pure rules: who may use a role's emergency path and for how long, who may review
 * an activation, how the risk score is recorded without blocking it, and the check of a
 * reviewer's signed answer (run in the review workflow's update validator, like approvals).
 */
import {
  BREAK_GLASS_REVIEW_TOKEN_TYPE,
  type BreakGlassRequest,
  type BreakGlassReviewAnswer,
  type BreakGlassRule,
  type SignedBreakGlassReview,
} from '../model/break-glass.js';
import type { RiskDecision } from '../model/risk.js';
import { sameApprover } from './approval-eligibility.js';
import {
  verifySignedAnswer,
  type SignedAnswerClaims,
  type SignedAnswerKind,
  type VerifySignedAnswerOptions,
} from './signed-answer.js';

/** A break-glass request the policy refuses: the API's code, what to say, and the field at fault. */
export interface BreakGlassRefusal {
  code: 'break_glass_not_allowed' | 'duration_too_long';
  message: string;
  field: 'breakGlass' | 'durationSeconds';
}

/** A role's break-glass rule as the policy gives it (the bots listed, and the rule). */
export interface RoleBreakGlass extends BreakGlassRule {
  bots: readonly string[];
}

/**
 * Why `botId` may not ask for `roleId` through break-glass for `durationSeconds`, or undefined
 * when it may: the role must have a break-glass rule that lists the bot, and the duration must
 * fit the rule's cap.
 */
export function breakGlassRefusal(
  roleId: string,
  rule: RoleBreakGlass | undefined,
  botId: string,
  durationSeconds: number,
): BreakGlassRefusal | undefined {
  if (!rule) {
    return {
      code: 'break_glass_not_allowed',
      message: `role ${roleId} has no break-glass path`,
      field: 'breakGlass',
    };
  }
  if (!rule.bots.includes(botId)) {
    return {
      code: 'break_glass_not_allowed',
      message: `bot ${botId} is not listed for break-glass on role ${roleId}`,
      field: 'breakGlass',
    };
  }
  if (durationSeconds > rule.maxSeconds) {
    return {
      code: 'duration_too_long',
      message: `durationSeconds must be at most ${rule.maxSeconds} for a break-glass elevation of role ${roleId}`,
      field: 'durationSeconds',
    };
  }
  return undefined;
}

/** The rule a break-glass elevation carries: the policy's, with its review due `requestedAt` + the deadline. */
export function breakGlassRequestOf(rule: BreakGlassRule, requestedAt: Date): BreakGlassRequest {
  return {
    maxSeconds: rule.maxSeconds,
    reviewers: [...rule.reviewers],
    reviewDeadlineSeconds: rule.reviewDeadlineSeconds,
    reviewDeadline: new Date(requestedAt.getTime() + rule.reviewDeadlineSeconds * 1000).toISOString(),
  };
}

/**
 * Why `email` may not review a break-glass activation, or undefined when they may: they must be
 * a named reviewer, and not the bot's owner (the owner's bot broke the glass; someone else
 * judges it).
 */
export function reviewerRefusal(
  email: string,
  reviewers: readonly string[],
  owner: string,
): 'not_reviewer' | 'self_review' | undefined {
  if (!reviewers.some((r) => sameApprover(r, email))) return 'not_reviewer';
  if (sameApprover(owner, email)) return 'self_review';
  return undefined;
}

/**
 * The risk decision a break-glass request records: scored as any request (the reviewers and the
 * alert see the score and its reasons), but never routed: the emergency path exists for the
 * unusual request a score would hold up. What the score would have done is kept in the reason.
 */
export function breakGlassRiskDecision(decision: RiskDecision): RiskDecision {
  return {
    ...decision,
    route: 'auto',
    routeReason: `break-glass: granted without approval; the score would have routed it ${decision.route} (${decision.routeReason})`,
  };
}

/** What a review answer's token payload says. `iat` is epoch milliseconds. */
export interface BreakGlassReviewClaims extends SignedAnswerClaims<
  typeof BREAK_GLASS_REVIEW_TOKEN_TYPE,
  BreakGlassReviewAnswer
> {
  reviewId: string;
}

export interface VerifyBreakGlassReviewOptions extends Omit<VerifySignedAnswerOptions, 'id'> {
  reviewId: string;
}

/** A reviewer's break-glass verdict, as {@link verifySignedAnswer} checks it. */
const BREAK_GLASS_REVIEW_ANSWER: SignedAnswerKind<BreakGlassReviewAnswer> = {
  tokenType: BREAK_GLASS_REVIEW_TOKEN_TYPE,
  what: 'break-glass review',
  idClaim: 'reviewId',
  idNoun: 'review',
  tokenNoun: 'review',
  isAnswer: (input) =>
    typeof input.reviewer === 'string' && (input.outcome === 'confirmed' || input.outcome === 'rejected'),
};

/**
 * Check a review Update's token: signed by a trusted key, of the review type, for this review,
 * recent, its nonce unused, carrying an answer. Returns the claims; throws `DecisionRefusal`.
 */
export function verifyBreakGlassReview(
  arg: SignedBreakGlassReview | undefined,
  opts: VerifyBreakGlassReviewOptions,
): BreakGlassReviewClaims {
  const { reviewId, ...rest } = opts;
  return verifySignedAnswer(arg?.token, BREAK_GLASS_REVIEW_ANSWER, {
    ...rest,
    id: reviewId,
  }) as unknown as BreakGlassReviewClaims;
}
