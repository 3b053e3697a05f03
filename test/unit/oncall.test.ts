/**
 * On-call approver groups: who a policy rotation puts on call, PagerDuty's and Opsgenie's
 * schedules looked up at local stand-ins of their APIs (no network), the policy's `oncall`, and
 * the API finding an approver in an on-call group at the instant they ask.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePolicy } from '../../config/load-policy.js';
import { OnCallUnavailableError } from '../../core/ports/oncall-directory.js';
import { onCallAt } from '../../core/rules/oncall-rotation.js';
import { ApprovalService } from '../../domain/approvals/approval-service.js';
import { onCallDirectoryOf } from '../../integrations/oncall/oncall-directory.js';
import { OpsgenieOnCall } from '../../integrations/oncall/opsgenie.js';
import { PagerDutyOnCall } from '../../integrations/oncall/pagerduty.js';
import { startOpsgenieStub, startPagerDutyStub, type OnCallStub } from '../support/oncall-stubs.js';

const START = '2026-12-07T09:00:00.000Z';
const DAY = 86_400;
const ROTATION = {
  startsAt: START,
  shiftSeconds: DAY,
  members: ['ann@example.org', 'ben@example.org', 'cat@example.org'],
};
const at = (iso: string) => Date.parse(iso);

describe('a rotation in the policy', () => {
  it('when shifts pass, then the members take turns in order, and start over', () => {
    expect(onCallAt(ROTATION, at('2026-12-07T09:00:00Z'))).toBe('ann@example.org');
    expect(onCallAt(ROTATION, at('2026-12-08T08:59:59Z'))).toBe('ann@example.org');
    expect(onCallAt(ROTATION, at('2026-12-08T09:00:00Z'))).toBe('ben@example.org');
    expect(onCallAt(ROTATION, at('2026-12-09T12:00:00Z'))).toBe('cat@example.org');
    expect(onCallAt(ROTATION, at('2026-12-10T09:00:00Z'))).toBe('ann@example.org');
  });

  it('when the instant is before the rotation starts, then the turns count backwards', () => {
    expect(onCallAt(ROTATION, at('2026-12-07T08:59:59Z'))).toBe('cat@example.org');
    expect(onCallAt(ROTATION, at('2026-12-05T10:00:00Z'))).toBe('ben@example.org');
  });
});

let pagerduty: OnCallStub;
let opsgenie: OnCallStub;

beforeAll(async () => {
  pagerduty = await startPagerDutyStub('pd-token', { PDB0001: ['Dora@Example.org'], PEMPTY1: [] });
  opsgenie = await startOpsgenieStub('og-key', {
    'a1b2c3d4-0000-4000-8000-000000000001': ['eve@example.org'],
  });
});

afterAll(async () => {
  await pagerduty?.stop();
  await opsgenie?.stop();
});

describe('PagerDuty and Opsgenie schedules', () => {
  it('when PagerDuty is asked, then it is GET /oncalls for the schedule at the instant, with the users included and the key', async () => {
    const client = new PagerDutyOnCall({ token: 'pd-token', apiUrl: pagerduty.url });
    expect(await client.onCall('PDB0001', new Date(START))).toEqual(['dora@example.org']);
    const { url, authorization } = pagerduty.requests.at(-1)!;
    expect(url.pathname).toBe('/oncalls');
    expect(url.searchParams.getAll('schedule_ids[]')).toEqual(['PDB0001']);
    expect(url.searchParams.getAll('include[]')).toEqual(['users']);
    expect(url.searchParams.get('since')).toBe(START);
    expect(url.searchParams.get('until')).toBe(START);
    expect(authorization).toBe('Token token=pd-token');
    expect(await client.onCall('PEMPTY1', new Date(START))).toEqual([]);
  });

  it('when PagerDuty refuses the key, fails, or cannot be reached, then the lookup is unavailable (nobody is made an approver)', async () => {
    await expect(
      new PagerDutyOnCall({ token: 'wrong', apiUrl: pagerduty.url }).onCall('PDB0001', new Date()),
    ).rejects.toThrow(OnCallUnavailableError);
    pagerduty.fail(503);
    try {
      await expect(
        new PagerDutyOnCall({ token: 'pd-token', apiUrl: pagerduty.url }).onCall('PDB0001', new Date()),
      ).rejects.toThrow('PagerDuty answered 503');
    } finally {
      pagerduty.fail(false);
    }
    await expect(
      new PagerDutyOnCall({ token: 'pd-token', apiUrl: 'http://127.0.0.1:9', timeoutMs: 2000 }).onCall(
        'PDB0001',
        new Date(),
      ),
    ).rejects.toThrow('PagerDuty cannot be reached');
  });

  it('when Opsgenie is asked, then it is the schedule’s flat on-call list at the instant, with the key', async () => {
    const client = new OpsgenieOnCall({ apiKey: 'og-key', apiUrl: opsgenie.url });
    expect(await client.onCall('a1b2c3d4-0000-4000-8000-000000000001', new Date(START))).toEqual([
      'eve@example.org',
    ]);
    const { url, authorization } = opsgenie.requests.at(-1)!;
    expect(url.searchParams.get('flat')).toBe('true');
    expect(url.searchParams.get('date')).toBe(START);
    expect(authorization).toBe('GenieKey og-key');
    await expect(client.onCall('unknown-schedule', new Date())).rejects.toThrow('Opsgenie answered 404');
  });

  it('when a provider is not configured, then its schedules are unavailable while rotations still resolve', async () => {
    const directory = onCallDirectoryOf({});
    await expect(directory.onCall({ pagerduty: { scheduleId: 'PDB0001' } }, new Date())).rejects.toThrow(
      'PagerDuty is not configured',
    );
    expect(await directory.onCall({ rotation: ROTATION }, new Date(START))).toEqual(['ann@example.org']);
  });
});

function policyWith(escalationGroups: string): string {
  return `version: 1
admins:
  - id: admin
    tokenHash: "sha256:${'b'.repeat(64)}"
bots:
  - id: deploy-bot
    owner: owner@example.org
    team: ops
    purpose: deploys
    environment: prod
    ldapDn: cn=deploy-bot,ou=bots,dc=example,dc=org
    apiKeyHash: "sha256:${'a'.repeat(64)}"
    roles: [deployer]
roles:
  - id: deployer
    environment: prod
    target: { type: ldap, groupDn: "cn=deployers,ou=groups,dc=example,dc=org" }
    maxDurationSeconds: 3600
    approval:
      mode: approvers
      approvers: [lead@example.org]
      windowSeconds: 900
      escalation:
        afterSeconds: 300
        groups:
${escalationGroups}
`;
}

const ON_CALL_GROUPS = `          - name: sre
            oncall: { rotation: { startsAt: "2026-12-07T10:00:00+01:00", shiftSeconds: ${DAY}, members: [Ann@Example.org, ben@example.org, cat@example.org] } }
          - name: dba
            oncall: { pagerduty: { scheduleId: PDB0001 } }`;

describe('on-call groups in the policy and at the API', () => {
  it('when a group takes an on-call schedule, then it loads with quorum 1 and the rotation normalised', () => {
    const policy = parsePolicy(policyWith(ON_CALL_GROUPS), 'policy.yaml');
    const approval = policy.roles[0]!.approval;
    expect(approval.mode === 'approvers' && approval.escalation?.groups).toEqual([
      { name: 'sre', quorum: 1, oncall: { rotation: { ...ROTATION } } },
      { name: 'dba', quorum: 1, oncall: { pagerduty: { scheduleId: 'PDB0001' } } },
    ]);
  });

  it.each([
    [
      '          - { name: sre, quorum: 2, oncall: { pagerduty: { scheduleId: P1 } } }',
      'escalation.groups[0].quorum: must be 1',
    ],
    [
      '          - { name: sre, members: [a@example.org], oncall: { pagerduty: { scheduleId: P1 } } }',
      'escalation.groups[0].members: give exactly one',
    ],
    ['          - { name: sre, oncall: { victorops: { scheduleId: P1 } } }', 'escalation.groups[0].oncall'],
    [
      '          - { name: sre, oncall: { rotation: { startsAt: "2026-12-07T10:00:00", shiftSeconds: 3600, members: [a@example.org] } } }',
      'oncall.rotation.startsAt',
    ],
    [
      '          - { name: sre, oncall: { rotation: { startsAt: "2026-12-07T10:00:00Z", shiftSeconds: 3600, members: [a@example.org, a@example.org] } } }',
      'oncall.rotation.members',
    ],
  ])('when %j, then loading fails naming the field', (yaml, field) => {
    expect(() => parsePolicy(policyWith(yaml), 'policy.yaml')).toThrow(field);
  });

  it('when an approver asks, then they are in an on-call group only while on call, looked up at that instant', async () => {
    const policy = parsePolicy(policyWith(ON_CALL_GROUPS), 'policy.yaml');
    let now = new Date(START);
    const service = new ApprovalService({
      policy,
      reader: { find: () => Promise.resolve(undefined) },
      decisions: {
        decide: () => Promise.reject(new Error('unused')),
        refusalOrUnavailable: () => Promise.reject(new Error('unused')),
      },
      refusals: { recordRefusal: () => Promise.reject(new Error('unused')) },
      oncall: onCallDirectoryOf({ pagerduty: { token: 'pd-token', apiUrl: pagerduty.url } }),
      logger: pino({ level: 'silent' }),
      clock: () => now,
    });
    expect(await service.approverGroups('deployer', 'ann@example.org')).toEqual(['sre']);
    expect(await service.approverGroups('deployer', 'ben@example.org')).toEqual([]);
    expect(await service.approverGroups('deployer', 'dora@example.org')).toEqual(['dba']);
    now = new Date('2026-12-08T09:00:00.000Z');
    expect(await service.approverGroups('deployer', 'ben@example.org')).toEqual(['sre']);
    expect(await service.approverGroups('deployer', 'ann@example.org')).toEqual([]);
    pagerduty.fail(500);
    try {
      await expect(service.approverGroups('deployer', 'dora@example.org')).rejects.toMatchObject({
        code: 'service_unavailable',
      });
    } finally {
      pagerduty.fail(false);
    }
  });
});
