/**
 * A bot's baseline (`core/rules/bot-baseline.ts`, read through `baseline-window.ts`, keyed by
 * `baseline-keys.ts`): what one observation adds, that old observations stop counting, that the
 * stored document stays small however long the history, that an escalated request's novelties
 * count only once approved, and that the same observations always give the same document.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BASELINE_SETTINGS,
  type BaselineObservation,
  type BaselineSettings,
} from '../../core/model/risk.js';
import { networkOf, normalizeRef, userAgentKey } from '../../core/rules/baseline-keys.js';
import {
  hourProfile,
  hourlyRate,
  noveltyRate,
  total,
  usualHours,
  windowView,
} from '../../core/rules/baseline-window.js';
import {
  BASELINE_LIMITS,
  DAY_MS,
  HOUR_MS,
  MINUTE_MS,
  emptyBaseline,
  observe,
  type BotBaseline,
} from '../../core/rules/bot-baseline.js';

const SETTINGS = DEFAULT_BASELINE_SETTINGS;
/** Monday 6 January 2025, 00:00 UTC. */
const T0 = Date.UTC(2025, 0, 6);
const BOT = 'nightly-etl';

type Requested = Extract<BaselineObservation, { kind: 'requested' }>;

function request(at: number, over: Partial<Requested> = {}): Requested {
  return {
    kind: 'requested',
    botId: BOT,
    roleId: 'etl-read',
    at,
    durationSeconds: 600,
    ip: '10.1.2.3',
    userAgent: 'elevate-client/2.3.1 (python 3.11)',
    authMethod: 'api_key',
    approvalChain: 'owners:1',
    ...over,
  };
}

function fold(observations: BaselineObservation[], settings: BaselineSettings = SETTINGS): BotBaseline {
  return observations.reduce((b, o) => observe(b, o, settings), emptyBaseline(BOT));
}

/** Two requests a night at 02:00 and 02:20 UTC for `days` days from T0. */
function nights(days: number, over: Partial<Requested> = {}): Requested[] {
  return Array.from({ length: days }, (_, d) => [
    request(T0 + d * DAY_MS + 2 * HOUR_MS, over),
    request(T0 + d * DAY_MS + 2 * HOUR_MS + 20 * MINUTE_MS, { roleId: 'etl-write', ...over }),
  ]).flat();
}

describe('baseline keys', () => {
  it('when addresses are IPv4, IPv6 or IPv4 written as IPv6, then they key by /24 and /48', () => {
    expect(networkOf('203.0.113.77')).toBe('203.0.113.0/24');
    expect(networkOf('2001:db8:abcd:12::1')).toBe('2001:db8:abcd::/48');
    expect(networkOf('2001:0DB8:00ab:ffff:0:0:0:1')).toBe('2001:db8:ab::/48');
    expect(networkOf('::ffff:198.51.100.9')).toBe('198.51.100.0/24');
    expect(networkOf('fe80::1%eth0')).toBe('fe80:0:0::/48');
  });

  it('when an address is missing or malformed, then it has no network', () => {
    expect([null, '', 'not-an-ip', '300.1.2.3', '1.2.3', '2001:db8::1::2', 'gggg::1'].map(networkOf)).toEqual(
      [null, null, null, null, null, null, null],
    );
  });

  it('when user agents differ only in minor or patch version, then they share a key; a major version or a product does not', () => {
    expect(userAgentKey('elevate-client/2.3.1 (python 3.11)')).toEqual({
      key: 'elevate-client/2',
      family: 'elevate-client',
    });
    expect(userAgentKey('elevate-client/2.9.0')?.key).toBe('elevate-client/2');
    expect(userAgentKey('elevate-client/3.0.0')?.key).toBe('elevate-client/3');
    expect(userAgentKey('curl/8.5.0')?.key).toBe('curl/8');
    expect(userAgentKey('   ')).toBeNull();
  });

  it('when refs are tags or pull requests, then they key by their kind; branches by their name', () => {
    expect(normalizeRef('refs/tags/v1.2.3')).toBe('refs/tags/*');
    expect(normalizeRef('refs/pull/42/merge')).toBe('refs/pull/*');
    expect(normalizeRef('refs/heads/main')).toBe('refs/heads/main');
  });
});

describe('observe', () => {
  it('when requests come in, then the day, its hours, the network, client, claims and roles are counted', () => {
    const b = fold(nights(2));
    expect(b.days.map((d) => [d.day, d.counts.requests, d.hours])).toEqual([
      [T0 / DAY_MS, 2, { '2': 2 }],
      [T0 / DAY_MS + 1, 2, { '2': 2 }],
    ]);
    expect(b.networks.map((n) => [n.key, n.count])).toEqual([['10.1.2.0/24', 4]]);
    expect(b.userAgents.map((u) => [u.key, u.count, u.example])).toEqual([
      ['elevate-client/2', 4, 'elevate-client/2.3.1 (python 3.11)'],
    ]);
    expect(b.claims.map((c) => [c.field, c.key])).toEqual([['authMethod', 'api_key']]);
    expect(b.roles.map((r) => [r.roleId, r.count, r.durations.length])).toEqual([
      ['etl-read', 2, 2],
      ['etl-write', 2, 2],
    ]);
    expect(b.firstRequestAt).toBe(T0 + 2 * HOUR_MS);
  });

  it('when a bot shows a second network, then that request counts as news; its first value never does', () => {
    const b = fold([...nights(2), request(T0 + 2 * DAY_MS + 2 * HOUR_MS, { ip: '203.0.113.5' })]);
    expect(b.days.map((d) => d.counts.newNetwork ?? 0)).toEqual([0, 0, 1]);
    // The second role (etl-write) on the first night is news too: only the first value is not.
    expect(b.days.map((d) => d.counts.newRole ?? 0)).toEqual([1, 0, 0]);
  });

  it('when refusals, decisions and ends arrive, then the day counts them and the last hour keeps refusals', () => {
    const at = T0 + 2 * HOUR_MS;
    const b = fold([
      request(at),
      { kind: 'refused', botId: BOT, at: at + MINUTE_MS, reason: 'role_not_allowed' },
      { kind: 'decided', botId: BOT, at: at + 2 * MINUTE_MS, outcome: 'approved' },
      {
        kind: 'ended',
        botId: BOT,
        at: at + 5 * MINUTE_MS,
        roleId: 'etl-read',
        heldSeconds: 180,
        givenBack: true,
      },
    ]);
    expect(b.days[0]?.counts).toEqual({ requests: 1, refused: 1, approved: 1, ended: 1, givenBack: 1 });
    expect(b.recentRefusals).toEqual([[Math.floor((at + MINUTE_MS) / MINUTE_MS), 1]]);
  });

  it('when an observation belongs to another bot, then the baseline is returned unchanged', () => {
    const b = fold(nights(1));
    expect(observe(b, request(T0 + DAY_MS, { botId: 'other' }), SETTINGS)).toBe(b);
  });

  it('when observing, then the baseline given is never changed (a new one is returned)', () => {
    const b = fold(nights(3));
    const before = JSON.stringify(b);
    observe(b, request(T0 + 3 * DAY_MS + 2 * HOUR_MS, { ip: '198.51.100.1', roleId: 'new-role' }), SETTINGS);
    observe(b, { kind: 'refused', botId: BOT, at: T0 + 3 * DAY_MS, reason: 'x' }, SETTINGS);
    expect(JSON.stringify(b)).toBe(before);
  });

  it('when the same observations are folded twice, then the documents are identical', () => {
    const observations = [...nights(10), request(T0 + 10 * DAY_MS, { ip: '2001:db8:1::5', roleId: 'x' })];
    expect(JSON.stringify(fold(observations))).toBe(JSON.stringify(fold([...observations])));
  });

  it('when the baseline goes through JSON, then it reads back equal', () => {
    const b = fold(nights(5));
    expect(JSON.parse(JSON.stringify(b))).toEqual(b);
  });
});

describe('the window', () => {
  it('when observations are older than the window, then they stop counting and their values are forgotten', () => {
    const settings = { ...SETTINGS, windowDays: 10 };
    const early = nights(3, { ip: '192.0.2.10', roleId: 'old-role' });
    const late = Array.from({ length: 5 }, (_, k) => request(T0 + (20 + k) * DAY_MS + 2 * HOUR_MS));
    const b = fold([...early, ...late], settings);
    expect(b.days.map((d) => d.day - T0 / DAY_MS)).toEqual([20, 21, 22, 23, 24]);
    expect(b.networks.map((n) => n.key)).toEqual(['10.1.2.0/24']);
    expect(b.roles.map((r) => r.roleId)).toEqual(['etl-read']);
    // Its current stretch of history starts again when the window had emptied.
    expect(b.firstRequestAt).toBe(T0 + 20 * DAY_MS + 2 * HOUR_MS);
  });

  it('when the baseline is read later without new observations, then only what is in the window then counts', () => {
    const b = fold(nights(14));
    const settings = { ...SETTINGS, windowDays: 10 };
    // The window is the last ten calendar days, today included: on day 14 (no request yet),
    // days 5 to 13 count.
    const end = T0 + 14 * DAY_MS;
    expect(windowView(b, end, settings).requests).toBe(2 * 9);
    expect(windowView(b, end + 5 * DAY_MS, settings).requests).toBe(2 * 4);
    expect(windowView(b, end + 9 * DAY_MS, settings).requests).toBe(0);
    expect(windowView(b, end, SETTINGS).requests).toBe(2 * 14);
  });

  it('when an observation is already older than the window, then it is ignored', () => {
    const b = fold(nights(40));
    expect(observe(b, request(T0 + 2 * HOUR_MS), SETTINGS)).toBe(b);
  });

  it('when a bot has enough requests over enough days, then its baseline counts; not before', () => {
    const b = fold(nights(10));
    expect(windowView(b, T0 + 5 * DAY_MS, SETTINGS).baselined).toBe(false);
    const at = T0 + 10 * DAY_MS;
    expect(windowView(b, at, SETTINGS)).toMatchObject({ requests: 20, baselined: true });
    expect(windowView(b, at, { ...SETTINGS, minRequests: 21 }).baselined).toBe(false);
    expect(windowView(b, at, { ...SETTINGS, minDays: 11 }).baselined).toBe(false);
  });

  it('when reading the profile, then hours, usual hours and the usual hourly rate come from the window', () => {
    const b = fold(nights(14));
    const view = windowView(b, T0 + 14 * DAY_MS + 2 * HOUR_MS, SETTINGS);
    const profile = hourProfile(view);
    expect(profile.total).toBe(28);
    expect(profile.byDay[2]).toBe(28);
    expect(usualHours(profile)).toEqual({ from: 2, to: 3, weekdays: false });
    expect(hourlyRate(view, 3.8)).toEqual({ typical: 2, usualPeak: 2, days: 14 });
  });
});

describe('size', () => {
  /** A stream as varied as it gets: a new address, client, claim and role on every request. */
  function chaos(days: number, perDay: number): BaselineObservation[] {
    const out: BaselineObservation[] = [];
    let n = 0;
    for (let d = 0; d < days; d++) {
      for (let k = 0; k < perDay; k++) {
        n++;
        const at = T0 + d * DAY_MS + Math.floor((k * DAY_MS) / perDay);
        out.push(
          request(at, {
            ip: `${n % 223}.${(n * 7) % 256}.${(n * 13) % 256}.1`,
            userAgent: `client-${n}/${n}.0.0 ${'x'.repeat(300)}`,
            authMethod: 'workload_identity',
            workload: {
              issuer: `https://issuer-${n}.example`,
              subject: `s-${n}`,
              repository: `org/repo-${n}`,
              workflow: `wf-${n}.yml`,
              ref: `refs/heads/b-${n}`,
              runnerEnvironment: `runner-${n}`,
              serviceAccount: `ns/sa-${n}`,
            },
            roleId: `role-${n}`,
            approvalChain: `chain-${n}`,
            elevationId: `e-${n}`,
            riskLevel: n % 3 === 0 ? 'high' : 'low',
          }),
          { kind: 'refused', botId: BOT, at: at + 1, reason: 'x' },
          { kind: 'decided', botId: BOT, at: at + 2, outcome: 'denied' },
        );
      }
    }
    return out;
  }

  it('when the history is long and every request brings new values, then the document stays bounded', () => {
    const sixty = JSON.stringify(fold(chaos(60, 24))).length;
    const twoHundred = fold(chaos(200, 24));
    const size = JSON.stringify(twoHundred).length;
    expect(size).toBeLessThan(24_000);
    expect(size).toBeLessThan(sixty * 1.1);
    expect(twoHundred.networks.length).toBeLessThanOrEqual(BASELINE_LIMITS.networks);
    expect(twoHundred.userAgents.length).toBeLessThanOrEqual(BASELINE_LIMITS.userAgents);
    expect(twoHundred.roles.length).toBeLessThanOrEqual(BASELINE_LIMITS.roles);
    expect(twoHundred.claims.filter((c) => c.field === 'ref').length).toBeLessThanOrEqual(
      BASELINE_LIMITS.claimsPerField,
    );
    expect(twoHundred.pending.length).toBeLessThanOrEqual(BASELINE_LIMITS.pending);
    expect(twoHundred.days.length).toBeLessThanOrEqual(SETTINGS.windowDays);
  });

  it('when a bot behaves as bots do, then its document is a few kilobytes', () => {
    expect(JSON.stringify(fold(nights(90))).length).toBeLessThan(4_000);
  });
});

describe('escalated requests', () => {
  const history = nights(14);
  const at = T0 + 14 * DAY_MS + 15 * HOUR_MS;
  const escalated = request(at, { ip: '203.0.113.9', elevationId: 'e-1', riskLevel: 'high' });

  it('when a request was escalated, then its values are learnt but its hour and its news wait for the decision', () => {
    const b = fold([...history, escalated]);
    const today = b.days.at(-1);
    expect(today?.counts).toEqual({ requests: 1 });
    expect(today?.hours).toEqual({});
    expect(b.networks.map((n) => n.key)).toContain('203.0.113.0/24');
    expect(b.pending).toEqual([{ elevationId: 'e-1', at, counters: ['newNetwork'] }]);
  });

  it('when the escalated request is approved, then its hour and news count as usual', () => {
    const b = fold([
      ...history,
      escalated,
      { kind: 'decided', botId: BOT, at: at + MINUTE_MS, outcome: 'approved', elevationId: 'e-1' },
    ]);
    expect(b.days.at(-1)?.counts).toEqual({ requests: 1, approved: 1, newNetwork: 1 });
    expect(b.days.at(-1)?.hours).toEqual({ '15': 1 });
    expect(b.pending).toEqual([]);
  });

  it('when the escalated request is denied, then its hour and news never count', () => {
    const b = fold([
      ...history,
      escalated,
      { kind: 'decided', botId: BOT, at: at + MINUTE_MS, outcome: 'denied', elevationId: 'e-1' },
    ]);
    expect(b.days.at(-1)?.counts).toEqual({ requests: 1, denied: 1 });
    expect(total(windowView(b, at + HOUR_MS, SETTINGS), 'newNetwork')).toBe(0);
    expect(b.pending).toEqual([]);
  });

  it('when a request was denied by its score (critical), then it still counts towards the rate', () => {
    const b = fold([...history, request(at, { riskLevel: 'critical', elevationId: 'e-2' })]);
    expect(b.days.at(-1)?.counts.requests).toBe(1);
    expect(b.recentRequests).toEqual([[Math.floor(at / MINUTE_MS), 1]]);
  });

  it('when news count, then the novelty rate leaves out the first days of history once there is enough after them', () => {
    const b = fold([...nights(20), request(T0 + 20 * DAY_MS, { ip: '198.51.100.7' })]);
    const view = windowView(b, T0 + 20 * DAY_MS + HOUR_MS, SETTINGS);
    // The second role on the first night was news, in the first seven days; the new network
    // came after them. After them: 13 nights of two requests, and the new one.
    expect(total(view, 'newRole')).toBe(1);
    expect(noveltyRate(view, 'newRole')).toBeCloseTo(0.5 / (2 * 13 + 1 + 1), 6);
    expect(noveltyRate(view, 'newNetwork')).toBeCloseTo(1.5 / (2 * 13 + 1 + 1), 6);
    // With too few requests after them, the whole window counts.
    const early = windowView(fold(nights(8)), T0 + 8 * DAY_MS, SETTINGS);
    expect(noveltyRate(early, 'newRole')).toBeCloseTo(1.5 / (2 * 8 + 1), 6);
  });
});
