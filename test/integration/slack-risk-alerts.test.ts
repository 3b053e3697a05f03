/**
 * Risk alerts in Slack: SlackNotifier.alertRisk against the Slack Web API stand-in (through the
 * real SlackClient) and a real SQLite store, whose single-use table keeps the "already posted"
 * marks. Which channel, the owner's direct message, once per elevation however often the
 * activity runs, and what a failure leaves for the retry. LogNotifier.alertRisk is at the end.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { ElevationView } from '../../core/model/elevation.js';
import type { RiskDecision } from '../../core/model/risk.js';
import type { RiskAlert } from '../../core/ports/notifier.js';
import { dmOf } from '../../dev/slack-api-stub.js';
import { LogNotifier } from '../../integrations/notify/log-notifier.js';
import { useSlackNotifierHarness } from '../support/slack-notifier-harness.js';
import { SlackApiError } from '../../integrations/slack/slack-client.js';

const TOKEN = 'xoxb-risk-alerts-token';
const OWNER = { id: 'U0OWNER01', email: 'owner@example.org' };
const APPROVALS = 'C0APPROVE1';
const SECURITY = 'C0SECURITY';

const DENIED: RiskDecision = {
  score: 91,
  level: 'critical',
  baselined: true,
  route: 'denied',
  routeReason: 'score 91 is above the critical threshold 85',
  reasons: [
    { code: 'new_network', points: 45, text: 'first request from 203.0.113.0/24 in 30 days' },
    { code: 'unusual_hour', points: 30, text: 'requested at 03:00 UTC; it usually asks 09:00–17:00' },
  ],
};

const h = useSlackNotifierHarness({ token: TOKEN, users: [OWNER], channels: [APPROVALS, SECURITY] });
let elevations = 0;
/** The elevations this test alerted about. */
let mine: string[] = [];

beforeEach(() => {
  mine = [];
});

/** A request of `ci-bot` the score denied, each call a new elevation. */
function alert(overrides: Partial<RiskAlert> = {}, owner = OWNER.email): RiskAlert {
  const id = `el_riskalert${String(++elevations).padStart(14, '0')}`;
  mine.push(id);
  const elevation: ElevationView = {
    id,
    workflowId: `elevation-${id}`,
    status: 'denied',
    botId: 'ci-bot',
    roleId: 'deploy',
    owner,
    environment: 'production',
    durationSeconds: 600,
    justification: 'deploy release 1.2.3',
    requestedAt: new Date().toISOString(),
    approval: { mode: 'approvers', quorum: 1, deadline: new Date().toISOString(), groups: [] },
    approvals: [],
    revokeAttempts: 0,
    endReason: 'denied',
    endedAt: new Date().toISOString(),
    risk: DENIED,
  };
  return {
    elevation,
    bot: {
      id: 'ci-bot',
      owner,
      team: 'Platform',
      purpose: 'deploys',
      environment: 'production',
      principal: 'uid=ci-bot,ou=bots,dc=example,dc=org',
    },
    role: {
      id: 'deploy',
      environment: 'production',
      target: { type: 'ldap', groupDn: 'cn=deployers,ou=groups,dc=example,dc=org' },
      maxDurationSeconds: 3600,
      approval: {
        mode: 'approvers',
        groups: [{ name: 'ops', quorum: 1, members: ['alice@example.org'] }],
        windowSeconds: 600,
        ownerMayApprove: false,
      },
    },
    lockedDown: true,
    ...overrides,
  };
}

/**
 * Messages Slack now holds in `channel` (a channel id, or a user's DM) posted by this test (the
 * stand-in is shared by the tests of this file).
 */
function postedIn(channel: string) {
  return [...h.stub.messages().values()].filter(
    (m) => m.channel === channel && mine.some((id) => JSON.stringify(m.blocks).includes(id)),
  );
}

describe('SlackNotifier.alertRisk', () => {
  it('when the policy names an alert channel, then the alert is posted there once and the owner gets it once, however often the activity runs', async () => {
    const n = h.notifier(APPROVALS);
    const a = alert({ channel: SECURITY });

    await n.alertRisk(a);
    await n.alertRisk(a); // a retried activity
    await h.notifier(APPROVALS).alertRisk(a); // another worker

    const channel = postedIn(SECURITY);
    const owner = postedIn(dmOf(OWNER.id));
    expect(channel).toHaveLength(1);
    expect(owner).toHaveLength(1);
    expect(postedIn(APPROVALS)).toHaveLength(0);
    expect(channel[0]?.text).toBe(
      'Request denied by risk score: bot ci-bot asked for role deploy, score 91/100 (critical); the bot is locked down',
    );
    expect(JSON.stringify(channel[0]?.blocks)).toContain(
      'first request from 203.0.113.0/24 in 30 days (+45)',
    );
    expect(JSON.stringify(owner[0]?.blocks)).toContain('You are told because you own this bot');
    expect(JSON.stringify(channel[0]?.blocks)).not.toContain('You are told because you own this bot');
  });

  it('when two elevations are denied, then each is alerted', async () => {
    const n = h.notifier();
    await n.alertRisk(alert({ channel: SECURITY }));
    await n.alertRisk(alert({ channel: SECURITY }));

    expect(postedIn(SECURITY)).toHaveLength(2);
    expect(postedIn(dmOf(OWNER.id))).toHaveLength(2);
  });

  it('when the policy names no alert channel, then the alert goes to the approval channel', async () => {
    await h.notifier(APPROVALS).alertRisk(alert());

    expect(postedIn(APPROVALS)).toHaveLength(1);
    expect(postedIn(dmOf(OWNER.id))).toHaveLength(1);
  });

  it('when there is no channel at all, then only the owner is told, and a warning says why', async () => {
    await h.notifier().alertRisk(alert());

    expect(h.stub.calls.filter((c) => c.method === 'chat.postMessage').map((c) => c.args.channel)).toEqual([
      OWNER.id,
    ]);
    expect(h.logLines).toContainEqual(
      expect.objectContaining({
        level: 40,
        botId: 'ci-bot',
        score: 91,
        msg: expect.stringContaining('risk alert not posted in a channel') as unknown,
      }),
    );
  });

  it("when the owner's message is rate-limited, then the attempt fails retryable, and the retry tells only the owner", async () => {
    const n = h.notifier();
    const a = alert({ channel: SECURITY });
    const limited = h.stub
      .waitFor((calls) => calls.some((c) => c.method === 'chat.postMessage' && c.args.channel === SECURITY))
      .then(() => h.stub.rateLimit('chat.postMessage', 30, 1));

    const failure = await n.alertRisk(a).then(
      () => undefined,
      (err: unknown) => err,
    );
    await limited;
    expect(failure).toBeInstanceOf(SlackApiError);
    expect(failure).toMatchObject({ code: 'ratelimited', retryable: true });
    expect(postedIn(SECURITY)).toHaveLength(1);
    expect(postedIn(dmOf(OWNER.id))).toHaveLength(0);

    await n.alertRisk(a);
    expect(postedIn(SECURITY)).toHaveLength(1);
    expect(postedIn(dmOf(OWNER.id))).toHaveLength(1);
  });

  it('when the alert channel does not exist, then it is logged as an error, not thrown, and the owner is still told', async () => {
    await h.notifier().alertRisk(alert({ channel: 'C0NOWHERE' }));

    expect(postedIn(dmOf(OWNER.id))).toHaveLength(1);
    expect(h.logLines).toContainEqual(
      expect.objectContaining({ level: 50, to: 'C0NOWHERE', code: 'channel_not_found' }),
    );
  });

  it('when the owner has no Slack account, then the channel is told and a warning names the owner', async () => {
    await h.notifier().alertRisk(alert({ channel: SECURITY }, 'nobody@example.org'));

    expect(postedIn(SECURITY)).toHaveLength(1);
    expect(h.logLines).toContainEqual(
      expect.objectContaining({
        level: 40,
        owner: 'nobody@example.org',
        elevationId: expect.any(String) as unknown,
      }),
    );
  });
});

describe('LogNotifier.alertRisk', () => {
  it('when a request is denied by its score, then one warning carries the score, the reasons and the lockdown', async () => {
    const a = alert({ channel: SECURITY });
    await new LogNotifier({
      logger: h.logger,
      approvalUrl: (id) => `http://localhost/approve/${id}`,
    }).alertRisk(a);

    expect(h.logLines).toHaveLength(1);
    expect(h.logLines[0]).toMatchObject({
      level: 40,
      elevationId: a.elevation.id,
      botId: 'ci-bot',
      owner: OWNER.email,
      roleId: 'deploy',
      score: 91,
      riskLevel: 'critical',
      route: 'denied',
      reasons: DENIED.reasons,
      lockedDown: true,
      alertChannel: SECURITY,
      msg: 'request denied by risk score: bot ci-bot asked for role deploy, score 91 (critical); the bot is locked down',
    });
  });
});
