/**
 * The schemas of audit event data (`core/model/event-data.ts`): every type has one; payloads as
 * each writer writes them today, as older versions wrote them, as the saved workflow histories
 * carry them, and as refusals before authentication are cut down, all read; a payload of the
 * wrong shape does not, and comes back untouched instead of throwing. And the workflows, which
 * import these types, never load zod at run time.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { boundRefusalData } from '../../domain/audit/refusal-aggregator.js';
import type { Actor } from '../../core/model/elevation.js';
import {
  EVENT_DATA_SCHEMAS,
  eventDataOf,
  isEventType,
  parseEventData,
  type EventDataOf,
} from '../../core/model/event-data.js';
import { EVENT_TYPES, type EventType } from '../../core/model/events.js';
import type { TargetRef } from '../../core/model/targets.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const AT = '2026-12-06T10:00:00.000Z';
const LDAP: TargetRef = { type: 'ldap', groupDn: 'cn=ops,ou=groups,dc=example,dc=org' };
const PG: TargetRef = { type: 'postgres', server: 'warehouse', role: 'reporting' };
const CREDS: TargetRef = {
  type: 'aws-iam',
  mode: 'credentials',
  roleArn: 'arn:aws:iam::123456789012:role/d',
};
const DN = 'uid=etl-bot,ou=bots,dc=example,dc=org';
const ADMIN: Actor = { kind: 'admin', id: 'secops' };
const SESSION = { sessionName: 'elevate-el_1', expiration: '2026-12-06T11:00:00.000Z' };
const BOT = {
  id: 'etl-bot',
  owner: 'owner@example.org',
  team: 'data',
  purpose: 'loads',
  environment: 'prod',
  principal: DN,
};
const ROLE = {
  id: 'ops',
  environment: 'prod',
  target: LDAP,
  maxDurationSeconds: 3600,
  approval: {
    mode: 'approvers' as const,
    groups: [{ name: 'leads', quorum: 1, members: ['lee@example.org'] }],
    windowSeconds: 900,
    ownerMayApprove: false,
  },
};
const GRANT = { target: LDAP, principal: DN, alreadyPresent: false, sharedWith: [], verifiedAt: AT };
const REVOKE = { target: LDAP, principal: DN, removed: true, stillHeldBy: [], verifiedAt: AT };

/**
 * Payloads as Elevate writes them today, one or more per type, each from its writer (the
 * workflow, the activities, the service, the server, the console, the worker's sink).
 * Typed: a payload that no longer fits its type fails to compile here first.
 */
const WRITTEN: { [T in EventType]: EventDataOf<T>[] } = {
  'elevation.requested': [
    {
      bot: BOT,
      role: ROLE,
      durationSeconds: 600,
      justification: 'nightly load',
      ticket: null,
      requestId: null,
    },
    // A scheduled elevation (`startsAt`): granted at that instant.
    {
      bot: BOT,
      role: ROLE,
      durationSeconds: 3600,
      justification: 'CHG-512 schema change',
      ticket: 'CHG-512',
      requestId: null,
      startsAt: AT,
    },
    {
      bot: BOT,
      role: { ...ROLE, approval: { mode: 'auto' } },
      durationSeconds: 600,
      justification: 'ci deploy',
      ticket: 'OPS-1',
      requestId: 'req-1',
      identity: {
        kind: 'workload_identity',
        issuer: 'https://token.actions.example.com',
        subject: 'repo:org/app:ref:refs/heads/main',
        tokenId: 'jti-1',
        expiresAt: AT,
        claims: { run_id: '42', sha: 'abc', nested: { any: ['json'] } },
      },
    },
  ],
  'approval.accepted': [
    {
      approver: 'lee@example.org',
      groups: ['leads'],
      evidence: { issuer: 'https://idp.example.org', amr: ['pwd', 'otp'], acr: null, anything: { at: 1 } },
      identity: { entries: ['uid=lee,ou=people,dc=example,dc=org'], issuer: 'https://idp.example.org' },
      comment: null,
      count: 1,
      progress: [{ name: 'leads', quorum: 1, approved: 1 }],
    },
    { approver: 'lee@example.org', groups: [], evidence: null, comment: 'ok', count: 2, progress: [] },
  ],
  'elevation.approved': [
    { rule: 'auto' },
    { approvers: ['lee@example.org'] },
    // On the role's emergency path (`workflows/break-glass.ts`).
    { rule: 'break_glass' },
  ],
  'elevation.denied': [{ reason: 'not during the freeze' }],
  'elevation.expired': [{ approvals: 0, progress: [{ name: 'leads', quorum: 1, approved: 0 }] }],
  'grant.failed': [
    { error: { type: 'TargetNotFoundError', message: 'no such group' } },
    { error: { type: 'TargetNotFoundError', message: 'no such group' }, roleId: 'ops' },
  ],
  'grant.confirmed': [
    { receipt: GRANT },
    { receipt: GRANT, roleId: 'ops' },
    { receipt: { ...GRANT, target: CREDS, principal: 'arn:aws:iam::123456789012:role/d', session: SESSION } },
  ],
  'elevation.failed': [
    { error: 'durationSeconds 900 is outside 1..600' },
    { reason: 'grant_failed', startedAt: AT, receipt: { ...REVOKE, removed: false }, revokeAttempts: 0 },
    {
      reason: 'grant_failed',
      startedAt: AT,
      revokeAttempts: 0,
      receipts: [{ roleId: 'ops', receipt: REVOKE }],
    },
  ],
  'revoke.started': [
    { reason: 'expired', comment: null, requestedBy: null },
    { reason: 'admin_revoked', comment: 'done', requestedBy: ADMIN },
  ],
  'revoke.failed': [{ attempt: 2, error: { type: 'TargetUnreachableError', message: 'ECONNREFUSED' } }],
  'elevation.revoked': [
    { reason: 'expired', startedAt: AT, receipt: REVOKE, revokeAttempts: 0 },
    { reason: 'withdrawn', comment: null, granted: false },
    {
      reason: 'expired',
      startedAt: AT,
      revokeAttempts: 0,
      receipts: [
        { roleId: 'ops', receipt: REVOKE },
        { roleId: 'warehouse', receipt: { ...REVOKE, target: PG, principal: 'etl_bot' } },
      ],
    },
    {
      reason: 'orphaned',
      workflowId: 'elevation-el_1',
      workflowStatus: 'TERMINATED',
      receipt: { ...REVOKE, target: CREDS, session: { ...SESSION, delivered: true, denied: true } },
    },
  ],
  'approval.refused': [
    { code: 'not_eligible', message: 'not an approver', stage: 'precheck' },
    { code: 'already_ended', evidence: null },
    { code: 'browser_mismatch', message: 'x', stage: 'callback', ip: null, slackUserId: 'U1' },
  ],
  'deny.refused': [
    { code: 'already_ended' },
    { code: 'ambiguous_identity', message: 'two entries', reason: 'no' },
  ],
  'revoke.refused': [
    { code: 'already_ended', status: null },
    { code: 'not_pending', message: 'm' },
  ],
  'request.refused': [
    { method: 'POST', path: '/v1/elevations', code: 'invalid_request', field: 'role', message: 'm' },
  ],
  'auth.refused': [
    { reason: 'unknown_key', method: 'POST', path: '/v1/elevations', ip: '192.0.2.1', credential: 'ab12' },
    {
      reason: 'cross_site',
      via: 'console',
      method: 'GET',
      path: '/admin',
      ip: null,
      secFetchSite: 'cross-site',
    },
    { reason: 'not_admin', via: 'console', stage: 'sign_in', issuer: 'i', subject: 's', groups: ['g'] },
  ],
  'refusals.summarized': [
    {
      of: 'auth.refused',
      reason: 'missing',
      route: '/v1/elevations',
      network: '192.0.2.0/24',
      count: 9,
      from: AT,
      to: AT,
    },
    { of: 'auth.refused', reason: '*', route: '*', network: '*', count: 3, from: AT, to: AT, overflow: true },
  ],
  'decision.refused': [
    {
      decision: 'approve',
      code: 'unsigned',
      message: 'no decision token',
      kid: null,
      claimed: { kind: 'human', id: 'mallory@example.org' },
      at: AT,
    },
  ],
  'request.unverified': [
    {
      code: 'unsigned',
      message: 'not started by the API',
      kid: null,
      claimed: { bot: 'etl-bot', role: 'ops', durationSeconds: 600 },
    },
  ],
  'lease.orphaned': [
    {
      workflowId: 'elevation-el_1',
      workflowStatus: 'NOT_FOUND',
      target: LDAP,
      principal: DN,
      acquiredAt: AT,
    },
  ],
  'credentials.delivered': [{ ...SESSION, ip: '10.0.0.1' }],
  'credentials.refused': [
    { reason: 'already_delivered', status: 'active', session: SESSION, ip: null },
    { reason: 'not_active', status: 'revoked' },
  ],
  'audit.exported': [
    { format: 'ocsf', since: AT, until: null },
    { format: 'evidence', elevationId: 'el_1', digest: `sha256:${'ab'.repeat(32)}`, via: 'console' },
  ],
  'drift.detected': [
    { role: 'ops', target: LDAP, principal: 'uid=intruder', action: 'alert', bot: false },
    {
      roles: ['deploy'],
      target: { type: 'aws-iam', mode: 'attach' },
      principal: 'arn:aws:iam::123456789012:role/bots/etl',
      policy: 'arn:aws:iam::123456789012:policy/elevate-el_1',
      kind: 'managed',
      action: 'revert',
      bot: true,
      elevation: 'el_1',
      reason: 'policy_tampered',
      problem: 'a version was added',
    },
  ],
  'drift.reverted': [{ role: 'ops', target: LDAP, principal: 'uid=intruder', action: 'revert', bot: false }],
  'bot.locked': [{ botId: 'etl-bot', reason: 'INC-1', alreadyLocked: false, revoked: ['el_1'], failed: [] }],
  'bot.unlocked': [
    {
      botId: 'etl-bot',
      reason: 'closed',
      wasLocked: true,
      lock: { at: AT, by: 'secops', reason: 'INC-1' },
      via: 'console',
    },
  ],
  'bot.disabled': [{ botId: 'etl-bot', reason: null, wasDisabled: false, policyDisabled: false }],
  'bot.enabled': [
    { botId: 'etl-bot', reason: 'ok', wasDisabled: true, policyDisabled: false, via: 'console' },
  ],
  'bot.key_rotated': [
    { botId: 'etl-bot', reason: null, credential: '3f2a9c0d1e2f', previousCredential: '9b80' },
  ],
  'admin.signed_in': [
    {
      via: 'console',
      issuer: 'https://idp.example.org',
      subject: 'ann',
      email: 'ann@example.org',
      amr: ['pwd', 'otp'],
      acr: null,
      authTime: null,
      mfaMethod: 'otp',
      idTokenHash: `sha256:${'cd'.repeat(32)}`,
      rights: ['oidc_group'],
      ip: '198.51.100.9',
    },
  ],
  'admin.action': [
    { action: 'revoke_elevation', via: 'console', reason: 'left running' },
    {
      action: 'verify_audit',
      via: 'console',
      anchors: [{ position: 3, hash: 'ab'.repeat(32) }],
      ok: false,
      checked: 2,
      head: null,
      firstBroken: { position: 3, eventId: 'e3', elevationId: null, reason: 'hash_mismatch' },
    },
  ],
  'anomaly.detected': [
    {
      kind: 'dormant',
      botId: 'etl-bot',
      severity: 'low',
      text: 'bot etl-bot has not requested a role for 45 days (last on 2026-10-22), yet may still request ops',
      evidence: { daysIdle: 45, roles: 1, neverRequested: 0 },
    },
    {
      kind: 'fleet_rate_spike',
      botId: 'etl-bot',
      severity: 'high',
      text: 'the 3 bots of team data made 240 requests in the last hour',
      evidence: { requestsLastHour: 240, usualBusiestHour: 18, threshold: 54 },
      fleet: { by: 'team', id: 'data', bots: ['etl-bot', 'load-bot', 'sync-bot'] },
    },
  ],
  'attestation.requested': [
    {
      attestationId: 'attestation-etl-bot-2026-12-01',
      botId: 'etl-bot',
      owner: 'owner@example.org',
      roles: ['ops', 'reports'],
      trimmed: [],
      deadline: '2026-12-08T00:00:00.000Z',
    },
  ],
  'attestation.confirmed': [
    {
      attestationId: 'attestation-etl-bot-2026-12-01',
      botId: 'etl-bot',
      owner: 'owner@example.org',
      kept: ['ops'],
      trimmed: ['reports'],
      liftedSuspension: false,
      evidence: { amr: ['pwd', 'otp'], mfaMethod: 'otp' },
    },
  ],
  'attestation.expired': [
    {
      attestationId: 'attestation-etl-bot-2026-12-01',
      botId: 'etl-bot',
      owner: 'owner@example.org',
      deadline: '2026-12-08T00:00:00.000Z',
      roles: ['ops', 'reports'],
    },
  ],
  'attestation.refused': [
    { code: 'not_owner', stage: 'callback', attestationId: 'attestation-etl-bot-2026-12-01', ip: null },
  ],
  'approval.reminded': [
    {
      number: 1,
      secondsLeft: 300,
      approvals: 0,
      progress: [{ name: 'leads', quorum: 1, approved: 0 }],
      escalated: false,
      deadline: AT,
    },
  ],
  'approval.escalated': [
    {
      groups: ['oncall'],
      afterSeconds: 600,
      approvals: 0,
      progress: [{ name: 'leads', quorum: 1, approved: 0 }],
      escalationProgress: [{ name: 'oncall', quorum: 1, approved: 0 }],
      deadline: AT,
    },
  ],
  'elevation.extended': [
    {
      from: AT,
      to: '2026-12-06T10:30:00.000Z',
      durationSeconds: 1800,
      justification: 'the load is running late',
      requestedBy: { kind: 'bot', id: 'etl-bot' },
      extensions: 1,
      lifetimeSeconds: 5400,
      maxTotalSeconds: 7200,
      rescheduled: true,
    },
  ],
  'extension.requested': [
    {
      number: 2,
      durationSeconds: 900,
      justification: 'the load is running late',
      requestedBy: { kind: 'bot', id: 'etl-bot' },
      deadline: AT,
      quorum: 1,
      progress: [{ name: 'leads', quorum: 1, approved: 0 }],
    },
  ],
  'extension.closed': [
    { number: 2, outcome: 'denied', durationSeconds: 900, reason: 'not tonight', approvals: 0, deadline: AT },
    { number: 3, outcome: 'expired', durationSeconds: 60, reason: null, approvals: 1, deadline: AT },
  ],
  'extend.refused': [
    {
      code: 'extension_too_long',
      message: 'the elevation would last 9000 s in all',
      durationSeconds: 3600,
      justification: 'the load is running late',
      ip: '127.0.0.1',
      userAgent: null,
    },
    { code: 'already_ended', status: 'revoked', durationSeconds: 60, justification: 'more' },
  ],
  'bundle.granted': [
    {
      bundle: 'release-train',
      grants: [
        { roleId: 'ops', receipt: GRANT },
        { roleId: 'warehouse', receipt: { ...GRANT, target: PG, principal: 'etl_bot' } },
      ],
    },
  ],
  'breakglass.activated': [
    {
      botId: 'etl-bot',
      roleId: 'ops',
      owner: 'owner@example.org',
      justification: 'the primary is down',
      durationSeconds: 600,
      maxSeconds: 900,
      reviewers: ['lee@example.org'],
      reviewDeadline: '2026-12-06T12:00:00.000Z',
    },
  ],
  'breakglass.reviewed': [
    {
      reviewId: 'breakglass-review-el_3cf50827c4ec1f7c2a71324e',
      botId: 'etl-bot',
      reviewer: 'lee@example.org',
      outcome: 'confirmed',
      comment: null,
      late: false,
      lockedDown: false,
      evidence: { issuer: 'https://idp.example.org', amr: ['otp'], authTime: AT },
    },
    {
      reviewId: 'breakglass-review-el_3cf50827c4ec1f7c2a71324e',
      botId: 'etl-bot',
      reviewer: 'lee@example.org',
      outcome: 'rejected',
      comment: 'no incident that night',
      late: true,
      lockedDown: false,
      evidence: {},
    },
  ],
  'breakglass.review_missed': [
    {
      reviewId: 'breakglass-review-el_3cf50827c4ec1f7c2a71324e',
      botId: 'etl-bot',
      deadline: '2026-12-06T12:00:00.000Z',
      reviewers: ['lee@example.org'],
      lockedDown: true,
    },
  ],
  'breakglass.refused': [
    { code: 'self_review', message: 'the owner', stage: 'callback', ip: '127.0.0.1' },
    { code: 'not_found', message: 'no review', stage: 'start', ip: null, evidence: { amr: ['otp'] } },
  ],
};

/** Payloads older versions wrote (before approver groups) or other writers left in the chain. */
const OLDER: [EventType, unknown][] = [
  [
    'elevation.requested',
    {
      bot: BOT,
      role: {
        ...ROLE,
        approval: {
          mode: 'approvers',
          approvers: ['lee@example.org'],
          quorum: 1,
          windowSeconds: 900,
          ownerMayApprove: false,
        },
      },
      durationSeconds: 600,
      justification: 'before approver groups',
      ticket: null,
      requestId: null,
    },
  ],
  ['approval.accepted', { approver: 'lee@example.org', evidence: null, comment: null, count: 1, quorum: 2 }],
  ['elevation.expired', { approvals: 1, quorum: 2 }],
  // The bench's history fill: a bot without purpose or principal, a role without its limits.
  [
    'elevation.requested',
    {
      bot: { id: 'b', owner: 'bench@example.org', team: 'bench', environment: 'bench' },
      role: { id: 'r', environment: 'bench', target: LDAP },
      durationSeconds: 600,
      justification: 'past benchmark elevation',
    },
  ],
];

/** For every type, a payload it must refuse: a field of the wrong type, or one it cannot do without. */
const WRONG: { [T in EventType]: unknown } = {
  'elevation.requested': { bot: BOT, role: ROLE, durationSeconds: '600', justification: 'x' },
  'approval.accepted': { approver: 'lee@example.org' },
  'elevation.approved': { rule: 'manual' },
  'elevation.denied': { reason: 42 },
  'elevation.expired': { progress: [] },
  'grant.failed': { error: 'TargetNotFoundError: no such group' },
  'grant.confirmed': { receipt: { target: LDAP } },
  'elevation.failed': { reason: 'because' },
  'revoke.started': { reason: 'expired' },
  'revoke.failed': { attempt: 1, error: { type: 'X' } },
  'elevation.revoked': { reason: 'expired', receipt: { target: { type: 'ldap' }, principal: DN } },
  'approval.refused': { code: 7 },
  'deny.refused': { reason: ['no'] },
  'revoke.refused': { status: 5 },
  'request.refused': { field: false },
  'auth.refused': { ip: 192 },
  'refusals.summarized': { of: 'auth.refused', reason: 'missing', count: '3' },
  'decision.refused': {
    decision: 'approve',
    code: 'unsigned',
    message: 'm',
    kid: null,
    claimed: 'x',
    at: AT,
  },
  'request.unverified': { code: 'unsigned', message: 'm', kid: null },
  'lease.orphaned': { workflowId: 'w', workflowStatus: 'TERMINATED', principal: DN, acquiredAt: AT },
  'credentials.delivered': { sessionName: 's' },
  'credentials.refused': { session: 'elevate-el_1' },
  'audit.exported': { since: AT },
  'drift.detected': { role: 'ops', target: LDAP, principal: 'x', action: 'delete', bot: false },
  'drift.reverted': {
    target: { type: 'aws-iam', mode: 'attach', policyDocument: 7 },
    principal: 'x',
    action: 'revert',
    bot: true,
  },
  'bot.locked': { botId: 'b', reason: 'r', alreadyLocked: false, revoked: 'el_1', failed: [] },
  'bot.unlocked': { botId: 'b', reason: 'r' },
  'bot.disabled': { botId: 'b', reason: null, wasDisabled: 'no', policyDisabled: false },
  'bot.enabled': { reason: null, wasDisabled: true, policyDisabled: false },
  'bot.key_rotated': { botId: 'b', reason: null, credential: 1, previousCredential: 2 },
  'admin.signed_in': { via: 'console', email: 'ann@example.org', mfaMethod: 'otp' },
  'admin.action': { action: 'verify_audit', ok: 'yes' },
  'anomaly.detected': { kind: 'dormant', botId: 'b', severity: 'urgent', text: 't', evidence: {} },
  'attestation.requested': {
    attestationId: 'a',
    botId: 'b',
    owner: 'o',
    roles: 'ops',
    trimmed: [],
    deadline: 'd',
  },
  'attestation.confirmed': { attestationId: 'a', botId: 'b', owner: 'o', kept: ['ops'] },
  'attestation.expired': { attestationId: 'a', botId: 'b', owner: 'o', roles: [] },
  'attestation.refused': { code: 42 },
  'approval.reminded': { number: '1', secondsLeft: 300, approvals: 0, progress: [], escalated: false },
  'approval.escalated': { groups: 'oncall', afterSeconds: 600 },
  'elevation.extended': { from: AT, to: AT, durationSeconds: '60', requestedBy: ADMIN },
  'extend.refused': { code: 42 },
  'extension.requested': { number: '2', durationSeconds: 60, requestedBy: ADMIN },
  'extension.closed': {
    number: 2,
    outcome: 'maybe',
    durationSeconds: 60,
    reason: null,
    approvals: 0,
    deadline: AT,
  },
  'breakglass.activated': { botId: 'b', roleId: 'r', reviewers: 'lee@example.org' },
  'breakglass.reviewed': { reviewId: 'r', botId: 'b', reviewer: 'x', outcome: 'maybe', late: false },
  'breakglass.review_missed': { reviewId: 'r', botId: 'b', deadline: 'd', reviewers: [], lockedDown: 'yes' },
  'breakglass.refused': { code: 42 },
  'bundle.granted': { bundle: 'release-train', grants: [{ roleId: 'ops' }] },
};

/** Every audit event the saved workflow histories hand to `recordEvents` (as older code wrote them). */
function historyEvents(): { type: string; data: unknown }[] {
  const found: { type: string; data: unknown }[] = [];
  const visit = (value: unknown): void => {
    if (Array.isArray(value)) return value.forEach(visit);
    if (typeof value !== 'object' || value === null) return;
    const v = value as Record<string, unknown>;
    if (typeof v.data === 'string' && typeof v.metadata === 'object') {
      let decoded: unknown;
      try {
        decoded = JSON.parse(Buffer.from(v.data, 'base64').toString('utf8'));
      } catch {
        decoded = undefined;
      }
      for (const e of Array.isArray(decoded) ? decoded : [decoded]) {
        const ev = e as { type?: unknown; data?: unknown; actor?: unknown } | null;
        if (typeof ev?.type === 'string' && ev.actor && ev.data) found.push({ type: ev.type, data: ev.data });
      }
    }
    Object.values(v).forEach(visit);
  };
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else if (name.endsWith('.json')) visit(JSON.parse(readFileSync(file, 'utf8')));
    }
  };
  walk(path.join(ROOT, 'test/histories'));
  return found;
}

/** The files the workflows load at run time: every relative import that is not `import type`. */
function workflowRuntimeFiles(): Map<string, string> {
  const files = new Map<string, string>();
  const pending = [path.join(ROOT, 'workflows/index.ts')];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    const code = readFileSync(file, 'utf8');
    files.set(file, code);
    for (const m of code.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?\sfrom\s+'(\.[^']+)'/gms)) {
      pending.push(path.resolve(path.dirname(file), m[1]!.replace(/\.js$/, '.ts')));
    }
  }
  return files;
}

describe('event data schemas', () => {
  it('when every event type is listed, then each has a schema and no schema is for another type', () => {
    expect(Object.keys(EVENT_DATA_SCHEMAS).sort()).toEqual([...EVENT_TYPES].sort());
    for (const type of EVENT_TYPES) expect(isEventType(type)).toBe(true);
    expect(isEventType('lease.reclaimed')).toBe(false);
    expect(isEventType('toString')).toBe(false);
  });

  it.each(EVENT_TYPES)('when %s data is written as Elevate writes it, then it reads as its type', (type) => {
    expect(WRITTEN[type].length).toBeGreaterThan(0);
    for (const data of WRITTEN[type]) {
      const parsed = parseEventData(type, data);

      expect(parsed, JSON.stringify(parsed)).toMatchObject({ ok: true, type });
      // The stored value itself, not a copy: what readers show and hash is what is stored.
      expect(parsed.data).toBe(data);
    }
  });

  it('when a record was written by an older version or by the bench, then it still reads', () => {
    for (const [type, data] of OLDER) {
      expect(parseEventData(type, data), `${type} ${JSON.stringify(data)}`).toMatchObject({ ok: true });
    }
  });

  it('when the saved workflow histories are read, then every event they record reads as its type', () => {
    const events = historyEvents();
    expect(new Set(events.map((e) => e.type)).size).toBeGreaterThanOrEqual(4);

    const unread = events
      .map((e) => parseEventData(e.type, e.data))
      .filter((p) => !p.ok)
      .map((p) => `${p.type}: ${p.ok ? '' : p.problem}`);

    expect(unread).toEqual([]);
  });

  it('when a record carries fields its schema does not list, then it still reads, with them', () => {
    const data = { reason: 'freeze', addedByANewerVersion: { x: 1 } };
    const parsed = parseEventData('elevation.denied', data);

    expect(parsed.ok).toBe(true);
    expect(parsed.data).toEqual(data);
  });

  it('when a refusal before authentication is cut to its bounded size, then it still reads as its type', () => {
    const long = 'x'.repeat(5000);
    const data = {
      reason: long,
      method: 'POST',
      path: `/v1/${long}`,
      ip: '192.0.2.1',
      deep: { a: { b: { c: { d: 1 } } } },
      ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`extra${i}`, long])),
    };
    const bounded = boundRefusalData(data);

    for (const type of ['auth.refused', 'approval.refused', 'request.refused'] as const) {
      expect(parseEventData(type, bounded).ok).toBe(true);
    }
  });

  it.each(EVENT_TYPES)('when %s data has the wrong shape, then the schema refuses it', (type) => {
    const result = EVENT_DATA_SCHEMAS[type].safeParse(WRONG[type]);

    expect(result.success, JSON.stringify(WRONG[type])).toBe(false);
  });
});

describe('parseEventData', () => {
  it('when the data does not match its type, then it comes back untouched with what is wrong, without throwing', () => {
    const data = { receipt: 'x' };
    const parsed = parseEventData('grant.confirmed', data);

    expect(parsed).toMatchObject({ ok: false, type: 'grant.confirmed' });
    expect(parsed.data).toBe(data);
    expect(parsed.ok ? '' : parsed.problem).toContain('receipt');
  });

  it('when the type is one this version does not know, then its data comes back untouched', () => {
    const data = { key: 'x' };

    expect(parseEventData('lease.reclaimed', data)).toEqual({
      ok: false,
      type: 'lease.reclaimed',
      data,
      problem: 'unknown event type lease.reclaimed',
    });
  });

  it('when the data is not an object at all, then it is refused, not thrown over', () => {
    for (const data of [null, undefined, 'x', 3, [], [{ reason: 'x' }]]) {
      for (const type of EVENT_TYPES) expect(parseEventData(type, data).ok).toBe(false);
    }
  });

  it('when one type is looked for among events, then only a matching event of that type gives its data', () => {
    const denied = { type: 'elevation.denied', data: { reason: 'no' } };

    expect(eventDataOf(denied, 'elevation.denied')?.reason).toBe('no');
    expect(eventDataOf(denied, 'elevation.expired')).toBeUndefined();
    expect(
      eventDataOf({ type: 'elevation.denied', data: { reason: 1 } }, 'elevation.denied'),
    ).toBeUndefined();
    expect(eventDataOf(undefined, 'elevation.denied')).toBeUndefined();
  });
});

describe('the workflow bundle', () => {
  it('when the workflows import the event data types, then nothing they load at run time imports zod', () => {
    const files = workflowRuntimeFiles();
    expect([...files.keys()].some((f) => f.endsWith('workflows/elevation-workflow.ts'))).toBe(true);

    const withZod = [...files]
      .filter(([, code]) => /^import\s+(?!type\b)[^;]*\sfrom\s+'zod'/ms.test(code))
      .map(([file]) => path.relative(ROOT, file));

    expect(withZod).toEqual([]);
    expect([...files.keys()].map((f) => path.relative(ROOT, f))).not.toContain('core/model/event-data.ts');
  });
});
