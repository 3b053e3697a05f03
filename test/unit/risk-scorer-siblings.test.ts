/**
 * The risk scorer's one factor that is not learnt from the bot's history: another bot of the
 * same owner or team locked down now (`domain/detection/risk-scorer.ts`), read from the bots'
 * states against the policy's owners and teams — and read again when the policy is another one.
 */
import { describe, expect, it } from 'vitest';
import type { Policy } from '../../config/policy.js';
import type { ElevationInput } from '../../core/model/elevation.js';
import { RiskScorer } from '../../domain/detection/risk-scorer.js';
import type { BotState } from '../../store/bot-state.js';

type Bot = Pick<Policy['bots'][number], 'id' | 'owner' | 'team'>;

const bot = (id: string, owner: string, team: string): Bot => ({ id, owner, team });
const lockedState = (botId: string): BotState => ({
  botId,
  locked: { at: '2026-12-01T00:00:00.000Z', by: 'admin', reason: 'test' },
  disabled: null,
  apiKey: null,
  updatedAt: '2026-12-01T00:00:00.000Z',
});

function scorer(bots: Bot[], states: BotState[]) {
  const policy = { bots: bots as Policy['bots'], detection: undefined };
  const s = new RiskScorer({
    baselines: { catchUp: () => Promise.resolve(0), get: () => Promise.resolve(undefined) },
    botStates: { listBotStates: () => Promise.resolve(states) },
    policy,
  });
  return { scorer: s, policy };
}

const request = (b: Bot) =>
  ({
    elevationId: 'el_sibling_test',
    bot: b,
    role: {
      id: 'reader',
      environment: 'prod',
      approval: { mode: 'auto' },
      target: { type: 'ldap', groupDn: 'cn=reader,dc=example,dc=org' },
      maxDurationSeconds: 3600,
    },
    durationSeconds: 600,
    justification: 'test',
    requestedAt: '2026-12-08T10:00:00.000Z',
  }) as unknown as ElevationInput;

const siblingReason = async (s: RiskScorer, b: Bot) =>
  (await s.score(request(b))).reasons.some((r) => r.code === 'sibling_locked_down');

const etl = bot('etl', 'ann@example.org', 'data');
const sameOwner = bot('etl-2', 'ann@example.org', 'other-team');
const sameTeam = bot('loader', 'bob@example.org', 'data');
const stranger = bot('mailer', 'cy@example.org', 'mail');

describe('risk scorer: a sibling locked down', () => {
  it('counts a locked bot of the same owner, or of the same team', async () => {
    expect(await siblingReason(scorer([etl, sameOwner, stranger], [lockedState('etl-2')]).scorer, etl)).toBe(
      true,
    );
    expect(await siblingReason(scorer([etl, sameTeam, stranger], [lockedState('loader')]).scorer, etl)).toBe(
      true,
    );
  });

  it("does not count a locked bot of another owner and team, the bot's own lock, or a sibling not locked", async () => {
    expect(await siblingReason(scorer([etl, sameOwner, stranger], [lockedState('mailer')]).scorer, etl)).toBe(
      false,
    );
    expect(await siblingReason(scorer([etl, sameOwner], [lockedState('etl')]).scorer, etl)).toBe(false);
    const unlocked = { ...lockedState('etl-2'), locked: null };
    expect(await siblingReason(scorer([etl, sameOwner], [unlocked]).scorer, etl)).toBe(false);
    // A locked id the policy does not name is nobody's sibling.
    expect(await siblingReason(scorer([etl], [lockedState('gone')]).scorer, etl)).toBe(false);
  });

  it('reads owners and teams from the policy it has now', async () => {
    const { scorer: s, policy } = scorer([etl, stranger], [lockedState('mailer')]);
    expect(await siblingReason(s, etl)).toBe(false);
    // The same locked bot, now in the same team: a new policy's bots are indexed afresh.
    policy.bots = [etl, bot('mailer', 'cy@example.org', 'data')] as Policy['bots'];
    expect(await siblingReason(s, etl)).toBe(true);
  });
});
