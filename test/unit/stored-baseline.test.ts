/**
 * A baseline read back from the store is checked before scoring uses it: a real one (every kind
 * of observation folded in, through JSON) reads back whole; a damaged row, another version or
 * another bot's baseline reads as none, with what is wrong.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_BASELINE_SETTINGS, type BaselineObservation } from '../../core/model/risk.js';
import { DAY_MS, HOUR_MS, emptyBaseline, observe } from '../../core/rules/bot-baseline.js';
import { storedBaseline } from '../../core/rules/stored-baseline.js';

const BOT = 'ci-deployer';
const T0 = Date.UTC(2026, 10, 2, 9);

/** A baseline with every part filled: requests with workload claims, refusals, decisions, ends. */
function lived() {
  let b = emptyBaseline(BOT);
  const fold = (o: BaselineObservation) => (b = observe(b, o, DEFAULT_BASELINE_SETTINGS));
  for (let d = 0; d < 10; d++) {
    const at = T0 + d * DAY_MS;
    const elevationId = `el_${d}`;
    fold({
      kind: 'requested',
      botId: BOT,
      elevationId,
      roleId: d % 2 ? 'deploy' : 'read',
      at,
      durationSeconds: 900,
      ip: `10.0.${d % 3}.7`,
      userAgent: 'elevate-action/1.4.0',
      authMethod: 'workload_identity',
      workload: {
        issuer: 'https://token.actions.githubusercontent.com',
        subject: 'repo:org/app:ref:refs/heads/main',
        repository: 'org/app',
        workflow: 'deploy.yml',
        ref: 'refs/heads/main',
        runnerEnvironment: 'github-hosted',
      },
      approvalChain: 'owners:1',
      sensitivity: 'medium',
      riskLevel: d === 9 ? 'high' : 'low',
    });
    fold({ kind: 'decided', botId: BOT, elevationId, at: at + 1_000, outcome: 'approved' });
    fold({
      kind: 'ended',
      botId: BOT,
      at: at + HOUR_MS,
      roleId: 'read',
      heldSeconds: 600,
      givenBack: d % 3 === 0,
    });
    if (d % 4 === 0) fold({ kind: 'refused', botId: BOT, at: at + 2_000, reason: 'role_not_allowed' });
  }
  return b;
}

describe('stored baselines', () => {
  it('when a baseline that lived through every kind of observation is stored and read back, then it is used whole', () => {
    const b = lived();
    expect(b.days.length).toBeGreaterThan(0);
    expect(b.networks.length).toBeGreaterThan(0);
    expect(storedBaseline(JSON.parse(JSON.stringify(b)) as unknown, BOT)).toEqual({ baseline: b });
    expect(storedBaseline(emptyBaseline(BOT), BOT)).toEqual({ baseline: emptyBaseline(BOT) });
  });

  it('when the bot has no row, then there is no baseline and nothing is wrong', () => {
    expect(storedBaseline(undefined, BOT)).toEqual({ baseline: undefined });
  });

  it('when the row is damaged or of another version, then it reads as none and says what is wrong', () => {
    const b = JSON.parse(JSON.stringify(lived())) as Record<string, unknown>;
    expect(storedBaseline({ ...b, days: 'yesterday' }, BOT)).toMatchObject({
      baseline: undefined,
      damaged: expect.stringContaining('days') as unknown,
    });
    expect(storedBaseline({ ...b, version: 2 }, BOT)).toMatchObject({ baseline: undefined });
    expect(storedBaseline('not json at all', BOT)).toMatchObject({ baseline: undefined });
    expect(storedBaseline(null, BOT)).toMatchObject({ baseline: undefined });
  });

  it("when the row holds another bot's baseline, then it is not used for this one", () => {
    expect(storedBaseline(emptyBaseline('other-bot'), BOT)).toMatchObject({
      baseline: undefined,
      damaged: expect.stringContaining('other-bot') as unknown,
    });
  });
});
