/**
 * Extending an AWS attach-mode elevation against a real moto server started for this file, with
 * the real AWS SDK: the policy's expiry condition moves with the window by a new policy version
 * (the old one deleted, so the policy keeps one version), the grant still revokes cleanly, and a
 * version someone else adds after an extension is still caught by the read-back, by
 * `findTampering` and by drift reconciliation. Through the ledger and the activities too: the
 * `extendGrant` activity moves the policy first and keeps the version it now has, which drift
 * detection then accepts.
 *
 * moto does not evaluate conditions, so no test can show AWS refusing a call after the expiry:
 * the tests read the stored document back (see `aws-iam-target.test.ts`).
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CreatePolicyVersionCommand,
  CreateRoleCommand,
  DeletePolicyVersionCommand,
  GetPolicyCommand,
  GetPolicyVersionCommand,
  IAMClient,
  ListAttachedRolePoliciesCommand,
  ListPolicyVersionsCommand,
} from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { AwsIamAttachTarget } from '../../integrations/aws/iam-attach-target.js';
import { TargetRouter } from '../../integrations/target-router.js';
import { iamTime } from '../../integrations/aws/policy-document.js';
import { TargetError, TargetNotFoundError, TargetTamperedError } from '../../core/errors/target-errors.js';
import type { AwsIamAttachTargetRef, GrantHandle } from '../../core/model/targets.js';
import { GrantLedger } from '../../domain/grant-ledger.js';
import { createActivities } from '../../activities/index.js';
import { EXTENDED_WINDOWS_NAMESPACE, grantVersionKey } from '../../activities/extend.js';
import { openStores, type Stores } from '../../store/stores.js';
import { startMoto, type MotoServer } from '../../dev/moto-server.js';
import { testLogger, testRequestDeps } from '../support/stack.js';

const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'AKIAEXAMPLE000000002', secretAccessKey: 'fake-Secret-Extend' };
const TRUST = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' },
  ],
});
/** An Allow with a limit of its own (before the extended end), a plain Allow, and a Deny. */
const DOCUMENT = JSON.stringify({
  Version: '2012-10-17',
  Statement: [
    {
      Sid: 'Read',
      Effect: 'Allow',
      Action: 's3:GetObject',
      Resource: 'arn:aws:s3:::releases/*',
      Condition: { DateLessThan: { 'aws:CurrentTime': '2030-01-01T01:30:00Z' } },
    },
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
/** What an attacker with iam:CreatePolicyVersion would write. */
const ADMIN = JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }],
});
/** The target's clock: grants count their expiry from here. */
const NOW = Date.parse('2030-01-01T00:00:00Z');
const at = (seconds: number): Date => new Date(NOW + seconds * 1000);

type Statement = { Sid?: string; Effect: string; Condition?: Record<string, Record<string, unknown>> };

let moto: MotoServer;
let admin: IAMClient;
let target: AwsIamAttachTarget;
let roleArn: string;

const newElevationId = (): string => `el_${randomBytes(12).toString('hex')}`;
const policyArnOf = (id: string): string =>
  `arn:aws:iam::${roleArn.split(':')[4]}:policy/elevate/elevate-${id}`;

/** The policy's versions (sorted) and its default version's statements, as IAM keeps them. */
async function readPolicy(
  arn: string,
): Promise<{ versions: string[]; defaultVersion: string; statements: Statement[] }> {
  const { Policy } = await admin.send(new GetPolicyCommand({ PolicyArn: arn }));
  const { Versions } = await admin.send(new ListPolicyVersionsCommand({ PolicyArn: arn }));
  const { PolicyVersion } = await admin.send(
    new GetPolicyVersionCommand({ PolicyArn: arn, VersionId: Policy?.DefaultVersionId }),
  );
  const raw = PolicyVersion?.Document ?? '';
  const doc = JSON.parse(raw.trimStart().startsWith('{') ? raw : decodeURIComponent(raw)) as {
    Statement: Statement[];
  };
  return {
    versions: (Versions ?? []).map((v) => v.VersionId ?? '').sort(),
    defaultVersion: Policy?.DefaultVersionId ?? '',
    statements: doc.Statement,
  };
}

const limits = (statements: Statement[]): unknown[] =>
  statements.map((s) => s.Condition?.['DateLessThan']?.['aws:CurrentTime']);

async function policyExists(arn: string): Promise<boolean> {
  try {
    await admin.send(new GetPolicyCommand({ PolicyArn: arn }));
    return true;
  } catch (err) {
    if ((err as Error).name === 'NoSuchEntityException') return false;
    throw err;
  }
}

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

beforeAll(async () => {
  moto = await startMoto();
  const config = { region: REGION, endpoint: moto.url, credentials: CREDENTIALS };
  admin = new IAMClient(config);
  const role = await admin.send(
    new CreateRoleCommand({ RoleName: 'extend-bot', Path: '/bots/', AssumeRolePolicyDocument: TRUST }),
  );
  roleArn = role.Role?.Arn ?? '';
  target = new AwsIamAttachTarget({ ...config, clock: () => new Date(NOW) });
});

afterAll(async () => {
  await target?.close();
  admin?.destroy();
  await moto?.stop();
});

describe('extending an attach-mode grant against moto', () => {
  it("when extended, then the policy's one version is a new one whose Elevate expiry moved to the new end + 60 s, the role's own earlier limit and the rest unchanged; a retry changes nothing, and the grant revokes cleanly", async () => {
    const id = newElevationId();
    const arn = policyArnOf(id);
    const { handle } = await target.grant(ATTACH, roleArn, { elevationId: id, durationSeconds: 1800 });
    const granted = await readPolicy(arn);
    expect(granted.versions).toEqual(['v1']);
    expect(limits(granted.statements)).toEqual([iamTime(at(1860)), iamTime(at(1860)), undefined]);

    expect(await target.extend(ATTACH, handle, at(7200))).toEqual({
      changed: true,
      confirmed: true,
      version: 'v2',
    });
    const extended = await readPolicy(arn);
    expect(extended.versions).toEqual(['v2']);
    expect(extended.defaultVersion).toBe('v2');
    // 'Read' keeps the role's own limit (01:30), which is before the new end; 'FromOffice' moves.
    expect(limits(extended.statements)).toEqual(['2030-01-01T01:30:00Z', iamTime(at(7260)), undefined]);
    expect(extended.statements[1]?.Condition?.['IpAddress']).toEqual({ 'aws:SourceIp': '192.0.2.0/24' });
    expect(extended.statements.map((s) => [s.Sid, s.Effect])).toEqual([
      ['Read', 'Allow'],
      ['FromOffice', 'Allow'],
      ['NoDelete', 'Deny'],
    ]);

    // The read-back accepts the version the extension reported, and only it.
    expect(await target.check(handle, 'v2')).toBe(true);
    expect(await failure(target.check(handle))).toBeInstanceOf(TargetTamperedError);
    expect(await target.policies.findTampering(arn, 'v2')).toBeUndefined();

    // Retried with the same end: nothing to write. Extended again: the next version.
    expect(await target.extend(ATTACH, handle, at(7200))).toEqual({
      changed: false,
      confirmed: true,
      version: 'v2',
    });
    expect((await readPolicy(arn)).versions).toEqual(['v2']);
    expect(await target.extend(ATTACH, handle, at(9000))).toEqual({
      changed: true,
      confirmed: true,
      version: 'v3',
    });
    const again = await readPolicy(arn);
    expect(again.versions).toEqual(['v3']);
    expect(limits(again.statements)).toEqual(['2030-01-01T01:30:00Z', iamTime(at(9060)), undefined]);

    expect(await target.revoke(handle)).toEqual({ changed: true });
    expect(await target.check(handle, 'v3')).toBe(false);
    expect(await policyExists(arn)).toBe(false);
  });

  it('when a policy version is added by someone else after an extension, then check and findTampering name it, and a further extension is refused', async () => {
    const id = newElevationId();
    const arn = policyArnOf(id);
    const { handle } = await target.grant(ATTACH, roleArn, { elevationId: id, durationSeconds: 600 });
    expect((await target.extend(ATTACH, handle, at(3600))).version).toBe('v2');

    // Added beside Elevate's version, not (yet) the default.
    await admin.send(new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: ADMIN }));
    const beside = await failure(target.check(handle, 'v2'));
    expect(beside).toBeInstanceOf(TargetTamperedError);
    expect(beside.message).toContain("versions v2, v3, where Elevate's policy has only v2");

    // Made the default and Elevate's deleted: one version again, but not the one Elevate wrote.
    await admin.send(
      new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: ADMIN, SetAsDefault: true }),
    );
    await admin.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: 'v2' }));
    await admin.send(new DeletePolicyVersionCommand({ PolicyArn: arn, VersionId: 'v3' }));
    expect((await readPolicy(arn)).versions).toEqual(['v4']);
    expect(await target.policies.findTampering(arn, 'v2')).toMatch(/default version is v4, not v2/);
    const refused = await failure(target.extend(ATTACH, handle, at(5400)));
    expect(refused).toBeInstanceOf(TargetTamperedError);
    expect(refused.message).toContain("is not the role's document with Elevate's expiry");
    // Nothing was written on the refusal.
    expect((await readPolicy(arn)).versions).toEqual(['v4']);

    expect(await target.revoke(handle)).toEqual({ changed: true });
    expect(await policyExists(arn)).toBe(false);
  });

  it('when the policy was taken away, then extending it is refused as not found and nothing is created', async () => {
    const id = newElevationId();
    const { handle } = await target.grant(ATTACH, roleArn, { elevationId: id, durationSeconds: 600 });
    await target.revoke(handle);
    expect(await failure(target.extend(ATTACH, handle, at(3600)))).toBeInstanceOf(TargetNotFoundError);
    expect(await policyExists(policyArnOf(id))).toBe(false);
  });
});

describe('extending through the ledger and the activities', () => {
  let dir: string;
  let stores: Stores;
  let botArn: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'elevate-aws-extend-'));
    stores = await openStores({ sqlitePath: join(dir, 'extend.db') });
    const role = await admin.send(
      new CreateRoleCommand({
        RoleName: 'extend-drift-bot',
        Path: '/bots/',
        AssumeRolePolicyDocument: TRUST,
      }),
    );
    botArn = role.Role?.Arn ?? '';
  });
  afterAll(async () => {
    await stores?.database.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  const botPolicies = async (): Promise<string[]> =>
    (
      (await admin.send(new ListAttachedRolePoliciesCommand({ RoleName: 'extend-drift-bot' })))
        .AttachedPolicies ?? []
    ).map((a) => a.PolicyArn ?? '');

  it("when extendGrant runs, then the policy's expiry moves before the new end is kept, drift accepts the new version, and a version added later is taken away as policy_tampered", async () => {
    const windows = stores.singleUse.namespace(EXTENDED_WINDOWS_NAMESPACE, z.string());
    const activities = createActivities({
      store: stores.auditLog,
      ...testRequestDeps(),
      ledger: new GrantLedger(stores.leases, new TargetRouter({ awsIamAttach: target })),
      extendedWindows: windows,
      notifier: { announce: () => Promise.resolve([]), publish: () => Promise.resolve() },
      logger: testLogger(),
    });
    const id = newElevationId();
    const arn = policyArnOf(id);
    const req = {
      elevationId: id,
      target: ATTACH,
      principal: botArn,
      durationSeconds: 600,
      extendable: true,
    };
    const receipt = await activities.acquireGrant(req);
    const handle = receipt.handle as GrantHandle;
    const expiresAt = at(3600).toISOString();
    await activities.extendGrant({ ...req, handle, previousExpiresAt: at(600).toISOString(), expiresAt });

    const moved = await readPolicy(arn);
    expect(moved.versions).toEqual(['v2']);
    expect(limits(moved.statements)[1]).toBe(iamTime(at(3660)));
    expect(await windows.peek(id)).toBe(expiresAt);
    expect(await windows.peek(grantVersionKey(id))).toBe('v2');

    // The extended policy is the live elevation's, untouched: explained, not tampered.
    const unit = { principal: botArn, roles: ['aws-read'], action: 'alert' as const, standing: [] };
    expect((await activities.reconcileAwsPrincipal(unit)).drift).toEqual([]);
    expect(await botPolicies()).toEqual([arn]);

    await admin.send(
      new CreatePolicyVersionCommand({ PolicyArn: arn, PolicyDocument: ADMIN, SetAsDefault: true }),
    );
    const before = (await stores.auditLog.readEvents(0, 100_000)).length;
    const result = await activities.reconcileAwsPrincipal(unit);
    expect(result.drift).toEqual([{ principal: botArn, action: 'reverted', detail: arn }]);
    expect(await botPolicies()).toEqual([]);
    const events = (await stores.auditLog.readEvents(0, 100_000)).slice(before);
    expect(events[0]?.data).toMatchObject({
      policy: arn,
      elevation: id,
      reason: 'policy_tampered',
      problem: expect.stringContaining('default version is v3, not v2') as unknown,
    });

    // The policy is gone: a further extension is refused and moves nothing; the release is clean.
    await expect(
      activities.extendGrant({
        ...req,
        handle,
        previousExpiresAt: expiresAt,
        expiresAt: at(5400).toISOString(),
      }),
    ).rejects.toBeInstanceOf(TargetNotFoundError);
    expect(await windows.peek(id)).toBe(expiresAt);
    const released = await activities.releaseGrant({ ...req, handle });
    expect(released.stillHeldBy).toEqual([]);
    expect(await policyExists(arn)).toBe(false);
  });
});
