/**
 * The evidence pack on its own: built from a real (in-memory SQLite) audit chain, checked by
 * verifyEvidencePack, and tampered with field by field — every single edit must be caught. A
 * forgery that recomputes every hash passes offline, and is caught by the export event's place
 * in the live chain, as the pack's documentation says.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AuditEvent, NewAuditEvent } from '../../core/model/audit-record.js';
import {
  buildEvidenceBody,
  evidenceDigest,
  exportEventData,
  verifyEvidencePack,
  type EvidencePack,
} from '../../integrations/audit/evidence-pack.js';
import { hashEvent } from '../../core/crypto/hash-chain.js';
import { openStores, type Stores } from '../../store/stores.js';
import type { Actor, ElevationView } from '../../core/model/elevation.js';
import type { TargetRef } from '../../core/model/targets.js';

const ID = 'el_0000000000000000000000a1';
const OTHER = 'el_0000000000000000000000b2';
const SYSTEM: Actor = { kind: 'system', id: 'elevate' };
const TARGET: TargetRef = { type: 'ldap', groupDn: 'cn=ops,ou=groups,dc=example,dc=org' };
const ADMIN: Actor = { kind: 'admin', id: 'ann@example.org' };

let n = 0;
function view(over: Partial<ElevationView> = {}): ElevationView {
  return {
    id: ID,
    workflowId: `elevation-${ID}`,
    status: 'pending_approval',
    botId: 'etl-bot',
    roleId: 'ops',
    owner: 'owner@example.org',
    environment: 'prod',
    durationSeconds: 600,
    justification: 'nightly load',
    requestedAt: '2026-03-01T10:00:00.000Z',
    approval: {
      mode: 'approvers',
      quorum: 1,
      deadline: '2026-03-01T10:15:00.000Z',
      groups: [{ name: 'leads', quorum: 1, approved: 0 }],
    },
    approvals: [],
    revokeAttempts: 0,
    ...over,
  };
}

function ev(
  type: NewAuditEvent['type'],
  elevationId: string | null,
  actor: Actor,
  data: Record<string, unknown>,
  elevation?: ElevationView,
): NewAuditEvent {
  n += 1;
  return {
    id: `evt-${n}`,
    elevationId,
    type,
    at: new Date(Date.parse('2026-03-01T10:00:00Z') + n * 1000).toISOString(),
    actor,
    data,
    ...(elevation ? { elevation } : {}),
  };
}

const approval = {
  approver: 'lee@example.org',
  at: '2026-03-01T10:02:00.000Z',
  groups: ['leads'],
  evidence: {
    issuer: 'https://idp.example.org',
    subject: 'lee',
    email: 'lee@example.org',
    amr: ['pwd', 'otp'],
    authTime: '2026-03-01T10:01:40.000Z',
    mfaMethod: 'otp',
    idTokenHash: `sha256:${'ab'.repeat(32)}`,
  },
};

/** One elevation's story, with another elevation's events in between (scattered positions). */
async function seed(store: Stores): Promise<void> {
  const bot = {
    id: 'etl-bot',
    owner: 'owner@example.org',
    team: 'data',
    purpose: 'loads',
    environment: 'prod',
    principal: 'uid=etl-bot,ou=bots,dc=example,dc=org',
  };
  const role = {
    id: 'ops',
    environment: 'prod',
    target: TARGET,
    maxDurationSeconds: 3600,
    approval: { mode: 'approvers', groups: [{ name: 'leads', quorum: 1, members: ['lee@example.org'] }] },
  };
  const approved = view({ status: 'approved', approvals: [approval] });
  const active = view({
    status: 'active',
    approvals: [approval],
    grantedAt: '2026-03-01T10:02:05.000Z',
    expiresAt: '2026-03-01T10:12:05.000Z',
  });
  const done = {
    ...active,
    status: 'revoked' as const,
    endedAt: '2026-03-01T10:12:06.000Z',
    endReason: 'expired' as const,
  };
  const events: NewAuditEvent[] = [
    ev(
      'elevation.requested',
      ID,
      { kind: 'bot', id: 'etl-bot' },
      { bot, role, durationSeconds: 600, justification: 'nightly load', ticket: null, requestId: null },
      view(),
    ),
    ev('auth.refused', null, { kind: 'anonymous', id: 'unknown' }, { reason: 'missing' }),
    ev(
      'elevation.requested',
      OTHER,
      { kind: 'bot', id: 'etl-bot' },
      { bot, role },
      view({ id: OTHER, workflowId: `elevation-${OTHER}` }),
    ),
    ev(
      'approval.accepted',
      ID,
      { kind: 'human', id: approval.approver },
      {
        approver: approval.approver,
        groups: approval.groups,
        evidence: approval.evidence,
        comment: null,
        count: 1,
        progress: [],
      },
      approved,
    ),
    ev('elevation.approved', ID, SYSTEM, { approvers: [approval.approver] }, approved),
    ev(
      'grant.confirmed',
      ID,
      SYSTEM,
      {
        receipt: {
          target: TARGET,
          principal: bot.principal,
          alreadyPresent: false,
          sharedWith: [],
          verifiedAt: '2026-03-01T10:02:05.000Z',
        },
      },
      active,
    ),
    ev('drift.detected', null, SYSTEM, { role: 'ops' }),
    ev(
      'revoke.started',
      ID,
      SYSTEM,
      { reason: 'expired', comment: null, requestedBy: null },
      { ...active, status: 'revoking' },
    ),
    ev(
      'elevation.revoked',
      ID,
      SYSTEM,
      {
        reason: 'expired',
        startedAt: '2026-03-01T10:12:05.000Z',
        receipt: {
          target: TARGET,
          principal: bot.principal,
          removed: true,
          stillHeldBy: [],
          verifiedAt: '2026-03-01T10:12:06.000Z',
        },
        revokeAttempts: 0,
      },
      done,
    ),
  ];
  for (const e of events) await store.auditLog.append(e);
}

/** A pack made the way the service makes it: body, digest, export event appended. */
async function makePack(store: Stores): Promise<EvidencePack> {
  const elevation = (await store.elevations.getElevation(ID))!;
  const events = await store.auditLog.listEvents(ID);
  const verify = await store.auditLog.verify();
  const exportedAt = '2026-03-02T09:00:00.000Z';
  const body = buildEvidenceBody({
    elevation,
    events,
    verify,
    exportedAt,
    exportedBy: ADMIN,
    via: 'console',
  });
  const digest = evidenceDigest(body);
  const exportEvent = await store.auditLog.append({
    id: 'evt-export',
    elevationId: ID,
    type: 'audit.exported',
    at: exportedAt,
    actor: ADMIN,
    data: exportEventData(body, digest),
  });
  return JSON.parse(JSON.stringify({ ...body, digest, exportEvent })) as EvidencePack;
}

/** Every leaf of a JSON value, as a path of keys and indexes. */
function leaves(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, [...path, i]));
  if (value && typeof value === 'object')
    return Object.entries(value).flatMap(([k, v]) => leaves(v, [...path, k]));
  return [path];
}

function tampered(pack: EvidencePack, path: (string | number)[]): unknown {
  const copy = JSON.parse(JSON.stringify(pack)) as Record<string | number, unknown>;
  let at: Record<string | number, unknown> = copy;
  for (const key of path.slice(0, -1)) at = at[key] as Record<string | number, unknown>;
  const last = path[path.length - 1]!;
  const v = at[last];
  at[last] =
    typeof v === 'string' ? `${v}x` : typeof v === 'number' ? v + 1 : typeof v === 'boolean' ? !v : 'x';
  return copy;
}

describe('the evidence pack', () => {
  let store: Stores;
  beforeEach(async () => {
    store = await openStores({ sqlitePath: ':memory:' });
    await seed(store);
  });
  afterEach(() => store.database.close());

  it('when made from the chain, then it verifies and carries what the events say', async () => {
    const pack = await makePack(store);

    expect(verifyEvidencePack(pack)).toEqual({ ok: true, problems: [] });
    expect(pack.events.map((e) => e.type)).toEqual([
      'elevation.requested',
      'approval.accepted',
      'elevation.approved',
      'grant.confirmed',
      'revoke.started',
      'elevation.revoked',
    ]);
    expect(pack.bot?.team).toBe('data');
    expect(pack.role?.target).toEqual(TARGET);
    expect(pack.approvals[0]?.evidence).toMatchObject({ amr: ['pwd', 'otp'], mfaMethod: 'otp' });
    expect(pack.receipts.grant?.verifiedAt).toBe('2026-03-01T10:02:05.000Z');
    expect(pack.receipts.revoke).toMatchObject({ removed: true, verifiedAt: '2026-03-01T10:12:06.000Z' });
    expect(pack.chain.verify).toMatchObject({ ok: true, checked: 9 });
    expect(pack.chain.head).toEqual(pack.chain.verify.head);
    for (const e of pack.events) {
      const { hash, ...rest } = e;
      expect(hashEvent(rest)).toBe(hash);
    }
    expect(pack.exportEvent.data).toEqual({
      format: 'evidence',
      elevationId: ID,
      digest: pack.digest,
      via: 'console',
    });
    // The export event is in the live chain: one anchor proves the whole pack is Elevate's.
    const anchored = await store.auditLog.verify({
      anchors: [{ position: pack.exportEvent.position, hash: pack.exportEvent.hash }],
    });
    expect(anchored.ok).toBe(true);
  });

  it('when any single field is changed, then verification fails', async () => {
    const pack = await makePack(store);
    const paths = leaves(pack);
    expect(paths.length).toBeGreaterThan(150);

    const missed = paths.filter((p) => verifyEvidencePack(tampered(pack, p)).ok).map((p) => p.join('.'));

    expect(missed).toEqual([]);
  });

  it('when events are removed, reordered or added, or fields added, then verification fails and says where', async () => {
    const pack = await makePack(store);
    const copy = () => JSON.parse(JSON.stringify(pack)) as EvidencePack;

    const dropped = copy();
    dropped.events.splice(2, 1);
    const swapped = copy();
    [swapped.events[1], swapped.events[2]] = [swapped.events[2]!, swapped.events[1]!];
    const extra = copy();
    (extra.elevation as unknown as Record<string, unknown>).note = 'added';
    const foreign = copy();
    (foreign.events[0]! as unknown as Record<string, unknown>).comment = 'added';

    for (const bad of [dropped, swapped, extra, foreign]) expect(verifyEvidencePack(bad).ok).toBe(false);
    expect(verifyEvidencePack(dropped).problems.join('\n')).toMatch(/digest: does not match/);
    expect(verifyEvidencePack(foreign).problems.join('\n')).toMatch(/events\[0\]: its hash does not match/);
    expect(verifyEvidencePack(null)).toEqual({ ok: false, problems: ['pack: is not a JSON object'] });
    expect(verifyEvidencePack({ format: 'x' }).ok).toBe(false);
  });

  it('when a forger recomputes every hash, then offline checks pass but the live chain refutes the export event', async () => {
    const pack = await makePack(store);
    const forged = JSON.parse(JSON.stringify(pack)) as EvidencePack;
    // Claim a different approver, and make everything consistent again.
    const accepted = forged.events.find((e) => e.type === 'approval.accepted')!;
    accepted.data.approver = 'mallory@example.org';
    accepted.actor = { kind: 'human', id: 'mallory@example.org' };
    const rehash = (e: AuditEvent) => {
      const { hash: _old, ...rest } = e;
      e.hash = hashEvent(rest);
    };
    rehash(accepted);
    forged.elevation.approvals[0]!.approver = 'mallory@example.org';
    forged.approvals[0]!.approver = 'mallory@example.org';
    forged.chain.proof = forged.events.map((e) => ({
      eventId: e.id,
      seq: e.seq,
      position: e.position,
      prevHash: e.prevHash,
      hash: e.hash,
    }));
    // Its neighbour in the chain (elevation.approved) still links to the genuine hash.
    expect(verifyEvidencePack(forged).problems.join('\n')).toMatch(
      /prevHash: is not the hash of the event before/,
    );
    // So the forger rewrites every neighbour after it, as far as the positions run on.
    for (let i = forged.events.indexOf(accepted) + 1; i < forged.events.length; i += 1) {
      const [before, e] = [forged.events[i - 1]!, forged.events[i]!];
      if (e.position !== before.position + 1) break;
      e.prevHash = before.hash;
      rehash(e);
    }
    forged.chain.proof = forged.events.map((e) => ({
      eventId: e.id,
      seq: e.seq,
      position: e.position,
      prevHash: e.prevHash,
      hash: e.hash,
    }));
    const { digest: _d, exportEvent, ...body } = forged;
    forged.digest = evidenceDigest(body);
    exportEvent.data = exportEventData(body, forged.digest);
    rehash(exportEvent);

    expect(verifyEvidencePack(forged)).toEqual({ ok: true, problems: [] });
    const anchored = await store.auditLog.verify({
      anchors: [{ position: forged.exportEvent.position, hash: forged.exportEvent.hash }],
    });
    expect(anchored).toMatchObject({ ok: false, firstBroken: { reason: 'anchor_mismatch' } });
  });
});
