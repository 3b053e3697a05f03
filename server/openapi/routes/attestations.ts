/** The owner attestation pages, beside the approval pages (they share the MFA login and its callback). */
import { refused, LOGIN_REDIRECT, REFUSED_LINK, REFUSED_MFA, REFUSED_DOWN } from '../common-responses.js';
import { attestationConfirmFormSchema, attestationIdSchema } from '../request-docs.js';
import { route } from '../route-spec.js';

const NOT_OWNER = refused(
  '`forbidden` (reason `not_owner`): the person who logged in is not the bot’s owner.',
);
const NOT_OPEN = refused('`not_pending`: the attestation was answered already, or its deadline has passed.');

export const ATTESTATION_ROUTES = [
  route({
    method: 'get',
    path: '/approvals/attest/{id}',
    operationId: 'startAttestationLogin',
    tag: 'approvals',
    summary: 'Review a bot’s roles: start the owner’s MFA login',
    description:
      'The Review link of an owner attestation (Slack direct message, or the log without Slack). The attestation must be open; then the browser goes to the identity provider for a fresh MFA login. The login comes back to `/approvals/callback`, which shows the bot’s roles with a box each, ticked, once the login is checked and its address is the bot’s owner’s.',
    security: 'none',
    params: { id: attestationIdSchema },
    responses: {
      303: LOGIN_REDIRECT,
      404: refused('`not_found`: no such attestation, or attestation is not configured.'),
      409: NOT_OPEN,
      503: REFUSED_DOWN,
    },
  }),
  route({
    method: 'post',
    path: '/approvals/attest/confirm',
    operationId: 'confirmAttestation',
    tag: 'approvals',
    summary: 'Submit the owner’s attestation: the roles kept',
    description:
      'The confirmation is used up; the answer (the roles ticked are kept, the others trimmed) goes to the attestation workflow signed by the API, with the login’s evidence. Requests for a trimmed role are refused with 403 `role_suspended`; an answer lifts a suspension for an unanswered attestation.',
    security: 'approvalBrowser',
    body: {
      schema: attestationConfirmFormSchema,
      contentType: 'application/x-www-form-urlencoded',
      required: true,
      maxFields: 200,
    },
    responses: {
      200: { description: '“Your attestation was recorded”, with the roles kept and trimmed.', html: true },
      400: REFUSED_LINK,
      401: REFUSED_MFA,
      403: NOT_OWNER,
      409: NOT_OPEN,
      503: REFUSED_DOWN,
    },
  }),
] as const;
