/**
 * The risk score in the audit exports. OCSF: an `elevation.requested` with a score keeps its
 * Entity Management class, with the score and level on the requesting bot (`actor.user`), the
 * route and reasons in the elevation's `entity.data.risk`, and a severity that follows the
 * level; an `elevation.denied` by the score is a Detection Finding with `risk_score`,
 * `risk_level`, `risk_level_id` and `risk_details`. Both valid by the OCSF 1.5.0 schema
 * fixture. CSV: the score, level and reasons in their own columns. JSON Lines: as recorded.
 */
import { describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../core/model/audit-record.js';
import type { Actor } from '../../core/model/elevation.js';
import type { EventType } from '../../core/model/events.js';
import type { RiskDecision } from '../../core/model/risk.js';
import { GENESIS_HASH, hashEvent } from '../../core/crypto/hash-chain.js';
import { CSV_COLUMNS, exportAudit, toOcsf, type ExportFormat } from '../../integrations/audit/export.js';
import { ocsfSchemaErrors } from '../fixtures/ocsf/schema.js';

const ID = 'el_00000000000000000000risk';
const AT = '2025-06-01T12:34:56.789Z';
const BOT: Actor = { kind: 'bot', id: 'etl-bot' };
const SYSTEM: Actor = { kind: 'system', id: 'elevate' };

const ESCALATED: RiskDecision = {
  score: 72,
  level: 'high',
  baselined: true,
  route: 'escalated',
  routeReason: 'score 72 is above the high threshold 60: the security group joins the approvers',
  reasons: [
    { code: 'new_network', points: 25, text: 'first request from 203.0.113.0/24 in 30 days' },
    { code: 'unusual_hour', points: 18, text: 'requested at 03:00 UTC; usually 09:00–17:00' },
  ],
};

const DENIED: RiskDecision = {
  score: 91,
  level: 'critical',
  baselined: false,
  route: 'denied',
  routeReason: 'score 91 is above the critical threshold 85',
  reasons: [{ code: 'new_workload', points: 40, text: '=HYPERLINK("http://evil.example") workflow' }],
};

function event(type: string, data: Record<string, unknown>, actor: Actor, position = 7): AuditEvent {
  const unhashed: Omit<AuditEvent, 'hash'> = {
    id: `evt-${type}-${position}`,
    elevationId: ID,
    seq: position,
    type: type as EventType,
    at: AT,
    actor,
    data,
    position,
    prevHash: GENESIS_HASH,
  };
  return { ...unhashed, hash: hashEvent(unhashed) };
}

function requested(risk?: RiskDecision, position = 7): AuditEvent {
  return event(
    'elevation.requested',
    {
      bot: { id: 'etl-bot', principal: 'uid=etl-bot,ou=bots,dc=example,dc=org' },
      role: { id: 'ops', target: { type: 'ldap', groupDn: 'cn=ops,ou=groups,dc=example,dc=org' } },
      durationSeconds: 900,
      justification: 'nightly load',
      ticket: null,
      ...(risk ? { risk } : {}),
    },
    BOT,
    position,
  );
}

const denied = (risk?: RiskDecision, position = 8) =>
  event(
    'elevation.denied',
    { reason: 'denied by the risk score', ...(risk ? { risk } : {}) },
    SYSTEM,
    position,
  );

describe('OCSF', () => {
  it('when a scored request is exported, then the bot carries the score and level, and the entity the whole decision', () => {
    const r = toOcsf(requested(ESCALATED));

    expect(ocsfSchemaErrors(r)).toEqual([]);
    expect([r.class_uid, r.activity_id]).toEqual([3004, 1]);
    expect(r.actor).toEqual({
      user: {
        name: 'etl-bot',
        uid: 'etl-bot',
        type: 'Bot',
        type_id: 99,
        risk_score: 72,
        risk_level: 'High',
        risk_level_id: 3,
      },
    });
    expect((r.entity as { data: { risk: unknown } }).data.risk).toEqual(ESCALATED);
    expect(r.message).toContain('(elevation el_00000000000000000000risk, risk 72/100 (high), escalated)');
    // A high-risk request is worth more attention than a routine one: one step below its level.
    expect([r.severity_id, r.severity]).toEqual([3, 'Medium']);
  });

  it('when a request has no score (recorded before scoring), then it is exported as before', () => {
    const r = toOcsf(requested());

    expect(ocsfSchemaErrors(r)).toEqual([]);
    expect(r.actor).toEqual({ user: { name: 'etl-bot', uid: 'etl-bot', type: 'Bot', type_id: 99 } });
    expect((r.entity as { data: Record<string, unknown> }).data.risk).toBeUndefined();
    expect(r.severity_id).toBe(1);
  });

  it('when the score is not a whole number, then risk_score is rounded (OCSF wants an integer); the exact one stays in the entity', () => {
    const r = toOcsf(requested({ ...ESCALATED, score: 61.6 }));

    expect(ocsfSchemaErrors(r)).toEqual([]);
    expect((r.actor as { user: { risk_score: number } }).user.risk_score).toBe(62);
    expect((r.entity as { data: { risk: { score: number } } }).data.risk.score).toBe(61.6);
  });

  it.each([
    ['low', 1, 'Low', 1],
    ['medium', 2, 'Medium', 2],
    ['high', 3, 'High', 3],
    ['critical', 4, 'Critical', 4],
  ] as const)(
    'when a request scores %s, then risk_level_id is %i and the event is valid',
    (level, id, name, severity) => {
      const r = toOcsf(requested({ ...ESCALATED, level }));

      expect(ocsfSchemaErrors(r)).toEqual([]);
      expect((r.actor as { user: Record<string, unknown> }).user).toMatchObject({
        risk_level_id: id,
        risk_level: name,
      });
      expect(r.severity_id).toBe(severity);
    },
  );

  it('when the score denied a request, then the denial is a Detection Finding with the score, level and reasons', () => {
    const r = toOcsf(denied(DENIED));

    expect(ocsfSchemaErrors(r)).toEqual([]);
    expect([r.class_uid, r.activity_id, r.status_id]).toEqual([2004, 1, 1]);
    expect([r.severity_id, r.severity]).toEqual([5, 'Critical']);
    expect(r).toMatchObject({
      risk_score: 91,
      risk_level: 'Critical',
      risk_level_id: 4,
      is_alert: true,
      finding_info: {
        title: 'Elevation request denied by its risk score',
        types: ['Risky privilege request'],
      },
    });
    expect(r.risk_details).toBe(
      'risk 91/100 (critical), denied: score 91 is above the critical threshold 85. Reasons: +40 new_workload: =HYPERLINK("http://evil.example") workflow. No baseline yet: only the role\'s static factors scored',
    );
    expect(r.message).toBe(
      `Elevation ${ID} denied by its risk score (risk 91/100 (critical), denied): denied by the risk score`,
    );
    expect((r.unmapped as { data: { risk: unknown } }).data.risk).toEqual(DENIED);
  });

  it('when an approver denied a request, then the denial is an Entity Management update, as before', () => {
    const r = toOcsf(
      event('elevation.denied', { reason: 'not now' }, { kind: 'human', id: 'ann@example.org' }),
    );

    expect(ocsfSchemaErrors(r)).toEqual([]);
    expect([r.class_uid, r.activity_id, r.status_id]).toEqual([3004, 3, 2]);
    expect(r.risk_score).toBeUndefined();
  });
});

/** An export of `events` read through a store of one page. */
async function exported(format: ExportFormat, events: AuditEvent[]): Promise<string> {
  const store = {
    readEvents: (after: number) => Promise.resolve(events.filter((e) => e.position > after)),
  };
  let out = '';
  for await (const chunk of exportAudit(store, { format })) out += chunk;
  return out;
}

describe('CSV and JSON Lines', () => {
  it('when events carry a score, then the CSV has it in risk_score, risk_level and risk_reasons; other events leave them empty', async () => {
    const text = await exported('csv', [requested(ESCALATED, 1), denied(DENIED, 2), requested(undefined, 3)]);
    const rows = text.trimEnd().split('\r\n');
    const header = rows[0]!.split(',');
    const at = (name: string) => header.indexOf(name);

    expect(header).toEqual([...CSV_COLUMNS]);
    expect(header.slice(-3)).toEqual(['risk_score', 'risk_level', 'risk_reasons']);
    // The risk cells are the last three, after the hash (no quoted commas there).
    const tail = (row: string) => row.split(',').slice(-3);
    expect(at('risk_score')).toBe(CSV_COLUMNS.length - 3);
    expect(tail(rows[1]!)).toEqual([
      '72',
      'high',
      'new_network +25: first request from 203.0.113.0/24 in 30 days; unusual_hour +18: requested at 03:00 UTC; usually 09:00–17:00',
    ]);
    expect(tail(rows[3]!)).toEqual(['', '', '']);
  });

  it('when a reason would start a formula or holds quotes, then its cell is quoted and cannot be evaluated', async () => {
    const text = await exported('csv', [denied(DENIED, 1)]);
    const row = text.split('\r\n')[1]!;

    expect(
      row.endsWith(',91,critical,"new_workload +40: =HYPERLINK(""http://evil.example"") workflow"'),
    ).toBe(true);
  });

  it('when exported as JSON Lines, then the score is in the data exactly as recorded', async () => {
    const [line] = (await exported('jsonl', [requested(ESCALATED, 1)])).trimEnd().split('\n');

    expect((JSON.parse(line!) as { data: { risk: unknown } }).data.risk).toEqual(ESCALATED);
  });
});
