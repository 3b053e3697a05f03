/**
 * `npm run bench [-- --quick] [-- --elevations N --rate R --duration S]`: the embedded default
 * under load.
 *
 * Starts its own Temporal dev server, slapd and SQLite store (in a temporary directory), a
 * worker and the API in this process, then sends N elevation requests through the HTTP API at
 * R per second (open-loop: on schedule, however slow the answers), one bot each, so every
 * grant and revocation is a real LDAP change. Windows are long enough that all N are active
 * at once. Measured from what the system recorded, not from polling:
 *
 * - request → active: `grantedAt` (the workflow saw the grant confirmed by read-back) minus
 *   the moment the client sent the request;
 * - revocation lag: the revocation receipt's `verifiedAt` (read-back confirmed the member is
 *   gone) minus `expiresAt`.
 *
 * Then mass expiry: B more LDAP elevations (`--burst B`: 100 with `--quick`, 1,000 otherwise)
 * whose windows end within about one second of each other, and each one's revocation lag from
 * its receipt and from slapd's access log, with the time until the last is removed; then S
 * windows ending one after another (`--spread S` at `--spread-rate`), timed the same way (see
 * `bench-mass-expiry.ts`).
 *
 * Then the floor (`bench-floor.ts`, unless `--no-floor`): bare Temporal workflows doing one LDAP
 * modify per start, and add → timer → remove, at the same counts and rates, so that Elevate's
 * figures read as an overhead over what Temporal and slapd cost on their own (`floor.overhead`).
 *
 * Then the approval path, through the Slack app (signed interactions, the Web API stand-in)
 * and the development identity provider (password + TOTP), M elevations one after another
 * (`bench-approvals.ts`):
 *
 * - approval → active: the grant receipt's `verifiedAt` (LDAP membership confirmed by
 *   read-back) minus the moment the approver's confirmation POST was sent;
 * - Slack acknowledgement: how long the server took to answer the signed Approve click
 *   (Slack's deadline is 3 s).
 *
 * Then short windows on the other targets, each bot its own grant, for the revocation lag of
 * each: PostgreSQL role memberships, and AWS IAM attach mode against a moto server (a policy
 * created and attached to the bot's IAM role, detached and deleted at the end). The AWS bots
 * also add to drift detection's work: every reconcile period lists each bot's attached policies.
 *
 * Last, with `--ramp` or `--hold`, the load phases (`bench-load.ts`): rising rates of full
 * lifecycles to find where the stack saturates, and many grants held at once. `--temporal cluster`
 * runs everything on a Temporal server on PostgreSQL instead of the dev server.
 *
 * The last line of output is one JSON object.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { CreateRoleCommand, IAMClient, paginateListPolicies } from '@aws-sdk/client-iam';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { policySchema } from '../config/policy.js';
import { generateSecret, hashSecret } from '../core/crypto/credentials.js';
import { newDecisionKeyPair, parseSigningKey } from '../core/crypto/decision-keys.js';
import { startBenchServers } from '../dev/bench-servers.js';
import { measureExpiryPhases } from './bench-mass-expiry.js';
import { floorOverhead, startFloor } from './bench-floor.js';
import { checkScheduleInput, LOAD_OPTIONS, loadPlan, runLoadPhases } from './bench-load.js';
import { shortWindowLags } from './bench-short-windows.js';
import { botDn, groupDn } from '../dev/ldap-seed.js';
import { createLogger } from '../runtime/logger.js';
import { startApiAndWorker } from '../runtime/api-and-worker.js';
import { startApi } from '../runtime/api.js';
import { LdapTarget } from '../integrations/ldap/ldap-target.js';
import { startBenchWorkers, workerProcessEnv, type BenchWorker } from './bench-workers.js';
import { summariseProfiles, threadSeconds } from './bench-cpu-profile.js';
import { clockTicks } from './bench-observe.js';
import { freePort } from '../dev/processes.js';
import type { ElevationView, RevokeReceipt } from '../core/model/elevation.js';
import { startDevIdentityProvider } from '../dev/dev-identity-provider.js';
import { Secret } from 'otpauth';
import { startMoto } from '../dev/moto-server.js';
import { startPostgres } from '../dev/postgres-server.js';
import { startSlackApiStub } from '../dev/slack-api-stub.js';
import pg from 'pg';
import { measureApprovals } from './bench-approvals.js';
import { measureAdminReview } from './bench-admin.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    elevations: { type: 'string' },
    duration: { type: 'string' },
    roles: { type: 'string', default: '10' },
    rate: { type: 'string' },
    approvals: { type: 'string' },
    'postgres-elevations': { type: 'string' },
    'aws-elevations': { type: 'string' },
    'history-elevations': { type: 'string' },
    burst: { type: 'string' },
    'burst-rate': { type: 'string', default: '25' },
    spread: { type: 'string' },
    'spread-rate': { type: 'string', default: '10' },
    'no-floor': { type: 'boolean', default: false },
    ...LOAD_OPTIONS,
  },
});
const quick = values.quick ?? false;
const N = Number(values.elevations ?? (quick ? 100 : 1000));
const roleCount = Math.min(Number(values.roles), N);
/** Requests per second, sent open-loop: on schedule, whatever the answers' latency. */
const rate = Number(values.rate ?? 10);
/** Long enough that the first elevation is still active when the last one is granted. */
const durationSeconds = Number(values.duration ?? Math.ceil(N / rate) + (quick ? 4 : 10));
const SUFFIX = 'dc=bench,dc=example';
/** Elevations approved through Slack and an MFA login, one after another. */
const M = Number(values.approvals ?? (quick ? 20 : 100));
/** Elevations whose role is a PostgreSQL role, each for a short window. */
const P = Number(values['postgres-elevations'] ?? (quick ? 30 : 200));
const pgDuration = 5;
/** Elevations whose role attaches an IAM policy (moto), each for a short window. */
const A = Number(values['aws-elevations'] ?? (quick ? 10 : 50));
const awsDuration = 5;
/** moto's account, and fixed keys it accepts (it does not check them unless told to). */
const AWS_ACCOUNT = '123456789012';
const AWS_REGION = 'us-east-1';
const AWS_CREDENTIALS = { accessKeyId: 'AKIABENCH00000000001', secretAccessKey: 'bench-fake-aws-secret' };
/** Past elevations put in the audit store for the admin queries and the chain verification. */
const H = Number(values['history-elevations'] ?? (quick ? 10_000 : 100_000));
/** Elevations whose windows all end together, for mass expiry, opened at `burstRate` a second. */
const B = Number(values.burst ?? (quick ? 100 : 1000));
const burstRate = Number(values['burst-rate']);
/** Elevations whose windows end one after another, `spreadRate` a second (the burst's bots reused). */
const S = Number(values.spread ?? (quick ? 50 : 200));
const spreadRate = Number(values['spread-rate']);
/** The floor (`bench-floor.ts`): bare Temporal workflows against groups no policy names. */
const floor = !values['no-floor'];
const floorGroups = floor ? Array.from({ length: 10 }, (_, i) => `bench-floor-${i}`) : [];
/** Drift detection period for the bench (the default is 60 s). */
const RECONCILE_SECONDS = 10;

const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const round = (n: number) => Math.round(n * 10) / 10;
const dir = mkdtempSync(path.join(tmpdir(), 'elevate-bench-'));
const stops: (() => Promise<void>)[] = [];
try {
  const bots = Array.from({ length: N }, (_, i) => `bench-${String(i).padStart(5, '0')}`);
  const roles = Array.from({ length: roleCount }, (_, i) => `bench-role-${i}`);
  const keys = bots.map(() => generateSecret('bot'));
  const load = loadPlan(values, { suffix: SUFFIX, rampRoles: roles });
  /** The most (group, member) pairs one of the floor's phases uses at once. */
  const floorPairs = Math.max(
    N,
    B,
    ...(load.ramp?.rates ?? []).map((r) => Math.round(r * load.ramp!.stepSeconds)),
  );
  const adminToken = generateSecret('admin');
  // As a policy file would say it (the worker processes read it from one), parsed below.
  const policy = {
    version: 1,
    admins: [{ id: 'bench-admin', tokenHash: hashSecret(adminToken) }],
    bots: bots.map((id, i) => ({
      id,
      owner: 'bench@example.org',
      team: 'bench',
      purpose: 'benchmark',
      environment: 'bench',
      ldapDn: botDn(SUFFIX, id),
      apiKeyHash: hashSecret(keys[i]!),
      roles: [roles[i % roleCount]!],
    })),
    roles: roles.map((id) => ({
      id,
      environment: 'bench',
      target: { type: 'ldap', groupDn: groupDn(SUFFIX, id) },
      maxDurationSeconds: 3600,
      approval: { mode: 'auto' },
    })),
  };
  const approvalBot = {
    id: 'bench-approval-bot',
    owner: 'bench@example.org',
    team: 'bench',
    purpose: 'benchmark of the approval path',
    environment: 'bench',
    ldapDn: botDn(SUFFIX, 'bench-approval-bot'),
    apiKeyHash: hashSecret(generateSecret('bot')),
    roles: ['bench-approval'],
  };
  const approver = {
    email: 'approver@example.org',
    password: 'bench-approver-password',
    totpSecret: new Secret({ size: 20 }).base32,
  };
  const pgBots = Array.from({ length: P }, (_, i) => ({
    id: `bench-pg-${String(i).padStart(4, '0')}`,
    owner: 'bench@example.org',
    team: 'bench',
    purpose: 'benchmark of the PostgreSQL target',
    environment: 'bench',
    postgresLogin: `bench_pg_${i}`,
    apiKeyHash: hashSecret(generateSecret('bot')),
    roles: ['bench-pg'],
  }));
  const awsBots = Array.from({ length: A }, (_, i) => ({
    id: `bench-aws-${String(i).padStart(4, '0')}`,
    owner: 'bench@example.org',
    team: 'bench',
    purpose: 'benchmark of the AWS IAM target',
    environment: 'bench',
    awsPrincipal: `arn:aws:iam::${AWS_ACCOUNT}:role/bench-aws-${String(i).padStart(4, '0')}`,
    apiKeyHash: hashSecret(generateSecret('bot')),
    roles: ['bench-aws'],
  }));
  const burstBots = Array.from(
    { length: Math.max(B, S) },
    (_, i) => `bench-burst-${String(i).padStart(5, '0')}`,
  );
  const burstBotPolicies = burstBots.map((id, i) => ({
    id,
    owner: 'bench@example.org',
    team: 'bench',
    purpose: 'benchmark of mass expiry',
    environment: 'bench',
    ldapDn: botDn(SUFFIX, id),
    apiKeyHash: hashSecret(generateSecret('bot')),
    roles: [roles[i % roleCount]!],
  }));
  const fullPolicyInput = {
    ...policy,
    bots: [...policy.bots, ...burstBotPolicies, ...load.bots, approvalBot, ...pgBots, ...awsBots],
    roles: [
      ...policy.roles,
      ...load.roles,
      {
        id: 'bench-aws',
        environment: 'bench',
        target: {
          type: 'aws-iam',
          mode: 'attach',
          policy: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::bench/*' }],
          },
        },
        maxDurationSeconds: 3600,
        approval: { mode: 'auto' },
      },
      {
        id: 'bench-pg',
        environment: 'bench',
        target: { type: 'postgres', server: 'bench', role: 'bench_reader' },
        maxDurationSeconds: 3600,
        approval: { mode: 'auto' },
      },
      {
        id: 'bench-approval',
        environment: 'bench',
        target: { type: 'ldap', groupDn: groupDn(SUFFIX, 'bench-approval') },
        maxDurationSeconds: 3600,
        approval: { mode: 'approvers', groups: [{ name: 'bench', ldapGroup: groupDn(SUFFIX, 'approvers') }] },
      },
    ],
  };
  const fullPolicy = policySchema.parse(fullPolicyInput);

  checkScheduleInput(fullPolicy, load);
  say(`starting the embedded stack in ${dir}`);
  const postgres = await startPostgres();
  stops.push(() => postgres.stop());
  {
    const c = new pg.Client({ connectionString: postgres.url });
    await c.connect();
    await c.query(`CREATE ROLE elevate_admin LOGIN CREATEROLE PASSWORD 'bench-admin-secret'`);
    await c.query('CREATE ROLE bench_reader NOLOGIN');
    await c.query('CREATE ROLE bench_intruder LOGIN');
    for (const b of pgBots) await c.query(`CREATE ROLE ${b.postgresLogin} LOGIN`);
    await c.end();
  }
  const moto = await startMoto();
  stops.push(() => moto.stop());
  const iam = new IAMClient({ region: AWS_REGION, endpoint: moto.url, credentials: AWS_CREDENTIALS });
  stops.push(() => Promise.resolve(iam.destroy()));
  for (const b of awsBots) {
    const { Role } = await iam.send(
      new CreateRoleCommand({
        RoleName: b.id,
        AssumeRolePolicyDocument: JSON.stringify({
          Version: '2012-10-17',
          Statement: [
            {
              Effect: 'Allow',
              Principal: { AWS: `arn:aws:iam::${AWS_ACCOUNT}:root` },
              Action: 'sts:AssumeRole',
            },
          ],
        }),
      }),
    );
    if (Role?.Arn !== b.awsPrincipal) throw new Error(`moto made role ${Role?.Arn}, not ${b.awsPrincipal}`);
  }
  const { temporal, slapd } = await startBenchServers(
    dir,
    SUFFIX,
    {
      bots: [...bots, ...burstBots, ...load.botIds, approvalBot.id],
      groups: [...roles, ...load.groups, 'bench-approval', ...floorGroups],
      people: [{ uid: 'approver', mail: approver.email }],
      peopleGroups: [{ id: 'approvers', members: ['approver'] }],
    },
    stops,
    load.temporal,
  );
  const slack = await startSlackApiStub({
    token: 'xoxb-bench',
    users: [
      { id: 'UAPPROVER', email: approver.email },
      { id: 'UOWNER', email: 'bench@example.org' },
    ],
  });
  stops.push(() => slack.stop());
  const signingSecret = 'bench-signing-secret-0123456789abcdef';
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}`;
  const idp = await startDevIdentityProvider({
    clients: [
      {
        clientId: 'elevate-bench',
        clientSecret: 'bench-client-secret-0123456789',
        redirectUris: [`${publicUrl}/approvals/callback`],
      },
    ],
    accounts: [approver],
    logger: createLogger('warn'),
    env: {},
  });
  stops.push(() => idp.stop());
  // Elevate's AWS identity comes from the SDK's default chain, which reads process.env.
  process.env['AWS_ACCESS_KEY_ID'] = AWS_CREDENTIALS.accessKeyId;
  process.env['AWS_SECRET_ACCESS_KEY'] = AWS_CREDENTIALS.secretAccessKey;
  process.env['AWS_REGION'] = AWS_REGION;
  const decisionSigningKey = parseSigningKey(newDecisionKeyPair().privatePem);
  const ldap = { url: slapd.url, bindDn: slapd.rootDn, bindPassword: slapd.rootPassword };
  const temporalSettings = { address: temporal.address, namespace: 'default', taskQueue: 'elevate-bench' };
  const sqlitePath = path.join(dir, 'audit.db');
  const slackSettings = { botToken: slack.token, signingSecret, socketMode: false, apiUrl: slack.url };
  const grantTimeoutSeconds = 120;
  const revokeRetryMaxSeconds = 5;
  const targetEnv = {
    ELEVATE_POSTGRES_BENCH_URL: postgres.url.replace('postgres@', 'elevate_admin:bench-admin-secret@'),
    ELEVATE_AWS_ENDPOINT_URL: moto.url,
    AWS_REGION,
  };
  const profileDir = load.workerCpuProfile
    ? mkdtempSync(path.join(tmpdir(), 'elevate-bench-profiles-'))
    : undefined;
  const workerProcesses =
    load.workerProcesses > 0
      ? await startBenchWorkers({
          count: load.workerProcesses,
          dir,
          policy: fullPolicyInput,
          env: workerProcessEnv({
            temporal: temporalSettings,
            ldap,
            sqlitePath,
            decisionPublicKeyPem: decisionSigningKey.publicKey.pem,
            grantTimeoutSeconds,
            revokeRetryMaxSeconds,
            reconcileIntervalSeconds: RECONCILE_SECONDS,
            publicUrl,
            slack: slackSettings,
            worker: load.workerEnv,
            targets: targetEnv,
          }),
          ...(profileDir ? { cpuProfileDir: profileDir } : {}),
          nodeOptions: load.workerNodeOptions,
          say,
        })
      : undefined;
  if (workerProcesses) stops.push(() => workerProcesses.stop());
  const start = workerProcesses ? startApi : startApiAndWorker;
  const services = await start({
    settings: {
      host: '127.0.0.1',
      port,
      publicUrl,
      slack: slackSettings,
      oidc: {
        issuer: idp.issuer,
        clientId: 'elevate-bench',
        clientSecret: 'bench-client-secret-0123456789',
        redirectUri: `${publicUrl}/approvals/callback`,
        mfaMethods: ['mfa', 'otp', 'hwk', 'swk'],
        mfaAcrValues: [],
        maxAgeSeconds: 300,
        emailClaim: 'email',
      },
      temporal: temporalSettings,
      decisionSigningKey,
      decisionPublicKeys: [decisionSigningKey.publicKey],
      audit: { sqlitePath },
      ldap,
      timing: { grantTimeoutSeconds, revokeRetryMaxSeconds },
      reconcile: { intervalSeconds: RECONCILE_SECONDS },
      worker: load.worker,
    },
    policy: fullPolicy,
    logger: createLogger('warn'),
    env: targetEnv,
  });
  stops.push(() => services.close());
  const api = services.url;
  const workers: BenchWorker[] = workerProcesses?.workers ?? [
    { label: 'bench', pid: process.pid, metricsUrl: api },
  ];
  // The directory as the worker's target sees it (its own in the bench process, or a connection of the bench's).
  const ldapTarget = services.target ?? new LdapTarget(ldap);
  if (!services.target) stops.push(() => ldapTarget.close());

  const post = async (i: number): Promise<{ id: string; sentAt: number }> => {
    const sentAt = Date.now();
    const res = await fetch(`${api}/v1/elevations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys[i]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: roles[i % roleCount], durationSeconds, justification: 'benchmark' }),
    });
    if (res.status !== 202) throw new Error(`request ${i}: HTTP ${res.status} ${await res.text()}`);
    return { id: ((await res.json()) as ElevationView).id, sentAt };
  };

  say(`sending ${N} requests at ${rate}/s, each for ${durationSeconds}s, over ${roleCount} LDAP groups`);
  const started = Date.now();
  const pending: Promise<{ id: string; sentAt: number }>[] = [];
  for (let i = 0; i < N; i += 1) {
    const due = started + (i * 1000) / rate;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    pending.push(post(i));
  }
  const sent = await Promise.all(pending);
  say(`all requests accepted after ${Date.now() - started} ms; waiting for every elevation to be revoked`);

  const deadline = Date.now() + (durationSeconds + 180) * 1000;
  for (;;) {
    const page = await services.stores.elevations.listElevations({
      limit: 1,
      status: ['approved', 'active', 'revoking'],
    });
    if (
      page.items.length === 0 &&
      (await services.stores.elevations.listElevations({ limit: N })).items.length >= N
    )
      break;
    if (Date.now() > deadline) throw new Error('not every elevation was revoked in time');
    await new Promise((r) => setTimeout(r, 250));
  }
  const finished = Date.now();

  const toActive: number[] = [];
  const lags: number[] = [];
  const intervals: [number, number][] = [];
  let notRevoked = 0;
  for (const { id, sentAt } of sent) {
    const view = (await services.stores.elevations.getElevation(id))!;
    if (view.status !== 'revoked') {
      notRevoked += 1;
      continue;
    }
    const events = await services.stores.auditLog.listEvents(id);
    const receipt = events.find((e) => e.type === 'elevation.revoked')!.data.receipt as RevokeReceipt;
    const granted = Date.parse(view.grantedAt!);
    const removed = Date.parse(receipt.verifiedAt);
    toActive.push(granted - sentAt);
    lags.push(removed - Date.parse(view.expiresAt!));
    intervals.push([granted, removed]);
  }
  // Most elevations active at the same moment, from the recorded grant and removal times.
  const edges = intervals
    .flatMap(([a, b]) => [[a, 1] as const, [b, -1] as const])
    .sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let concurrent = 0;
  let current = 0;
  for (const [, d] of edges) concurrent = Math.max(concurrent, (current += d));

  let leftInLdap = 0;
  for (const role of roles)
    leftInLdap += (await ldapTarget.listMembers({ type: 'ldap', groupDn: groupDn(SUFFIX, role) })).length;

  const byId = new Map(fullPolicy.bots.map((b) => [b.id, b]));
  const { burst, spread } = await measureExpiryPhases({
    services: { ...services, target: ldapTarget },
    slapd,
    bots: burstBots.map((id) => byId.get(id)!),
    roleOf: (i) => roles[i % roleCount]!,
    groupDns: roles.map((role) => groupDn(SUFFIX, role)),
    burst: { count: B, ratePerSec: burstRate },
    spread: { count: S, ratePerSec: spreadRate, durationSeconds: 5 },
    timeoutSeconds: 300,
    say,
  });
  const floorRunner = floor
    ? await startFloor({
        temporal: { address: temporal.address, namespace: temporalSettings.namespace },
        ldap: ldapTarget,
        slapd,
        groupDns: floorGroups.map((g) => groupDn(SUFFIX, g)),
        // Member values only: slapd does not ask that a member's entry exist.
        memberDns: Array.from({ length: Math.ceil(floorPairs / floorGroups.length) }, (_, i) =>
          botDn(SUFFIX, `bench-floor-member-${i}`),
        ),
        grant: { count: N, ratePerSec: rate },
        window: { count: B, ratePerSec: burstRate, leadSeconds: 5 },
        timeoutSeconds: 300,
        say,
      })
    : undefined;
  if (floorRunner) stops.push(() => floorRunner.stop());
  const floorFigures = floorRunner ? await floorRunner.measure() : null;

  say(`approving ${M} elevations through Slack and an MFA login, one after another`);
  const { toActiveAfterApproval, acks } = await measureApprovals({
    count: M,
    services,
    bot: fullPolicy.bots.find((b) => b.id === approvalBot.id)!,
    role: 'bench-approval',
    slack,
    signingSecret,
    publicUrl,
    approver,
  });

  const shortWindows = (list: { id: string }[], role: string, durationSeconds: number, what: string) =>
    shortWindowLags({
      services,
      bots: list.map((b) => byId.get(b.id)!),
      role,
      durationSeconds,
      ratePerSec: rate,
      what,
    });
  say(`granting and revoking ${P} PostgreSQL role memberships (${pgDuration} s windows)`);
  const pgLags = await shortWindows(pgBots, 'bench-pg', pgDuration, 'PostgreSQL');
  say(`attaching and detaching ${A} IAM policies in moto (${awsDuration} s windows)`);
  const awsLags = await shortWindows(awsBots, 'bench-aws', awsDuration, 'AWS');
  const leftAttached: string[] = [];
  for await (const page of paginateListPolicies(
    { client: iam },
    { Scope: 'Local', PathPrefix: '/elevate/', OnlyAttached: true },
  ))
    for (const p of page.Policies ?? []) leftAttached.push(p.Arn ?? p.PolicyName ?? '?');
  if (leftAttached.length > 0)
    throw new Error(
      `${leftAttached.length} Elevate policies still attached after every AWS elevation was revoked: ${leftAttached.join(', ')}`,
    );

  say(`granting a PostgreSQL role out of band; drift detection runs every ${RECONCILE_SECONDS} s`);
  const superuser = new pg.Client({ connectionString: postgres.url });
  await superuser.connect();
  const grantedOutOfBand = Date.now();
  await superuser.query('GRANT bench_reader TO bench_intruder');
  await superuser.end();
  let driftDetectSeconds = NaN;
  for (let position = 0; Date.now() < grantedOutOfBand + (RECONCILE_SECONDS * 3 + 30) * 1000;) {
    const events = await services.stores.auditLog.readEvents(position, 1000);
    const found = events.find((e) => e.type === 'drift.detected' && e.data.principal === 'bench_intruder');
    if (found) {
      driftDetectSeconds = (Date.parse(found.at) - grantedOutOfBand) / 1000;
      break;
    }
    position = events.at(-1)?.position ?? position;
    await new Promise((r) => setTimeout(r, 200));
  }
  if (Number.isNaN(driftDetectSeconds)) throw new Error('the out-of-band grant was not detected');

  // Let the last approved elevations run out before the chain is checked.
  await new Promise((r) => setTimeout(r, 3000));
  const chain = await services.stores.auditLog.verify();

  const { listMs, charts, verifyMedian, pgVerifyMedian } = await measureAdminReview({
    services,
    api,
    adminToken,
    bots,
    roles,
    historyElevations: H,
    postgresAuditEvents: quick ? 5_000 : 100_000,
    postgresUrl: postgres.url,
    suffix: SUFFIX,
    say,
  });
  const targetPostgresUrl = postgres.url;
  const loaded = await runLoadPhases(load, {
    services,
    workers,
    target: ldapTarget,
    policy: fullPolicy,
    temporal,
    slapd,
    targetPostgresUrl,
    suffix: SUFFIX,
    adminToken,
    ...(floorRunner ? { floor: floorRunner } : {}),
    say,
  });

  // Stopped here rather than at the end, so that their CPU profiles are written and can be read.
  const workerThreads = workerProcesses?.workers.map((w) => ({
    label: w.label,
    cpuSecondsByThread: threadSeconds(w.pid, clockTicks()).slice(0, 12),
  }));
  await workerProcesses?.stop();
  const workerProfiles = profileDir ? summariseProfiles(profileDir) : undefined;
  if (profileDir) say(`worker CPU profiles kept in ${profileDir}`);

  toActive.sort((a, b) => a - b);
  lags.sort((a, b) => a - b);
  const result = {
    requestToActiveP50Ms: round(pct(toActive, 50)),
    requestToActiveP99Ms: round(pct(toActive, 99)),
    revocationLagP50Ms: round(pct(lags, 50)),
    revocationLagP99Ms: round(pct(lags, 99)),
    revocationLagMaxMs: round(lags.at(-1) ?? NaN),
    revocationLagByTarget: {
      ldap: { p50Ms: round(pct(lags, 50)), p99Ms: round(pct(lags, 99)), count: lags.length },
      postgres: { p50Ms: round(pct(pgLags, 50)), p99Ms: round(pct(pgLags, 99)), count: pgLags.length },
      aws: { p50Ms: round(pct(awsLags, 50)), p99Ms: round(pct(awsLags, 99)), count: awsLags.length },
    },
    massExpiry: burst,
    spreadExpiry: spread,
    floor: floorFigures && {
      ...floorFigures,
      ramp: loaded.floorRamp,
      overhead: floorOverhead(
        {
          requestToActiveP50Ms: pct(toActive, 50),
          requestToActiveP99Ms: pct(toActive, 99),
          massExpiry: burst,
          rampMostCompletedPerSec: loaded.ramp
            ? Math.max(0, ...loaded.ramp.steps.map((s) => s.completedPerSec))
            : undefined,
        },
        { ...floorFigures, ramp: loaded.floorRamp },
      ),
    },
    ramp: loaded.ramp,
    hold: loaded.hold,
    loadMembersLeftInLdap: loaded.membersLeftInLdap,
    temporal: temporal.describe,
    workerProcesses: load.workerProcesses,
    ...(workerThreads ? { workerThreads } : {}),
    ...(workerProfiles ? { workerProfiles } : {}),
    driftDetectSeconds: round(driftDetectSeconds),
    reconcileIntervalSeconds: RECONCILE_SECONDS,
    approvalToActiveP50Ms: round(pct(toActiveAfterApproval, 50)),
    approvalToActiveP99Ms: round(pct(toActiveAfterApproval, 99)),
    slackAckP50Ms: round(pct(acks, 50)),
    slackAckP99Ms: round(pct(acks, 99)),
    approvals: M,
    concurrent,
    elevations: N,
    durationSeconds,
    ratePerSec: rate,
    lifecyclesPerSec: round(N / ((finished - started) / 1000)),
    notRevoked,
    membersLeftInLdap: leftInLdap,
    adminListP50Ms: round(pct(listMs, 50)),
    adminListP99Ms: round(pct(listMs, 99)),
    adminCharts90DaysMs: round(charts.ms),
    adminChartsElevations: charts.checked,
    adminListQueries: listMs.length,
    historyElevations: H,
    auditVerifyEvents: verifyMedian.checked,
    auditVerifyMs: round(verifyMedian.ms),
    auditVerifyEventsPerSec: Math.round(verifyMedian.checked / (verifyMedian.ms / 1000)),
    auditVerifyPostgresEvents: pgVerifyMedian.checked,
    auditVerifyPostgresEventsPerSec: Math.round(pgVerifyMedian.checked / (pgVerifyMedian.ms / 1000)),
    auditEvents: chain.checked,
    auditChainOk: chain.ok,
    quick,
    cpuCount: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30),
    node: process.version,
  };
  say(`done in ${Math.round((finished - started) / 1000)} s`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  const expiryFailed = [burst, spread].some((p) => p && p.notRevoked + p.membersLeftInLdap > 0);
  const floorFailed = floorFigures?.massExpiry ? floorFigures.massExpiry.membersLeftInLdap > 0 : false;
  const h = loaded.hold?.expiry;
  // Access is judged from the directory: a receipt still outstanding is reported, not a failure.
  const loadFailed =
    loaded.membersLeftInLdap > 0 || (h ? h.membersLeftInLdap + (h.slapdTimed?.notInLog ?? 0) > 0 : false);
  if (notRevoked > 0 || leftInLdap > 0 || expiryFailed || floorFailed || loadFailed || !chain.ok)
    process.exitCode = 1;
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
