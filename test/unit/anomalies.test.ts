/**
 * The rules of continuous detection (`core/rules/anomalies.ts`), each on its own pattern and on
 * normal data: a fleet's rate spike against its usual busiest hour (from baselines built by the
 * real baseline code), repeated credential refusals, grants run to expiry by a bot that gave them
 * back early, dormant bots, orphaned bots, and how fleets are formed.
 */
import { describe, expect, it } from 'vitest';
import type { AnomalyFleet } from '../../core/model/anomaly.js';
import { DEFAULT_ANOMALY_SETTINGS } from '../../core/model/anomaly.js';
import type { BaselineObservation, BaselineSettings } from '../../core/model/risk.js';
import {
  anomalySubject,
  credentialRefusalBursts,
  dormantBot,
  fleetRateSpike,
  fleetsOf,
  grantsRunToExpiry,
  orphanedBot,
  type CredentialRefusal,
  type GrantEnd,
} from '../../core/rules/anomalies.js';
import { emptyBaseline, observe, type BotBaseline } from '../../core/rules/bot-baseline.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
/** Monday 15 June 2026, 12:00 UTC: when the rules look. */
const NOW = Date.UTC(2026, 5, 15, 12, 0);
const WINDOW: BaselineSettings = { windowDays: 30, minRequests: 20, minDays: 7 };
const SETTINGS = DEFAULT_ANOMALY_SETTINGS;

function request(botId: string, at: number): BaselineObservation {
  return {
    kind: 'requested',
    botId,
    roleId: 'ops',
    at,
    durationSeconds: 600,
    ip: '203.0.113.7',
    userAgent: 'batch-runner/2.1',
    authMethod: 'api_key',
    approvalChain: 'auto',
  };
}

/** A bot's baseline after `perDay` requests at 09:00 UTC on each of the `days` days before today, then `lastHour` in the hour before NOW. */
function history(
  botId: string,
  opts: { days: number; perDay: number; lastHour: number; extra?: Array<[daysAgo: number, n: number]> },
): BotBaseline {
  const times: number[] = [];
  const today = Math.floor(NOW / DAY) * DAY;
  for (let d = opts.days; d >= 1; d--) {
    for (let i = 0; i < opts.perDay; i++) times.push(today - d * DAY + 9 * HOUR + i * MINUTE);
  }
  for (const [daysAgo, n] of opts.extra ?? []) {
    for (let i = 0; i < n; i++) times.push(today - daysAgo * DAY + 9 * HOUR + 30 * MINUTE + i * 1000);
  }
  for (let i = 0; i < opts.lastHour; i++) times.push(NOW - 50 * MINUTE + i * 1000);
  return times
    .sort((a, b) => a - b)
    .reduce((b, at) => observe(b, request(botId, at), WINDOW), emptyBaseline(botId));
}

const FLEET: AnomalyFleet = { by: 'team', id: 'data', bots: ['etl', 'load', 'sync'] };

function fleetOf(lastHour: number[], opts: { days?: number; extra?: Array<[number, number]> } = {}) {
  return new Map(
    FLEET.bots.map((id, i) => [
      id,
      history(id, {
        days: opts.days ?? 14,
        perDay: 2,
        lastHour: lastHour[i] ?? 0,
        ...(i === 0 && opts.extra ? { extra: opts.extra } : {}),
      }),
    ]),
  );
}

describe('fleetRateSpike', () => {
  it('when a fleet requests as it usually does in its busiest hour, then nothing is found', () => {
    expect(fleetRateSpike(FLEET, fleetOf([2, 2, 2]), NOW, SETTINGS, WINDOW)).toBeUndefined();
  });

  it('when the fleet together requests far above its usual busiest hour, then a spike names the fleet and its busiest bot', () => {
    const found = fleetRateSpike(FLEET, fleetOf([10, 25, 10]), NOW, SETTINGS, WINDOW);

    expect(found).toMatchObject({
      kind: 'fleet_rate_spike',
      botId: 'load',
      severity: 'medium',
      fleet: FLEET,
      evidence: {
        requestsLastHour: 45,
        usualBusiestHour: 6,
        threshold: 30,
        daysOfHistory: 14,
        bots: 3,
        topBotRequests: 25,
      },
    });
    expect(found?.text).toBe(
      'the 3 bots of team data made 45 requests in the last hour, 7.5 times their usual busiest hour (6 requests, over 14 days); load made 25 of them',
    );
  });

  it('when no bot of the fleet spikes on its own but together they do, then the fleet is found', () => {
    // 12 each: under the default minimum of 30 alone, 36 together.
    expect(
      fleetRateSpike(FLEET, fleetOf([12, 12, 12]), NOW, SETTINGS, WINDOW)?.evidence.requestsLastHour,
    ).toBe(36);
  });

  it('when far above the threshold, then the spike is high', () => {
    expect(fleetRateSpike(FLEET, fleetOf([30, 30, 30]), NOW, SETTINGS, WINDOW)?.severity).toBe('high');
  });

  it('when earlier days had bursts, then they do not become the usual and the next spike is still found', () => {
    const found = fleetRateSpike(
      FLEET,
      fleetOf([15, 15, 15], {
        extra: [
          [3, 60],
          [5, 60],
        ],
      }),
      NOW,
      SETTINGS,
      WINDOW,
    );

    expect(found?.evidence.usualBusiestHour).toBe(6);
  });

  it('when the fleet has under three days of history, then its usual is unknown and nothing is found', () => {
    expect(fleetRateSpike(FLEET, fleetOf([40, 40, 40], { days: 2 }), NOW, SETTINGS, WINDOW)).toBeUndefined();
  });

  it('when the last hour is above the factor but under the minimum count, then nothing is found', () => {
    // Usual 6, three times that is 18; 24 requests is above it but under the minimum of 30.
    expect(fleetRateSpike(FLEET, fleetOf([8, 8, 8]), NOW, SETTINGS, WINDOW)).toBeUndefined();
    expect(
      fleetRateSpike(FLEET, fleetOf([8, 8, 8]), NOW, { ...SETTINGS, fleetSpikeMinRequests: 20 }, WINDOW),
    ).toBeDefined();
  });
});

describe('fleetsOf', () => {
  it('when bots share a team or an owner, then each group of two or more is a fleet, and an owner fleet equal to a team is left out', () => {
    const fleets = fleetsOf([
      { id: 'a', team: 'x', owner: 'o1@example.org' },
      { id: 'b', team: 'x', owner: 'O1@example.org' },
      { id: 'c', team: 'y', owner: 'o1@example.org' },
      { id: 'd', team: 'y', owner: 'o2@example.org' },
      { id: 'e', team: 'z', owner: 'o3@example.org' },
      { id: 'f', team: 'z', owner: 'o3@example.org' },
      { id: 'g', team: 'solo', owner: 'o4@example.org' },
    ]);

    expect(fleets).toEqual([
      { by: 'team', id: 'x', bots: ['a', 'b'] },
      { by: 'team', id: 'y', bots: ['c', 'd'] },
      { by: 'team', id: 'z', bots: ['e', 'f'] },
      { by: 'owner', id: 'o1@example.org', bots: ['a', 'b', 'c'] },
    ]);
  });
});

describe('credentialRefusalBursts', () => {
  const refusal = (botId: string, minutesAgo: number, reason = 'already_delivered'): CredentialRefusal => ({
    botId,
    at: NOW - minutesAgo * MINUTE,
    reason,
    elevationId: `el-${botId}`,
  });

  it('when a bot is refused its credentials three times within the hour, then it is found with the reasons', () => {
    const found = credentialRefusalBursts(
      [refusal('ci', 5), refusal('ci', 20, 'not_active'), refusal('ci', 40), refusal('web', 10)],
      NOW,
      SETTINGS,
    );

    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({
      kind: 'credential_refusals',
      botId: 'ci',
      severity: 'medium',
      evidence: { refusals: 3, threshold: 3, elevations: 1 },
    });
    expect(found[0]!.text).toContain(
      'refused its credentials 3 times in the last hour (already_delivered 2, not_active 1), for 1 elevation',
    );
  });

  it('when the refusals are fewer, or one is older than an hour, then nothing is found', () => {
    expect(credentialRefusalBursts([refusal('ci', 5), refusal('ci', 20)], NOW, SETTINGS)).toEqual([]);
    expect(
      credentialRefusalBursts([refusal('ci', 5), refusal('ci', 20), refusal('ci', 61)], NOW, SETTINGS),
    ).toEqual([]);
  });

  it('when twice the threshold or more, then it is high', () => {
    const many = [1, 2, 3, 4, 5, 6].map((m) => refusal('ci', m));

    expect(credentialRefusalBursts(many, NOW, SETTINGS)[0]?.severity).toBe('high');
  });
});

describe('grantsRunToExpiry', () => {
  const ends = (pattern: string): GrantEnd[] =>
    [...pattern].map((c, i) => ({ at: NOW - (pattern.length - i) * HOUR, givenBack: c === 'g' }));

  it('when a bot that always gave grants back lets three in a row run to expiry, then it is found', () => {
    const found = grantsRunToExpiry('etl', ends('ggggggggeee'), SETTINGS);

    expect(found).toMatchObject({
      kind: 'grants_run_to_expiry',
      botId: 'etl',
      severity: 'medium',
      evidence: { expiredInARow: 3, earlierGrants: 8, earlierGivenBack: 8 },
    });
    expect(found?.text).toBe(
      'bot etl let its last 3 grants run to expiry; before that it gave 8 of 8 back early',
    );
  });

  it('when only two in a row ran out, or it gives them back again, then nothing is found', () => {
    expect(grantsRunToExpiry('etl', ends('ggggggggee'), SETTINGS)).toBeUndefined();
    expect(grantsRunToExpiry('etl', ends('ggggggggeeeg'), SETTINGS)).toBeUndefined();
  });

  it('when the bot never had the habit, or too short a history to tell, then nothing is found', () => {
    expect(grantsRunToExpiry('etl', ends('gegegegeeee'), SETTINGS)).toBeUndefined();
    expect(grantsRunToExpiry('etl', ends('eeeeeeeeeee'), SETTINGS)).toBeUndefined();
    expect(grantsRunToExpiry('etl', ends('ggggeee'), SETTINGS)).toBeUndefined();
  });

  it('when one early slip in ten is in the history, then the habit still counts', () => {
    expect(grantsRunToExpiry('etl', ends('gggggegggg' + 'eee'), SETTINGS)?.evidence.earlierGivenBack).toBe(9);
  });
});

describe('dormantBot', () => {
  const bot = {
    botId: 'old-bot',
    roles: ['ops', 'dba'],
    enabled: true,
    lastRequestAt: NOW - 45 * DAY,
    watchedSince: null,
  };

  it('when a bot that may request roles has not for more than the dormant days, then it is found as stale', () => {
    const found = dormantBot(bot, NOW, SETTINGS);

    expect(found).toMatchObject({
      kind: 'dormant',
      botId: 'old-bot',
      severity: 'low',
      evidence: { daysIdle: 45, roles: 2, neverRequested: 0 },
    });
    expect(found?.text).toBe(
      'bot old-bot has not requested a role for 45 days (last on 2026-05-01), yet may still request ops, dba: take away the roles it no longer needs, or the bot if it is retired',
    );
  });

  it('when it requested recently, is disabled, or may request nothing, then nothing is found', () => {
    expect(dormantBot({ ...bot, lastRequestAt: NOW - 10 * DAY }, NOW, SETTINGS)).toBeUndefined();
    expect(dormantBot({ ...bot, enabled: false }, NOW, SETTINGS)).toBeUndefined();
    expect(dormantBot({ ...bot, roles: [] }, NOW, SETTINGS)).toBeUndefined();
  });

  it('when it never requested, then it counts from when detection first saw it', () => {
    const never = { ...bot, lastRequestAt: null };

    expect(dormantBot({ ...never, watchedSince: NOW - 31 * DAY }, NOW, SETTINGS)?.evidence).toEqual({
      daysIdle: 31,
      roles: 2,
      neverRequested: 1,
    });
    expect(dormantBot({ ...never, watchedSince: NOW }, NOW, SETTINGS)).toBeUndefined();
    expect(dormantBot({ ...never, watchedSince: NOW - 31 * DAY }, NOW, { dormantDays: 60 })).toBeUndefined();
  });
});

describe('orphanedBot', () => {
  it('when the owner is not in the directory, then the bot is found orphaned; when they are, nothing', () => {
    const bot = { botId: 'etl', owner: 'gone@example.org', roles: ['ops'] };

    expect(orphanedBot(bot, false)).toMatchObject({
      kind: 'orphaned',
      botId: 'etl',
      severity: 'medium',
      evidence: { roles: 1 },
    });
    expect(orphanedBot(bot, false)?.text).toContain('gone@example.org, is no longer in the directory');
    expect(orphanedBot(bot, true)).toBeUndefined();
  });
});

describe('anomalySubject', () => {
  it('when a finding is about a fleet, then its subject is the fleet; otherwise the bot', () => {
    expect(anomalySubject({ botId: 'load', fleet: FLEET })).toBe('team:data');
    expect(anomalySubject({ botId: 'load' })).toBe('bot:load');
  });
});
