/**
 * Targets down across many expiries: slapd stopped (SIGTERM, started again on the same data),
 * then PostgreSQL and the AWS IAM stand-in (moto) cut off behind a TCP gate (their ports refuse
 * connections; both keep their state), each for FAULT_DOWN_SECONDS while FAULT_EXPIRIES windows
 * end. While down, revocations must fail loudly (`revoke.failed` events, the revoke-failure
 * and target-error metrics) and stay `revoking`; once the target is back, every grant must be
 * removed, and the suite measures how long after the recovery the last one went.
 *
 * The worker runs in the test process (its metrics are read here). It retries a failed removal
 * every second or so on its own; a last slapd outage restarts it before slapd is back, so that
 * the workflows' revocation rounds must do it, paused up to the product's default
 * ELEVATE_REVOKE_RETRY_MAX_SECONDS (30 s; FAULT_RETRY_MAX_SECONDS changes it).
 */
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FINAL_STATUSES, type ElevationView } from '../../core/model/elevation.js';
import { startMoto, type MotoServer } from '../../dev/moto-server.js';
import { startPostgres, type PostgresServer } from '../../dev/postgres-server.js';
import { AwsIamAttachTarget } from '../../integrations/aws/iam-attach-target.js';
import { createMetrics, type Metrics } from '../../integrations/metrics/prometheus.js';
import { PostgresTarget } from '../../integrations/postgres/postgres-target.js';
import { botOf, startStack, type Stack } from '../support/stack.js';
import { recordRows, type FaultRow } from './fault-results.js';
import { faultSettings, sleep } from './fault-settings.js';
import { InvariantChecker } from './invariants.js';
import {
  awsAttachMemberships,
  ldapMemberships,
  postgresMemberships,
  type MembershipSource,
} from './membership-sources.js';
import { startTcpGate, type TcpGate } from './tcp-gate.js';

const AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIAEXAMPLEELEVATE', secretAccessKey: 'test-secret' },
};
const ACCOUNT = '123456789012';
/** Bots per target: with more expiries than bots, elevations of one bot overlap (a shared grant). */
const BOTS_PER_TARGET = 3;
const retryMaxSeconds = Number(process.env.FAULT_RETRY_MAX_SECONDS ?? 30);

type TargetName = 'ldap' | 'postgres' | 'aws-iam';
const ROLE: Record<TargetName, string> = { ldap: 'directory', postgres: 'warehouse', 'aws-iam': 'cloud' };
const botsOf = (t: TargetName) => Array.from({ length: BOTS_PER_TARGET }, (_, i) => `${t}-bot-${i + 1}`);

let stack: Stack;
let metrics: Metrics;
let postgres: PostgresServer;
let moto: MotoServer;
let iam: IAMClient;
let pgGate: TcpGate;
let awsGate: TcpGate;
let checker: InvariantChecker;
let stopSampling: () => Promise<void>;
const sources: Partial<Record<TargetName, MembershipSource>> = {};
const rows: FaultRow[] = [];

beforeAll(async () => {
  postgres = await startPostgres();
  const admin = new pg.Client({ connectionString: postgres.url });
  await admin.connect();
  try {
    await admin.query(`CREATE ROLE elevate_admin LOGIN CREATEROLE PASSWORD 'elevate-admin-secret'`);
    await admin.query('CREATE ROLE reporting NOLOGIN');
    for (const bot of botsOf('postgres')) await admin.query(`CREATE ROLE "${bot}" LOGIN`);
  } finally {
    await admin.end();
  }
  const pgUrl = new URL(postgres.url);
  pgGate = await startTcpGate({ host: '127.0.0.1', port: Number(pgUrl.port) });

  moto = await startMoto();
  iam = new IAMClient({ ...AWS, endpoint: moto.url });
  for (const bot of botsOf('aws-iam')) {
    await iam.send(
      new CreateRoleCommand({
        RoleName: bot,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
          ],
        }),
      }),
    );
  }
  const motoUrl = new URL(moto.url);
  awsGate = await startTcpGate({ host: '127.0.0.1', port: Number(motoUrl.port) });

  metrics = createMetrics({ processMetrics: false, temporal: false });
  stack = await startStack({
    bots: [
      ...botsOf('ldap').map((id) => ({ id, roles: [ROLE.ldap] })),
      ...botsOf('postgres').map((id) => ({ id, roles: [ROLE.postgres], postgresLogin: id })),
      ...botsOf('aws-iam').map((id) => ({
        id,
        roles: [ROLE['aws-iam']],
        awsPrincipal: `arn:aws:iam::${ACCOUNT}:role/${id}`,
      })),
    ],
    roles: [
      { id: ROLE.ldap, maxDurationSeconds: 3600 },
      {
        id: ROLE.postgres,
        maxDurationSeconds: 3600,
        target: { type: 'postgres', server: 'warehouse', role: 'reporting' },
      },
      {
        id: ROLE['aws-iam'],
        maxDurationSeconds: 3600,
        target: {
          type: 'aws-iam',
          mode: 'attach',
          policy: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::reports/*' }],
          },
        },
      },
    ],
    targets: {
      postgres: {
        warehouse: new PostgresTarget({
          url: `postgresql://elevate_admin:elevate-admin-secret@127.0.0.1:${pgGate.port}/postgres`,
          server: 'warehouse',
        }),
      },
      awsIamAttach: new AwsIamAttachTarget({ ...AWS, endpoint: `http://127.0.0.1:${awsGate.port}` }),
    },
    timing: { revokeRetryMaxSeconds: retryMaxSeconds, grantTimeoutSeconds: 60 },
    metrics,
  });
  // Read straight from the targets, never through the gates.
  sources.ldap = ldapMemberships(stack, [ROLE.ldap]);
  sources.postgres = postgresMemberships(
    postgres.url,
    [{ roleId: ROLE.postgres, pgRole: 'reporting' }],
    botsOf('postgres').map((b) => ({ botId: b, login: b })),
  );
  sources['aws-iam'] = awsAttachMemberships(
    iam,
    ROLE['aws-iam'],
    botsOf('aws-iam').map((b) => ({ botId: b, roleName: b })),
  );
  checker = new InvariantChecker({
    stores: stack.stores,
    sources: Object.values(sources),
    // A grant may outlive its window by the outage plus the pause before the next round.
    lagMs: (faultSettings.downSeconds + retryMaxSeconds + 30) * 1000,
  });
  stopSampling = checker.startSampling(500);
}, 240_000);

afterAll(async () => {
  await stopSampling?.();
  if (rows.length) recordRows('targets-down', rows);
  await stack?.close();
  await pgGate?.close();
  await awsGate?.close();
  iam?.destroy();
  await moto?.stop();
  await postgres?.stop();
});

/** Sum of a counter's samples for one target type. */
async function counter(metric: keyof Pick<Metrics, 'revokeFailures' | 'targetErrors'>, target: TargetName) {
  const { values } = await metrics[metric].get();
  return values.filter((v) => v.labels.target_type === target).reduce((n, v) => n + v.value, 0);
}

/**
 * Grants `FAULT_EXPIRIES` elevations of `target`'s role whose windows all end while it is down,
 * takes it down for FAULT_DOWN_SECONDS, brings it back, and measures. With `restartWorker`, the
 * worker is stopped and started again once every window has ended, so its in-memory retries are
 * lost and the workflows' own revocation rounds must do the removals.
 */
async function outage(
  target: TargetName,
  down: () => Promise<void>,
  up: () => Promise<void>,
  restartWorker = false,
): Promise<FaultRow> {
  const n = faultSettings.expiriesWhileDown;
  const downMs = faultSettings.downSeconds * 1000;
  const source = sources[target]!;
  const bots = botsOf(target);
  const failuresBefore = await counter('revokeFailures', target);
  const errorsBefore = await counter('targetErrors', target);

  // Windows end between 3 s after the target goes down and 3 s before it is back.
  // (time enough to request and grant them all first, about 0.3 s each on two busy cores)
  const downAt = Date.now() + 3000 + n * 300;
  const first = downAt + 3000;
  const last = downAt + Math.max(3000, downMs - 3000);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const end = n === 1 ? first : first + ((last - first) * i) / (n - 1);
    // Each bot's windows in one block, so that the last window of each (the one whose removal
    // must reach the target) ends at a different point of the outage: early ones have been
    // retried for minutes, at the longest pause, when the target comes back.
    const bot = bots[Math.floor((i * bots.length) / n)]!;
    const { elevation } = await stack.services.requests.request(botOf(stack, bot), {
      role: ROLE[target],
      durationSeconds: Math.max(4, Math.ceil((end - Date.now()) / 1000)),
      justification: `fault suite: ${target} down`,
      requestId: randomUUID(),
    });
    ids.push(elevation.id);
  }
  for (const id of ids) await stack.waitFor(id, (v) => v.status === 'active', 60_000);
  expect(new Set((await source.read()).map((m) => m.botId))).toEqual(
    new Set(bots.slice(0, Math.min(n, bots.length))),
  );

  await sleep(Math.max(0, downAt - Date.now()));
  await down();
  const wentDown = Date.now();
  if (restartWorker) {
    await sleep(Math.max(0, wentDown + downMs - 2000 - Date.now()));
    await stack.stopWorker();
    await stack.startWorker();
  }
  await sleep(Math.max(0, wentDown + downMs - Date.now()));
  const whileDown = await Promise.all(ids.map((id) => stack.stores.elevations.getElevation(id)));
  await up();
  const cameUp = Date.now();

  // Watch the target itself until the last of these grants is gone.
  let goneAt: number | undefined;
  const deadline = cameUp + (retryMaxSeconds + 120) * 1000;
  while (Date.now() < deadline) {
    const held = await source.read().catch(() => undefined);
    if (held && !held.some((m) => m.roleId === ROLE[target])) {
      goneAt = Date.now();
      break;
    }
    await sleep(100);
  }
  const views = await checker.settle((retryMaxSeconds + 120) * 1000, ids);

  // Those whose revocation had to reach the target while it was down: in LDAP and PostgreSQL an
  // earlier window of a bot whose later window still holds the same grant is released in the
  // ledger alone (the grant stays for the other); AWS attach mode gives each its own policy.
  const expiredWhileDown = views.filter(
    (v) => v.expiresAt && Date.parse(v.expiresAt) > wentDown && Date.parse(v.expiresAt) < cameUp - 2000,
  );
  const mustReach = expiredWhileDown.filter(
    (v) =>
      target === 'aws-iam' ||
      !views.some(
        (o) => o.botId === v.botId && o.id !== v.id && Date.parse(o.expiresAt!) > Date.parse(v.expiresAt!),
      ),
  );
  let failedWhileDown = 0;
  let removalAfterUp = 0;
  for (const v of views) {
    const events = await stack.stores.auditLog.listEvents(v.id);
    if (events.some((e) => e.type === 'revoke.failed' && Date.parse(e.at) < cameUp)) failedWhileDown += 1;
    const revoked = events.find((e) => e.type === 'elevation.revoked');
    const at = (revoked?.data.receipt as { verifiedAt?: string } | undefined)?.verifiedAt ?? revoked?.at;
    if (at) removalAfterUp = Math.max(removalAfterUp, Date.parse(at) - cameUp);
  }
  const failures = (await counter('revokeFailures', target)) - failuresBefore;
  const errors = (await counter('targetErrors', target)) - errorsBefore;

  const row: FaultRow = {
    order: restartWorker ? 33 : { ldap: 30, postgres: 31, 'aws-iam': 32 }[target],
    fault:
      `${target === 'ldap' ? 'slapd stopped' : target === 'postgres' ? 'PostgreSQL target cut off' : 'AWS IAM (moto) cut off'} ` +
      `${faultSettings.downSeconds} s across ${n} expiries${restartWorker ? ', worker restarted before it came back' : ''}`,
    runs: n,
    lostRevocations: views.filter((v) => v.status !== 'revoked').length,
    leftoverGrants: goneAt === undefined ? 1 : 0,
    activeWithoutGrant: 0,
    maxRevocationDelayMs: Math.max(removalAfterUp, goneAt === undefined ? Infinity : goneAt - cameUp),
    missingEvents: 0,
    repeatedEvents: 0,
    chainVerified: true,
    note:
      `delay measured from the recovery; while down: ${whileDown.filter((v) => v?.status === 'revoking').length} showed revoking ` +
      `and ${failedWhileDown} had revoke.failed recorded, of ${mustReach.length} whose removal had to reach the target ` +
      `(${n - mustReach.length} shared a grant a later window still held); elevate_revoke_failures_total +${failures}, ` +
      `elevate_target_errors_total +${errors}; retry pause at most ${retryMaxSeconds} s`,
  };
  const ended = await checker.endedReport(views);
  row.missingEvents = ended.missing;
  row.repeatedEvents = ended.repeated;
  rows.push(row);

  expect(views.map((v) => v.status)).toEqual(ids.map(() => 'revoked'));
  expect(goneAt, 'every grant removed after the recovery').toBeDefined();
  expect(failedWhileDown).toBeGreaterThanOrEqual(mustReach.length);
  expect(failures).toBeGreaterThanOrEqual(mustReach.length);
  expect(ended.missing + ended.repeated).toBe(0);
  return row;
}

describe('a target down across many expiries', () => {
  it('when slapd is stopped across the expiries, then failures are recorded while it is down and every grant is removed once it is back', async () => {
    await outage(
      'ldap',
      () => stack.slapd.stop(),
      () => stack.slapd.restart(),
    );
  });

  it('when the PostgreSQL target is unreachable across the expiries, then failures are recorded and every grant is removed once it is back', async () => {
    await outage(
      'postgres',
      () => pgGate.shut(),
      () => pgGate.open(),
    );
  });

  it('when AWS IAM is unreachable across the expiries, then failures are recorded and every grant is removed once it is back', async () => {
    await outage(
      'aws-iam',
      () => awsGate.shut(),
      () => awsGate.open(),
    );
  });

  it('when slapd is down across the expiries and the worker restarts meanwhile, then the workflows remove every grant once it is back', async () => {
    await outage(
      'ldap',
      () => stack.slapd.stop(),
      () => stack.slapd.restart(),
      true,
    );
  });

  it('then no grant is left anywhere, every ended elevation has all its events, and the chain verifies', async () => {
    await stopSampling();
    const views = await checker.settle(60_000);
    await checker.finalCheck(views);
    const ok = await checker.verifyChain();
    for (const row of rows) {
      row.leftoverGrants += checker.violations.filter(
        (v) => v.kind === 'leftover-grant' && v.detail.includes(`|${ROLE[targetOf(row)]} `),
      ).length;
      row.activeWithoutGrant = checker.violations.filter(
        (v) => v.kind === 'active-without-grant' && v.detail.includes(`|${ROLE[targetOf(row)]} `),
      ).length;
      row.chainVerified = ok;
    }
    expect(views.filter((v) => !FINAL_STATUSES.includes(v.status))).toEqual([] as ElevationView[]);
    expect(checker.violations).toEqual([]);
  });
});

function targetOf(row: FaultRow): TargetName {
  return row.order === 31 ? 'postgres' : row.order === 32 ? 'aws-iam' : 'ldap';
}
