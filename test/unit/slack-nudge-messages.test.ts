/**
 * Reminders and the escalation in Slack: the thread line (mentioning the people it is for) and
 * the direct message to the bot's owner.
 */
import { describe, expect, it } from 'vitest';
import type { ElevationView } from '../../core/model/elevation.js';
import type { ApprovalRequestDetails } from '../../integrations/slack/messages.js';
import { renderNudgeReply, renderOwnerNudge } from '../../integrations/slack/nudge-messages.js';

const ID = 'el_0123456789abcdef0123nudg';

function details(approvals = 0): ApprovalRequestDetails {
  const elevation: ElevationView = {
    id: ID,
    workflowId: `elevation-${ID}`,
    status: 'pending_approval',
    botId: 'invoice-bot',
    roleId: 'erp-writer',
    owner: 'olivia@example.org',
    environment: 'production',
    durationSeconds: 3600,
    justification: 'Month-end close',
    requestedAt: '2024-05-05T03:00:00.000Z',
    approval: {
      mode: 'approvers',
      quorum: 2,
      deadline: '2024-05-05T03:30:00.000Z',
      groups: [{ name: 'finance', quorum: 2, approved: approvals }],
    },
    approvals: Array.from({ length: approvals }, (_, i) => ({
      approver: `a${i}@example.org`,
      at: '2024-05-05T03:01:00.000Z',
      groups: ['finance'],
    })),
    revokeAttempts: 0,
  };
  return {
    elevation,
    bot: {
      id: 'invoice-bot',
      owner: 'olivia@example.org',
      team: 'Finance',
      purpose: 'invoices',
      environment: 'production',
    },
    role: { id: 'erp-writer', environment: 'production', target: 'LDAP group cn=erp-writers' },
    approverGroups: [{ name: 'finance', quorum: 2 }],
    history: [],
  };
}

describe('reminders and the escalation in Slack', () => {
  it('when approvers are reminded, then the thread line says which reminder, the progress and the time left, and mentions them', () => {
    const line = renderNudgeReply({ kind: 'reminder', number: 2, secondsLeft: 300 }, details(1), [
      'UANN',
      'UBEN',
    ]);
    expect(line).toContain('Reminder 2');
    expect(line).toContain('`invoice-bot` asks for `erp-writer`');
    expect(line).toContain('1 of 2 approvals');
    expect(line).toContain('in 5 min');
    expect(line).toContain('<@UANN> <@UBEN>');
    expect(renderNudgeReply({ kind: 'reminder', number: 1, secondsLeft: 300 }, details(), [])).not.toContain(
      '<@',
    );
  });

  it('when the request escalates, then the line names the groups that may approve from now on, escaped', () => {
    const line = renderNudgeReply(
      { kind: 'escalation', groups: [{ name: 'sre-<!channel>', quorum: 1, members: ['x@example.org'] }] },
      details(),
      ['UONA'],
    );
    expect(line).toContain('Escalated');
    expect(line).toContain('0 of 2 approvals');
    expect(line).not.toContain('<!channel>');
    expect(line).toContain('<@UONA>');
  });

  it('when the owner is told, then the message says what happened, to which elevation', () => {
    const reminded = renderOwnerNudge({ kind: 'reminder', number: 1, secondsLeft: 600 }, details());
    expect(reminded.text).toContain('approvers reminded');
    expect(JSON.stringify(reminded.blocks)).toContain('reminder 1, 10 min left');
    expect(JSON.stringify(reminded.blocks)).toContain(ID);
    const escalated = renderOwnerNudge(
      { kind: 'escalation', groups: [{ name: 'oncall', quorum: 1 }] },
      details(),
    );
    expect(escalated.text).toContain('request escalated');
    expect(JSON.stringify(escalated.blocks)).toContain('escalated to oncall');
  });
});
