/**
 * Edges of the HTTP layer that need no workflow: an audit store that cannot be read answers 503;
 * the audited caller address honours (only) a configured reverse proxy; bodies the parser cannot
 * read (corrupt or unknown compression, a bomb, an abort) are 4xx, never 500; free text with
 * invisible or reordering characters is refused; slow clients are cut off; and probes of
 * `/healthz` share one round of checks.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { Client } from '@temporalio/client';
import pino, { type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDomainServices } from '../../domain/domain-services.js';
import { openStores, type Stores } from '../../store/stores.js';
import { createLimitedServer } from '../../runtime/http-server.js';
import { DEFAULT_HTTP_LIMITS, type HttpServerLimits } from '../../config/http-limits.js';
import { createMetrics, type Metrics } from '../../integrations/metrics/prometheus.js';
import { createApp } from '../../server/app.js';
import type { HealthCheck } from '../../server/health.js';
import { DecisionSigner } from '../../domain/decision-signer.js';
import { buildPolicy, testDecisionKey, testLogger } from '../support/stack.js';

const dir = mkdtempSync(path.join(tmpdir(), 'elevate-http-'));
const { policy, adminToken, keys } = buildPolicy([{ id: 'edge-bot', roles: ['edge'] }], [{ id: 'edge' }]);
const botKey = keys['edge-bot']!;
const servers: Server[] = [];
const opened: Stores[] = [];

interface ServeOptions {
  trustProxy?: boolean | string;
  metrics?: Metrics;
  logger?: Logger;
  healthChecks?: Record<string, HealthCheck>;
  healthCacheMs?: number;
  limits?: HttpServerLimits;
}

/** An app over a real SQLite store; Temporal is never reached by these requests. */
async function serve(store: Stores, opts: ServeOptions = {}): Promise<string> {
  const logger = opts.logger ?? testLogger();
  const services = createDomainServices({
    policy,
    temporal: new Client(),
    signer: new DecisionSigner(testDecisionKey()),
    taskQueue: 'unused',
    ...store,
    timing: { grantTimeoutSeconds: 10, revokeRetryMaxSeconds: 1 },
    logger,
  });
  const app = createApp({
    services,
    healthChecks: opts.healthChecks ?? {},
    logger,
    trustProxy: opts.trustProxy ?? false,
    ...(opts.metrics ? { metrics: opts.metrics } : {}),
    ...(opts.healthCacheMs !== undefined ? { healthCacheMs: opts.healthCacheMs } : {}),
  });
  // The server `elevate api` listens with, its limits applied.
  const server = createLimitedServer(app, opts.limits ?? DEFAULT_HTTP_LIMITS);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function open(name: string): Promise<Stores> {
  const store = await openStores({ sqlitePath: path.join(dir, `${name}.db`) });
  opened.push(store);
  return store;
}

/** A logger that keeps every line it writes, to check levels. */
function recordingLogger(): { logger: Logger; lines: { level: number; msg?: string }[] } {
  const lines: { level: number; msg?: string }[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n'))
        if (line) lines.push(JSON.parse(line) as { level: number; msg?: string });
      done();
    },
  });
  return { logger: pino({ level: 'info' }, sink), lines };
}

/** Counts of `elevate_http_requests_total` by status class. */
async function statusClasses(metrics: Metrics): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const v of (await metrics.httpRequests.get()).values) {
    const key = String(v.labels.status_class);
    out[key] = (out[key] ?? 0) + v.value;
  }
  return out;
}

/** A deterministic pseudo-random generator (mulberry32), so a failing fuzz case can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const ID = `el_${'4'.repeat(24)}`;
const BOT = { authorization: `Bearer ${botKey}` };
const ADMIN = { authorization: `Bearer ${adminToken}` };

/** Every route that reads a JSON body, with the credential it needs. */
const JSON_ROUTES: [string, Record<string, string>][] = [
  ['/v1/elevations', BOT],
  [`/v1/elevations/${ID}/revoke`, BOT],
  [`/v1/admin/elevations/${ID}/revoke`, ADMIN],
  ['/v1/admin/bots/edge-bot/lock', ADMIN],
  ['/v1/admin/bots/edge-bot/unlock', ADMIN],
  ['/v1/admin/bots/edge-bot/disable', ADMIN],
  ['/v1/admin/bots/edge-bot/enable', ADMIN],
  ['/v1/admin/bots/edge-bot/rotate-key', ADMIN],
];

afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    s.close();
  }
  for (const s of opened) await s.database.close().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

describe('audit store that cannot be read', () => {
  let base: string;
  beforeAll(async () => {
    const store = await open('closed');
    base = await serve(store);
    await store.database.close();
  });

  it.each([
    ['the elevation list', '/v1/admin/elevations'],
    ['one elevation', `/v1/admin/elevations/el_${'2'.repeat(24)}`],
    ['the chain verification', '/v1/admin/audit/verify'],
  ])('when an admin reads %s, then the answer is 503 service_unavailable, not 500', async (_, route) => {
    const res = await fetch(base + route, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('service_unavailable');
  });
});

describe('caller address in the audit trail', () => {
  const tryUnknownKey = (base: string) =>
    fetch(`${base}/v1/elevations/el_${'3'.repeat(24)}`, {
      headers: { authorization: 'Bearer elv_bot_never-issued', 'x-forwarded-for': '203.0.113.7' },
    });

  it('when no proxy is trusted, then a forged X-Forwarded-For is ignored and the socket peer is recorded', async () => {
    const store = await open('direct');
    expect((await tryUnknownKey(await serve(store))).status).toBe(401);
    const [event] = await store.auditLog.readEvents(0, 10);
    expect(event).toMatchObject({ type: 'auth.refused' });
    expect(String(event!.data.ip)).toMatch(/127\.0\.0\.1$/);
  });

  it('when the loopback proxy is trusted, then the address it forwards is recorded', async () => {
    const store = await open('proxied');
    expect((await tryUnknownKey(await serve(store, { trustProxy: 'loopback' }))).status).toBe(401);
    const [event] = await store.auditLog.readEvents(0, 10);
    expect(event?.data.ip).toBe('203.0.113.7');
  });
});

describe('bodies the parser cannot read', () => {
  let base: string;
  let store: Stores;
  const metrics = createMetrics({ processMetrics: false });
  const log = recordingLogger();
  beforeAll(async () => {
    store = await open('bodies');
    base = await serve(store, { metrics, logger: log.logger });
  });

  const post = (route: string, auth: Record<string, string>, body: Buffer, encoding?: string) =>
    fetch(base + route, {
      method: 'POST',
      headers: {
        ...auth,
        'content-type': 'application/json',
        ...(encoding !== undefined ? { 'content-encoding': encoding } : {}),
      },
      body: new Uint8Array(body),
    }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { error: { code: string; field?: string } },
    }));

  const json = Buffer.from(
    JSON.stringify({ role: 'edge', durationSeconds: 60, justification: 'ok', bogus: 1 }),
  );
  const corrupt = (b: Buffer) =>
    Buffer.concat([b.subarray(0, 10), Buffer.from('not the rest of the stream'), b.subarray(20)]);

  it.each([
    ['gzip', corrupt(gzipSync(json))],
    ['deflate', corrupt(deflateSync(json))],
    ['br', Buffer.from('definitely not brotli')],
    ['gzip', Buffer.from('plain text claiming to be gzip')],
  ])(
    'when a %s body is corrupt, then every JSON route answers 400 invalid_body naming the body, not 500',
    async (encoding, body) => {
      for (const [route, auth] of JSON_ROUTES) {
        expect(await post(route, auth, body, encoding), route).toEqual({
          status: 400,
          body: {
            error: {
              code: 'invalid_body',
              message: 'the body is not valid for its content-encoding',
              field: 'body',
            },
          },
        });
      }
    },
  );

  it('when a compressed body inflates past 16 KiB (a zip bomb), then the answer is 413, whatever it compresses to', async () => {
    const bomb = Buffer.from(JSON.stringify({ justification: ' '.repeat(4 * 1024 * 1024) }));
    for (const [encoding, body] of [
      ['gzip', gzipSync(bomb)],
      ['deflate', deflateSync(bomb)],
      ['br', brotliCompressSync(bomb)],
    ] as const) {
      expect(body.length).toBeLessThan(16 * 1024);
      const res = await post('/v1/elevations', BOT, body, encoding);
      expect(res.status, encoding).toBe(413);
      expect(res.body.error).toMatchObject({ code: 'payload_too_large', field: 'body' });
    }
  });

  it('when a well-formed compressed body arrives, then it is read like a plain one (the schema names the unknown field)', async () => {
    for (const [encoding, body] of [
      ['gzip', gzipSync(json)],
      ['deflate', deflateSync(json)],
      ['br', brotliCompressSync(json)],
    ] as const) {
      expect(await post('/v1/elevations', BOT, body, encoding), encoding).toMatchObject({
        status: 400,
        body: { error: { code: 'invalid_request', field: 'bogus' } },
      });
    }
  });

  it.each(['compress', 'x-unknown', 'gzip, gzip'])(
    'when the content-encoding is %s, then the answer is 415 naming content-encoding',
    async (encoding) => {
      expect(await post('/v1/admin/bots/edge-bot/lock', ADMIN, json, encoding)).toMatchObject({
        status: 415,
        body: { error: { code: 'unsupported_media_type', field: 'content-encoding' } },
      });
    },
  );

  it('when a path segment is not valid percent-encoding, then the answer is 400 naming the path, not 500', async () => {
    const res = await fetch(`${base}/v1/admin/bots/%E0%A4%A`, { headers: ADMIN });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { code: 'invalid_request', field: 'path' } });
  });

  /** Send a request by hand, stop part-way through the body, and wait for the server to see it. */
  async function abortMidBody(how: 'destroy' | 'end'): Promise<void> {
    const { port } = new URL(base);
    const socket: Socket = connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    socket.write(
      `POST /v1/elevations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${botKey}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"role":"ed',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    if (how === 'destroy') socket.destroy();
    else socket.end(); // fewer bytes than content-length said, then the end of the stream
    await new Promise((resolve) => setTimeout(resolve, 200));
  }

  it('when a client gives up mid-body or sends less than content-length, then it is logged at info, and no 5xx is counted or logged', async () => {
    const before = log.lines.length;
    await abortMidBody('destroy');
    await abortMidBody('end');
    const lines = log.lines.slice(before);
    expect(lines.filter((l) => l.msg === 'client aborted the request body')).toHaveLength(2);
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    expect((await statusClasses(metrics))['5xx']).toBeUndefined();
  });

  it('when random, compressed and garbled bodies are sent to every JSON route, then no answer is a 5xx (seeded fuzz)', async () => {
    const next = random(0x5eed);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)]!;
    const bytes = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(next() * 256)));
    const valid = () =>
      Buffer.from(
        pick([
          '{}',
          '{"reason":"fuzz"}',
          '{"role":"edge","durationSeconds":60,"justification":"x"}',
          '[]',
          'null',
          '{"reason":"\\u202e"}',
          `{"justification":"${'a'.repeat(20_000)}"}`,
        ]),
      );
    const bodies: (() => [Buffer, string | undefined])[] = [
      () => [bytes(1 + Math.floor(next() * 2000)), undefined],
      () => [gzipSync(valid()), 'gzip'],
      () => [gzipSync(bytes(200)), 'gzip'],
      () => [gzipSync(valid()).subarray(0, Math.floor(next() * 30)), 'gzip'],
      () => [deflateSync(valid()).subarray(0, Math.floor(next() * 20)), 'deflate'],
      () => [brotliCompressSync(valid()).subarray(0, Math.floor(next() * 10)), 'br'],
      () => [bytes(50), pick(['gzip', 'deflate', 'br'])],
      () => [gzipSync(gzipSync(valid())), 'gzip'],
      () => [valid(), pick(['identity', 'GZIP', 'gzip, deflate', '', 'x'])],
    ];
    const seen: Record<number, number> = {};
    for (let i = 0; i < 300; i++) {
      const [route, auth] = pick(JSON_ROUTES);
      const [body, encoding] = pick(bodies)();
      const res = await fetch(base + route, {
        method: 'POST',
        headers: {
          ...auth,
          'content-type': pick(['application/json', 'application/json; charset=utf-8', 'text/plain']),
          ...(encoding !== undefined ? { 'content-encoding': encoding } : {}),
        },
        body: new Uint8Array(body),
      });
      await res.arrayBuffer();
      seen[res.status] = (seen[res.status] ?? 0) + 1;
      expect(res.status, `case ${i}: ${route} ${encoding ?? 'identity'}`).toBeLessThan(500);
    }
    // The fuzz reached the body parser's refusals, not only the authentication in front of it.
    expect(Object.keys(seen).map(Number)).toEqual(expect.arrayContaining([400, 413, 415]));
    expect(log.lines.filter((l) => l.level >= 50)).toEqual([]);
    expect((await statusClasses(metrics))['5xx']).toBeUndefined();
  });
});

describe('text people read later', () => {
  let base: string;
  let store: Stores;
  beforeAll(async () => {
    store = await open('text');
    base = await serve(store);
  });

  const post = (route: string, auth: Record<string, string>, body: unknown) =>
    fetch(base + route, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    }).then(async (r) => ({
      status: r.status,
      body: (await r.json()) as { error: { code: string; field?: string; message: string } },
    }));

  it.each([
    ['a right-to-left override', 'deploy fix for \u202etxt.exe', 'U+202E'],
    ['a bidirectional isolate', 'ok \u2067reversed\u2069', 'U+2067'],
    ['a zero-width space', 'read\u200bonly', 'U+200B'],
    ['a C1 control', 'next line\u0085here', 'U+0085'],
    ['a line separator', 'one\u2028two', 'U+2028'],
    ['Unicode tags (invisible text)', 'ok\u{e0069}\u{e0067}', 'U+E0069'],
  ])(
    'when a justification hides %s, then the request is refused naming the field and the character',
    async (_, justification, code) => {
      const res = await post('/v1/elevations', BOT, { role: 'edge', durationSeconds: 60, justification });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatchObject({ code: 'invalid_request', field: 'justification' });
      expect(res.body.error.message).toContain(code);
    },
  );

  it('when a justification is only invisible characters, then it is refused as having no visible text', async () => {
    const res = await post('/v1/elevations', BOT, {
      role: 'edge',
      durationSeconds: 60,
      justification: '\u3164\u2800\ufe0f',
    });
    expect(res).toMatchObject({
      status: 400,
      body: { error: { field: 'justification', message: 'justification: must contain visible text' } },
    });
  });

  it('when an admin locks a bot with an invisible reason, then it is refused, and the attempt is audited', async () => {
    const res = await post('/v1/admin/bots/edge-bot/lock', ADMIN, { reason: '\u200b\u200b' });
    expect(res).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', field: 'reason' } } });
    const events = await store.auditLog.readEvents(0, 50);
    expect(events.find((e) => e.type === 'request.refused' && e.actor.kind === 'admin')).toMatchObject({
      actor: { kind: 'admin', id: 'test-admin' },
      data: { field: 'reason', code: 'invalid_request' },
    });
    expect(events.some((e) => e.type.startsWith('bot.lock'))).toBe(false);
  });
});

describe('slow and numerous clients', () => {
  const limits: HttpServerLimits = {
    headersTimeoutSeconds: 1,
    requestTimeoutSeconds: 2,
    keepAliveTimeoutSeconds: 1,
    maxConnections: 3,
  };

  /** A raw connection; resolves what the server sent once it closes the connection. */
  function rawClient(base: string): { socket: Socket; closed: Promise<string> } {
    const { port } = new URL(base);
    const socket = connect(Number(port), '127.0.0.1');
    let received = '';
    socket.on('data', (d: Buffer) => (received += d.toString()));
    socket.on('error', () => undefined);
    const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
    return { socket, closed };
  }

  /** Write `text` a byte at a time, every 100 ms, until the socket closes (or the text ends). */
  function dribble(socket: Socket, text: string): void {
    let i = 0;
    const timer = setInterval(() => {
      if (socket.destroyed || i >= text.length) clearInterval(timer);
      else socket.write(text[i++]!);
    }, 100);
    socket.once('close', () => clearInterval(timer));
  }

  it('when a client sends its headers byte by byte forever (slowloris), then the server closes the connection after the headers timeout', async () => {
    const base = await serve(await open('slowloris'), { limits });
    const { socket, closed } = rawClient(base);
    socket.write('GET /livez HTTP/1.1\r\nHost: x\r\n');
    dribble(socket, `X-Slow: ${'a'.repeat(10_000)}`);
    // The test's own timeout is the generous upper bound: without a headers timeout this hangs.
    const received = await closed;
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
  }, 15_000);

  it('when a client sends its body byte by byte, then the server closes the connection after the request timeout', async () => {
    const base = await serve(await open('slow-body'), { limits });
    const { socket, closed } = rawClient(base);
    socket.write(
      `POST /v1/elevations HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${botKey}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n`,
    );
    dribble(socket, 'x'.repeat(5000));
    await closed;
    expect(socket.destroyed).toBe(true);
  }, 15_000);

  it('when an answer takes longer than the request timeout (a long-poll), then it is still delivered: the timeout bounds receiving only', async () => {
    // The server as `elevate api` builds it, with an answer that comes after the request timeout.
    const server = createLimitedServer((_req, res) => {
      setTimeout(() => res.end('late'), 2_500);
    }, limits);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    servers.push(server);
    const res = await fetch(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('late');
  }, 15_000);

  it('when more clients connect than the connection cap, then the extra ones are closed at once and the others keep working', async () => {
    const base = await serve(await open('cap'), {
      limits: {
        ...limits,
        keepAliveTimeoutSeconds: 30,
        headersTimeoutSeconds: 30,
        requestTimeoutSeconds: 30,
      },
    });
    const held = [rawClient(base), rawClient(base), rawClient(base)];
    await Promise.all(held.map(({ socket }) => new Promise((resolve) => socket.once('connect', resolve))));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const extra = rawClient(base);
    extra.socket.write('GET /livez HTTP/1.1\r\nHost: x\r\n\r\n');
    expect(await extra.closed).toBe('');
    const first = held[0]!;
    first.socket.write('GET /livez HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(await first.closed).toMatch(/^HTTP\/1\.1 200 /);
    for (const { socket } of held) socket.destroy();
  }, 15_000);
});

describe('health probes', () => {
  it('when /healthz is flooded, then the checks run once for the whole flood, and the answer names parts without latencies', async () => {
    let runs = 0;
    const counted: HealthCheck = async () => {
      runs++;
      await new Promise((resolve) => setTimeout(resolve, 50));
    };
    // A long cache, so the assertion does not depend on how fast the flood is sent.
    const base = await serve(await open('health'), {
      healthChecks: { temporal: counted, auditStore: counted },
      healthCacheMs: 60_000,
    });
    const answers = await Promise.all(Array.from({ length: 50 }, () => fetch(`${base}/healthz`)));
    for (let i = 0; i < 50; i++) answers.push(await fetch(`${base}/readyz`));
    expect(answers.every((r) => r.status === 200)).toBe(true);
    expect(runs).toBe(2); // one round: one run of each of the two checks
    expect(await answers[0]!.json()).toEqual({
      status: 'ok',
      checks: { temporal: { ok: true }, auditStore: { ok: true } },
    });
  });

  it('when no cache is set, then concurrent probes still share the round in flight', async () => {
    let runs = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const base = await serve(await open('health-inflight'), {
      healthChecks: {
        temporal: async () => {
          runs++;
          await gate;
        },
      },
      healthCacheMs: 0,
    });
    const pending = Array.from({ length: 20 }, () => fetch(`${base}/healthz`));
    await new Promise((resolve) => setTimeout(resolve, 300));
    release();
    expect((await Promise.all(pending)).map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(runs).toBe(1);
  });
});
