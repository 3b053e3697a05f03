/**
 * The GitHub Action (`clients/github-action`) against a running Elevate, as a runner runs it:
 * `main.js` and then `post.js` as child processes, with the step's inputs, the runner's file
 * commands (`GITHUB_ENV`, `GITHUB_OUTPUT`, `GITHUB_STATE`) and the job's OIDC token endpoint
 * (`ACTIONS_ID_TOKEN_REQUEST_URL`) in their environment. The endpoint is a stand-in that asks a
 * loopback issuer, which Elevate's federation trusts, for a token with GitHub's claims; the role
 * of the first case hands out AWS credentials (moto), which the action must export and mask.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMoto, type MotoServer } from '../../dev/moto-server.js';
import { CredentialVault } from '../../domain/credential-vault.js';
import { AwsStsCredentialsTarget } from '../../integrations/aws/sts-credentials-target.js';
import { WorkloadIdentityVerifier } from '../../integrations/federation/workload-identity.js';
import { createApp } from '../../server/app.js';
import { startJwksIssuer, type JwksIssuer } from '../support/jwks-issuer.js';
import { startStack, type Stack } from '../support/stack.js';

const ACTION = path.resolve(import.meta.dirname, '../../clients/github-action');
const AUDIENCE = 'elevate-gh';
const SUBJECT = 'repo:acme/app:ref:refs/heads/main';
const AWS = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIAEXAMPLEELEVATE', secretAccessKey: 'test-secret' },
};
/** What the runner hands the job to fetch its OIDC token with. */
const REQUEST_TOKEN = `runtime-${randomBytes(8).toString('hex')}`;

let issuer: JwksIssuer;
let moto: MotoServer;
let s: Stack;
let api: Server;
let base: string;
let tokenEndpoint: Server;
let tokenUrl: string;
/** The `audience` of each token the stand-in minted. */
const minted: string[] = [];

/** GitHub's token endpoint: `?audience=` and the runtime bearer in, `{value}` out. */
function startTokenEndpoint(): Promise<Server> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.headers.authorization?.toLowerCase() !== `bearer ${REQUEST_TOKEN}`) {
      res.writeHead(401).end();
      return;
    }
    const audience = url.searchParams.get('audience') ?? 'https://github.com/acme';
    minted.push(audience);
    issuer
      .sign({
        aud: audience,
        sub: SUBJECT,
        jti: randomBytes(8).toString('hex'),
        repository: 'acme/app',
        repository_owner: 'acme',
        ref: 'refs/heads/main',
        sha: 'a'.repeat(40),
        workflow: 'deploy',
        run_id: '4711',
        run_attempt: '1',
        actor: 'someone',
        event_name: 'push',
        runner_environment: 'github-hosted',
      })
      .then((value) =>
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ count: 1, value })),
      )
      .catch(() => res.writeHead(500).end());
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

beforeAll(async () => {
  issuer = await startJwksIssuer();
  moto = await startMoto();
  const iam = new IAMClient({ ...AWS, endpoint: moto.url });
  await iam.send(
    new CreateRoleCommand({
      RoleName: 'gh-deployer',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::123456789012:root' }, Action: 'sts:AssumeRole' },
        ],
      }),
    }),
  );
  iam.destroy();
  s = await startStack({
    bots: [
      {
        id: 'gh-bot',
        roles: ['gh-deploy', 'gh-read', 'gh-approved'],
        federation: {
          issuer: issuer.issuer,
          audience: AUDIENCE,
          claims: { sub: SUBJECT, repository: 'acme/app' },
        },
      },
    ],
    roles: [
      {
        id: 'gh-deploy',
        maxDurationSeconds: 3600,
        target: {
          type: 'aws-iam',
          mode: 'credentials',
          roleArn: 'arn:aws:iam::123456789012:role/gh-deployer',
          sessionPolicy: {
            Version: '2012-10-17',
            Statement: [{ Effect: 'Allow', Action: 's3:PutObject', Resource: 'arn:aws:s3:::releases/*' }],
          },
        },
      },
      { id: 'gh-read' },
      {
        id: 'gh-approved',
        approval: { mode: 'approvers', approvers: ['ann@example.org'], windowSeconds: 300 },
      },
    ],
    federation: { issuers: [{ issuer: issuer.issuer, allowInsecureHttp: true }] },
    credentials: (stores) => {
      const vault = new CredentialVault(stores.singleUse, randomBytes(32));
      return { vault, target: new AwsStsCredentialsTarget({ ...AWS, endpoint: moto.url, handoff: vault }) };
    },
  });
  const app = createApp({
    services: s.servicesWith({
      federation: new WorkloadIdentityVerifier(
        s.policy.bots.flatMap((b) => (b.federation ? [{ botId: b.id, ...b.federation }] : [])),
        s.policy.federation?.issuers ?? [],
      ),
    }),
    healthChecks: {},
    logger: s.logger,
  });
  api = await new Promise<Server>((resolve) => {
    const h = app.listen(0, '127.0.0.1', () => resolve(h));
  });
  base = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  tokenEndpoint = await startTokenEndpoint();
  tokenUrl = `http://127.0.0.1:${(tokenEndpoint.address() as AddressInfo).port}/token?api-version=2.0`;
}, 180_000);

afterAll(async () => {
  for (const server of [api, tokenEndpoint]) {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
  await s?.close();
  await issuer?.stop();
  await moto?.stop();
});

/** One job: its runner files, and how a step of it runs. */
interface Job {
  files: { env: string; output: string; state: string };
  /** Run `main.js` or `post.js` with the step's inputs (and, for the post step, the saved state). */
  run(
    script: 'main.js' | 'post.js',
    inputs: Record<string, string>,
  ): Promise<{ code: number | null; stdout: string }>;
}

function job(extraEnv: NodeJS.ProcessEnv = {}): Job {
  const dir = mkdtempSync(path.join(tmpdir(), 'elevate-gh-action-'));
  const files = {
    env: path.join(dir, 'env'),
    output: path.join(dir, 'output'),
    state: path.join(dir, 'state'),
  };
  for (const f of Object.values(files)) writeFileSync(f, '');
  return {
    files,
    run(script, inputs) {
      const env: NodeJS.ProcessEnv = {
        PATH: process.env.PATH,
        GITHUB_ACTIONS: 'true',
        GITHUB_REPOSITORY: 'acme/app',
        GITHUB_WORKFLOW: 'deploy',
        GITHUB_RUN_ID: '4711',
        GITHUB_RUN_ATTEMPT: '1',
        GITHUB_JOB: 'release',
        GITHUB_ACTION: `step-${randomBytes(4).toString('hex')}`,
        GITHUB_ENV: files.env,
        GITHUB_OUTPUT: files.output,
        GITHUB_STATE: files.state,
        ACTIONS_ID_TOKEN_REQUEST_URL: tokenUrl,
        ACTIONS_ID_TOKEN_REQUEST_TOKEN: REQUEST_TOKEN,
        ...extraEnv,
      };
      // As the runner does: `INPUT_<NAME>` (hyphens kept), and each saved state as `STATE_<name>`.
      for (const [name, value] of Object.entries(inputs)) env[`INPUT_${name.toUpperCase()}`] = value;
      if (script === 'post.js') {
        for (const [name, value] of Object.entries(fileCommands(files.state))) env[`STATE_${name}`] = value;
      }
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [path.join(ACTION, script)], {
          env,
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let stdout = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout }));
      });
    },
  };
}

/** The `name<<delimiter` entries of a runner file command, as the runner reads them. */
function fileCommands(file: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = readFileSync(file, 'utf8').split('\n');
  for (let i = 0; i < lines.length; i++) {
    const head = /^([^<=]+)<<(.+)$/.exec(lines[i]!);
    if (!head) continue;
    const [, name, delimiter] = head as unknown as [string, string, string];
    const value: string[] = [];
    for (i++; i < lines.length && lines[i] !== delimiter; i++) value.push(lines[i]!);
    out[name] = value.join('\n');
  }
  return out;
}

const inputs = (role: string, more: Record<string, string> = {}) => ({
  url: base,
  role,
  audience: AUDIENCE,
  duration: '15m',
  ...more,
});

describe('the action in a job', () => {
  it('when the role hands out AWS credentials, then main exports them masked and post gives the elevation back', async () => {
    const j = job();
    const before = minted.length;
    const main = await j.run('main.js', inputs('gh-deploy', { ticket: 'CHG-7' }));
    expect(main.code, main.stdout).toBe(0);
    // The job's OIDC token was asked for Elevate's audience.
    expect(minted.slice(before)).toContain(AUDIENCE);

    const env = fileCommands(j.files.env);
    const id = env.ELEVATE_ELEVATION_ID!;
    expect(id).toMatch(/^el_/);
    expect(fileCommands(j.files.output)['elevation-id']).toBe(id);
    expect(fileCommands(j.files.state).elevation_id).toBe(id);
    expect(env.AWS_ACCESS_KEY_ID).toBeTruthy();
    expect(env.AWS_SECRET_ACCESS_KEY).toBeTruthy();
    expect(env.AWS_SESSION_TOKEN).toBeTruthy();
    // Every secret is masked before anything could print it, and never printed otherwise.
    for (const secret of [env.AWS_SECRET_ACCESS_KEY!, env.AWS_SESSION_TOKEN!]) {
      const lines = main.stdout.split('\n').filter((l) => l.includes(secret));
      expect(lines.length, 'masked').toBeGreaterThan(0);
      expect(lines.every((l) => l.startsWith('::add-mask::'))).toBe(true);
    }
    expect(main.stdout).toMatch(/^::add-mask::ey/m); // the OIDC token itself

    const active = await s.waitFor(id, (v) => v.status === 'active');
    expect(active.botId).toBe('gh-bot');
    expect(active.ticket).toBe('CHG-7');
    // Asked as the job's workload identity, not with a key.
    const requested = (await s.stores.auditLog.listEvents(id)).find((e) => e.type === 'elevation.requested');
    const identity = requested?.data.identity as {
      kind?: string;
      subject?: string;
      claims?: Record<string, unknown>;
    };
    expect(identity?.kind).toBe('workload_identity');
    expect(identity?.subject).toBe(SUBJECT);

    const post = await j.run('post.js', inputs('gh-deploy'));
    expect(post.code, post.stdout).toBe(0);
    expect(post.stdout).toContain(`Gave back elevation ${id}`);
    const ended = await s.waitFor(id, (v) => v.status === 'revoked');
    expect(ended.endReason).toBe('given_back');
  }, 60_000);

  it('when approval does not come within wait-timeout, then main fails and post withdraws the request', async () => {
    const j = job();
    const main = await j.run('main.js', inputs('gh-approved', { 'wait-timeout': '2s' }));
    expect(main.code).toBe(1);
    expect(main.stdout).toMatch(/^::error::elevation el_\w+ is still pending_approval after 2 s/m);
    const id = fileCommands(j.files.state).elevation_id!;
    expect(id).toMatch(/^el_/);
    expect(fileCommands(j.files.env)).toEqual({});

    const post = await j.run('post.js', inputs('gh-approved'));
    expect(post.code, post.stdout).toBe(0);
    const ended = await s.waitFor(id, (v) => v.status === 'revoked');
    expect(ended.endReason).toBe('withdrawn');
  }, 60_000);

  it('when the token is for another audience, then main fails with Elevate’s refusal and post has nothing to give back', async () => {
    const j = job();
    const main = await j.run('main.js', inputs('gh-read', { audience: 'someone-else' }));
    expect(main.code).toBe(1);
    expect(main.stdout).toMatch(/^::error::.*401 unauthenticated/m);
    expect(fileCommands(j.files.state)).toEqual({});

    const post = await j.run('post.js', inputs('gh-read'));
    expect(post.code, post.stdout).toBe(0);
    expect(post.stdout).toContain('nothing to give back');
  }, 60_000);

  it('when the job may not ask for an OIDC token, then main fails saying which permission it needs', async () => {
    const j = job({ ACTIONS_ID_TOKEN_REQUEST_URL: '', ACTIONS_ID_TOKEN_REQUEST_TOKEN: '' });
    const main = await j.run('main.js', inputs('gh-read'));
    expect(main.code).toBe(1);
    expect(main.stdout).toMatch(/^::error::.*id-token: write/m);
  });

  it('when the duration input is not a duration, then main fails before asking Elevate', async () => {
    const j = job();
    const before = minted.length;
    const main = await j.run('main.js', inputs('gh-read', { duration: 'soon' }));
    expect(main.code).toBe(1);
    expect(main.stdout).toMatch(/^::error::duration must be a positive number of seconds/m);
    expect(minted.length).toBe(before);
  });
});
