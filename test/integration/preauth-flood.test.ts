/**
 * A flood of unauthenticated requests on a whole stack (Temporal, slapd, SQLite, the worker):
 * 10,000 requests with ~8 KB paths, ~6 KB `Origin` headers and made-up keys, as the fuzz run
 * sent them. The audit trail grows by a bounded number of small events whose counts add up to
 * the flood, the metrics count every refusal, the flooding network is answered 429 before any
 * lookup, and a bot from another network is granted its role in the middle of it.
 *
 * (How much the flood slows a concurrent grant is measured by `npm run bench -- preauth-flood`,
 * not asserted here: timing assertions are flaky on shared machines.)
 */
import { randomBytes } from 'node:crypto';
import { Agent, request, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDomainServices, type DomainServices } from '../../domain/domain-services.js';
import type { AuditEvent } from '../../core/model/audit-record.js';
import { createMetrics } from '../../integrations/metrics/prometheus.js';
import { adminConsole } from '../../server/admin/console.js';
import { createApp } from '../../server/app.js';
import { approvalRoutes } from '../../server/approvals.js';
import { AuthFailureLimit } from '../../server/auth-failure-limit.js';
import { DecisionSigner } from '../../domain/decision-signer.js';
import { startStack, testDecisionKey, testLogger, type Stack } from '../support/stack.js';
import { parseExposition, valueOf } from '../support/prometheus-text.js';

const FLOOD = 10_000;
const PATH = `/v1/elevations/${'A'.repeat(8000)}`;
const ORIGIN = `https://${'o'.repeat(6000)}.example`;

let stack: Stack;
let server: Server;
let url = '';
let services: DomainServices;
const metrics = createMetrics({ processMetrics: false, temporal: false });

beforeAll(async () => {
  stack = await startStack({
    bots: [{ id: 'flood-bot', roles: ['flood-auto'] }],
    roles: [{ id: 'flood-auto' }],
  });
  // The stack's pieces, with the metrics hook the process wires in `runtime/process.ts`.
  services = createDomainServices({
    policy: stack.policy,
    temporal: stack.env.client,
    signer: new DecisionSigner(testDecisionKey()),
    taskQueue: stack.taskQueue,
    ...stack.stores,
    timing: stack.timing,
    logger: stack.logger,
    directory: stack.directory,
    onPreAuthRefusal: (reason) => metrics.preAuthRefusals.inc({ reason }),
  });
  const app = createApp({
    services,
    healthChecks: {},
    logger: testLogger(),
    metrics,
    // The flood and the bot come through a proxy on loopback from two networks.
    trustProxy: 'loopback',
    authFailureLimit: new AuthFailureLimit({ burst: 20, perMinute: 10 }),
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const address = server.address();
  url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}, 60_000);

afterAll(async () => {
  agent.destroy();
  server?.close();
  await stack?.close();
});

async function allEvents(): Promise<AuditEvent[]> {
  const all: AuditEvent[] = [];
  for (;;) {
    const page = await stack.stores.auditLog.readEvents(all.at(-1)?.position ?? 0, 1000);
    all.push(...page);
    if (page.length < 1000) return all;
  }
}

/** Kept-alive connections, as a flooding client keeps them (and 10,000 requests stay quick). */
const agent = new Agent({ keepAlive: true, maxSockets: 32 });

/** One request of the flood: no key, a malformed one, or a made-up one, from 203.0.113.0/24. */
function junk(i: number): Promise<number> {
  const kind = i % 3;
  const authorization =
    kind === 0 ? undefined : kind === 1 ? 'Bearer' : `Bearer elv_bot_${randomBytes(12).toString('hex')}`;
  const { port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: PATH,
        agent,
        headers: {
          ...(authorization ? { authorization } : {}),
          origin: ORIGIN,
          'x-forwarded-for': `203.0.113.${i % 250}`,
          'user-agent': 'x'.repeat(500),
        },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode!));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('a flood of unauthenticated requests', () => {
  it('when 10,000 unauthenticated requests arrive, then the audit trail grows by a bounded number of small events that count them all, and a bot from another network is granted its role meanwhile', async () => {
    const before = (await allEvents()).length;
    const statuses = new Map<number, number>();
    let next = 0;
    let granted: Promise<string> | undefined;
    const worker = async () => {
      while (next < FLOOD) {
        const i = next++;
        if (i === FLOOD / 2) {
          // In the middle of the flood, a legitimate bot from another network.
          granted = (async () => {
            const res = await fetch(`${url}/v1/elevations`, {
              method: 'POST',
              headers: {
                authorization: `Bearer ${stack.keys['flood-bot']}`,
                'content-type': 'application/json',
                'x-forwarded-for': '198.51.100.7',
              },
              body: JSON.stringify({
                role: 'flood-auto',
                durationSeconds: 60,
                justification: 'during a flood',
              }),
            });
            expect(res.status).toBe(202);
            const { id } = (await res.json()) as { id: string };
            await stack.waitFor(id, (v) => v.status === 'active');
            return id;
          })();
        }
        const status = await junk(i);
        statuses.set(status, (statuses.get(status) ?? 0) + 1);
      }
    };
    await Promise.all(Array.from({ length: 32 }, worker));
    const id = await granted!;
    expect(await stack.isMember('flood-bot', 'flood-auto')).toBe(true);
    // Shutting down writes the summaries of the windows still open.
    await services.audit.flushRefusals();

    // Refused, all of them: 401 until the network's budget of failures ran out, then 429.
    expect([...statuses.keys()].sort()).toEqual([401, 429]);
    expect(statuses.get(401)! + statuses.get(429)!).toBe(FLOOD);
    expect(statuses.get(429)!).toBeGreaterThan(FLOOD * 0.9);

    const added = (await allEvents()).slice(before);
    const flood = added.filter((e) => e.elevationId === null);
    // The bot's elevation events, and a few dozen from the flood: not one per request.
    expect(added.filter((e) => e.elevationId === id).length).toBeGreaterThan(0);
    expect(flood.length).toBeLessThanOrEqual(60);
    expect(flood.every((e) => e.type === 'auth.refused' || e.type === 'refusals.summarized')).toBe(true);
    // Small: nothing of the path or the Origin is kept, only the route pattern.
    const largest = Math.max(...flood.map((e) => JSON.stringify(e.data).length));
    expect(largest).toBeLessThan(600);
    for (const e of flood.filter((x) => x.type === 'auth.refused')) {
      expect(e.data.path).toBe('/v1/elevations/:id');
    }
    expect(JSON.stringify(flood)).not.toContain('AAAAAAAA');
    expect(JSON.stringify(flood)).not.toContain('oooooooo');

    // Every refusal is accounted for: the one recorded of each kind, plus the rest in its summary.
    const recorded = flood.filter((e) => e.type === 'auth.refused').length;
    const summarized = flood
      .filter((e) => e.type === 'refusals.summarized')
      .reduce((n, e) => n + Number(e.data.count) - 1, 0);
    expect(recorded + summarized).toBe(FLOOD);
    // The 429s: one recorded, the rest in the summary of their window (a slow run may span two).
    const limited = flood.filter((e) => e.type === 'refusals.summarized' && e.data.reason === 'rate_limited');
    expect(limited.length).toBeGreaterThan(0);
    for (const e of limited) {
      expect(e.data).toMatchObject({
        of: 'auth.refused',
        route: '/v1/elevations/:id',
        network: '203.0.113.0/24',
      });
    }
    expect(limited.reduce((n, e) => n + Number(e.data.count), 0)).toBe(statuses.get(429));

    // And the metrics counted each one.
    const samples = parseExposition(await metrics.registry.metrics()).samples;
    expect(valueOf(samples, 'elevate_preauth_refusals_total')).toBe(FLOOD);
    expect(valueOf(samples, 'elevate_preauth_refusals_total', { reason: 'rate_limited' })).toBe(
      statuses.get(429),
    );
  }, 180_000);

  it('when a network is over its limit, then a valid key from it is refused with 429 and Retry-After before any lookup, and works again once a token has grown back', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const limit = new AuthFailureLimit({ burst: 2, perMinute: 6 }, () => new Date(now));
    const app = createApp({
      services,
      healthChecks: {},
      logger: testLogger(),
      trustProxy: 'loopback',
      authFailureLimit: limit,
    });
    const s = await new Promise<Server>((resolve) => {
      const x = app.listen(0, '127.0.0.1', () => resolve(x));
    });
    try {
      const base = `http://127.0.0.1:${(s.address() as { port: number }).port}`;
      const ask = (key: string) =>
        fetch(`${base}/v1/elevations/el_${'7'.repeat(24)}`, {
          headers: { authorization: `Bearer ${key}`, 'x-forwarded-for': '192.0.2.9' },
        });
      expect((await ask('elv_bot_wrong-1')).status).toBe(401);
      expect((await ask('elv_bot_wrong-2')).status).toBe(401);
      const limited = await ask(stack.keys['flood-bot']!);
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBe('10');
      expect(((await limited.json()) as { error: { code: string; field: string } }).error).toMatchObject({
        code: 'too_many_requests',
        field: 'authorization',
      });
      now += 10_000;
      // Authenticated: the elevation is simply not there (Temporal answers), not 401 or 429.
      expect((await ask(stack.keys['flood-bot']!)).status).toBe(404);
      // And a success takes nothing: the same key again still works.
      expect((await ask(stack.keys['flood-bot']!)).status).toBe(404);
    } finally {
      s.close();
    }
  });

  it('when a network keeps bringing unknown approval links and console sign-ins, then the pages answer 429 with Retry-After before looking anything up, and failures another site caused do not count', async () => {
    const limit = new AuthFailureLimit({ burst: 2, perMinute: 6 });
    const never = () => Promise.reject(new Error('the provider is never reached on these paths'));
    const app = createApp({
      services,
      healthChecks: {},
      logger: testLogger(),
      trustProxy: 'loopback',
      authFailureLimit: limit,
      routers: [
        approvalRoutes({
          ...services,
          stepUp: never,
          singleUse: stack.stores.singleUse,
          publicUrl: 'http://127.0.0.1',
          slackBound: false,
          logger: testLogger(),
          authFailureLimit: limit,
        }),
      ],
      adminConsole: adminConsole({
        ...services,
        policy: stack.policy,
        ...stack.stores,
        settings: {
          groupsClaim: 'groups',
          groups: ['admins'],
          idleMinutes: 30,
          maxHours: 8,
          recheckMinutes: 5,
        },
        login: never,
        publicUrl: 'http://127.0.0.1',
        logger: testLogger(),
        authFailureLimit: limit,
      }),
    });
    const s = await new Promise<Server>((resolve) => {
      const x = app.listen(0, '127.0.0.1', () => resolve(x));
    });
    try {
      const base = `http://127.0.0.1:${(s.address() as { port: number }).port}`;
      const from = (network: string, site?: string) => ({
        'x-forwarded-for': `${network}.9`,
        ...(site ? { 'sec-fetch-site': site } : {}),
      });
      const ticket = (headers: Record<string, string>) =>
        fetch(`${base}/approvals/start?ticket=${'t'.repeat(43)}`, { headers });
      const callback = (headers: Record<string, string>) =>
        fetch(`${base}/admin/callback?code=x&state=${'s'.repeat(43)}`, { headers });

      // Pages another site navigated browsers to: refused, never rate-limited.
      for (let i = 0; i < 10; i++) expect((await ticket(from('198.51.100', 'cross-site'))).status).toBe(400);
      // A client that says nothing: two failures, then 429 on both kinds of page.
      expect((await ticket(from('192.0.2'))).status).toBe(400);
      expect((await callback(from('192.0.2'))).status).toBe(400);
      for (const res of [await ticket(from('192.0.2')), await callback(from('192.0.2'))]) {
        expect(res.status).toBe(429);
        expect(res.headers.get('retry-after')).toBe('10');
        expect(await res.text()).toContain('Too many');
      }
      expect((await ticket(from('198.51.100', 'cross-site'))).status).toBe(400);
    } finally {
      s.close();
    }
  });
});
