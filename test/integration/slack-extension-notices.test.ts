/**
 * An extension that needs approvers, as the Slack notifier posts it against the Slack Web API
 * stand-in: the request in each approval message's thread with its own buttons (in the channel,
 * or in each approver's direct message), its approvals and how it closed as further replies,
 * each once however often the activity is retried, and never taken for the request's steps or
 * another extension's.
 */
import { describe, expect, it } from 'vitest';
import type { ElevationView, RoleSnapshot, SlackMessageRef } from '../../core/model/elevation.js';
import type { PendingExtension } from '../../core/model/extend.js';
import type { ElevationNotice } from '../../core/ports/notifier.js';
import type { EventType } from '../../core/model/events.js';
import { APPROVE_EXTENSION_ACTION, DENY_EXTENSION_ACTION } from '../../integrations/slack/extend-messages.js';
import { useSlackNotifierHarness } from '../support/slack-notifier-harness.js';

const TOKEN = 'xoxb-extension-notices';
const ANN = { id: 'U0ANN0002', email: 'ann@example.org' };
const BEN = { id: 'U0BEN0002', email: 'ben@example.org' };
const OWNER = { id: 'U0OWNER02', email: 'owner@example.org' };
const CHANNEL = 'C0EXTEND01';
const ID = 'el_0123456789abcdef0extend1';

const h = useSlackNotifierHarness({ token: TOKEN, users: [ANN, BEN, OWNER], channels: [CHANNEL] });

const ROLE: RoleSnapshot = {
  id: 'etl-load',
  environment: 'production',
  target: { type: 'ldap', groupDn: 'cn=etl,ou=groups,dc=example,dc=org' },
  maxDurationSeconds: 3600,
  approval: {
    mode: 'approvers',
    groups: [{ name: 'leads', quorum: 2, members: [ANN.email, BEN.email] }],
    windowSeconds: 1800,
    ownerMayApprove: false,
  },
};

function pending(number: number, approvers: string[] = []): PendingExtension {
  return {
    number,
    durationSeconds: 1200,
    requestedBy: { kind: 'bot', id: 'etl-bot' },
    justification: 'late load <!channel>',
    requestedAt: new Date().toISOString(),
    deadline: new Date(Date.now() + 600_000).toISOString(),
    quorum: 2,
    groups: [{ name: 'leads', quorum: 2, approved: approvers.length }],
    approvals: approvers.map((a) => ({ approver: a, at: new Date().toISOString(), groups: ['leads'] })),
  };
}

function notice(
  event: EventType,
  messages: SlackMessageRef[],
  over: Partial<ElevationView> = {},
  extra: Pick<ElevationNotice, 'closedExtension'> = {},
): ElevationNotice {
  const now = new Date().toISOString();
  const elevation: ElevationView = {
    id: ID,
    workflowId: `elevation-${ID}`,
    status: 'active',
    botId: 'etl-bot',
    roleId: ROLE.id,
    owner: OWNER.email,
    environment: 'production',
    durationSeconds: 3600,
    justification: 'nightly load',
    requestedAt: now,
    approval: {
      mode: 'approvers',
      quorum: 2,
      deadline: now,
      groups: [{ name: 'leads', quorum: 2, approved: 2 }],
    },
    // The request's own two approvals: an extension's steps must not be keyed by them.
    approvals: [
      { approver: ANN.email, at: now, groups: ['leads'] },
      { approver: BEN.email, at: now, groups: ['leads'] },
    ],
    grantedAt: now,
    expiresAt: new Date(Date.now() + 1_800_000).toISOString(),
    revokeAttempts: 0,
    ...over,
  };
  return {
    elevation,
    bot: {
      id: 'etl-bot',
      owner: OWNER.email,
      team: 'data',
      purpose: 'loads',
      environment: 'production',
      principal: 'cn=etl-bot,ou=bots,dc=example,dc=org',
    },
    role: ROLE,
    messages,
    event,
    notifyOwner: false,
    ...extra,
  };
}

type Button = { action_id?: string; value?: string };

function buttonsOf(blocks: unknown[]): Button[] {
  return blocks.flatMap((b) =>
    (b as { type?: string }).type === 'actions' ? ((b as { elements: Button[] }).elements ?? []) : [],
  );
}

/** The replies in the thread of `ref`, in order. */
function thread(ref: SlackMessageRef) {
  return [...h.stub.messages().values()].filter((m) => m.channel === ref.channel && m.threadTs === ref.ts);
}

describe('an extension waiting for approvers, in the approval channel', () => {
  it('when it is asked for, approved once, and denied, then the thread has each step once with the buttons on the request only, and a retried step posts nothing more', async () => {
    const notifier = h.notifier(CHANNEL);
    const messages = await notifier.announce(notice('elevation.requested', []));
    expect(messages).toHaveLength(1);
    // The request's own approval step, already in the thread.
    await notifier.publish(notice('approval.accepted', messages));

    const requested = notice('extension.requested', messages, { pendingExtension: pending(2) });
    await notifier.publish(requested);
    await notifier.publish(requested);
    const approved = notice('approval.accepted', messages, { pendingExtension: pending(2, [ANN.email]) });
    await notifier.publish(approved);
    await notifier.publish(approved);
    const closed = notice(
      'extension.closed',
      messages,
      {},
      {
        closedExtension: {
          number: 2,
          outcome: 'denied',
          durationSeconds: 1200,
          by: { kind: 'human', id: BEN.email },
          reason: 'not tonight',
          approvals: 1,
        },
      },
    );
    await notifier.publish(closed);
    await notifier.publish(closed);

    const replies = thread(messages[0]!);
    expect(replies).toHaveLength(4);
    const [requestStep, ask, approval, denial] = replies;
    expect(requestStep!.text).toContain('Approved by');
    expect(buttonsOf(requestStep!.blocks)).toEqual([]);
    expect(buttonsOf(ask!.blocks)).toEqual([
      expect.objectContaining({ action_id: APPROVE_EXTENSION_ACTION, value: `${ID}:2` }),
      expect.objectContaining({ action_id: DENY_EXTENSION_ACTION, value: `${ID}:2` }),
    ]);
    expect(JSON.stringify(ask!.blocks)).toContain('late load &lt;!channel&gt;');
    expect(JSON.stringify(ask!.blocks)).not.toContain('<!channel>');
    expect(approval!.text).toContain(`Extension 2 approved by ${ANN.email} (1 of 2)`);
    expect(denial!.text).toContain(`Extension 2 denied by ${BEN.email}: not tonight`);
    expect(buttonsOf(approval!.blocks)).toEqual([]);
  });

  it('when a second extension is asked for after the first closed, then it gets its own request and approval replies', async () => {
    const notifier = h.notifier(CHANNEL);
    const messages = await notifier.announce(notice('elevation.requested', []));
    await notifier.publish(notice('extension.requested', messages, { pendingExtension: pending(1) }));
    await notifier.publish(
      notice('approval.accepted', messages, { pendingExtension: pending(1, [ANN.email]) }),
    );
    await notifier.publish(
      notice(
        'extension.closed',
        messages,
        {},
        {
          closedExtension: {
            number: 1,
            outcome: 'expired',
            durationSeconds: 1200,
            by: { kind: 'system', id: 'elevate' },
            reason: null,
            approvals: 1,
          },
        },
      ),
    );
    await notifier.publish(notice('extension.requested', messages, { pendingExtension: pending(2) }));
    await notifier.publish(
      notice('approval.accepted', messages, { pendingExtension: pending(2, [ANN.email]) }),
    );

    const texts = thread(messages[0]!).map((m) => m.text);
    expect(texts).toHaveLength(5);
    expect(texts[2]).toContain('Extension 1 expired without its quorum (1 approval)');
    expect(texts[3]).toContain('Extension 2');
    expect(texts[4]).toContain(`Extension 2 approved by ${ANN.email} (1 of 2)`);
    // While an extension waits, the approval message says so.
    const main = h.stub.messages().get(`${messages[0]!.channel}:${messages[0]!.ts}`)!;
    expect(JSON.stringify(main.blocks)).toContain('Extension 2');
  });
});

describe('an extension waiting for approvers, in direct messages', () => {
  it("when it is asked for, then each approver's direct message gets the request with the buttons in its thread", async () => {
    const notifier = h.notifier();
    const messages = await notifier.announce(notice('elevation.requested', []));
    expect(messages).toHaveLength(2);
    await notifier.publish(notice('extension.requested', messages, { pendingExtension: pending(3) }));

    for (const ref of messages) {
      const replies = thread(ref);
      expect(replies).toHaveLength(1);
      expect(buttonsOf(replies[0]!.blocks).map((b) => [b.action_id, b.value])).toEqual([
        [APPROVE_EXTENSION_ACTION, `${ID}:3`],
        [DENY_EXTENSION_ACTION, `${ID}:3`],
      ]);
    }
  });
});
