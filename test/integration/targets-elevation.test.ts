/**
 * Elevations end to end on targets other than LDAP, and bots that authenticate with a workload
 * identity token: real Temporal, a real PostgreSQL server whose roles are granted, and a local
 * token issuer with its JWKS, through the HTTP API.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CreateRoleCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
} from '@aws-sdk/client-iam';
import pg from 'pg';
import { AwsIamTarget } from '../../integrations/aws/iam-target.js';
import { startMoto, type MotoServer } from '../support/moto-server.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WorkloadIdentityVerifier } from '../../integrations/federation/workload-identity.js';
import { PostgresTarget } from '../../integrations/postgres/postgres-target.js';
import { createApp } from '../../server/app.js';
import type { ElevationView } from '../../workflows/definitions.js';
import { startJwksIssuer, type JwksIssuer } from '../support/jwks-issuer.js';
import { startPostgres, type PostgresServer } from '../support/postgres-server.js';
import { startStack, type Stack } from '../support/stack.js';
import { randomUUID } from 'node:crypto';
import { reconcileRolesOf } from '../../worker/reconcile-schedule.js';
import { reconcileWorkflow } from '../../workflows/reconcile-workflow.js';

let server: PostgresServer;
let admin: pg.Client;
let issuer: JwksIssuer;
let s: Stack;
let http: Server;
let moto: MotoServer;
let iam: IAMClient;
const AWS_ROLE_ARN = 'arn:aws:iam::123456789012:role/ci-aws';
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
  s = await startStack({
    bots: [
      { id: 'aws-bot', roles: ['aws-read'], awsPrincipal: AWS_ROLE_ARN },
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
        target: {
          type: 'aws-iam',
          mode: 'attach',
          policy: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::releases/*' }],
          },
        },
      },
    ],
    federation: { issuers: [{ issuer: issuer.issuer, allowInsecureHttp: true }] },
    targets: {
      postgres: { warehouse: new PostgresTarget({ url: targetUrl, server: 'warehouse' }) },
      awsIam: new AwsIamTarget({ ...AWS, endpoint: moto.url }),
    },
  });
  const policy = s.policy;
  const app = createApp({
    service: s.service,
    healthChecks: {},
    logger: s.logger,
    federation: new WorkloadIdentityVerifier(
      policy.bots.flatMap((b) => (b.federation ? [{ botId: b.id, ...b.federation }] : [])),
      policy.federation?.issuers ?? [],
    ),
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
    const confirmed = (await s.store.listEvents(id)).find((e) => e.type === 'grant.confirmed')!;
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
    await s.service.revoke(a.id, { kind: 'bot', id: 'ci-bot' }, { kind: 'bot', botId: 'ci-bot' });
    await s.waitFor(a.id, (v) => v.status === 'revoked');
    expect(await isMember('ci_bot', 'reporting read')).toBe(true);
    await s.service.revoke(b.id, { kind: 'bot', id: 'ci-bot' }, { kind: 'bot', botId: 'ci-bot' });
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
    const requested = (await s.store.listEvents(id)).find((e) => e.type === 'elevation.requested')!;
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
    const keyedEvent = (await s.store.listEvents(keyed.id)).find((e) => e.type === 'elevation.requested');
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
      const recent = await s.store.readEvents(0, 100_000);
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
    const drift = (await s.store.readEvents(0, 100_000)).filter((e) => e.type.startsWith('drift.'));
    expect(drift.map((e) => [e.type, e.data.principal])).toEqual([
      ['drift.detected', 'intruder'],
      ['drift.reverted', 'intruder'],
    ]);
    await s.service.revoke(id, { kind: 'bot', id: 'ci-bot' }, { kind: 'bot', botId: 'ci-bot' });
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
});
