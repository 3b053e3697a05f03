/**
 * The least-privilege report's computation over a fake elevation index: which roles are unused
 * in which window, which are always given back within seconds, the narrower list recommended and
 * the words that explain it; what it asks the index for; and the errors a caller can meet.
 */
import { describe, expect, it } from 'vitest';
import {
  buildLeastPrivilegeReport,
  createLeastPrivilegeReporter,
  duration,
} from '../../domain/bots/least-privilege.js';
import { ApiError } from '../../domain/errors.js';
import type { RoleUsageQuery, RoleUsageRow } from '../../store/least-privilege-query.js';

const NOW = new Date('2026-06-01T12:00:00.000Z');
const DAY = 24 * 3600 * 1000;
const daysAgo = (d: number) => new Date(NOW.getTime() - d * DAY).toISOString();

const BOTS = [
  {
    id: 'etl',
    owner: 'ann@example.org',
    team: 'data',
    environment: 'prod',
    roles: ['read', 'write', 'admin', 'ops'],
  },
  { id: 'ci', owner: 'bob@example.org', team: 'platform', environment: 'prod', roles: ['deploy'] },
];

/** A usage row: requests per window (30, 60, 90 days) and held-time figures. */
function row(botId: string, roleId: string, over: Partial<RoleUsageRow>): RoleUsageRow {
  return {
    botId,
    roleId,
    firstRequestedAt: daysAgo(200),
    lastRequestedAt: daysAgo(1),
    requests: [0, 0, 0],
    grants: 0,
    quickReturns: 0,
    medianHeldMs: null,
    maxHeldMs: null,
    ...over,
  };
}

/** A fake index that answers `rows` (or fails) and keeps the queries it was asked. */
function fakeIndex(rows: RoleUsageRow[] | Error) {
  const queries: RoleUsageQuery[] = [];
  return {
    queries,
    elevations: {
      roleUsage: (q: RoleUsageQuery) => {
        queries.push(q);
        return rows instanceof Error ? Promise.reject(rows) : Promise.resolve(rows);
      },
    },
  };
}

const silent = { error: () => undefined };

describe('the least-privilege report', () => {
  const rows = [
    // Used in every window, held for minutes.
    row('etl', 'read', {
      requests: [12, 20, 31],
      grants: 31,
      quickReturns: 0,
      medianHeldMs: 240_000,
      maxHeldMs: 900_000,
    }),
    // Only 40 days ago: unused in 30 days, kept (used in 60 and 90); every grant given back in seconds.
    row('etl', 'write', {
      lastRequestedAt: daysAgo(40),
      requests: [0, 2, 2],
      grants: 2,
      quickReturns: 2,
      medianHeldMs: 4200,
      maxHeldMs: 6000,
    }),
    // Last asked 100 days ago: unused in every window.
    row('etl', 'admin', { lastRequestedAt: daysAgo(100), firstRequestedAt: daysAgo(300) }),
    // `ops` has no row: never requested. A role the policy no longer allows, and an unknown bot.
    row('etl', 'retired', { firstRequestedAt: daysAgo(400), requests: [5, 5, 5] }),
    row('ghost', 'read', { requests: [9, 9, 9] }),
    // Some grants held longer than the threshold: not a quick return.
    row('ci', 'deploy', {
      requests: [3, 3, 3],
      grants: 3,
      quickReturns: 2,
      medianHeldMs: 2000,
      maxHeldMs: 90_000,
    }),
  ];
  const report = buildLeastPrivilegeReport(BOTS, rows, { now: NOW, quickReturnSeconds: 30 });
  const etl = report.bots[0]!;
  const ci = report.bots[1]!;

  it('when roles go unrequested, then each window lists exactly the allowed roles without a request in it', () => {
    expect(report.bots.map((b) => b.botId)).toEqual(['etl', 'ci']);
    expect(etl.unused).toEqual({
      last30Days: ['write', 'admin', 'ops'],
      last60Days: ['admin', 'ops'],
      last90Days: ['admin', 'ops'],
    });
    expect(ci.unused).toEqual({ last30Days: [], last60Days: [], last90Days: [] });
  });

  it('when a role was not requested in 90 days, then the recommended list drops it and says why', () => {
    expect(etl.allowedRoles).toEqual(['read', 'write', 'admin', 'ops']);
    expect(etl.recommendedRoles).toEqual(['read', 'write']);
    expect(etl.removable).toEqual(['admin', 'ops']);
    const byRole = Object.fromEntries(etl.roles.map((r) => [r.roleId, r]));
    expect(byRole.ops).toMatchObject({ lastRequestedAt: null, recommendation: 'remove', grants: 0 });
    expect(byRole.ops!.reason).toBe('never requested: remove it from the bot’s roles');
    expect(byRole.admin!.lastRequestedAt).toBe(daysAgo(100));
    expect(byRole.admin!.reason).toBe(
      `not requested in 90 days (last requested ${daysAgo(100).slice(0, 10)}): remove it from the bot’s roles`,
    );
    expect(byRole.read!.recommendation).toBe('keep');
    expect(byRole.read!.reason).toBe(
      `requested 31 times in 90 days, last requested ${daysAgo(1).slice(0, 10)}; held 4 min per grant (median of 31)`,
    );
  });

  it('when every grant was given back within the threshold, then the role is a quick return; one slow grant is enough to not be', () => {
    expect(etl.quickReturn).toEqual(['write']);
    const write = etl.roles.find((r) => r.roleId === 'write')!;
    expect(write).toMatchObject({
      quickReturn: true,
      recommendation: 'keep',
      requests: { last30Days: 0, last60Days: 2, last90Days: 2 },
      medianHeldMs: 4200,
    });
    expect(write.reason).toContain('(none in the last 30 days)');
    expect(write.reason).toContain('all 2 grants were given back within 30 s (median 4.2 s)');
    expect(ci.quickReturn).toEqual([]);
    expect(ci.roles[0]!.quickReturn).toBe(false);
    // Without grants nothing was given back: never a quick return.
    expect(etl.roles.find((r) => r.roleId === 'ops')!.quickReturn).toBe(false);
  });

  it('when rows name roles or bots the policy does not allow, then they are left out, but count for the first request', () => {
    expect(etl.roles.map((r) => r.roleId)).toEqual(['read', 'write', 'admin', 'ops']);
    expect(etl.firstRequestedAt).toBe(daysAgo(400));
    expect(report.bots.some((b) => b.botId === 'ghost')).toBe(false);
  });

  it('states its windows, threshold and time', () => {
    expect(report).toMatchObject({
      generatedAt: NOW.toISOString(),
      windowsDays: [30, 60, 90],
      reviewWindowDays: 90,
      quickReturnSeconds: 30,
    });
  });
});

describe('the reporter', () => {
  it('when asked for one bot, then the index is asked for that bot, with windows ending now and the threshold in ms', async () => {
    const fake = fakeIndex([row('ci', 'deploy', { requests: [1, 1, 1] })]);
    const reporter = createLeastPrivilegeReporter({
      policy: { bots: BOTS },
      elevations: fake.elevations,
      logger: silent,
      clock: () => NOW,
    });
    const report = await reporter.report({ botId: 'ci', quickReturnSeconds: 5 });
    expect(fake.queries).toEqual([
      {
        since: [daysAgo(30), daysAgo(60), daysAgo(90)],
        heldSince: daysAgo(90),
        now: NOW.toISOString(),
        quickReturnMs: 5000,
        botId: 'ci',
      },
    ]);
    expect(report.bots.map((b) => b.botId)).toEqual(['ci']);
    expect(report.quickReturnSeconds).toBe(5);
  });

  it('when no threshold is given, then it is 30 seconds, and every bot is reported', async () => {
    const fake = fakeIndex([]);
    const reporter = createLeastPrivilegeReporter({
      policy: { bots: BOTS },
      elevations: fake.elevations,
      logger: silent,
      clock: () => NOW,
    });
    const report = await reporter.report();
    expect(fake.queries[0]).not.toHaveProperty('botId');
    expect(fake.queries[0]!.quickReturnMs).toBe(30_000);
    expect(report.bots.map((b) => b.recommendedRoles)).toEqual([[], []]);
  });

  it('when the bot is unknown, the threshold out of range, or the store down, then the caller gets a coded error', async () => {
    const reporter = (rows: RoleUsageRow[] | Error) =>
      createLeastPrivilegeReporter({
        policy: { bots: BOTS },
        elevations: fakeIndex(rows).elevations,
        logger: silent,
        clock: () => NOW,
      });
    const failure = (p: Promise<unknown>) =>
      p.then(
        () => undefined,
        (err: unknown) => (err instanceof ApiError ? { code: err.code, field: err.field } : err),
      );
    expect(await failure(reporter([]).report({ botId: 'nobody' }))).toEqual({
      code: 'not_found',
      field: 'botId',
    });
    for (const quickReturnSeconds of [0, 3601, 1.5]) {
      expect(await failure(reporter([]).report({ quickReturnSeconds }))).toEqual({
        code: 'invalid_request',
        field: 'quickReturnSeconds',
      });
    }
    expect(await failure(reporter(new Error('disk gone')).report())).toEqual({
      code: 'service_unavailable',
      field: undefined,
    });
  });
});

describe('held time in words', () => {
  it('picks a unit people read at a glance', () => {
    expect([850, 4200, 45_000, 720_000, 12_600_000].map(duration)).toEqual([
      '850 ms',
      '4.2 s',
      '45 s',
      '12 min',
      '3.5 h',
    ]);
  });
});
