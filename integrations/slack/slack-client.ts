/**
 * The few Slack Web API calls Elevate makes, over `@slack/web-api`'s `WebClient`, with errors
 * that say whether retrying can help.
 *
 * Every call is one attempt. A rate limit (HTTP 429, or `ok: false` with `ratelimited`), a
 * network error, a timeout or an HTTP 5xx fails at once with a retryable {@link SlackApiError}
 * (for a rate limit, carrying the `retryAfterSeconds` Slack asked for); Slack's refusals
 * (`invalid_auth`, `channel_not_found`, …) fail with a non-retryable one. Whoever needs the call
 * to happen later decides when:
 * - In the worker, the notification activities turn the error into a Temporal
 *   `ApplicationFailure` (`activities/slack-failures.ts`): non-retryable when Slack said retrying
 *   cannot help, otherwise retried by the activity's retry policy, after `Retry-After` when Slack
 *   gave one. The wait is then Temporal's: it shows in the activity's attempt count and pending
 *   state in the Temporal UI, holds no worker slot, and there is one retry layer to tune, not an
 *   in-process loop multiplied by the activity's policy.
 * - In the API, every call is made while someone waits, and none is worth waiting for:
 *   - `views.open` ({@link SlackClient.openView}): a modal's `trigger_id` is valid for three
 *     seconds, so waiting out a rate limit would only make it expire;
 *   - `users.info` on an Approve click ({@link SlackClient.approverEmail}): it runs before the
 *     same click's `views.open`, inside those three seconds. `Retry-After` counts whole seconds and
 *     a retry after a network error would need a pause too, so waiting would leave the approver
 *     with no modal at all; failing fast shows them "Something went wrong; try again" instead,
 *     and their next click is the next attempt;
 *   - `auth.test`: at start and in the background, the token check
 *     (`runtime/slack-token-check.ts`) schedules its own next attempt, and in an interaction
 *     ({@link SlackClient.identity}) Slack's 3-second deadline applies again.
 * So no call needs an in-process retry budget, and one client serves both halves of
 * `elevate start`.
 *
 * `WebClient`'s own retries and rate-limit handling are switched off (`retries: 0`,
 * `rejectRateLimitedCalls`): it would sleep for whatever `Retry-After` says, pausing every other
 * call of the same client meanwhile.
 *
 * The bot token is only ever sent in the `Authorization` header; it appears in no log line and
 * no error message.
 */
import type { Block, KnownBlock, View } from '@slack/types';
import {
  LogLevel,
  WebAPIHTTPError,
  WebAPIPlatformError,
  WebAPIRateLimitedError,
  WebAPIRequestError,
  WebClient,
  type Logger as SlackLogger,
} from '@slack/web-api';
import type { Logger } from 'pino';
import type { SlackMethod, SlackMetrics } from '../../core/ports/metrics.js';
import { canonicalOrUndefined } from '../../core/rules/email-address.js';

/** A message Elevate posted: the conversation it is in (a DM's `D…` id for DMs) and its timestamp. */
export interface SlackMessageRef {
  channel: string;
  ts: string;
}

/**
 * What a message shows. `text` is the notification and screen-reader fallback; `blocks` is
 * what Slack displays.
 */
export interface SlackContent {
  text: string;
  blocks: (KnownBlock | Block)[];
}

/** Who the app is, as `auth.test` tells it. */
export interface SlackIdentity {
  /** The app's bot user id (`U…`). */
  userId: string;
  /** The workspace the app is installed in (`T…`); absent for an organisation-wide install. */
  teamId?: string;
  /** The app's bot id (`B…`). */
  botId?: string;
  /** The Enterprise Grid organisation (`E…`), when the workspace is part of one. */
  enterpriseId?: string;
}

/**
 * Why a Slack account may not approve or deny: deactivated, a guest, or not a member of the
 * app's workspace (a Slack Connect user from another company, another workspace's user).
 */
export type SlackUserRefusal = 'slack_user_deactivated' | 'slack_user_guest' | 'slack_user_external';

/** The fields of `users.info`'s user object Elevate reads. */
interface SlackUser {
  deleted?: boolean;
  is_restricted?: boolean;
  is_ultra_restricted?: boolean;
  is_stranger?: boolean;
  team_id?: string;
  enterprise_user?: { enterprise_id?: string };
  profile?: { email?: string };
}

/**
 * A user's e-mail address in canonical form (trimmed, ASCII lower case); `undefined` when there
 * is none, or when it is not plain ASCII: plain lower-casing would turn a KELVIN SIGN look-alike
 * (`\u212Aate@…`) into someone else's address (`kate@…`).
 */
function emailOf(user: SlackUser): string | undefined {
  return canonicalOrUndefined(user.profile?.email);
}

/** Slack's platform errors that say a later attempt may succeed. Every other one is final. */
const RETRYABLE_PLATFORM_ERRORS = new Set([
  'ratelimited',
  'rate_limited',
  'internal_error',
  'fatal_error',
  'service_unavailable',
  'request_timeout',
  'team_added_to_org',
]);

/**
 * A failed Slack call. `code` is Slack's own error string (`invalid_auth`, `channel_not_found`,
 * `users_not_found`, …) for errors Slack answered, `ratelimited` for rate limits, `http_<status>`
 * for other HTTP answers, and `request_failed` or `timeout` when no answer came.
 */
export class SlackApiError extends Error {
  /** Slack's error string, or one of the transport codes above. */
  readonly code: string;
  /** Whether the same call may succeed later (rate limits, network and server errors). */
  readonly retryable: boolean;
  /** The Web API method that failed, e.g. `chat.postMessage`. */
  readonly method: string;
  /** For rate limits: how long Slack asked to wait, in seconds. */
  readonly retryAfterSeconds?: number;

  constructor(method: string, code: string, retryable: boolean, detail?: string, retryAfterSeconds?: number) {
    super(`Slack ${method} failed: ${code}${detail ? ` (${detail})` : ''}`);
    this.name = 'SlackApiError';
    this.method = method;
    this.code = code;
    this.retryable = retryable;
    if (retryAfterSeconds !== undefined) this.retryAfterSeconds = retryAfterSeconds;
  }
}

/** Options of {@link SlackClient}. */
export interface SlackClientOptions {
  /** The bot token (`xoxb-…`). */
  token: string;
  /** Base URL of the Web API, ending in `/api/` (default `https://slack.com/api/`); tests point it at a stand-in. */
  apiUrl?: string;
  /** Where `WebClient`'s own warnings go. */
  logger: Logger;
  /** Longest one HTTP request may take (default 15 000 ms). */
  requestTimeoutMs?: number;
  /** Longest `views.open` may take: its trigger id expires after 3 s (default 2500 ms). */
  openViewTimeoutMs?: number;
  /** Where failed attempts are counted, by method (optional). */
  metrics?: SlackMetrics;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
const DEFAULT_OPEN_VIEW_TIMEOUT_MS = 2_500;
/** Slack's "no such person" answers: a lookup's result, not a failure worth counting. */
const LOOKUP_MISSES = new Set(['user_not_found', 'users_not_found']);

/**
 * Elevate's calls to Slack's Web API, each one attempt (see the module's comment). One instance
 * per bot token; safe for concurrent use.
 */
export class SlackClient {
  /** For every call but `views.open`. */
  private readonly web: WebClient;
  /** For `views.open`: a timeout well inside the trigger id's three seconds. */
  private readonly interactive: WebClient;
  private readonly metrics: SlackMetrics | undefined;
  /** Who the app is, once `auth.test` answered (see {@link identity}). */
  private known: Promise<SlackIdentity> | undefined;

  constructor(opts: SlackClientOptions) {
    this.metrics = opts.metrics;
    const common = {
      ...(opts.apiUrl !== undefined ? { slackApiUrl: opts.apiUrl } : {}),
      logger: new WebClientLogAdapter(opts.logger, opts.token),
      // One attempt per call: the caller (a Temporal activity's retry policy) decides on the next.
      retryConfig: { retries: 0 },
      rejectRateLimitedCalls: true,
      // Method names only: never send the token to an absolute URL.
      allowAbsoluteUrls: false,
    };
    this.web = new WebClient(opts.token, {
      ...common,
      timeout: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    });
    this.interactive = new WebClient(opts.token, {
      ...common,
      timeout: opts.openViewTimeoutMs ?? DEFAULT_OPEN_VIEW_TIMEOUT_MS,
    });
  }

  /**
   * Checks the token and tells who the app is in which workspace. The answer is kept: it is
   * what {@link approverEmail} compares each clicking user's workspace with.
   *
   * @throws SlackApiError `invalid_auth` / `not_authed` / `account_inactive` / `token_revoked`
   *   (not retryable) for a bad token; a retryable one when Slack did not answer
   */
  async authTest(): Promise<SlackIdentity> {
    const result = await this.send('auth.test', () => this.web.auth.test());
    // An organisation-wide install on Enterprise Grid may name the organisation and no workspace.
    if (!result.user_id || (!result.team_id && !result.enterprise_id)) {
      throw new SlackApiError('auth.test', 'invalid_response', false, 'no user_id, team_id or enterprise_id');
    }
    const identity: SlackIdentity = {
      userId: result.user_id,
      ...(result.team_id ? { teamId: result.team_id } : {}),
      ...(result.bot_id ? { botId: result.bot_id } : {}),
      ...(result.enterprise_id ? { enterpriseId: result.enterprise_id } : {}),
    };
    this.known = Promise.resolve(identity);
    return identity;
  }

  /**
   * Who the app is: the answer of the last successful {@link authTest}, or a new one when there
   * was none yet (Slack was unreachable when Elevate started).
   */
  identity(): Promise<SlackIdentity> {
    // Forgotten when it fails, so that the next interaction asks again.
    this.known ??= this.authTest().catch((err: unknown) => {
      this.known = undefined;
      throw err;
    });
    return this.known;
  }

  /**
   * Posts a message, in a thread when `threadTs` is given. `channel` may be a user id, which
   * posts in the app's DM with that person; the returned ref then holds the DM's own id, which
   * is what {@link updateMessage} needs. Links in the message are not unfurled.
   *
   * @throws SlackApiError e.g. `channel_not_found`, `not_in_channel` (not retryable), or a
   *   retryable one when Slack was unreachable or rate-limited (`ratelimited`, with
   *   `retryAfterSeconds`)
   */
  async postMessage(channel: string, content: SlackContent, threadTs?: string): Promise<SlackMessageRef> {
    const result = await this.send('chat.postMessage', () =>
      this.web.chat.postMessage({
        channel,
        text: content.text,
        blocks: content.blocks,
        unfurl_links: false,
        unfurl_media: false,
        ...(threadTs !== undefined ? { thread_ts: threadTs } : {}),
      }),
    );
    if (!result.channel || !result.ts) {
      throw new SlackApiError('chat.postMessage', 'invalid_response', true, 'no channel or ts');
    }
    return { channel: result.channel, ts: result.ts };
  }

  /**
   * Replaces a message's text and blocks.
   *
   * @throws SlackApiError e.g. `message_not_found`, `cant_update_message` (not retryable), or a
   *   retryable one when Slack was unreachable or rate-limited
   */
  async updateMessage(ref: SlackMessageRef, content: SlackContent): Promise<void> {
    await this.send('chat.update', () =>
      this.web.chat.update({ channel: ref.channel, ts: ref.ts, text: content.text, blocks: content.blocks }),
    );
  }

  /**
   * Opens a modal in answer to a button click, with a short timeout: the `trigger_id` is valid
   * for three seconds only.
   *
   * @throws SlackApiError e.g. `expired_trigger_id`, `ratelimited` (retryable, but the trigger is gone)
   */
  async openView(triggerId: string, view: View): Promise<void> {
    await this.send('views.open', () => this.interactive.views.open({ trigger_id: triggerId, view }));
  }

  /**
   * The e-mail address of a Slack user, lowercased, or `undefined` when Slack has none for
   * them (bots; a token without the `users:read.email` scope) or there is no such user.
   */
  async userEmail(userId: string): Promise<string | undefined> {
    const user = await this.userInfo(userId);
    return user ? emailOf(user) : undefined;
  }

  /**
   * The e-mail address of a Slack user who clicked Approve or Deny, once the account is one
   * that may act for a person of this organisation: not deactivated, not a guest (single- or
   * multi-channel), and a member of the app's own workspace (or, on Enterprise Grid, of its
   * organisation), not a Slack Connect user from another company. A profile's e-mail address
   * is only as trustworthy as the account that shows it: a guest or an external user can carry
   * an approver's address.
   *
   * @returns `{ email }` (`undefined` when Slack has none for them or there is no such user), or
   *   `{ refused }` with why the account may not act
   */
  async approverEmail(
    userId: string,
  ): Promise<{ email: string | undefined; refused?: never } | { refused: SlackUserRefusal; email?: never }> {
    const user = await this.userInfo(userId);
    if (!user) return { email: undefined };
    if (user.deleted) return { refused: 'slack_user_deactivated' };
    if (user.is_restricted || user.is_ultra_restricted) return { refused: 'slack_user_guest' };
    if (user.is_stranger) return { refused: 'slack_user_external' };
    const app = await this.identity();
    const sameWorkspace = app.teamId !== undefined && user.team_id === app.teamId;
    const sameOrganisation =
      app.enterpriseId !== undefined && user.enterprise_user?.enterprise_id === app.enterpriseId;
    if (!sameWorkspace && !sameOrganisation) return { refused: 'slack_user_external' };
    return { email: emailOf(user) };
  }

  /** The user object `users.info` answers, or `undefined` when there is no such user. */
  private async userInfo(userId: string): Promise<SlackUser | undefined> {
    try {
      const result = await this.send('users.info', () => this.web.users.info({ user: userId }));
      return result.user;
    } catch (err) {
      if (err instanceof SlackApiError && err.code === 'user_not_found') return undefined;
      throw err;
    }
  }

  /** The Slack user id of the person with this e-mail address, or `undefined` when there is none. */
  async userIdByEmail(email: string): Promise<string | undefined> {
    try {
      const result = await this.send('users.lookupByEmail', () =>
        this.web.users.lookupByEmail({ email: email.trim() }),
      );
      return result.user?.id || undefined;
    } catch (err) {
      if (err instanceof SlackApiError && err.code === 'users_not_found') return undefined;
      throw err;
    }
  }

  /** Makes one Web API call; what it threw becomes a counted {@link SlackApiError}. */
  private async send<T>(method: SlackMethod, call: () => Promise<T>): Promise<T> {
    try {
      return await call();
    } catch (err) {
      throw this.counted(toSlackApiError(method, err));
    }
  }

  /** Count one failed attempt (lookups that find nobody are answers, not failures); returns it. */
  private counted(error: SlackApiError): SlackApiError {
    if (!LOOKUP_MISSES.has(error.code)) this.metrics?.slackApiErrors.inc({ method: error.method });
    return error;
  }
}

/** Maps whatever `WebClient` threw to a {@link SlackApiError}. Exported for tests. */
export function toSlackApiError(method: string, err: unknown): SlackApiError {
  if (err instanceof SlackApiError) return err;
  if (err instanceof WebAPIPlatformError) {
    const code = err.data.error;
    const retryAfter = err.data.response_metadata?.retryAfter;
    return new SlackApiError(method, code, RETRYABLE_PLATFORM_ERRORS.has(code), undefined, retryAfter);
  }
  if (err instanceof WebAPIRateLimitedError) {
    return new SlackApiError(method, 'ratelimited', true, undefined, err.retryAfter);
  }
  if (err instanceof WebAPIHTTPError) {
    const retryable = err.statusCode >= 500 || err.statusCode === 408;
    return new SlackApiError(method, `http_${err.statusCode}`, retryable, err.statusMessage || undefined);
  }
  if (err instanceof WebAPIRequestError) {
    const original = err.original;
    const timedOut = original.name === 'TimeoutError' || original.name === 'AbortError';
    return new SlackApiError(method, timedOut ? 'timeout' : 'request_failed', true, describeCause(original));
  }
  const message = err instanceof Error ? err.message : String(err);
  // `WebClient` throws a plain Error for a 429 whose Retry-After it cannot read.
  if (/retry header|rate limit/i.test(message)) return new SlackApiError(method, 'ratelimited', true);
  return new SlackApiError(method, 'unexpected_error', false, message);
}

/** A short, token-free description of a transport failure (fetch hides the reason in `cause`). */
function describeCause(error: Error): string {
  const cause = error.cause;
  if (cause instanceof Error) {
    const code = (cause as NodeJS.ErrnoException).code;
    return code ? `${error.message}: ${code}` : `${error.message}: ${cause.message}`;
  }
  return error.message;
}

/**
 * `WebClient`'s logger, sent to pino at warn level: its debug and info lines (one per request)
 * are dropped, its warnings and errors kept, with anything that looks like a Slack token blanked.
 */
class WebClientLogAdapter implements SlackLogger {
  constructor(
    private readonly logger: Logger,
    private readonly token: string,
  ) {}

  debug(): void {}
  info(): void {}
  warn(...msg: unknown[]): void {
    this.logger.warn({ component: 'slack-web-api' }, this.format(msg));
  }
  error(...msg: unknown[]): void {
    this.logger.error({ component: 'slack-web-api' }, this.format(msg));
  }
  setLevel(): void {}
  getLevel(): LogLevel {
    return LogLevel.WARN;
  }
  setName(): void {}

  private format(msg: unknown[]): string {
    const text = msg
      .map((m) => (typeof m === 'string' ? m : m instanceof Error ? m.message : safeJson(m)))
      .join(' ');
    const withoutToken = this.token ? text.split(this.token).join('[redacted]') : text;
    return withoutToken.replace(/xox[a-z]-[A-Za-z0-9-]+/g, '[redacted]');
  }
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}
