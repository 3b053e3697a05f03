/**
 * Elevations end to end on targets other than LDAP, and bots that authenticate with a workload
 * identity token: real Temporal, a real PostgreSQL server whose roles are granted, and a local
 * token issuer with its JWKS, through the HTTP API.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AttachRolePolicyCommand,
  CreatePolicyCommand,
  CreateRoleCommand,
  PutRolePolicyCommand,
  DetachRolePolicyCommand,
  ListRolePoliciesCommand,
  GetRolePolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListPolicyVersionsCommand,
} from '@aws-sdk/client-iam';
import { iamTime } from '../../integrations/aws/policy-document.js';
import { randomBytes } from 'node:crypto';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import pg from 'pg';
import { CredentialVault } from '../../domain/credential-vault.js';
import { AwsIamAttachTarget } from '../../integrations/aws/iam-attach-target.js';
import { AwsStsCredentialsTarget } from '../../integrations/aws/sts-credentials-target.js';
import { startMoto, type MotoServer } from '../../dev/moto-server.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkloadIdentityVerifier } from '../../integrations/federation/workload-identity.js';
import { PostgresTarget } from '../../integrations/postgres/postgres-target.js';
import { createApp } from '../../server/app.js';
import type { DriftAlert } from '../../core/model/reconcile.js';
import type { ElevationView } from '../../core/model/elevation.js';
import { startJwksIssuer, type JwksIssuer } from '../support/jwks-issuer.js';
import { startPostgres, type PostgresServer } from '../../dev/postgres-server.js';
import { startStack, type Stack } from '../support/stack.js';
import { randomUUID } from 'node:crypto';
import { reconcileAwsPrincipalsOf, reconcileRolesOf } from '../../worker/reconcile-schedule.js';
import { reconcileWorkflow } from '../../workflows/reconcile-workflow.js';

let server: PostgresServer;
let admin: pg.Client;
let issuer: JwksIssuer;
let s: Stack;
let http: Server;
let moto: MotoServer;
let iam: IAMClient;
const AWS_ROLE_ARN = 'arn:aws:iam::123456789012:role/ci-aws';
const DEPLOYER_ARN = 'arn:aws:iam::123456789012:role/ci-deployer';
/** A policy the bot's role keeps on purpose (declared standing in the policy). */
const BASELINE_ARN = 'arn:aws:iam::123456789012:policy/baseline-read';
const driftAlerts: DriftAlert[] = [];
let awsTarget: AwsIamAttachTarget;
const AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIAEXAMPLEELEVATE', secretAccessKey: 'test-secret' },
};
let base: string;

const AUDIENCE = 'elevate-test';
const SUBJECT = 'repo:acme/app:ref:refs/heads/main';

beforeAll(async () => {
  server = await startPostgres();
  admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`CREATE ROLE elevate_admin LOGIN CREATEROLE PASSWORD 'elevate-admin-secret'`);
  await admin.query('CREATE ROLE "reporting read" NOLOGIN');
  await admin.query('CREATE ROLE ci_bot LOGIN');
  await admin.query('CREATE ROLE intruder LOGIN');
  const targetUrl = server.url.replace('postgres@', 'elevate_admin:elevate-admin-secret@');
  issuer = await startJwksIssuer();
  moto = await startMoto();
  iam = new IAMClient({ ...AWS, endpoint: moto.url });
  const created = await iam.send(
    new CreateRoleCommand({
      RoleName: 'ci-aws',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { Service: 'ec2.amazonaws.com' }, Action: 'sts:AssumeRole' },
        ],
      }),
    }),
  );
  expect(created.Role?.Arn).toBe(AWS_ROLE_ARN);
  await iam.send(
    new CreateRoleCommand({
      RoleName: 'ci-deployer',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' },
        ],
      }),
    }),
  );
  awsTarget = new AwsIamAttachTarget({ ...AWS, endpoint: moto.url });
  s = await startStack({
    bots: [
      { id: 'aws-bot', roles: ['aws-read'], awsPrincipal: AWS_ROLE_ARN },
      { id: 'deploy-bot', roles: ['aws-deploy'] },
      {
        id: 'ci-bot',
        roles: ['warehouse-read', 'ldap-role'],
        postgresLogin: 'ci_bot',
        federation: {
          issuer: issuer.issuer,
          audience: AUDIENCE,
          claims: { sub: SUBJECT },
          recordClaims: ['run_id', 'sha', 'jti'],
        },
      },
    ],
    roles: [
      {
        id: 'warehouse-read',
        target: { type: 'postgres', server: 'warehouse', role: 'reporting read' },
        drift: { action: 'revert' },
      },
      { id: 'ldap-role' },
      {
        id: 'aws-read',
        drift: { action: 'revert', standing: [BASELINE_ARN] },
        extend: { maxTotalSeconds: 7200, approval: 'none' },
        target: {
          type: 'aws-iam',
          mode: 'attach',
          policy: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::releases/*' }],
          },
        },
      },
      {
        id: 'aws-deploy',
        maxDurationSeconds: 3600,
        target: {
          type: 'aws-iam',
          mode: 'credentials',
          roleArn: DEPLOYER_ARN,
          sessionPolicy: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::releases/*' }],
          },
        },
      },
    ],
    federation: { issuers: [{ issuer: issuer.issuer, allowInsecureHttp: true }] },
    targets: {
      postgres: { warehouse: new PostgresTarget({ url: targetUrl, server: 'warehouse' }) },
      awsIamAttach: awsTarget,
    },
    credentials: (stores) => {
      const vault = new CredentialVault(stores.singleUse, randomBytes(32));
      return { vault, target: new AwsStsCredentialsTarget({ ...AWS, endpoint: moto.url, handoff: vault }) };
    },
    notifier: () => ({
      announce: () => Promise.resolve([]),
      publish: () => Promise.resolve(),
      alertDrift: (alert) => {
        driftAlerts.push(alert);
        return Promise.resolve();
      },
    }),
  });
  const policy = s.policy;
  const app = createApp({
    // The API's services, with the workload identity verifier for the bots that have a rule.
    services: s.servicesWith({
      federation: new WorkloadIdentityVerifier(
        policy.bots.flatMap((b) => (b.federation ? [{ botId: b.id, ...b.federation }] : [])),
        policy.federation?.issuers ?? [],
      ),
    }),
    healthChecks: {},
    logger: s.logger,
  });
  http = await new Promise<Server>((resolve) => {
    const h = app.listen(0, '127.0.0.1', () => resolve(h));
  });
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
}, 180_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  await s?.close();
  await issuer?.stop();
  iam?.destroy();
  await moto?.stop();
  await admin?.end();
  await server?.stop();
});

async function isMember(login: string, role: string): Promise<boolean> {
  const { rows } = await admin.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_auth_members m
       JOIN pg_roles r ON r.oid = m.roleid JOIN pg_roles u ON u.oid = m.member
      WHERE r.rolname = $1 AND u.rolname = $2`,
    [role, login],
  );
  return rows[0]!.n > 0;
}

function post(token: string, body: object): Promise<Response> {
  return fetch(`${base}/v1/elevations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('a PostgreSQL role as the target', () => {
  it('when a bot asks for it, then its login is granted the role, and revoked at expiry', async () => {
    const res = await post(s.keys['ci-bot']!, {
      role: 'warehouse-read',
      durationSeconds: 2,
      justification: 'report',
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as ElevationView;
    await s.waitFor(id, (v) => v.status === 'active');
    expect(await isMember('ci_bot', 'reporting read')).toBe(true);
    const revoked = await s.waitFor(id, (v) => v.status === 'revoked');
    expect(revoked.endReason).toBe('expired');
    expect(await isMember('ci_bot', 'reporting read')).toBe(false);
    const confirmed = (await s.stores.auditLog.listEvents(id)).find((e) => e.type === 'grant.confirmed')!;
    expect(confirmed.data.receipt).toMatchObject({
      target: { type: 'postgres', server: 'warehouse', role: 'reporting read' },
      principal: 'ci_bot',
    });
  });

  it('when two elevations overlap, then the first to end leaves the role for the other', async () => {
    const key = s.keys['ci-bot']!;
    const body = { role: 'warehouse-read', durationSeconds: 60, justification: 'overlap' };
    const a = (await (await post(key, body)).json()) as ElevationView;
    const b = (await (await post(key, body)).json()) as ElevationView;
    await s.waitFor(a.id, (v) => v.status === 'active');
    await s.waitFor(b.id, (v) => v.status === 'active');
    await s.services.requests.revoke(a.id, { kind: 'bot', id: 'ci-bot' }, { kind: 'bot', botId: 'ci-bot' });
    await s.waitFor(a.id, (v) => v.status === 'revoked');
    expect(await isMember('ci_bot', 'reporting read')).toBe(true);
    await s.services.requests.revoke(b.id, { kind: 'bot', id: 'ci-bot' }, { kind: 'bot', botId: 'ci-bot' });
    await s.waitFor(b.id, (v) => v.status === 'revoked');
    expect(await isMember('ci_bot', 'reporting read')).toBe(false);
  });
});

describe('a bot with a workload identity token', () => {
  it('when the token is valid, then the elevation is tied to the run that asked for it', async () => {
    const token = await issuer.sign({
      sub: SUBJECT,
      aud: AUDIENCE,
      run_id: '4242',
      sha: 'abc123',
      jti: 'tok-1',
    });
    const res = await post(token, { role: 'ldap-role', durationSeconds: 30, justification: 'ci deploy' });
    expect(res.status).toBe(202);
    const { id, botId } = (await res.json()) as ElevationView;
    expect(botId).toBe('ci-bot');
    await s.waitFor(id, (v) => v.status === 'active');
    const requested = (await s.stores.auditLog.listEvents(id)).find((e) => e.type === 'elevation.requested')!;
    expect(requested.data.identity).toEqual({
      kind: 'workload_identity',
      issuer: issuer.issuer,
      subject: SUBJECT,
      tokenId: 'tok-1',
      expiresAt: expect.any(String) as unknown,
      claims: { run_id: '4242', sha: 'abc123', jti: 'tok-1' },
    });
    // An API-key request records no identity.
    const byKey = await post(s.keys['ci-bot']!, {
      role: 'ldap-role',
      durationSeconds: 30,
      justification: 'key',
    });
    const keyed = (await byKey.json()) as ElevationView;
    const keyedEvent = (await s.stores.auditLog.listEvents(keyed.id)).find(
      (e) => e.type === 'elevation.requested',
    );
    expect(keyedEvent?.data.identity).toBeUndefined();
  });

  it.each([
    ['wrong_audience', { sub: SUBJECT, aud: 'someone-else' }],
    ['no_matching_bot', { sub: 'repo:evil/fork:ref:refs/heads/main', aud: AUDIENCE }],
    ['expired', { sub: SUBJECT, aud: AUDIENCE, exp: Math.floor(Date.now() / 1000) - 3600 }],
  ])(
    'when the token is refused (%s), then 401 naming authorization, and the refusal is audited',
    async (reason, claims) => {
      const token = await issuer.sign(claims);
      const res = await post(token, { role: 'ldap-role', durationSeconds: 30, justification: 'x' });
      expect(res.status).toBe(401);
      const body = (await res.json()) as { error: { code: string; field: string } };
      expect(body.error).toMatchObject({ code: 'unauthenticated', field: 'authorization' });
      const recent = await s.stores.auditLog.readEvents(0, 100_000);
      const refused = recent.filter((e) => e.type === 'auth.refused' && e.data.reason === reason);
      expect(refused.length).toBeGreaterThan(0);
    },
  );
});

describe('drift on a PostgreSQL role', () => {
  it("when a login is granted the role outside Elevate, then reconciliation records it and takes it back, leaving an elevation's grant alone", async () => {
    const res = await post(s.keys['ci-bot']!, {
      role: 'warehouse-read',
      durationSeconds: 60,
      justification: 'held',
    });
    const { id } = (await res.json()) as ElevationView;
    await s.waitFor(id, (v) => v.status === 'active');
    await admin.query('GRANT "reporting read" TO intruder');
    const result = await s.env.client.workflow.execute(reconcileWorkflow, {
      args: [{ roles: reconcileRolesOf(s.policy).filter((r) => r.id === 'warehouse-read') }],
      taskQueue: s.taskQueue,
      workflowId: `reconcile-${randomUUID()}`,
    });
    expect(result.roles[0]?.drift).toEqual([{ principal: 'intruder', action: 'reverted' }]);
    expect(await isMember('intruder', 'reporting read')).toBe(false);
    expect(await isMember('ci_bot', 'reporting read')).toBe(true);
    const drift = (await s.stores.auditLog.readEvents(0, 100_000)).filter((e) => e.type.startsWith('drift.'));
    expect(drift.map((e) => [e.type, e.data.principal])).toEqual([
      ['drift.detected', 'intruder'],
      ['drift.reverted', 'intruder'],
    ]);
    await s.services.requests.revoke(id, { kind: 'bot', id: 'ci-bot' }, { kind: 'bot', botId: 'ci-bot' });
    await s.waitFor(id, (v) => v.status === 'revoked');
  });
});

describe('an AWS IAM policy as the target (attach mode, against moto)', () => {
  const attached = async () =>
    (await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'ci-aws' }))).AttachedPolicies ?? [];

  it('when a bot asks for it, then a policy ending with the window is attached to its role, and removed at expiry', async () => {
    const res = await post(s.keys['aws-bot']!, {
      role: 'aws-read',
      durationSeconds: 3,
      justification: 'read releases',
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as ElevationView;
    const active = await s.waitFor(id, (v) => v.status === 'active');
    const policies = await attached();
    expect(policies.map((p) => p.PolicyName)).toEqual([`elevate-${id}`]);
    const arn = policies[0]!.PolicyArn!;
    const { Policy } = await iam.send(new GetPolicyCommand({ PolicyArn: arn }));
    const version = await iam.send(
      new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: Policy!.DefaultVersionId! }),
    );
    const doc = JSON.parse(decodeURIComponent(version.PolicyVersion!.Document!)) as {
      Statement: { Condition: { DateLessThan: { 'aws:CurrentTime': string } } }[];
    };
    const notAfter = Date.parse(doc.Statement[0]!.Condition.DateLessThan['aws:CurrentTime']);
    // The backstop: the grant stops working at the window's end (+ 60 s slack) even without Elevate.
    expect(notAfter).toBeGreaterThan(Date.parse(active.grantedAt!));
    expect(notAfter).toBeLessThanOrEqual(Date.parse(active.expiresAt!) + 61_000);
    await s.waitFor(id, (v) => v.status === 'revoked');
    expect(await attached()).toEqual([]);
  });

  it("when the bot extends it, then the policy's one version is a new one whose expiry moved to the new end, and it is removed at that end", async () => {
    const res = await post(s.keys['aws-bot']!, {
      role: 'aws-read',
      durationSeconds: 5,
      justification: 'read',
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as ElevationView;
    const active = await s.waitFor(id, (v) => v.status === 'active');
    const extension = await fetch(`${base}/v1/elevations/${id}/extend`, {
      method: 'POST',
      headers: { authorization: `Bearer ${s.keys['aws-bot']!}`, 'content-type': 'application/json' },
      body: JSON.stringify({ durationSeconds: 3, justification: 'still reading' }),
    });
    expect(extension.status).toBe(200);
    const extended = (await extension.json()) as ElevationView;
    expect(Date.parse(extended.expiresAt!) - Date.parse(active.expiresAt!)).toBe(3000);

    const arn = (await attached())[0]!.PolicyArn!;
    const { Versions } = await iam.send(new ListPolicyVersionsCommand({ PolicyArn: arn }));
    expect(Versions?.map((v) => [v.VersionId, v.IsDefaultVersion])).toEqual([['v2', true]]);
    const version = await iam.send(new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: 'v2' }));
    const doc = JSON.parse(decodeURIComponent(version.PolicyVersion!.Document!)) as {
      Statement: { Condition: { DateLessThan: { 'aws:CurrentTime': string } } }[];
    };
    // The backstop moved with the window: the new end + 60 s slack.
    expect(doc.Statement[0]!.Condition.DateLessThan['aws:CurrentTime']).toBe(
      iamTime(new Date(Date.parse(extended.expiresAt!) + 60_000)),
    );
    const ended = await s.waitFor(id, (v) => v.status === 'revoked', 30_000);
    expect(Date.parse(ended.endedAt!)).toBeGreaterThanOrEqual(Date.parse(extended.expiresAt!));
    expect(await attached()).toEqual([]);
  }, 60_000);
});

describe('temporary AWS credentials for the bot (credentials mode, against moto)', () => {
  const fetchCredentials = (token: string, id: string) =>
    fetch(`${base}/v1/elevations/${id}/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}` },
    });

  it('when the elevation is active, then its bot receives working credentials exactly once, and a revocation cuts the session off', async () => {
    const key = s.keys['deploy-bot']!;
    const res = await post(key, { role: 'aws-deploy', durationSeconds: 1800, justification: 'deploy 4.2' });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as ElevationView;
    const active = await s.waitFor(id, (v) => v.status === 'active');

    // Another bot cannot see (or take) them.
    expect((await fetchCredentials(s.keys['aws-bot']!, id)).status).toBe(404);

    const first = await fetchCredentials(key, id);
    expect(first.status).toBe(200);
    expect(first.headers.get('cache-control')).toBe('no-store');
    const creds = (await first.json()) as {
      accessKeyId: string;
      secretAccessKey: string;
      sessionToken: string;
      expiration: string;
      sessionName: string;
    };
    expect(creds.sessionName).toBe(`elevate-${id}`);
    // The session lasts the window (AWS ends it; Elevate cannot extend it).
    const expiresIn = Date.parse(creds.expiration) - Date.parse(active.grantedAt!);
    expect(expiresIn).toBeGreaterThan(1790_000);
    expect(expiresIn).toBeLessThan(1810_000);

    // They work: AWS knows them as the role's session named after the elevation.
    const sts = new STSClient({
      region: AWS.region,
      endpoint: moto.url,
      credentials: {
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        sessionToken: creds.sessionToken,
      },
    });
    const who = await sts.send(new GetCallerIdentityCommand({}));
    sts.destroy();
    expect(who.Arn).toBe(`arn:aws:sts::123456789012:assumed-role/ci-deployer/elevate-${id}`);

    // Once only.
    const second = await fetchCredentials(key, id);
    expect(second.status).toBe(410);
    expect(((await second.json()) as { error: { code: string } }).error.code).toBe('credentials_gone');

    const revoke = await fetch(`${base}/v1/elevations/${id}/revoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: '{}',
    });
    expect(revoke.status).toBeLessThan(300);
    await s.waitFor(id, (v) => v.status === 'revoked');

    // The delivered session is denied in AWS until it would have expired.
    const deny = await iam.send(
      new GetRolePolicyCommand({ RoleName: 'ci-deployer', PolicyName: `elevate-deny-${id}` }),
    );
    const doc = JSON.parse(decodeURIComponent(deny.PolicyDocument!)) as {
      Statement: { Effect: string; Condition: Record<string, Record<string, string>> }[];
    };
    expect(doc.Statement[0]!.Effect).toBe('Deny');
    expect(doc.Statement[0]!.Condition['StringLike']!['aws:userid']).toBe(`*:elevate-${id}`);

    const events = await s.stores.auditLog.listEvents(id);
    const types = events.map((e) => e.type);
    expect(types.filter((t) => t === 'credentials.delivered')).toHaveLength(1);
    const refused = events.find((e) => e.type === 'credentials.refused');
    expect(refused?.data).toMatchObject({ reason: 'already_delivered' });
    const confirmed = events.find((e) => e.type === 'grant.confirmed');
    expect(confirmed?.data).toMatchObject({
      receipt: { session: { sessionName: `elevate-${id}`, expiration: creds.expiration } },
    });
    const revoked = events.find((e) => e.type === 'elevation.revoked');
    expect(revoked?.data).toMatchObject({ receipt: { session: { delivered: true, denied: true } } });
    // The audit trail names the session, never its secret.
    const all = JSON.stringify(events);
    expect(all).not.toContain(creds.secretAccessKey);
    expect(all).not.toContain(creds.sessionToken);
  });

  it('when the elevation is revoked before its bot fetched them, then the credentials are destroyed', async () => {
    const key = s.keys['deploy-bot']!;
    const res = await post(key, { role: 'aws-deploy', durationSeconds: 900, justification: 'deploy 4.3' });
    const { id } = (await res.json()) as ElevationView;
    await s.waitFor(id, (v) => v.status === 'active');
    await s.services.requests.revoke(
      id,
      { kind: 'admin', id: 'admin' },
      { kind: 'admin' },
      'changed my mind',
    );
    await s.waitFor(id, (v) => v.status === 'revoked');
    const late = await fetchCredentials(key, id);
    expect(late.status).toBe(409);
    expect(((await late.json()) as { error: { code: string } }).error.code).toBe('not_active');
    const events = await s.stores.auditLog.listEvents(id);
    const revoked = events.find((e) => e.type === 'elevation.revoked');
    expect(revoked?.data).toMatchObject({ receipt: { session: { delivered: false, denied: false } } });
    expect(events.some((e) => e.type === 'credentials.delivered')).toBe(false);
  });

  it('when the role grants in a target, then asking for credentials is refused and audited', async () => {
    const key = s.keys['aws-bot']!;
    const res = await post(key, { role: 'aws-read', durationSeconds: 60, justification: 'read' });
    const { id } = (await res.json()) as ElevationView;
    await s.waitFor(id, (v) => v.status === 'active');
    const r = await fetchCredentials(key, id);
    expect(r.status).toBe(409);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('not_credentials_mode');
    const events = await s.stores.auditLog.listEvents(id);
    expect(events.find((e) => e.type === 'credentials.refused')?.data).toMatchObject({
      reason: 'not_credentials_mode',
    });
    await s.services.requests.revoke(id, { kind: 'admin', id: 'admin' }, { kind: 'admin' });
    await s.waitFor(id, (v) => v.status === 'revoked');
  });
});

describe("drift on a bot's AWS role", () => {
  const doc = (action: string) =>
    JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Action: action, Resource: '*' }],
    });
  const attachedArns = async () =>
    ((await iam.send(new ListAttachedRolePoliciesCommand({ RoleName: 'ci-aws' }))).AttachedPolicies ?? [])
      .map((p) => p.PolicyArn!)
      .sort();

  it("when policies are attached to the bot's role outside Elevate, then reconciliation records and removes them, leaving an elevation's policy and the standing one alone", async () => {
    // An elevation whose policy must survive.
    const res = await post(s.keys['aws-bot']!, {
      role: 'aws-read',
      durationSeconds: 120,
      justification: 'read',
    });
    const { id } = (await res.json()) as ElevationView;
    await s.waitFor(id, (v) => v.status === 'active');
    const live = `arn:aws:iam::123456789012:policy/elevate/elevate-${id}`;

    // Out of band: an admin policy, an inline policy, the standing baseline, and a leftover
    // Elevate policy of an elevation that holds no lease.
    const created = async (name: string, path = '/') =>
      (await iam.send(new CreatePolicyCommand({ PolicyName: name, Path: path, PolicyDocument: doc('*') })))
        .Policy!.Arn!;
    const oob = await created('oob-admin');
    const baseline = await created('baseline-read');
    expect(baseline).toBe(BASELINE_ARN);
    const stray = await created(`elevate-el_${'d'.repeat(24)}`, '/elevate/');
    for (const arn of [oob, baseline, stray]) {
      await iam.send(new AttachRolePolicyCommand({ RoleName: 'ci-aws', PolicyArn: arn }));
    }
    await iam.send(
      new PutRolePolicyCommand({ RoleName: 'ci-aws', PolicyName: 'sneaky', PolicyDocument: doc('iam:*') }),
    );

    driftAlerts.length = 0;
    const result = await s.env.client.workflow.execute(reconcileWorkflow, {
      args: [{ roles: [], aws: reconcileAwsPrincipalsOf(s.policy) }],
      taskQueue: s.taskQueue,
      workflowId: `reconcile-aws-${randomUUID()}`,
    });
    const unit = result.aws?.find((u) => u.principal === AWS_ROLE_ARN);
    expect(unit?.error).toBeUndefined();
    expect(unit?.drift.map((d) => d.detail).sort()).toEqual([oob, stray, 'inline:sneaky'].sort());
    expect(unit?.drift.every((d) => d.action === 'reverted')).toBe(true);

    // Only the elevation's policy and the standing one are left; the stray Elevate policy is deleted.
    expect(await attachedArns()).toEqual([baseline, live].sort());
    const { PolicyNames } = await iam.send(new ListRolePoliciesCommand({ RoleName: 'ci-aws' }));
    expect(PolicyNames).toEqual([]);
    await expect(iam.send(new GetPolicyCommand({ PolicyArn: stray }))).rejects.toThrow();
    // The out-of-band admin policy is detached, not deleted (it may be used elsewhere).
    expect((await iam.send(new GetPolicyCommand({ PolicyArn: oob }))).Policy?.Arn).toBe(oob);

    const { items } = { items: await s.stores.auditLog.readEvents(0, 100_000) };
    const driftEvents = items.filter((e) => e.type === 'drift.detected' || e.type === 'drift.reverted');
    for (const detail of [oob, stray, 'inline:sneaky']) {
      expect(driftEvents.filter((e) => e.data['policy'] === detail).map((e) => e.type)).toEqual([
        'drift.detected',
        'drift.reverted',
      ]);
    }
    expect(driftEvents.some((e) => e.data['policy'] === live || e.data['policy'] === baseline)).toBe(false);
    // Each finding was handed to the notifier once, with what is held.
    expect(driftAlerts.map((a) => a.detail).sort()).toEqual([oob, stray, 'inline:sneaky'].sort());
    expect(driftAlerts.every((a) => a.outcome === 'reverted' && a.principal === AWS_ROLE_ARN)).toBe(true);

    await iam.send(new DetachRolePolicyCommand({ RoleName: 'ci-aws', PolicyArn: baseline }));
    await s.services.requests.revoke(id, { kind: 'admin', id: 'admin' }, { kind: 'admin' });
    await s.waitFor(id, (v) => v.status === 'revoked');
    expect(await attachedArns()).toEqual([]);
  });
});
