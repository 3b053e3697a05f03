/**
 * The owner attestation pages, served beside the approval pages and sharing their MFA login:
 *
 *   Review link → GET /approvals/attest/{id}  → login transaction (its own single-use
 *                                               namespace: an approval's login cannot come back
 *                                               as an attestation's, nor the other way round)
 *   GET /approvals/callback                    → (`approvals.ts` hands over a state it does not
 *                                               know) ID token checked (MFA, freshness), the
 *                                               person must be the bot's owner → the roles page
 *   POST /approvals/attest/confirm             → the answer, signed, to the attestation workflow
 *
 * The steps are those of every answer page (`answer-pages.ts`). Every refusal is recorded as
 * `attestation.refused` and shown as a page that says why (JSON callers get
 * `{error: {code, reason, message}}`).
 */
import type { Request, Response } from 'express';
import type { AttestationService } from '../domain/attestations/attestation-service.js';
import { answerPages } from './answer-pages.js';
import { attestedPage, reviewPage } from './attestation-views.js';
import type { InvalidInput, RouteHandlers } from './http/routes.js';
import type { ATTESTATION_ROUTES } from './openapi/routes/attestations.js';
import { PageRefusal } from './page-refusal.js';
import { ANONYMOUS, refusalData, type StepUpPageDeps } from './step-up-pages.js';

export interface AttestationPagesDeps extends StepUpPageDeps {
  /** Absent when the process serves no attestations: the pages answer 404. */
  attestations?: Pick<AttestationService, 'check' | 'attest'> | undefined;
}

/** The handlers of the attestation routes, and the callback's share of a login it started. */
export function attestationPages(deps: AttestationPagesDeps) {
  const pages = answerPages(deps, {
    service: deps.attestations,
    check: (attestations, id, email) => attestations.check(id, email),
    idField: 'attestationId',
    personField: 'owner',
    namespaces: { login: 'attestation-login', confirm: 'attestation-confirm' },
    failed: 'attestation step failed',
    notConfigured: 'This Elevate serves no owner attestations.',
    unknownLink: 'This attestation login or page is unknown, was already used, or has expired.',
    record: async (req, refusal, context) => {
      await deps.audit.recordRefusal('attestation.refused', null, context.actor ?? ANONYMOUS, {
        ...refusalData(req, refusal, context.stage),
        ...(context.id ? { attestationId: context.id } : {}),
        ...(context.evidence ? { evidence: context.evidence } : {}),
      });
    },
    page: (attestation, login) =>
      reviewPage({
        attestation,
        owner: login.person,
        mfaMethod: login.mfaMethod,
        authTime: login.authTime,
        confirmation: login.confirmation,
        validUntil: login.validUntil,
      }),
    answer: async (attestations, confirmation, body: ConfirmBody) => {
      const kept = body.role === undefined ? [] : Array.isArray(body.role) ? body.role : [body.role];
      const view = await attestations.attest(
        confirmation.id,
        confirmation.person,
        kept,
        confirmation.evidence,
      );
      return attestedPage(view);
    },
  });

  const handlers: Handlers = {
    startAttestationLogin: ({ params: { id } }, req, res) => pages.start(id, req, res),
    confirmAttestation: ({ body }, req, res) => pages.confirm(body.confirmation, body, req, res),
  };

  /** An input the routes' schemas refuse, answered as the same input unknown would be. */
  const invalidInput = async (
    { operationId }: InvalidInput<typeof ATTESTATION_ROUTES>,
    req: Request,
    res: Response,
  ): Promise<void> => {
    const err =
      operationId === 'startAttestationLogin'
        ? new PageRefusal(404, 'not_found', 'not_found', 'No such attestation.')
        : pages.unknownLink('confirm');
    await pages.refuse(req, res, err, {
      stage: operationId === 'startAttestationLogin' ? 'start' : 'confirm',
    });
  };

  return { handlers, invalidInput, finishLogin: pages.finishLogin };
}

type Handlers = RouteHandlers<typeof ATTESTATION_ROUTES>;
type ConfirmBody = Parameters<NonNullable<Handlers['confirmAttestation']>>[0]['body'];
