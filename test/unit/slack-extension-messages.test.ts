/**
 * What approvers see in Slack of an extension that needs them (`extend.approval:
 * same-as-request`): the request in the thread with its own buttons, whose value names the
 * extension; its approvals and how it closed; the modals; and the line on the approval message.
 */
import type { View } from '@slack/types';
import { describe, expect, it } from 'vitest';
import type { ElevationView } from '../../core/model/elevation.js';
import type { PendingExtension } from '../../core/model/extend.js';
import {
  APPROVE_EXTENSION_ACTION,
  DENY_EXTENSION_ACTION,
  DENY_EXTENSION_CALLBACK,
  extensionButtonValue,
  parseExtensionButtonValue,
  renderExtensionApprovalReply,
  renderExtensionApproveModal,
  renderExtensionClosedReply,
  renderExtensionDenyModal,
  renderExtensionRequest,
} from '../../integrations/slack/extend-messages.js';
import {
  APPROVE_ACTION,
  DENY_ACTION,
  DENY_REASON_ACTION,
  DENY_REASON_BLOCK,
  LIMITS,
  VERIFY_ACTION,
  renderRequestMessage,
  type ApprovalRequestDetails,
} from '../../integrations/slack/messages.js';
import type { SlackContent } from '../../integrations/slack/slack-client.js';

const ID = 'el_0123456789abcdef01234567';

function pending(over: Partial<PendingExtension> = {}): PendingExtension {
  return {
    number: 2,
    durationSeconds: 1800,
    requestedBy: { kind: 'bot', id: 'etl-bot' },
    justification: 'the load is slower tonight',
    requestedAt: '2026-12-07T04:50:00.000Z',
    deadline: '2026-12-07T05:00:00.000Z',
    quorum: 2,
    groups: [
      { name: 'security', quorum: 1, approved: 0 },
      { name: 'sre', quorum: 1, approved: 0 },
    ],
    approvals: [],
    ...over,
  };
}

function details(over: Partial<ElevationView> = {}): ApprovalRequestDetails {
  return {
    elevation: {
      id: ID,
      workflowId: `elevation-${ID}`,
      status: 'active',
      botId: 'etl-bot',
      roleId: 'etl-load',
      owner: 'owner@example.org',
      environment: 'prod',
      durationSeconds: 3600,
      justification: 'nightly load',
      requestedAt: '2026-12-07T03:59:00.000Z',
      approval: {
        mode: 'approvers',
        quorum: 2,
        deadline: '2026-12-07T04:30:00.000Z',
        groups: [
          { name: 'security', quorum: 1, approved: 1 },
          { name: 'sre', quorum: 1, approved: 1 },
        ],
      },
      approvals: [
        { approver: 'alice@example.org', at: '2026-12-07T04:00:00.000Z', groups: ['security'] },
        { approver: 'bob@example.org', at: '2026-12-07T04:00:10.000Z', groups: ['sre'] },
      ],
      grantedAt: '2026-12-07T04:00:20.000Z',
      expiresAt: '2026-12-07T05:00:20.000Z',
      revokeAttempts: 0,
      extensions: 1,
      pendingExtension: pending(),
      ...over,
    },
    bot: { id: 'etl-bot', owner: 'owner@example.org', team: 'data', purpose: 'loads', environment: 'prod' },
    role: { id: 'etl-load', environment: 'prod', target: 'LDAP group cn=etl,ou=groups,dc=example,dc=org' },
    approverGroups: [
      { name: 'security', quorum: 1 },
      { name: 'sre', quorum: 1 },
    ],
    history: [],
  };
}

type ButtonLike = { action_id?: string; value?: string; style?: string; url?: string };

function buttons(content: SlackContent | View): ButtonLike[] {
  return content.blocks.flatMap((b) =>
    b.type === 'actions' ? ((b as unknown as { elements: ButtonLike[] }).elements ?? []) : [],
  );
}

/** Every mrkdwn or plain text in the blocks, and whether each mrkdwn one is verbatim. */
function texts(node: unknown): { type: string; text: string; verbatim?: boolean }[] {
  if (Array.isArray(node)) return node.flatMap(texts);
  if (typeof node !== 'object' || node === null) return [];
  const record = node as Record<string, unknown>;
  const own =
    (record.type === 'mrkdwn' || record.type === 'plain_text') && typeof record.text === 'string'
      ? [record as { type: string; text: string; verbatim?: boolean }]
      : [];
  return [...own, ...Object.values(record).flatMap(texts)];
}

function allText(content: SlackContent | View): string {
  const extra = 'text' in content && typeof content.text === 'string' ? [content.text] : [];
  return [...extra, ...texts(content.blocks).map((t) => t.text)].join('\n');
}

describe('the extension request in the thread', () => {
  it('when extension 2 waits for approvers, then the reply has Approve extension and Deny extension carrying `<id>:2`, not the request buttons', () => {
    const reply = renderExtensionRequest(details(), pending());

    expect(buttons(reply)).toEqual([
      expect.objectContaining({ action_id: APPROVE_EXTENSION_ACTION, value: `${ID}:2`, style: 'primary' }),
      expect.objectContaining({ action_id: DENY_EXTENSION_ACTION, value: `${ID}:2`, style: 'danger' }),
    ]);
    expect(APPROVE_EXTENSION_ACTION).not.toBe(APPROVE_ACTION);
    expect(DENY_EXTENSION_ACTION).not.toBe(DENY_ACTION);
    for (const b of buttons(reply)) expect(b.value!.length).toBeLessThanOrEqual(LIMITS.buttonValue);
  });

  it('when it is rendered, then it says who asks, for how long, why, the new end, the deadline and the quorum', () => {
    const text = allText(renderExtensionRequest(details(), pending()));

    expect(text).toContain('Extension 2');
    expect(text).toContain('bot `etl-bot`');
    expect(text).toContain('30 min');
    expect(text).toContain('the load is slower tonight');
    // The current end plus 30 minutes, and the approvers' deadline.
    expect(text).toContain('2026-12-07T05:30:20Z');
    expect(text).toContain('2026-12-07T05:00:00Z');
    expect(text).toContain('2 approvals (security 0 of 1, sre 0 of 1)');
  });

  it('when the justification holds Slack markup, then it is escaped and every mrkdwn text is verbatim', () => {
    const reply = renderExtensionRequest(
      details(),
      pending({
        justification: '<!channel> see <https://evil.example|the runbook> & <@U0ADMIN>',
        requestedBy: { kind: 'admin', id: '<!here>' },
      }),
    );
    const text = allText(reply);

    for (const markup of ['<!channel>', '<https://evil', '<@U0ADMIN>', '<!here>']) {
      expect(text).not.toContain(markup);
    }
    expect(text).toContain(
      '&lt;!channel&gt; see &lt;https://evil.example|the runbook&gt; &amp; &lt;@U0ADMIN&gt;',
    );
    for (const t of texts(reply.blocks).filter((t) => t.type === 'mrkdwn')) expect(t.verbatim).toBe(true);
  });

  it('when a justification is very long, then the reply stays within the section limit', () => {
    const reply = renderExtensionRequest(details(), pending({ justification: 'x'.repeat(10_000) }));
    for (const b of reply.blocks) {
      const text = (b as { text?: { text?: string } }).text?.text;
      if (text !== undefined) expect(text.length).toBeLessThanOrEqual(LIMITS.sectionText);
    }
    expect(reply.text.length).toBeLessThanOrEqual(LIMITS.fallbackText);
  });
});

describe('button values', () => {
  it('when a value is made, then it parses back to the same elevation and extension', () => {
    expect(parseExtensionButtonValue(extensionButtonValue(ID, 7))).toEqual({ elevationId: ID, extension: 7 });
  });

  it.each([
    ID,
    `${ID}:0`,
    `${ID}:-1`,
    `${ID}:1.5`,
    `${ID}:2:3`,
    `:2`,
    `${ID}:01`,
    42,
    undefined,
    `${ID}:9999999999`,
  ])('when the value is %s, then it names no extension', (value) => {
    expect(parseExtensionButtonValue(value)).toBeUndefined();
  });
});

describe('thread lines of an extension', () => {
  it('when an approval of extension 2 is accepted, then the line names the approver and the extension progress, not the request', () => {
    const line = renderExtensionApprovalReply(
      pending({
        approvals: [{ approver: 'carol@example.org', at: '2026-12-07T04:52:00.000Z', groups: ['sre'] }],
      }),
    );
    expect(line).toContain('Extension 2 approved by carol@example.org (1 of 2)');
  });

  it('when extension 2 is denied, then the line says by whom and why, escaped, and that the end stays', () => {
    const line = renderExtensionClosedReply(details({ pendingExtension: undefined }), {
      number: 2,
      outcome: 'denied',
      durationSeconds: 1800,
      by: { kind: 'human', id: 'dave@example.org' },
      reason: 'not tonight <!channel>',
      approvals: 0,
    });
    expect(line).toContain('Extension 2 denied by dave@example.org: not tonight &lt;!channel&gt;');
    expect(line).toContain('still ends');
    expect(line).not.toContain('<!channel>');
  });

  it('when extension 2 expires or fails, then the line says so', () => {
    const d = details({ pendingExtension: undefined });
    const base = { number: 2, durationSeconds: 1800, by: { kind: 'system', id: 'elevate' } } as const;
    const expired = renderExtensionClosedReply(d, {
      ...base,
      outcome: 'expired',
      reason: null,
      approvals: 1,
    });
    expect(expired).toContain('Extension 2 expired without its quorum (1 approval)');
    expect(expired).not.toContain('elevate');
    expect(
      renderExtensionClosedReply(d, {
        ...base,
        outcome: 'failed',
        reason: 'the target is unreachable',
        approvals: 2,
      }),
    ).toContain('Extension 2 was approved but could not be put in force: the target is unreachable');
  });
});

describe('modals', () => {
  it('when Approve extension was clicked, then the modal names the extension and links to the MFA login', () => {
    const modal = renderExtensionApproveModal(
      ID,
      2,
      'https://elevate.example/approvals/start?ticket=t',
      pending(),
    );
    expect((modal as { title: { text: string } }).title.text).toBe('Approve extension');
    expect(allText(modal)).toContain('*extension 2*');
    expect(allText(modal)).toContain('30 min more');
    expect(buttons(modal)).toEqual([
      expect.objectContaining({
        action_id: VERIFY_ACTION,
        url: 'https://elevate.example/approvals/start?ticket=t',
      }),
    ]);
    // No submit: nothing is approved in Slack, only on the page after the login.
    expect('submit' in modal).toBe(false);
  });

  it('when Deny extension was clicked, then the modal asks for a reason and carries `<id>:<n>`', () => {
    const modal = renderExtensionDenyModal(ID, 3);
    expect(modal.callback_id).toBe(DENY_EXTENSION_CALLBACK);
    expect(modal.private_metadata).toBe(`${ID}:3`);
    expect(parseExtensionButtonValue(modal.private_metadata)).toEqual({ elevationId: ID, extension: 3 });
    const input = modal.blocks.find((b) => b.type === 'input') as unknown as {
      block_id: string;
      element: { action_id: string };
    };
    expect(input.block_id).toBe(DENY_REASON_BLOCK);
    expect(input.element.action_id).toBe(DENY_REASON_ACTION);
  });
});

describe('the approval message', () => {
  it('when an extension waits for approvers, then the message says so; without one it does not', () => {
    expect(allText(renderRequestMessage(details()))).toContain(
      'Extension 2 (30 min more) waits for approval',
    );
    expect(allText(renderRequestMessage(details({ pendingExtension: undefined })))).not.toContain(
      'waits for approval',
    );
  });
});
