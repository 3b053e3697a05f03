/**
 * Reminders and the escalation posted by the Slack notifier with an approval channel, against
 * the Slack Web API stand-in: a reminder is a reply in the request's thread that mentions the
 * approvers who have not decided; the escalation mentions whoever is on call in the escalation
 * group; the owner gets a direct message each time; a retried step posts nothing twice.
 */
import { describe, expect, it } from 'vitest';
import type { ElevationView, RoleSnapshot } from '../../core/model/elevation.js';
import type { ApprovalNudgeNotice } from '../../core/ports/approval-nudger.js';
import { dmOf } from '../../dev/slack-api-stub.js';
import { useSlackNotifierHarness } from '../support/slack-notifier-harness.js';

const TOKEN = 'xoxb-nudges-token';
const ANN = { id: 'U0ANN0001', email: 'ann@example.org' };
const BEN = { id: 'U0BEN0001', email: 'ben@example.org' };
const ONA = { id: 'U0ONA0001', email: 'ona@example.org' };
const OTTO = { id: 'U0OTTO001', email: 'otto@example.org' };
const OWNER = { id: 'U0OWNER01', email: 'owner@example.org' };
const CHANNEL = 'C0APPROVE1';

const h = useSlackNotifierHarness({ token: TOKEN, users: [ANN, BEN, ONA, OTTO, OWNER], channels: [CHANNEL] });

const ROLE: RoleSnapshot = {
  id: 'deploy',
  environment: 'production',
  target: { type: 'ldap', groupDn: 'cn=deploy,ou=groups,dc=example,dc=org' },
  maxDurationSeconds: 3600,
  approval: {
    mode: 'approvers',
    groups: [{ name: 'leads', quorum: 2, members: [ANN.email, BEN.email] }],
    windowSeconds: 1800,
    ownerMayApprove: false,
    escalation: {
      afterSeconds: 900,
      groups: [
        {
          name: 'oncall',
          quorum: 1,
          // Ona's shift now, Otto's next.
          oncall: {
            rotation: {
              startsAt: new Date(Date.now() - 60_000).toISOString(),
              shiftSeconds: 3600,
              members: [ONA.email, OTTO.email],
            },
          },
        },
      ],
    },
  },
};

function notice(
  step: ApprovalNudgeNotice['step'],
  messages: ApprovalNudgeNotice['messages'],
): ApprovalNudgeNotice {
  const elevation: ElevationView = {
    id: 'el_0123456789abcdef0nudges1',
    workflowId: 'elevation-el_0123456789abcdef0nudges1',
    status: 'pending_approval',
    botId: 'ci-bot',
    roleId: 'deploy',
    owner: OWNER.email,
    environment: 'production',
    durationSeconds: 600,
    justification: 'deploy release 1.2.3',
    requestedAt: new Date().toISOString(),
    approval: {
      mode: 'approvers',
      quorum: 2,
      deadline: new Date(Date.now() + 1_800_000).toISOString(),
      groups: [{ name: 'leads', quorum: 2, approved: 1 }],
      escalation: { dueAt: new Date().toISOString(), groups: [{ name: 'oncall', quorum: 1, approved: 0 }] },
    },
    // Ann approved already: she is not reminded.
    approvals: [{ approver: ANN.email, at: new Date().toISOString(), groups: ['leads'] }],
    revokeAttempts: 0,
  };
  return {
    elevation,
    bot: {
      id: 'ci-bot',
      owner: OWNER.email,
      team: 'ci',
      purpose: 'deploys',
      environment: 'production',
      principal: 'cn=ci-bot,ou=bots,dc=example,dc=org',
    },
    role: ROLE,
    messages,
    step,
  };
}

describe('reminders and the escalation in an approval channel', () => {
  it('when a reminder and the escalation are posted, then the thread mentions whom each is for, the owner hears of both, and a retry posts nothing twice', async () => {
    const notifier = h.notifier(CHANNEL);
    const base = notice({ kind: 'reminder', number: 1, secondsLeft: 300 }, []);
    const messages = await notifier.announce(base);
    expect(messages).toHaveLength(1);

    const reminder = notice({ kind: 'reminder', number: 1, secondsLeft: 300 }, messages);
    expect(await notifier.nudge(reminder)).toEqual([]);
    await notifier.nudge(reminder);
    const escalation = notice(
      {
        kind: 'escalation',
        groups: ROLE.approval.mode === 'approvers' ? ROLE.approval.escalation!.groups : [],
      },
      messages,
    );
    await notifier.nudge(escalation);

    const replies = [...h.stub.messages().values()].filter(
      (m) => m.channel === CHANNEL && m.threadTs === messages[0]!.ts,
    );
    expect(replies).toHaveLength(2);
    expect(replies[0]!.text).toContain('Reminder 1');
    expect(replies[1]!.text).toContain('Escalated');
    const [remindLine, escalateLine] = replies.map((m) => m.text);
    expect(remindLine).toContain(`<@${BEN.id}>`);
    expect(remindLine).not.toContain(`<@${ANN.id}>`);
    expect(escalateLine).toContain(`<@${ONA.id}>`);
    expect(escalateLine).not.toContain(`<@${OTTO.id}>`);
    const toOwner = [...h.stub.messages().values()].filter((m) => m.channel === dmOf(OWNER.id));
    expect(toOwner.map((m) => m.text)).toEqual([
      'Your bot ci-bot: approvers reminded',
      'Your bot ci-bot: request escalated',
    ]);
  });
});
