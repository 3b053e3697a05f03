/**
 * The Slack app (Bolt): the Approve and Deny buttons on approval requests, and the deny
 * reason modal. In HTTP mode it is mounted on the API's Express app at `/slack/events`, where
 * requests without signature headers, or stamped more than five minutes from now either way,
 * are refused before their body is read, bodies are at most 256 KiB ({@link slackRequestGate}),
 * and Bolt verifies Slack's v0 signature over the raw body (401, audited as `auth.refused`
 * with the reason); in Socket Mode it connects out to Slack and needs no public URL.
 *
 * - Approve: the clicking Slack user's account must be an active, non-guest member of the
 *   app's workspace, and their e-mail (users.info) is checked against the approver groups;
 *   an eligible approver gets a modal with a personal link (bound to this elevation and this
 *   Slack user) to the MFA login. Nobody approves from Slack alone.
 * - Deny: a modal asks for the reason; the same account check applies; the denial is audited
 *   with it.
 * - Approve extension / Deny extension (in the thread, for an extension that needs approvers):
 *   the same, for the pending extension the button names (`extend-messages.ts`); the link and
 *   the denial carry its number, so they count for that extension only.
 *
 * Bolt never checks the token itself (its check in the constructor could reject with nobody
 * listening and kill the process): `runtime/slack-token-check.ts` does, and Bolt learns who
 * the app is from {@link SlackClient.identity}.
 *
 * Interactions are acknowledged at once (Slack's 3-second deadline) and each is handled once:
 * a validly signed interaction sent again (a replay, or a retry) is acknowledged and ignored,
 * keyed in the store's single-use table so every API process agrees. One no listener takes is
 * acknowledged when Bolt is done with it, and a body Bolt cannot read is answered 400
 * ({@link AcknowledgingReceiver}); fields of a payload are checked before they are used (Slack
 * signs what it sends, but Elevate does not rely on its shape).
 */
import { createHash } from 'node:crypto';
import { App, LogLevel } from '@slack/bolt';
import type {
  AllMiddlewareArgs,
  BlockAction,
  ButtonAction,
  SlackActionMiddlewareArgs,
  SlackViewMiddlewareArgs,
  ViewSubmitAction,
} from '@slack/bolt';
import express, { type Request, type Router } from 'express';
import type { Logger } from 'pino';
import type { SlackSettings } from '../config/settings.js';
import type { ApprovalService } from '../domain/approvals/approval-service.js';
import type { AuditService } from '../domain/audit/audit-service.js';
import { ApiError, AuditedRefusal } from '../domain/errors.js';
import { z } from 'zod';
import type { SingleUseNamespaces } from '../core/ports/single-use.js';
import type { SlackClient, SlackUserRefusal } from '../integrations/slack/slack-client.js';
import {
  APPROVE_ACTION,
  DENY_ACTION,
  DENY_CALLBACK,
  DENY_REASON_ACTION,
  DENY_REASON_BLOCK,
  VERIFY_ACTION,
  renderApproveModal,
  renderDenyModal,
} from '../integrations/slack/messages.js';
import {
  APPROVE_EXTENSION_ACTION,
  DENY_EXTENSION_ACTION,
  DENY_EXTENSION_CALLBACK,
  parseExtensionButtonValue,
  renderExtensionApproveModal,
  renderExtensionDenyModal,
} from '../integrations/slack/extend-messages.js';
import { approvalTickets, issueApprovalLink } from './approvals.js';
import { ATTEST_REVIEW_ACTION } from '../integrations/slack/attestation-messages.js';
import { BREAK_GLASS_REVIEW_ACTION } from '../integrations/slack/break-glass-messages.js';
import { elevationIdSchema } from './schemas.js';
import { unsafeTextProblem } from './safe-text.js';
import { SLACK_BODY_LIMIT_BYTES, headerRefusal, slackRequestGate } from './slack-request-gate.js';
import { AcknowledgingReceiver } from './slack-receiver.js';

/** How long a handled interaction is remembered (longer than Bolt's 5-minute window). */
const REPLAY_TTL_MS = 15 * 60_000;

export interface SlackAppDeps {
  settings: SlackSettings;
  /** Checks an approver before the MFA link is handed out, and takes denials. */
  approvals: Pick<ApprovalService, 'checkApprover' | 'deny'>;
  /** Where refused interactions are recorded. */
  audit: Pick<AuditService, 'recordRefusal'>;
  slack: SlackClient;
  /** Where replayed interactions are noticed and approval tickets kept (single-use namespaces). */
  singleUse: SingleUseNamespaces;
  publicUrl: string;
  logger: Logger;
}

export interface SlackApp {
  /** HTTP mode: the Express router to mount (serves POST /slack/events). */
  router?: Router;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function boltLogger(logger: Logger) {
  return {
    debug: (...m: unknown[]) => logger.debug({ component: 'slack' }, m.map(String).join(' ')),
    info: (...m: unknown[]) => logger.info({ component: 'slack' }, m.map(String).join(' ')),
    warn: (...m: unknown[]) => logger.warn({ component: 'slack' }, m.map(String).join(' ')),
    error: (...m: unknown[]) => logger.error({ component: 'slack' }, m.map(String).join(' ')),
    setLevel: () => undefined,
    getLevel: () => LogLevel.INFO,
    setName: () => undefined,
  };
}

/** A modal that only says something (a refusal before any login). */
function noticeModal(title: string, text: string) {
  return {
    type: 'modal' as const,
    title: { type: 'plain_text' as const, text: title.slice(0, 24) },
    close: { type: 'plain_text' as const, text: 'Close' },
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: text.replace(/[&<>]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;' })[c] ?? c),
        },
      },
    ],
  };
}

/** What makes an interaction unique: the same click or submission always maps to the same key. */
export function interactionKey(body: Record<string, unknown>): string | undefined {
  // Only strings count: a payload's object could not even be turned into text safely.
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const user = text((body.user as { id?: unknown } | null | undefined)?.id);
  if (body.type === 'block_actions') {
    const action = (body.actions as { action_id?: unknown; action_ts?: unknown }[] | undefined)?.[0];
    const ts = text(action?.action_ts);
    if (ts) return `action:${user}:${text(action?.action_id)}:${ts}`;
  }
  if (body.type === 'view_submission') {
    const view = body.view as { id?: unknown; hash?: unknown } | null | undefined;
    const id = text(view?.id);
    if (id) return `view:${user}:${id}:${text(view?.hash)}`;
  }
  return undefined;
}

/**
 * Whether Bolt can route the interaction: its listener matching reads the first action and the
 * view as objects without checking that they are (and throws on anything else).
 */
function routable(body: Record<string, unknown>): boolean {
  const isObject = (v: unknown) => typeof v === 'object' && v !== null;
  if (body.actions !== undefined && !(Array.isArray(body.actions) && isObject(body.actions[0]))) return false;
  return body.view === undefined || isObject(body.view);
}

/**
 * Why a request's Slack signature did not check out: both headers present, a timestamp at
 * most five minutes from now either way, then the HMAC over the raw body.
 */
export function signatureRefusal(req: Request, nowSeconds = Math.floor(Date.now() / 1000)): string {
  return headerRefusal(req, nowSeconds) ?? 'slack_signature_mismatch';
}

/** What a refused Slack account is told (the audit records the code). */
const ACCOUNT_REFUSALS: Record<SlackUserRefusal, string> = {
  slack_user_deactivated: 'Your Slack account is deactivated.',
  slack_user_guest: 'Guest accounts cannot approve or deny elevation requests.',
  slack_user_external:
    'Only members of the workspace Elevate is installed in can approve or deny elevation requests.',
};

const ANONYMOUS = { kind: 'anonymous', id: 'unknown' } as const;

/**
 * Slack's user ids are upper-case letters and digits. Whoever clicked is looked up, audited and
 * bound into the approval link by it, so anything else (only a payload Slack never sends could
 * carry it) is not acted on.
 */
const slackUserIdSchema = z.string().regex(/^[A-Z0-9]{1,64}$/);

/** The clicking or submitting Slack user's id, if the payload has a valid one. */
function slackUserOf(body: unknown): string | undefined {
  const parsed = slackUserIdSchema.safeParse((body as { user?: { id?: unknown } | null }).user?.id);
  return parsed.success ? parsed.data : undefined;
}

/** A submitted modal's input values, by block id and action id, as far as it has any. */
type SubmittedValues = Record<string, Record<string, { value?: unknown } | undefined> | undefined>;

/** The text of the deny modal's reason input, or '' when the submission has none. */
function denyReasonOf(view: unknown): string {
  const values = (view as { state?: { values?: SubmittedValues } | null }).state?.values;
  const value = values?.[DENY_REASON_BLOCK]?.[DENY_REASON_ACTION]?.value;
  return typeof value === 'string' ? value.trim() : '';
}

/**
 * The elevation and extension an Approve extension / Deny extension button, or the extension's
 * deny modal, is for: `<elevation id>:<number>` with a well-formed id, or undefined.
 */
function extensionTargetOf(value: unknown): { elevationId: string; extension: number } | undefined {
  const target = parseExtensionButtonValue(value);
  return target && elevationIdSchema.safeParse(target.elevationId).success ? target : undefined;
}

export function createSlackApp(deps: SlackAppDeps): SlackApp {
  const { settings, approvals, audit, slack, logger } = deps;
  /** Interactions seen, by the hash of their identity: a replay or retry acts once. */
  const interactions = deps.singleUse.namespace('slack-interaction', z.object({ at: z.string() }));
  const tickets = approvalTickets(deps.singleUse);
  const log = logger.child({ component: 'slack-app' });
  const receiver =
    settings.socketMode || !settings.signingSecret
      ? undefined
      : new AcknowledgingReceiver({
          signingSecret: settings.signingSecret,
          endpoints: '/slack/events',
          logger: boltLogger(log),
          // The gate in front has read the body within this limit already; this is a backstop.
          bodyLimit: SLACK_BODY_LIMIT_BYTES,
        });
  const app = new App({
    // Not `token`: Bolt would call auth.test in its constructor and nobody could catch a failure.
    authorize: async () => {
      const me = await slack.identity();
      return {
        botToken: settings.botToken,
        botUserId: me.userId,
        ...(me.botId ? { botId: me.botId } : {}),
        ...(me.teamId ? { teamId: me.teamId } : {}),
        ...(me.enterpriseId ? { enterpriseId: me.enterpriseId } : {}),
      };
    },
    ...(receiver ? { receiver } : { socketMode: true, appToken: settings.appToken }),
    logger: boltLogger(log),
    ...(settings.apiUrl ? { clientOptions: { slackApiUrl: settings.apiUrl } } : {}),
  });

  // Each interaction once: a replayed or retried one is acknowledged and dropped. One Bolt could
  // not route (only a payload Slack never sends) is acknowledged and dropped too.
  app.use(async (args) => {
    const body = args.body as unknown as Record<string, unknown>;
    if (!routable(body)) {
      log.warn({ type: body.type }, 'a Slack interaction of an unknown shape; ignored');
      if ('ack' in args && typeof args.ack === 'function') await args.ack();
      return;
    }
    const key = interactionKey(body);
    if (key) {
      const fresh = await interactions.put(
        createHash('sha256').update(key).digest('base64url'),
        { at: new Date().toISOString() },
        new Date(Date.now() + REPLAY_TTL_MS),
      );
      if (!fresh) {
        log.warn(
          { type: body.type, user: (body.user as { id?: string } | undefined)?.id },
          'a Slack interaction arrived again; ignored',
        );
        if ('ack' in args && typeof args.ack === 'function') await args.ack();
        return;
      }
    }
    await args.next();
  });

  /**
   * The Slack user's e-mail address, from users.info (never from the payload), once the
   * account may act at all (active, not a guest, of this workspace).
   */
  const emailOf = async (
    userId: string,
    elevationId: string,
    type: 'approval.refused' | 'deny.refused',
    extension?: number,
  ): Promise<string> => {
    const about = extension !== undefined ? { extension } : {};
    const { email, refused } = await slack.approverEmail(userId);
    if (refused) {
      const receipt = await audit.recordRefusal(
        type,
        elevationId,
        { kind: 'anonymous', id: `slack:${userId}` },
        { code: refused, slackUserId: userId, ...about },
      );
      throw new AuditedRefusal(receipt, 'approval_refused', ACCOUNT_REFUSALS[refused]);
    }
    if (!email) {
      const receipt = await audit.recordRefusal(
        type,
        elevationId,
        { kind: 'anonymous', id: `slack:${userId}` },
        {
          code: 'slack_email_missing',
          slackUserId: userId,
          ...about,
        },
      );
      throw new AuditedRefusal(
        receipt,
        'approval_refused',
        'Your Slack profile has no e-mail address Elevate can match.',
      );
    }
    return email;
  };

  /**
   * Approve (the request) or Approve extension (`extension`) clicked: the clicker is checked as
   * an approver, then gets the modal with their personal link to the MFA login, bound to this
   * elevation, this extension and this Slack user; or a modal that says why not.
   */
  const startApproval = async (
    body: BlockAction<ButtonAction>,
    elevationId: string,
    extension?: number,
  ): Promise<void> => {
    const slackUserId = slackUserOf(body);
    if (!slackUserId) return;
    const about = { elevationId, ...(extension !== undefined ? { extension } : {}) };
    let view;
    try {
      const email = await emailOf(slackUserId, elevationId, 'approval.refused', extension);
      const { elevation } = await approvals.checkApprover(elevationId, email, undefined, extension);
      const url = await issueApprovalLink(tickets, deps.publicUrl, {
        elevationId,
        slackUserId,
        email,
        ...(extension !== undefined ? { extension } : {}),
      });
      view =
        extension === undefined
          ? renderApproveModal(elevationId, url, undefined)
          : renderExtensionApproveModal(elevationId, extension, url, elevation.pendingExtension);
      log.info({ ...about, slackUser: slackUserId, status: elevation.status }, 'approval link issued');
    } catch (err) {
      if (!(err instanceof ApiError)) log.error({ err, ...about }, 'could not start an approval');
      const message = err instanceof ApiError ? err.message : 'Something went wrong; try again.';
      view = noticeModal('Cannot approve', message);
    }
    await slack.openView(body.trigger_id, view).catch((err: unknown) => {
      log.warn({ err: (err as Error).message, ...about }, 'could not open the approval modal');
    });
  };

  /** A request's button: its value is the elevation id. */
  const requestTarget = (value: unknown) => {
    const parsed = elevationIdSchema.safeParse(value);
    return parsed.success ? { elevationId: parsed.data } : undefined;
  };

  /**
   * Acknowledges a click on button `actionId` at once (Slack's 3 s), then acts on the elevation
   * (and extension) its value names; a value that names none is ignored.
   */
  const onButton = (
    actionId: string,
    targetOf: (value: unknown) => { elevationId: string; extension?: number } | undefined,
    act: (
      body: BlockAction<ButtonAction>,
      target: { elevationId: string; extension?: number },
    ) => Promise<void>,
  ) =>
    app.action<BlockAction<ButtonAction>>(
      actionId,
      async ({
        ack,
        body,
        action,
      }: SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs) => {
        await ack();
        const target = targetOf(action.value);
        if (target) await act(body, target);
      },
    );

  const openDenyModal = async (
    body: BlockAction<ButtonAction>,
    target: { elevationId: string; extension?: number },
  ): Promise<void> => {
    const view =
      target.extension === undefined
        ? renderDenyModal(target.elevationId)
        : renderExtensionDenyModal(target.elevationId, target.extension);
    await slack.openView(body.trigger_id, view).catch((err: unknown) => {
      log.warn({ err: (err as Error).message, ...target }, 'could not open the deny modal');
    });
  };

  const approveTarget = (body: BlockAction<ButtonAction>, t: { elevationId: string; extension?: number }) =>
    startApproval(body, t.elevationId, t.extension);
  onButton(APPROVE_ACTION, requestTarget, approveTarget);
  onButton(APPROVE_EXTENSION_ACTION, extensionTargetOf, approveTarget);
  onButton(DENY_ACTION, requestTarget, openDenyModal);
  onButton(DENY_EXTENSION_ACTION, extensionTargetOf, openDenyModal);

  // The "Verify with MFA" link button in the approve modal, and the Review link button of an
  // owner attestation: the browser opens the link; Slack also reports the click, which needs
  // only an acknowledgement.
  app.action(VERIFY_ACTION, async ({ ack }) => {
    await ack();
  });
  app.action(ATTEST_REVIEW_ACTION, async ({ ack }) => {
    await ack();
  });
  app.action(BREAK_GLASS_REVIEW_ACTION, async ({ ack }) => {
    await ack();
  });

  /**
   * The deny modal submitted, for the request or (`extension`) an extension: the reason is
   * checked, then the denial sent as the submitting person; a refusal is shown in the modal.
   */
  const submitDenial = async (
    ack: SlackViewMiddlewareArgs<ViewSubmitAction>['ack'],
    body: ViewSubmitAction,
    view: ViewSubmitAction['view'],
    target: { elevationId: string; extension?: number } | undefined,
  ): Promise<void> => {
    const slackUserId = slackUserOf(body);
    const reason = denyReasonOf(view);
    if (!target || !slackUserId) {
      await ack({ response_action: 'errors', errors: { reason: 'This request is not valid any more.' } });
      return;
    }
    if (reason === '') {
      await ack({
        response_action: 'errors',
        errors: {
          reason:
            target.extension === undefined
              ? 'Say why you deny the request.'
              : 'Say why you deny the extension.',
        },
      });
      return;
    }
    // The API's rule for text people read later (`safe-text.ts`); the modal is multiline, so
    // line feeds are the only control characters it lets through.
    const hidden = unsafeTextProblem(reason.replace(/\r?\n/g, ' '));
    if (hidden) {
      await ack({ response_action: 'errors', errors: { reason: `The reason ${hidden}.`.slice(0, 150) } });
      return;
    }
    const { elevationId, extension } = target;
    try {
      const email = await emailOf(slackUserId, elevationId, 'deny.refused', extension);
      await approvals.deny(elevationId, {
        by: { kind: 'human', id: email },
        reason: reason.slice(0, 500),
        ...(extension !== undefined ? { extension } : {}),
      });
      await ack();
    } catch (err) {
      if (!(err instanceof ApiError)) log.error({ err, ...target }, 'could not deny');
      const message = err instanceof ApiError ? err.message : 'Something went wrong; try again.';
      await ack({ response_action: 'errors', errors: { reason: message.slice(0, 150) } });
    }
  };

  app.view<ViewSubmitAction>(
    DENY_CALLBACK,
    async ({ ack, body, view }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
      const parsed = elevationIdSchema.safeParse(view.private_metadata);
      await submitDenial(ack, body, view, parsed.success ? { elevationId: parsed.data } : undefined);
    },
  );

  app.view<ViewSubmitAction>(
    DENY_EXTENSION_CALLBACK,
    async ({ ack, body, view }: SlackViewMiddlewareArgs<ViewSubmitAction> & AllMiddlewareArgs) => {
      await submitDenial(ack, body, view, extensionTargetOf(view.private_metadata));
    },
  );

  app.error(async (err) => {
    log.error({ err: err.message, code: err.code }, 'Slack app error');
    return Promise.resolve();
  });

  let router: Router | undefined;
  if (receiver) {
    // Bolt answers a request whose signature does not check out with 401 and only logs it.
    // Like every refused credential, it is audited too: after the answer, as Bolt reads the
    // raw body itself and offers no hook before it.
    router = express.Router();
    const clockWarnings = new Map<string, number>();
    router.post('/slack/events', (req, res, next) => {
      const arrived = Math.floor(Date.now() / 1000);
      res.on('finish', () => {
        if (res.statusCode !== 401) return;
        const reason = signatureRefusal(req, arrived);
        void audit.recordRefusal('auth.refused', null, ANONYMOUS, {
          reason,
          method: req.method,
          path: req.path,
          ip: req.ip ?? null,
        });
        // Slack's own clicks refused for their timestamp mean this host's clock is off: say so,
        // once a minute per reason at most (anyone can send such a request; the metric counts all).
        if (reason === 'slack_timestamp_too_old' || reason === 'slack_timestamp_in_future') {
          const last = clockWarnings.get(reason) ?? 0;
          if (arrived - last >= 60) {
            clockWarnings.set(reason, arrived);
            log.warn(
              { reason, stampedSecondsFromNow: Number(req.get('x-slack-request-timestamp')) - arrived },
              "refused a Slack request stamped more than five minutes from this host's clock; if Slack's " +
                "own clicks are refused, this host's clock is off: check its time synchronisation (NTP)",
            );
          }
        }
      });
      next();
    });
    router.post('/slack/events', slackRequestGate());
    router.use(receiver.router as Router);
  }

  return {
    ...(router ? { router } : {}),
    async start() {
      if (!receiver) await app.start();
    },
    async stop() {
      if (!receiver) await app.stop();
    },
  };
}
