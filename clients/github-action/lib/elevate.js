// @ts-check
/**
 * Elevate's bot API as the action uses it: request, long-poll until active, take AWS
 * credentials, give back. Calls that fail on the way (no connection, 503) are retried with
 * backoff; a request is retried with the same `requestId`, so it never starts a second elevation.
 */

/**
 * @typedef {'pending_approval' | 'approved' | 'active' | 'revoking' | 'revoked' | 'denied' | 'expired' | 'failed'} Status
 * @typedef {{ name: string, quorum: number, approved: number }} ApproverGroup
 * @typedef {{ mode: 'auto' } | { mode: 'approvers', quorum: number, deadline: string, groups: ApproverGroup[] }} Approval
 * @typedef {{
 *   id: string, status: Status, roleId: string, approval: Approval, approvals: unknown[],
 *   expiresAt?: string, endReason?: string,
 * }} Elevation
 * @typedef {{ accessKeyId: string, secretAccessKey: string, sessionToken: string, expiration: string }} AwsCredentials
 */

/** Statuses an elevation never leaves. */
const FINAL = new Set(['revoked', 'denied', 'expired', 'failed']);

/** The longest long-poll asked of the server (it allows 60 s). */
const LONG_POLL_SECONDS = 30;

/** Connection errors that mean the request never reached the server. */
const UNSENT = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'UND_ERR_CONNECT_TIMEOUT']);

/** An error answer of the API: `{error: {code, message, field?}}`. */
export class ElevateApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {string} [field]
   */
  constructor(status, code, message, field) {
    super(`${message} (${status} ${code}${field ? `, field ${field}` : ''})`);
    this.name = 'ElevateApiError';
    this.status = status;
    this.code = code;
    this.field = field;
  }
}

/**
 * Seconds in `text`: a number of seconds, or with a unit (`90s`, `15m`, `1h`).
 * @param {string} text
 * @param {string} name the input, for the message
 */
export function parseDuration(text, name) {
  /** @type {Record<string, number>} */
  const UNIT = { s: 1, m: 60, h: 3600 };
  const match = /^(\d+)\s*(s|m|h)?$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * (UNIT[match[2] ?? 's'] ?? NaN) : NaN;
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    throw new Error(
      `${name} must be a positive number of seconds, or with a unit (90s, 15m, 1h); got "${text}"`,
    );
  }
  return seconds;
}

export class ElevateClient {
  /**
   * @param {string} baseUrl
   * @param {() => Promise<string>} token a bearer credential, asked for before each call
   * @param {{ retries?: number, backoffMs?: number }} [options]
   */
  constructor(baseUrl, token, options = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, '');
    this.token = token;
    this.retries = options.retries ?? 4;
    this.backoffMs = options.backoffMs ?? 1000;
  }

  /**
   * @param {{ role: string, durationSeconds: number, justification: string, ticket?: string, requestId: string }} body
   * @returns {Promise<Elevation>}
   */
  request(body) {
    return /** @type {Promise<Elevation>} */ (this.call('POST', '/v1/elevations', { body }));
  }

  /**
   * Long-poll until the elevation is active, and return it. Throws when it ends otherwise, or
   * is still not active after `timeoutSeconds`.
   * @param {string} id
   * @param {number} timeoutSeconds
   * @param {(elevation: Elevation) => void} onProgress called with every answer
   * @returns {Promise<Elevation>}
   */
  async waitUntilActive(id, timeoutSeconds, onProgress) {
    const deadline = Date.now() + timeoutSeconds * 1000;
    for (;;) {
      const wait = Math.max(0, Math.min(LONG_POLL_SECONDS, Math.floor((deadline - Date.now()) / 1000)));
      const view = /** @type {Elevation} */ (
        await this.call('GET', `/v1/elevations/${id}?until=active&waitSeconds=${wait}`, {
          timeoutMs: (wait + 30) * 1000,
        })
      );
      onProgress(view);
      if (view.status === 'active') return view;
      if (FINAL.has(view.status)) throw new Error(endedMessage(view));
      if (Date.now() >= deadline) {
        throw new Error(`elevation ${id} is still ${view.status} after ${timeoutSeconds} s (wait-timeout)`);
      }
    }
  }

  /**
   * The AWS credentials of an active elevation, or `undefined` when its role grants in a target
   * instead. Not retried once sent: they are handed out once.
   * @param {string} id
   * @returns {Promise<AwsCredentials | undefined>}
   */
  async takeCredentials(id) {
    try {
      return /** @type {AwsCredentials} */ (
        await this.call('POST', `/v1/elevations/${id}/credentials`, { retrySent: false })
      );
    } catch (e) {
      if (e instanceof ElevateApiError && e.code === 'not_credentials_mode') return undefined;
      throw e;
    }
  }

  /**
   * Give the elevation back (or withdraw it while it waits for approval).
   * @param {string} id
   * @param {string} reason
   * @returns {Promise<Elevation>}
   */
  giveBack(id, reason) {
    return /** @type {Promise<Elevation>} */ (
      this.call('POST', `/v1/elevations/${id}/revoke`, { body: { reason } })
    );
  }

  /**
   * The elevation as it is, or once it is `revoked` (at most `waitSeconds` later).
   * @param {string} id
   * @param {number} waitSeconds
   * @returns {Promise<Elevation>}
   */
  waitUntilRevoked(id, waitSeconds) {
    return /** @type {Promise<Elevation>} */ (
      this.call('GET', `/v1/elevations/${id}?until=revoked&waitSeconds=${waitSeconds}`, {
        timeoutMs: (waitSeconds + 30) * 1000,
      })
    );
  }

  /**
   * @param {'GET' | 'POST'} method
   * @param {string} path
   * @param {{ body?: unknown, timeoutMs?: number, retrySent?: boolean }} [options]
   * @returns {Promise<unknown>}
   */
  async call(method, path, options = {}) {
    for (let attempt = 0; ; attempt++) {
      const delay = this.backoffMs * 2 ** attempt;
      // Outside the retries: a job that cannot get its token fails at once, saying why.
      const token = await this.token();
      /** @type {Response} */
      let res;
      try {
        res = await fetch(this.baseUrl + path, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            'user-agent': 'elevate-github-action/0.1.0',
            ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
          signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
        });
      } catch (e) {
        const code = /** @type {{ cause?: { code?: string } }} */ (e).cause?.code;
        const unsent = code !== undefined && UNSENT.has(code);
        if (attempt >= this.retries || !(unsent || options.retrySent !== false)) {
          throw new Error(
            `${method} ${this.baseUrl}${path.split('?')[0]}: ${e instanceof Error ? e.message : e}`,
          );
        }
        await sleep(delay);
        continue;
      }
      const text = await res.text();
      if (res.ok) return JSON.parse(text);
      const error = apiError(res.status, text);
      if (res.status !== 503 || attempt >= this.retries) throw error;
      await sleep(delay);
    }
  }
}

/**
 * @param {number} status
 * @param {string} text
 */
function apiError(status, text) {
  try {
    const { error } = /** @type {{ error: { code: string, message: string, field?: string } }} */ (
      JSON.parse(text)
    );
    return new ElevateApiError(status, error.code, error.message, error.field);
  } catch {
    // Not Elevate's answer: a proxy's error page, say.
    return new ElevateApiError(status, 'http_error', text.slice(0, 200));
  }
}

/**
 * What to tell the job about an elevation that ended before it became active.
 * @param {Elevation} view
 */
export function endedMessage(view) {
  const why = {
    denied: 'was denied',
    expired: 'expired: no approver decided within the approval window',
    failed: 'could not be granted in its target',
    revoked: 'was revoked before it became active',
  }[/** @type {string} */ (view.status)];
  return `elevation ${view.id} of ${view.roleId} ${why ?? `ended ${view.status}`}${view.endReason ? ` (${view.endReason})` : ''}`;
}

/** @param {number} ms */
function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
