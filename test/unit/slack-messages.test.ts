import type { View } from '@slack/types';
import { describe, expect, it } from 'vitest';
import {
  APPROVE_ACTION,
  DENY_ACTION,
  DENY_CALLBACK,
  LIMITS,
  VERIFY_ACTION,
  describeTarget,
  escapeMrkdwn,
  formatDuration,
  formatTime,
  renderApproveModal,
  renderDenyModal,
  renderDriftAlert,
  renderEventReply,
  renderOwnerNotice,
  renderRequestMessage,
  truncate,
  type ApprovalRequestDetails,
} from '../../integrations/slack/messages.js';
import type { SlackContent } from '../../integrations/slack/slack-client.js';
import type { DriftAlert } from '../../core/model/reconcile.js';
import type { ElevationStatus, ElevationView } from '../../core/model/elevation.js';

const ID = 'el_0123456789abcdef01234567';

function view(overrides: Partial<ElevationView> = {}): ElevationView {
  return {
    id: ID,
    workflowId: `elevation-${ID}`,
    status: 'pending_approval',
    botId: 'invoice-bot',
    roleId: 'erp-writer',
    owner: 'olivia@example.org',
    environment: 'production',
    durationSeconds: 5400,
    justification: 'Month-end close needs write access to post accruals.',
    ticket: 'FIN-1234',
    requestId: 'req-77',
    requestedAt: '2024-05-01T10:00:00.000Z',
    approval: {
      mode: 'approvers',
      quorum: 3,
      deadline: '2024-05-01T11:00:00.000Z',
      groups: [
        { name: 'security', quorum: 2, approved: 0 },
        { name: 'finance', quorum: 1, approved: 0 },
      ],
    },
    approvals: [],
    revokeAttempts: 0,
    ...overrides,
  };
}

function details(overrides: Partial<ElevationView> = {}): ApprovalRequestDetails {
  return {
    elevation: view(overrides),
    bot: {
      id: 'invoice-bot',
      owner: 'olivia@example.org',
      team: 'Finance automation',
      purpose: 'Posts supplier invoices into the ERP.',
      environment: 'production',
    },
    role: {
      id: 'erp-writer',
      description: 'Write access to the ERP ledger',
      environment: 'production',
      target: 'LDAP group cn=erp-writers,ou=groups,dc=example,dc=org',
    },
    approverGroups: [
      { name: 'security', quorum: 2 },
      { name: 'finance', quorum: 1 },
    ],
    history: [],
  };
}

/** Every text Slack would interpret: mrkdwn and plain text objects anywhere in the blocks. */
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

type ButtonLike = { type: string; action_id?: string; value?: string; style?: string; url?: string };

function buttons(content: SlackContent | View): ButtonLike[] {
  return content.blocks.flatMap((b) =>
    b.type === 'actions' ? ((b as unknown as { elements: ButtonLike[] }).elements ?? []) : [],
  );
}

/** Checks the Block Kit limits Slack enforces on a message. */
function expectWithinLimits(content: SlackContent): void {
  expect(content.blocks.length).toBeLessThanOrEqual(LIMITS.blocks);
  for (const block of content.blocks) {
    const b = block as unknown as Record<string, unknown>;
    const text = (b.text as { text?: string } | undefined)?.text;
    if (b.type === 'section') {
      if (text !== undefined) expect(text.length).toBeLessThanOrEqual(LIMITS.sectionText);
      const fields = (b.fields as { text: string }[] | undefined) ?? [];
      expect(fields.length).toBeLessThanOrEqual(LIMITS.fields);
      for (const f of fields) expect(f.text.length).toBeLessThanOrEqual(LIMITS.field);
    }
    if (b.type === 'header') expect(text?.length ?? 0).toBeLessThanOrEqual(LIMITS.header);
    if (b.type === 'context') {
      for (const t of texts(b.elements)) expect(t.text.length).toBeLessThanOrEqual(LIMITS.contextText);
    }
  }
  for (const button of buttons(content)) {
    expect(button.value?.length ?? 0).toBeLessThanOrEqual(LIMITS.buttonValue);
  }
}

const ALL_STATUSES: ElevationStatus[] = [
  'pending_approval',
  'approved',
  'active',
  'revoking',
  'revoked',
  'denied',
  'expired',
  'failed',
];

describe('escaping user text', () => {
  it('when a justification holds Slack markup, then it is shown as text and cannot ping or link', () => {
    const hostile =
      '<!channel> urgent <@U0ADMIN> see <https://evil.example/login|the ERP> & <!subteam^S1|@security> @here';
    const d = details({ justification: hostile, ticket: '<!here>' });
    d.bot.purpose = '<!everyone> purpose';
    d.bot.team = '<#C0GENERAL>';
    d.role.description = '<https://phish.example|docs>';
    const message = renderRequestMessage(d);
    const everything = allText(message);

    for (const markup of [
      '<!channel>',
      '<@U0ADMIN>',
      '<https://evil',
      '<!subteam',
      '<!here>',
      '<!everyone>',
    ]) {
      expect(everything).not.toContain(markup);
    }
    expect(everything).toContain('&lt;!channel&gt; urgent &lt;@U0ADMIN&gt;');
    expect(everything).toContain('&amp;');
    expect(everything).toContain('&lt;https://phish.example|docs&gt;');
    // No automatic linking of @here, #channels or URLs in any mrkdwn text.
    for (const t of texts(message.blocks).filter((t) => t.type === 'mrkdwn')) expect(t.verbatim).toBe(true);
  });

  it('when text is escaped, then exactly &, < and > are replaced', () => {
    expect(escapeMrkdwn('a & b < c > d * _ ~ `')).toBe('a &amp; b &lt; c &gt; d * _ ~ `');
    expect(escapeMrkdwn('&amp;')).toBe('&amp;amp;');
  });

  it('when the event type or history is hostile, then thread replies and owner notices escape it too', () => {
    const d = details();
    d.history = [{ id: '<!channel>', roleId: 'r', status: '<!here>', requestedAt: 'not a date <!x>' }];
    expect(renderEventReply('<!channel>', d)).not.toContain('<!channel>');
    expect(allText(renderRequestMessage(d))).not.toMatch(/<!(channel|here|x)>/);
    const notice = renderOwnerNotice('elevation.requested', details({ justification: '<!channel>' }));
    expect(allText(notice)).not.toContain('<!channel>');
  });
});

describe('buttons', () => {
  it('when the request is pending, then it has Approve (primary) and Deny (danger) carrying the elevation id', () => {
    const message = renderRequestMessage(details());

    const found = buttons(message);
    expect(found).toEqual([
      expect.objectContaining({ type: 'button', action_id: APPROVE_ACTION, value: ID, style: 'primary' }),
      expect.objectContaining({ type: 'button', action_id: DENY_ACTION, value: ID, style: 'danger' }),
    ]);
  });

  it.each(ALL_STATUSES.filter((s) => s !== 'pending_approval'))(
    'when the request is %s, then it has no buttons',
    (status) => {
      const message = renderRequestMessage(details({ status }));
      expect(buttons(message)).toEqual([]);
      expect(message.blocks.some((b) => b.type === 'actions')).toBe(false);
    },
  );
});

describe('state', () => {
  const approvals = [
    {
      approver: 'alice@example.org',
      at: '2024-05-01T10:05:00.000Z',
      groups: ['security'],
      evidence: {
        mfaMethod: 'totp',
        amr: ['pwd', 'otp'],
        acr: 'urn:elevate:mfa',
        authTime: '2024-05-01T10:04:30Z',
      },
    },
    {
      approver: 'bob@example.org',
      at: '2024-05-01T10:07:00.000Z',
      groups: ['finance'],
      evidence: { mfaMethod: 'webauthn', amr: ['hwk'], authTime: '2024-05-01T10:06:40Z' },
    },
  ];

  it('when people approved, then each shows with the MFA method, amr, acr and the time they signed in', () => {
    const message = renderRequestMessage(
      details({
        status: 'active',
        approvals,
        grantedAt: '2024-05-01T10:08:00.000Z',
        expiresAt: '2024-05-01T11:38:00.000Z',
      }),
    );
    const text = allText(message);

    expect(text).toContain('*alice@example.org* (security)');
    expect(text).toContain('MFA: totp');
    expect(text).toContain('amr pwd, otp');
    expect(text).toContain('acr urn:elevate:mfa');
    const authTime = Date.parse('2024-05-01T10:04:30Z') / 1000;
    expect(text).toContain(`signed in <!date^${authTime}^{date_short_pretty} {time}|2024-05-01T10:04:30Z>`);
    expect(text).toContain('*bob@example.org* (finance)');
    expect(text).toContain('MFA: webauthn');
    expect(text).toContain(`Granted at ${formatTime('2024-05-01T10:08:00.000Z')}`);
    expect(text).toContain(`Expires at ${formatTime('2024-05-01T11:38:00.000Z')}`);
  });

  it('when an approval has no evidence, then the message says so', () => {
    const text = allText(
      renderRequestMessage(
        details({ approvals: [{ approver: 'carol@example.org', at: '2024-05-01T10:05:00Z', groups: [] }] }),
      ),
    );
    expect(text).toContain('*carol@example.org*');
    expect(text).toContain('no MFA evidence recorded');
  });

  it('when groups have approvals, then each group shows its progress against its quorum', () => {
    const d = details({
      approvals: [approvals[0]!],
      approval: {
        mode: 'approvers',
        quorum: 3,
        deadline: '2024-05-01T11:00:00.000Z',
        groups: [
          { name: 'security', quorum: 2, approved: 1 },
          { name: 'finance', quorum: 1, approved: 0 },
        ],
      },
    });
    const text = allText(renderRequestMessage(d));
    expect(text).toContain('Group *security*: 1 of 2');
    expect(text).toContain('Group *finance*: 0 of 1');
    expect(text).toContain('In all: 1 of 3');
    expect(text).toContain('needs 3 approvals (security 2, finance 1)');
  });

  it('when the view does not report group progress, then it is counted from the approvals', () => {
    const d = details({
      approvals,
      approval: { mode: 'approvers', quorum: 3, deadline: '2024-05-01T11:00:00Z', groups: [] },
    });
    const text = allText(renderRequestMessage(d));
    expect(text).toContain('Group *security*: 1 of 2');
    expect(text).toContain('Group *finance*: 1 of 1 :white_check_mark:');
  });

  it('when the elevation ended, then the state says how and when', () => {
    const revoked = allText(
      renderRequestMessage(
        details({
          status: 'revoked',
          endReason: 'given_back',
          grantedAt: '2024-05-01T10:08:00Z',
          endedAt: '2024-05-01T10:30:00Z',
        }),
      ),
    );
    expect(revoked).toContain('*Ended* — given back early by the bot');
    expect(revoked).toContain(`Ended at ${formatTime('2024-05-01T10:30:00Z')}`);

    const denied = allText(
      renderRequestMessage(
        details({ status: 'denied', endReason: 'denied', endedAt: '2024-05-01T10:10:00Z' }),
      ),
    );
    expect(denied).toContain('*Denied*');

    const failed = allText(
      renderRequestMessage(
        details({ status: 'failed', endReason: 'grant_failed', lastError: 'no such group <x>' }),
      ),
    );
    expect(failed).toContain('*Failed*');
    expect(failed).toContain('no such group &lt;x&gt;');
  });

  it('when the role is approved automatically, then the approvals section says so', () => {
    const text = allText(renderRequestMessage(details({ status: 'active', approval: { mode: 'auto' } })));
    expect(text).toContain('Approved automatically by policy');
  });

  it('when the bot has a long history, then the five newest earlier elevations are listed', () => {
    const d = details();
    d.history = Array.from({ length: 8 }, (_, i) => ({
      id: `el_hist${i}`,
      roleId: 'erp-writer',
      status: i === 0 ? 'denied' : 'revoked',
      requestedAt: `2024-04-0${i + 1}T09:00:00Z`,
      endReason: i === 0 ? 'denied' : 'expired',
    }));
    const text = allText(renderRequestMessage(d));
    for (let i = 0; i < 5; i++) expect(text).toContain(`el_hist${i}`);
    expect(text).not.toContain('el_hist5');
    expect(text).toContain('Denied (denied)');
    expect(text).toContain('Ended (the granted window ran out)');
  });

  it('when the bot has no history, then the message says it is the first elevation', () => {
    expect(allText(renderRequestMessage(details()))).toContain('first elevation of this bot');
  });

  it('shows bot, owner, team, purpose, role, description, target, environment, ticket and justification', () => {
    const text = allText(renderRequestMessage(details()));
    for (const expected of [
      '`invoice-bot`',
      'olivia@example.org',
      'Finance automation',
      'Posts supplier invoices into the ERP.',
      '`erp-writer`',
      'Write access to the ERP ledger',
      'LDAP group cn=erp-writers,ou=groups,dc=example,dc=org',
      'production',
      'FIN-1234',
      '>Month-end close needs write access to post accruals.',
      `Decide by ${formatTime('2024-05-01T11:00:00.000Z')}`,
      ID,
    ]) {
      expect(text).toContain(expected);
    }
  });
});

describe('limits', () => {
  it('when the justification is 10 KB, then every block stays inside Block Kit limits and the text is cut with …', () => {
    const long = 'x'.repeat(10_240);
    const message = renderRequestMessage(details({ justification: long, ticket: 't'.repeat(5000) }));

    expectWithinLimits(message);
    const justification = texts(message.blocks).find((t) => t.text.startsWith('*Justification*'));
    expect(justification?.text.endsWith('…')).toBe(true);
    expect(justification!.text.length).toBeGreaterThan(2500);
    expect(message.text.length).toBeLessThanOrEqual(LIMITS.fallbackText);
    expectWithinLimits(renderOwnerNotice('elevation.requested', details({ justification: long })));
  });

  it('when long text is made of characters that expand when escaped, then no escape is cut in half', () => {
    const message = renderRequestMessage(details({ justification: '&<>'.repeat(4000) }));
    expectWithinLimits(message);
    const justification = texts(message.blocks).find((t) => t.text.startsWith('*Justification*'))!.text;
    expect(justification.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
  });

  it('when many approvals and long names pile up, then the approvals section is cut between lines', () => {
    const approvals = Array.from({ length: 60 }, (_, i) => ({
      approver: `${'a'.repeat(100)}${i}@example.org`,
      at: '2024-05-01T10:05:00Z',
      groups: ['security'],
      evidence: { mfaMethod: 'totp', amr: ['pwd', 'otp'], authTime: '2024-05-01T10:04:30Z' },
    }));
    const message = renderRequestMessage(details({ status: 'active', approvals }));
    expectWithinLimits(message);
    const section = texts(message.blocks).find((t) => t.text.startsWith('*Approvals*'))!.text;
    expect(section).toMatch(/_…and \d+ more_$/);
    // Every date token that was started is complete.
    const started = section.split('<!date^').length - 1;
    const complete = section.match(/<!date\^\d+\^\{date_short_pretty\} \{time\}\|[0-9TZ:-]+>/g) ?? [];
    expect(started).toBeGreaterThan(10);
    expect(complete).toHaveLength(started);
  });

  it('when text is truncated, then it never splits a surrogate pair', () => {
    expect(truncate('ab😀cd', 4)).toBe('ab…');
    expect(truncate('short', 10)).toBe('short');
    expect(truncate('a&amp;b', 4)).toBe('a…');
  });
});

describe('durations and times', () => {
  it.each([
    [5400, '1 h 30 min'],
    [45, '45 s'],
    [3600, '1 h'],
    [3661, '1 h 1 min 1 s'],
    [86_400 + 4 * 3600, '1 d 4 h'],
    [0, '0 s'],
  ])('when the duration is %i s, then it reads %s', (seconds, words) => {
    expect(formatDuration(seconds)).toBe(words);
  });

  it('when a request lasts 90 minutes, then the message says 1 h 30 min', () => {
    expect(allText(renderRequestMessage(details()))).toContain('*Duration*\n1 h 30 min');
  });

  it('when an instant is shown, then it is a Slack date with the exact UTC time as fallback and in text', () => {
    expect(formatTime('2024-05-01T10:00:00.000Z')).toBe(
      '<!date^1714557600^{date_short_pretty} {time}|2024-05-01T10:00:00Z> (2024-05-01T10:00:00Z)',
    );
    expect(formatTime('garbage <x>')).toBe('garbage &lt;x&gt;');
  });
});

describe('thread replies', () => {
  const events = [
    'elevation.requested',
    'approval.accepted',
    'elevation.approved',
    'elevation.denied',
    'elevation.expired',
    'grant.confirmed',
    'grant.failed',
    'elevation.failed',
    'revoke.started',
    'elevation.revoked',
  ];

  it('when any known event happens, then the reply is one distinct line', () => {
    const d = details({
      approvals: [
        {
          approver: 'alice@example.org',
          at: '2024-05-01T10:05:00Z',
          groups: ['security'],
          evidence: { mfaMethod: 'totp' },
        },
      ],
      grantedAt: '2024-05-01T10:08:00Z',
      expiresAt: '2024-05-01T11:38:00Z',
      endReason: 'admin_revoked',
      lastError: 'target\nunreachable',
    });
    const replies = events.map((e) => renderEventReply(e, d));
    for (const reply of replies) expect(reply).not.toContain('\n');
    expect(new Set(replies).size).toBe(events.length);
    expect(replies[1]).toContain('alice@example.org (1 of 3)');
    expect(replies[1]).toContain('MFA: totp');
    expect(replies[9]).toContain('revoked by an admin');
    expect(renderEventReply('something.new', d)).toContain('something.new');
  });
});

describe('modals', () => {
  it('when the deny modal opens, then it asks for a required reason of at most 500 characters', () => {
    const modal = renderDenyModal(ID);
    expect(modal).toMatchObject({
      type: 'modal',
      callback_id: DENY_CALLBACK,
      private_metadata: ID,
      submit: { type: 'plain_text', text: 'Deny' },
    });
    const inputs = modal.blocks.filter((b) => b.type === 'input');
    expect(inputs).toEqual([
      expect.objectContaining({
        block_id: 'reason',
        element: expect.objectContaining({
          type: 'plain_text_input',
          action_id: 'reason',
          multiline: true,
          max_length: 500,
        }) as unknown,
      }),
    ]);
    expect((inputs[0] as { optional?: boolean }).optional ?? false).toBe(false);
  });

  it('when the approve modal opens, then it links to the MFA login and has no submit button', () => {
    const loginUrl = 'https://elevate.example.org/approve/login?e=el_1&s=abc';
    const modal = renderApproveModal(ID, loginUrl, details({ justification: '<!channel>' }));
    expect(modal.type).toBe('modal');
    expect('submit' in modal ? modal.submit : undefined).toBeUndefined();
    expect(buttons(modal)).toEqual([
      expect.objectContaining({ type: 'button', action_id: VERIFY_ACTION, url: loginUrl }),
    ]);
    expect(texts(modal.blocks).find((t) => t.text === 'Verify with MFA')).toBeDefined();
    const text = allText(modal);
    expect(text).toContain('fresh MFA login');
    expect(text).toContain('`invoice-bot`');
    expect(text).not.toContain('<!channel>');
    const title = (modal as { title: { text: string } }).title.text;
    expect(title.length).toBeLessThanOrEqual(24);

    const bare = renderApproveModal(ID, loginUrl);
    expect(buttons(bare)).toHaveLength(1);
  });
});

describe('drift alerts', () => {
  const GROUP = 'cn=erp-writers,ou=groups,dc=example,dc=org';
  const HOLDER = 'uid=mallory,ou=people,dc=example,dc=org';

  function drift(overrides: Partial<DriftAlert> = {}): DriftAlert {
    return {
      roleId: 'erp-writer',
      target: { type: 'ldap', groupDn: GROUP },
      principal: HOLDER,
      bot: false,
      outcome: 'alerted',
      at: '2024-05-01T10:00:00.000Z',
      ...overrides,
    };
  }

  it('when a holder is left in place, then the message names role, target, holder and time, and says it is still there', () => {
    const message = renderDriftAlert(drift());
    const text = allText(message);

    expect(text).toContain('`erp-writer`');
    expect(text).toContain(`LDAP group ${GROUP}`);
    expect(text).toContain(`\`${HOLDER}\``);
    expect(text).toContain('Left in place');
    expect(text).not.toMatch(/removed/i);
    expect(text).toContain('No: not a bot the role is for');
    expect(text).toContain('<!date^1714557600^{date_short_pretty} {time}|2024-05-01T10:00:00Z>');
    expect(text).toContain('`drift.detected`');
    expect(text).not.toContain('drift.reverted');
    expect(message.text).toBe(`Drift in role erp-writer: ${HOLDER} holds it without an elevation`);
    expect(buttons(message)).toEqual([]);
    expect(texts(message.blocks).find((t) => t.text.startsWith('*What is held*'))).toBeUndefined();
    for (const t of texts(message.blocks).filter((t) => t.type === 'mrkdwn')) expect(t.verbatim).toBe(true);
    expectWithinLimits(message);
  });

  it("when a bot's membership was removed, then the message says it was removed and read back, and that it is one of the role's bots", () => {
    const message = renderDriftAlert(
      drift({
        target: { type: 'postgres', server: 'warehouse', role: 'warehouse_read' },
        principal: 'etl_bot',
        bot: true,
        outcome: 'reverted',
      }),
    );
    const text = allText(message);

    expect(text).toContain('PostgreSQL role warehouse_read on server warehouse');
    expect(text).toContain('Removed, and read back: gone');
    expect(text).toContain('Yes: it may request the role, but holds it without an elevation');
    expect(text).toContain('`drift.reverted`');
    expect(text).not.toContain('Left in place');
    expect(message.text).toBe(
      'Drift removed in role erp-writer: etl_bot held it without an elevation and was removed',
    );
    expect(message.text).not.toBe(renderDriftAlert(drift({ principal: 'etl_bot' })).text);
    expectWithinLimits(message);
  });

  it('when the alert names what exactly is held, then it is shown in a code block', () => {
    const policyArn = 'arn:aws:iam::123456789012:policy/elevate/deploy-el_1';
    const message = renderDriftAlert(
      drift({
        target: { type: 'aws-iam', mode: 'attach', policyDocument: '{"Version":"2012-10-17"}' },
        principal: 'arn:aws:iam::123456789012:role/deploy-bot',
        detail: policyArn,
      }),
    );
    const held = texts(message.blocks).find((t) => t.text.startsWith('*What is held*'));
    expect(held?.text).toBe(`*What is held*\n\`\`\`${policyArn}\`\`\``);
    expect(allText(message)).toContain("AWS IAM policy attached to the role's bots");
    expect(allText(message)).not.toContain('for the window');
    // The approval request keeps describing the grant, not the drift.
    expect(describeTarget({ type: 'aws-iam', mode: 'attach', policyDocument: '{}' })).toContain(
      'for the window',
    );
  });

  it('when the drift is in the policies attached to a bot’s AWS principal, then the alert says so (as alerts of earlier runs did)', () => {
    const now = renderDriftAlert(drift({ target: { type: 'aws-iam-principal' }, detail: 'inline:extra' }));
    expect(allText(now)).toContain("AWS IAM policy attached to the role's bots");
    expect(allText(now)).not.toContain('for the window');
  });

  it('when the holder, role or detail hold Slack markup, then it is shown as text and cannot ping or link', () => {
    const message = renderDriftAlert(
      drift({
        roleId: 'erp <!here>',
        principal: 'uid=<!channel>,ou=<@U0ADMIN>',
        target: { type: 'ldap', groupDn: 'cn=<https://evil.example|x>' },
        detail: '<!subteam^S1|@security> & more',
        outcome: 'reverted',
      }),
    );
    const mrkdwnText = [
      message.text,
      ...texts(message.blocks)
        .filter((t) => t.type === 'mrkdwn')
        .map((t) => t.text),
    ].join('\n');
    for (const markup of ['<!here>', '<!channel>', '<@U0ADMIN>', '<https://evil', '<!subteam']) {
      expect(mrkdwnText).not.toContain(markup);
    }
    expect(mrkdwnText).toContain('uid=&lt;!channel&gt;,ou=&lt;@U0ADMIN&gt;');
    expect(mrkdwnText).toContain('&lt;!subteam^S1|@security&gt; &amp; more');
    expect(mrkdwnText).toContain('cn=&lt;https://evil.example|x&gt;');
    expect(message.text).toContain('erp &lt;!here&gt;');
  });

  it('when every field is huge, then the message stays inside Block Kit limits and the detail is cut inside its code block', () => {
    const message = renderDriftAlert(
      drift({
        roleId: 'r'.repeat(5000),
        principal: '&<>'.repeat(3000),
        target: { type: 'ldap', groupDn: `cn=${'g'.repeat(5000)}` },
        detail: '{"Statement":"<&>"}\n'.repeat(1000),
      }),
    );
    expectWithinLimits(message);
    expect(message.text.length).toBeLessThanOrEqual(LIMITS.fallbackText);
    expect(message.text.endsWith('…')).toBe(true);
    const held = texts(message.blocks).find((t) => t.text.startsWith('*What is held*'))!.text;
    expect(held.length).toBeGreaterThan(2500);
    expect(held.endsWith('…```')).toBe(true);
    // No escape was cut in half: once escapes and the date token are taken out, no &, < or > is left.
    for (const t of texts(message.blocks)) {
      const rest = t.text.replace(/<!date\^\d+\^\{date_short_pretty\} \{time\}\|[0-9TZ:-]+>/g, '');
      expect(rest.replace(/&(amp|lt|gt);/g, '')).not.toMatch(/[&<>]/);
    }
  });
});
