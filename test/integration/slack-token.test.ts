/**
 * A bad Slack token never kills the process. Elevate checks the bot token itself at start
 * (Bolt's own check rejected in its constructor with nobody listening, and Node exited):
 * refused is a configuration error naming SLACK_BOT_TOKEN, unreachable is a failing `slack`
 * health check that recovers by itself. And whatever rejection or exception does go
 * unhandled, the process stops in order (as on SIGTERM) and exits 1, instead of dying on the
 * spot. Against the Slack Web API stand-in, real Temporal and slapd, and real `elevate`
 * processes.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors/config-error.js';
import { newDecisionKeyPair } from '../../core/crypto/decision-keys.js';
import { SlackClient } from '../../integrations/slack/slack-client.js';
import { freePort } from '../../dev/processes.js';
import { startApi } from '../../runtime/api.js';
import { startSlackTokenCheck } from '../../runtime/slack-token-check.js';
import { startEmbeddedProcess } from '../support/embedded-process.js';
import { startSlackApiStub, type SlackStub } from '../../dev/slack-api-stub.js';
import {
  stackServiceSettings,
  startStack,
  testLogger,
  workerProcessEnv,
  type Stack,
} from '../support/stack.js';

const TOKEN = 'xoxb-1111-2222-tokenUnderTest0123';
const WRONG_TOKEN = 'xoxb-9999-8888-notTheRightToken99';
const SIGNING_SECRET = 'slack-token-test-signing-secret-0123';

/**
 * Preloaded into an `elevate` process: on SIGUSR2 it makes the fault a library bug would, a
 * promise rejected with nobody listening, or with `ELEVATE_TEST_FAULT=throw` an exception
 * nothing catches. Inline JavaScript, as Temporal's workflow thread inherits `--import` flags
 * (it does nothing there).
 */
const FAULT_ON_SIGNAL = `data:text/javascript,${encodeURIComponent(`
import { isMainThread } from 'node:worker_threads';
if (isMainThread) {
  process.on('SIGUSR2', () => {
    if (process.env.ELEVATE_TEST_FAULT === 'throw') {
      setImmediate(() => { throw new Error('injected fault: thrown'); });
    } else {
      Promise.reject(new Error('injected fault: rejected'));
    }
  });
}
`)}`;

/** Polls `pred` every 50 ms until it holds; fails with `what` after `timeoutMs`. */
async function eventually(pred: () => Promise<boolean> | boolean, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`not within ${timeoutMs} ms: ${what}`);
}

/** Whether a health check passes now. */
const passes = (check: () => Promise<void>) =>
  check().then(
    () => true,
    () => false,
  );

describe('the Slack token check', () => {
  let stub: SlackStub;
  const logger = testLogger();
  const client = (token = TOKEN) => new SlackClient({ token, apiUrl: stub.url, logger });

  beforeAll(async () => {
    stub = await startSlackApiStub({ token: TOKEN, users: [] });
  });
  afterAll(async () => {
    await stub.stop();
  });

  it('when Slack refuses the token at start, then it is a configuration error naming SLACK_BOT_TOKEN, without the token', async () => {
    const error = await startSlackTokenCheck(client(WRONG_TOKEN), { logger }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(
      /^SLACK_BOT_TOKEN: Slack refused the bot token \(invalid_auth\)/,
    );
    expect((error as ConfigError).message).not.toContain(WRONG_TOKEN);
  });

  it('when Slack is unreachable at start, then the check starts failing and passes by itself once Slack answers', async () => {
    stub.outage(503);
    const check = await startSlackTokenCheck(client(), { logger, retryFirstMs: 50, retryMaxMs: 200 });
    try {
      await expect(check.check()).rejects.toThrow(/Slack did not answer the token check \(http_503\)/);
      expect(check.identity()).toBeUndefined();
      stub.outage(false);
      await eventually(() => passes(check.check), 'the check passes once Slack answers');
      expect(check.identity()).toMatchObject({ teamId: stub.teamId });
    } finally {
      stub.outage(false);
      check.stop();
    }
  });

  it('when the token is revoked while running, then the check fails; a Slack outage after it was verified does not', async () => {
    const check = await startSlackTokenCheck(client(), { logger, recheckMs: 50, retryMaxMs: 100 });
    try {
      await expect(check.check()).resolves.toBeUndefined();
      stub.outage(503);
      const before = stub.attempts.length;
      await eventually(() => stub.attempts.length > before + 2, 'rechecks during the outage');
      await expect(check.check()).resolves.toBeUndefined();
      stub.outage(false);
      stub.refuseToken('token_revoked');
      await eventually(async () => !(await passes(check.check)), 'the check fails once the token is revoked');
      await expect(check.check()).rejects.toThrow(/token_revoked/);
      stub.refuseToken(false);
      await eventually(() => passes(check.check), 'the check passes again');
    } finally {
      stub.outage(false);
      stub.refuseToken(false);
      check.stop();
    }
  });
});

describe('`elevate start` with a token Slack refuses', () => {
  it('when every Slack method answers invalid_auth, then it does not run and die later: it stops what it started and exits 3 naming SLACK_BOT_TOKEN', async () => {
    const stub = await startSlackApiStub({ token: TOKEN, users: [] });
    const dataDir = mkdtempSync(path.join(tmpdir(), 'elevate-slack-token-'));
    try {
      const started = startEmbeddedProcess(dataDir, await freePort(), {
        SLACK_BOT_TOKEN: WRONG_TOKEN,
        SLACK_SIGNING_SECRET: SIGNING_SECRET,
        SLACK_API_URL: stub.url,
        ELEVATE_DEV_IDENTITY_PROVIDER: '1',
      });
      const code = await started.exited;
      expect(code, started.output()).toBe(3);
      expect(started.output()).toMatch(/SLACK_BOT_TOKEN: Slack refused the bot token \(invalid_auth\)/);
      expect(started.output()).not.toContain('Elevate is running');
      expect(started.output()).not.toContain(WRONG_TOKEN);
      // The Temporal dev server and slapd it had started (their files are in its data folder) are gone.
      expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).not.toContain(dataDir);
    } finally {
      await stub.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('elevate processes with a Slack token', () => {
  let stack: Stack;
  let stub: SlackStub;

  beforeAll(async () => {
    stub = await startSlackApiStub({ token: TOKEN, users: [] });
    stack = await startStack({
      bots: [{ id: 'etl-bot', roles: ['warehouse'] }],
      roles: [{ id: 'warehouse', maxDurationSeconds: 600 }],
      worker: false,
    });
  });

  afterAll(async () => {
    await stack?.close();
    await stub?.stop();
  });

  /** The environment of an `elevate` process on the stack, with Slack on the stand-in. */
  const slackEnv = (token: string, extra: NodeJS.ProcessEnv = {}) =>
    workerProcessEnv(stack, {
      SLACK_BOT_TOKEN: token,
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: stub.url,
      LOG_LEVEL: 'info',
      ...extra,
    });

  /** Runs `elevate <command>`, with the {@link FAULT_ON_SIGNAL} preload when `fault` is set. */
  function run(command: 'api' | 'worker', env: NodeJS.ProcessEnv, fault = false) {
    const args = ['--import', 'tsx', ...(fault ? ['--import', FAULT_ON_SIGNAL] : [])];
    const child: ChildProcess = spawn(process.execPath, [...args, path.resolve('bin/elevate.ts'), command], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let text = '';
    child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    return { child, output: () => text, exited };
  }

  it('when Slack refuses the bot token, then `elevate api` does not start: it exits 3 naming SLACK_BOT_TOKEN, and the token is in no output', async () => {
    const api = run(
      'api',
      slackEnv(WRONG_TOKEN, {
        ELEVATE_DECISION_SIGNING_KEY: newDecisionKeyPair().privatePem,
        PORT: '1',
      }),
    );
    const code = await api.exited;
    expect(code, api.output()).toBe(3);
    expect(api.output()).toContain('invalid configuration');
    expect(api.output()).toMatch(/SLACK_BOT_TOKEN: Slack refused the bot token \(invalid_auth\)/);
    expect(api.output()).not.toContain('started');
    expect(api.output()).not.toContain(WRONG_TOKEN);
  });

  it('when Slack is unreachable at start, then the API starts, /readyz names slack as down, and it recovers by itself once Slack answers', async () => {
    stub.outage(503);
    const services = await startApi({
      settings: stackServiceSettings(stack, {
        slack: { botToken: TOKEN, signingSecret: SIGNING_SECRET, socketMode: false, apiUrl: stub.url },
      }),
      policy: stack.policy,
      logger: testLogger(),
    });
    try {
      const ready = await fetch(`${services.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(((await ready.json()) as { checks: Record<string, { ok: boolean }> }).checks.slack).toEqual({
        ok: false,
      });
      // Bots' requests do not need Slack: the API answers them meanwhile.
      expect((await fetch(`${services.url}/livez`)).status).toBe(200);
      stub.outage(false);
      await eventually(async () => {
        const res = await fetch(`${services.url}/readyz`);
        const body = (await res.json()) as { checks: Record<string, { ok: boolean }> };
        return body.checks.slack?.ok === true;
      }, '/readyz reports slack up');
    } finally {
      stub.outage(false);
      await services.close();
    }
  });

  for (const fault of ['rejected', 'thrown'] as const) {
    it(`when ${fault === 'rejected' ? 'a promise is rejected with nobody listening' : 'an exception is thrown with nobody catching it'}, then \`elevate worker\` logs it, stops in order as on SIGTERM, and exits 1`, async () => {
      const worker = run(
        'worker',
        slackEnv(TOKEN, { ELEVATE_TEST_FAULT: fault === 'thrown' ? 'throw' : 'reject' }),
        true,
      );
      try {
        await eventually(
          () => worker.output().includes('elevate worker started'),
          'the worker starts',
          60_000,
        );
        worker.child.kill('SIGUSR2');
        const code = await worker.exited;
        const output = worker.output();
        expect(code, output).toBe(1);
        expect(output).toContain(
          fault === 'rejected'
            ? 'unhandled promise rejection: Error: injected fault: rejected'
            : 'uncaught exception: Error: injected fault: thrown',
        );
        expect(output).toContain('stopping in order');
        // The orderly stop ran: the worker stopped polling and let its activities finish.
        expect(output).toContain('worker stopping');
        expect(output).toContain('worker stopped');
        expect(output).toContain('stopped after the fault above');
      } finally {
        if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
      }
    });
  }
});
