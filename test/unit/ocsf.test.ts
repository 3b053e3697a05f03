/**
 * `toOcsf` against OCSF 1.5.0 itself. Every exported event, of every type in EVENT_TYPES (so a
 * type added there is checked without touching this file), is validated against the JSON Schema
 * compiled from the OCSF schema's own definitions (test/fixtures/ocsf/1.5.0, see its README):
 * no attribute its class or its objects do not define, no deprecated attribute, every required
 * one, OCSF's types and enum values. The cases then pin down which class and activity each
 * Elevate event becomes.
 */
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../core/model/audit-record.js';
import { OCSF_CLASS_UIDS, OCSF_VERSION, toOcsf } from '../../integrations/audit/export.js';
import { GENESIS_HASH, hashEvent } from '../../core/crypto/hash-chain.js';
import { EVENT_TYPES } from '../../core/model/events.js';
import type { Actor } from '../../core/model/elevation.js';
import type { EventType } from '../../core/model/events.js';
import type { TargetRef } from '../../core/model/targets.js';
import { OCSF_SCHEMA, ocsfSchemaErrors } from '../fixtures/ocsf/schema.js';

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
  [
    'elevation.requested (risk scored)',
    event(
      'elevation.requested',
      {
        bot: { id: 'etl-bot', principal: DN },
        role: { id: 'ops', target: LDAP },
        durationSeconds: 900,
        justification: 'nightly load',
        ticket: null,
        risk: {
          score: 72,
          level: 'high',
          baselined: true,
          route: 'escalated',
          routeReason: 'score 72 is above the high threshold 60: the security group joins the approvers',
          reasons: [
            { code: 'new_network', points: 25, text: 'first request from 203.0.113.0/24 in 30 days' },
          ],
        },
      },
      { actor: BOT },
    ),
    3004,
    1,
    1,
  ],
  [
    'elevation.denied (by the risk score)',
    event('elevation.denied', {
      reason: 'score 91 is above the critical threshold 85',
      risk: {
        score: 91,
        level: 'critical',
        baselined: true,
        route: 'denied',
        routeReason: 'score 91 is above the critical threshold 85',
        reasons: [{ code: 'unusual_hour', points: 40, text: 'requested at 03:00 UTC; usually 09:00–17:00' }],
      },
    }),
    2004,
    1,
    1,
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
    'bundle.granted',
    event('bundle.granted', {
      bundle: 'release-train',
      grants: [
        { roleId: 'ops', ...receipt(LDAP, DN, { alreadyPresent: false, sharedWith: [] }) },
        { roleId: 'warehouse', ...receipt(PG, 'etl_bot', { alreadyPresent: false, sharedWith: [] }) },
      ],
    }),
    3004,
    3,
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
    'elevation.extended',
    event(
      'elevation.extended',
      {
        from: AT,
        to: '2025-06-01T13:04:56.789Z',
        durationSeconds: 1800,
        justification: 'the load is running late',
        requestedBy: BOT,
        extensions: 1,
        lifetimeSeconds: 5400,
        maxTotalSeconds: 7200,
        rescheduled: true,
      },
      { actor: BOT },
    ),
    3004,
    3,
    1,
  ],
  [
    'extend.refused',
    event(
      'extend.refused',
      { code: 'extension_too_long', message: 'too long', durationSeconds: 9000 },
      { actor: BOT },
    ),
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
    'refusals.summarized',
    event(
      'refusals.summarized',
      {
        of: 'auth.refused',
        reason: 'rate_limited',
        route: '/v1/elevations/:id',
        network: '203.0.113.0/24',
        count: 9412,
        from: '2026-11-01T00:00:00.000Z',
        to: '2026-11-01T00:00:59.000Z',
      },
      { actor: { kind: 'anonymous', id: 'unknown' }, elevationId: null },
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
    'anomaly.detected',
    event(
      'anomaly.detected',
      {
        kind: 'fleet_rate_spike',
        botId: 'etl-bot',
        severity: 'high',
        text: 'the 3 bots of team data made 240 requests in the last hour',
        evidence: { requestsLastHour: 240, usualBusiestHour: 18 },
        fleet: { by: 'team', id: 'data', bots: ['etl-bot', 'load-bot', 'sync-bot'] },
      },
      { elevationId: null },
    ),
    2004,
    1,
    1,
  ],
  [
    'decision.refused',
    event(
      'decision.refused',
      {
        decision: 'approve',
        code: 'unsigned',
        message: 'the decision is not signed by Elevate (no decision token)',
        kid: null,
        claimed: { kind: 'human', id: 'mallory@example.org' },
        at: '2026-12-06T10:00:00.000Z',
      },
      { actor: { kind: 'anonymous', id: 'temporal' } },
    ),
    2004,
    1,
    1,
  ],
  [
    'request.unverified',
    event(
      'request.unverified',
      {
        code: 'unsigned',
        message: 'not started by the API',
        kid: null,
        claimed: { bot: 'etl-bot', role: 'ops' },
      },
      { actor: { kind: 'anonymous', id: 'temporal' } },
    ),
    2004,
    1,
    1,
  ],
  [
    'lease.orphaned',
    event('lease.orphaned', {
      workflowId: `elevation-${ID}`,
      workflowStatus: 'TERMINATED',
      target: LDAP,
      principal: DN,
      acquiredAt: '2026-12-06T09:00:00.000Z',
    }),
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

/**
 * What is wrong with an OCSF event: what the OCSF schema refuses, and the export's own rules
 * the schema cannot say (every event has a message, the version, the Elevate event under
 * `unmapped`); [] when nothing.
 */
function problems(r: Record<string, unknown>): string[] {
  const out = ocsfSchemaErrors(r);
  if (typeof r.message !== 'string' || r.message === '') out.push('no message');
  if (pathValue(r, 'metadata.version') !== OCSF_VERSION) out.push('metadata.version');
  if (typeof r.unmapped !== 'object' || r.unmapped === null) out.push('no unmapped');
  out.push(...notPlainJson(r, ''));
  return out;
}

/** Where a value would not survive a JSON round trip unchanged (undefined, NaN, a Date…). */
function notPlainJson(value: unknown, at: string): string[] {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return [];
  if (typeof value === 'number') return Number.isFinite(value) ? [] : [`${at || '/'}: ${value}`];
  if (Array.isArray(value)) return value.flatMap((v, k) => notPlainJson(v, `${at}/${k}`));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.entries(value).flatMap(([k, v]) => notPlainJson(v, `${at}/${k}`));
  }
  return [`${at || '/'}: not plain JSON (${typeof value})`];
}

const ACTORS: Actor[] = [
  SYSTEM,
  BOT,
  { kind: 'human', id: 'alice@example.org' },
  { kind: 'human', id: 'U024BE7LH' },
  { kind: 'human', id: 'ops@localhost' },
  { kind: 'admin', id: 'secops' },
  { kind: 'admin', id: 'ann@example.org' },
  { kind: 'anonymous', id: 'unknown' },
];

/** Data of the wrong shape: what a damaged or older record could hold. */
const WRONG_SHAPES: Record<string, unknown>[] = [
  {},
  { receipt: 'x', target: 5, error: [1], session: 'y', approvers: 'a', botId: 7, reason: 3 },
  { receipt: { target: { type: 'ldap' }, principal: 5, removed: true }, ip: 'not an address', count: 'x' },
];

/** Event types this version of Elevate does not know: what newer code may have recorded. */
const NEWER_TYPES = ['lease.reclaimed', 'decision.withdrawn', 'request.forged', 'grant.rolled_back'];

describe('the OCSF schema fixture', () => {
  it('when loaded, then it holds exactly the classes the export can produce, of its OCSF version', () => {
    expect([...OCSF_SCHEMA.properties.class_uid.enum].sort()).toEqual([...OCSF_CLASS_UIDS].sort());
    expect(OCSF_SCHEMA.$comment).toContain(`ocsf-schema ${OCSF_VERSION}`);
  });

  // The schema has to be able to refuse: each of these is an event the export once produced,
  // or could by mistake, and OCSF does not allow.
  const accountChange = () => toOcsf(CASES.find(([w]) => w === 'grant.confirmed (aws attach)')![1]);
  const finding = () => toOcsf(CASES.find(([w]) => w === 'drift.detected')![1]);
  it.each<[string, () => Record<string, unknown>, string]>([
    [
      'an attribute its class does not define',
      () => ({ ...accountChange(), comment: 'x' }),
      '/comment: not an attribute of Account Change (3001)',
    ],
    [
      'an attribute an object does not define',
      () => {
        const r = accountChange();
        return { ...r, user: { ...(r.user as object), comment: 'x' } };
      },
      '/user/comment: not an attribute of User',
    ],
    [
      'an attribute of an object nested in an object',
      () => {
        const r = accountChange();
        return { ...r, metadata: { ...(r.metadata as object), product: { name: 'Elevate', vendor: 'x' } } };
      },
      '/metadata/product/vendor: not an attribute of Product',
    ],
    [
      'a deprecated attribute',
      () => ({ ...accountChange(), policy: { name: 'elevate-x' } }),
      '/policy: Deprecated attribute since OCSF 1.4.0: Use the policies attribute instead.',
    ],
    [
      "an attribute of a profile the event does not apply (the host profile's actor)",
      () => ({ ...finding(), actor: { user: { name: 'elevate' } } }),
      '/actor: not an attribute of Detection Finding (2004)',
    ],
    [
      'an activity the class does not have',
      () => ({ ...accountChange(), activity_id: 13, type_uid: 300113 }),
      '/activity_id: 13 must be equal to one of the allowed values',
    ],
    [
      'a type_uid that is not class_uid × 100 + activity_id',
      () => ({ ...accountChange(), type_uid: 300108 }),
      '/type_uid: 300108 must be equal to constant {"allowedValue":300107}',
    ],
    [
      'a class it does not compile',
      () => ({ ...accountChange(), class_uid: 3005 }),
      '/class_uid: 3005 must be equal to one of the allowed values',
    ],
    [
      'no required attribute',
      () => ({ ...accountChange(), user: undefined }),
      "/: must have required property 'user'",
    ],
    [
      'the wrong type',
      () => ({ ...accountChange(), time: '2025-06-01T12:34:56.789Z' }),
      '/time: must be integer',
    ],
    ['null for a value', () => ({ ...accountChange(), message: null }), '/message: must be string'],
    [
      'a string its data type does not allow',
      () => ({ ...accountChange(), src_endpoint: { ip: 'localhost' } }),
      '/src_endpoint/ip: "localhost" does not match the pattern of its OCSF data type',
    ],
    [
      'both of two attributes a constraint allows only one of',
      () => ({
        ...toOcsf(CASES.find(([w]) => w === 'grant.confirmed (aws credentials)')![1]),
        group: { name: 'deployers' },
      }),
      '/: must match exactly one schema in oneOf',
    ],
    [
      'none of the attributes a constraint asks for at least one of',
      () => ({ ...accountChange(), user: { type: 'Bot' } }),
      '/user: must match a schema in anyOf',
    ],
  ])('when an event carries %s, then the schema refuses it', (_what, make, expected) => {
    const errors = ocsfSchemaErrors(JSON.parse(JSON.stringify(make())));
    expect(
      errors.some((e) => e.startsWith(expected)),
      errors.join('\n'),
    ).toBe(true);
  });
});

describe('toOcsf', () => {
  it('when the cases are listed, then each is of an event type Elevate records', () => {
    expect(CASES.map(([, e]) => e.type).filter((t) => !EVENT_TYPES.includes(t))).toEqual([]);
  });

  it.each(CASES)(
    'when mapping %s, then it lands in its class, activity and status, valid OCSF',
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
    },
  );

  // Every type, with the data of every case (of its own type or not), data of the wrong shape,
  // every kind of actor, with and without an elevation: a type added to EVENT_TYPES is checked
  // here as soon as it exists, whether or not toOcsf maps it specially.
  it.each(EVENT_TYPES)('when %s carries any data, any actor, then it is valid OCSF', (type) => {
    const datas = [...CASES.map(([, e]) => e.data), ...WRONG_SHAPES];
    const failures: string[] = [];
    for (const [k, data] of datas.entries()) {
      for (const elevationId of [ID, null]) {
        const actor = ACTORS[k % ACTORS.length]!;
        const r = toOcsf(event(type, data, { elevationId, actor }));
        const found = problems(r);
        if (found.length > 0)
          failures.push(`${JSON.stringify({ data, elevationId, actor })}: ${found.join('; ')}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it.each(NEWER_TYPES)(
    'when the event type %s is unknown to this version, then it becomes a valid Base Event: Other',
    (type) => {
      for (const actor of ACTORS) {
        const r = toOcsf(event(type, { key: 'x' }, { actor }));

        expect(problems(r)).toEqual([]);
        expect([r.class_uid, r.category_uid, r.activity_id, r.type_uid]).toEqual([0, 0, 99, 99]);
        expect(r.message).toContain(type);
        expect(r.message).toContain(`${actor.kind} ${actor.id}`);
        expect(r.unmapped).toMatchObject({ type, actor });
      }
    },
  );

  it('when an unknown event type names a refusal or a failure, then its status is Failure, otherwise Unknown', () => {
    expect(toOcsf(event('extension.refused', {})).status_id).toBe(2);
    expect(toOcsf(event('lease.failed', {})).status_id).toBe(2);
    expect(toOcsf(event('lease.reclaimed', {})).status_id).toBe(0);
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
    expect(attach.policies).toEqual([expect.objectContaining({ name: `elevate-${ID}` })]);
    expect(attach).not.toHaveProperty('policy');
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
    expect(denied.policies).toEqual([expect.objectContaining({ name: `elevate-deny-${ID}` })]);
  });

  it('when an admin gives a reason for a change to a bot, then it is in the message, since Account Change has no comment', () => {
    for (const type of ['bot.locked', 'bot.unlocked', 'bot.disabled']) {
      const e = CASES.find(([w]) => w === type)![1];
      const r = toOcsf(e);

      expect(r.class_uid).toBe(3001);
      expect(r).not.toHaveProperty('comment');
      expect(r.message).toContain(`: ${String(e.data.reason)}`);
      expect(pathValue(r, 'unmapped.data.reason')).toBe(e.data.reason);
    }
  });

  it('when an elevation event carries a justification or comment, then it is the Entity Management comment', () => {
    const requested = toOcsf(CASES.find(([w]) => w === 'elevation.requested')![1]);
    expect(requested).toMatchObject({ class_uid: 3004, comment: 'nightly load' });

    const action = toOcsf(CASES.find(([w]) => w === 'admin.action (revoke)')![1]);
    expect(action).toMatchObject({ class_uid: 3004, comment: 'left running over the weekend' });

    const started = toOcsf(
      event('revoke.started', { reason: 'admin_revoked', comment: 'done early', requestedBy: null }),
    );
    expect(started).toMatchObject({ class_uid: 3004, comment: 'done early' });
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
    const slackUser = toOcsf(event('approval.accepted', {}, { actor: { kind: 'human', id: 'U024BE7LH' } }));
    expect(pathValue(slackUser, 'actor.user')).not.toHaveProperty('email_addr');
    const system = toOcsf(CASES.find(([w]) => w === 'elevation.approved')![1]);
    expect(system.actor).toMatchObject({ app_name: 'Elevate', user: { type_id: 3 } });
    const auth = toOcsf(CASES.find(([w]) => w === 'auth.refused')![1]);
    expect(auth).toMatchObject({
      user: { name: 'unknown', type_id: 0, credential_uid: 'sha256:ab' },
      src_endpoint: { ip: '192.0.2.1' },
      service: { name: 'Elevate' },
      status_detail: 'unknown_key',
    });
    const summary = toOcsf(CASES.find(([w]) => w === 'refusals.summarized')![1]);
    expect(summary).toMatchObject({ count: 9412, status_detail: 'rate_limited' });
    expect(summary.message).toContain('Refused 9412 auth.refused attempts (rate_limited)');
  });

  it('when continuous detection finds an anomaly, then it is an alerting finding with its severity, sentence and numbers', () => {
    const r = toOcsf(CASES.find(([w]) => w === 'anomaly.detected')![1]);

    expect(r).toMatchObject({
      is_alert: true,
      severity_id: 4,
      finding_info: { uid: 'evt-anomaly.detected', title: 'Rate spike across a fleet of bots' },
      risk_details: 'requestsLastHour=240; usualBusiestHour=18; bots=etl-bot,load-bot,sync-bot',
    });
    expect(r.message).toBe(
      'Anomaly fleet_rate_spike of team data: the 3 bots of team data made 240 requests in the last hour',
    );
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
