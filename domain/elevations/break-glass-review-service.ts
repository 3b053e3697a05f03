/**
 * What the break-glass review pages do with a reviewer's answer: read where a review stands,
 * check that the person who logged in is a named reviewer and not the bot's owner (before and
 * after the MFA login), and send their answer to the review workflow, signed by the API as
 * approvals are. The workflow decides again; every refusal is recorded as `breakglass.refused`
 * by the pages.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { ErrorCode } from '../../core/errors/error-codes.js';
import {
  BREAK_GLASS_REFUSAL_TYPE,
  breakGlassReviewIdFor,
  type BreakGlassOutcome,
  type BreakGlassActivation,
  type BreakGlassRefusalCode,
  type BreakGlassReviewInput,
  type BreakGlassReviewView,
} from '../../core/model/break-glass.js';
import { reviewerRefusal } from '../../core/rules/break-glass.js';
import { breakGlassReviewQuery, reviewBreakGlassUpdate } from '../../workflows/break-glass-definitions.js';
import type { breakGlassReviewWorkflow } from '../../workflows/break-glass-review-workflow.js';
import {
  AnswerRefused,
  answerFailure,
  answerWorkflowView,
  type AnswerServiceDeps,
} from '../signed-answers.js';

/**
 * A review answer refused: the API code, and the reason (`not_reviewer`, `self_review`,
 * `not_pending`...) recorded in `breakglass.refused`.
 */
export class BreakGlassReviewRefused extends AnswerRefused {}

/** The workflow's refusal codes as the API's error codes. */
const REFUSAL_TO_API: Record<BreakGlassRefusalCode, ErrorCode> = {
  not_pending: 'not_pending',
  not_reviewer: 'forbidden',
  self_review: 'forbidden',
  // The API's own signature refused: keys or clocks, never the reviewer's doing.
  unsigned_decision: 'service_unavailable',
};

export type BreakGlassReviewServiceDeps = AnswerServiceDeps<'breakGlassReview'>;

export class BreakGlassReviewService {
  constructor(private readonly deps: BreakGlassReviewServiceDeps) {}

  /** Where the review of break-glass elevation `elevationId` stands; `not_found` without one. */
  async view(elevationId: string): Promise<BreakGlassReviewView> {
    return answerWorkflowView(
      this.deps,
      breakGlassReviewIdFor(elevationId),
      breakGlassReviewQuery,
      () =>
        new BreakGlassReviewRefused(
          'not_found',
          'not_found',
          `elevation ${elevationId} has no break-glass review`,
        ),
      'read the break-glass review',
    );
  }

  /**
   * The review, if `email` may answer it now: nobody answered yet (an overdue review may still be
   * answered: that closes the incident), and `email` is a named reviewer other than the bot's
   * owner. Asked before the login (with the address unknown: only that it is open) and after it.
   */
  async check(elevationId: string, email?: string): Promise<BreakGlassReviewView> {
    const view = await this.view(elevationId);
    if (view.status !== 'open' && view.status !== 'overdue') {
      throw new BreakGlassReviewRefused(
        'not_pending',
        'not_pending',
        `the break-glass of elevation ${elevationId} was already ${view.status}`,
      );
    }
    const refusal = email === undefined ? undefined : reviewerRefusal(email, view.reviewers, view.owner);
    if (refusal === 'not_reviewer') {
      throw new BreakGlassReviewRefused(
        'forbidden',
        refusal,
        `You logged in as ${email}, but only the named reviewers of role ${view.roleId} may review this break-glass.`,
      );
    }
    if (refusal === 'self_review') {
      throw new BreakGlassReviewRefused(
        'forbidden',
        refusal,
        `You logged in as ${email}, the owner of bot ${view.botId}: someone else must review its break-glass.`,
      );
    }
    return view;
  }

  /** Send the reviewer's answer, signed, to the review workflow; the workflow decides. */
  async review(
    elevationId: string,
    answer: {
      reviewer: string;
      outcome: BreakGlassOutcome;
      comment?: string;
      evidence: Record<string, unknown>;
    },
  ): Promise<BreakGlassReviewView> {
    const view = await this.check(elevationId, answer.reviewer);
    try {
      const signed = await this.deps.signer.breakGlassReview(view.reviewId, answer);
      const after = await this.deps.temporal.workflow
        .getHandle(view.reviewId)
        .executeUpdate(reviewBreakGlassUpdate, { args: [signed] });
      this.deps.logger.info(
        { elevationId, botId: view.botId, outcome: answer.outcome },
        'break-glass review sent',
      );
      return after;
    } catch (err) {
      throw answerFailure<BreakGlassRefusalCode>(err, {
        refusalType: BREAK_GLASS_REFUSAL_TYPE,
        toApi: REFUSAL_TO_API,
        refused: (code, reason, message) => new BreakGlassReviewRefused(code, reason, message),
        logger: this.deps.logger,
        fields: { elevationId },
        signatureRefused:
          "a break-glass review workflow refused this API's signed answer: check ELEVATE_DECISION_SIGNING_KEY here, ELEVATE_DECISION_PUBLIC_KEYS on the workers, and the clocks",
        ended: `the review of ${elevationId} has ended`,
        action: 'send the break-glass review',
      });
    }
  }
}

/** Start the review workflow of an activation; false when it runs already (one per elevation). */
export async function startBreakGlassReviewWorkflow(
  temporal: Pick<Client, 'workflow'>,
  taskQueue: string,
  input: BreakGlassReviewInput,
  activation: BreakGlassActivation,
): Promise<boolean> {
  try {
    await temporal.workflow.start<typeof breakGlassReviewWorkflow>('breakGlassReviewWorkflow', {
      workflowId: input.reviewId,
      taskQueue,
      args: [input, activation],
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}

/** Where review `reviewId` stands, as its workflow answers. */
export async function breakGlassReviewViewOf(
  temporal: Pick<Client, 'workflow'>,
  reviewId: string,
): Promise<BreakGlassReviewView> {
  return temporal.workflow.getHandle(reviewId).query(breakGlassReviewQuery);
}
