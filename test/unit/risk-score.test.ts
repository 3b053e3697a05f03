/**
 * The inline risk score (`core/rules/risk-score.ts`) against a bot's baseline: every reason
 * (its code, that it appears when it should and not when it should not, its sentence), the
 * static factors' ceiling, the levels, the window, and determinism.
 */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BASELINE_SETTINGS,
  DEFAULT_RISK_THRESHOLDS,
  type BaselineObservation,
  type RiskAssessment,
  type RiskReasonCode,
  type ScoringRequest,
} from '../../core/model/risk.js';
import {
  DAY_MS,
  HOUR_MS,
  MINUTE_MS,
  emptyBaseline,
  observe,
  type BotBaseline,
} from '../../core/rules/bot-baseline.js';
import { RISK_POINTS, scoreRequest, span } from '../../core/rules/risk-score.js';

const SETTINGS = DEFAULT_BASELINE_SETTINGS;
const THRESHOLDS = DEFAULT_RISK_THRESHOLDS;
/** Monday 6 January 2025, 00:00 UTC; day 27 is a Sunday. */
const T0 = Date.UTC(2025, 0, 6);
const DAY = 27;
const BOT = 'nightly-etl';

type Requested = Extract<BaselineObservation, { kind: 'requested' }>;

function requested(at: number, over: Partial<Requested> = {}): Requested {
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
    sensitivity: 'low',
    ...over,
  };
}

/** A nightly job: at 02:00 and 02:20 UTC every night for `days` nights, 10 and 20 minutes. */
function nightly(days = DAY, over: Partial<Requested> = {}): BotBaseline {
  let b = emptyBaseline(BOT);
  for (let d = 0; d < days; d++) {
    const night = T0 + d * DAY_MS + 2 * HOUR_MS;
    b = observe(b, requested(night, over), SETTINGS);
    b = observe(
      b,
      requested(night + 20 * MINUTE_MS, { roleId: 'etl-write', durationSeconds: 1200, ...over }),
      SETTINGS,
    );
  }
  return b;
}

/** The nightly job's usual request on day 27, with changes. */
function ask(over: Partial<ScoringRequest> = {}): ScoringRequest {
  return {
    botId: BOT,
    roleId: 'etl-read',
    at: T0 + DAY * DAY_MS + 2 * HOUR_MS + 5 * MINUTE_MS,
    durationSeconds: 600,
    ip: '10.1.2.40',
    userAgent: 'elevate-client/2.4.0 (python 3.11)',
    authMethod: 'api_key',
    environment: 'staging',
    sensitivity: 'low',
    approvalChain: 'owners:1',
    siblingLockedDown: false,
    ...over,
  };
}

const score = (baseline: BotBaseline, request: ScoringRequest) =>
  scoreRequest(baseline, request, SETTINGS, THRESHOLDS);
const reason = (a: RiskAssessment, code: RiskReasonCode) => a.reasons.find((r) => r.code === code);
const codes = (a: RiskAssessment) => a.reasons.map((r) => r.code);

describe('a normal request', () => {
  it('when a baselined bot asks as it always does, then nothing behavioural is said and it scores low', () => {
    const a = score(nightly(), ask());
    expect(a).toEqual({ score: 0, level: 'low', reasons: [], baselined: true });
  });

  it('when a patch or minor release of its client or a new address in its network is used, then that is no news', () => {
    const a = score(nightly(), ask({ ip: '10.1.2.250', userAgent: 'elevate-client/2.9.7' }));
    expect(a.score).toBe(0);
  });
});

describe('static factors', () => {
  it('when a production role of high sensitivity is asked by a bot without a baseline, then it stays at or under 30 and auto-approves', () => {
    const a = score(emptyBaseline(BOT), ask({ environment: 'prod', sensitivity: 'high' }));
    expect(a.baselined).toBe(false);
    expect(codes(a)).toEqual(['production_environment', 'role_sensitivity', 'no_baseline']);
    expect(a.score).toBeLessThanOrEqual(30);
    expect(a.level).toBe('low');
    expect(reason(a, 'production_environment')?.text).toBe('production environment prod');
    expect(reason(a, 'role_sensitivity')?.text).toBe('role etl-read is of high sensitivity');
    expect(reason(a, 'no_baseline')?.text).toBe('no baseline yet: 0 requests over 0 days (20 over 7 needed)');
  });

  it('when a medium role outside production is asked, then the static factors stay at or under 10', () => {
    expect(score(emptyBaseline(BOT), ask({ sensitivity: 'medium' })).score).toBeLessThanOrEqual(10);
    expect(score(nightly(), ask({ sensitivity: 'medium' })).score).toBeLessThanOrEqual(10);
  });

  it('when the environment is prod-something, then it is production; staging is not', () => {
    expect(codes(score(nightly(), ask({ environment: 'prod-eu' })))).toContain('production_environment');
    expect(codes(score(nightly(), ask({ environment: 'staging' })))).not.toContain('production_environment');
  });

  it('when a bot has too little history, then behaviour is not scored, however unusual', () => {
    const young = nightly(5);
    const a = score(
      young,
      ask({ at: T0 + 5 * DAY_MS + 14 * HOUR_MS, ip: '203.0.113.9', roleId: 'db-admin' }),
    );
    expect(a.baselined).toBe(false);
    expect(codes(a)).toEqual(['no_baseline']);
    expect(a.reasons[0]?.text).toBe('no baseline yet: 10 requests over 5 days (20 over 7 needed)');
  });
});

describe('each reason', () => {
  it('new_network: a network the bot never used in the window', () => {
    const a = score(nightly(), ask({ ip: '203.0.113.77' }));
    expect(reason(a, 'new_network')).toEqual({
      code: 'new_network',
      points: RISK_POINTS.newNetwork,
      text: 'first request from 203.0.113.0/24 in 30 days',
    });
  });

  it('new_network: the request after the first from a new network, the same day, still says so', () => {
    const b = observe(nightly(), requested(ask().at - 10 * MINUTE_MS, { ip: '203.0.113.1' }), SETTINGS);
    const r = reason(score(b, ask({ ip: '203.0.113.2' })), 'new_network');
    expect(r?.text).toBe('second request from 203.0.113.0/24, first seen 10 min ago');
    expect(r?.points).toBeGreaterThan(0);
    expect(r?.points).toBeLessThan(RISK_POINTS.newNetwork);
  });

  it('new_network: a bot that comes from a new network every time (hosted runners) is not told it does', () => {
    let b = emptyBaseline(BOT);
    for (let d = 0; d < DAY; d++) {
      for (let k = 0; k < 2; k++) {
        b = observe(b, requested(T0 + d * DAY_MS + (2 + k) * HOUR_MS, { ip: `20.${d}.${k}.1` }), SETTINGS);
      }
    }
    expect(reason(score(b, ask({ ip: '20.200.1.1' })), 'new_network')).toBeUndefined();
  });

  it('new_user_agent: another client, or a new major version of its own', () => {
    const other = reason(score(nightly(), ask({ userAgent: 'curl/8.5.0' })), 'new_user_agent');
    expect(other).toEqual({
      code: 'new_user_agent',
      points: RISK_POINTS.newUserAgent.family,
      text: 'first request with user agent curl/8.5.0 in 30 days',
    });
    const major = reason(score(nightly(), ask({ userAgent: 'elevate-client/3.0.0' })), 'new_user_agent');
    expect(major?.points).toBe(RISK_POINTS.newUserAgent.version);
    expect(major?.text).toBe(
      'user agent elevate-client/3.0.0 is a new major version; this bot used elevate-client/2.3.1 (python 3.11) in 30 days',
    );
  });

  it('unusual_hour: a time the bot never asks at, with the hours it does', () => {
    const a = score(nightly(), ask({ at: T0 + DAY * DAY_MS + 14 * HOUR_MS }));
    expect(reason(a, 'unusual_hour')).toEqual({
      code: 'unusual_hour',
      points: RISK_POINTS.unusualHour,
      text: 'requested at 14:00 UTC on a Sunday; this bot usually asks between 02:00 and 03:00',
    });
    expect(
      reason(score(nightly(), ask({ at: T0 + DAY * DAY_MS + 3 * HOUR_MS })), 'unusual_hour'),
    ).toBeUndefined();
  });

  it('new_role: a role the bot never asked for in the window', () => {
    const r = reason(score(nightly(), ask({ roleId: 'db-admin' })), 'new_role');
    expect(r?.text).toBe('role db-admin never requested by this bot in 30 days');
    expect(r?.points).toBe(RISK_POINTS.newRole.other);
  });

  it('new_role: a role more sensitive than any the bot used is a step up, worth the most', () => {
    const r = reason(score(nightly(), ask({ roleId: 'db-admin', sensitivity: 'critical' })), 'new_role');
    expect(r).toEqual({
      code: 'new_role',
      points: RISK_POINTS.newRole.stepUp,
      text: 'role db-admin never requested by this bot in 30 days; it is of critical sensitivity, its other roles at most low',
    });
  });

  it('long_duration: far longer than the role usually gets, with what it usually gets', () => {
    const a = score(nightly(), ask({ durationSeconds: 45 * 60 }));
    expect(reason(a, 'long_duration')).toEqual({
      code: 'long_duration',
      points: RISK_POINTS.longDuration,
      text: '45 min asked; this bot usually asks 10 min for this role',
    });
    expect(reason(score(nightly(), ask({ durationSeconds: 15 * 60 })), 'long_duration')).toBeUndefined();
  });

  it('rate_spike: many more requests in the last hour than its busiest hours', () => {
    let b = nightly();
    const start = T0 + DAY * DAY_MS + 2 * HOUR_MS;
    for (let k = 0; k < 11; k++) b = observe(b, requested(start + k * 4 * MINUTE_MS), SETTINGS);
    const a = score(b, ask({ at: start + 50 * MINUTE_MS }));
    expect(reason(a, 'rate_spike')).toEqual({
      code: 'rate_spike',
      points: RISK_POINTS.rateSpike,
      text: '12 requests in the last hour; usually about 2',
    });
    expect(reason(score(nightly(), ask()), 'rate_spike')).toBeUndefined();
  });

  it('refusal_burst: several refusals in the last hour', () => {
    let b = nightly();
    for (let k = 0; k < 4; k++) {
      b = observe(
        b,
        { kind: 'refused', botId: BOT, at: ask().at - (k + 1) * 5 * MINUTE_MS, reason: 'role_not_allowed' },
        SETTINGS,
      );
    }
    expect(reason(score(b, ask()), 'refusal_burst')).toEqual({
      code: 'refusal_burst',
      points: RISK_POINTS.refusalBurst[2],
      text: '4 refusals in the last hour',
    });
    const one = observe(
      nightly(),
      { kind: 'refused', botId: BOT, at: ask().at - MINUTE_MS, reason: 'x' },
      SETTINGS,
    );
    expect(reason(score(one, ask()), 'refusal_burst')).toBeUndefined();
  });

  it('new_workload: claims a CI bot never presented (workflow, repository, branch, runner)', () => {
    const claims = {
      issuer: 'https://token.actions.githubusercontent.com',
      subject: 'repo:acme/web:ref:refs/heads/main',
      repository: 'acme/web',
      workflow: 'deploy.yml',
      ref: 'refs/heads/main',
      runnerEnvironment: 'github-hosted',
    };
    const ci = nightly(DAY, { authMethod: 'workload_identity', workload: claims });
    const base = { authMethod: 'workload_identity' as const };
    const workflow = reason(
      score(ci, ask({ ...base, workload: { ...claims, workflow: 'exfil.yml' } })),
      'new_workload',
    );
    expect(workflow).toEqual({
      code: 'new_workload',
      points: RISK_POINTS.newWorkload.workflow,
      text: 'workload not seen in 30 days: workflow exfil.yml',
    });
    const two = reason(
      score(ci, ask({ ...base, workload: { ...claims, repository: 'evil/fork', ref: 'refs/heads/x' } })),
      'new_workload',
    );
    expect(two?.text).toBe('workload not seen in 30 days: repository evil/fork, ref refs/heads/x');
    expect(two?.points).toBe(
      Math.min(
        RISK_POINTS.newWorkloadMax,
        Math.round(RISK_POINTS.newWorkload.repository + RISK_POINTS.newWorkload.ref / 4),
      ),
    );
    expect(
      reason(score(ci, ask({ ...base, workload: { ...claims, ref: 'refs/tags/v9.9.9' } })), 'new_workload')
        ?.text,
    ).toBe('workload not seen in 30 days: ref refs/tags/*');
    expect(reason(score(ci, ask({ authMethod: 'api_key' })), 'new_workload')?.text).toBe(
      'workload not seen in 30 days: authentication api_key',
    );
    expect(reason(score(ci, ask({ ...base, workload: claims })), 'new_workload')).toBeUndefined();
  });

  it("approval_chain_changed: the role's approvers are not those of its last request", () => {
    expect(reason(score(nightly(), ask({ approvalChain: 'owners:2' })), 'approval_chain_changed')).toEqual({
      code: 'approval_chain_changed',
      points: RISK_POINTS.approvalChainChanged,
      text: "the role's approval chain changed since this bot last used it",
    });
  });

  it('sibling_locked_down: another bot of the owner is locked down, with or without a baseline', () => {
    const expected = {
      code: 'sibling_locked_down',
      points: RISK_POINTS.siblingLockedDown,
      text: 'another bot of the same owner is locked down',
    };
    expect(reason(score(nightly(), ask({ siblingLockedDown: true })), 'sibling_locked_down')).toEqual(
      expected,
    );
    expect(
      reason(score(emptyBaseline(BOT), ask({ siblingLockedDown: true })), 'sibling_locked_down'),
    ).toEqual(expected);
  });
});

describe('calibration', () => {
  const high = (a: RiskAssessment) => a.score > THRESHOLDS.high;

  it('when one strong sign comes alone on a staging role of low sensitivity, then the request is above high', () => {
    const late = T0 + DAY * DAY_MS + 2 * HOUR_MS + 50 * MINUTE_MS;
    let burst = nightly();
    for (let k = 0; k < 11; k++) burst = observe(burst, requested(late - (k + 1) * 4 * MINUTE_MS), SETTINGS);
    expect(high(score(nightly(), ask({ roleId: 'reports-admin', sensitivity: 'medium' })))).toBe(true);
    expect(high(score(nightly(), ask({ durationSeconds: 45 * 60 })))).toBe(true);
    expect(high(score(burst, ask({ at: late })))).toBe(true);
    // A stolen key: a new network at an hour the bot never asks at.
    expect(high(score(nightly(), ask({ ip: '203.0.113.9', at: T0 + DAY * DAY_MS + 14 * HOUR_MS })))).toBe(
      true,
    );
  });

  it('when one weak sign comes alone, even on a production role of high sensitivity, then the request is not above high', () => {
    const prod = { environment: 'prod', sensitivity: 'high' as const };
    for (const change of [
      { ip: '203.0.113.9' },
      { userAgent: 'elevate-client/3.0.0' },
      { userAgent: 'curl/8.5.0' },
      { at: T0 + DAY * DAY_MS + 14 * HOUR_MS },
      { durationSeconds: 20 * 60 },
    ]) {
      expect(
        score(nightly(DAY, { sensitivity: 'high' }), ask({ ...prod, ...change })).score,
      ).toBeLessThanOrEqual(THRESHOLDS.high);
    }
  });

  it('when signs pile up, then the score stops at 100', () => {
    const a = score(
      nightly(),
      ask({
        ip: '203.0.113.9',
        userAgent: 'curl/8.5.0',
        at: T0 + DAY * DAY_MS + 14 * HOUR_MS,
        roleId: 'db-admin',
        sensitivity: 'critical',
        environment: 'prod',
        siblingLockedDown: true,
      }),
    );
    expect(a.score).toBe(100);
    expect(a.level).toBe('critical');
    expect(a.reasons.reduce((s, r) => s + r.points, 0)).toBeGreaterThan(100);
  });
});

describe('levels and order', () => {
  it('when the score is above a threshold, then it is of that level; at it, of the level below', () => {
    const a = score(nightly(), ask({ ip: '203.0.113.9' }));
    const at = (t: Partial<typeof THRESHOLDS>) =>
      scoreRequest(nightly(), ask({ ip: '203.0.113.9' }), SETTINGS, { ...THRESHOLDS, ...t }).level;
    expect(a.score).toBe(RISK_POINTS.newNetwork);
    expect(at({ medium: a.score - 1 })).toBe('medium');
    expect(at({ medium: a.score })).toBe('low');
    expect(at({ medium: 10, high: a.score - 1 })).toBe('high');
    expect(at({ medium: 10, high: 20, critical: a.score - 1 })).toBe('critical');
  });

  it('when there are several reasons, then they come highest points first', () => {
    const a = score(
      nightly(),
      ask({ ip: '203.0.113.9', environment: 'prod', sensitivity: 'high', roleId: 'x' }),
    );
    const points = a.reasons.map((r) => r.points);
    expect(points).toEqual([...points].sort((x, y) => y - x));
    expect(codes(a)[0]).toBe('new_role');
    expect(a.score).toBe(
      Math.min(
        100,
        points.reduce((s, p) => s + p, 0),
      ),
    );
  });
});

describe('the window and determinism', () => {
  it('when the bot last used a network more than the window ago, then it is new again; within it, not', () => {
    const b = observe(nightly(), requested(T0 + 2 * DAY_MS + 5 * HOUR_MS, { ip: '198.51.100.4' }), SETTINGS);
    expect(codes(score(b, ask({ ip: '198.51.100.5', at: T0 + 31 * DAY_MS + 2 * HOUR_MS })))).toEqual([]);
    const later = observe(nightly(40), requested(T0 + 2 * DAY_MS + 5 * HOUR_MS), SETTINGS);
    expect(
      reason(score(later, ask({ ip: '198.51.100.5', at: T0 + 40 * DAY_MS + 2 * HOUR_MS })), 'new_network')
        ?.text,
    ).toBe('first request from 198.51.100.0/24 in 30 days');
  });

  it('when the bot has been silent longer than the window, then it has no baseline again', () => {
    const a = score(nightly(), ask({ at: T0 + (DAY + 31) * DAY_MS }));
    expect(a.baselined).toBe(false);
    expect(codes(a)).toEqual(['no_baseline']);
  });

  it('when the baseline is of another bot, then nothing of it is used', () => {
    expect(score(nightly(), ask({ botId: 'someone-else', roleId: 'db-admin' })).baselined).toBe(false);
  });

  it('when the same request is scored twice, then the results are equal and the baseline is untouched', () => {
    const b = nightly();
    const before = JSON.stringify(b);
    const request = ask({ ip: '203.0.113.9', durationSeconds: 3000, roleId: 'x' });
    expect(score(b, request)).toEqual(score(JSON.parse(before) as BotBaseline, request));
    expect(JSON.stringify(b)).toBe(before);
  });
});

describe('durations in words', () => {
  it('when seconds are shown, then they read as people say them', () => {
    expect([30, 600, 2700, 3600, 5400, 7260].map(span)).toEqual([
      '30 s',
      '10 min',
      '45 min',
      '1 h',
      '1 h 30 min',
      '2 h 1 min',
    ]);
  });
});
