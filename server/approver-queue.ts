/**
 * The approver queue page, served beside the approval pages and sharing their MFA login:
 *
 *   GET /approvals/queue     → login transaction (its own single-use namespace: an approval's,
 *                              attestation's or review's login cannot come back as a queue's)
 *   GET /approvals/callback  → (`approvals.ts` hands over a state it does not know) ID token
 *                              checked (MFA, freshness) → the person's pending approvals, each
 *                              with a personal approval link or why not now
 *
 * The links are the ones a Slack click gives (`issueApprovalLink`), bound to the address that
 * logged in: approving still takes the usual fresh login and confirmation. Nothing is decided
 * here, so only failed logins are audited (`approval.refused`, stage `queue`).
 */
import type { Request, Response } from 'express';
import { z } from 'zod';
import type { Actor } from '../core/model/elevation.js';
import type { ApprovalService } from '../domain/approvals/approval-service.js';
import { approverQueuePage, type QueueEntry } from './approver-queue-views.js';
import { pendingLoginSchema, redirectToLogin } from './browser-login.js';
import type { RouteHandlers } from './http/routes.js';
import type { APPROVER_QUEUE_ROUTES } from './openapi/routes/approver-queue.js';
import { PageRefusal } from './page-refusal.js';
import {
  ANONYMOUS,
  finishAtProvider,
  LOGIN_IN_OTHER_BROWSER,
  pendingLogins,
  refusalData,
  refusalOf,
  requireBrowser,
  sendRefusal,
  storedByToken,
  type StepUpPageDeps,
} from './step-up-pages.js';

const LoginSchema = pendingLoginSchema({ queue: z.literal(true) });

export interface ApproverQueuePagesDeps extends StepUpPageDeps {
  approvals: Pick<ApprovalService, 'queue'>;
  /**
   * A personal approval link for `email` and elevation `elevationId`, or its pending extension
   * `extension` (`issueApprovalLink`).
   */
  approvalLink: (elevationId: string, email: string, extension?: number) => Promise<string>;
}

/** The handler of the queue route, and the callback's share of a login it started. */
export function approverQueuePages(deps: ApproverQueuePagesDeps) {
  const logins = deps.singleUse.namespace('queue-login', LoginSchema);
  const pending = pendingLogins<{ queue: true }>(deps, logins);

  const refuse = async (req: Request, res: Response, err: unknown, actor: Actor): Promise<void> => {
    const refusal = refusalOf(req, err, {
      hint: 'Open /approvals/queue again.',
      failed: 'approver queue step failed',
    });
    if (refusal.status < 500) {
      await deps.audit.recordRefusal('approval.refused', null, actor, refusalData(req, refusal, 'queue'));
    }
    sendRefusal(req, res, refusal);
  };

  /** Sends the browser to log in; the route takes no input, so any query is ignored. */
  const start = async (req: Request, res: Response): Promise<void> => {
    try {
      await redirectToLogin(res, pending, { queue: true });
    } catch (err) {
      await refuse(req, res, err, ANONYMOUS);
    }
  };
  const startApproverQueueLogin: Handlers['startApproverQueueLogin'] = (_input, req, res) => start(req, res);

  /**
   * The callback of a login this page started (`approvals.ts` asks with a `state` it does not
   * know): false when the state is not a queue's either.
   */
  const finishLogin = async (state: unknown, req: Request, res: Response): Promise<boolean> => {
    const login = await storedByToken(logins, state, 'peek');
    if (!login) return false;
    let actor: Actor = ANONYMOUS;
    try {
      // Peek, check the browser, then take: a stranger holding the state cannot burn the login.
      requireBrowser(req, deps.cookieName, login.browser, LOGIN_IN_OTHER_BROWSER);
      if (!(await storedByToken(logins, state, 'take'))) {
        throw new PageRefusal(
          400,
          'approval_link_invalid',
          'state_mismatch',
          'This login is unknown, was already used, or has expired.',
          'Open /approvals/queue again.',
        );
      }
      const { evidence } = await finishAtProvider(req, deps.stepUp, login.transaction);
      actor = { kind: 'human', id: evidence.email };
      const items = await deps.approvals.queue(evidence.email, {
        ...(evidence.joinValue !== undefined ? { joinValue: evidence.joinValue } : {}),
        issuer: evidence.issuer,
        subject: evidence.subject,
      });
      const entries: QueueEntry[] = [];
      for (const item of items) {
        entries.push(
          item.refusal === undefined
            ? { ...item, link: await deps.approvalLink(item.elevation.id, evidence.email, item.extension) }
            : item,
        );
      }
      res.setHeader('cache-control', 'no-store');
      res.type('html').send(approverQueuePage({ approver: evidence.email, entries }));
    } catch (err) {
      await refuse(req, res, err, actor);
    }
    return true;
  };

  return {
    handlers: { startApproverQueueLogin } satisfies Handlers,
    invalidInput: (_input: unknown, req: Request, res: Response) => start(req, res),
    finishLogin,
  };
}

type Handlers = RouteHandlers<typeof APPROVER_QUEUE_ROUTES>;
