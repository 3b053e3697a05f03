/**
 * The break-glass review pages, served beside the approval pages and sharing their MFA login:
 *
 *   Review link → GET /approvals/breakglass/{id} → login transaction (its own single-use
 *                                                  namespace: an approval's or attestation's
 *                                                  login cannot come back as a review's)
 *   GET /approvals/callback                       → (`approvals.ts` hands over a state it does
 *                                                  not know) ID token checked (MFA, freshness),
 *                                                  the person must be a named reviewer and not
 *                                                  the bot's owner → the review page
 *   POST /approvals/breakglass/confirm            → the verdict, signed, to the review workflow
 *
 * The steps are those of every answer page (`answer-pages.ts`). Every refusal is recorded as
 * `breakglass.refused` and shown as a page that says why (JSON callers get
 * `{error: {code, reason, message}}`).
 */
import type { Request, Response } from 'express';
import type { BreakGlassReviewService } from '../domain/elevations/break-glass-review-service.js';
import { answerPages } from './answer-pages.js';
import { breakGlassReviewedPage, breakGlassReviewPage } from './break-glass-views.js';
import type { InvalidInput, RouteHandlers } from './http/routes.js';
import type { BREAK_GLASS_ROUTES } from './openapi/routes/break-glass.js';
import { PageRefusal } from './page-refusal.js';
import { ANONYMOUS, refusalData, type StepUpPageDeps } from './step-up-pages.js';

export interface BreakGlassReviewPagesDeps extends StepUpPageDeps {
  /** Absent when the process serves no break-glass reviews: the pages answer 404. */
  reviews?: Pick<BreakGlassReviewService, 'check' | 'review'> | undefined;
}

/** The handlers of the break-glass review routes, and the callback's share of a login it started. */
export function breakGlassReviewPages(deps: BreakGlassReviewPagesDeps) {
  const pages = answerPages(deps, {
    service: deps.reviews,
    check: (reviews, elevationId, email) => reviews.check(elevationId, email),
    idField: 'elevationId',
    personField: 'reviewer',
    namespaces: { login: 'breakglass-login', confirm: 'breakglass-confirm' },
    failed: 'break-glass review step failed',
    notConfigured: 'This Elevate serves no break-glass reviews.',
    unknownLink: 'This break-glass review login or page is unknown, was already used, or has expired.',
    record: async (req, refusal, context) => {
      await deps.audit.recordRefusal('breakglass.refused', context.id ?? null, context.actor ?? ANONYMOUS, {
        ...refusalData(req, refusal, context.stage),
        ...(context.evidence ? { evidence: context.evidence } : {}),
      });
    },
    page: (review, login) =>
      breakGlassReviewPage({
        review,
        reviewer: login.person,
        mfaMethod: login.mfaMethod,
        authTime: login.authTime,
        confirmation: login.confirmation,
        validUntil: login.validUntil,
      }),
    answer: async (reviews, confirmation, body: ConfirmBody) => {
      const comment = body.comment?.trim();
      const view = await reviews.review(confirmation.id, {
        reviewer: confirmation.person,
        outcome: body.outcome,
        ...(comment ? { comment } : {}),
        evidence: confirmation.evidence,
      });
      return breakGlassReviewedPage(view);
    },
  });

  const handlers: Handlers = {
    startBreakGlassReviewLogin: ({ params: { id } }, req, res) => pages.start(id, req, res),
    confirmBreakGlassReview: ({ body }, req, res) => pages.confirm(body.confirmation, body, req, res),
  };

  /** An input the routes' schemas refuse, answered as the same input unknown would be. */
  const invalidInput = async (
    { operationId, part, error }: InvalidInput<typeof BREAK_GLASS_ROUTES>,
    req: Request,
    res: Response,
  ): Promise<void> => {
    if (operationId === 'startBreakGlassReviewLogin') {
      await pages.refuse(
        req,
        res,
        new PageRefusal(404, 'not_found', 'not_found', 'No such break-glass review.'),
        { stage: 'start' },
      );
      return;
    }
    // A bad verdict or comment names the field; a bad confirmation is an unknown one.
    const err =
      part === 'body' && error.field !== undefined && error.field !== 'confirmation'
        ? new PageRefusal(400, 'invalid_request', 'invalid_request', error.message)
        : pages.unknownLink('confirm');
    await pages.refuse(req, res, err, { stage: 'confirm' });
  };

  return { handlers, invalidInput, finishLogin: pages.finishLogin };
}

type Handlers = RouteHandlers<typeof BREAK_GLASS_ROUTES>;
type ConfirmBody = Parameters<NonNullable<Handlers['confirmBreakGlassReview']>>[0]['body'];
