/** The approval pages for approvers' browsers. */
import {
  refused,
  LOGIN_REDIRECT,
  REFUSED_LINK,
  REFUSED_MFA,
  REFUSED_PERSON,
  REFUSED_STATE,
  REFUSED_DOWN,
  ELEVATION_ID,
} from '../common-responses.js';
import {
  approvalStartQuerySchema,
  unboundApprovalQuerySchema,
  approvalCallbackQuerySchema,
  approvalConfirmFormSchema,
} from '../request-docs.js';
import { route } from '../route-spec.js';

export const APPROVAL_ROUTES = [
  route({
    method: 'get',
    path: '/approvals/start',
    operationId: 'startApprovalLogin',
    tag: 'approvals',
    summary: 'Open a personal approval link: start the MFA login',
    description:
      'For browsers. The same eligibility check as the Slack click runs first (nobody logs in for nothing); then the browser goes to the identity provider. The link may be opened again within its 10 minutes.',
    security: 'none',
    query: approvalStartQuerySchema,
    responses: {
      303: LOGIN_REDIRECT,
      400: REFUSED_LINK,
      403: REFUSED_PERSON,
      404: refused('`not_found`: the elevation does not exist.'),
      409: REFUSED_STATE,
      503: REFUSED_DOWN,
    },
  }),
  route({
    method: 'get',
    path: '/approvals/callback',
    operationId: 'finishApprovalLogin',
    tag: 'approvals',
    summary: 'Come back from the identity provider: the confirmation page',
    description:
      'The provider sends the browser here. The login is used up; its ID token is checked (signature, nonce, MFA, freshness, the same person as in Slack) and the approver’s eligibility again. Nothing is approved yet: the page asks for confirmation.',
    security: 'approvalBrowser',
    query: approvalCallbackQuerySchema,
    responses: {
      200: { description: 'The confirmation page.', html: true },
      400: REFUSED_LINK,
      401: REFUSED_MFA,
      403: REFUSED_PERSON,
      404: refused('`not_found`: the elevation does not exist.'),
      409: REFUSED_STATE,
      503: REFUSED_DOWN,
    },
  }),
  route({
    method: 'post',
    path: '/approvals/confirm',
    operationId: 'confirmApproval',
    tag: 'approvals',
    summary: 'Confirm the approval',
    description:
      'The confirmation is used up; the approval goes to the workflow with the login’s evidence, where it is refused if it must not count.',
    security: 'approvalBrowser',
    body: {
      schema: approvalConfirmFormSchema,
      contentType: 'application/x-www-form-urlencoded',
      required: true,
    },
    responses: {
      200: { description: '“Your approval was recorded”, with the elevation’s progress.', html: true },
      400: refused(
        '`approval_link_invalid` (confirmation unknown, used, expired, or another browser’s) or `invalid_request` (the form is over 2 KiB or has more than 5 fields).',
      ),
      401: REFUSED_MFA,
      403: REFUSED_PERSON,
      404: refused('`not_found`: the elevation does not exist.'),
      409: REFUSED_STATE,
      503: REFUSED_DOWN,
    },
  }),
  route({
    method: 'get',
    path: '/approvals/{id}',
    operationId: 'startUnboundApprovalLogin',
    tag: 'approvals',
    summary: 'Without Slack: start the MFA login for an elevation',
    description:
      'The link written to the log when Slack is not configured. Whoever logs in with MFA is the approver, checked for eligibility after the login. Refused (404, reason `slack_required`) when Slack is configured.',
    security: 'none',
    params: ELEVATION_ID,
    query: unboundApprovalQuerySchema,
    responses: {
      303: LOGIN_REDIRECT,
      400: refused('`invalid_request`: `extension` is not a whole number from 1 (without Slack only).'),
      404: refused(
        '`not_found`: Slack is configured (reason `slack_required`), or `{id}` is not an elevation id.',
      ),
      503: REFUSED_DOWN,
    },
  }),
] as const;
