/**
 * The banner of `elevate start` on a first start without ELEVATE_DEMO_BOT_KEY, and on the next:
 * the first prints a "Try it" that sets KEY to the key it generated, and the API accepts it;
 * the next, which kept only the key's hash, says to export the key printed at the first start.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedProcess, type EmbeddedProcess } from '../support/embedded-process.js';
import { freePort } from '../../dev/processes.js';

const dataDir = mkdtempSync(path.join(tmpdir(), 'elevate-banner-'));
let child: ChildProcess | undefined;

afterAll(() => {
  child?.kill('SIGKILL');
  rmSync(dataDir, { recursive: true, force: true });
});

type Started = EmbeddedProcess;

/** `elevate start` on the example policy, nothing outside configured, no demo secrets given. */
function start(port: number): Started {
  // As `npm start` runs it: with the development identity provider (`--dev`).
  const started = startEmbeddedProcess(dataDir, port, { ELEVATE_DEV_IDENTITY_PROVIDER: '1' });
  child = started.proc;
  return started;
}

/** Waits for the banner's last line. */
async function banner(started: Started, timeoutMs = 90_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (started.proc.exitCode !== null) throw new Error(`elevate start exited:\n${started.output()}`);
    if (started.output().includes('Press Ctrl-C to stop.')) return started.output();
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`elevate start printed no banner:\n${started.output()}`);
}

/** The "Try it" block: from its heading to the blank line after it. */
function tryIt(output: string): string {
  const block = /\nTry it[^\n]*\n(?:[^\n]+\n)+/.exec(output)?.[0];
  if (!block) throw new Error(`no "Try it" in:\n${output}`);
  return block;
}

describe('elevate start: the banner’s Try it', () => {
  it('when started the first time without a demo bot key, then its Try it sets KEY to the generated key, which the API accepts; the next start says to export that key', async () => {
    const port = await freePort();
    const first = start(port);
    const firstBlock = tryIt(await banner(first));
    const generated = /demo-bot API key:\s+(elv_bot_\S+)/.exec(first.output())?.[1];
    expect(generated).toBeDefined();
    // The export line, pasted into a shell, sets KEY to the key shown as the secret.
    const exportLine = firstBlock.split('\n').find((l) => l.trim().startsWith('export KEY='))!;
    const key = execFileSync('sh', ['-c', `${exportLine.trim()}\nprintf %s "$KEY"`], { encoding: 'utf8' });
    expect(key).toBe(generated);
    expect(firstBlock).toContain(`http://127.0.0.1:${port}/v1/elevations -H "authorization: Bearer $KEY"`);
    const res = await fetch(`http://127.0.0.1:${port}/v1/elevations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: 'demo-auto', durationSeconds: 60, justification: 'try Elevate' }),
    });
    expect(res.status).toBe(202);
    first.proc.kill('SIGINT');
    expect(await first.exited).toBe(0);

    const second = start(port);
    const secondBlock = tryIt(await banner(second));
    expect(secondBlock).toContain('the demo-bot API key printed at the first start');
    expect(secondBlock).toContain(path.join(dataDir, 'demo-bot-key.sha256'));
    expect(second.output()).not.toContain(generated!);
    second.proc.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });
});
