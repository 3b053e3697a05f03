/**
 * What the pages served beside the approval pages share (owner attestation, break-glass review,
 * approver queue): a login in progress kept in the page's own single-use namespace, the checks
 * of the callback and of a confirmation (same browser, single use, fresh MFA login), and how a
 * refusal is turned into a page or a JSON error. Each page keeps its own names, audit event and
 * order of steps; these are the steps themselves, so the pages cannot drift apart.
 */
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Actor } from '../core/model/elevation.js';
import type { SingleUseNamespaces, SingleUseRecords } from '../core/ports/single-use.js';
import type { AuditService } from '../domain/audit/audit-service.js';
import { ApiError } from '../domain/errors.js';
import {
  CLOCK_TOLERANCE_SECONDS,
  StepUpError,
  type LoginTransaction,
  type MfaEvidence,
  type StepUpClient,
} from '../integrations/oidc/step-up.js';
import { refusedPage } from './approval-views.js';
import { cookieOf, newToken, tokenDigest, type PendingLoginStore } from './browser-login.js';
import { httpStatusOf } from './http-status.js';
import { PageRefusal, stepUpStatus } from './page-refusal.js';

/** How long a login at the identity provider may take. */
const LOGIN_TTL_MS = 10 * 60_000;

/** How long a confirmation stays usable at most, however fresh the login. */
const CONFIRMATION_TTL_MS = 5 * 60_000;

/** Who is refused before anyone has logged in. */
export const ANONYMOUS: Actor = { kind: 'anonymous', id: 'unknown' };

/** What such a page needs of the approval pages and the process. */
export interface StepUpPageDeps {
  audit: Pick<AuditService, 'recordRefusal'>;
  stepUp: () => Promise<StepUpClient>;
  singleUse: SingleUseNamespaces;
  logger: Logger;
  now: () => Date;
  /** The approval pages' login cookie: its name, and the header that sets it. */
  cookieName: string;
  setCookie: (browser: string) => string;
}

/** Where the page's logins in progress are kept (`records`, its own namespace) and for how long. */
export function pendingLogins<K extends object>(
  deps: StepUpPageDeps,
  records: PendingLoginStore<K>['records'],
): PendingLoginStore<K> {
  return {
    client: deps.stepUp,
    logger: deps.logger,
    records,
    expiresAt: () => new Date(deps.now().getTime() + LOGIN_TTL_MS),
    cookie: deps.setCookie,
  };
}

/** How a page words the refusals it does not make itself. */
export interface RefusalWording {
  /** What a failed login tells the person to do next. */
  hint: string;
  /** The log line of a failure on our side. */
  failed: string;
  /** The reason an API error records (default: its code). */
  reasonOf?: (err: ApiError) => string;
}

/** `err` as the page's refusal: a step-up failure, an API error, or (logged) a failure of ours. */
export function refusalOf(req: Request, err: unknown, wording: RefusalWording): PageRefusal {
  if (err instanceof PageRefusal) return err;
  if (err instanceof StepUpError) {
    const [status, apiCode] = stepUpStatus(err.code);
    return new PageRefusal(status, apiCode, err.code, err.message, wording.hint);
  }
  if (err instanceof ApiError) {
    const reason = wording.reasonOf ? wording.reasonOf(err) : err.code;
    const refusal = new PageRefusal(httpStatusOf(err), err.code, reason, err.message);
    if (httpStatusOf(err) >= 500) req.log.error({ err }, wording.failed);
    return refusal;
  }
  req.log.error({ err }, wording.failed);
  return new PageRefusal(500, 'internal', 'internal', 'Something went wrong on our side; try again.');
}

/** What every refusal's audit event records first: the reason, the message, the step and the source. */
export function refusalData(req: Request, refusal: PageRefusal, stage: string) {
  return { code: refusal.reason, message: refusal.message, stage, ip: req.ip ?? null };
}

/** Answers with the refusal: JSON `{error: {code, reason, message}}` to JSON callers, else a page. */
export function sendRefusal(req: Request, res: Response, refusal: PageRefusal): void {
  res.status(refusal.status);
  if (req.accepts(['html', 'json']) === 'json') {
    res.json({ error: { code: refusal.apiCode, reason: refusal.reason, message: refusal.message } });
  } else {
    res.type('html').send(refusedPage(refusal.reason, refusal.message, refusal.hint, refusal.status < 500));
  }
}

/** The record a one-time token keys in `namespace`, read or taken; nothing for a token of the wrong shape. */
export function storedByToken<T>(
  namespace: Pick<SingleUseRecords<T>, 'peek' | 'take'>,
  token: unknown,
  mode: 'peek' | 'take',
): Promise<T | undefined> {
  return typeof token === 'string' && /^[A-Za-z0-9_-]{20,100}$/.test(token)
    ? namespace[mode](tokenDigest(token))
    : Promise.resolve(undefined);
}

/** Refuses a request that does not come from the browser `browser` marked (`message` says which). */
export function requireBrowser(req: Request, cookieName: string, browser: string, message: string): void {
  if (cookieOf(req, cookieName) !== browser) {
    throw new PageRefusal(400, 'approval_link_invalid', 'browser_mismatch', message);
  }
}

/** What a login's callback tells when it was started in another browser. */
export const LOGIN_IN_OTHER_BROWSER = 'This login was started in another browser (or cookies are blocked).';
/** What a confirmation tells when its login was made in another browser. */
export const PAGE_OF_OTHER_BROWSER = 'This page belongs to a login in another browser.';

/** The login's evidence from the identity provider's callback (checked there: MFA, freshness). */
export async function finishAtProvider(
  req: Request,
  stepUp: () => Promise<StepUpClient>,
  transaction: LoginTransaction,
): Promise<{ client: StepUpClient; evidence: MfaEvidence }> {
  const client = await stepUp();
  const evidence = await client.finish(new URL(req.originalUrl, client.settings.redirectUri), transaction);
  return { client, evidence };
}

/**
 * A confirmation for a login: the evidence the answer is recorded with, a fresh token, and until
 * when it is usable (while the login is fresh, five minutes at most).
 */
export function loginConfirmation(
  evidence: MfaEvidence,
  client: StepUpClient,
  now: Date,
): { record: Record<string, unknown>; token: string; validUntil: Date } {
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
  const token = newToken();
  const freshUntil = Date.parse(evidence.authTime) + client.settings.maxAgeSeconds * 1000;
  const validUntil = new Date(
    Math.min(freshUntil + CLOCK_TOLERANCE_SECONDS * 1000, now.getTime() + CONFIRMATION_TTL_MS),
  );
  return { record, token, validUntil };
}

/** Refuses a confirmation whose login (at `authTime`) is no longer fresh. */
export async function requireFreshLogin(
  stepUp: () => Promise<StepUpClient>,
  now: () => Date,
  authTime: string,
): Promise<void> {
  const client = await stepUp();
  const age = now().getTime() - Date.parse(authTime);
  if (age > (client.settings.maxAgeSeconds + CLOCK_TOLERANCE_SECONDS) * 1000) {
    throw new StepUpError(
      'login_too_old',
      `Your login at ${authTime} is older than ${client.settings.maxAgeSeconds} seconds; log in again.`,
    );
  }
}
