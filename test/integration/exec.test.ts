/**
 * `elevate exec`, run as a real process (`node --import tsx bin/elevate.ts exec …`) against a
 * running Elevate: the command runs with the elevation in its environment (AWS credentials of
 * STS mode from moto as the standard `AWS_*` variables), its status is exec's, the role is given
 * back when it ends or when exec is stopped, a workload identity token works as well as a bot
 * key, and each way the command does not run has its own exit code.
 *
 * The cases are independent elevations and run concurrently: the expiry case waits out a 10 s
 * approval window while the others run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXEC_EXIT } from '../../bin/cli/exec-command.js';
import type { ElevationView } from '../../core/model/elevation.js';
import { startMoto, type MotoServer } from '../../dev/moto-server.js';
import { CredentialVault } from '../../domain/credential-vault.js';
import { AwsStsCredentialsTarget } from '../../integrations/aws/sts-credentials-target.js';
import { WorkloadIdentityVerifier } from '../../integrations/federation/workload-identity.js';
import { createApp } from '../../server/app.js';
import { startJwksIssuer, type JwksIssuer } from '../support/jwks-issuer.js';
import { startStack, type Stack } from '../support/stack.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const AWS = { region: 'us-east-1', credentials: { accessKeyId: 'AKIAEXAMPLEELEVATE', secretAccessKey: 'x' } };
const DEPLOYER_ARN = 'arn:aws:iam::123456789012:role/exec-deployer';
const AUDIENCE = 'elevate-exec-test';
const SUBJECT = 'repo:acme/app:ref:refs/heads/main';

let stack: Stack;
let server: Server;
let moto: MotoServer;
let issuer: JwksIssuer;
let base: string;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(tmpdir(), 'elevate-exec-'));
  [moto, issuer] = await Promise.all([startMoto(), startJwksIssuer()]);
  const iam = new IAMClient({ ...AWS, endpoint: moto.url });
  await iam.send(
    new CreateRoleCommand({
      RoleName: 'exec-deployer',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' },
        ],
      }),
    }),
  );
  iam.destroy();
  const approvers = { mode: 'approvers' as const, approvers: ['ann@example.org'], windowSeconds: 300 };
  stack = await startStack({
    bots: [
      { id: 'exec-bot', roles: ['exec-ldap', 'exec-aws', 'exec-deny', 'exec-wait', 'exec-expiring'] },
      {
        id: 'ci-bot',
        roles: ['exec-ldap'],
        federation: { issuer: issuer.issuer, audience: AUDIENCE, claims: { sub: SUBJECT } },
      },
    ],
    roles: [
      { id: 'exec-ldap' },
      { id: 'exec-aws', target: { type: 'aws-iam', mode: 'credentials', roleArn: DEPLOYER_ARN } },
      { id: 'exec-deny', approval: approvers },
      { id: 'exec-wait', approval: approvers },
      // The shortest approval window the policy allows.
      { id: 'exec-expiring', approval: { ...approvers, windowSeconds: 10 } },
    ],
    federation: { issuers: [{ issuer: issuer.issuer, allowInsecureHttp: true }] },
    credentials: (stores) => {
      const vault = new CredentialVault(stores.singleUse, randomBytes(32));
      return { vault, target: new AwsStsCredentialsTarget({ ...AWS, endpoint: moto.url, handoff: vault }) };
    },
  });
  const policy = stack.policy;
  const app = createApp({
    services: stack.servicesWith({
      federation: new WorkloadIdentityVerifier(
        policy.bots.flatMap((b) => (b.federation ? [{ botId: b.id, ...b.federation }] : [])),
        policy.federation?.issuers ?? [],
      ),
    }),
    healthChecks: {},
    logger: stack.logger,
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await stack?.close();
  await issuer?.stop();
  await moto?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `elevate exec <args>` as a child process, with exec-bot's key unless `env` says otherwise. */
function exec(
  args: string[],
  env: Record<string, string | undefined> = {},
  started?: (child: ChildProcess) => void,
): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ELEVATE_URL: base,
    ELEVATE_TOKEN: stack.keys['exec-bot'],
    ...env,
  };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'bin/elevate.ts'), 'exec', ...args],
      {
        cwd: ROOT,
        env: childEnv,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    started?.(child);
  });
}

/** A command that prints the named variables of its environment as JSON, then exits `status`. */
function printEnv(names: string[], status = 0): string[] {
  const script = `process.stdout.write(JSON.stringify(Object.fromEntries(${JSON.stringify(names)}.map((n) => [n, process.env[n] ?? null]))));process.exit(${status})`;
  return ['--', process.execPath, '-e', script];
}

/** The newest elevation of `roleId`, once it exists. */
async function latestOf(roleId: string, status: ElevationView['status'][]): Promise<ElevationView> {
  for (let i = 0; i < 200; i += 1) {
    const { items } = await stack.stores.elevations.listElevations({ roleId, status, limit: 1 });
    if (items[0]) return items[0];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no ${status.join('/')} elevation of ${roleId}`);
}

describe.concurrent('elevate exec', () => {
  it("when the role is in AWS credentials mode, then the command gets the credentials as AWS_* variables, exec exits with the command's status, and the role is given back", async () => {
    const names = [
      'ELEVATE_ELEVATION_ID',
      'ELEVATE_ROLE',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'AWS_SESSION_TOKEN',
      'AWS_CREDENTIAL_EXPIRATION',
      'ELEVATE_TOKEN',
    ];
    const run = await exec([
      '--role',
      'exec-aws',
      '--for',
      '10m',
      '--ticket',
      'CHG-7',
      ...printEnv(names, 3),
    ]);
    expect(run.code, run.stderr).toBe(3);
    const env = JSON.parse(run.stdout) as Record<string, string | null>;
    expect(env.ELEVATE_ELEVATION_ID).toMatch(/^el_[0-9a-f]{24}$/);
    expect(env.ELEVATE_ROLE).toBe('exec-aws');
    expect(env.AWS_ACCESS_KEY_ID).toMatch(/^ASIA/);
    expect(env.AWS_SECRET_ACCESS_KEY).toBeTruthy();
    expect(env.AWS_SESSION_TOKEN).toBeTruthy();
    expect(Date.parse(env.AWS_CREDENTIAL_EXPIRATION!)).toBeGreaterThan(Date.now());
    // The command holds the elevation, not the means to ask for more.
    expect(env.ELEVATE_TOKEN).toBeNull();

    const id = env.ELEVATE_ELEVATION_ID!;
    const ended = await stack.waitFor(id, (v) => v.status === 'revoked');
    expect(ended).toMatchObject({ endReason: 'given_back', ticket: 'CHG-7' });
    const types = (await stack.stores.auditLog.listEvents(id)).map((e) => e.type);
    expect(types).toContain('credentials.delivered');
  });

  it('when the bot authenticates with a workload identity token file, then the elevation is its and is given back', async () => {
    const tokenFile = path.join(dir, 'token');
    writeFileSync(tokenFile, await issuer.sign({ sub: SUBJECT, aud: AUDIENCE, jti: 'exec-tok-1' }));
    const printed = printEnv(['ELEVATE_ELEVATION_ID', 'ELEVATE_TOKEN_FILE']);
    const run = await exec(['--role', 'exec-ldap', '--for', '90s', ...printed], {
      ELEVATE_TOKEN: undefined,
      ELEVATE_TOKEN_FILE: tokenFile,
    });
    expect(run.code, run.stderr).toBe(0);
    const env = JSON.parse(run.stdout) as { ELEVATE_ELEVATION_ID: string; ELEVATE_TOKEN_FILE: string | null };
    expect(env.ELEVATE_TOKEN_FILE).toBeNull();
    const id = env.ELEVATE_ELEVATION_ID;
    const ended = await stack.waitFor(id, (v) => v.status === 'revoked');
    expect(ended).toMatchObject({ botId: 'ci-bot', endReason: 'given_back', durationSeconds: 90 });
    const requested = (await stack.stores.auditLog.listEvents(id)).find(
      (e) => e.type === 'elevation.requested',
    );
    expect(requested?.data.identity).toMatchObject({ kind: 'workload_identity', tokenId: 'exec-tok-1' });
  });

  it('when exec receives SIGTERM while the command runs, then the command gets it, the role is given back, and exec exits 143', async () => {
    // The command says it is running, then waits; on SIGTERM it says so and exits.
    const script =
      "process.on('SIGTERM',()=>{process.stdout.write(' got-SIGTERM');process.exit(0)});process.stdout.write(process.env.ELEVATE_ELEVATION_ID);setInterval(()=>{},1000)";
    let child: ChildProcess | undefined;
    const running = exec(
      ['--role', 'exec-ldap', '--for', '5m', '--', process.execPath, '-e', script],
      {},
      (c) => {
        child = c;
      },
    );
    let printed = '';
    await new Promise<void>((resolve) =>
      child!.stdout!.on('data', (d: string) => {
        printed += d;
        if (/el_[0-9a-f]{24}/.test(printed)) resolve();
      }),
    );
    const id = /el_[0-9a-f]{24}/.exec(printed)![0];
    expect(await stack.isMember('exec-bot', 'exec-ldap')).toBe(true);
    child!.kill('SIGTERM');
    const run = await running;
    expect(run.code, run.stderr).toBe(143);
    expect(run.stdout).toContain('got-SIGTERM');
    expect((await stack.waitFor(id, (v) => v.status === 'revoked')).endReason).toBe('given_back');
  });

  it('when an approver denies the request, then the command does not run and exec exits 6 (denied)', async () => {
    const running = exec([
      '--role',
      'exec-deny',
      '--for',
      '5m',
      '--',
      process.execPath,
      '-e',
      'process.exit(0)',
    ]);
    const pending = await latestOf('exec-deny', ['pending_approval']);
    await stack.services.approvals.deny(pending.id, {
      by: { kind: 'admin', id: 'test-admin' },
      reason: 'no',
    });
    const run = await running;
    expect(run.code, run.stderr).toBe(EXEC_EXIT.denied);
    expect(run.stderr).toContain('denied');
  });

  it('when nobody approves within the approval window, then exec exits 7 (expired)', async () => {
    const run = await exec(['--role', 'exec-expiring', '--for', '5m', '--', process.execPath, '-e', '']);
    expect(run.code, run.stderr).toBe(EXEC_EXIT.expired);
    expect(run.stderr).toContain('expired');
  });

  it('when exec stops waiting (--wait-timeout), then it exits 8 (timed out) and the request is withdrawn', async () => {
    const run = await exec([
      '--role',
      'exec-wait',
      '--for',
      '5m',
      '--wait-timeout',
      '2s',
      '--',
      process.execPath,
      '-e',
      '',
    ]);
    expect(run.code, run.stderr).toBe(EXEC_EXIT.timedOut);
    const withdrawn = await latestOf('exec-wait', ['revoked']);
    expect(withdrawn.endReason).toBe('withdrawn');
  });

  it('when Elevate refuses the request, then exec exits 4 naming the code and field', async () => {
    const run = await exec(['--role', 'no-such-role', '--for', '5m', '--', process.execPath, '-e', '']);
    expect(run.code, run.stderr).toBe(EXEC_EXIT.refused);
    expect(run.stderr).toMatch(/unknown_role.*field role/);
  });

  it('when Elevate cannot be reached, then exec exits 5', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createApp({ services: stack.services, healthChecks: {}, logger: stack.logger }).listen(
        0,
        '127.0.0.1',
        () => {
          const p = (s.address() as AddressInfo).port;
          s.close(() => resolve(p));
        },
      );
    });
    const run = await exec(['--role', 'exec-ldap', '--for', '5m', '--', process.execPath, '-e', ''], {
      ELEVATE_URL: `http://127.0.0.1:${port}`,
    });
    expect(run.code, run.stderr).toBe(EXEC_EXIT.unreachable);
    expect(run.stderr).toContain(`127.0.0.1:${port}`);
  });

  it('when the command line or the configuration is wrong, then exec exits 2 or 3 before asking Elevate', async () => {
    const [noCommand, noToken] = await Promise.all([
      exec(['--role', 'exec-ldap', '--for', '5m']),
      exec(['--role', 'exec-ldap', '--for', '5m', '--', 'true'], { ELEVATE_TOKEN: undefined }),
    ]);
    expect(noCommand.code, noCommand.stderr).toBe(EXEC_EXIT.usage);
    expect(noToken.code, noToken.stderr).toBe(EXEC_EXIT.config);
    expect(noToken.stderr).toContain('ELEVATE_TOKEN');
  });
});
