/**
 * The Slack bot token, checked by Elevate itself (`auth.test`) instead of by Bolt, whose own
 * check runs in its constructor and leaves a rejected promise nobody awaits: a refused or
 * unreachable token there killed the process.
 *
 * - At start, one attempt. Slack refusing the token (`invalid_auth`, `token_revoked`, …) is a
 *   configuration error naming `SLACK_BOT_TOKEN`: the process does not start.
 * - Slack unreachable at start (network, 5xx, rate limit) is not: Elevate runs, its `slack`
 *   health check fails, and the check is tried again in the background (1 s, 2 s, 4 s, … up to
 *   a minute apart) until Slack answers.
 * - Once verified, the token is checked again every few minutes, so one revoked while Elevate
 *   runs fails the health check too. A Slack outage after that does not: Elevate's own use of
 *   Slack retries, and bots' requests do not need Slack.
 */
import type { Logger } from 'pino';
import { ConfigError } from '../core/errors/config-error.js';
import { SlackApiError, type SlackClient, type SlackIdentity } from '../integrations/slack/slack-client.js';
import type { HealthCheck } from '../server/health.js';

/** Slack's answers to `auth.test` that mean the token itself is refused. */
const REFUSED_TOKEN = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'not_allowed_token_type',
  'team_access_not_granted',
  'ekm_access_denied',
  'org_login_required',
]);

/** Options of {@link startSlackTokenCheck}. */
export interface SlackTokenCheckOptions {
  logger: Logger;
  /** First pause before trying again after a failure (default 1000 ms); it doubles each time. */
  retryFirstMs?: number;
  /** Longest pause between attempts while failing (default 60 000 ms). */
  retryMaxMs?: number;
  /** How often a verified token is checked again (default 300 000 ms). */
  recheckMs?: number;
}

/** A running token check: the health check to report, and how to stop its timer. */
export interface SlackTokenCheck {
  /** Resolves when the token was verified (and not refused since); rejects with why not. */
  check: HealthCheck;
  /** Who the app is, once verified. */
  identity(): SlackIdentity | undefined;
  stop(): void;
}

/**
 * Checks the bot token once, then keeps its state for the `slack` health check.
 *
 * @throws ConfigError naming `SLACK_BOT_TOKEN` when Slack refuses the token (or answers the
 *   check with an error no retry can fix)
 */
export async function startSlackTokenCheck(
  slack: Pick<SlackClient, 'authTest'>,
  opts: SlackTokenCheckOptions,
): Promise<SlackTokenCheck> {
  const log = opts.logger.child({ component: 'slack-token' });
  const retryFirstMs = opts.retryFirstMs ?? 1_000;
  const retryMaxMs = opts.retryMaxMs ?? 60_000;
  const recheckMs = opts.recheckMs ?? 300_000;
  let verified: SlackIdentity | undefined;
  /** Why the check fails now; undefined while the token is verified. */
  let problem: string | undefined = 'the Slack bot token has not been verified yet';
  let failures = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => void attempt(), ms);
    timer.unref();
  };
  const retryDelay = (err: SlackApiError) =>
    Math.max(
      Math.min(retryFirstMs * 2 ** Math.min(failures - 1, 16), retryMaxMs),
      (err.retryAfterSeconds ?? 0) * 1000,
    );

  /** One background attempt; never rejects. */
  const attempt = async (): Promise<void> => {
    try {
      const identity = await slack.authTest();
      if (problem !== undefined)
        log.info({ team: identity.teamId ?? identity.enterpriseId }, 'Slack bot token verified');
      verified = identity;
      problem = undefined;
      failures = 0;
      schedule(recheckMs);
    } catch (err) {
      const error = asSlackError(err);
      failures += 1;
      if (isRefusal(error)) {
        // Revoked or uninstalled while running: say so loudly, keep trying slowly (nothing to
        // do but fix the token and restart, yet a fault of Slack's own may clear).
        const refused = `Slack refused the bot token (${error.code})`;
        if (problem !== refused) log.error({ code: error.code }, `SLACK_BOT_TOKEN: ${refusedMessage(error)}`);
        problem = refused;
        schedule(retryMaxMs);
        return;
      }
      if (verified !== undefined && problem === undefined) {
        // Verified before: a Slack outage is not the token's fault; check again later.
        failures = 0;
        schedule(recheckMs);
        return;
      }
      problem = `Slack did not answer the token check (${error.code})`;
      const waitMs = retryDelay(error);
      log.warn(
        { code: error.code, attempt: failures, retryInMs: waitMs },
        'Slack token check failed: trying again',
      );
      schedule(waitMs);
    }
  };

  try {
    verified = await slack.authTest();
    problem = undefined;
    log.info({ team: verified.teamId ?? verified.enterpriseId }, 'Slack bot token verified');
    schedule(recheckMs);
  } catch (err) {
    const error = asSlackError(err);
    if (isRefusal(error) || !error.retryable) {
      throw new ConfigError(`SLACK_BOT_TOKEN: ${refusedMessage(error)}`, 'SLACK_BOT_TOKEN');
    }
    failures = 1;
    problem = `Slack did not answer the token check (${error.code})`;
    const waitMs = retryDelay(error);
    log.warn(
      { code: error.code, retryInMs: waitMs },
      'Slack is unreachable: starting anyway; the slack health check fails until the bot token is verified',
    );
    schedule(waitMs);
  }

  return {
    check: () => (problem === undefined ? Promise.resolve() : Promise.reject(new Error(problem))),
    identity: () => verified,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

function asSlackError(err: unknown): SlackApiError {
  return err instanceof SlackApiError
    ? err
    : new SlackApiError('auth.test', 'unexpected_error', false, (err as Error).message);
}

function isRefusal(error: SlackApiError): boolean {
  return REFUSED_TOKEN.has(error.code);
}

function refusedMessage(error: SlackApiError): string {
  return isRefusal(error)
    ? `Slack refused the bot token (${error.code}): set the app's Bot User OAuth Token (xoxb-…) of a workspace the app is installed in`
    : `Slack's auth.test failed (${error.code}): check SLACK_BOT_TOKEN (and SLACK_API_URL if set)`;
}
