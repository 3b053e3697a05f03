/**
 * The banner's "Try it" commands, pasted into a real shell (`sh`) whose `curl` is a stand-in
 * that prints the arguments it was given: what the shell makes of the commands is what curl
 * would send.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { identityProviderLine, tryItLines, type DemoBotKey } from '../../runtime/start-banner.js';

const url = 'http://127.0.0.1:18080';
const bin = mkdtempSync(path.join(tmpdir(), 'elevate-banner-'));
writeFileSync(path.join(bin, 'curl'), '#!/bin/sh\nfor a in "$@"; do printf \'%s\\n\' "$a"; done\n');
chmodSync(path.join(bin, 'curl'), 0o755);

afterAll(() => rmSync(bin, { recursive: true, force: true }));

/** The indented lines (the commands), pasted into `sh`: the arguments curl gets, one per line. */
function paste(key: DemoBotKey, env: Record<string, string> = {}): string[] {
  const script = tryItLines(url, key)
    .filter((line) => line.startsWith('  '))
    .map((line) => line.slice(2))
    .join('\n');
  const clean = { ...process.env };
  delete clean.ELEVATE_DEMO_BOT_KEY;
  delete clean.KEY;
  return execFileSync('sh', ['-c', script], {
    env: { ...clean, ...env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}` },
    encoding: 'utf8',
  })
    .trimEnd()
    .split('\n');
}

function request(args: string[]): { url: string; authorization: string | undefined; body: unknown } {
  const header = (name: string) =>
    args.filter((_, i) => args[i - 1] === '-H').find((h) => h.toLowerCase().startsWith(`${name}: `));
  return {
    url: args.find((a) => a.startsWith('http'))!,
    authorization: header('authorization'),
    body: JSON.parse(args[args.indexOf('-d') + 1]!),
  };
}

describe('the start-up banner: Try it', () => {
  it('when the key was generated at this start, then the pasted commands send that key', () => {
    const key = 'elv_bot_Abc-123_generated-at-this-start-0000000000';
    const lines = tryItLines(url, { kind: 'shown', key });
    expect(lines.join('\n')).not.toContain('$ELEVATE_DEMO_BOT_KEY');
    expect(request(paste({ kind: 'shown', key }))).toEqual({
      url: `${url}/v1/elevations`,
      authorization: `authorization: Bearer ${key}`,
      body: { role: 'demo-auto', durationSeconds: 60, justification: 'try Elevate' },
    });
  });

  it('when the key is in ELEVATE_DEMO_BOT_KEY, then the pasted commands send its value, and the banner does not print it', () => {
    const sent = request(
      paste({ kind: 'environment' }, { ELEVATE_DEMO_BOT_KEY: 'the-key-in-the-environment' }),
    );
    expect(sent.authorization).toBe('authorization: Bearer the-key-in-the-environment');
    expect(tryItLines(url, { kind: 'environment' })[0]).toContain('where ELEVATE_DEMO_BOT_KEY is set');
  });

  it('when only the hash was kept from an earlier start, then it says to export the key printed at the first start, and how to get a new one', () => {
    const text = tryItLines(url, { kind: 'kept', hashFile: '/data/demo-bot-key.sha256' }).join('\n');
    expect(text).toContain('the demo-bot API key printed at the first start');
    expect(text).toContain('delete /data/demo-bot-key.sha256 and start again');
    expect(text).toContain(`curl -s -X POST ${url}/v1/elevations -H "authorization: Bearer $KEY"`);
  });

  it('when only ELEVATE_DEMO_BOT_KEY_HASH was given, then it says which key to export', () => {
    expect(tryItLines(url, { kind: 'hash-environment' })[0]).toContain(
      'the demo-bot API key whose hash is in ELEVATE_DEMO_BOT_KEY_HASH',
    );
  });
});

describe('the banner’s identity provider line', () => {
  it('when the development identity provider runs, then the banner says so unmistakably', () => {
    const line = identityProviderLine({ kind: 'development', issuer: 'http://127.0.0.1:8089' });
    expect(line).toContain('http://127.0.0.1:8089');
    expect(line).toContain('development identity provider');
    expect(line).toContain('DEVELOPMENT ONLY');
  });

  it('when no identity provider runs, then the banner says there is none and how to have one', () => {
    expect(identityProviderLine({ kind: 'none' })).toContain(
      'none (no role needs approvers; set OIDC_ISSUER',
    );
  });

  it("when the organisation's provider is configured, then the banner names only its issuer", () => {
    expect(identityProviderLine({ kind: 'oidc', issuer: 'https://idp.example.org' })).toBe(
      '  identity provider: https://idp.example.org',
    );
  });
});
