/** The break-glass review pages, beside the approval pages (they share the MFA login and its callback). */
import { z } from 'zod';
import { documented } from '../../response-schemas.js';
import { elevationIdSchema } from '../../schemas.js';
import { refused, LOGIN_REDIRECT, REFUSED_LINK, REFUSED_MFA, REFUSED_DOWN } from '../common-responses.js';
import { route } from '../route-spec.js';

export const breakGlassReviewFormSchema = documented(
  z.object({
    confirmation: documented(z.string().regex(/^[A-Za-z0-9_-]{20,100}$/), {
      description: 'The review page’s hidden field: single-use, valid while the login is fresh.',
    }),
    outcome: documented(z.enum(['confirmed', 'rejected']), {
      description:
        '`confirmed`: the emergency was real (the incident closes); `rejected`: it was not (the bot is locked down and the role revoked).',
    }),
    comment: documented(z.string().max(2000).optional(), {
      description: 'Why, in the reviewer’s words (recorded with the answer).',
    }),
  }),
  {
    id: 'BreakGlassReview',
    description: 'The review page’s form: the reviewer’s verdict; at most 16 KiB.',
  },
);

const NOT_REVIEWER = refused(
  '`forbidden` (reason `not_reviewer` or `self_review`): the person who logged in is not a named reviewer of the role, or is the bot’s owner.',
);
const NOT_OPEN = refused('`not_pending`: a reviewer answered this break-glass already.');

export const BREAK_GLASS_ROUTES = [
  route({
    method: 'get',
    path: '/approvals/breakglass/{id}',
    operationId: 'startBreakGlassReviewLogin',
    tag: 'approvals',
    summary: 'Review a break-glass activation: start the reviewer’s MFA login',
    description:
      'The Review link of a break-glass activation (Slack direct message to each reviewer, or the log without Slack). The review must still be unanswered (an overdue one may still be answered: that closes the incident); then the browser goes to the identity provider for a fresh MFA login. The login comes back to `/approvals/callback`, which shows the activation and the Confirm / Reject form once the login is checked and its address is a named reviewer other than the bot’s owner.',
    security: 'none',
    params: { id: elevationIdSchema },
    responses: {
      303: LOGIN_REDIRECT,
      404: refused('`not_found`: the elevation has no break-glass review.'),
      409: NOT_OPEN,
      503: REFUSED_DOWN,
    },
  }),
  route({
    method: 'post',
    path: '/approvals/breakglass/confirm',
    operationId: 'confirmBreakGlassReview',
    tag: 'approvals',
    summary: 'Submit a reviewer’s verdict on a break-glass activation',
    description:
      'The confirmation is used up; the verdict goes to the review workflow signed by the API, with the login’s evidence, and is recorded as `breakglass.reviewed`. `rejected` locks the bot down (`bot.locked`, via `break-glass`) and the elevation workflow revokes the role at the review deadline.',
    security: 'approvalBrowser',
    body: {
      schema: breakGlassReviewFormSchema,
      contentType: 'application/x-www-form-urlencoded',
      required: true,
      maxFields: 10,
    },
    responses: {
      200: { description: '“Your review was recorded”, with the verdict.', html: true },
      400: REFUSED_LINK,
      401: REFUSED_MFA,
      403: NOT_REVIEWER,
      409: NOT_OPEN,
      503: REFUSED_DOWN,
    },
  }),
] as const;
