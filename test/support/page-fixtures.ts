/**
 * Every HTML page Elevate renders, with every value that comes from outside (a bot's request,
 * an approver, the policy file, the audit trail, the URL) set to one given text. The escaping
 * test renders them with markup as that text; anything that reaches a page unescaped shows up
 * as a tag in the output.
 */
import type { ElevationView } from '../../core/model/elevation.js';
import type { AuditEvent, VerifyResult } from '../../core/model/audit-record.js';
import type { Policy } from '../../config/policy.js';
import { statsFromAggregates } from '../../server/admin-charts.js';
import { approvedPage, confirmPage, refusedPage } from '../../server/approval-views.js';
import { botPage, lockConfirmPage } from '../../server/admin/views/bot.js';
import { chartsPage } from '../../server/admin/views/charts.js';
import { leastPrivilegePage } from '../../server/admin/views/least-privilege.js';
import { elevationPage, revokeConfirmPage } from '../../server/admin/views/elevation.js';
import { consoleOffPage, messagePage, type PageUser } from '../../server/admin/views/layout.js';
import { listPage } from '../../server/admin/views/list.js';
import { verifyConfirmPage, verifyResultPage } from '../../server/admin/views/audit-verify.js';
import { devCodePage, devErrorPage, devLoginPage, devMessagePage } from '../../dev/dev-identity-pages.js';
import { hashSecret } from '../../core/crypto/credentials.js';
import { policySchema } from '../../config/policy.js';

/** An elevation whose every text field is `p`, with approvers and an approval. */
export function elevationWith(p: string): ElevationView {
  return {
    id: p,
    workflowId: p,
    status: 'active',
    botId: p,
    roleId: p,
    owner: p,
    environment: p,
    durationSeconds: 5400,
    justification: p,
    ticket: p,
    requestId: p,
    requestedAt: p,
    approval: { mode: 'approvers', quorum: 1, deadline: p, groups: [{ name: p, quorum: 1, approved: 1 }] },
    approvals: [
      {
        approver: p,
        at: p,
        groups: [p],
        evidence: {
          issuer: p,
          subject: p,
          email: p,
          amr: [p, p],
          acr: p,
          authTime: p,
          mfaMethod: p,
          idTokenHash: p,
          slackUserId: { nested: p },
        },
      },
    ],
    grantedAt: p,
    expiresAt: p,
    endReason: 'admin_revoked',
    revokeAttempts: 2,
    lastError: p,
  };
}

/** The audit events of {@link elevationWith}'s elevation, one of each type the page reads. */
export function eventsWith(p: string): AuditEvent[] {
  const data: [AuditEvent['type'], Record<string, unknown>, AuditEvent['actor']['kind']][] = [
    [
      'elevation.requested',
      {
        bot: { id: p, owner: p, team: p, purpose: p, environment: p, principal: p },
        role: { id: p, description: p, environment: p, target: { type: 'postgres', server: p, role: p } },
        durationSeconds: 60,
        justification: p,
        ticket: p,
        requestId: p,
        identity: { kind: 'workload_identity', issuer: p, subject: p },
      },
      'bot',
    ],
    ['approval.accepted', { approver: p, count: 1 }, 'human'],
    [
      'grant.confirmed',
      {
        receipt: {
          target: { type: 'aws-iam', mode: 'credentials', roleArn: p },
          principal: p,
          alreadyPresent: true,
          sharedWith: [p],
          verifiedAt: p,
          session: { sessionName: p, expiration: p },
        },
      },
      'system',
    ],
    ['revoke.started', { reason: 'admin_revoked', comment: p, requestedBy: null }, 'admin'],
    ['elevation.denied', { reason: p }, 'human'],
    ['grant.failed', { error: { type: p, message: p } }, 'system'],
    ['audit.exported', { format: p, via: p }, 'admin'],
    ['approval.refused', { code: p }, 'human'],
    [
      'elevation.revoked',
      {
        reason: 'admin_revoked',
        receipt: {
          target: { type: 'ldap', groupDn: p },
          principal: p,
          removed: false,
          stillHeldBy: [p],
          verifiedAt: p,
          session: { sessionName: p, expiration: p, delivered: true, denied: true },
        },
      },
      'system',
    ],
  ];
  return data.map(([type, d, kind], i) => ({
    id: p,
    elevationId: p,
    seq: i + 1,
    type,
    at: p,
    actor: { kind, id: p },
    data: { ...d, extra: p },
    position: i + 1,
    prevHash: p,
    hash: `${p}${p}`,
  }));
}

/** A valid policy whose free texts (ids are patterned, so they stay) are `p`. */
export function policyWith(p: string): Policy {
  const target = (id: string) => ({ type: 'ldap', groupDn: `cn=${id},ou=groups,dc=example,dc=org` });
  const policy = policySchema.parse({
    version: 1,
    admins: [{ id: 'admin', tokenHash: hashSecret('admin-token') }],
    bots: [
      {
        id: 'bot-a',
        owner: 'owner@example.org',
        team: 'team',
        purpose: 'purpose',
        environment: 'test',
        ldapDn: 'cn=bot-a,ou=bots,dc=example,dc=org',
        apiKeyHash: hashSecret('bot-key'),
        roles: ['role-a', 'role-b'],
      },
    ],
    roles: ['role-a', 'role-b'].map((id) => ({
      id,
      environment: 'test',
      target: target(id),
      maxDurationSeconds: 3600,
      approval: { mode: 'auto' },
    })),
  });
  const bot = policy.bots[0]!;
  Object.assign(bot, { owner: p, team: p, purpose: p, environment: p, federation: { issuer: p } });
  const [first, second] = policy.roles;
  Object.assign(first!, {
    description: p,
    environment: p,
    target: { type: 'ldap', groupDn: p },
    approval: { mode: 'approvers', groups: [{ name: p, quorum: 1 }] },
  });
  Object.assign(second!, { target: { type: 'aws-iam', mode: 'credentials', roleArn: p } });
  bot.roles.push(p);
  return policy;
}

/** Every page of the admin console, the approval pages and the development provider's pages. */
export function everyPage(p: string): Record<string, string> {
  const user: PageUser = { email: p, csrf: p };
  const view = elevationWith(p);
  const events = eventsWith(p);
  const policy = policyWith(p);
  const query = new URLSearchParams({ bot: p, owner: p, cursor: p });
  const broken: VerifyResult = {
    ok: false,
    checked: 3,
    head: { position: 3, hash: p },
    firstBroken: { position: 2, eventId: p, elevationId: p, reason: 'hash_mismatch' },
    anchoring: {
      status: 'anchored',
      checkpoints: 1,
      through: { position: 1, hash: p, at: p, kid: p },
      unanchored: 1,
    },
  };
  const now = new Date('2026-06-10T12:00:00Z');
  // The index's counts for the charts, with the text they carry (bot and role ids) set to `p`.
  const stats = statsFromAggregates(
    {
      total: 1,
      byDay: [{ day: '2026-06-09', status: view.status, endReason: view.endReason ?? null, count: 1 }],
      active: [0, 1, 1, 0],
      revokeLagsMs: [1200],
      turnaroundsMs: [60_000],
      topBots: [{ label: p, value: 2 }],
      topRoles: [{ label: p, value: 1 }],
    },
    { from: new Date('2026-06-08T00:00:00Z'), to: new Date('2026-06-11T00:00:00Z'), now, points: 4 },
  );
  return {
    message: messagePage(p, p, { hint: p, user, link: { href: p, text: p } }),
    consoleOff: consoleOffPage(),
    list: listPage({
      user,
      policy,
      filters: {
        bot: p,
        owner: p,
        team: p,
        role: p,
        targetType: p,
        environment: p,
        status: [p, 'active'],
        from: p,
        to: p,
        risk: p,
      },
      query,
      items: [view, { ...view, status: 'revoked', endedAt: p }],
      nextCursor: p,
      onFirst: false,
      error: p,
    }),
    elevation: elevationPage({ user, view, events, notice: 'revoked' }),
    elevationUnknownNotice: elevationPage({ user, view: { ...view, approvals: [] }, events: [], notice: p }),
    revokeConfirm: revokeConfirmPage({
      user,
      view: { ...view, status: 'pending_approval' },
      error: p,
      reason: p,
    }),
    bot: botPage({
      user,
      botId: 'bot-a',
      policy,
      state: { locked: true, detail: p },
      canLock: true,
      items: [view],
      query,
      nextCursor: p,
      onFirst: false,
      notice: 'locked',
    }),
    botUnknown: botPage({ user, botId: p, policy, canLock: true, items: [], query, onFirst: true }),
    lock: lockConfirmPage({ user, botId: p, action: 'lock', error: p }),
    unlock: lockConfirmPage({ user, botId: p, action: 'unlock' }),
    verifyConfirm: verifyConfirmPage({ user, error: p }),
    verifyResult: verifyResultPage({ user, result: broken }),
    verifyNotAnchored: verifyResultPage({
      user,
      result: {
        ok: true,
        checked: 1,
        anchoring: { status: 'not_anchored', reason: 'no_key', checkpoints: 0, unanchored: 1 },
      },
    }),
    charts: chartsPage({
      user,
      days: 3,
      stats,
      total: 1,
    }),
    leastPrivilege: leastPrivilegePage({
      user,
      report: {
        generatedAt: p,
        windowsDays: [30, 60, 90],
        reviewWindowDays: 90,
        quickReturnSeconds: 30,
        bots: [
          {
            botId: p,
            owner: p,
            team: p,
            environment: p,
            allowedRoles: [p, p],
            firstRequestedAt: p,
            unused: { last30Days: [p], last60Days: [p], last90Days: [p] },
            quickReturn: [p],
            recommendedRoles: [p],
            removable: [p],
            roles: (['keep', 'remove'] as const).map((recommendation) => ({
              roleId: p,
              lastRequestedAt: p,
              requests: { last30Days: 1, last60Days: 1, last90Days: 1 },
              grants: 1,
              quickReturns: 1,
              medianHeldMs: 1500,
              maxHeldMs: 1500,
              quickReturn: true,
              recommendation,
              reason: p,
            })),
          },
        ],
      },
    }),
    approvalConfirm: confirmPage({
      elevation: view,
      approver: p,
      groups: [p, p],
      mfaMethod: p,
      authTime: p,
      confirmation: p,
      validUntil: p,
    }),
    approved: approvedPage(view, p),
    approvalRefused: refusedPage(p, p, p),
    devLogin: devLoginPage(p, p, p, p),
    devCode: devCodePage(p, p),
    devMessage: devMessagePage(p, p),
    devError: devErrorPage(p, p),
  };
}
