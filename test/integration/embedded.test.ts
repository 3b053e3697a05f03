/**
 * The README's promise about `npm start`: the embedded default starts everything it needs,
 * Ctrl-C stops everything it started, and starting again resumes active elevations.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedProcess, type EmbeddedProcess } from '../support/embedded-process.js';
import type { DevIdentityFile } from '../../runtime/embedded.js';
import { freePort } from '../../dev/processes.js';
import type { ElevationView } from '../../core/model/elevation.js';
import { createBrowser } from '../../dev/browser.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'elevate-embedded-'));
const botKey = `test-demo-bot-key-${'k'.repeat(30)}`;
let child: ChildProcess | undefined;

afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

type Started = EmbeddedProcess;

function start(port: number, extraEnv: Record<string, string> = {}): Started {
  const started = startEmbeddedProcess(dataDir, port, extraEnv);
  child = started.proc;
  return started;
}

async function healthy(base: string, started: Started, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (started.proc.exitCode !== null) throw new Error(`elevate start exited:\n${started.output()}`);
    const ok = await fetch(`${base}/healthz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`elevate start did not become healthy:\n${started.output()}`);
}

/** Processes whose command line mentions the data directory (slapd, the Temporal dev server). */
function leftovers(): string[] {
  try {
    return execFileSync('pgrep', ['-af', dataDir], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.trim() && !l.includes('pgrep'));
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
}

describe('elevate start (the embedded default)', () => {
  it('when the demo bot key is too short, then it refuses to start naming the variable', async () => {
    const started = start(await freePort(), { ELEVATE_DEMO_BOT_KEY: 'short' });
    expect(await started.exited).toBe(3);
    expect(started.output()).toContain('ELEVATE_DEMO_BOT_KEY: must be at least 32 characters');
  });

  it('when started without --dev and without OIDC (a VM, systemd, npx), then no development identity provider starts: the roles that need approvers are refused naming OIDC_ISSUER', async () => {
    const started = start(await freePort(), {
      ELEVATE_DEMO_BOT_KEY: botKey,
      ELEVATE_DEV_IDENTITY_PROVIDER: '',
    });
    expect(await started.exited).toBe(3);
    expect(started.output()).toContain('OIDC_ISSUER: must be set: roles demo-approval need approvers');
    expect(started.output()).toContain('elevate start --dev');
    expect(existsSync(path.join(dataDir, 'dev-identity-provider.json'))).toBe(false);
    // Refused before it showed a generated admin token: no hash is kept that nobody has the token to.
    expect(existsSync(path.join(dataDir, 'admin-token.sha256'))).toBe(false);
  });

  it('when the development identity provider is asked for with NODE_ENV=production, then it is refused naming NODE_ENV', async () => {
    const started = start(await freePort(), {
      ELEVATE_DEMO_BOT_KEY: botKey,
      ELEVATE_DEV_IDENTITY_PROVIDER: '1',
      NODE_ENV: 'production',
    });
    expect(await started.exited).toBe(3);
    expect(started.output()).toContain('NODE_ENV: is production, so the development identity provider');
  });

  it('when `elevate start --dev` listens beyond loopback (HOST=0.0.0.0), then it is refused naming HOST', async () => {
    const proc = spawn(
      process.execPath,
      ['--import', 'tsx', path.resolve('bin/elevate.ts'), 'start', '--dev'],
      {
        env: {
          ...Object.fromEntries(
            Object.entries(process.env).filter(
              ([k]) => !['OIDC_ISSUER', 'NODE_ENV', 'ELEVATE_PUBLIC_URL'].includes(k),
            ),
          ),
          ELEVATE_DATA_DIR: dataDir,
          HOST: '0.0.0.0',
          PORT: String(await freePort()),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    proc.stdout.on('data', (d: Buffer) => (output += d.toString()));
    proc.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const code = await new Promise<number | null>((r) => proc.once('exit', r));
    expect(code).toBe(3);
    expect(output).toContain('HOST: is 0.0.0.0, not a loopback address');
  });

  it('when started, stopped with Ctrl-C and started again, then it serves, stops everything, and resumes the active elevation', async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const first = start(port, { ELEVATE_DEMO_BOT_KEY: botKey, ELEVATE_DEV_IDENTITY_PROVIDER: '1' });
    await healthy(base, first);
    // The admin token was generated: shown once, only its hash kept.
    const token = /demo-admin token:\s+(elv_adm_\S+)/.exec(first.output())?.[1];
    expect(token).toBeDefined();
    expect(readFileSync(path.join(dataDir, 'admin-token.sha256'), 'utf8')).not.toContain(token!);
    expect(first.output()).not.toContain(botKey);

    const res = await fetch(`${base}/v1/elevations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${botKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'demo-auto', durationSeconds: 20, justification: 'embedded test' }),
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as ElevationView;
    const active = (await (
      await fetch(`${base}/v1/elevations/${id}?waitSeconds=20`, {
        headers: { authorization: `Bearer ${botKey}` },
      })
    ).json()) as ElevationView;
    expect(active.status).toBe('active');

    // Approval without Slack: the log carries the approval URL; a development approver logs in
    // with password + TOTP at the development identity provider and confirms.
    const asked = await fetch(`${base}/v1/elevations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${botKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        role: 'demo-approval',
        durationSeconds: 30,
        justification: 'embedded approval',
      }),
    });
    const pending = (await asked.json()) as ElevationView;
    expect(pending.status).toBe('pending_approval');
    let approvalUrl: string | undefined;
    for (let i = 0; i < 100 && !approvalUrl; i++) {
      approvalUrl = new RegExp(`"approvalUrl":"(http://[^"]+/approvals/${pending.id})"`).exec(
        first.output(),
      )?.[1];
      if (!approvalUrl) await new Promise((r) => setTimeout(r, 100));
    }
    expect(approvalUrl).toBeDefined();
    expect(first.output()).toContain('DEVELOPMENT ONLY');
    const dev = JSON.parse(
      readFileSync(path.join(dataDir, 'dev-identity-provider.json'), 'utf8'),
    ) as DevIdentityFile;
    const alice = dev.accounts.find((a) => a.email === 'alice@example.org')!;
    const browser = createBrowser(base);
    const callback = await browser.login(approvalUrl!, alice);
    expect(callback.status).toBe(200);
    const approved = await browser.confirm(await callback.text());
    expect(approved.status).toBe(200);
    const granted = (await (
      await fetch(`${base}/v1/elevations/${pending.id}?waitSeconds=20`, {
        headers: { authorization: `Bearer ${botKey}` },
      })
    ).json()) as ElevationView;
    expect(['approved', 'active']).toContain(granted.status);
    expect(granted.approvals[0]?.approver).toBe('alice@example.org');

    first.proc.kill('SIGINT');
    expect(await first.exited).toBe(0);
    expect(leftovers()).toEqual([]);
    expect(existsSync(path.join(dataDir, 'temporal.pid'))).toBe(false);

    const second = start(port, { ELEVATE_DEMO_BOT_KEY: botKey, ELEVATE_DEV_IDENTITY_PROVIDER: '1' });
    await healthy(base, second);
    expect(second.output()).not.toContain('shown only this once');
    const deadline = Date.parse(active.expiresAt!) + 30_000;
    let view: ElevationView | undefined;
    while (Date.now() < deadline) {
      const timeline = await fetch(`${base}/v1/admin/elevations/${id}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      view = ((await timeline.json()) as { elevation: ElevationView }).elevation;
      if (view.status === 'revoked') break;
      await new Promise((r) => setTimeout(r, 500));
    }
    expect(view?.status).toBe('revoked');
    expect(view?.endReason).toBe('expired');

    second.proc.kill('SIGINT');
    expect(await second.exited).toBe(0);
    expect(leftovers()).toEqual([]);
  });
});
