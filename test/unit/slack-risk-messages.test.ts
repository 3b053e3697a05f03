/**
 * The risk score in Slack's messages: the "Risk" section of an approval request and of the
 * owner's notice of a request the score denied, and the alert about such a request. Reasons
 * can quote what a bot sent (its user agent), so they are escaped like every other text.
 */
import type { Block, KnownBlock } from '@slack/types';
import { describe, expect, it } from 'vitest';
import type { ElevationView } from '../../core/model/elevation.js';
import type { RiskDecision } from '../../core/model/risk.js';
import type { RiskAlert } from '../../core/ports/notifier.js';
import {
  LIMITS,
  renderEventReply,
  renderOwnerNotice,
  renderRequestMessage,
  type ApprovalRequestDetails,
} from '../../integrations/slack/messages.js';
import { RISK_REASONS_SHOWN, renderRiskAlert } from '../../integrations/slack/risk-messages.js';
import type { SlackContent } from '../../integrations/slack/slack-client.js';

const ID = 'el_0123456789abcdef0123risk';

const ESCALATED: RiskDecision = {
  score: 72,
  level: 'high',
  baselined: true,
  route: 'escalated',
  routeReason: 'score 72 is above the high threshold 60: the security group joins the approvers',
  reasons: [
    { code: 'new_network', points: 25, text: 'first request from 203.0.113.0/24 in 30 days' },
    {
      code: 'unusual_hour',
      points: 18,
      text: 'requested at 03:00 UTC on a Sunday; it usually asks 09:00–17:00',
    },
    { code: 'new_role', points: 12.5, text: 'role erp-writer never requested by this bot in 30 days' },
    { code: 'long_duration', points: 9, text: 'asked for 8 h; it usually asks for 1 h' },
    { code: 'production_environment', points: 5, text: 'production environment production' },
    { code: 'new_user_agent', points: 3, text: 'first request with user agent curl/8.5.0' },
  ],
};

const DENIED: RiskDecision = {
  score: 91,
  level: 'critical',
  baselined: true,
  route: 'denied',
  routeReason: 'score 91 is above the critical threshold 85',
  reasons: [
    { code: 'new_workload', points: 40, text: 'first request from workflow evil/repo' },
    { code: 'new_network', points: 30, text: 'first request from 198.51.100.0/24 in 30 days' },
  ],
};

function view(overrides: Partial<ElevationView> = {}): ElevationView {
  return {
    id: ID,
    workflowId: `elevation-${ID}`,
    status: 'pending_approval',
    botId: 'invoice-bot',
    roleId: 'erp-writer',
    owner: 'olivia@example.org',
    environment: 'production',
    durationSeconds: 28_800,
    justification: 'Month-end close',
    requestedAt: '2024-05-05T03:00:00.000Z',
    approval: {
      mode: 'approvers',
      quorum: 2,
      deadline: '2024-05-05T04:00:00.000Z',
      groups: [
        { name: 'finance', quorum: 1, approved: 0 },
        { name: 'security', quorum: 1, approved: 0 },
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
    role: { id: 'erp-writer', environment: 'production', target: 'LDAP group cn=erp-writers' },
    approverGroups: [
      { name: 'finance', quorum: 1 },
      { name: 'security', quorum: 1 },
    ],
    history: [],
  };
}

/** An alert of a request the score denied; `risk: null` for an elevation without a score. */
function alert(overrides: Partial<RiskAlert> = {}, risk: RiskDecision | null = DENIED): RiskAlert {
  return {
    elevation: view({
      status: 'denied',
      endReason: 'denied',
      endedAt: '2024-05-05T03:00:01.000Z',
      ...(risk ? { risk } : {}),
    }),
    bot: {
      id: 'invoice-bot',
      owner: 'olivia@example.org',
      team: 'Finance automation',
      purpose: 'Posts supplier invoices into the ERP.',
      environment: 'production',
      principal: 'uid=invoice-bot,ou=bots,dc=example,dc=org',
    },
    role: {
      id: 'erp-writer',
      environment: 'production',
      target: { type: 'ldap', groupDn: 'cn=erp-writers,ou=groups,dc=example,dc=org' },
      maxDurationSeconds: 28_800,
      approval: {
        mode: 'approvers',
        groups: [{ name: 'finance', quorum: 1 }],
        windowSeconds: 3600,
        ownerMayApprove: false,
      },
    },
    lockedDown: false,
    ...overrides,
  };
}

/**
 * Every mrkdwn text in the blocks (plain text, as in headers, is never read as markup), or with
 * `plain` the plain texts too.
 */
function texts(blocks: (KnownBlock | Block)[], plain = false): string[] {
  const out: string[] = [];
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (typeof node !== 'object' || node === null) return;
    const r = node as Record<string, unknown>;
    if ((r.type === 'mrkdwn' || (plain && r.type === 'plain_text')) && typeof r.text === 'string') {
      expect(r.type === 'plain_text' || r.verbatim === true).toBe(true);
      out.push(r.text);
    }
    Object.values(r).forEach(walk);
  };
  walk(blocks);
  return out;
}

/** The text of the section that starts with the risk line, if any. */
function riskSectionOf(content: SlackContent): string | undefined {
  return texts(content.blocks).find((t) => /\*Risk \d/.test(t));
}

describe('the risk section of an approval request', () => {
  it('when the request was scored, then the message shows the score, level, route and its reason', () => {
    const risk = riskSectionOf(renderRequestMessage(details({ risk: ESCALATED })));

    expect(risk?.split('\n')[0]).toBe(
      ':large_orange_circle: *Risk 72/100 (high)* — escalated: score 72 is above the high threshold 60: the security group joins the approvers',
    );
  });

  it('when there are more than five reasons, then the five with most points show, each with its points, and the rest are counted', () => {
    const lines = riskSectionOf(renderRequestMessage(details({ risk: ESCALATED })))!.split('\n');

    expect(lines.slice(1)).toEqual([
      '• first request from 203.0.113.0/24 in 30 days (+25)',
      '• requested at 03:00 UTC on a Sunday; it usually asks 09:00–17:00 (+18)',
      '• role erp-writer never requested by this bot in 30 days (+12.5)',
      '• asked for 8 h; it usually asks for 1 h (+9)',
      '• production environment production (+5)',
      '_…and 1 more reason, in the console_',
    ]);
    expect(RISK_REASONS_SHOWN).toBe(5);
  });

  it('when the section is shown, then it comes right after the state, before the request fields', () => {
    const blocks = renderRequestMessage(details({ risk: ESCALATED })).blocks;
    const index = blocks.findIndex((b) => texts([b]).some((t) => t.includes('*Risk 72/100')));

    expect(index).toBe(2);
    expect(blocks[index]?.type).toBe('section');
  });

  it('when the request was not scored (an older run), then there is no risk section', () => {
    const message = renderRequestMessage(details());

    expect(riskSectionOf(message)).toBeUndefined();
    expect(message.text).not.toContain('risk');
  });

  it('when the fallback text is built, then it names the score for notifications', () => {
    expect(renderRequestMessage(details({ risk: ESCALATED })).text).toContain('risk 72/100 (high)');
  });

  it('when a reason or the route reason holds Slack markup, then it is shown as text and cannot ping or link', () => {
    const hostile: RiskDecision = {
      ...ESCALATED,
      routeReason: 'the <!channel> group & <@U123> join',
      reasons: [
        {
          code: 'new_user_agent',
          points: 10,
          text: 'first request with user agent <!here> <https://evil.example|bank> & co',
        },
      ],
    };
    const message = renderRequestMessage(details({ risk: hostile }));
    const risk = riskSectionOf(message)!;

    expect(risk).toContain('the &lt;!channel&gt; group &amp; &lt;@U123&gt; join');
    expect(risk).toContain('user agent &lt;!here&gt; &lt;https://evil.example|bank&gt; &amp; co (+10)');
    for (const text of texts(message.blocks))
      expect(text).not.toMatch(/<!(channel|here)|<@U|<https:\/\/evil/);
  });

  it('when a reason is very long or spans lines, then it is one line cut with …, and the message stays inside Block Kit limits', () => {
    const long: RiskDecision = {
      ...ESCALATED,
      reasons: Array.from({ length: 5 }, (_, i) => ({
        code: 'new_user_agent' as const,
        points: 5,
        text: `agent ${i}\nline two ${'&'.repeat(2000)}`,
      })),
    };
    const message = renderRequestMessage(details({ risk: long }));
    const risk = riskSectionOf(message)!;

    expect(risk.length).toBeLessThanOrEqual(LIMITS.sectionText);
    const reasonLines = risk.split('\n').slice(1);
    expect(reasonLines).toHaveLength(5);
    for (const line of reasonLines) {
      expect(line).toMatch(/^• agent \d line two (&amp;)+… \(\+5\)$/);
    }
  });

  it('when the bot had no baseline yet and nothing added points, then the section says both', () => {
    const risk = riskSectionOf(
      renderRequestMessage(
        details({
          risk: {
            ...ESCALATED,
            reasons: [],
            baselined: false,
            score: 0,
            level: 'low',
            route: 'approvers',
            routeReason: 'score 0 is at most the high threshold 60',
          },
        }),
      ),
    )!;

    expect(risk).toContain('*Risk 0/100 (low)* — approvers decide: score 0 is at most the high threshold 60');
    expect(risk).toContain('_Nothing unusual about this request._');
    expect(risk).toContain('too short for a baseline');
  });
});

describe("the owner's notice of a denial", () => {
  it('when the score denied the request, then the notice says so and shows the score and reasons', () => {
    const notice = renderOwnerNotice(
      'elevation.denied',
      details({ status: 'denied', endReason: 'denied', endedAt: '2024-05-05T03:00:01.000Z', risk: DENIED }),
    );
    const all = texts(notice.blocks).join('\n');

    expect(all).toContain('Denied by its risk score, 91/100 (critical)');
    expect(riskSectionOf(notice)).toContain(
      '*Risk 91/100 (critical)* — denied: score 91 is above the critical threshold 85',
    );
    expect(riskSectionOf(notice)).toContain('• first request from workflow evil/repo (+40)');
  });

  it('when an approver denied a scored request, then the notice is the usual one, without the risk section', () => {
    const d = details({ status: 'denied', endReason: 'denied', risk: ESCALATED });
    const notice = renderOwnerNotice('elevation.denied', d);

    expect(riskSectionOf(notice)).toBeUndefined();
    expect(renderEventReply('elevation.denied', d)).toMatch(/^:no_entry: Denied; /);
  });
});

describe('the risk alert', () => {
  it('when the score denied a request, then the alert names bot, role, score and level, and the reasons', () => {
    const message = renderRiskAlert(alert());
    const all = texts(message.blocks).join('\n');

    expect(message.text).toBe(
      'Request denied by risk score: bot invoice-bot asked for role erp-writer, score 91/100 (critical)',
    );
    expect(all).toContain(
      ':rotating_light: Request denied by risk score: bot `invoice-bot` asked for role `erp-writer`, score 91/100 (critical).',
    );
    expect(all).toContain('• first request from 198.51.100.0/24 in 30 days (+30)');
    expect(all).toContain('The bot was *not* locked down');
    expect(all).not.toContain('You are told because you own this bot');
  });

  it('when the bot was locked down, then the alert says so, and the fallback text too', () => {
    const message = renderRiskAlert(alert({ lockedDown: true }));
    const all = texts(message.blocks).join('\n');

    expect(all).toContain('The bot is *locked down*');
    expect(all).toContain('`elevation.denied` and `bot.locked`');
    expect(message.text).toMatch(/; the bot is locked down$/);
  });

  it('when it is for the owner, then it says why they are told', () => {
    expect(texts(renderRiskAlert(alert(), true).blocks).join('\n')).toContain(
      'You are told because you own this bot',
    );
  });

  it('when names and reasons hold Slack markup, then the alert shows them as text', () => {
    const hostile = alert(
      { bot: { ...alert().bot, id: 'bot<!channel>', owner: '<@U999>' } },
      { ...DENIED, reasons: [{ code: 'new_user_agent', points: 50, text: 'agent <!everyone>' }] },
    );
    const message = renderRiskAlert(hostile);

    for (const text of [message.text, ...texts(message.blocks)]) {
      expect(text).not.toMatch(/<!(channel|everyone)>|<@U999>/);
    }
    // The header is plain text, which Slack shows as typed.
    expect(texts(message.blocks, true)).toContain('Request denied by risk score: bot<!channel> → erp-writer');
    expect(texts(message.blocks).join('\n')).toContain('agent &lt;!everyone&gt; (+50)');
  });

  it('when the elevation carries no score, then the alert still names the request', () => {
    const message = renderRiskAlert(alert({}, null));

    expect(message.text).toContain('score not recorded');
    expect(riskSectionOf(message)).toBeUndefined();
  });
});
