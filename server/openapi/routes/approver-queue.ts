/** The approver queue page, beside the approval pages (it shares their MFA login and its callback). */
import { LOGIN_REDIRECT, REFUSED_DOWN } from '../common-responses.js';
import { route } from '../route-spec.js';

export const APPROVER_QUEUE_ROUTES = [
  route({
    method: 'get',
    path: '/approvals/queue',
    operationId: 'startApproverQueueLogin',
    tag: 'approvals',
    summary: 'My pending approvals: start the approver’s MFA login',
    description:
      'For browsers. After a fresh MFA login at the identity provider (it comes back to `/approvals/callback`), a page lists every request waiting for approval of a role the person is an approver of (its groups, its escalation groups once escalated, or the risk score’s escalation group), oldest first, with its approval window and progress, and for each either a personal approval link (the usual login and confirmation follow) or why they may not approve it now.',
    security: 'none',
    responses: {
      303: LOGIN_REDIRECT,
      503: REFUSED_DOWN,
    },
  }),
] as const;
