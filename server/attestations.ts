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
 * Every refusal is recorded as `attestation.refused` and shown as a page that says why (JSON
 * callers get `{error: {code, reason, message}}`).
 */
import { PageRefusal, stepUpStatus } from './page-refusal.js';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { Actor } from '../core/model/elevation.js';
import type { SingleUseNamespaces } from '../core/ports/single-use.js';
import type { AttestationService } from '../domain/attestations/attestation-service.js';
import { AttestationRefused } from '../domain/attestations/attestation-service.js';
import type { AuditService } from '../domain/audit/audit-service.js';
import { ApiError } from '../domain/errors.js';
import { CLOCK_TOLERANCE_SECONDS, StepUpError, type StepUpClient } from '../integrations/oidc/step-up.js';
import { refusedPage } from './approval-views.js';
import { attestedPage, reviewPage } from './attestation-views.js';
import {
  cookieOf,
  newToken,
  pendingLoginSchema,
  redirectToLogin,
  tokenDigest,
  type PendingLoginStore,
} from './browser-login.js';
import { httpStatusOf } from './http-status.js';
import type { InvalidInput, RouteHandlers } from './http/routes.js';
import type { ATTESTATION_ROUTES } from './openapi/routes/attestations.js';

/** How long a login at the identity provider may take. */
const LOGIN_TTL_MS = 10 * 60_000;

const LoginSchema = pendingLoginSchema({ attestationId: z.string() });
const ConfirmationSchema = z.object({
  attestationId: z.string(),
  owner: z.string(),
  evidence: z.record(z.string(), z.unknown()),
  browser: z.string(),
  authTime: z.string(),
});

export interface AttestationPagesDeps {
  /** Absent when the process serves no attestations: the pages answer 404. */
  attestations?: Pick<AttestationService, 'check' | 'attest'> | undefined;
  audit: Pick<AuditService, 'recordRefusal'>;
  stepUp: () => Promise<StepUpClient>;
  singleUse: SingleUseNamespaces;
  logger: Logger;
  now: () => Date;
  /** The approval pages' login cookie: its name, and the header that sets it. */
  cookieName: string;
  setCookie: (browser: string) => string;
}

const ANONYMOUS: Actor = { kind: 'anonymous', id: 'unknown' };

/** The handlers of the attestation routes, and the callback's share of a login it started. */
export function attestationPages(deps: AttestationPagesDeps) {
  const logins = deps.singleUse.namespace('attestation-login', LoginSchema);
  const confirmations = deps.singleUse.namespace('attestation-confirm', ConfirmationSchema);
  const pending: PendingLoginStore<{ attestationId: string }> = {
    client: deps.stepUp,
    logger: deps.logger,
    records: logins,
    expiresAt: () => new Date(deps.now().getTime() + LOGIN_TTL_MS),
    cookie: deps.setCookie,
  };

  const refuse = async (
    req: Request,
    res: Response,
    err: unknown,
    context: { attestationId?: string; actor?: Actor; stage: string; evidence?: Record<string, unknown> },
  ): Promise<void> => {
    let refusal: PageRefusal;
    if (err instanceof PageRefusal) refusal = err;
    else if (err instanceof StepUpError) {
      const [status, apiCode] = stepUpStatus(err.code);
      refusal = new PageRefusal(status, apiCode, err.code, err.message, 'Start again from the Review link.');
    } else if (err instanceof ApiError) {
      const reason = err instanceof AttestationRefused ? err.reason : err.code;
      refusal = new PageRefusal(httpStatusOf(err), err.code, reason, err.message);
      if (httpStatusOf(err) >= 500) req.log.error({ err }, 'attestation step failed');
    } else {
      req.log.error({ err }, 'attestation step failed');
      refusal = new PageRefusal(500, 'internal', 'internal', 'Something went wrong on our side; try again.');
    }
    if (refusal.status < 500) {
      await deps.audit.recordRefusal('attestation.refused', null, context.actor ?? ANONYMOUS, {
        code: refusal.reason,
        message: refusal.message,
        stage: context.stage,
        ip: req.ip ?? null,
        ...(context.attestationId ? { attestationId: context.attestationId } : {}),
        ...(context.evidence ? { evidence: context.evidence } : {}),
      });
    }
    res.status(refusal.status);
    if (req.accepts(['html', 'json']) === 'json') {
      res.json({ error: { code: refusal.apiCode, reason: refusal.reason, message: refusal.message } });
    } else {
      res.type('html').send(refusedPage(refusal.reason, refusal.message, refusal.hint, refusal.status < 500));
    }
  };

  const notConfigured = () =>
    new PageRefusal(404, 'not_found', 'not_found', 'This Elevate serves no owner attestations.');

  const unknownLink = (stage: string) =>
    new PageRefusal(
      400,
      'approval_link_invalid',
      stage === 'confirm' ? 'confirmation_invalid' : 'state_mismatch',
      'This attestation login or page is unknown, was already used, or has expired.',
      'Start again from the Review link.',
    );

  const stored = <T>(
    namespace: { peek(key: string): Promise<T | undefined>; take(key: string): Promise<T | undefined> },
    token: unknown,
    mode: 'peek' | 'take',
  ): Promise<T | undefined> =>
    typeof token === 'string' && /^[A-Za-z0-9_-]{20,100}$/.test(token)
      ? namespace[mode](tokenDigest(token))
      : Promise.resolve(undefined);

  const startAttestationLogin: Handlers['startAttestationLogin'] = async ({ params: { id } }, req, res) => {
    try {
      if (!deps.attestations) throw notConfigured();
      // Nobody logs in for nothing: the attestation must be open.
      await deps.attestations.check(id);
      await redirectToLogin(res, pending, { attestationId: id });
    } catch (err) {
      await refuse(req, res, err, { attestationId: id, stage: 'start' });
    }
  };

  /**
   * The callback of a login this page started (`approvals.ts` asks with a `state` it does not
   * know): false when the state is not an attestation's either.
   */
  const finishLogin = async (state: unknown, req: Request, res: Response): Promise<boolean> => {
    const login = await stored(logins, state, 'peek');
    if (!login) return false;
    let actor: Actor = ANONYMOUS;
    try {
      // Peek, check the browser, then take: a stranger holding the state cannot burn the login.
      if (cookieOf(req, deps.cookieName) !== login.browser) {
        throw new PageRefusal(
          400,
          'approval_link_invalid',
          'browser_mismatch',
          'This login was started in another browser (or cookies are blocked).',
        );
      }
      if (!(await stored(logins, state, 'take'))) throw unknownLink('callback');
      if (!deps.attestations) throw notConfigured();
      const client = await deps.stepUp();
      const evidence = await client.finish(
        new URL(req.originalUrl, client.settings.redirectUri),
        login.transaction,
      );
      actor = { kind: 'human', id: evidence.email };
      const attestation = await deps.attestations.check(login.attestationId, evidence.email);
      const record: Record<string, unknown> = {
        issuer: evidence.issuer,
        subject: evidence.subject,
        email: evidence.email,
        amr: evidence.amr,
        ...(evidence.acr !== undefined ? { acr: evidence.acr } : {}),
        authTime: evidence.authTime,
        mfaMethod: evidence.mfaMethod,
        idTokenHash: evidence.idTokenHash,
      };
      const c = newToken();
      const freshUntil = Date.parse(evidence.authTime) + client.settings.maxAgeSeconds * 1000;
      const validUntil = new Date(
        Math.min(freshUntil + CLOCK_TOLERANCE_SECONDS * 1000, deps.now().getTime() + 5 * 60_000),
      );
      await confirmations.put(
        tokenDigest(c),
        {
          attestationId: login.attestationId,
          owner: evidence.email,
          evidence: record,
          browser: login.browser,
          authTime: evidence.authTime,
        },
        validUntil,
      );
      res.type('html').send(
        reviewPage({
          attestation,
          owner: evidence.email,
          mfaMethod: evidence.mfaMethod,
          authTime: evidence.authTime,
          confirmation: c,
          validUntil: validUntil.toISOString(),
        }),
      );
    } catch (err) {
      await refuse(req, res, err, { attestationId: login.attestationId, actor, stage: 'callback' });
    }
    return true;
  };

  const confirmAttestation: Handlers['confirmAttestation'] = async ({ body }, req, res) => {
    const confirmation = await stored(confirmations, body.confirmation, 'peek');
    if (!confirmation) {
      await refuse(req, res, unknownLink('confirm'), { stage: 'confirm' });
      return;
    }
    const context = {
      attestationId: confirmation.attestationId,
      actor: { kind: 'human', id: confirmation.owner } satisfies Actor,
      stage: 'confirm',
      evidence: confirmation.evidence,
    };
    try {
      if (cookieOf(req, deps.cookieName) !== confirmation.browser) {
        throw new PageRefusal(
          400,
          'approval_link_invalid',
          'browser_mismatch',
          'This page belongs to a login in another browser.',
        );
      }
      if (!(await stored(confirmations, body.confirmation, 'take'))) throw unknownLink('confirm');
      if (!deps.attestations) throw notConfigured();
      const client = await deps.stepUp();
      const age = deps.now().getTime() - Date.parse(confirmation.authTime);
      if (age > (client.settings.maxAgeSeconds + CLOCK_TOLERANCE_SECONDS) * 1000) {
        throw new StepUpError(
          'login_too_old',
          `Your login at ${confirmation.authTime} is older than ${client.settings.maxAgeSeconds} seconds; log in again.`,
        );
      }
      const kept = body.role === undefined ? [] : Array.isArray(body.role) ? body.role : [body.role];
      const view = await deps.attestations.attest(
        confirmation.attestationId,
        confirmation.owner,
        kept,
        confirmation.evidence,
      );
      res.type('html').send(attestedPage(view));
    } catch (err) {
      await refuse(req, res, err, context);
    }
  };

  const handlers: Handlers = { startAttestationLogin, confirmAttestation };

  /** An input the routes' schemas refuse, answered as the same input unknown would be. */
  const invalidInput = async (
    { operationId }: InvalidInput<typeof ATTESTATION_ROUTES>,
    req: Request,
    res: Response,
  ): Promise<void> => {
    const err =
      operationId === 'startAttestationLogin'
        ? new PageRefusal(404, 'not_found', 'not_found', 'No such attestation.')
        : unknownLink('confirm');
    await refuse(req, res, err, { stage: operationId === 'startAttestationLogin' ? 'start' : 'confirm' });
  };

  return { handlers, invalidInput, finishLogin };
}

type Handlers = RouteHandlers<typeof ATTESTATION_ROUTES>;
