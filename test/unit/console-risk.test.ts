/**
 * The risk score in the admin console: the elevation page shows the score, its level as a
 * badge, the route and why, the baseline and every reason; the list shows the score and level in
 * its Risk column. Elevations requested before scoring show their role's risk, as before.
 */
import { renderToString } from 'preact-render-to-string';
import { describe, expect, it } from 'vitest';
import type { ElevationView } from '../../core/model/elevation.js';
import type { RiskDecision } from '../../core/model/risk.js';
import { elevationPage } from '../../server/admin/views/elevation.js';
import { ElevationRows } from '../../server/admin/views/list.js';

const ID = 'el_0123456789abcdef0consolerisk';
const USER = { email: 'ann@example.org', csrf: 'csrf-token' };

const ESCALATED: RiskDecision = {
  score: 72,
  level: 'high',
  baselined: true,
  route: 'escalated',
  routeReason: 'score 72 is above the high threshold 60: the security group joins the approvers',
  reasons: [
    { code: 'new_network', points: 25, text: 'first request from 203.0.113.0/24 in 30 days' },
    { code: 'new_role', points: 12.5, text: 'role deploy never requested by this bot in 30 days' },
  ],
};

function view(overrides: Partial<ElevationView> = {}): ElevationView {
  return {
    id: ID,
    workflowId: `elevation-${ID}`,
    status: 'pending_approval',
    botId: 'ci-bot',
    roleId: 'deploy',
    owner: 'olivia@example.org',
    environment: 'staging',
    durationSeconds: 600,
    justification: 'deploy release 1.2.3',
    requestedAt: '2025-06-01T12:00:00.000Z',
    approval: {
      mode: 'approvers',
      quorum: 2,
      deadline: '2025-06-01T13:00:00.000Z',
      groups: [
        { name: 'ops', quorum: 1, approved: 0 },
        { name: 'security', quorum: 1, approved: 0 },
      ],
    },
    approvals: [],
    revokeAttempts: 0,
    ...overrides,
  };
}

/** The HTML of the elevation page's "Risk score" section: from its heading to the next one. */
function riskSection(html: string): string {
  const start = html.indexOf('<h2>Risk score</h2>');
  expect(start).toBeGreaterThan(-1);
  return html.slice(start + 1, html.indexOf('<h2>', start + 1));
}

/** The Summary table's Risk row. */
function summaryRisk(html: string): string {
  return /<th scope="row">Risk<\/th><td>(.*?)<\/td>/.exec(html)?.[1] ?? '';
}

describe('the elevation page', () => {
  it('when the request was scored, then the summary shows the score and its level as a badge', () => {
    const html = elevationPage({ user: USER, view: view({ risk: ESCALATED }), events: [] });

    expect(summaryRisk(html)).toBe(
      '<span class="badge r-high" title="risk score 72 of 100: high">72 high</span>',
    );
  });

  it('when the request was scored, then its section shows the route and why, the baseline, and each reason with its points', () => {
    const section = riskSection(elevationPage({ user: USER, view: view({ risk: ESCALATED }), events: [] }));

    expect(section).toContain('72 of 100');
    expect(section).toContain(
      '<strong>escalated: an extra approver group</strong><span class="muted"> — score 72 is above the high threshold 60: the security group joins the approvers</span>',
    );
    expect(section).toContain("compared with this bot's own history");
    const rows = [
      ...section.matchAll(/<tr><td>(.*?)<\/td><td>(.*?)<\/td><td><code>(.*?)<\/code><\/td><\/tr>/g),
    ].map((m) => m.slice(1));
    expect(rows).toEqual([
      ['+25', 'first request from 203.0.113.0/24 in 30 days', 'new_network'],
      ['+12.5', 'role deploy never requested by this bot in 30 days', 'new_role'],
    ]);
  });

  it('when the score denied the request without a baseline, then the section says both, with a critical badge', () => {
    const denied: RiskDecision = {
      score: 90,
      level: 'critical',
      baselined: false,
      route: 'denied',
      routeReason: 'score 90 is above the critical threshold 85',
      reasons: [],
    };
    const html = elevationPage({ user: USER, view: view({ status: 'denied', risk: denied }), events: [] });
    const section = riskSection(html);

    expect(summaryRisk(html)).toContain('class="badge r-critical"');
    expect(section).toContain('<strong>denied by the score</strong>');
    expect(section).toContain('too little history yet');
    expect(section).toContain('Nothing about this request added points.');
  });

  it('when a reason holds markup, then the page shows it as text', () => {
    const hostile: RiskDecision = {
      ...ESCALATED,
      routeReason: '<b>route</b>',
      reasons: [{ code: 'new_user_agent', points: 5, text: 'agent "><script>alert(1)</script>' }],
    };
    const section = riskSection(elevationPage({ user: USER, view: view({ risk: hostile }), events: [] }));

    expect(section).not.toMatch(/<script|<b>/);
    expect(section).toContain('agent &quot;>&lt;script>alert(1)&lt;/script>');
    expect(section).toContain('&lt;b>route&lt;/b>');
  });

  it('when the request was never scored, then the summary shows its role risk and the section says it was not scored', () => {
    const html = elevationPage({ user: USER, view: view({ environment: 'production' }), events: [] });

    expect(summaryRisk(html)).toBe('<span class="badge r-high">high</span>');
    expect(riskSection(html)).toContain('Not scored: requested before the risk score existed');
  });
});

describe('the elevations list', () => {
  it("when elevations are listed, then the Risk column shows each one's role risk (what the filter selects on) and its score beside it when scored", () => {
    const html = renderToString(
      ElevationRows({
        items: [
          view({ id: 'el_scored', risk: ESCALATED }),
          view({ id: 'el_unscored', approval: { mode: 'auto' } }),
        ],
      }),
    );
    const cells = [...html.matchAll(/<td data-label="Risk">(.*?)<\/td>/g)].map((m) => m[1]);

    expect(cells).toEqual([
      '<span class="badge r-medium">medium</span><span class="muted" title="risk score 72 of 100: high"> 72</span>',
      '<span class="badge r-low">low</span>',
    ]);
  });
});
