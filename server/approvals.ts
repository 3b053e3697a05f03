/**
 * The approval pages: an approver arrives from Slack with a personal link, logs in afresh at
 * the OpenID Connect provider with MFA, and confirms with one click.
 *
 *   Slack "Approve" → ticket (bound to the elevation and the Slack user, 10 min)
 *   GET  /approvals/start?ticket=…  → login transaction (state, nonce, PKCE), cookie → IdP
 *   GET  /approvals/callback        → ID token checked (MFA, freshness, same person as in Slack)
 *                                     → confirmation (bound to the cookie, valid while the login is fresh)
 *   POST /approvals/confirm         → the approve Update, with the login's evidence
 *
 * "Approve extension" (an extension waiting for approvers) takes the same path: its ticket, login
 * and confirmation carry the extension's number, the page says it approves that extension, and
 * the Update names it (`ApproveInput.extension`).
 *
 * Without Slack (the log notifier), `GET /approvals/:id` starts the same login unbound: the
 * approver is whoever logs in. Every refusal is audited (`approval.refused`, with the reason
 * code) and shown as a page that says why; JSON callers get `{error: {code, message}}` with
 * RFC 9470's `insufficient_user_authentication` where MFA or freshness is missing.
 *
 * The routes are `APPROVAL_ROUTES` of the route table, registered from it (`server/http/routes.ts`):
 * an input their schemas refuse is answered like an unknown link, with a page that says why.
 *
 * Transactions, tickets and confirmations live in the store's single-use table, so any API
 * process can serve any step. Logins and confirmations are single-use; a link from Slack may
 * start several logins within its ten minutes, each only for the person it was issued to.
 */
import { PageRefusal, stepUpStatus } from './page-refusal.js';
import express, { type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { ApprovalService } from '../domain/approvals/approval-service.js';
import type { AuditService } from '../domain/audit/audit-service.js';
import { type ApproverLogin } from '../core/ports/approver-directory.js';
import { ApiError, AuditedRefusal, RefusalError } from '../domain/errors.js';
import { httpStatusOf } from './http-status.js';
import { z } from 'zod';
import type { SingleUseNamespaces, SingleUseRecords } from '../core/ports/single-use.js';
import {
  CLOCK_TOLERANCE_SECONDS,
  StepUpError,
  type MfaEvidence,
  type StepUpClient,
} from '../integrations/oidc/step-up.js';
import type { Actor } from '../core/model/elevation.js';
import { sameApprover } from '../core/rules/approval-eligibility.js';
import { approvedPage, confirmPage, refusedPage } from './approval-views.js';
import {
  cookieOf,
  newToken,
  pendingLoginSchema,
  redirectToLogin,
  tokenDigest,
  type PendingLoginStore,
} from './browser-login.js';
import { countFailure, type AuthFailureLimit } from './auth-failure-limit.js';
import { serveRoutes, type InvalidInput, type RouteHandlers } from './http/routes.js';
import { APPROVAL_ROUTES } from './openapi/routes/approvals.js';
import { ATTESTATION_ROUTES } from './openapi/routes/attestations.js';
import type { AttestationService } from '../domain/attestations/attestation-service.js';
import { attestationPages } from './attestations.js';
import { breakGlassReviewPages } from './break-glass-reviews.js';
import { BREAK_GLASS_ROUTES } from './openapi/routes/break-glass.js';
import type { BreakGlassReviewService } from '../domain/elevations/break-glass-review-service.js';
import { approverQueuePages } from './approver-queue.js';
import { APPROVER_QUEUE_ROUTES } from './openapi/routes/approver-queue.js';

/** How long a personal approval link from Slack stays usable. */
export const TICKET_TTL_MS = 10 * 60_000;
/** How long a login at the identity provider may take. */
const LOGIN_TTL_MS = 10 * 60_000;

export interface ApprovalRoutesDeps {
  /** Checks an approver before the login and takes the approval after it. */
  approvals: Pick<ApprovalService, 'checkApprover' | 'approve' | 'queue'>;
  /** Where refused links and approvals are recorded. */
  audit: Pick<AuditService, 'recordRefusal'>;
  /** The relying party, discovered on first use (the provider may start after Elevate). */
  stepUp: () => Promise<StepUpClient>;
  /** Where tickets, logins in progress and confirmations are kept (single-use namespaces). */
  singleUse: SingleUseNamespaces;
  /** Base URL the approver's browser reaches this server at. */
  publicUrl: string;
  /** True when approvals come from Slack: only links from a Slack click are accepted. */
  slackBound: boolean;
  logger: Logger;
  clock?: () => Date;
  /** Failed approval links per source network, shared with the API: over it, the pages answer 429. */
  authFailureLimit?: AuthFailureLimit;
  /** Owners' attestation answers (`attestations.ts`, served here to share the login); absent: 404. */
  attestations?: Pick<AttestationService, 'check' | 'attest'>;
  /** Reviewers' break-glass verdicts (`break-glass-reviews.ts`, served here to share the login); absent: 404. */
  breakGlassReviews?: Pick<BreakGlassReviewService, 'check' | 'review'>;
}

/**
 * Who a ticket was issued to. `slackUserId`/`email` are absent for an unbound (log-mode) login;
 * `extension`, the number of the pending extension it approves, is absent for the request.
 */
const TicketShape = {
  elevationId: z.string(),
  slackUserId: z.string().optional(),
  email: z.string().optional(),
  extension: z.number().int().positive().optional(),
};
const TicketSchema = z.object(TicketShape);
type Ticket = z.infer<typeof TicketSchema>;

/** A login in progress at the identity provider, for a ticket. */
const LoginSchema = pendingLoginSchema(TicketShape);

const ConfirmationSchema = z.object({
  elevationId: z.string(),
  /** The pending extension this approves (absent: the request). */
  extension: z.number().int().positive().optional(),
  approver: z.string(),
  /** What the provider asserted beyond the address: the directory join value, issuer and subject. */
  login: z
    .object({
      joinValue: z.string().optional(),
      issuer: z.string().optional(),
      subject: z.string().optional(),
    })
    .optional() satisfies z.ZodType<ApproverLogin | undefined>,
  evidence: z.record(z.string(), z.unknown()),
  browser: z.string(),
  authTime: z.string(),
});
type Confirmation = z.infer<typeof ConfirmationSchema>;

/** The personal approval links' tickets, by the hash of their token. */
export function approvalTickets(singleUse: SingleUseNamespaces): SingleUseRecords<Ticket> {
  return singleUse.namespace('approval-ticket', TicketSchema);
}

/**
 * A personal approval link for a Slack user who clicked Approve: valid for
 * {@link TICKET_TTL_MS}, for this elevation and this person only.
 */
export async function issueApprovalLink(
  tickets: Pick<SingleUseRecords<Ticket>, 'put'>,
  publicUrl: string,
  ticket: Ticket,
  now = new Date(),
): Promise<string> {
  const t = newToken();
  await tickets.put(tokenDigest(t), ticket, new Date(now.getTime() + TICKET_TTL_MS));
  return `${publicUrl}/approvals/start?ticket=${t}`;
}

export function approvalRoutes(deps: ApprovalRoutesDeps): express.Router {
  const router = express.Router();
  const now = () => (deps.clock ?? (() => new Date()))();
  const secure = deps.publicUrl.startsWith('https://');
  // Over https the `__Secure-` prefix: a sibling subdomain cannot toss in a cookie of this name
  // without Secure (which would shadow the real one).
  const COOKIE = secure ? '__Secure-elevate_approval' : 'elevate_approval';

  router.use('/approvals', (_req, res, next) => {
    res.setHeader(
      'content-security-policy',
      "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    res.setHeader('referrer-policy', 'no-referrer');
    next();
  });

  const tickets = approvalTickets(deps.singleUse);
  const logins = deps.singleUse.namespace('approval-login', LoginSchema);
  const confirmations = deps.singleUse.namespace('approval-confirm', ConfirmationSchema);

  /** Where a login in progress is kept; its cookie is the browser's only, for the approval pages only. */
  const pendingLogins: PendingLoginStore<Ticket> = {
    client: deps.stepUp,
    logger: deps.logger,
    records: logins,
    expiresAt: () => new Date(now().getTime() + LOGIN_TTL_MS),
    cookie: (browser) =>
      `${COOKIE}=${browser}; Path=/approvals; HttpOnly; SameSite=Lax; Max-Age=${LOGIN_TTL_MS / 1000}${secure ? '; Secure' : ''}`,
  };

  const wantsJson = (req: Request) => req.accepts(['html', 'json']) === 'json';

  const attestation = attestationPages({
    attestations: deps.attestations,
    audit: deps.audit,
    stepUp: deps.stepUp,
    singleUse: deps.singleUse,
    logger: deps.logger,
    now,
    cookieName: COOKIE,
    setCookie: pendingLogins.cookie,
  });

  const breakGlass = breakGlassReviewPages({
    reviews: deps.breakGlassReviews,
    audit: deps.audit,
    stepUp: deps.stepUp,
    singleUse: deps.singleUse,
    logger: deps.logger,
    now,
    cookieName: COOKIE,
    setCookie: pendingLogins.cookie,
  });

  // The approver's queue (`approver-queue.ts`): its links are the ones a Slack click gives.
  const queue = approverQueuePages({
    approvals: deps.approvals,
    audit: deps.audit,
    stepUp: deps.stepUp,
    singleUse: deps.singleUse,
    logger: deps.logger,
    now,
    cookieName: COOKIE,
    setCookie: pendingLogins.cookie,
    approvalLink: (elevationId, email, extension) =>
      issueApprovalLink(tickets, deps.publicUrl, { elevationId, email, ...extensionData(extension) }, now()),
  });

  /** Answer a refusal: audit it, then a page (or JSON) that says why. */
  const refuse = async (
    req: Request,
    res: Response,
    err: unknown,
    context: { elevationId?: string; actor?: Actor; stage: string; extra?: Record<string, unknown> },
  ) => {
    let refusal: PageRefusal;
    let audited = false;
    if (err instanceof PageRefusal) {
      refusal = err;
    } else if (err instanceof StepUpError) {
      const [status, apiCode] = stepUpStatus(err.code);
      refusal = new PageRefusal(status, apiCode, err.code, err.message, hintFor(err.code));
    } else if (err instanceof ApiError) {
      refusal = new PageRefusal(
        httpStatusOf(err),
        err.code,
        err instanceof RefusalError ? err.reason : err.code,
        err.message,
      );
      audited = err instanceof AuditedRefusal;
      if (httpStatusOf(err) >= 500) req.log.error({ err }, 'approval step failed');
    } else {
      req.log.error({ err }, 'approval step failed');
      refusal = new PageRefusal(500, 'internal', 'internal', 'Something went wrong on our side; try again.');
      audited = true; // nothing to audit: a fault, logged above
    }
    if (!audited && refusal.status < 500) {
      // A link or login nobody can be named for counts as a failed attempt of the network.
      if (!context.actor && !context.elevationId) countFailure(deps.authFailureLimit, req);
      await deps.audit.recordRefusal(
        'approval.refused',
        context.elevationId ?? null,
        context.actor ?? ANONYMOUS,
        {
          code: refusal.reason,
          message: refusal.message,
          stage: context.stage,
          ip: req.ip ?? null,
          ...context.extra,
        },
      );
    }
    if (refusal.apiCode === 'insufficient_user_authentication') {
      const settings = await deps
        .stepUp()
        .then((c) => c.settings)
        .catch(() => undefined);
      const params = [
        'error="insufficient_user_authentication"',
        `error_description="${headerText(refusal.message)}"`,
        ...(settings ? [`max_age=${settings.maxAgeSeconds}`] : []),
        ...(settings?.acrValues ? [`acr_values="${headerText(settings.acrValues)}"`] : []),
      ];
      res.setHeader('www-authenticate', `Bearer ${params.join(', ')}`);
    }
    res.status(refusal.status);
    if (wantsJson(req)) {
      res.json({ error: { code: refusal.apiCode, reason: refusal.reason, message: refusal.message } });
    } else {
      res.type('html').send(refusedPage(refusal.reason, refusal.message, refusal.hint, refusal.status < 500));
    }
  };

  /** Start the MFA login for a ticket: transaction stored by state, cookie binds the browser. */
  const beginLogin = (res: Response, ticket: Ticket) => redirectToLogin(res, pendingLogins, ticket);

  /**
   * The record a one-time token (ticket or confirmation) stands for; `take` uses it up. Only its
   * hash is a key, so the store never holds a usable token.
   */
  const stored = <T>(
    namespace: Pick<SingleUseRecords<T>, 'peek' | 'take'>,
    token: unknown,
    mode: 'peek' | 'take',
  ): Promise<T | undefined> =>
    typeof token === 'string' && /^[A-Za-z0-9_-]{20,100}$/.test(token)
      ? namespace[mode](tokenDigest(token))
      : Promise.resolve(undefined);

  /** A network that failed too often gets 429 before any record is looked up (counted, not audited one by one). */
  const refuseIfFlooding = async (req: Request, res: Response, stage: string): Promise<boolean> => {
    const wait = deps.authFailureLimit?.retryAfter(req.ip) ?? 0;
    if (wait === 0) return false;
    await deps.audit.recordRefusal('approval.refused', null, ANONYMOUS, {
      code: 'rate_limited',
      stage,
      ip: req.ip ?? null,
    });
    res.setHeader('retry-after', String(wait));
    res.status(429);
    const message = `Too many failed attempts from your network; try again in ${wait} seconds.`;
    if (wantsJson(req)) res.json({ error: { code: 'too_many_requests', reason: 'rate_limited', message } });
    else res.type('html').send(refusedPage('rate_limited', message, undefined, true));
    return true;
  };
  router.use(
    ['/approvals/start', '/approvals/callback', '/approvals/confirm', '/approvals/attest'],
    (req, res, next) => {
      refuseIfFlooding(req, res, req.baseUrl.split('/').pop() ?? 'start').then(
        (refused) => (refused ? undefined : next()),
        next,
      );
    },
  );

  /** An approval link nobody issued, or one used up or expired. */
  const unknownLink = (req: Request, res: Response) =>
    refuse(
      req,
      res,
      new PageRefusal(
        400,
        'approval_link_invalid',
        'approval_link_invalid',
        'This approval link is unknown or has expired.',
        'Click Approve in Slack again for a new link.',
      ),
      { stage: 'start' },
    );

  /** A login state nobody issued, or one used up, expired, or (with `take`) another browser's. */
  const unknownLogin = (req: Request, res: Response) =>
    refuse(
      req,
      res,
      new PageRefusal(
        400,
        'approval_link_invalid',
        'state_mismatch',
        'This login is unknown, was already used, or has expired.',
        'Start again from the approval link.',
      ),
      { stage: 'callback' },
    );

  /** A confirmation nobody issued, or one used up or expired. */
  const unknownConfirmation = (req: Request, res: Response) =>
    refuse(
      req,
      res,
      new PageRefusal(
        400,
        'approval_link_invalid',
        'confirmation_invalid',
        'This confirmation is unknown, was already used, or has expired (a login is only fresh for a few minutes).',
        'Start again from the approval link.',
      ),
      { stage: 'confirm' },
    );

  /** A form the parser refused (too large, too many fields). */
  const invalidForm = (req: Request, res: Response) =>
    refuse(
      req,
      res,
      new PageRefusal(
        400,
        'invalid_request',
        'invalid_form',
        'The confirmation form was not valid; start again.',
      ),
      { stage: 'confirm' },
    );

  /** An unbound login asked for with Slack configured, or for something that is no elevation id. */
  const noUnboundLogin = (req: Request, res: Response) =>
    refuse(
      req,
      res,
      new PageRefusal(
        404,
        'not_found',
        deps.slackBound ? 'slack_required' : 'not_found',
        deps.slackBound
          ? 'Approvals start from the Approve button in Slack, which gives you a personal link.'
          : 'No such elevation.',
      ),
      { stage: 'start' },
    );

  const startApprovalLogin: Handlers['startApprovalLogin'] = async ({ query }, req, res) => {
    const ticket = await stored(tickets, query.ticket, 'peek');
    if (!ticket) {
      await unknownLink(req, res);
      return;
    }
    const actor: Actor = ticket.email ? { kind: 'human', id: ticket.email } : ANONYMOUS;
    try {
      // Nobody logs in for nothing: the same checks the workflow makes, before the login.
      if (ticket.email) {
        await deps.approvals.checkApprover(ticket.elevationId, ticket.email, undefined, ticket.extension);
      }
      await beginLogin(res, ticket);
    } catch (err) {
      await refuse(req, res, err, {
        elevationId: ticket.elevationId,
        actor,
        stage: 'start',
        extra: extensionData(ticket.extension),
      });
    }
  };

  const finishApprovalLogin: Handlers['finishApprovalLogin'] = async ({ query }, req, res) => {
    // Peek, check the browser, then take: someone who saw the `state` (the provider's logs, a
    // forwarded URL) must not be able to use up the approver's login from another browser.
    const login = await stored(logins, query.state, 'peek');
    // A login the owner attestation pages started comes back here too (one redirect URI).
    if (!login && (await attestation.finishLogin(query.state, req, res))) return;
    if (!login && (await breakGlass.finishLogin(query.state, req, res))) return;
    if (!login && (await queue.finishLogin(query.state, req, res))) return;
    // Another browser is refused below with the record kept; the right one uses it up (once).
    const sameBrowser = login !== undefined && cookieOf(req, COOKIE) === login.browser;
    if (!login || (sameBrowser && !(await stored(logins, query.state, 'take')))) {
      await unknownLogin(req, res);
      return;
    }
    const elevationId = login.elevationId;
    const extension = login.extension;
    let actor: Actor = login.email ? { kind: 'human', id: login.email } : ANONYMOUS;
    try {
      if (cookieOf(req, COOKIE) !== login.browser) {
        throw new PageRefusal(
          400,
          'approval_link_invalid',
          'browser_mismatch',
          'This login was started in another browser (or cookies are blocked).',
          'Open the approval link and log in in the same browser.',
        );
      }
      const client = await deps.stepUp();
      const callbackUrl = new URL(req.originalUrl, client.settings.redirectUri);
      const evidence: MfaEvidence = await client.finish(callbackUrl, login.transaction);
      if (!login.email) actor = { kind: 'human', id: evidence.email };
      if (login.email && !sameApprover(login.email, evidence.email)) {
        throw new PageRefusal(
          403,
          'identity_mismatch',
          'identity_mismatch',
          `You logged in as ${evidence.email}, but the approval was requested by the Slack user with ${login.email}.`,
          'Log in with your own account: the person who clicks Approve in Slack must be the person who logs in.',
        );
      }
      // The login's address, canonical (verified, plain ASCII, lower case) and, with Slack, the clicker's.
      const approver = evidence.email;
      const asserted: ApproverLogin = {
        issuer: evidence.issuer,
        subject: evidence.subject,
        ...(evidence.joinValue === undefined ? {} : { joinValue: evidence.joinValue }),
      };
      const { elevation, groups } = await deps.approvals.checkApprover(
        elevationId,
        approver,
        asserted,
        extension,
      );
      const record: Record<string, unknown> = {
        issuer: evidence.issuer,
        subject: evidence.subject,
        email: evidence.email,
        ...(evidence.joinValue === undefined ? {} : { joinValue: evidence.joinValue }),
        amr: evidence.amr,
        ...(evidence.acr !== undefined ? { acr: evidence.acr } : {}),
        authTime: evidence.authTime,
        mfaMethod: evidence.mfaMethod,
        idTokenHash: evidence.idTokenHash,
        ...(login.slackUserId ? { slackUserId: login.slackUserId } : {}),
      };
      const c = newToken();
      const freshUntil = Date.parse(evidence.authTime) + client.settings.maxAgeSeconds * 1000;
      // As long as the confirm step will accept the login (its age is checked there with the same tolerance).
      const validUntil = new Date(
        Math.min(freshUntil + CLOCK_TOLERANCE_SECONDS * 1000, now().getTime() + 5 * 60_000),
      );
      const confirmation: Confirmation = {
        elevationId,
        ...extensionData(extension),
        approver,
        login: asserted,
        evidence: record,
        browser: login.browser,
        authTime: evidence.authTime,
      };
      await confirmations.put(tokenDigest(c), confirmation, validUntil);
      res.type('html').send(
        confirmPage({
          elevation,
          approver,
          groups,
          mfaMethod: evidence.mfaMethod,
          authTime: evidence.authTime,
          confirmation: c,
          validUntil: validUntil.toISOString(),
          ...extensionData(extension),
        }),
      );
    } catch (err) {
      await refuse(req, res, err, {
        elevationId,
        actor,
        stage: 'callback',
        extra: {
          ...(login.slackUserId ? { slackUserId: login.slackUserId } : {}),
          ...extensionData(extension),
        },
      });
    }
  };

  const confirmApproval: Handlers['confirmApproval'] = async ({ body }, req, res) => {
    // Peek, check the browser (below), then take: a stranger holding the token cannot burn it.
    const confirmation = await stored(confirmations, body.confirmation, 'peek');
    if (!confirmation) {
      await unknownConfirmation(req, res);
      return;
    }
    const actor: Actor = { kind: 'human', id: confirmation.approver };
    try {
      if (cookieOf(req, COOKIE) !== confirmation.browser) {
        throw new PageRefusal(
          400,
          'approval_link_invalid',
          'browser_mismatch',
          'This confirmation belongs to a login in another browser.',
        );
      }
      if (!(await stored(confirmations, body.confirmation, 'take'))) {
        throw new PageRefusal(
          400,
          'approval_link_invalid',
          'confirmation_invalid',
          'This confirmation was already used.',
          'Start again from the approval link.',
        );
      }
      const client = await deps.stepUp();
      const age = now().getTime() - Date.parse(confirmation.authTime);
      if (age > (client.settings.maxAgeSeconds + CLOCK_TOLERANCE_SECONDS) * 1000) {
        throw new StepUpError(
          'login_too_old',
          `Your login at ${confirmation.authTime} is older than ${client.settings.maxAgeSeconds} seconds; log in again.`,
        );
      }
      const view = await deps.approvals.approve(
        confirmation.elevationId,
        {
          approver: { id: confirmation.approver },
          evidence: confirmation.evidence,
          ...extensionData(confirmation.extension),
        },
        confirmation.login,
      );
      res.type('html').send(approvedPage(view, confirmation.approver, confirmation.extension));
    } catch (err) {
      await refuse(req, res, err, {
        elevationId: confirmation.elevationId,
        actor,
        stage: 'confirm',
        extra: { evidence: confirmation.evidence, ...extensionData(confirmation.extension) },
      });
    }
  };

  // Without Slack: a link per elevation, written to the log; whoever logs in is the approver.
  const startUnboundApprovalLogin: Handlers['startUnboundApprovalLogin'] = async (
    { params: { id }, query: { extension } },
    req,
    res,
  ) => {
    if (deps.slackBound) {
      await noUnboundLogin(req, res);
      return;
    }
    try {
      await beginLogin(res, { elevationId: id, ...extensionData(extension) });
    } catch (err) {
      await refuse(req, res, err, { elevationId: id, stage: 'start' });
    }
  };

  /** An input the routes' schemas refuse is answered as the same input unknown would be. */
  const invalidInput = (
    { operationId, part, error }: InvalidInput<typeof APPROVAL_ROUTES>,
    req: Request,
    res: Response,
  ): Promise<void> => {
    switch (operationId) {
      case 'startApprovalLogin':
        return unknownLink(req, res);
      case 'finishApprovalLogin':
        return unknownLogin(req, res);
      case 'confirmApproval':
        return part === 'unreadable body' ? invalidForm(req, res) : unknownConfirmation(req, res);
      case 'startUnboundApprovalLogin':
        // A bad `extension` in a link that is otherwise one: say which part is wrong.
        return part === 'query' && !deps.slackBound
          ? refuse(
              req,
              res,
              new PageRefusal(
                400,
                'invalid_request',
                'invalid_link',
                `This link is not valid: ${error.message}`,
              ),
              { stage: 'start' },
            )
          : noUnboundLogin(req, res);
    }
  };

  serveRoutes(router, APPROVER_QUEUE_ROUTES, queue.handlers, {
    guards: { none: [] },
    invalidInput: queue.invalidInput,
  });
  serveRoutes(router, BREAK_GLASS_ROUTES, breakGlass.handlers, {
    guards: { none: [], approvalBrowser: [] },
    invalidInput: breakGlass.invalidInput,
  });
  serveRoutes(router, ATTESTATION_ROUTES, attestation.handlers, {
    guards: { none: [], approvalBrowser: [] },
    invalidInput: attestation.invalidInput,
  });
  serveRoutes(
    router,
    APPROVAL_ROUTES,
    { startApprovalLogin, finishApprovalLogin, confirmApproval, startUnboundApprovalLogin },
    {
      // No guard: the login cookie is compared by the handlers, after the one-time record it
      // binds is looked up, because each mismatch is its own audited refusal. Networks that
      // fail too often are refused above, before any route.
      guards: { none: [], approvalBrowser: [] },
      invalidInput,
    },
  );
  return router;
}

type Handlers = RouteHandlers<typeof APPROVAL_ROUTES>;

/** The pending extension a ticket, login or confirmation is for, as a record's fields (none: the request). */
function extensionData(extension: number | undefined): { extension?: number } {
  return extension !== undefined ? { extension } : {};
}

const ANONYMOUS: Actor = { kind: 'anonymous', id: 'unknown' };

/**
 * Text for a quoted header parameter: printable ASCII only, no quote or backslash, at most 200
 * characters. The message can carry values from the identity provider (`amr`, `acr`), and Node
 * throws on a header with a character outside Latin-1, which turned the refusal into a 500.
 */
export function headerText(text: string): string {
  return text
    .replace(/["\\]/g, "'")
    .replace(/[^\x20-\x7e]/g, '?')
    .slice(0, 200);
}

function hintFor(code: string): string | undefined {
  switch (code) {
    case 'insufficient_user_authentication':
      return 'Log in again with a second factor (an authenticator code or a security key).';
    case 'login_too_old':
    case 'missing_auth_time':
      return 'Start again from the approval link: approvals need a fresh login.';
    case 'token_rejected':
      return 'This login response was already used or is not valid; start again from the approval link.';
    default:
      return undefined;
  }
}
