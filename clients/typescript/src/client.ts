/**
 * `ElevateClient`: the bot API over `fetch`, with the bot's own credential (an API key, or a
 * workload identity token read afresh for every call). Requests carry a `requestId` (one is made
 * when the caller gives none), so retrying after a network error or a 503 never starts a second
 * elevation; reads, long-polls and give-backs are retried the same way. Errors are the classes
 * of `errors.ts`.
 */
import {
  ElevateApiError,
  ElevateUnreachableError,
  ElevationRefusedError,
  ElevationWaitTimeoutError,
  endedError,
} from './errors.js';
import type {
  AwsCredentials,
  BotElevation,
  ElevationRequest,
  ElevationStatus,
  ExtendRequest,
  OperationId,
  OperationTypes,
} from './generated.js';
import { OPERATIONS } from './generated.js';

/** The statuses an elevation never leaves. */
export const FINAL_STATUSES: readonly ElevationStatus[] = ['revoked', 'denied', 'expired', 'failed'];

/** The longest long-poll the API accepts (`waitSeconds`). */
const MAX_WAIT_SECONDS = 60;

/** How the client finds Elevate and proves which bot it is. */
export interface ElevateClientOptions {
  /** Where Elevate's API is, e.g. `https://elevate.example.org` (a path prefix is kept). */
  baseUrl: string;
  /** The bot's API key (`elv_bot_…`), or a workload identity token. */
  token?: string;
  /**
   * Called before every call for the bearer credential, instead of `token`: for workload identity
   * tokens that the platform renews (a Kubernetes projected token file, a CI job's OIDC token).
   */
  getToken?: () => string | Promise<string>;
  /** Attempts after the first, on network errors and 502/503/504 (default 4). */
  retries?: number;
  /** The first retry's delay; each next one doubles, with jitter, up to 8 s (default 500 ms). */
  retryDelayMs?: number;
  /** How long one call may take, besides a long-poll's own wait (default 30 s). */
  timeoutMs?: number;
  /** The `fetch` to use (default the global one). */
  fetch?: typeof fetch;
  /** Sent as `user-agent` (the risk score notices a bot whose user agent changes). */
  userAgent?: string;
}

/** Options of {@link ElevateClient.wait}. */
export interface WaitOptions {
  /** The statuses to wait for (default `['active']`). */
  until?: readonly ElevationStatus[];
  /** Give up after this long (default 15 minutes): {@link ElevationWaitTimeoutError}. */
  timeoutMs?: number;
  /** Called with each status seen, the first one included, and the one before it. */
  onProgress?: (elevation: BotElevation, previous: BotElevation | undefined) => void;
  /** Stops waiting: the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

/** Whether a call may be sent again after a network error: only if the server cannot have acted on it. */
type RetryMode = 'idempotent' | 'unsent-only';

interface CallInput<Op extends OperationId> {
  pathParams?: OperationTypes[Op]['pathParams'];
  query?: OperationTypes[Op]['query'];
  body?: OperationTypes[Op]['body'];
  /** Added to the call's timeout: a long-poll's wait. */
  extraMs?: number;
  signal?: AbortSignal | undefined;
  retry: RetryMode;
}

/** Network failures that happen before anything reaches the server. */
const UNSENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

const RETRY_STATUSES = new Set([502, 503, 504]);

/** A client of Elevate's bot API. */
export class ElevateClient {
  private readonly baseUrl: string;
  private readonly retries: number;
  private readonly retryDelayMs: number;
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;

  constructor(private readonly options: ElevateClientOptions) {
    if (!options.token && !options.getToken) throw new TypeError('ElevateClient needs a token or getToken');
    let url: URL;
    try {
      url = new URL(options.baseUrl);
    } catch {
      throw new TypeError(`baseUrl is not a URL: ${options.baseUrl}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new TypeError(`baseUrl must be http(s): ${options.baseUrl}`);
    }
    this.baseUrl = url.href.replace(/\/+$/, '');
    this.retries = options.retries ?? 4;
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.fetchFn = options.fetch ?? fetch;
  }

  /**
   * Ask for an elevation. The answer comes before the grant: `approved` (policy approves it) or
   * `pending_approval`; {@link wait} for `active`. Without a `requestId` one is made, so the
   * retries of this call are one request; send your own to make retries of your job one request.
   *
   * @throws {@link ElevationRefusedError} when Elevate refuses it (4xx: its code and field)
   * @throws {@link ElevateUnreachableError} when Elevate cannot be reached or keeps failing
   */
  async request(request: ElevationRequest, options: { signal?: AbortSignal } = {}): Promise<BotElevation> {
    const body: ElevationRequest = { ...request, requestId: request.requestId ?? newRequestId() };
    return this.call('requestElevation', { body, signal: options.signal, retry: 'idempotent' });
  }

  /**
   * Read an elevation. With `waitSeconds`, a long-poll: the answer comes when its status changes
   * (or, with `until`, reaches one of those), when it has ended, or after that many seconds.
   */
  async get(
    id: string,
    options: { waitSeconds?: number; until?: readonly ElevationStatus[]; signal?: AbortSignal } = {},
  ): Promise<BotElevation> {
    const waitSeconds = Math.max(0, Math.min(MAX_WAIT_SECONDS, Math.floor(options.waitSeconds ?? 0)));
    const query: OperationTypes['getElevation']['query'] = {};
    if (waitSeconds > 0) query.waitSeconds = waitSeconds;
    if (waitSeconds > 0 && options.until?.length) query.until = options.until.join(',');
    return this.call('getElevation', {
      pathParams: { id },
      query,
      extraMs: waitSeconds * 1000,
      signal: options.signal,
      retry: 'idempotent',
    });
  }

  /**
   * Wait until the elevation's status is one of `until` (default `active`), long-polling.
   *
   * @returns the elevation in one of those statuses
   * @throws {@link ElevationDeniedError}, {@link ElevationExpiredError}, {@link ElevationFailedError}
   *   or {@link ElevationEndedError} when it ends in another status
   * @throws {@link ElevationWaitTimeoutError} after `timeoutMs`
   */
  async wait(id: string, options: WaitOptions = {}): Promise<BotElevation> {
    const until = options.until ?? ['active'];
    const timeoutMs = options.timeoutMs ?? 15 * 60_000;
    const deadline = Date.now() + timeoutMs;
    let last: BotElevation | undefined;
    for (;;) {
      const remaining = deadline - Date.now();
      // The first read answers at once, so the caller sees where things stand.
      const waitSeconds = last ? Math.min(MAX_WAIT_SECONDS, Math.max(0, Math.ceil(remaining / 1000))) : 0;
      // With a progress callback every change answers; without, only the statuses waited for.
      const view = await this.get(id, {
        waitSeconds,
        ...(options.onProgress ? {} : { until }),
        ...(options.signal ? { signal: options.signal } : {}),
      });
      if (view.status !== last?.status) options.onProgress?.(view, last);
      last = view;
      if (until.includes(view.status)) return view;
      if (FINAL_STATUSES.includes(view.status)) throw endedError(view);
      if (Date.now() >= deadline) throw new ElevationWaitTimeoutError(view, timeoutMs);
    }
  }

  /**
   * Give the elevation back (or withdraw it while it waits for approval). The answer says
   * `revoking` while the role is being taken away, `revoked` once it is gone.
   *
   * @throws {@link ElevateApiError} `already_ended` when it was denied, expired or failed
   */
  async giveBack(id: string, options: { reason?: string; signal?: AbortSignal } = {}): Promise<BotElevation> {
    return this.call('revokeElevation', {
      pathParams: { id },
      body: options.reason !== undefined ? { reason: options.reason } : undefined,
      signal: options.signal,
      retry: 'idempotent',
    });
  }

  /**
   * Extend an active elevation by `durationSeconds`, within the role's `extend` rule. The answer
   * comes once the new `expiresAt` is in force; for a role whose extensions go back to its
   * approvers (`extend.approval: same-as-request`) it comes at once with the extension in
   * `pendingExtension` and `expiresAt` unchanged: read the elevation (`get`) until
   * `pendingExtension` is gone, then `expiresAt` says whether it moved. Not retried once it may have reached Elevate
   * (only when it surely did not, or on 503): a second extension would add the time twice.
   *
   * @throws {@link ElevateApiError} `extension_not_allowed`, `extension_too_long`,
   *   `too_many_extensions`, `extension_in_progress`, `not_active` or `already_ended`
   */
  async extend(
    id: string,
    extension: ExtendRequest,
    options: { signal?: AbortSignal } = {},
  ): Promise<BotElevation> {
    return this.call('extendElevation', {
      pathParams: { id },
      body: extension,
      signal: options.signal,
      retry: 'unsent-only',
    });
  }

  /**
   * Take the temporary AWS credentials of an active elevation of a role in AWS credentials mode.
   * Elevate hands them out once: keep them in memory, out of logs. A call that may have reached
   * Elevate is not retried, since a second one would be refused.
   *
   * @throws {@link ElevateApiError} `not_credentials_mode`, `not_active` or `credentials_gone`
   */
  async takeCredentials(id: string, options: { signal?: AbortSignal } = {}): Promise<AwsCredentials> {
    return this.call('takeElevationCredentials', {
      pathParams: { id },
      signal: options.signal,
      retry: 'unsent-only',
    });
  }

  /** One operation, with retries; the success body, or a typed error. */
  private async call<Op extends OperationId>(
    op: Op,
    input: CallInput<Op>,
  ): Promise<OperationTypes[Op]['response']> {
    const { method, path, success } = OPERATIONS[op];
    const url = this.urlOf(path, input.pathParams, input.query);
    for (let attempt = 0; ; attempt += 1) {
      const last = attempt >= this.retries;
      let res: Response;
      try {
        res = await this.send(method, url, input);
      } catch (err) {
        if (input.signal?.aborted) throw input.signal.reason;
        const retryable = input.retry === 'idempotent' || UNSENT_CODES.has(causeCode(err) ?? '');
        if (last || !retryable) {
          throw new ElevateUnreachableError(
            `cannot reach Elevate at ${this.baseUrl}: ${describe(err)}`,
            undefined,
            {
              cause: err,
            },
          );
        }
        await this.pause(attempt, undefined, input.signal);
        continue;
      }
      const text = await res.text().catch(() => undefined);
      if ((success as readonly number[]).includes(res.status)) {
        try {
          return JSON.parse(text ?? '') as OperationTypes[Op]['response'];
        } catch {
          throw new ElevateUnreachableError(
            `Elevate answered ${res.status} with a body that is not JSON`,
            res.status,
          );
        }
      }
      // 503 means Elevate did nothing; 502/504 come from a proxy, which may have passed it on.
      const retryable =
        RETRY_STATUSES.has(res.status) && (input.retry === 'idempotent' || res.status === 503);
      if (retryable && !last) {
        await this.pause(attempt, res.headers.get('retry-after'), input.signal);
        continue;
      }
      throw this.failure(op, res.status, text);
    }
  }

  private async send(method: string, url: string, input: CallInput<OperationId>): Promise<Response> {
    const token = this.options.getToken ? await this.options.getToken() : this.options.token!;
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json' };
    if (this.options.userAgent) headers['user-agent'] = this.options.userAgent;
    let body: string | undefined;
    if (input.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(input.body);
    }
    const timeout = AbortSignal.timeout(this.timeoutMs + (input.extraMs ?? 0));
    const signal = input.signal ? AbortSignal.any([input.signal, timeout]) : timeout;
    return this.fetchFn(url, { method, headers, signal, ...(body !== undefined ? { body } : {}) });
  }

  private urlOf(path: string, params: Record<string, string> | undefined, query: object | undefined): string {
    const filled = path.replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = params?.[name];
      if (value === undefined) throw new TypeError(`${path}: no value for {${name}}`);
      return encodeURIComponent(value);
    });
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) search.set(k, String(v));
    const qs = search.toString();
    return `${this.baseUrl}${filled}${qs ? `?${qs}` : ''}`;
  }

  /** Waits before retry `attempt` (0-based): Retry-After if Elevate sent one, else backoff with jitter. */
  private pause(attempt: number, retryAfter: string | null | undefined, signal?: AbortSignal): Promise<void> {
    const seconds = retryAfter && /^\d+$/.test(retryAfter) ? Number(retryAfter) : undefined;
    const backoff = Math.min(8_000, this.retryDelayMs * 2 ** attempt);
    const ms =
      seconds !== undefined ? Math.min(30_000, seconds * 1000) : backoff / 2 + Math.random() * (backoff / 2);
    return sleep(ms, signal);
  }

  private failure(op: OperationId, status: number, text: string | undefined): Error {
    const parsed = errorOf(text);
    if (status >= 500) {
      const detail = parsed ? `${parsed.code}: ${parsed.message}` : `status ${status}`;
      return new ElevateUnreachableError(`Elevate at ${this.baseUrl} failed (${detail})`, status);
    }
    const code = parsed?.code ?? `http_${status}`;
    const message = parsed?.message ?? `Elevate answered ${status}`;
    return op === 'requestElevation'
      ? new ElevationRefusedError(status, code, message, parsed?.field)
      : new ElevateApiError(status, code, message, parsed?.field);
  }
}

/** The `{error: {code, message, field?}}` of an error answer, if that is what it is. */
function errorOf(text: string | undefined): { code: string; message: string; field?: string } | undefined {
  try {
    const body = JSON.parse(text ?? '') as { error?: { code?: unknown; message?: unknown; field?: unknown } };
    const e = body.error;
    if (typeof e?.code !== 'string' || typeof e.message !== 'string') return undefined;
    return { code: e.code, message: e.message, ...(typeof e.field === 'string' ? { field: e.field } : {}) };
  } catch {
    return undefined;
  }
}

/** A fresh idempotency key (fits the API's `requestId` pattern). */
export function newRequestId(): string {
  return `req-${crypto.randomUUID()}`;
}

function causeCode(err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown } } | undefined)?.cause;
  return typeof cause?.code === 'string' ? cause.code : undefined;
}

function describe(err: unknown): string {
  const code = causeCode(err);
  const message = err instanceof Error ? err.message : String(err);
  return code ? `${message} (${code})` : message;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
