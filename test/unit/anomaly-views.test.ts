/**
 * An anomaly as people see it: the Slack alert (Block Kit within its limits, text from the
 * policy escaped) and the console's Anomalies page (each row's kind, bot, severity and sentence,
 * a record this version cannot read, the pager).
 */
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../core/model/audit-record.js';
import type { AnomalyFinding } from '../../core/model/anomaly.js';
import { renderAnomalyAlert } from '../../integrations/slack/anomaly-messages.js';
import { anomaliesPage } from '../../server/admin/views/anomalies.js';

const USER = { email: 'ann@example.org', csrf: 'csrf-token' };
const AT = '2026-06-15T12:00:00.000Z';

const SPIKE: AnomalyFinding = {
  kind: 'fleet_rate_spike',
  botId: 'load',
  severity: 'high',
  text: 'the 3 bots of team <data> & co made 90 requests in the last hour',
  evidence: { requestsLastHour: 90, usualBusiestHour: 6 },
  fleet: { by: 'team', id: '<data> & co', bots: ['etl', 'load', 'sync'] },
};

function event(position: number, data: unknown): AuditEvent {
  return {
    id: `anomaly-${position}`,
    elevationId: null,
    seq: position,
    type: 'anomaly.detected',
    at: AT,
    actor: { kind: 'system', id: 'elevate' },
    data: data as Record<string, unknown>,
    position,
    prevHash: 'x',
    hash: 'y',
  };
}

describe('renderAnomalyAlert', () => {
  it('when a fleet spike is posted, then it names the kind, the fleet and the evidence, with the policy text escaped', () => {
    const content = renderAnomalyAlert({
      eventId: 'anomaly-1',
      at: AT,
      finding: SPIKE,
      channel: 'C0SECURITY',
    });
    const json = JSON.stringify(content.blocks);
    // The header is plain text (Slack shows it as it is); the rest is mrkdwn and must be escaped.
    const mrkdwn = JSON.stringify(content.blocks.filter((b) => b.type !== 'header'));

    expect(content.text).toBe(
      'Rate spike across a fleet (high): the 3 bots of team &lt;data&gt; &amp; co made 90 requests in the last hour',
    );
    expect(mrkdwn).toContain('team &lt;data&gt; &amp; co');
    expect(mrkdwn).not.toContain('<data>');
    expect(json).toContain('requestsLastHour: 90');
    expect(json).toContain('`anomaly.detected` (anomaly-1)');
    expect(content.blocks.length).toBeLessThanOrEqual(50);
  });

  it('when a single bot is posted with its owner, then the owner and team are shown', () => {
    const content = renderAnomalyAlert({
      eventId: 'anomaly-2',
      at: AT,
      finding: {
        kind: 'dormant',
        botId: 'old',
        severity: 'low',
        text: 'bot old has not requested',
        evidence: { daysIdle: 45 },
      },
      owner: 'olga@example.org',
      team: 'ops',
    });

    expect(JSON.stringify(content.blocks)).toContain('*Owner*\\nolga@example.org');
    expect(content.text).toContain('Dormant bot (low)');
  });
});

describe('anomaliesPage', () => {
  it('when anomalies are listed, then each row shows kind, bot, severity and text, escaped, and a record that does not read says so', () => {
    const html = anomaliesPage({
      user: USER,
      events: [event(9, SPIKE), event(7, { kind: 'from-a-newer-version' })],
      nextCursor: '7',
      onFirst: true,
    });

    expect(html).toContain('<h1>Anomalies</h1>');
    expect(html).toContain('<code>fleet_rate_spike</code>');
    expect(html).toContain('<a href="/admin/bots/load">load</a>');
    expect(html).toContain('<span class="badge r-high">high</span>');
    expect(html).toContain('team &lt;data> &amp; co made 90 requests');
    expect(html).not.toContain('<data>');
    expect(html).toContain('Recorded in a shape this version does not read (event anomaly-7)');
    expect(html).toContain('href="/admin/anomalies?cursor=7"');
    expect(html).toContain('<a href="/admin/anomalies">Anomalies</a>');
  });

  it('when nothing was recorded, then the page says so, and shows the error it is given', () => {
    const html = anomaliesPage({
      user: USER,
      events: [],
      nextCursor: undefined,
      onFirst: true,
      error: 'bad link',
    });

    expect(html).toContain('No anomalies recorded.');
    expect(html).toContain('bad link');
    expect(html).toContain('Last page');
  });
});
