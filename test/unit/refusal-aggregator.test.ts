/**
 * The pieces that bound what unauthenticated callers cost: the refusal aggregator (what reaches
 * the audit trail), the per-network limit of failed authentications, and the header text built
 * from identity provider values.
 */
import { describe, expect, it } from 'vitest';
import {
  RefusalAggregator,
  boundRefusalData,
  sourceNetwork,
  type RefusalSummary,
} from '../../domain/audit/refusal-aggregator.js';
import type { Request } from 'express';
import { AuthFailureLimit, countFailure } from '../../server/auth-failure-limit.js';
import { headerText } from '../../server/approvals.js';

function aggregator(opts: { maxKeys?: number } = {}) {
  let now = Date.parse('2026-01-01T00:00:00Z');
  const summaries: RefusalSummary[] = [];
  const agg = new RefusalAggregator({
    summarize: (s) => {
      summaries.push(s);
      return Promise.resolve();
    },
    clock: () => new Date(now),
    windowMs: 60_000,
    timer: false,
    ...opts,
  });
  return { agg, summaries, advance: (ms: number) => (now += ms) };
}

const refusal = (ip: string, extra: Record<string, unknown> = {}) => ({
  reason: 'missing',
  method: 'GET',
  path: '/v1/elevations/:id',
  ip,
  ...extra,
});

describe('RefusalAggregator', () => {
  it('when the same refusal repeats in a window, then the first is recorded and the window ends with one summary counting all', async () => {
    const { agg, summaries, advance } = aggregator();
    expect(agg.admit('auth.refused', refusal('203.0.113.5'))).toBe(true);
    for (let i = 0; i < 999; i++) {
      expect(agg.admit('auth.refused', refusal(`203.0.113.${i % 250}`))).toBe(false);
    }
    await agg.sweep();
    expect(summaries).toEqual([]);
    advance(60_000);
    await agg.sweep();
    expect(summaries).toEqual([
      expect.objectContaining({
        of: 'auth.refused',
        reason: 'missing',
        route: '/v1/elevations/:id',
        network: '203.0.113.0/24',
        count: 1000,
      }),
    ]);
    expect(agg.size).toBe(0);
    // A new window records the first again.
    expect(agg.admit('auth.refused', refusal('203.0.113.5'))).toBe(true);
  });

  it('when a refusal happens once in its window, then no summary is written for it', async () => {
    const { agg, summaries } = aggregator();
    expect(agg.admit('auth.refused', refusal('198.51.100.1'))).toBe(true);
    await agg.flush();
    expect(summaries).toEqual([]);
  });

  it('when refusals differ in reason, route, network or credential, then each kind is recorded once', () => {
    const { agg } = aggregator();
    expect(agg.admit('auth.refused', refusal('203.0.113.1'))).toBe(true);
    expect(agg.admit('auth.refused', refusal('203.0.114.1'))).toBe(true);
    expect(agg.admit('auth.refused', refusal('203.0.113.1', { reason: 'malformed' }))).toBe(true);
    expect(agg.admit('auth.refused', refusal('203.0.113.1', { path: '/metrics' }))).toBe(true);
    expect(agg.admit('auth.refused', refusal('203.0.113.1', { credential: 'abc' }))).toBe(true);
    expect(agg.admit('approval.refused', refusal('203.0.113.1'))).toBe(true);
    expect(agg.admit('auth.refused', refusal('203.0.113.1', { credential: 'abc' }))).toBe(false);
  });

  it('when an attacker varies every refusal, then at most maxKeys are recorded per window and the rest go to one overflow summary', async () => {
    const { agg, summaries } = aggregator({ maxKeys: 50 });
    let recorded = 0;
    for (let i = 0; i < 10_000; i++) {
      if (agg.admit('auth.refused', refusal('203.0.113.1', { credential: `k${i}` }))) recorded++;
    }
    expect(recorded).toBe(50);
    expect(agg.size).toBe(51);
    await agg.flush();
    expect(summaries).toEqual([
      expect.objectContaining({ reason: '*', route: '*', network: '*', count: 9950, overflow: true }),
    ]);
  });

  it('when key fields are long or odd, then they become bounded labels', async () => {
    const { agg, summaries } = aggregator();
    const odd = { reason: 'é'.repeat(5000), path: `/v1/${'A'.repeat(5000)}`, credential: 'c'.repeat(500) };
    agg.admit('auth.refused', refusal('not an ip', odd));
    agg.admit('auth.refused', refusal('not an ip', odd));
    await agg.flush();
    expect(summaries[0]).toMatchObject({ reason: 'other', route: 'other', network: 'unknown', count: 2 });
    expect(summaries[0]!.credential).toHaveLength(40);
  });
});

describe('boundRefusalData', () => {
  it('when a refusal carries attacker-sized values, then every string is cut and nesting is bounded', () => {
    const data = boundRefusalData({
      origin: 'o'.repeat(17_000),
      list: Array.from({ length: 1000 }, () => 'x'.repeat(1000)),
      deep: { a: { b: { c: { d: 'x' } } } },
      ...Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`f${i}`, i])),
    });
    const text = JSON.stringify(data);
    expect(text.length).toBeLessThan(8000);
    expect(data.origin).toBe(`${'o'.repeat(200)}…`);
    expect((data.list as string[]).length).toBe(20);
    expect(data.deep).toEqual({ a: { b: '[omitted]' } });
    expect(Object.keys(data)).toHaveLength(20);
  });
});

describe('sourceNetwork', () => {
  it.each([
    ['203.0.113.77', '203.0.113.0/24'],
    ['::ffff:203.0.113.77', '203.0.113.0/24'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['::1', '0:0:0:0::/64'],
    ['fe80::1%eth0', 'fe80:0:0:0::/64'],
    ['garbage', 'unknown'],
    [undefined, 'unknown'],
  ])('when the caller is %s, then the network is %s', (ip, network) => {
    expect(sourceNetwork(ip)).toBe(network);
  });
});

describe('AuthFailureLimit', () => {
  it('when a network fails more than its burst, then it must wait for a token to grow back, and other networks are not affected', () => {
    let now = 0;
    const limit = new AuthFailureLimit({ burst: 3, perMinute: 6 }, () => new Date(now));
    for (let i = 0; i < 3; i++) {
      expect(limit.retryAfter('203.0.113.9')).toBe(0);
      limit.fail(`203.0.113.${i}`);
    }
    expect(limit.retryAfter('203.0.113.200')).toBe(10);
    expect(limit.retryAfter('198.51.100.1')).toBe(0);
    now += 5_000;
    expect(limit.retryAfter('203.0.113.9')).toBe(5);
    now += 5_000;
    expect(limit.retryAfter('203.0.113.9')).toBe(0);
    // Refilled, never above the burst.
    now += 3_600_000;
    for (let i = 0; i < 3; i++) limit.fail('203.0.113.9');
    expect(limit.retryAfter('203.0.113.9')).toBeGreaterThan(0);
  });

  it('when more networks fail than it tracks, then the one that failed longest ago is forgotten', () => {
    const limit = new AuthFailureLimit({ burst: 1, perMinute: 1, maxSources: 100 });
    for (let i = 0; i < 1000; i++) limit.fail(`10.${Math.floor(i / 256)}.${i % 256}.1`);
    expect(limit.size).toBe(100);
    expect(limit.retryAfter('10.0.0.1')).toBe(0);
    expect(limit.retryAfter('10.3.231.1')).toBeGreaterThan(0);
  });

  it("when another site makes browsers fail (Sec-Fetch-Site cross-site or same-site), then the failures do not spend the network's budget", () => {
    const limit = new AuthFailureLimit({ burst: 2, perMinute: 1 });
    const from = (site?: string) =>
      ({ ip: '203.0.113.4', get: (h: string) => (h === 'sec-fetch-site' ? site : undefined) }) as Request;
    for (let i = 0; i < 50; i++) {
      countFailure(limit, from('cross-site'));
      countFailure(limit, from('same-site'));
    }
    expect(limit.retryAfter('203.0.113.4')).toBe(0);
    // A client that says nothing (curl, a script) or the console itself does spend it.
    countFailure(limit, from(undefined));
    countFailure(limit, from('same-origin'));
    expect(limit.retryAfter('203.0.113.4')).toBeGreaterThan(0);
  });

  it('when the burst is 0, then nothing is limited', () => {
    const limit = new AuthFailureLimit({ burst: 0, perMinute: 1 });
    for (let i = 0; i < 100; i++) limit.fail('203.0.113.1');
    expect(limit.retryAfter('203.0.113.1')).toBe(0);
    expect(limit.size).toBe(0);
  });
});

describe('headerText', () => {
  it('when a message carries identity provider values outside Latin-1, quotes or backslashes, then only printable ASCII is left', () => {
    const text = headerText('amr ["pwd","☃"] acr "urn:\\x" \u2028 ü');
    expect(text).toMatch(/^[\x20-\x7e]*$/);
    expect(text).not.toMatch(/["\\]/);
    expect(headerText('x'.repeat(1000))).toHaveLength(200);
  });
});
