import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../integrations/audit/audit-store.js';
import { OCSF_AT_LEAST_ONE, OCSF_REQUIRED, OCSF_VERSION, toOcsf } from '../../integrations/audit/export.js';
import { GENESIS_HASH, hashEvent } from '../../integrations/audit/hash-chain.js';
import { EVENT_TYPES } from '../../workflows/definitions.js';
import type { Actor, EventType, TargetRef } from '../../workflows/definitions.js';

const ID = 'el_00000000000000000000002a';
const AT = '2025-06-01T12:34:56.789Z';
const SYSTEM: Actor = { kind: 'system', id: 'elevate' };
const BOT: Actor = { kind: 'bot', id: 'etl-bot' };
const LDAP: TargetRef = { type: 'ldap', groupDn: 'cn=ops-admins,ou=groups,dc=example,dc=org' };
const PG: TargetRef = { type: 'postgres', server: 'warehouse', role: 'reporting_writer' };
const ATTACH: TargetRef = { type: 'aws-iam', mode: 'attach', policyDocument: '{"Version":"2012-10-17"}' };
const CREDS = {
  type: 'aws-iam',
  mode: 'credentials',
  roleArn: 'arn:aws:iam::123456789012:role/deployer',
} satisfies TargetRef;
const DN = 'uid=etl-bot,ou=bots,dc=example,dc=org';
const SESSION = { sessionName: `elevate-${ID}`, expiration: '2025-06-01T13:00:00Z' };

/** A stored event (hashed, at position 7) of `type` with `data`. */
function event(
  type: string,
  data: Record<string, unknown>,
  opts: { actor?: Actor; elevationId?: string | null } = {},
): AuditEvent {
  const unhashed: Omit<AuditEvent, 'hash'> = {
    id: `evt-${type}`,
    elevationId: opts.elevationId === undefined ? ID : opts.elevationId,
    seq: 3,
    type: type as EventType,
    at: AT,
    actor: opts.actor ?? SYSTEM,
    data,
    position: 7,
    prevHash: GENESIS_HASH,
  };
  return { ...unhashed, hash: hashEvent(unhashed) };
}

const receipt = (target: TargetRef, principal: string, extra: Record<string, unknown> = {}) => ({
  receipt: { target, principal, verifiedAt: AT, ...extra },
});

/** [what, event, class_uid, activity_id, status_id] */
const CASES: [string, AuditEvent, number, number, number][] = [
  [
    'elevation.requested',
    event(
      'elevation.requested',
      {
        bot: { id: 'etl-bot', principal: DN },
        role: { id: 'ops', target: LDAP },
        durationSeconds: 900,
        justification: 'nightly load',
        ticket: null,
      },
      { actor: BOT },
    ),
    3004,
    1,
    1,
  ],
  [
    'approval.accepted',
    event(
      'approval.accepted',
      { approver: 'alice@example.org', count: 1 },
      { actor: { kind: 'human', id: 'alice@example.org' } },
    ),
    3004,
    3,
    1,
  ],
  ['elevation.approved', event('elevation.approved', { rule: 'auto' }), 3004, 3, 1],
  [
    'elevation.denied',
    event('elevation.denied', { reason: 'freeze' }, { actor: { kind: 'admin', id: 'secops' } }),
    3004,
    3,
    2,
  ],
  ['elevation.expired', event('elevation.expired', { approvals: 0, progress: [] }), 3004, 3, 2],
  [
    'grant.failed',
    event('grant.failed', { error: { type: 'TargetNotFoundError', message: 'no such group' } }),
    3004,
    3,
    2,
  ],
  [
    'grant.confirmed (ldap)',
    event('grant.confirmed', receipt(LDAP, DN, { alreadyPresent: false, sharedWith: [] })),
    3006,
    3,
    1,
  ],
  [
    'grant.confirmed (postgres)',
    event('grant.confirmed', receipt(PG, 'etl_bot', { alreadyPresent: false })),
    3006,
    3,
    1,
  ],
  [
    'grant.confirmed (aws attach)',
    event('grant.confirmed', receipt(ATTACH, 'arn:aws:iam::123456789012:role/bots/etl-bot')),
    3001,
    7,
    1,
  ],
  [
    'grant.confirmed (aws credentials)',
    event('grant.confirmed', receipt(CREDS, CREDS.roleArn, { session: SESSION })),
    3003,
    1,
    1,
  ],
  [
    'elevation.failed',
    event('elevation.failed', { error: 'durationSeconds 900 is outside 1..600' }),
    3004,
    3,
    2,
  ],
  [
    'revoke.started',
    event('revoke.started', { reason: 'expired', comment: null, requestedBy: null }),
    3004,
    3,
    1,
  ],
  [
    'revoke.failed',
    event('revoke.failed', {
      attempt: 2,
      error: { type: 'TargetUnreachableError', message: 'ECONNREFUSED' },
    }),
    3004,
    3,
    2,
  ],
  [
    'elevation.revoked (ldap removed)',
    event('elevation.revoked', {
      reason: 'expired',
      ...receipt(LDAP, DN, { removed: true, stillHeldBy: [] }),
    }),
    3006,
    4,
    1,
  ],
  [
    'elevation.revoked (ldap kept for another)',
    event('elevation.revoked', {
      reason: 'expired',
      ...receipt(LDAP, DN, { removed: false, stillHeldBy: ['el_x'] }),
    }),
    3004,
    3,
    1,
  ],
  [
    'elevation.revoked (aws attach)',
    event('elevation.revoked', {
      reason: 'admin_revoked',
      ...receipt(ATTACH, 'arn:aws:iam::123456789012:user/etl', { removed: true }),
    }),
    3001,
    8,
    1,
  ],
  [
    'elevation.revoked (delivered credentials denied)',
    event('elevation.revoked', {
      reason: 'admin_revoked',
      ...receipt(CREDS, 'arn:aws:iam::123456789012:role/deployer', {
        removed: true,
        session: { ...SESSION, delivered: true, denied: true },
      }),
    }),
    3001,
    7,
    1,
  ],
  [
    'elevation.revoked (undelivered credentials destroyed)',
    event('elevation.revoked', {
      reason: 'expired',
      ...receipt(CREDS, 'arn:aws:iam::123456789012:role/deployer', {
        removed: true,
        session: { ...SESSION, delivered: false, denied: false },
      }),
    }),
    3004,
    3,
    1,
  ],
  [
    'elevation.revoked (withdrawn)',
    event('elevation.revoked', { reason: 'withdrawn', granted: false }, { actor: BOT }),
    3004,
    3,
    1,
  ],
  [
    'approval.refused',
    event(
      'approval.refused',
      { code: 'not_eligible', message: 'no' },
      { actor: { kind: 'human', id: 'eve@example.org' } },
    ),
    3004,
    3,
    2,
  ],
  [
    'deny.refused',
    event('deny.refused', { code: 'already_ended' }, { actor: { kind: 'admin', id: 'secops' } }),
    3004,
    3,
    2,
  ],
  [
    'revoke.refused',
    event('revoke.refused', { code: 'already_ended', status: 'expired' }, { actor: BOT }),
    3004,
    3,
    2,
  ],
  [
    'request.refused (POST, no elevation)',
    event(
      'request.refused',
      { method: 'POST', path: '/v1/elevations', code: 'invalid_request' },
      { actor: BOT, elevationId: null },
    ),
    3004,
    1,
    2,
  ],
  [
    'request.refused (GET)',
    event(
      'request.refused',
      { method: 'GET', path: '/v1/elevations/:id', code: 'not_found' },
      { actor: BOT },
    ),
    3004,
    2,
    2,
  ],
  [
    'auth.refused',
    event(
      'auth.refused',
      {
        reason: 'unknown_key',
        method: 'POST',
        path: '/v1/elevations',
        ip: '192.0.2.1',
        credential: 'sha256:ab',
      },
      {
        actor: { kind: 'anonymous', id: 'unknown' },
        elevationId: null,
      },
    ),
    3002,
    1,
    2,
  ],
  [
    'audit.exported',
    event(
      'audit.exported',
      { format: 'ocsf', since: '2026-11-01T00:00:00.000Z', until: null },
      { actor: { kind: 'admin', id: 'secops' }, elevationId: null },
    ),
    3004,
    2,
    1,
  ],
  [
    'credentials.delivered',
    event('credentials.delivered', { ...SESSION, ip: '10.0.0.1' }, { actor: BOT }),
    3004,
    2,
    1,
  ],
  [
    'credentials.refused',
    event(
      'credentials.refused',
      { reason: 'already_delivered', status: 'active', session: SESSION },
      { actor: BOT },
    ),
    3004,
    2,
    2,
  ],
  [
    'drift.detected',
    event(
      'drift.detected',
      { role: 'ops', target: LDAP, principal: 'uid=intruder,dc=example,dc=org', action: 'alert', bot: false },
      { elevationId: null },
    ),
    2004,
    1,
    1,
  ],
  [
    'drift.reverted',
    event(
      'drift.reverted',
      { role: 'ops', target: PG, principal: 'intruder', action: 'revert', bot: false },
      { elevationId: null },
    ),
    3006,
    4,
    1,
  ],
  ...(
    [
      ['bot.locked', { reason: 'INC-42', alreadyLocked: false, revoked: [ID], failed: [] }, 9],
      ['bot.unlocked', { reason: 'incident closed', wasLocked: true }, 12],
      ['bot.disabled', { reason: 'investigating', wasDisabled: false, policyDisabled: false }, 5],
      ['bot.enabled', { reason: null, wasDisabled: true, policyDisabled: false }, 2],
      [
        'bot.key_rotated',
        { reason: null, credential: '3f2a9c0d1e2f', previousCredential: '9b80fce21a0b' },
        4,
      ],
    ] as const
  ).map(([type, data, activity]): [string, AuditEvent, number, number, number] => [
    type,
    event(type, { botId: 'etl-bot', ...data }, { actor: { kind: 'admin', id: 'secops' }, elevationId: null }),
    3001,
    activity,
    1,
  ]),
  [
    'admin.signed_in',
    event(
      'admin.signed_in',
      {
        via: 'console',
        issuer: 'https://idp.example.org',
        subject: 'u-1',
        email: 'ann@example.org',
        amr: ['pwd', 'otp'],
        acr: null,
        mfaMethod: 'otp',
        rights: ['ldap_group'],
        ip: '192.0.2.7',
      },
      { actor: { kind: 'admin', id: 'ann@example.org' }, elevationId: null },
    ),
    3002,
    1,
    1,
  ],
  [
    'admin.action (revoke)',
    event(
      'admin.action',
      { action: 'revoke_elevation', via: 'console', reason: 'left running over the weekend' },
      { actor: { kind: 'admin', id: 'ann@example.org' } },
    ),
    3004,
    3,
    1,
  ],
  [
    'admin.action (verify, broken)',
    event(
      'admin.action',
      {
        action: 'verify_audit',
        via: 'console',
        ok: false,
        checked: 41,
        head: null,
        firstBroken: { position: 42, reason: 'hash_mismatch' },
      },
      { actor: { kind: 'admin', id: 'ann@example.org' }, elevationId: null },
    ),
    3004,
    2,
    2,
  ],
];

/** The value at a dotted path, or undefined. */
function pathValue(record: Record<string, unknown>, path: string): unknown {
  let value: unknown = record;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** What is wrong with an OCSF event against OCSF_REQUIRED and the base rules; [] when nothing. */
function problems(r: Record<string, unknown>): string[] {
  const out: string[] = [];
  const classUid = r.class_uid as number;
  const required = OCSF_REQUIRED[classUid];
  if (!required) return [`class ${classUid} is not in OCSF_REQUIRED`];
  for (const path of required) if (pathValue(r, path) === undefined) out.push(`missing ${path}`);
  for (const oneOf of OCSF_AT_LEAST_ONE[classUid] ?? []) {
    if (!oneOf.some((p) => pathValue(r, p) !== undefined)) out.push(`none of ${oneOf.join(', ')}`);
  }
  if (r.type_uid !== classUid * 100 + (r.activity_id as number)) out.push(`type_uid ${String(r.type_uid)}`);
  if (r.category_uid !== Math.floor(classUid / 1000)) out.push(`category_uid ${String(r.category_uid)}`);
  if (typeof r.status_id !== 'number') out.push('no status_id');
  if (typeof r.message !== 'string' || r.message === '') out.push('no message');
  if (pathValue(r, 'metadata.version') !== OCSF_VERSION) out.push('metadata.version');
  if (typeof r.unmapped !== 'object' || r.unmapped === null) out.push('no unmapped');
  return out;
}

describe('toOcsf', () => {
  it('when the cases are listed, then every event type has at least one', () => {
    const covered = new Set(CASES.map(([, e]) => e.type));
    expect(EVENT_TYPES.filter((t) => !covered.has(t))).toEqual([]);
  });

  it.each(CASES)(
    'when mapping %s, then it becomes class %i, activity %i, status %i, complete',
    (_what, e, cls, activity, status) => {
      const r = toOcsf(e);

      expect(problems(r)).toEqual([]);
      expect([r.class_uid, r.activity_id, r.status_id]).toEqual([cls, activity, status]);
      expect(r.time).toBe(Date.parse(AT));
      expect(r.metadata).toMatchObject({
        version: OCSF_VERSION,
        product: { name: 'Elevate', vendor_name: 'Elevate' },
        uid: e.id,
        sequence: 7,
        event_code: e.type,
      });
      expect(pathValue(r, 'metadata.correlation_uid')).toBe(e.elevationId ?? undefined);
      expect(r.unmapped).toEqual(JSON.parse(JSON.stringify(e)));
      // Plain JSON: nothing undefined, no NaN, survives a round trip unchanged.
      expect(JSON.parse(JSON.stringify(r))).toEqual(r);
    },
  );

  it.each(EVENT_TYPES)(
    'when %s carries no data or data of the wrong shape, then it still maps completely',
    (type) => {
      for (const data of [{}, { receipt: 'x', target: 5, error: [1], session: 'y', approvers: 'a' }]) {
        for (const elevationId of [ID, null]) {
          const r = toOcsf(event(type, data, { elevationId }));
          expect(problems(r), JSON.stringify({ type, data, elevationId })).toEqual([]);
          expect(r.class_uid).not.toBe(0);
        }
      }
    },
  );

  it('when the event type is unknown to this version, then it becomes a Base Event with the base attributes', () => {
    const r = toOcsf(event('lease.reclaimed', { key: 'x' }));

    expect(problems(r)).toEqual([]);
    expect([r.class_uid, r.category_uid, r.activity_id, r.type_uid]).toEqual([0, 0, 99, 99]);
  });

  it('when a grant lands in a target, then the group, user, policy and session name it', () => {
    const ldap = toOcsf(CASES.find(([w]) => w === 'grant.confirmed (ldap)')![1]);
    expect(ldap.group).toEqual({
      uid: 'cn=ops-admins,ou=groups,dc=example,dc=org',
      name: 'ops-admins',
      type: 'LDAP group',
    });
    expect(ldap.user).toMatchObject({ uid: DN, name: 'etl-bot' });

    const pg = toOcsf(CASES.find(([w]) => w === 'grant.confirmed (postgres)')![1]);
    expect(pg.group).toMatchObject({ name: 'reporting_writer', uid: 'warehouse/reporting_writer' });
    expect(pg.user).toMatchObject({ name: 'etl_bot', domain: 'warehouse' });

    const attach = toOcsf(CASES.find(([w]) => w === 'grant.confirmed (aws attach)')![1]);
    expect(attach.policy).toMatchObject({ name: `elevate-${ID}` });
    expect(attach.user).toMatchObject({
      uid: 'arn:aws:iam::123456789012:role/bots/etl-bot',
      name: 'etl-bot',
      type: 'AWS IAM Role',
    });

    const creds = toOcsf(CASES.find(([w]) => w === 'grant.confirmed (aws credentials)')![1]);
    expect(creds.privileges).toEqual(['arn:aws:iam::123456789012:role/deployer']);
    expect(creds.session).toEqual({
      uid: SESSION.sessionName,
      expiration_time: Date.parse(SESSION.expiration),
    });

    const denied = toOcsf(CASES.find(([w]) => w === 'elevation.revoked (delivered credentials denied)')![1]);
    expect(denied.policy).toMatchObject({ name: `elevate-deny-${ID}` });
  });

  it('when actors differ, then the OCSF actor says who they were', () => {
    const human = toOcsf(CASES.find(([w]) => w === 'approval.accepted')![1]);
    expect(human.actor).toEqual({
      user: {
        name: 'alice@example.org',
        uid: 'alice@example.org',
        email_addr: 'alice@example.org',
        type: 'User',
        type_id: 1,
      },
    });
    const system = toOcsf(CASES.find(([w]) => w === 'elevation.approved')![1]);
    expect(system.actor).toMatchObject({ app_name: 'Elevate', user: { type_id: 3 } });
    const auth = toOcsf(CASES.find(([w]) => w === 'auth.refused')![1]);
    expect(auth).toMatchObject({
      user: { name: 'unknown', type_id: 0, credential_uid: 'sha256:ab' },
      src_endpoint: { ip: '192.0.2.1' },
      service: { name: 'Elevate' },
      status_detail: 'unknown_key',
    });
  });

  it('when drift is detected, then it is an alerting finding on the role target', () => {
    const r = toOcsf(CASES.find(([w]) => w === 'drift.detected')![1]);

    expect(r).toMatchObject({ is_alert: true, severity_id: 4, finding_info: { uid: 'evt-drift.detected' } });
    expect(r.resources).toEqual([
      {
        uid: 'cn=ops-admins,ou=groups,dc=example,dc=org',
        name: 'ops-admins',
        type: 'LDAP group',
        data: { role: 'ops' },
      },
    ]);
  });
});
