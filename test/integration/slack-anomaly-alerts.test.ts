/**
 * Anomaly alerts in Slack: SlackNotifier.alertAnomaly against the Slack Web API stand-in (through
 * the real SlackClient, which checks the Block Kit) and a real SQLite store, whose single-use
 * table keeps the "already posted" marks. Which channel, once per event however often it is
 * retried, a new event posted again, what cannot be posted. LogNotifier.alertAnomaly at the end.
 */
import { describe, expect, it } from 'vitest';
import type { AnomalyAlert } from '../../core/ports/notifier.js';
import { LogNotifier } from '../../integrations/notify/log-notifier.js';
import { useSlackNotifierHarness } from '../support/slack-notifier-harness.js';

const TOKEN = 'xoxb-anomaly-alerts-token';
const APPROVALS = 'C0APPROVE1';
const SECURITY = 'C0SECURITY';

const h = useSlackNotifierHarness({ token: TOKEN, users: [], channels: [APPROVALS, SECURITY] });
let events = 0;

/** A dormant bot's anomaly, each call a new event. */
function alert(overrides: Partial<AnomalyAlert> = {}): AnomalyAlert {
  return {
    eventId: `anomaly-dormant-test-${++events}`,
    at: new Date().toISOString(),
    finding: {
      kind: 'dormant',
      botId: 'old-bot',
      severity: 'low',
      text: 'bot old-bot has not requested a role for 45 days (last on 2026-05-01), yet may still request ops',
      evidence: { daysIdle: 45, roles: 1, neverRequested: 0 },
    },
    owner: 'olga@example.org',
    team: 'Platform',
    ...overrides,
  };
}

const posts = () => h.stub.calls.filter((c) => c.method === 'chat.postMessage');

describe('SlackNotifier.alertAnomaly', () => {
  it('when the policy names an alert channel, then the anomaly is posted there once, however often it is retried', async () => {
    const a = alert({ channel: SECURITY });

    await h.notifier(APPROVALS).alertAnomaly(a);
    await h.notifier(APPROVALS).alertAnomaly(a); // the next run, finishing a run that stopped

    const sent = posts();
    expect(sent.map((c) => c.args.channel)).toEqual([SECURITY]);
    expect(sent[0]?.args.text).toBe(
      'Dormant bot (low): bot old-bot has not requested a role for 45 days (last on 2026-05-01), yet may still request ops',
    );
    const blocks = JSON.stringify(sent[0]?.args.blocks);
    expect(blocks).toContain('daysIdle: 45');
    expect(blocks).toContain('*Owner*\\nolga@example.org');
    expect(blocks).toContain(a.eventId);
  });

  it('when the anomaly is alerted again after the re-alert time (a new event), then it is posted again', async () => {
    await h.notifier().alertAnomaly(alert({ channel: SECURITY }));
    await h.notifier().alertAnomaly(alert({ channel: SECURITY }));

    expect(posts()).toHaveLength(2);
  });

  it('when the policy names no alert channel, then it goes to the approval channel; with no channel at all, a warning says why', async () => {
    await h.notifier(APPROVALS).alertAnomaly(alert());
    await h.notifier().alertAnomaly(alert());

    expect(posts().map((c) => c.args.channel)).toEqual([APPROVALS]);
    expect(h.logLines).toContainEqual(
      expect.objectContaining({
        level: 40,
        kind: 'dormant',
        botId: 'old-bot',
        msg: expect.stringContaining('anomaly not posted in Slack') as unknown,
      }),
    );
  });

  it('when the alert channel does not exist, then it is logged as an error and not thrown', async () => {
    await h.notifier().alertAnomaly(alert({ channel: 'C0NOWHERE' }));

    expect(h.logLines).toContainEqual(
      expect.objectContaining({ level: 50, to: 'C0NOWHERE', code: 'channel_not_found', kind: 'dormant' }),
    );
  });
});

describe('LogNotifier.alertAnomaly', () => {
  it('when an anomaly is found without Slack, then one warning carries its kind, bot, evidence and sentence', async () => {
    const a = alert({ channel: SECURITY });
    await new LogNotifier({
      logger: h.logger,
      approvalUrl: (id) => `http://localhost/approve/${id}`,
    }).alertAnomaly(a);

    expect(h.logLines).toHaveLength(1);
    expect(h.logLines[0]).toMatchObject({
      level: 40,
      eventId: a.eventId,
      kind: 'dormant',
      botId: 'old-bot',
      severity: 'low',
      evidence: { daysIdle: 45, roles: 1, neverRequested: 0 },
      owner: 'olga@example.org',
      alertChannel: SECURITY,
      msg: `anomaly detected (dormant, low): ${a.finding.text}`,
    });
  });
});
