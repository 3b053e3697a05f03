/**
 * A scheduled elevation (`startsAt`) in Slack's messages: approvers see when the grant would be
 * made, and the approval is told as a grant to come at the start, not as one being made now.
 */
import { describe, expect, it } from 'vitest';
import type { ElevationView } from '../../core/model/elevation.js';
import {
  renderEventReply,
  renderRequestMessage,
  type ApprovalRequestDetails,
} from '../../integrations/slack/messages.js';

const ID = 'el_0123456789abcdef0123sche';
const STARTS = '2026-12-08T00:00:00.000Z';

function details(overrides: Partial<ElevationView> = {}): ApprovalRequestDetails {
  return {
    elevation: {
      id: ID,
      workflowId: `elevation-${ID}`,
      status: 'pending_approval',
      botId: 'batch-bot',
      roleId: 'db-migrate',
      owner: 'olivia@example.org',
      environment: 'production',
      durationSeconds: 3600,
      justification: 'CHG-512 schema change',
      requestedAt: '2026-12-07T12:00:00.000Z',
      approval: {
        mode: 'approvers',
        quorum: 1,
        deadline: '2026-12-07T12:15:00.000Z',
        groups: [{ name: 'dba', quorum: 1, approved: 0 }],
      },
      approvals: [],
      revokeAttempts: 0,
      ...overrides,
    },
    bot: {
      id: 'batch-bot',
      owner: 'olivia@example.org',
      team: 'Data',
      purpose: 'Runs schema changes in change windows.',
      environment: 'production',
    },
    role: { id: 'db-migrate', environment: 'production', target: 'LDAP group cn=db-migrate' },
    approverGroups: [{ name: 'dba', quorum: 1 }],
    history: [],
  };
}

const textOf = (content: unknown) => JSON.stringify(content);

describe('scheduled elevations in Slack', () => {
  it('when the request is scheduled, then the approval request shows when it starts', () => {
    const text = textOf(renderRequestMessage(details({ startsAt: STARTS })));
    expect(text).toContain('*Starts*');
    expect(text).toContain('2026-12-08T00:00:00Z');
  });

  it('when the request is not scheduled, then no start is shown', () => {
    expect(textOf(renderRequestMessage(details()))).not.toContain('*Starts*');
  });

  it('when a scheduled request is approved, then the reply says the role will be granted at the start', () => {
    const reply = renderEventReply('elevation.approved', details({ status: 'approved', startsAt: STARTS }));
    expect(reply).toContain('will be granted');
    expect(reply).toContain('2026-12-08T00:00:00Z');
    const message = textOf(renderRequestMessage(details({ status: 'approved', startsAt: STARTS })));
    expect(message).toContain('the role will be granted at');
  });

  it('when an immediate request is approved, then the reply says it is being granted', () => {
    expect(renderEventReply('elevation.approved', details({ status: 'approved' }))).toContain('granting');
  });
});
