/**
 * The flow of a page where a person gives a signed answer after a fresh MFA login (owner
 * attestation, break-glass review), served beside the approval pages and sharing their login:
 *
 *   Review link → GET …/{id}        → login transaction (the page's own single-use namespace: no
 *                                      other page's login can come back as this one's)
 *   GET /approvals/callback          → (`approvals.ts` hands over a state it does not know) ID
 *                                      token checked (MFA, freshness), the person checked by the
 *                                      service → the page with a confirmation
 *   POST …/confirm                   → the answer, with the login's evidence, to the service
 *
 * Each kind names its records, words its refusals, records them as its own audit event and
 * renders its pages; the steps and their order are the same for all.
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { Actor } from '../core/model/elevation.js';
import type { SingleUseRecords } from '../core/ports/single-use.js';
import { AnswerRefused } from '../domain/signed-answers.js';
import { pendingLoginSchema, redirectToLogin, tokenDigest, type PendingLoginBase } from './browser-login.js';
import { PageRefusal } from './page-refusal.js';
import {
  ANONYMOUS,
  finishAtProvider,
  LOGIN_IN_OTHER_BROWSER,
  loginConfirmation,
  PAGE_OF_OTHER_BROWSER,
  pendingLogins,
  refusalOf,
  requireBrowser,
  requireFreshLogin,
  sendRefusal,
  storedByToken,
  type StepUpPageDeps,
} from './step-up-pages.js';

/** What a failed login tells the person to do next. */
const RESTART = 'Start again from the Review link.';

/** What a refusal on such a page is recorded with. */
export interface AnswerRefusalContext {
  /** What the answer is for (the attestation, the elevation), when known. */
  id?: string;
  actor?: Actor;
  stage: string;
  /** The login's evidence, once there is one. */
  evidence?: Record<string, unknown>;
}

/** The login a confirmation page shows. */
export interface ShownLogin {
  person: string;
  mfaMethod: string;
  authTime: string;
  confirmation: string;
  validUntil: string;
}

/** A confirmation as the answer is made from it: what it is for, who answers, with what evidence. */
export interface AnswerConfirmation {
  id: string;
  person: string;
  evidence: Record<string, unknown>;
}

/**
 * One kind of answer page. `K` and `P` are the fields its stored logins and confirmations keep
 * the id and the person under; `S` its service, `V` what the service's check returns, `B` the
 * confirmation's body.
 */
export interface AnswerPageKind<K extends string, P extends string, S, V, B> {
  /** Absent when the process serves no such answers: the pages answer 404 with `notConfigured`. */
  service: S | undefined;
  /** Whether the answer is open (no `email` before the login) and `email` may give it. */
  check: (service: S, id: string, email?: string) => Promise<V>;
  idField: K;
  personField: P;
  /** The single-use namespaces of its logins and confirmations. */
  namespaces: { login: string; confirm: string };
  /** The log line of a failure on our side. */
  failed: string;
  notConfigured: string;
  /** What a login or confirmation unknown, used or expired tells. */
  unknownLink: string;
  /** Records a refusal below 500 as the kind's audit event. */
  record: (req: Request, refusal: PageRefusal, context: AnswerRefusalContext) => Promise<void>;
  /** The page after a good login: what is answered, and the form with the confirmation. */
  page: (view: V, login: ShownLogin) => string;
  /** Gives the answer to the service; the page that says it was recorded. */
  answer: (service: S, confirmation: AnswerConfirmation, body: B) => Promise<string>;
}

/** The steps of an answer page: start a login, finish it, take the answer; and refuse. */
export function answerPages<K extends string, P extends string, S, V, B>(
  deps: StepUpPageDeps,
  kind: AnswerPageKind<K, P, S, V, B>,
) {
  type Login = Record<K, string> & PendingLoginBase;
  type Confirmation = Record<K | P, string> & {
    evidence: Record<string, unknown>;
    browser: string;
    authTime: string;
  };
  const logins = deps.singleUse.namespace(
    kind.namespaces.login,
    pendingLoginSchema({ [kind.idField]: z.string() }),
  ) as unknown as SingleUseRecords<Login>;
  const confirmations = deps.singleUse.namespace(
    kind.namespaces.confirm,
    z.object({
      [kind.idField]: z.string(),
      [kind.personField]: z.string(),
      evidence: z.record(z.string(), z.unknown()),
      browser: z.string(),
      authTime: z.string(),
    }),
  ) as unknown as SingleUseRecords<Confirmation>;
  const pending = pendingLogins<Record<K, string>>(deps, logins);

  const refuse = async (req: Request, res: Response, err: unknown, context: AnswerRefusalContext) => {
    const refusal = refusalOf(req, err, {
      hint: RESTART,
      failed: kind.failed,
      // The service's refusals record their specific reason (`not_owner`, `self_review`...).
      reasonOf: (e) => (e instanceof AnswerRefused ? e.reason : e.code),
    });
    if (refusal.status < 500) await kind.record(req, refusal, context);
    sendRefusal(req, res, refusal);
  };

  const notConfigured = () => new PageRefusal(404, 'not_found', 'not_found', kind.notConfigured);

  const unknownLink = (stage: string) =>
    new PageRefusal(
      400,
      'approval_link_invalid',
      stage === 'confirm' ? 'confirmation_invalid' : 'state_mismatch',
      kind.unknownLink,
      RESTART,
    );

  const start = async (id: string, req: Request, res: Response): Promise<void> => {
    try {
      if (!kind.service) throw notConfigured();
      // Nobody logs in for nothing: the answer must be open.
      await kind.check(kind.service, id);
      await redirectToLogin(res, pending, { [kind.idField]: id } as Record<K, string>);
    } catch (err) {
      await refuse(req, res, err, { id, stage: 'start' });
    }
  };

  /**
   * The callback of a login this page started (`approvals.ts` asks with a `state` it does not
   * know): false when the state is not this page's either.
   */
  const finishLogin = async (state: unknown, req: Request, res: Response): Promise<boolean> => {
    const login = await storedByToken(logins, state, 'peek');
    if (!login) return false;
    const id = login[kind.idField];
    let actor: Actor = ANONYMOUS;
    try {
      // Peek, check the browser, then take: a stranger holding the state cannot burn the login.
      requireBrowser(req, deps.cookieName, login.browser, LOGIN_IN_OTHER_BROWSER);
      if (!(await storedByToken(logins, state, 'take'))) throw unknownLink('callback');
      if (!kind.service) throw notConfigured();
      const { client, evidence } = await finishAtProvider(req, deps.stepUp, login.transaction);
      actor = { kind: 'human', id: evidence.email };
      const view = await kind.check(kind.service, id, evidence.email);
      const { record, token, validUntil } = loginConfirmation(evidence, client, deps.now());
      await confirmations.put(
        tokenDigest(token),
        {
          [kind.idField]: id,
          [kind.personField]: evidence.email,
          evidence: record,
          browser: login.browser,
          authTime: evidence.authTime,
        } as Confirmation,
        validUntil,
      );
      res.type('html').send(
        kind.page(view, {
          person: evidence.email,
          mfaMethod: evidence.mfaMethod,
          authTime: evidence.authTime,
          confirmation: token,
          validUntil: validUntil.toISOString(),
        }),
      );
    } catch (err) {
      await refuse(req, res, err, { id, actor, stage: 'callback' });
    }
    return true;
  };

  /** The answer on the confirmation page `token` (single use, same browser, the login still fresh). */
  const confirm = async (token: unknown, body: B, req: Request, res: Response): Promise<void> => {
    const confirmation = await storedByToken(confirmations, token, 'peek');
    if (!confirmation) {
      await refuse(req, res, unknownLink('confirm'), { stage: 'confirm' });
      return;
    }
    const answered: AnswerConfirmation = {
      id: confirmation[kind.idField],
      person: confirmation[kind.personField],
      evidence: confirmation.evidence,
    };
    const context = {
      id: answered.id,
      actor: { kind: 'human', id: answered.person } satisfies Actor,
      stage: 'confirm',
      evidence: answered.evidence,
    };
    try {
      requireBrowser(req, deps.cookieName, confirmation.browser, PAGE_OF_OTHER_BROWSER);
      if (!(await storedByToken(confirmations, token, 'take'))) throw unknownLink('confirm');
      if (!kind.service) throw notConfigured();
      await requireFreshLogin(deps.stepUp, deps.now, confirmation.authTime);
      const done = await kind.answer(kind.service, answered, body);
      res.type('html').send(done);
    } catch (err) {
      await refuse(req, res, err, context);
    }
  };

  return { start, finishLogin, confirm, refuse, unknownLink };
}
