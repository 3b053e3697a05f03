/**
 * The two AWS targets (attach mode, STS credentials) against a real moto server started for
 * this file, with the real AWS SDK (no mocks of the SDK): attach-mode grants read back from IAM,
 * idempotency, issued credentials used against STS and handed over once, drift, and the error
 * mapping users see.
 *
 * What moto does not do, and how the tests cope:
 * - it does not evaluate conditions or session policies: its access control (off by default,
 *   see `enforceAuth`) only collects a role's own inline and attached policies, and ignores the
 *   `Policy` of AssumeRole. So no test can show AWS refusing a call after the expiry or outside
 *   the session policy; the tests read the stored document back, and check the session policy
 *   in the AssumeRole request moto received (its request recorder);
 * - it deletes a policy that is still attached or has other versions (AWS answers
 *   `DeleteConflict`), so revocation order is checked in the recorded requests;
 * - it accepts any DurationSeconds and echoes it in the expiration, which lets the clamping be
 *   observed.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import {
  AttachRolePolicyCommand,
  AttachUserPolicyCommand,
  CreateAccessKeyCommand,
  CreatePolicyCommand,
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  CreateUserCommand,
  DeletePolicyVersionCommand,
  DeleteRolePolicyCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  GetRolePolicyCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListPoliciesCommand,
  ListPolicyVersionsCommand,
  PutRolePolicyCommand,
  PutUserPolicyCommand,
} from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsIamAttachTarget } from '../../integrations/aws/iam-attach-target.js';
import { AwsStsCredentialsTarget } from '../../integrations/aws/sts-credentials-target.js';
import { settlePolicy } from '../../integrations/aws/aws-drift.js';
import { elevationIdOfPolicy } from '../../integrations/aws/naming.js';
import { policyName, sessionName } from '../../core/crypto/aws-names.js';
import type { CredentialHandoff, HandedOverSession } from '../../core/ports/credential-handoff.js';
import type { DriftOutcome } from '../../core/ports/target.js';
import { expiryCondition, iamTime } from '../../integrations/aws/policy-document.js';
import { mapAwsError, type AwsErrorContext } from '../../integrations/aws/aws-errors.js';
import {
  TargetAccessDeniedError,
  TargetError,
  TargetInvalidError,
  TargetNotFoundError,
  TargetNotVerifiedError,
  TargetTamperedError,
  TargetUnreachableError,
} from '../../core/errors/target-errors.js';
import { createActivities } from '../../activities/index.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { GrantLedger } from '../../domain/grant-ledger.js';
import { openStores, type Stores } from '../../store/stores.js';
import { TargetRouter } from '../../integrations/target-router.js';
import { freePort } from '../../dev/processes.js';
import { NON_RETRYABLE_GRANT_ERRORS } from '../../core/errors/activity-error-types.js';
import { type AwsIamAttachTargetRef, type AwsIamCredentialsTargetRef } from '../../core/model/targets.js';
import { startMoto, type MotoServer } from '../../dev/moto-server.js';
import { testLogger, testRequestDeps } from '../support/stack.js';

const REGION = 'us-east-1';
const SECRET = 'fake-Secret-Key-4711-doNotLeak';
const CREDENTIALS = { accessKeyId: 'AKIAEXAMPLE000000001', secretAccessKey: SECRET };
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' },
  ],
});

/** Two Allow statements (one with a condition of its own) and a Deny, which must stay as it is. */
const DOCUMENT = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Sid: 'Read', Effect: 'Allow', Action: ['s3:GetObject'], Resource: 'arn:aws:s3:::releases/*' },
    {
      Sid: 'FromOffice',
      Effect: 'Allow',
      Action: 'ec2:DescribeInstances',
      Resource: '*',
      Condition: { IpAddress: { 'aws:SourceIp': '192.0.2.0/24' } },
    },
    { Sid: 'NoDelete', Effect: 'Deny', Action: 's3:DeleteObject', Resource: '*' },
  ],
});
const ATTACH: AwsIamAttachTargetRef = { type: 'aws-iam', mode: 'attach', policyDocument: DOCUMENT };

type Json = Record<string, unknown>;
type Statement = { Sid?: string; Effect: string; Condition?: Record<string, Record<string, unknown>> };

const newElevationId = (): string => `el_${randomBytes(12).toString('hex')}`;
const ctx = (elevationId: string, durationSeconds = 3600) => ({ elevationId, durationSeconds });

/** Resolves to the error `promise` rejects with. */
async function failure(promise: Promise<unknown>): Promise<TargetError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TargetError);
    return error as TargetError;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

let moto: MotoServer;
let admin: IAMClient;
let target: AwsIamAttachTarget;
let sts: AwsStsCredentialsTarget;
let roleArn: string;
let userArn: string;
let account: string;

const policyArn = (elevationId: string): string =>
  `arn:aws:iam::${account}:policy/elevate/elevate-${elevationId}`;

/** The default version's document of a policy, as IAM stores it (AWS URL-encodes it; moto does not). */
async function storedDocument(arn: string): Promise<{ doc: Json; versions: string }> {
  const { Policy } = await admin.send(new GetPolicyCommand({ PolicyArn: arn }));
  const { PolicyVersion } = await admin.send(
    new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: Policy?.DefaultVersionId }),
  );
  const raw = PolicyVersion?.Document ?? '';
  return {
    doc: JSON.parse(raw.trimStart().startsWith('{') ? raw : decodeURIComponent(raw)) as Json,
    versions: Policy?.DefaultVersionId ?? '',
  };
}

async function policyExists(arn: string): Promise<boolean> {
  try {
    await admin.send(new GetPolicyCommand({ PolicyArn: arn }));
    return true;
  } catch (err) {
    if ((err as Error).name === 'NoSuchEntityException') return false;
    throw err;
  }
}

beforeAll(async () => {
  moto = await startMoto();
  const config = { region: REGION, endpoint: moto.url, credentials: CREDENTIALS };
  admin = new IAMClient(config);
  const role = await admin.send(
    new CreateRoleCommand({ RoleName: 'ci-deployer', Path: '/bots/', AssumeRolePolicyDocument: TRUST }),
  );
  const user = await admin.send(new CreateUserCommand({ UserName: 'reporter', Path: '/bots/' }));
  roleArn = role.Role?.Arn ?? '';
  userArn = user.User?.Arn ?? '';
  account = roleArn.split(':')[4] ?? '';
  target = new AwsIamAttachTarget(config);
  sts = new AwsStsCredentialsTarget(config);
});

afterAll(async () => {
  await target?.close();
  await sts?.close();
  admin?.destroy();
  await moto?.stop();
});

describe('attach mode against moto', () => {
  it('attaches a policy whose every Allow statement ends at now + window + 60 s, and takes it away', async () => {
    const id = newElevationId();
    const before = Date.now();
    expect(await target.grant(ATTACH, roleArn, ctx(id, 1800))).toEqual({
      changed: true,
      confirmed: true,
      handle: target.handleFor(ATTACH, roleArn, id),
    });
    const after = Date.now();
    expect(await target.check(target.handleFor(ATTACH, roleArn, id))).toBe(true);

    const { AttachedPolicies } = await admin.send(
      new ListAttachedRolePoliciesCommand({ RoleName: 'ci-deployer' }),
    );
    expect(AttachedPolicies?.map((p) => p.PolicyArn)).toContain(policyArn(id));

    const { doc } = await storedDocument(policyArn(id));
    const statements = doc['Statement'] as Statement[];
    expect(statements.map((s) => s.Sid)).toEqual(['Read', 'FromOffice', 'NoDelete']);
    for (const s of statements.filter((st) => st.Effect === 'Allow')) {
      const at = Date.parse(String(s.Condition?.['DateLessThan']?.['aws:CurrentTime']));
      expect(at).toBeGreaterThanOrEqual(Date.parse(iamTime(new Date(before + (1800 + 60) * 1000))));
      expect(at).toBeLessThanOrEqual(Date.parse(iamTime(new Date(after + (1800 + 60) * 1000))));
    }
    // The statement's own condition is kept alongside; the Deny is untouched.
    expect(statements[1]?.Condition?.['IpAddress']).toEqual({ 'aws:SourceIp': '192.0.2.0/24' });
    expect(statements[2]).toEqual({
      Sid: 'NoDelete',
      Effect: 'Deny',
      Action: 's3:DeleteObject',
      Resource: '*',
    });

    expect(await target.revoke(target.handleFor(ATTACH, roleArn, id))).toEqual({ changed: true });
    expect(await target.check(target.handleFor(ATTACH, roleArn, id))).toBe(false);
    expect(await policyExists(policyArn(id))).toBe(false);
  });

  it('counts the expiry from the clock it is given', async () => {
    const clocked = new AwsIamAttachTarget({
      region: REGION,
      endpoint: moto.url,
      credentials: CREDENTIALS,
      clock: () => new Date('2031-05-06T07:08:09.500Z'),
    });
    const id = newElevationId();
    try {
      await clocked.grant(ATTACH, roleArn, ctx(id, 1800));
      const { doc } = await storedDocument(policyArn(id));
      const times = (doc['Statement'] as Statement[])
        .filter((s) => s.Effect === 'Allow')
        .map((s) => s.Condition?.['DateLessThan']?.['aws:CurrentTime']);
      // 07:08:09.5 + 30 min + 60 s, rounded up to the second.
      expect(times).toEqual(['2031-05-06T07:39:10Z', '2031-05-06T07:39:10Z']);
    } finally {
      await clocked.revoke(clocked.handleFor(ATTACH, roleArn, id));
      await clocked.close();
    }
  });

  it('grants to an IAM user, and listMembers names every holder of an Elevate policy by ARN', async () => {
    const forUser = newElevationId();
    const forRole = newElevationId();
    await target.grant(ATTACH, userArn, ctx(forUser));
    await target.grant(ATTACH, roleArn, ctx(forRole));
    expect(await target.check(target.handleFor(ATTACH, userArn, forUser))).toBe(true);
    // Policies belong to elevations: the role does not hold the user's.
    expect(await target.check(target.handleFor(ATTACH, roleArn, forUser))).toBe(false);
    expect(await target.listMembers(ATTACH)).toEqual([roleArn, userArn].sort());

    await target.revoke(target.handleFor(ATTACH, userArn, forUser));
    expect(await target.check(target.handleFor(ATTACH, userArn, forUser))).toBe(false);
    expect(await target.listMembers(ATTACH)).toEqual([roleArn]);
    await target.revoke(target.handleFor(ATTACH, roleArn, forRole));
    expect(await target.listMembers(ATTACH)).toEqual([]);
  });

  it('is idempotent: a second grant or revoke changes nothing', async () => {
    const id = newElevationId();
    expect(await target.grant(ATTACH, roleArn, ctx(id))).toEqual({
      changed: true,
      confirmed: true,
      handle: target.handleFor(ATTACH, roleArn, id),
    });
    const first = await storedDocument(policyArn(id));
    expect(await target.grant(ATTACH, roleArn, ctx(id))).toEqual({
      changed: false,
      confirmed: true,
      handle: target.handleFor(ATTACH, roleArn, id),
    });
    // The same policy, not a new version or a second policy.
    expect(await storedDocument(policyArn(id))).toEqual(first);
    expect(first.versions).toBe('v1');
    expect(await target.check(target.handleFor(ATTACH, roleArn, id))).toBe(true);

    expect(await target.revoke(target.handleFor(ATTACH, roleArn, id))).toEqual({ changed: true });
    expect(await target.revoke(target.handleFor(ATTACH, roleArn, id))).toEqual({ changed: false });
    expect(await target.check(target.handleFor(ATTACH, roleArn, id))).toBe(false);
  });

  it('finishes a grant whose first attempt stopped after creating the policy', async () => {
    const id = newElevationId();
    const earlier = expiryCondition(DOCUMENT, new Date(Date.now() + 120_000));
    await admin.send(
      new CreatePolicyCommand({ PolicyName: `elevate-${id}`, Path: '/elevate/', PolicyDocument: earlier }),
    );
    expect(await target.check(target.handleFor(ATTACH, roleArn, id))).toBe(false);

    expect(await target.grant(ATTACH, roleArn, ctx(id))).toEqual({
      changed: true,
      confirmed: true,
      handle: target.handleFor(ATTACH, roleArn, id),
    });
    expect(await target.check(target.handleFor(ATTACH, roleArn, id))).toBe(true);
    // Reused as it was: the earlier expiry stands.
    expect((await storedDocument(policyArn(id))).doc).toEqual(JSON.parse(earlier));
    await target.revoke(target.handleFor(ATTACH, roleArn, id));
  });

  it('revokes by detaching, then deleting the non-default versions, then the policy', async () => {
    const id = newElevationId();
    await target.grant(ATTACH, roleArn, ctx(id));
    await admin.send(
      new CreatePolicyVersionCommand({
        PolicyArn: policyArn(id),
        PolicyDocument: DOCUMENT,
        SetAsDefault: true,
      }),
    );
    const { result, requests } = await moto.record(() =>
      target.revoke(target.handleFor(ATTACH, roleArn, id)),
    );
    expect(result).toEqual({ changed: true });
    const changes = requests
      .filter((r) => /^(Detach|Delete)/.test(r.action))
      .map((r) => [r.action, r.params['VersionId'] ?? r.params['RoleName'] ?? r.params['PolicyArn']]);
    expect(changes).toEqual([
      ['DetachRolePolicy', 'ci-deployer'],
      ['DeletePolicyVersion', 'v1'],
      ['DeletePolicy', policyArn(id)],
    ]);
    expect(await policyExists(policyArn(id))).toBe(false);
  });

  it('reports a role or user that does not exist as TargetNotFoundError, leaving no policy behind', async () => {
    for (const missing of [
      `arn:aws:iam::${account}:role/bots/no-such-bot`,
      `arn:aws:iam::${account}:user/no-such-user`,
    ]) {
      const id = newElevationId();
      const error = await failure(target.grant(ATTACH, missing, ctx(id)));
      expect(error).toBeInstanceOf(TargetNotFoundError);
      expect(error.message).toContain(missing);
      expect(await policyExists(policyArn(id))).toBe(false);
      // Reading back or revoking for a missing principal is not an error.
      expect(await target.check(target.handleFor(ATTACH, missing, id))).toBe(false);
      expect(await target.revoke(target.handleFor(ATTACH, missing, id))).toEqual({ changed: false });
    }
  });

  it('refuses principals that are not IAM role or user ARNs, before calling AWS', async () => {
    const { requests } = await moto.record(async () => {
      for (const principal of [
        `arn:aws:iam::${account}:group/ops`,
        `arn:aws:sts::${account}:assumed-role/ci-deployer/session`,
        `arn:aws:iam::${account}:role/`,
        'ci-deployer',
      ]) {
        const error = await failure(target.grant(ATTACH, principal, ctx(newElevationId())));
        expect(error).toBeInstanceOf(TargetInvalidError);
        expect(error.message).toContain('is not the ARN of an IAM role or user');
      }
    });
    expect(requests).toEqual([]);
  });

  it('refuses malformed documents as TargetInvalidError', async () => {
    const cases: [string, RegExp][] = [
      ['{"Version": "2012-10-17", "Statement": [', /not valid JSON/],
      [JSON.stringify({ Version: '2012-10-17', Statement: [] }), /no statements/],
      [JSON.stringify({ Version: '2012-10-17' }), /no statements/],
      ['[1, 2]', /not a JSON object/],
      // Valid JSON, but IAM refuses it (a statement without an action): MalformedPolicyDocument.
      [
        JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Resource: '*' }] }),
        /MalformedPolicyDocument/,
      ],
    ];
    for (const [policyDocument, message] of cases) {
      const id = newElevationId();
      const error = await failure(target.grant({ ...ATTACH, policyDocument }, roleArn, ctx(id)));
      expect(error).toBeInstanceOf(TargetInvalidError);
      expect(error.message).toMatch(message);
      expect(await policyExists(policyArn(id))).toBe(false);
    }
  });

  it('needs the elevation to name the policy, and its window to set the expiry', async () => {
    expect(await failure(target.grant(ATTACH, roleArn))).toBeInstanceOf(TargetInvalidError);
    for (const window of [0, -5, Number.NaN]) {
      const id = newElevationId();
      const error = await failure(target.grant(ATTACH, roleArn, ctx(id, window)));
      expect(error).toBeInstanceOf(TargetInvalidError);
      expect(error.message).toContain('window');
      expect(await policyExists(policyArn(id))).toBe(false);
    }
    expect(() => target.handleFor(ATTACH, roleArn, '')).toThrow(TargetInvalidError);
  });

  it("when a grant is revoked through its handle read back from JSON, then the policy is gone; a handle that is malformed or names a policy not Elevate's is refused without a call to AWS", async () => {
    const id = newElevationId();
    const { handle } = await target.grant(ATTACH, roleArn, ctx(id));
    expect(handle).toEqual({ type: 'aws-iam-attach', policyArn: policyArn(id), principalArn: roleArn });
    // What the workflow keeps: the handle as JSON, read back in a later run or by another worker.
    const stored = JSON.parse(JSON.stringify(handle)) as typeof handle;
    expect(await target.check(stored)).toBe(true);
    expect(await target.revoke(stored)).toEqual({ changed: true });
    expect(await target.check(stored)).toBe(false);
    expect(await policyExists(policyArn(id))).toBe(false);

    const { requests } = await moto.record(async () => {
      const missing = await failure(
        target.revoke({ type: 'aws-iam-attach', principalArn: roleArn } as never),
      );
      expect(missing).toBeInstanceOf(TargetInvalidError);
      expect(missing.message).toContain('policyArn');
      for (const policy of [
        'arn:aws:iam::aws:policy/AdministratorAccess',
        `arn:aws:iam::${account}:policy/other`,
        `arn:aws:iam::999999999999:policy/elevate/elevate-${id}`,
      ]) {
        const refused = await failure(target.revoke({ ...handle, policyArn: policy }));
        expect(refused).toBeInstanceOf(TargetInvalidError);
        expect(refused.message).toContain('is not an Elevate policy');
        expect(await failure(target.check({ ...handle, policyArn: policy }))).toBeInstanceOf(
          TargetInvalidError,
        );
      }
      const ldapHandle = { type: 'ldap', groupDn: 'cn=x', member: 'uid=y' };
      expect(await failure(target.revoke(ldapHandle as never))).toBeInstanceOf(TargetInvalidError);
    });
    expect(requests).toEqual([]);
  });

  it('answers ping with GetCallerIdentity', async () => {
    const { requests } = await moto.record(() => target.ping());
    expect(requests.map((r) => r.action)).toEqual(['GetCallerIdentity']);
  });
});

describe('credentials mode against moto', () => {
  const SESSION_POLICY = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:GetObject', Resource: 'arn:aws:s3:::releases/*' }],
  });
  const credentialsRef = (): AwsIamCredentialsTargetRef => ({
    type: 'aws-iam',
    mode: 'credentials',
    roleArn,
    sessionPolicy: SESSION_POLICY,
  });

  it('issues credentials for the window, named after the elevation, that work against STS', async () => {
    const id = newElevationId();
    const before = Date.now();
    const { result: creds, requests } = await moto.record(() =>
      sts.issueCredentials(credentialsRef(), ctx(id, 3600)),
    );
    const after = Date.now();
    expect(creds.sessionName).toBe(`elevate-${id}`);
    const expiration = Date.parse(creds.expiration);
    expect(expiration).toBeGreaterThanOrEqual(before + 3600_000 - 2_000);
    expect(expiration).toBeLessThanOrEqual(after + 3600_000 + 2_000);

    // moto does not enforce session policies (its access control only reads the role's own
    // policies), so the test shows the policy reached STS, in the request moto received.
    expect(requests).toHaveLength(1);
    expect(requests[0]?.params).toMatchObject({
      Action: 'AssumeRole',
      RoleArn: roleArn,
      RoleSessionName: `elevate-${id}`,
      DurationSeconds: '3600',
      Policy: SESSION_POLICY,
    });

    const asBot = new STSClient({
      region: REGION,
      endpoint: moto.url,
      credentials: {
        accessKeyId: creds.accessKeyId,
        secretAccessKey: creds.secretAccessKey,
        sessionToken: creds.sessionToken,
      },
    });
    try {
      const me = await asBot.send(new GetCallerIdentityCommand({}));
      expect(me.Arn).toBe(`arn:aws:sts::${account}:assumed-role/ci-deployer/elevate-${id}`);
    } finally {
      asBot.destroy();
    }
  });

  it('clamps the session to what STS accepts: 15 minutes to 12 hours', async () => {
    for (const [window, expected] of [
      [60, 900],
      [0, 900],
      [899.2, 900],
      [7200, 7200],
      [100_000, 43_200],
    ] as const) {
      const before = Date.now();
      const { result, requests } = await moto.record(() =>
        sts.issueCredentials(credentialsRef(), ctx(newElevationId(), window)),
      );
      expect(requests[0]?.params['DurationSeconds']).toBe(String(expected));
      const seconds = (Date.parse(result.expiration) - before) / 1000;
      expect(seconds).toBeGreaterThan(expected - 5);
      expect(seconds).toBeLessThan(expected + 5);
    }
  });

  it('sends no session policy when the role has none', async () => {
    const { requests } = await moto.record(() =>
      sts.issueCredentials({ type: 'aws-iam', mode: 'credentials', roleArn }, ctx(newElevationId())),
    );
    expect(requests[0]?.action).toBe('AssumeRole');
    expect(requests[0]?.params).not.toHaveProperty('Policy');
  });

  it('keeps session names within 64 allowed characters, the same on every attempt', async () => {
    const odd = `weird id/with spaces:${'x'.repeat(80)}`;
    const { result } = await moto.record(() => sts.issueCredentials(credentialsRef(), ctx(odd)));
    expect(result.sessionName).toMatch(/^elevate-[\w+=,.@-]+$/);
    expect(result.sessionName.length).toBeLessThanOrEqual(64);
    expect(sessionName(odd)).toBe(result.sessionName);
    expect(sessionName(`${odd}y`)).not.toBe(result.sessionName);
  });

  it('refuses a role ARN that is not a role and a session policy that is not a document', async () => {
    const { requests } = await moto.record(async () => {
      const notRole = await failure(
        sts.issueCredentials({ ...credentialsRef(), roleArn: userArn }, ctx('el_1')),
      );
      expect(notRole).toBeInstanceOf(TargetInvalidError);
      const badPolicy = await failure(
        sts.issueCredentials({ ...credentialsRef(), sessionPolicy: 'allow everything' }, ctx('el_1')),
      );
      expect(badPolicy).toBeInstanceOf(TargetInvalidError);
    });
    expect(requests).toEqual([]);
  });

  it('when no hand-off is configured, then granting and revoking are refused, and nothing standing is checked or listed, without calling AWS', async () => {
    const ref = credentialsRef();
    const id = newElevationId();
    const { requests } = await moto.record(async () => {
      const grant = await failure(sts.grant(ref, roleArn, ctx(id)));
      expect(grant).toBeInstanceOf(TargetInvalidError);
      expect(grant.message).toContain('ELEVATE_CREDENTIALS_KEY is missing');
      expect(await failure(sts.revoke(sts.handleFor(ref, roleArn, id)))).toBeInstanceOf(TargetInvalidError);
      expect(await sts.check(sts.handleFor(ref, roleArn, id))).toBe(false);
      expect(await sts.listMembers(ref)).toEqual([]);
    });
    expect(requests).toEqual([]);
  });

  describe('through a hand-off', () => {
    /** A hand-off that keeps each elevation's session in memory; `deliver` plays the bot fetching it. */
    const memoryHandoff = () => {
      const issued = new Map<string, HandedOverSession>();
      const delivered = new Set<string>();
      let issues = 0;
      const handoff: CredentialHandoff = {
        async issueOnce(elevationId, issue) {
          const known = issued.get(elevationId);
          if (known) return known;
          issues += 1;
          const { sessionName: name, expiration } = await issue();
          issued.set(elevationId, { sessionName: name, expiration });
          return { sessionName: name, expiration };
        },
        withdraw(elevationId) {
          const session = issued.get(elevationId);
          return Promise.resolve({ ...(session ? { session } : {}), delivered: delivered.has(elevationId) });
        },
      };
      return { handoff, deliver: (id: string) => delivered.add(id), issues: () => issues };
    };

    it('when granted twice, then one session is issued and confirmed; revoked before delivery, it is destroyed without a call to AWS', async () => {
      const memory = memoryHandoff();
      const withHandoff = new AwsStsCredentialsTarget({
        region: REGION,
        endpoint: moto.url,
        credentials: CREDENTIALS,
        handoff: memory.handoff,
      });
      try {
        const ref = credentialsRef();
        const id = newElevationId();
        const first = await withHandoff.grant(ref, roleArn, ctx(id));
        expect(first).toMatchObject({
          changed: true,
          confirmed: true,
          session: { sessionName: `elevate-${id}` },
        });
        // The handle names the role, the session and the elevation, as derived for old receipts.
        expect(first.handle).toEqual({
          type: 'aws-sts-credentials',
          roleArn: ref.roleArn,
          sessionName: `elevate-${id}`,
          elevationId: id,
        });
        expect(withHandoff.handleFor(ref, roleArn, id)).toEqual(first.handle);
        expect(await withHandoff.grant(ref, roleArn, ctx(id))).toEqual(first);
        expect(memory.issues()).toBe(1);
        // Revoked through the handle as the workflow keeps it: JSON, read back.
        const stored = JSON.parse(JSON.stringify(first.handle)) as typeof first.handle;
        const { result, requests } = await moto.record(() => withHandoff.revoke(stored));
        expect(result).toEqual({
          changed: true,
          confirmed: true,
          session: { ...first.session, delivered: false, denied: false },
        });
        expect(requests).toEqual([]);
        expect(await withHandoff.revoke(withHandoff.handleFor(ref, roleArn, newElevationId()))).toEqual({
          changed: false,
          confirmed: true,
        });
      } finally {
        await withHandoff.close();
      }
    });

    it('when the bot had its credentials, then the revocation denies that session on the role until it expires', async () => {
      const memory = memoryHandoff();
      const withHandoff = new AwsStsCredentialsTarget({
        region: REGION,
        endpoint: moto.url,
        credentials: CREDENTIALS,
        handoff: memory.handoff,
      });
      const id = newElevationId();
      try {
        const ref = credentialsRef();
        const granted = await withHandoff.grant(ref, roleArn, ctx(id));
        memory.deliver(id);
        const stored = JSON.parse(JSON.stringify(granted.handle)) as typeof granted.handle;
        const { result, requests } = await moto.record(() => withHandoff.revoke(stored));
        expect(result.session).toEqual({ ...granted.session, delivered: true, denied: true });
        expect(requests.map((r) => r.action)).toContain('PutRolePolicy');
        const { PolicyDocument } = await admin.send(
          new GetRolePolicyCommand({ RoleName: 'ci-deployer', PolicyName: `elevate-deny-${id}` }),
        );
        const raw = PolicyDocument ?? '';
        const text = raw.trimStart().startsWith('{') ? raw : decodeURIComponent(raw);
        expect(text).toContain(`*:elevate-${id}`);
      } finally {
        await admin.send(
          new DeleteRolePolicyCommand({ RoleName: 'ci-deployer', PolicyName: `elevate-deny-${id}` }),
        );
        await withHandoff.close();
      }
    });
  });
});

describe('failures', () => {
  it('reports a closed port as TargetUnreachableError, without the secret', async () => {
    const port = await freePort();
    const options = { region: REGION, endpoint: `http://127.0.0.1:${port}`, credentials: CREDENTIALS };
    const down = new AwsIamAttachTarget(options);
    const downSts = new AwsStsCredentialsTarget(options);
    try {
      for (const call of [
        () => down.grant(ATTACH, roleArn, ctx(newElevationId())),
        () => down.check(down.handleFor(ATTACH, roleArn, newElevationId())),
        () => down.revoke(down.handleFor(ATTACH, roleArn, newElevationId())),
        () => down.listMembers(ATTACH),
        () =>
          downSts.issueCredentials({ type: 'aws-iam', mode: 'credentials', roleArn }, ctx(newElevationId())),
        () => downSts.ping(),
        () => down.ping(),
      ]) {
        const error = await failure(call());
        expect(error).toBeInstanceOf(TargetUnreachableError);
        expect(error.retryable).toBe(true);
        expect(error.message).toMatch(/ECONNREFUSED/);
        expect(error.message).not.toContain(SECRET);
      }
    } finally {
      await down.close();
      await downSts.close();
    }
  });

  it('gives up on a server that accepts but never answers, within the timeouts', async () => {
    const sockets = new Set<Socket>();
    const silent: TcpServer = createTcpServer((socket) => {
      sockets.add(socket);
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as { port: number };
    const slow = new AwsIamAttachTarget({
      region: REGION,
      endpoint: `http://127.0.0.1:${port}`,
      credentials: CREDENTIALS,
      timeoutMs: 300,
    });
    try {
      const started = Date.now();
      const error = await failure(slow.check(slow.handleFor(ATTACH, roleArn, newElevationId())));
      expect(error).toBeInstanceOf(TargetUnreachableError);
      // Three attempts of 300 ms plus backoff; far from hanging.
      expect(Date.now() - started).toBeLessThan(10_000);
    } finally {
      await slow.close();
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    }
  });

  it('reports throttling and 5xx answers as TargetUnreachableError, after the SDK retried', async () => {
    let status = 400;
    let code = 'Throttling';
    let hits = 0;
    const stub: HttpServer = createHttpServer((req, res) => {
      hits += 1;
      req.resume();
      req.on('end', () => {
        res.writeHead(status, { 'content-type': 'text/xml' });
        res.end(
          `<ErrorResponse><Error><Type>${status >= 500 ? 'Receiver' : 'Sender'}</Type><Code>${code}</Code>` +
            `<Message>try later</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`,
        );
      });
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    const { port } = stub.address() as { port: number };
    const busy = new AwsIamAttachTarget({
      region: REGION,
      endpoint: `http://127.0.0.1:${port}`,
      credentials: CREDENTIALS,
    });
    try {
      for (const [s, c] of [
        [400, 'Throttling'],
        [503, 'ServiceUnavailable'],
        [500, 'ServiceFailure'],
      ] as const) {
        status = s;
        code = c;
        hits = 0;
        const error = await failure(busy.check(busy.handleFor(ATTACH, roleArn, newElevationId())));
        expect(error).toBeInstanceOf(TargetUnreachableError);
        expect(error.message).toContain(c);
        expect(hits).toBe(3);
      }
      // A client error that is not throttling is final, and not retried.
      status = 400;
      code = 'ValidationError';
      hits = 0;
      expect(await failure(busy.check(busy.handleFor(ATTACH, roleArn, newElevationId())))).toBeInstanceOf(
        TargetInvalidError,
      );
      expect(hits).toBe(1);
    } finally {
      await busy.close();
      await new Promise((resolve) => stub.close(resolve));
    }
  });

  describe('with moto checking credentials and policies', () => {
    let strict: MotoServer;
    let limited: { accessKeyId: string; secretAccessKey: string };
    let botArn: string;

    beforeAll(async () => {
      strict = await startMoto();
      const setup = new IAMClient({ region: REGION, endpoint: strict.url, credentials: CREDENTIALS });
      try {
        const bot = await setup.send(
          new CreateRoleCommand({ RoleName: 'bot', AssumeRolePolicyDocument: TRUST }),
        );
        botArn = bot.Role?.Arn ?? '';
        await setup.send(new CreateUserCommand({ UserName: 'elevate-without-rights' }));
        const key = await setup.send(new CreateAccessKeyCommand({ UserName: 'elevate-without-rights' }));
        limited = {
          accessKeyId: key.AccessKey?.AccessKeyId ?? '',
          secretAccessKey: key.AccessKey?.SecretAccessKey ?? '',
        };
      } finally {
        setup.destroy();
      }
      await strict.enforceAuth();
    });

    afterAll(async () => {
      await strict?.stop();
    });

    it('reports unknown credentials and missing rights as TargetAccessDeniedError', async () => {
      const unknown = new AwsIamAttachTarget({
        region: REGION,
        endpoint: strict.url,
        credentials: CREDENTIALS,
      });
      const powerless = new AwsIamAttachTarget({
        region: REGION,
        endpoint: strict.url,
        credentials: limited,
      });
      const powerlessSts = new AwsStsCredentialsTarget({
        region: REGION,
        endpoint: strict.url,
        credentials: limited,
      });
      try {
        const notRecognised = await failure(unknown.grant(ATTACH, botArn, ctx(newElevationId())));
        expect(notRecognised).toBeInstanceOf(TargetAccessDeniedError);
        expect(notRecognised.message).toContain('InvalidClientTokenId');
        expect(notRecognised.message).not.toContain(SECRET);
        expect(await failure(unknown.ping())).toBeInstanceOf(TargetAccessDeniedError);

        const denied = await failure(powerless.grant(ATTACH, botArn, ctx(newElevationId())));
        expect(denied).toBeInstanceOf(TargetAccessDeniedError);
        expect(denied.message).toContain('AccessDenied');
        expect(denied.message).not.toContain(limited.secretAccessKey);
        const noAssume = await failure(
          powerlessSts.issueCredentials(
            { type: 'aws-iam', mode: 'credentials', roleArn: botArn },
            ctx(newElevationId()),
          ),
        );
        expect(noAssume).toBeInstanceOf(TargetAccessDeniedError);
      } finally {
        await unknown.close();
        await powerless.close();
        await powerlessSts.close();
      }
    });
  });

  it('maps the codes AWS answers that moto cannot be made to send', () => {
    const answer = (name: string, httpStatusCode: number): Error =>
      Object.assign(new Error(`${name} happened`), { name, $fault: 'client', $metadata: { httpStatusCode } });
    const at: AwsErrorContext = { operation: 'grant', principal: roleArn, policy: 'elevate-el_1' };
    const cases: [Error, abstract new (...args: never[]) => TargetError][] = [
      [answer('ThrottlingException', 400), TargetUnreachableError],
      [answer('RequestLimitExceeded', 400), TargetUnreachableError],
      [answer('SomethingNew', 502), TargetUnreachableError],
      [answer('UnrecognizedClientException', 400), TargetAccessDeniedError],
      [answer('AccessDeniedException', 403), TargetAccessDeniedError],
      [answer('ExpiredToken', 400), TargetAccessDeniedError],
      [answer('LimitExceededException', 409), TargetInvalidError],
      [answer('ValidationError', 400), TargetInvalidError],
      [answer('PackedPolicyTooLarge', 400), TargetInvalidError],
      [answer('DeleteConflictException', 409), TargetNotVerifiedError],
      [answer('NoSuchEntityException', 404), TargetNotFoundError],
      [Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), TargetUnreachableError],
    ];
    for (const [err, Cls] of cases) expect(mapAwsError(err, at), err.name).toBeInstanceOf(Cls);
    // Right after creating the policy, NoSuchEntity is IAM catching up: retryable.
    const lagging = mapAwsError(answer('NoSuchEntityException', 404), { ...at, operation: 'attach' });
    expect(lagging).toBeInstanceOf(TargetUnreachableError);
    // Secrets are cut out of any message that echoes them.
    const echoed = mapAwsError(answer(`AccessDenied for ${SECRET}`, 403), { ...at, secrets: [SECRET] });
    expect(echoed.message).not.toContain(SECRET);
  });
});

describe('expiryCondition', () => {
  const notAfter = new Date('2030-01-01T12:00:00.000Z');
  const statementsOf = (document: string): Statement[] => {
    const doc = JSON.parse(document) as Json;
    const s = doc['Statement'];
    return (Array.isArray(s) ? s : [s]) as Statement[];
  };

  it('keeps an earlier aws:CurrentTime limit of the document and replaces a later one', () => {
    const doc = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        {
          Effect: 'Allow',
          Action: 'a:A',
          Resource: '*',
          Condition: { DateLessThan: { 'aws:CurrentTime': '2029-06-01T00:00:00Z' } },
        },
        {
          Effect: 'Allow',
          Action: 'a:B',
          Resource: '*',
          Condition: {
            DateLessThan: {
              'AWS:currenttime': '2031-01-01T00:00:00Z',
              'aws:TokenIssueTime': '2030-06-01T00:00:00Z',
            },
          },
        },
      ],
    });
    const [first, second] = statementsOf(expiryCondition(doc, notAfter));
    expect(first?.Condition?.['DateLessThan']).toEqual({ 'aws:CurrentTime': '2029-06-01T00:00:00Z' });
    expect(second?.Condition?.['DateLessThan']).toEqual({
      'aws:TokenIssueTime': '2030-06-01T00:00:00Z',
      'aws:CurrentTime': '2030-01-01T12:00:00Z',
    });
  });

  it('handles a single statement object and leaves Deny statements alone', () => {
    const single = JSON.stringify({
      Version: '2012-10-17',
      Statement: { Effect: 'Allow', Action: 'a:A', Resource: '*' },
    });
    const out = JSON.parse(expiryCondition(single, notAfter)) as Json;
    expect(out['Statement']).toEqual({
      Effect: 'Allow',
      Action: 'a:A',
      Resource: '*',
      Condition: { DateLessThan: { 'aws:CurrentTime': '2030-01-01T12:00:00Z' } },
    });
    const deny = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Action: '*', Resource: '*' }],
    });
    expect(JSON.parse(expiryCondition(deny, notAfter))).toEqual(JSON.parse(deny));
  });

  it('refuses what is not a policy document', () => {
    for (const bad of [
      '',
      'null',
      '{"Statement": []}',
      '{"Statement": [1]}',
      JSON.stringify({
        Statement: { Effect: 'Allow', Condition: { DateLessThan: { 'aws:CurrentTime': 'soon' } } },
      }),
    ]) {
      expect(() => expiryCondition(bad, notAfter), bad).toThrow(TargetInvalidError);
    }
  });
});

describe('drift: what is attached to a bot, and taking it away', () => {
  const INLINE = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 's3:ListBucket', Resource: '*' }],
  });
  const ANY = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: 'sqs:SendMessage', Resource: '*' }],
  });
  let drifterRole: string;
  let drifterUser: string;
  /** Out-of-band policies, whose order by name differs from their order by ARN. */
  let shared: string;
  let rootLevel: string;

  async function createPolicy(name: string, path: string): Promise<string> {
    const { Policy } = await admin.send(
      new CreatePolicyCommand({ PolicyName: name, Path: path, PolicyDocument: ANY }),
    );
    return Policy?.Arn ?? '';
  }

  /** Attaches a managed policy and puts an inline one behind Elevate's back. */
  async function attach(principal: string, arn: string): Promise<void> {
    const name = principal.split('/').pop() ?? '';
    await (principal.includes(':role/')
      ? admin.send(new AttachRolePolicyCommand({ RoleName: name, PolicyArn: arn }))
      : admin.send(new AttachUserPolicyCommand({ UserName: name, PolicyArn: arn })));
  }

  async function putInline(principal: string, policy: string): Promise<void> {
    const name = principal.split('/').pop() ?? '';
    await (principal.includes(':role/')
      ? admin.send(new PutRolePolicyCommand({ RoleName: name, PolicyName: policy, PolicyDocument: INLINE }))
      : admin.send(new PutUserPolicyCommand({ UserName: name, PolicyName: policy, PolicyDocument: INLINE })));
  }

  beforeAll(async () => {
    const role = await admin.send(
      new CreateRoleCommand({ RoleName: 'drifter', Path: '/bots/team/', AssumeRolePolicyDocument: TRUST }),
    );
    const user = await admin.send(new CreateUserCommand({ UserName: 'drift-user', Path: '/bots/' }));
    drifterRole = role.Role?.Arn ?? '';
    drifterUser = user.User?.Arn ?? '';
    shared = await createPolicy('a-shared', '/zz/team/');
    rootLevel = await createPolicy('root-level', '/');
  });

  for (const kind of ['role', 'user'] as const) {
    it(`lists, detaches and deletes what was attached to a ${kind} outside Elevate`, async () => {
      const principal = kind === 'role' ? drifterRole : drifterUser;
      const id = newElevationId();
      const elevatePolicy = policyArn(id);
      await attach(principal, shared);
      await attach(principal, rootLevel);
      expect(await target.grant(ATTACH, principal, ctx(id))).toEqual({
        changed: true,
        confirmed: true,
        handle: target.handleFor(ATTACH, principal, id),
      });
      await putInline(principal, 'zeta');
      await putInline(principal, 'alpha');

      const listed = await target.policies.listAttachedPolicies(principal);
      expect(listed).toEqual({
        managed: [
          { arn: elevatePolicy, name: `elevate-${id}`, path: '/elevate/' },
          { arn: rootLevel, name: 'root-level', path: '/' },
          { arn: shared, name: 'a-shared', path: '/zz/team/' },
        ],
        inline: ['alpha', 'zeta'],
      });
      expect(listed.managed.map((m) => elevationIdOfPolicy(m.arn))).toEqual([id, undefined, undefined]);

      // A managed policy is detached, not deleted: it may be shared or AWS-managed.
      expect(await target.policies.detachPolicy(principal, shared)).toEqual({ changed: true });
      expect(await target.policies.detachPolicy(principal, shared)).toEqual({ changed: false });
      expect(await policyExists(shared)).toBe(true);
      expect((await target.policies.listAttachedPolicies(principal)).managed.map((m) => m.arn)).toEqual([
        elevatePolicy,
        rootLevel,
      ]);

      // Detaching an Elevate policy leaves it behind; revoke deletes it without detaching again.
      expect(await target.policies.detachPolicy(principal, elevatePolicy)).toEqual({ changed: true });
      expect(await policyExists(elevatePolicy)).toBe(true);
      expect(await target.check(target.handleFor(ATTACH, principal, id))).toBe(false);
      expect(await target.revoke(target.handleFor(ATTACH, principal, id))).toEqual({ changed: false });
      expect(await policyExists(elevatePolicy)).toBe(false);
      expect(await target.policies.detachPolicy(principal, elevatePolicy)).toEqual({ changed: false });

      expect(await target.policies.deleteInlinePolicy(principal, 'alpha')).toEqual({ changed: true });
      expect(await target.policies.deleteInlinePolicy(principal, 'alpha')).toEqual({ changed: false });
      expect(await target.policies.listAttachedPolicies(principal)).toEqual({
        managed: [{ arn: rootLevel, name: 'root-level', path: '/' }],
        inline: ['zeta'],
      });

      expect(await target.policies.detachPolicy(principal, rootLevel)).toEqual({ changed: true });
      expect(await target.policies.deleteInlinePolicy(principal, 'zeta')).toEqual({ changed: true });
      expect(await target.policies.listAttachedPolicies(principal)).toEqual({ managed: [], inline: [] });
    });
  }

  it('sees nothing attached to a role or user that does not exist, and changes nothing', async () => {
    for (const missing of [
      `arn:aws:iam::${account}:role/bots/no-such-bot`,
      `arn:aws:iam::${account}:user/no-such-user`,
    ]) {
      expect(await target.policies.listAttachedPolicies(missing)).toEqual({ managed: [], inline: [] });
      expect(await target.policies.detachPolicy(missing, rootLevel)).toEqual({ changed: false });
      expect(await target.policies.deleteInlinePolicy(missing, 'zeta')).toEqual({ changed: false });
    }
    // A policy that does not exist is not attached either.
    const gone = `arn:aws:iam::${account}:policy/no-such-policy`;
    expect(await target.policies.detachPolicy(drifterRole, gone)).toEqual({ changed: false });
  });

  it('refuses malformed principals, policy ARNs and inline names before calling AWS', async () => {
    const { requests } = await moto.record(async () => {
      for (const principal of [
        `arn:aws:iam::${account}:group/ops`,
        `arn:aws:sts::${account}:assumed-role/drifter/session`,
        `arn:aws:iam::${account}:role/`,
        'drifter',
      ]) {
        for (const call of [
          () => target.policies.listAttachedPolicies(principal),
          () => target.policies.detachPolicy(principal, rootLevel),
          () => target.policies.deleteInlinePolicy(principal, 'zeta'),
        ]) {
          const error = await failure(call());
          expect(error).toBeInstanceOf(TargetInvalidError);
          expect(error.message).toContain('is not the ARN of an IAM role or user');
        }
      }
      for (const policy of [
        'a-shared',
        `arn:aws:iam::${account}:role/drifter`,
        `arn:aws:iam::${account}:policy/`,
        'arn:aws:s3:::bucket/policy/x',
      ]) {
        expect(await failure(target.policies.detachPolicy(drifterRole, policy))).toBeInstanceOf(
          TargetInvalidError,
        );
      }
      for (const name of ['', 'has space', 'x'.repeat(129), 'a/b']) {
        expect(await failure(target.policies.deleteInlinePolicy(drifterRole, name))).toBeInstanceOf(
          TargetInvalidError,
        );
      }
    });
    expect(requests).toEqual([]);
  });

  it('reads every page of the attached managed policies', async () => {
    const paged = new AwsIamAttachTarget({
      region: REGION,
      endpoint: moto.url,
      credentials: CREDENTIALS,
      listPageSize: 2,
    });
    const role = await admin.send(
      new CreateRoleCommand({ RoleName: 'many-policies', AssumeRolePolicyDocument: TRUST }),
    );
    const user = await admin.send(new CreateUserCommand({ UserName: 'many-policies' }));
    const arns: string[] = [];
    for (let i = 0; i < 5; i += 1) arns.push(await createPolicy(`paged-${i}`, '/paged/'));
    try {
      for (const principal of [role.Role?.Arn ?? '', user.User?.Arn ?? '']) {
        for (const arn of arns) await attach(principal, arn);
        const { result, requests } = await moto.record(() => paged.policies.listAttachedPolicies(principal));
        expect(result.managed.map((m) => m.arn)).toEqual([...arns].sort());
        expect(result.managed.every((m) => m.path === '/paged/')).toBe(true);
        const listCalls = requests.filter((r) => r.action.startsWith('ListAttached'));
        // Pages of 2, 2 and 1, each asked for after the previous one's marker.
        expect(listCalls.map((r) => [r.params['MaxItems'], r.params['Marker']])).toEqual([
          ['2', undefined],
          ['2', '2'],
          ['2', '4'],
        ]);
        expect(listCalls.every((r) => r.params['PathPrefix'] === undefined)).toBe(true);
        for (const arn of arns)
          expect(await paged.policies.detachPolicy(principal, arn)).toEqual({ changed: true });
        expect(await paged.policies.listAttachedPolicies(principal)).toEqual({ managed: [], inline: [] });
      }
    } finally {
      await paged.close();
    }
  });

  it('reads every page of inline policy names, which moto never splits (a stub IAM does)', async () => {
    const seen: Record<string, string>[] = [];
    const answer = (action: string, body: string): string =>
      `<${action}Response xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><${action}Result>${body}` +
      `</${action}Result><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></${action}Response>`;
    const member = (name: string, arn: string): string =>
      `<member><PolicyName>${name}</PolicyName><PolicyArn>${arn}</PolicyArn></member>`;
    const awsManaged = 'arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole';
    const own = `arn:aws:iam::${account}:policy/ops-extra`;
    const stub: HttpServer = createHttpServer((req, res) => {
      let raw = '';
      req.setEncoding('utf8');
      req.on('data', (chunk: string) => (raw += chunk));
      req.on('end', () => {
        const params = Object.fromEntries(new URLSearchParams(raw));
        seen.push(params);
        const first = params['Marker'] === undefined;
        const truncated = first ? '<IsTruncated>true</IsTruncated><Marker>next</Marker>' : '';
        const xml =
          params['Action'] === 'ListAttachedRolePolicies'
            ? answer(
                'ListAttachedRolePolicies',
                `<AttachedPolicies>${first ? member('AWSLambdaBasicExecutionRole', awsManaged) : member('ops-extra', own)}</AttachedPolicies>${truncated}`,
              )
            : answer(
                'ListRolePolicies',
                `<PolicyNames>${first ? '<member>zz-last</member><member>mid</member>' : '<member>aa-first</member>'}</PolicyNames>${truncated}`,
              );
        res.writeHead(200, { 'content-type': 'text/xml' });
        res.end(xml);
      });
    });
    await new Promise<void>((resolve) => stub.listen(0, '127.0.0.1', resolve));
    const { port } = stub.address() as { port: number };
    const stubbed = new AwsIamAttachTarget({
      region: REGION,
      endpoint: `http://127.0.0.1:${port}`,
      credentials: CREDENTIALS,
    });
    try {
      expect(await stubbed.policies.listAttachedPolicies(drifterRole)).toEqual({
        // Sorted by ARN: the account's own policy before AWS's, whatever order the pages had.
        managed: [
          { arn: own, name: 'ops-extra', path: '/' },
          { arn: awsManaged, name: 'AWSLambdaBasicExecutionRole', path: '/service-role/' },
        ],
        inline: ['aa-first', 'mid', 'zz-last'],
      });
      expect(seen.map((p) => [p['Action'], p['RoleName'], p['Marker']])).toEqual([
        ['ListAttachedRolePolicies', 'drifter', undefined],
        ['ListAttachedRolePolicies', 'drifter', 'next'],
        ['ListRolePolicies', 'drifter', undefined],
        ['ListRolePolicies', 'drifter', 'next'],
      ]);
    } finally {
      await stubbed.close();
      await new Promise((resolve) => stub.close(resolve));
    }
  });

  it('reports AWS out of reach as TargetUnreachableError', async () => {
    const down = new AwsIamAttachTarget({
      region: REGION,
      endpoint: `http://127.0.0.1:${await freePort()}`,
      credentials: CREDENTIALS,
    });
    try {
      for (const [call, says] of [
        [
          () => down.policies.listAttachedPolicies(drifterRole),
          `listing the policies attached to ${drifterRole}`,
        ],
        [
          () => down.policies.detachPolicy(drifterUser, rootLevel),
          `detaching policy ${rootLevel} from ${drifterUser}`,
        ],
        [
          () => down.policies.deleteInlinePolicy(drifterRole, 'zeta'),
          `deleting inline policy zeta of ${drifterRole}`,
        ],
      ] as const) {
        const error = await failure(call());
        expect(error).toBeInstanceOf(TargetUnreachableError);
        expect(error.retryable).toBe(true);
        expect(error.message).toContain(says);
        expect(error.message).not.toContain(SECRET);
      }
    } finally {
      await down.close();
    }
  });

  it('tells Elevate policies and their elevation from every other ARN', () => {
    const id = 'el_0123456789abcdef01234567';
    expect(elevationIdOfPolicy(`arn:aws:iam::123456789012:policy/elevate/elevate-${id}`)).toBe(id);
    expect(elevationIdOfPolicy(`arn:aws-cn:iam::123456789012:policy/elevate/elevate-${id}`)).toBe(id);
    expect(elevationIdOfPolicy(`arn:aws-us-gov:iam::123456789012:policy/elevate/elevate-x.y@z`)).toBe(
      'x.y@z',
    );
    // An id policyName had to clean and shorten comes back as the name has it.
    const odd = `weird id/with spaces:${'x'.repeat(200)}`;
    const name = policyName(odd);
    expect(elevationIdOfPolicy(`arn:aws:iam::123456789012:policy/elevate/${name}`)).toBe(
      name.slice('elevate-'.length),
    );
    for (const other of [
      `arn:aws:iam::123456789012:policy/elevate/elevate-`,
      `arn:aws:iam::123456789012:policy/elevate/elevated-${id}`,
      `arn:aws:iam::123456789012:policy/elevate/x-elevate-${id}`,
      `arn:aws:iam::123456789012:policy/elevate-${id}`,
      `arn:aws:iam::123456789012:policy/elevate/sub/elevate-${id}`,
      `arn:aws:iam::123456789012:policy/other/elevate/elevate-${id}`,
      `arn:aws:iam::aws:policy/elevate/elevate-${id}`,
      `arn:aws:iam::123456789012:role/elevate/elevate-${id}`,
      `arn:aws:iam::12345678901:policy/elevate/elevate-${id}`,
      `arn:aws:s3:::policy/elevate/elevate-${id}`,
      `arn:aws:iam::123456789012:policy/elevate/elevate-${id}/`,
      `arn:aws:iam::123456789012:policy/elevate/elevate-has space`,
      `elevate-${id}`,
      '',
    ]) {
      expect(elevationIdOfPolicy(other), other).toBeUndefined();
    }
  });
});

describe("a policy under Elevate's name that someone else made or changed", () => {
  /** What an attacker with iam:CreatePolicy (or iam:CreatePolicyVersion) would write. */
  const ADMIN = JSON.stringify({
    Version: '2012-10-17',
    Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
  });
  const attachedToDeployer = async (): Promise<string[]> =>
    (
      (await admin.send(new ListAttachedRolePoliciesCommand({ RoleName: 'ci-deployer' }))).AttachedPolicies ??
      []
    ).map((a) => a.PolicyArn ?? '');
  const plant = (id: string, document: string) =>
    admin.send(
      new CreatePolicyCommand({
        PolicyName: policyName(id),
        Path: '/elevate/',
        PolicyDocument: document,
        // Copied from Elevate's own: a description proves nothing.
        Description: `Elevate elevation ${id}; expires 2099-01-01T00:00:00Z`,
      }),
    );

  it('when moto is asked for a policy, its versions and its default document, then it answers as IAM does', async () => {
    const id = newElevationId();
    await plant(id, ADMIN);
    await admin.send(
      new CreatePolicyVersionCommand({
        PolicyArn: policyArn(id),
        PolicyDocument: DOCUMENT,
        SetAsDefault: true,
      }),
    );
    const { Versions } = await admin.send(new ListPolicyVersionsCommand({ PolicyArn: policyArn(id) }));
    expect(Versions?.map((v) => [v.VersionId, v.IsDefaultVersion]).sort()).toEqual([
      ['v1', false],
      ['v2', true],
    ]);
    expect((await storedDocument(policyArn(id))).versions).toBe('v2');
    await target.revoke(target.handleFor(ATTACH, roleArn, id));
    expect(await policyExists(policyArn(id))).toBe(false);
  });

  it("when an administrator policy was created under the elevation's name before the grant, then the grant refuses it with TargetTamperedError and attaches nothing", async () => {
    const id = newElevationId();
    await plant(id, ADMIN);
    const error = await failure(target.grant(ATTACH, roleArn, ctx(id)));
    expect(error).toBeInstanceOf(TargetTamperedError);
    expect(error.retryable).toBe(false);
    // Temporal names the failure after the class; the workflow must not retry it.
    expect(error.constructor.name).toBe(error.name);
    expect(NON_RETRYABLE_GRANT_ERRORS).toContain(error.name);
    expect(error.message).toContain('policy_tampered');
    expect(error.message).toContain(policyArn(id));
    expect(error.message).toContain("is not the role's document with Elevate's expiry");
    expect(await attachedToDeployer()).not.toContain(policyArn(id));
    expect(await target.check(target.handleFor(ATTACH, roleArn, id))).toBe(false);
    // The revocation that follows a failed grant deletes the planted policy.
    expect(await target.revoke(target.handleFor(ATTACH, roleArn, id))).toEqual({ changed: false });
    expect(await policyExists(policyArn(id))).toBe(false);
  });

  it("when the planted policy is the role's document with a later expiry, or with an extra version, then it is refused too", async () => {
    const later = newElevationId();
    await plant(later, expiryCondition(DOCUMENT, new Date(Date.now() + 365 * 86_400_000)));
    const laterError = await failure(target.grant(ATTACH, roleArn, ctx(later, 3600)));
    expect(laterError).toBeInstanceOf(TargetTamperedError);
    expect(laterError.message).toMatch(/later than the elevation's window allows/);

    // The right document as v1, and an administrator v2 waiting to be made the default.
    const versioned = newElevationId();
    await plant(versioned, expiryCondition(DOCUMENT, new Date(Date.now() + 60_000)));
    await admin.send(
      new CreatePolicyVersionCommand({ PolicyArn: policyArn(versioned), PolicyDocument: ADMIN }),
    );
    const versionError = await failure(target.grant(ATTACH, roleArn, ctx(versioned)));
    expect(versionError).toBeInstanceOf(TargetTamperedError);
    expect(versionError.message).toContain('v1, v2');

    // The right document, but only as a second version made the default (v1 deleted).
    const swapped = newElevationId();
    await plant(swapped, ADMIN);
    await admin.send(
      new CreatePolicyVersionCommand({
        PolicyArn: policyArn(swapped),
        PolicyDocument: expiryCondition(DOCUMENT, new Date(Date.now() + 60_000)),
        SetAsDefault: true,
      }),
    );
    await admin.send(new DeletePolicyVersionCommand({ PolicyArn: policyArn(swapped), VersionId: 'v1' }));
    const swapError = await failure(target.grant(ATTACH, roleArn, ctx(swapped)));
    expect(swapError).toBeInstanceOf(TargetTamperedError);
    expect(swapError.message).toContain('default version is v2');

    for (const id of [later, versioned, swapped]) {
      await target.revoke(target.handleFor(ATTACH, roleArn, id));
      expect(await policyExists(policyArn(id))).toBe(false);
    }
    expect(await attachedToDeployer()).toEqual([]);
  });

  it('when a grant is retried later, after its first attempt created the policy, then the policy is recognised by its document and attached', async () => {
    let now = Date.parse('2031-05-06T07:08:09.500Z');
    const moving = new AwsIamAttachTarget({
      region: REGION,
      endpoint: moto.url,
      credentials: CREDENTIALS,
      clock: () => new Date(now),
    });
    const id = newElevationId();
    try {
      // The first attempt creates the policy and stops before attaching it.
      await admin.send(
        new CreatePolicyCommand({
          PolicyName: policyName(id),
          Path: '/elevate/',
          PolicyDocument: expiryCondition(DOCUMENT, new Date(now + (1800 + 60) * 1000)),
        }),
      );
      now += 45_000;
      expect(await moving.grant(ATTACH, roleArn, ctx(id, 1800))).toEqual({
        changed: true,
        confirmed: true,
        handle: moving.handleFor(ATTACH, roleArn, id),
      });
      expect(await moving.check(moving.handleFor(ATTACH, roleArn, id))).toBe(true);
      // A third attempt finds it attached, checks it again, and changes nothing.
      now += 45_000;
      expect(await moving.grant(ATTACH, roleArn, ctx(id, 1800))).toEqual({
        changed: false,
        confirmed: true,
        handle: moving.handleFor(ATTACH, roleArn, id),
      });
      expect(await moving.policies.findTampering(policyArn(id))).toBeUndefined();
    } finally {
      await moving.revoke(moving.handleFor(ATTACH, roleArn, id));
      await moving.close();
    }
  });

  it('when a version is added to a granted policy and made the default, then the read-back refuses it and findTampering names it', async () => {
    const id = newElevationId();
    expect(await target.grant(ATTACH, roleArn, ctx(id))).toEqual({
      changed: true,
      confirmed: true,
      handle: target.handleFor(ATTACH, roleArn, id),
    });
    expect(await target.check(target.handleFor(ATTACH, roleArn, id))).toBe(true);
    await admin.send(
      new CreatePolicyVersionCommand({ PolicyArn: policyArn(id), PolicyDocument: ADMIN, SetAsDefault: true }),
    );
    const error = await failure(target.check(target.handleFor(ATTACH, roleArn, id)));
    expect(error).toBeInstanceOf(TargetTamperedError);
    expect(error.message).toContain('default version is v2');
    expect(await target.policies.findTampering(policyArn(id))).toMatch(/default version is v2/);
    // Drift asks by elevation alone, which reads presence only; revoking takes it all away.
    expect(await target.holdsPolicy(roleArn, ctx(id, 0))).toBe(true);
    expect(await target.revoke(target.handleFor(ATTACH, roleArn, id))).toEqual({ changed: true });
    expect(await target.check(target.handleFor(ATTACH, roleArn, id))).toBe(false);
    expect(await policyExists(policyArn(id))).toBe(false);
    expect(await target.policies.findTampering(policyArn(id))).toBeUndefined();
    await expect(
      target.policies.findTampering(`arn:aws:iam::${account}:policy/other`),
    ).rejects.toBeInstanceOf(TargetInvalidError);
  });

  describe('through the ledger and the activities', () => {
    let dir: string;
    let stores: Stores;
    let botArn: string;
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'elevate-aws-tamper-'));
      stores = await openStores({ sqlitePath: join(dir, 'tamper.db') });
      const role = await admin.send(
        new CreateRoleCommand({ RoleName: 'tamper-bot', Path: '/bots/', AssumeRolePolicyDocument: TRUST }),
      );
      botArn = role.Role?.Arn ?? '';
    });
    afterAll(async () => {
      await stores?.database.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });
    const botPolicies = async (): Promise<string[]> =>
      (
        (await admin.send(new ListAttachedRolePoliciesCommand({ RoleName: 'tamper-bot' })))
          .AttachedPolicies ?? []
      ).map((a) => a.PolicyArn ?? '');

    it('when the grant finds a planted policy, then acquiring fails with the non-retryable tampered error, and the release deletes the policy', async () => {
      const ledger = new GrantLedger(stores.leases, new TargetRouter({ awsIamAttach: target }));
      const id = newElevationId();
      const req = { elevationId: id, target: ATTACH, principal: botArn, durationSeconds: 600 };
      await plant(id, ADMIN);
      await expect(ledger.acquire(req)).rejects.toBeInstanceOf(TargetTamperedError);
      expect(await botPolicies()).toEqual([]);
      const receipt = await ledger.release(req);
      expect(receipt.removed).toBe(true);
      expect(await policyExists(policyArn(id))).toBe(false);
    });

    it("when a live elevation's policy gets an administrator default version, then reconciliation does not count it as explained: it records policy_tampered and takes it away, even for an alert role", async () => {
      const ledger = new GrantLedger(stores.leases, new TargetRouter({ awsIamAttach: target }));
      const activities = createActivities({
        store: stores.auditLog,
        ...testRequestDeps(),
        ledger,
        notifier: { announce: () => Promise.resolve([]), publish: () => Promise.resolve() },
        logger: testLogger(),
      });
      const unit = { principal: botArn, roles: ['aws-read'], action: 'alert' as const, standing: [] };
      const id = newElevationId();
      const req = { elevationId: id, target: ATTACH, principal: botArn, durationSeconds: 600 };
      await ledger.acquire(req);
      // Untouched, the lease explains it.
      expect((await activities.reconcileAwsPrincipal(unit)).drift).toEqual([]);

      await admin.send(
        new CreatePolicyVersionCommand({
          PolicyArn: policyArn(id),
          PolicyDocument: ADMIN,
          SetAsDefault: true,
        }),
      );
      const before = (await stores.auditLog.readEvents(0, 100_000)).length;
      const result = await activities.reconcileAwsPrincipal(unit);
      expect(result.drift).toEqual([{ principal: botArn, action: 'reverted', detail: policyArn(id) }]);
      expect(result.alerts?.map((a) => [a.detail, a.outcome])).toEqual([[policyArn(id), 'reverted']]);
      expect(await botPolicies()).toEqual([]);
      expect(await policyExists(policyArn(id))).toBe(false);
      const events = (await stores.auditLog.readEvents(0, 100_000)).slice(before);
      expect(events.map((e) => e.type)).toEqual(['drift.detected', 'drift.reverted']);
      expect(events[0]?.data).toMatchObject({
        policy: policyArn(id),
        elevation: id,
        reason: 'policy_tampered',
        problem: expect.stringContaining('default version is v2') as unknown,
      });

      // The elevation's own release later finds nothing left to remove.
      await ledger.release(req);
      expect(await botPolicies()).toEqual([]);
    });
  });
});

it('lists no policies left behind by this file', async () => {
  const { Policies } = await admin.send(new ListPoliciesCommand({ Scope: 'Local', PathPrefix: '/elevate/' }));
  expect(Policies?.map((p) => p.PolicyName)).toEqual([]);
});

describe('drift reconciliation racing an elevation of its own policy', () => {
  let dir: string;
  let stores: Stores;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'elevate-aws-ledger-'));
    stores = await openStores({ sqlitePath: join(dir, 'ledger.db') });
  });
  afterAll(async () => {
    await stores?.database.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('when an elevation granted before handles is released with the old input shape, then its policy is found from the elevation and removed; a new one is released through its receipt', async () => {
    const activities = createActivities({
      store: stores.auditLog,
      ...testRequestDeps(),
      ledger: new GrantLedger(stores.leases, new TargetRouter({ awsIamAttach: target })),
      notifier: { announce: () => Promise.resolve([]), publish: () => Promise.resolve() },
      logger: testLogger(),
    });
    const old = { elevationId: newElevationId(), target: ATTACH, principal: roleArn, durationSeconds: 600 };
    const current = {
      elevationId: newElevationId(),
      target: ATTACH,
      principal: roleArn,
      durationSeconds: 600,
    };
    await activities.acquireGrant(old);
    const receipt = await activities.acquireGrant(current);
    expect(receipt.handle).toEqual({
      type: 'aws-iam-attach',
      policyArn: policyArn(current.elevationId),
      principalArn: roleArn,
    });

    // As an old history asks: elevation, target, principal and window, no handle.
    expect(await activities.releaseGrant(old)).toMatchObject({ removed: true });
    expect(await policyExists(policyArn(old.elevationId))).toBe(false);
    expect(await policyExists(policyArn(current.elevationId))).toBe(true);

    const { handle } = JSON.parse(JSON.stringify(receipt)) as typeof receipt;
    expect(await activities.releaseGrant({ ...current, handle })).toMatchObject({ removed: true });
    expect(await policyExists(policyArn(current.elevationId))).toBe(false);
  });

  it('when a revert races the grant of the same policy, then a policy whose lease is held is never taken away, and one left without a lease is', async () => {
    const ledger = new GrantLedger(stores.leases, new TargetRouter({ awsIamAttach: target }));
    const outcomes: DriftOutcome[] = [];
    const violations: string[] = [];
    for (let round = 0; round < 8; round += 1) {
      const id = newElevationId();
      const req = { elevationId: id, target: ATTACH, principal: roleArn, durationSeconds: 3600 };
      const [, outcome] = await Promise.all([
        (async () => {
          await sleep(Math.random() * 30);
          await ledger.acquire(req);
        })(),
        (async () => {
          await sleep(Math.random() * 30);
          return settlePolicy(roleArn, id, 'revert', ledger, target);
        })(),
      ]);
      outcomes.push(outcome);
      if (!(await target.check(target.handleFor(ATTACH, roleArn, id))))
        violations.push(`round ${round}: ${outcome}`);
      await ledger.release(req);
      expect(await policyExists(policyArn(id))).toBe(false);
    }
    expect(violations).toEqual([]);
    // Before the grant there is nothing to find; during or after it, the lease explains it.
    expect(outcomes.filter((o) => o !== 'explained' && o !== 'absent')).toEqual([]);

    // A policy attached for an elevation that holds no lease (left behind) is detached and deleted.
    const orphan = newElevationId();
    expect(await target.grant(ATTACH, roleArn, ctx(orphan))).toEqual({
      changed: true,
      confirmed: true,
      handle: target.handleFor(ATTACH, roleArn, orphan),
    });
    expect(await settlePolicy(roleArn, orphan, 'alert', ledger, target)).toBe('alerted');
    expect(await target.check(target.handleFor(ATTACH, roleArn, orphan))).toBe(true);
    expect(await settlePolicy(roleArn, orphan, 'revert', ledger, target)).toBe('reverted');
    expect(await target.check(target.handleFor(ATTACH, roleArn, orphan))).toBe(false);
    expect(await policyExists(policyArn(orphan))).toBe(false);
  }, 60_000);
});
