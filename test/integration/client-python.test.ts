/**
 * The Python client (`clients/python`) against a running Elevate: this file starts the stack and
 * serves the API on a loopback port, then runs the package's pytest suite with the URL, a bot key,
 * a workload identity token (from a loopback issuer the bot's federation rule trusts) and the role
 * names in its environment. A failing pytest fails this test with pytest's output.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { WorkloadIdentityVerifier } from '../../integrations/federation/workload-identity.js';
import { createApp } from '../../server/app.js';
import { startJwksIssuer, type JwksIssuer } from '../support/jwks-issuer.js';
import { startStack, type Stack } from '../support/stack.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const AUDIENCE = 'elevate-py';
const SUBJECT = 'repo:acme/py:ref:refs/heads/main';

let stack: Stack;
let server: Server;
let base: string;
let issuer: JwksIssuer;

beforeAll(async () => {
  issuer = await startJwksIssuer();
  stack = await startStack({
    bots: [
      {
        id: 'py-bot',
        roles: ['py-auto', 'py-approved'],
        federation: { issuer: issuer.issuer, audience: AUDIENCE, claims: { sub: SUBJECT } },
      },
    ],
    roles: [
      { id: 'py-auto', maxDurationSeconds: 600 },
      {
        id: 'py-approved',
        approval: { mode: 'approvers', approvers: ['ann@example.org'], windowSeconds: 300 },
      },
    ],
    federation: { issuers: [{ issuer: issuer.issuer, allowInsecureHttp: true }] },
  });
  const app = createApp({
    services: stack.servicesWith({
      federation: new WorkloadIdentityVerifier(
        stack.policy.bots.flatMap((b) => (b.federation ? [{ botId: b.id, ...b.federation }] : [])),
        stack.policy.federation?.issuers ?? [],
      ),
    }),
    healthChecks: {},
    logger: stack.logger,
  });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await stack?.close();
  await issuer?.stop();
});

/** Run a command without blocking this process (the API it calls is served from here). */
function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        e.code === 'ENOENT'
          ? new Error(
              `${command} is not installed: the Python client's tests need Python 3 with httpx and pytest (scripts/setup installs them)`,
            )
          : e,
      ),
    );
    child.on('close', (code) => resolve({ code, output }));
  });
}

it('when the Python client runs its tests against Elevate, then every one passes', async () => {
  // Missing Python packages fail here, by name, rather than as pytest's collection errors.
  const probe = await run('python3', ['-c', 'import httpx, pytest'], process.env);
  expect(probe.code, `Python 3 lacks httpx or pytest (scripts/setup installs them):\n${probe.output}`).toBe(
    0,
  );

  const { code, output } = await run(
    'python3',
    // No cache or bytecode files in the checkout.
    ['-m', 'pytest', 'clients/python/tests', '-v', '-p', 'no:cacheprovider'],
    {
      ...process.env,
      PYTHONPATH: path.join(ROOT, 'clients/python/src'),
      PYTHONDONTWRITEBYTECODE: '1',
      ELEVATE_TEST_URL: base,
      ELEVATE_TEST_TOKEN: stack.keys['py-bot'],
      ELEVATE_TEST_WORKLOAD_TOKEN: await issuer.sign({ aud: AUDIENCE, sub: SUBJECT }),
      ELEVATE_TEST_ROLE: 'py-auto',
      ELEVATE_TEST_APPROVAL_ROLE: 'py-approved',
    },
  );
  expect(code, `pytest failed:\n${output}`).toBe(0);
  // Every live test ran and passed (none was skipped or deselected), beside the transport tests.
  const live = readFileSync(path.join(ROOT, 'clients/python/tests/test_live.py'), 'utf8').match(
    /^def test_/gm,
  );
  expect(live?.length).toBeGreaterThan(0);
  expect(output.match(/test_live\.py::\w+ PASSED/g)?.length, output).toBe(live?.length);
  expect(output).not.toMatch(/skipped|deselected/);
}, 120_000);
