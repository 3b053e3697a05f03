/**
 * The post-hoc review of one break-glass activation (id `breakglass-review-<elevationId>`),
 * started by the elevation workflow's activity as the role is granted, and outliving the
 * elevation:
 *
 *   alert the security channel, the owner and the reviewers
 *   wait for a reviewer's signed answer until the deadline
 *     confirmed in time  → `breakglass.reviewed` (the incident closes)
 *     rejected           → the bot is locked down, `breakglass.reviewed` (the API revokes the role)
 *     nothing by then    → the bot is locked down, `breakglass.review_missed`; the incident stays
 *                          open until a late review closes it (the lockdown stays for an admin)
 *
 * Answers are Updates signed by the API after the reviewer's MFA login, checked by the validator
 * exactly as approvals and attestations are, so a refused one never enters history.
 */
import { allHandlersFinished, condition, log, proxyActivities, setHandler } from '@temporalio/workflow';
import type { Activities } from '../core/ports/activities.js';
import {
  BREAK_GLASS_REFUSAL_TYPE,
  type BreakGlassActivation,
  type BreakGlassRefusalCode,
  type BreakGlassReviewAnswer,
  type BreakGlassReviewInput,
  type BreakGlassReviewView,
  type SignedBreakGlassReview,
} from '../core/model/break-glass.js';
import {
  reviewerRefusal,
  verifyBreakGlassReview,
  type BreakGlassReviewClaims,
} from '../core/rules/break-glass.js';
import { breakGlassReviewQuery, reviewBreakGlassUpdate } from './break-glass-definitions.js';
import { errorSummary } from './error-summary.js';
import { answerRefuser, signedAnswers, type AnswerRefuser } from './signed-answers.js';

/** Recording and the lockdown: retried until they succeed (a security step must not be lost). */
const { recordBreakGlassReview, containBreakGlass } = proxyActivities<Activities>({
  startToCloseTimeout: '1m',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
});

/** The alerts: retried for an hour, then given up (the audit trail and the log have the activation). */
const { alertBreakGlass } = proxyActivities<Activities>({
  startToCloseTimeout: '150s',
  scheduleToCloseTimeout: '1h',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '60s' },
});

/** Refuse an answer: the caller (the API) gets the code, and nothing enters history. */
const refuse: AnswerRefuser<BreakGlassRefusalCode> = answerRefuser(BREAK_GLASS_REFUSAL_TYPE);

/** The review of one break-glass activation (see the module comment). */
export async function breakGlassReviewWorkflow(
  input: BreakGlassReviewInput,
  activation: BreakGlassActivation,
): Promise<BreakGlassReviewView> {
  const view: BreakGlassReviewView = { ...input, status: 'open' };
  const deadline = Date.parse(input.deadline);
  let answer: BreakGlassReviewAnswer | undefined;
  let applied = false;

  const answers = signedAnswers<SignedBreakGlassReview, BreakGlassReviewClaims>({
    verify: (arg, keys, used) =>
      verifyBreakGlassReview(arg, { keys, reviewId: input.reviewId, now: Date.now(), used }),
    refuse,
    opening: 'the review is still opening; try again in a moment',
    warning: 'Refused a break-glass review whose signature does not hold',
    fields: { reviewId: input.reviewId },
  });

  setHandler(breakGlassReviewQuery, () => view);
  setHandler(
    reviewBreakGlassUpdate,
    async (arg) => {
      // The validator accepted this very token: read it again without the clock-bound checks.
      const claims = answers.accepted(arg.token);
      answer = claims.input;
      view.status = claims.input.outcome;
      view.answer = {
        reviewer: claims.input.reviewer,
        outcome: claims.input.outcome,
        ...(claims.input.comment !== undefined ? { comment: claims.input.comment } : {}),
        at: new Date(claims.iat).toISOString(),
        late: claims.iat >= deadline,
      };
      // Answered once the outcome is recorded (and the bot locked down, for a rejection).
      await condition(() => applied);
      return view;
    },
    {
      validator: (arg: SignedBreakGlassReview) => {
        const claims = answers.verified(arg);
        if (answer !== undefined) {
          refuse('not_pending', `break-glass review ${input.reviewId} was already answered`);
        }
        const refusal = reviewerRefusal(claims.input.reviewer, input.reviewers, input.owner);
        if (refusal === 'not_reviewer') {
          refuse(
            'not_reviewer',
            `only the named reviewers of role ${input.roleId} may review this break-glass`,
          );
        }
        if (refusal === 'self_review') {
          refuse('self_review', `the owner of bot ${input.botId} may not review its own break-glass`);
        }
      },
    },
  );

  await answers.loadTrust();
  const alerted = alertBreakGlass({ ...activation, reviewUrl: input.reviewUrl }).catch((err: unknown) => {
    log.error('Could not alert about a break-glass activation', {
      reviewId: input.reviewId,
      error: errorSummary(err),
    });
  });

  let contained = false;
  if (!(await condition(() => answer !== undefined, Math.max(deadline - Date.now(), 1)))) {
    view.status = 'overdue';
    await containBreakGlass({ review: input, cause: 'review_missed' });
    contained = true;
    // The incident stays open until someone reviews it, however late.
    await condition(() => answer !== undefined);
  }
  const given = answer!;
  const lockNow = given.outcome === 'rejected' && !contained;
  if (lockNow) await containBreakGlass({ review: input, cause: 'rejected' });
  await recordBreakGlassReview(input, given, view.answer?.late ?? contained, lockNow);
  applied = true;
  await alerted;
  await condition(allHandlersFinished);
  return view;
}
