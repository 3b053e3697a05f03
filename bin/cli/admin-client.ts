/**
 * The admin API as the `elevate` command talks to it: JSON requests with the admin token, and
 * the server's answers sorted into what the command's exit code must say: the server refused
 * (4xx: the request is wrong, or not allowed), or could not be reached or failed (5xx).
 */
import type { ReadableStream } from 'node:stream/web';

/** The server answered 4xx: its error code, message and the field at fault, as it sent them. */
export class ServerRefusedError extends Error {
  override readonly name = 'ServerRefusedError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly field?: string,
  ) {
    super(message);
  }
}

/** The server could not be reached, timed out, or answered 5xx. */
export class ServerUnavailableError extends Error {
  override readonly name = 'ServerUnavailableError';
}

/** Where the admin API is and the token to show it. */
export interface AdminClientOptions {
  /** `http(s)://host:port`, optionally with a path prefix; no trailing slash. */
  baseUrl: string;
  token: string;
  /** How long a JSON call may take; streams have no overall limit. Default 120 s. */
  timeoutMs?: number;
}

interface ErrorBody {
  error?: { code?: unknown; message?: unknown; field?: unknown };
}

/** A small client of the admin API (`/v1/admin/...`). */
export class AdminClient {
  private readonly timeoutMs: number;

  constructor(private readonly opts: AdminClientOptions) {
    this.timeoutMs = opts.timeoutMs ?? 120_000;
  }

  /** Where requests go, for messages. */
  get baseUrl(): string {
    return this.opts.baseUrl;
  }

  /**
   * One JSON call: `body` is sent as JSON when given.
   *
   * @throws {@link ServerRefusedError} on 4xx
   * @throws {@link ServerUnavailableError} when unreachable, on a timeout, or on 5xx
   */
  async json<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body, AbortSignal.timeout(this.timeoutMs));
    const text = await res.text().catch((err: unknown) => {
      throw new ServerUnavailableError(`the answer from ${this.opts.baseUrl} broke off: ${describe(err)}`);
    });
    if (!res.ok) throw this.failure(res.status, text);
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new ServerUnavailableError(
        `${this.opts.baseUrl} answered ${res.status} with a body that is not JSON`,
      );
    }
  }

  /**
   * A GET whose body is streamed (the audit export): resolves once the headers are in.
   *
   * @throws like {@link json}
   */
  async stream(path: string): Promise<ReadableStream<Uint8Array>> {
    const res = await this.send('GET', path, undefined, undefined);
    if (!res.ok || !res.body) throw this.failure(res.status, await res.text().catch(() => ''));
    return res.body as ReadableStream<Uint8Array>;
  }

  private async send(
    method: string,
    path: string,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<Response> {
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.opts.token}`,
      accept: 'application/json',
    };
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      // Appended, not resolved: a base behind a proxy prefix (`https://host/elevate`) keeps it.
      return await fetch(`${this.opts.baseUrl}${path}`, {
        method,
        headers,
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        ...(signal ? { signal } : {}),
        redirect: 'error',
      });
    } catch (err) {
      throw new ServerUnavailableError(`cannot reach ${this.opts.baseUrl}: ${describe(err)}`);
    }
  }

  private failure(status: number, text: string): Error {
    let parsed: ErrorBody = {};
    try {
      parsed = JSON.parse(text) as ErrorBody;
    } catch {
      // Not the API's error shape (a proxy's page?): the status says enough.
    }
    const code = typeof parsed.error?.code === 'string' ? parsed.error.code : `http_${status}`;
    const message =
      typeof parsed.error?.message === 'string' ? parsed.error.message : `the server answered ${status}`;
    const field = typeof parsed.error?.field === 'string' ? parsed.error.field : undefined;
    if (status >= 500) return new ServerUnavailableError(`${code}: ${message}`);
    return new ServerRefusedError(status, code, message, field);
  }
}

/** The root cause of a failed fetch, e.g. `ECONNREFUSED`, or a timeout. */
function describe(err: unknown): string {
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) {
    return 'no answer in time';
  }
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | undefined)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return err instanceof Error ? err.message : String(err);
}
