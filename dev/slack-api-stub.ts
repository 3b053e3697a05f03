/**
 * A stand-in for Slack's Web API on a loopback port, for tests and the benchmark. It answers
 * the methods Elevate uses the way Slack does (HTTP 200 with `ok: false` and Slack's error
 * strings, HTTP 429 with `Retry-After` when told to rate-limit), records every call with its
 * arguments decoded, and keeps the latest content of every message it was asked to post.
 *
 * Like Slack it accepts form-encoded and JSON bodies, takes the token from `Authorization:
 * Bearer` or a `token` field, and refuses blocks over Block Kit's limits with `invalid_blocks`,
 * so a rendering that Slack would refuse fails here too.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One call the stub accepted (a known method, a valid token, not rate-limited). */
export interface SlackStubCall {
  method: string;
  /** The arguments, with JSON-encoded form fields (`blocks`, `view`, …) decoded. */
  args: Record<string, unknown>;
  /** `Date.now()` when it arrived. */
  at: number;
}

/** Every request that reached the stub, including refused and rate-limited ones. */
export interface SlackStubAttempt {
  method: string;
  /** HTTP status answered. */
  status: number;
  /** Slack's error string when the answer was `ok: false`. */
  error?: string;
  at: number;
}

/** The latest content of a posted message. */
export interface SlackStubMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
  threadTs?: string;
  /** How many times `chat.update` changed it. */
  updates: number;
}

/** A running stand-in for Slack's Web API. */
export interface SlackStub {
  /** Base URL ending in `/api/`, for `WebClient`'s `slackApiUrl`. */
  url: string;
  /** The one bot token it accepts. */
  token: string;
  /** The workspace id `auth.test` and users report. */
  teamId: string;
  /** The app's own user id, as `auth.test` reports it. */
  botUserId: string;
  /** Every accepted call, in order of arrival. */
  calls: SlackStubCall[];
  /** Every request, in order of arrival, including refused and rate-limited ones. */
  attempts: SlackStubAttempt[];
  /** The next `times` (default 1) calls of `method` get HTTP 429 with `Retry-After: retryAfterSeconds`. */
  rateLimit(method: string, retryAfterSeconds: number, times?: number): void;
  /** Until called with `false`: every request gets this HTTP status (an outage), e.g. 503. */
  outage(status: number | false): void;
  /** Until called with `false`: the token is refused with this error (`token_revoked`, …). */
  refuseToken(error: string | false): void;
  /** Adds a Slack user, or replaces the one with the same id. */
  addUser(user: SlackStubUser): void;
  /** Latest content of every posted message, by `${channel}:${ts}`. */
  messages(): Map<string, SlackStubMessage>;
  /** Resolves once `pred(calls)` holds; rejects after `timeoutMs` (default 5000). */
  waitFor(pred: (calls: SlackStubCall[]) => boolean, timeoutMs?: number): Promise<void>;
  /** Stops the server, dropping open connections. Safe to call twice. */
  stop(): Promise<void>;
}

/** A Slack user the stub knows. */
export interface SlackStubUser {
  id: string;
  email: string;
  name?: string;
  /** Deactivated (`deleted: true` in users.info). */
  deleted?: boolean;
  /** A multi-channel guest (`is_restricted`). */
  restricted?: boolean;
  /** A single-channel guest (`is_ultra_restricted`). */
  ultraRestricted?: boolean;
  /** A Slack Connect user from another organisation (`is_stranger`). */
  stranger?: boolean;
  /** Their workspace (default: the stub's). */
  teamId?: string;
  /** Their Enterprise Grid organisation (`enterprise_user.enterprise_id`). */
  enterpriseId?: string;
}

/** Options of {@link startSlackApiStub}. */
export interface SlackStubOptions {
  token: string;
  users: SlackStubUser[];
  /** Channels that exist (default: any `C…`/`G…` id). DMs (`D…`) of known users always exist. */
  channels?: string[];
  /** Workspace id (default `T0000STUB`). */
  teamId?: string;
  /** The Enterprise Grid organisation `auth.test` reports (default: none). */
  enterpriseId?: string;
}

/** Form fields Slack's clients send JSON-encoded. */
const JSON_FIELDS = new Set(['blocks', 'attachments', 'view', 'metadata', 'user_auth_blocks']);

type Answer = { status?: number; headers?: Record<string, string>; body: Record<string, unknown> };
type Handler = (args: Record<string, unknown>) => Answer;

/** Starts the stand-in on a free loopback port. */
export async function startSlackApiStub(opts: SlackStubOptions): Promise<SlackStub> {
  const teamId = opts.teamId ?? 'T0000STUB';
  const botUserId = 'U0000BOT1';
  const users = new Map(opts.users.map((u) => [u.id, u]));
  const channels = opts.channels ? new Set(opts.channels) : undefined;
  const calls: SlackStubCall[] = [];
  const attempts: SlackStubAttempt[] = [];
  const limits = new Map<string, { retryAfterSeconds: number; times: number }>();
  let outageStatus: number | false = false;
  let tokenRefusal: string | false = false;
  const messages = new Map<string, SlackStubMessage>();
  const listeners = new Set<() => void>();
  let tsCounter = 0;
  let viewCounter = 0;

  const nextTs = () => {
    tsCounter += 100;
    return `${1_700_000_000 + Math.floor(tsCounter / 1_000_000)}.${String(tsCounter % 1_000_000).padStart(6, '0')}`;
  };
  const fail = (error: string, extra: Record<string, unknown> = {}): Answer => ({
    body: { ok: false, error, ...extra },
  });
  /** The conversation a `channel` argument names: a user id means the app's DM with that user. */
  const resolveChannel = (channel: unknown): string | undefined => {
    if (typeof channel !== 'string' || channel === '') return undefined;
    if (channel.startsWith('U') || channel.startsWith('W'))
      return users.has(channel) ? dmOf(channel) : undefined;
    if (channel.startsWith('D'))
      return [...users.keys()].some((id) => dmOf(id) === channel) ? channel : undefined;
    if (channels) return channels.has(channel) ? channel : undefined;
    return /^[CG][A-Z0-9]+$/.test(channel) ? channel : undefined;
  };
  const userObject = (u: SlackStubUser) => ({
    id: u.id,
    team_id: u.teamId ?? teamId,
    name: u.name ?? u.email.split('@')[0],
    real_name: u.name ?? u.email,
    is_bot: false,
    deleted: u.deleted ?? false,
    is_restricted: u.restricted ?? u.ultraRestricted ?? false,
    is_ultra_restricted: u.ultraRestricted ?? false,
    ...(u.stranger ? { is_stranger: true } : {}),
    ...(u.enterpriseId ? { enterprise_user: { enterprise_id: u.enterpriseId, id: u.id } } : {}),
    profile: { email: u.email, real_name: u.name ?? u.email, display_name: u.name ?? '' },
  });

  const handlers: Record<string, Handler> = {
    'auth.test': () => ({
      body: {
        ok: true,
        url: 'https://stub.slack.test/',
        team: 'Stub workspace',
        user: 'elevate',
        team_id: teamId,
        user_id: botUserId,
        bot_id: 'B0000BOT1',
        is_enterprise_install: false,
        ...(opts.enterpriseId ? { enterprise_id: opts.enterpriseId } : {}),
      },
    }),
    'chat.postMessage': (args) => {
      const channel = resolveChannel(args.channel);
      if (!channel) return fail('channel_not_found');
      const content = messageContent(args);
      if ('error' in content) return fail(content.error, content.extra);
      const threadTs =
        typeof args.thread_ts === 'string' && args.thread_ts !== '' ? args.thread_ts : undefined;
      if (threadTs !== undefined && !messages.has(`${channel}:${threadTs}`)) return fail('thread_not_found');
      const ts = nextTs();
      const message: SlackStubMessage = { channel, ts, ...content, updates: 0 };
      if (threadTs !== undefined) message.threadTs = threadTs;
      messages.set(`${channel}:${ts}`, message);
      return { body: { ok: true, channel, ts, message: slackMessage(message, botUserId) } };
    },
    'chat.update': (args) => {
      const channel = resolveChannel(args.channel);
      if (!channel) return fail('channel_not_found');
      const existing = messages.get(`${channel}:${String(args.ts)}`);
      if (!existing) return fail('message_not_found');
      const content = messageContent(args);
      if ('error' in content) return fail(content.error, content.extra);
      existing.text = content.text;
      existing.blocks = content.blocks;
      existing.updates += 1;
      return {
        body: {
          ok: true,
          channel,
          ts: existing.ts,
          text: existing.text,
          message: slackMessage(existing, botUserId),
        },
      };
    },
    'chat.postEphemeral': (args) => {
      const channel = resolveChannel(args.channel);
      if (!channel) return fail('channel_not_found');
      if (typeof args.user !== 'string' || !users.has(args.user)) return fail('user_not_in_channel');
      const content = messageContent(args);
      if ('error' in content) return fail(content.error, content.extra);
      return { body: { ok: true, message_ts: nextTs() } };
    },
    'views.open': (args) => {
      if (typeof args.trigger_id !== 'string' || args.trigger_id === '') return fail('invalid_arguments');
      const view = args.view;
      if (!isRecord(view)) return fail('invalid_arguments');
      const blocks = Array.isArray(view.blocks) ? view.blocks : [];
      const problem = blockProblem(blocks, 100) ?? viewProblem(view);
      if (problem)
        return fail('invalid_arguments', { response_metadata: { messages: [`[ERROR] ${problem}`] } });
      viewCounter += 1;
      const id = `V${String(viewCounter).padStart(10, '0')}`;
      return {
        body: { ok: true, view: { ...view, id, team_id: teamId, state: { values: {} }, hash: `${id}.h` } },
      };
    },
    'users.info': (args) => {
      const user = typeof args.user === 'string' ? users.get(args.user) : undefined;
      return user ? { body: { ok: true, user: userObject(user) } } : fail('user_not_found');
    },
    'users.lookupByEmail': (args) => {
      const email = typeof args.email === 'string' ? args.email.toLowerCase() : '';
      const user = [...users.values()].find((u) => u.email.toLowerCase() === email);
      return user ? { body: { ok: true, user: userObject(user) } } : fail('users_not_found');
    },
    'conversations.open': (args) => {
      const ids = typeof args.users === 'string' ? args.users.split(',').filter(Boolean) : [];
      const only = ids[0];
      if (ids.length !== 1 || only === undefined)
        return fail(ids.length === 0 ? 'not_enough_users' : 'too_many_users');
      if (!users.has(only)) return fail('user_not_found');
      return { body: { ok: true, channel: { id: dmOf(only) } } };
    },
  };

  const answer = (res: ServerResponse, attempt: SlackStubAttempt, a: Answer) => {
    attempt.status = a.status ?? 200;
    if (a.body.ok === false && typeof a.body.error === 'string') attempt.error = a.body.error;
    const payload = JSON.stringify(a.body);
    res.writeHead(attempt.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(payload),
      ...a.headers,
    });
    res.end(payload);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://stub');
    const method = url.pathname.startsWith('/api/') ? url.pathname.slice('/api/'.length) : '';
    const attempt: SlackStubAttempt = { method, status: 0, at: Date.now() };
    attempts.push(attempt);
    if (outageStatus !== false) {
      answer(res, attempt, { status: outageStatus, body: { ok: false, error: 'service_unavailable' } });
      return;
    }
    let args: Record<string, unknown>;
    try {
      args = parseArgs(req.headers['content-type'], await readBody(req));
      for (const [key, value] of url.searchParams) if (!(key in args)) args[key] = value;
    } catch {
      answer(res, attempt, fail('invalid_form_data'));
      return;
    }
    const handler = handlers[method];
    if (!handler) {
      answer(res, attempt, { status: method ? 200 : 404, body: { ok: false, error: 'unknown_method' } });
      return;
    }
    const bearer = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '')?.[1];
    const token = bearer ?? (typeof args.token === 'string' ? args.token : undefined);
    if (!token) return answer(res, attempt, fail('not_authed'));
    if (token !== opts.token) return answer(res, attempt, fail('invalid_auth'));
    if (tokenRefusal !== false) return answer(res, attempt, fail(tokenRefusal));
    delete args.token;
    const limit = limits.get(method);
    if (limit && limit.times > 0) {
      limit.times -= 1;
      return answer(res, attempt, {
        status: 429,
        headers: { 'retry-after': String(limit.retryAfterSeconds) },
        body: { ok: false, error: 'ratelimited' },
      });
    }
    calls.push({ method, args, at: attempt.at });
    answer(res, attempt, handler(args));
    for (const listener of [...listeners]) listener();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let stopped: Promise<void> | undefined;

  return {
    url: `http://127.0.0.1:${port}/api/`,
    token: opts.token,
    teamId,
    botUserId,
    calls,
    attempts,
    rateLimit(method, retryAfterSeconds, times = 1) {
      limits.set(method, { retryAfterSeconds, times });
    },
    outage(status) {
      outageStatus = status;
    },
    refuseToken(error) {
      tokenRefusal = error;
    },
    addUser(user) {
      users.set(user.id, user);
    },
    messages: () => new Map([...messages].map(([key, m]) => [key, structuredClone(m)])),
    waitFor(pred, timeoutMs = 5000) {
      if (pred(calls)) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!pred(calls)) return;
          cleanUp();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanUp();
          reject(new Error(`Slack stub: condition not met within ${timeoutMs} ms (${calls.length} calls)`));
        }, timeoutMs);
        const cleanUp = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
      });
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}

/** The DM channel id the stub gives the app's conversation with a user. */
export function dmOf(userId: string): string {
  return `D${userId.slice(1)}`;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Decodes a JSON or form body; form fields Slack sends as JSON are decoded too. */
function parseArgs(contentType: string | undefined, body: string): Record<string, unknown> {
  if (body === '') return {};
  if (contentType?.toLowerCase().startsWith('application/json')) {
    const parsed: unknown = JSON.parse(body);
    if (!isRecord(parsed)) throw new Error('JSON body is not an object');
    return { ...parsed };
  }
  const args: Record<string, unknown> = {};
  for (const [key, value] of new URLSearchParams(body)) {
    args[key] = JSON_FIELDS.has(key) ? (JSON.parse(value) as unknown) : value;
  }
  return args;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A message's text and blocks, or Slack's error for them. */
function messageContent(
  args: Record<string, unknown>,
): { text: string; blocks: unknown[] } | { error: string; extra?: Record<string, unknown> } {
  const text = typeof args.text === 'string' ? args.text : '';
  const blocks = Array.isArray(args.blocks) ? (args.blocks as unknown[]) : [];
  if (text === '' && blocks.length === 0) return { error: 'no_text' };
  if (text.length > 40_000) return { error: 'msg_too_long' };
  const problem = blockProblem(blocks, 50);
  if (problem)
    return { error: 'invalid_blocks', extra: { response_metadata: { messages: [`[ERROR] ${problem}`] } } };
  return { text, blocks };
}

/** What Slack would reject in these blocks, checking the limits Elevate's messages come near. */
function blockProblem(blocks: unknown[], maxBlocks: number): string | undefined {
  if (blocks.length > maxBlocks) return `no more than ${maxBlocks} items allowed [json-pointer:/blocks]`;
  for (const [i, block] of blocks.entries()) {
    if (!isRecord(block) || typeof block.type !== 'string')
      return `invalid block [json-pointer:/blocks/${i}]`;
    const at = `/blocks/${i}`;
    if (typeof block.block_id === 'string' && block.block_id.length > 255) return `block_id too long ${at}`;
    const text = isRecord(block.text) ? block.text.text : undefined;
    if (block.type === 'section') {
      if (typeof text === 'string' && (text.length === 0 || text.length > 3000))
        return `section text must be 1–3000 characters [json-pointer:${at}/text]`;
      const fields = Array.isArray(block.fields) ? block.fields : [];
      if (fields.length > 10) return `no more than 10 fields [json-pointer:${at}/fields]`;
      for (const field of fields) {
        if (!isRecord(field) || typeof field.text !== 'string' || field.text.length > 2000)
          return `field text must be at most 2000 characters [json-pointer:${at}/fields]`;
      }
      if (text === undefined && fields.length === 0)
        return `section needs text or fields [json-pointer:${at}]`;
    }
    if (block.type === 'header' && (typeof text !== 'string' || text.length > 150))
      return `header text must be at most 150 characters [json-pointer:${at}/text]`;
    if (block.type === 'context') {
      const elements = Array.isArray(block.elements) ? block.elements : [];
      if (elements.length === 0 || elements.length > 10)
        return `context needs 1–10 elements [json-pointer:${at}]`;
      for (const el of elements) {
        if (isRecord(el) && typeof el.text === 'string' && el.text.length > 3000)
          return `context text must be at most 3000 characters [json-pointer:${at}/elements]`;
      }
    }
    if (block.type === 'actions') {
      const elements = Array.isArray(block.elements) ? block.elements : [];
      if (elements.length === 0 || elements.length > 25)
        return `actions needs 1–25 elements [json-pointer:${at}]`;
      for (const el of elements) {
        if (!isRecord(el)) return `invalid element [json-pointer:${at}/elements]`;
        if (typeof el.value === 'string' && el.value.length > 2000)
          return `button value must be at most 2000 characters [json-pointer:${at}/elements]`;
        if (typeof el.action_id === 'string' && el.action_id.length > 255)
          return `action_id too long [json-pointer:${at}/elements]`;
        const label = isRecord(el.text) ? el.text.text : undefined;
        if (el.type === 'button' && (typeof label !== 'string' || label.length > 75))
          return `button text must be at most 75 characters [json-pointer:${at}/elements]`;
      }
    }
  }
  return undefined;
}

/** What Slack would reject in a modal's frame. */
function viewProblem(view: Record<string, unknown>): string | undefined {
  if (view.type !== 'modal') return 'view type must be modal';
  for (const key of ['title', 'submit', 'close']) {
    const t = view[key];
    if (t === undefined) continue;
    if (!isRecord(t) || t.type !== 'plain_text' || typeof t.text !== 'string' || t.text.length > 24)
      return `${key} must be plain_text of at most 24 characters`;
  }
  if (view.title === undefined) return 'title is required';
  const blocks = Array.isArray(view.blocks) ? view.blocks : [];
  if (blocks.some((b) => isRecord(b) && b.type === 'input') && view.submit === undefined)
    return 'submit is required when a view has input blocks';
  if (typeof view.private_metadata === 'string' && view.private_metadata.length > 3000)
    return 'private_metadata must be at most 3000 characters';
  if (typeof view.callback_id === 'string' && view.callback_id.length > 255) return 'callback_id too long';
  return undefined;
}

/** The `message` object Slack returns with a posted or updated message. */
function slackMessage(m: SlackStubMessage, botUserId: string): Record<string, unknown> {
  return {
    type: 'message',
    user: botUserId,
    bot_id: 'B0000BOT1',
    text: m.text,
    blocks: m.blocks,
    ts: m.ts,
    ...(m.threadTs !== undefined ? { thread_ts: m.threadTs } : {}),
  };
}
