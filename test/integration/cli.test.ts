/**
 * The `elevate` admin commands, run as a real process (`node --import tsx bin/elevate.ts …`)
 * against a real API on a loopback port (the stack: Temporal dev server, slapd, store, worker).
 * Each command is checked for its output, as a table and as `--json`, and its exit code.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPolicy } from '../../config/load-policy.js';
import { policyJsonSchema } from '../../config/policy-json-schema.js';
import { generateSecret, hashSecret } from '../../core/crypto/credentials.js';
import type { BotKeyRotation, BotLockResult, BotSummary } from '../../domain/bots/bot-summary.js';
import { createApp } from '../../server/app.js';
import type { ElevationView } from '../../core/model/elevation.js';
import { startStack, testLogger, type Stack } from '../support/stack.js';

let stack: Stack;
let server: Server;
let base: string;
let dir: string;
let tokenFile: string;

beforeAll(async () => {
  stack = await startStack({
    bots: [
      { id: 'cli-bot', roles: ['auto-role', 'needs-ok'] },
      { id: 'rota-bot', roles: ['auto-role'] },
      { id: 'quiet-bot', roles: ['auto-role'] },
    ],
    roles: [
      { id: 'auto-role', maxDurationSeconds: 600 },
      { id: 'needs-ok', approval: { mode: 'approvers', approvers: ['ann@example.org'], windowSeconds: 300 } },
    ],
  });
  const app = createApp({ services: stack.services, healthChecks: {}, logger: testLogger() });
  server = await listen(app);
  base = urlOf(server);
  dir = mkdtempSync(path.join(tmpdir(), 'elevate-cli-'));
  tokenFile = path.join(dir, 'admin-token');
  writeFileSync(tokenFile, `${stack.adminToken}\n`, { mode: 0o600 });
});

afterAll(async () => {
  server?.close();
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function listen(handler: Parameters<typeof createServer>[1]): Promise<Server> {
  return new Promise((resolve) => {
    const s = createServer(handler).listen(0, '127.0.0.1', () => resolve(s));
  });
}

function urlOf(s: Server): string {
  const address = s.address();
  return `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * `elevate <args>` as a child process, with ELEVATE_URL set to the test API and the admin token
 * in ELEVATE_ADMIN_TOKEN (unless `env` says otherwise). Stdin is a pipe (not a terminal).
 */
function elevate(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = {
    ...process.env,
    ELEVATE_URL: base,
    ELEVATE_ADMIN_TOKEN: stack.adminToken,
    ...env,
  };
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.resolve('bin/elevate.ts'), ...args], {
      env: childEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.stdin.end();
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function json<T>(run: Run): T {
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as T;
}

/** The column each header name starts at, and each row's cells cut at those columns. */
function parseTable(text: string): { header: string[]; rows: Record<string, string>[] } {
  const lines = text.trimEnd().split('\n');
  const headerLine = lines[0]!;
  const starts = [...headerLine.matchAll(/\S+/g)].map((m) => m.index);
  const header = [...headerLine.matchAll(/\S+/g)].map((m) => m[0]);
  const rows = lines
    .slice(1)
    .map((line) =>
      Object.fromEntries(
        header.map((h, i) => [h, line.slice(starts[i], starts[i + 1] ?? line.length).trim()]),
      ),
    );
  return { header, rows };
}

const bot = (id: string) => stack.keys[id]!;

async function requestAs(key: string, role = 'auto-role'): Promise<{ status: number; view: ElevationView }> {
  const res = await fetch(`${base}/v1/elevations`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ role, durationSeconds: 300, justification: 'cli test' }),
  });
  return { status: res.status, view: (await res.json()) as ElevationView };
}

describe('bots', () => {
  it('when listing, then a table aligns a row per bot, and --json gives the API answer', async () => {
    const run = await elevate(['bots', 'list']);

    expect(run.code, run.stderr).toBe(0);
    const { header, rows } = parseTable(run.stdout);
    expect(header).toEqual([
      'ID',
      'ENVIRONMENT',
      'TEAM',
      'OWNER',
      'STATE',
      'KEY',
      'FEDERATION',
      'ACTIVE',
      'OPEN',
    ]);
    expect(rows.map((r) => r.ID)).toEqual(['cli-bot', 'rota-bot', 'quiet-bot']);
    expect(rows[0]).toMatchObject({ ENVIRONMENT: 'test', STATE: 'enabled', KEY: 'policy', FEDERATION: 'no' });

    const listed = json<{ items: BotSummary[] }>(await elevate(['bots', 'list', '--json']));
    expect(listed.items.map((b) => b.id)).toEqual(['cli-bot', 'rota-bot', 'quiet-bot']);
  });

  it('when showing a bot, then its fields are printed, and an unknown bot exits 4 with the server’s code', async () => {
    const run = await elevate(['bots', 'show', 'quiet-bot']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^id:\s+quiet-bot$/m);
    expect(run.stdout).toMatch(/^owner:\s+quiet-bot-owner@example\.org$/m);
    expect(run.stdout).toMatch(/^API key:\s+the policy's apiKeyHash$/m);
    expect(json<BotSummary>(await elevate(['bots', 'show', 'quiet-bot', '--json'])).id).toBe('quiet-bot');

    const unknown = await elevate(['bots', 'show', 'ghost-bot']);
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('404 not_found');
  });

  it('when locking without --yes and no terminal, then it exits 2 and nothing changes', async () => {
    const run = await elevate(['bots', 'lock', 'cli-bot', '--reason', 'INC-7']);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--yes');
    expect(await stack.stores.botStates.getBotState('cli-bot')).toBeUndefined();
  });

  it('when locking with --yes, then the active elevation is revoked and listed, and the bot is refused; unlocking lets it back', async () => {
    const { view } = await requestAs(bot('cli-bot'));
    await stack.waitFor(view.id, (v) => v.status === 'active');

    const run = await elevate(['bots', 'lock', 'cli-bot', '--reason', 'INC-7 leaked key', '--yes']);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('bot cli-bot is locked (by test-admin since');
    expect(run.stdout).toContain('INC-7 leaked key');
    expect(run.stdout).toContain('revoked 1 elevation(s):');
    expect(parseTable(run.stdout.split('revoked 1 elevation(s):\n')[1]!).rows[0]).toMatchObject({
      ID: view.id,
      BOT: 'cli-bot',
    });
    await stack.waitFor(view.id, (v) => v.status === 'revoked');
    expect(await stack.isMember('cli-bot', 'auto-role')).toBe(false);
    expect((await requestAs(bot('cli-bot'))).status).toBe(403);

    const again = json<BotLockResult>(
      await elevate(['bots', 'lock', 'cli-bot', '--reason', 'x', '--yes', '--json']),
    );
    expect(again.revoked).toEqual([]);
    expect(again.bot.locked?.reason).toBe('INC-7 leaked key');
    const listed = parseTable((await elevate(['bots', 'list'])).stdout).rows.find((r) => r.ID === 'cli-bot');
    expect(listed?.STATE).toBe('locked');

    expect((await elevate(['bots', 'unlock', 'cli-bot', '--yes'])).code).toBe(2); // --reason is required
    const unlocked = await elevate(['bots', 'unlock', 'cli-bot', '--reason', 'INC-7 closed', '--yes']);
    expect(unlocked.code, unlocked.stderr).toBe(0);
    expect(unlocked.stdout).toBe('bot cli-bot is unlocked; state: enabled\n');
    expect((await requestAs(bot('cli-bot'))).status).toBe(202);
  });

  it('when disabling and enabling, then the state follows and each is confirmed', async () => {
    const off = await elevate(['bots', 'disable', 'quiet-bot', '--reason', 'audit', '--yes']);
    expect(off.code, off.stderr).toBe(0);
    expect(off.stdout).toBe('bot quiet-bot: disabled (admin)\n');
    expect((await requestAs(bot('quiet-bot'))).status).toBe(403);

    const on = json<BotSummary>(await elevate(['bots', 'enable', 'quiet-bot', '--yes', '--json']));
    expect(on).toMatchObject({ disabled: false, disabledOverride: null });
    expect((await requestAs(bot('quiet-bot'))).status).toBe(202);
  });

  it('when rotating a key, then the new key is printed once and works while the old one does not', async () => {
    const run = await elevate(['bots', 'rotate-key', 'rota-bot', '--reason', 'yearly', '--yes']);

    expect(run.code, run.stderr).toBe(0);
    const key = /: (elv_bot_[A-Za-z0-9_-]{43})\n/.exec(run.stdout)?.[1];
    expect(key).toBeDefined();
    expect(run.stdout.split(key!)).toHaveLength(2);
    expect((await requestAs(bot('rota-bot'))).status).toBe(401);
    expect((await requestAs(key!)).status).toBe(202);

    const rotated = json<BotKeyRotation>(
      await elevate(['bots', 'rotate-key', 'rota-bot', '--yes', '--json']),
    );
    expect(rotated.key).not.toBe(key);
    expect((await requestAs(key!)).status).toBe(401);
    expect((await requestAs(rotated.key)).status).toBe(202);
  });
});

describe('elevations', () => {
  let id: string;

  beforeAll(async () => {
    const { view } = await requestAs(bot('cli-bot'));
    id = view.id;
    await stack.waitFor(id, (v) => v.status === 'active');
  });

  it('when listing with filters, then the table and --json show the matching elevations', async () => {
    const run = await elevate([
      'elevations',
      'list',
      '--bot',
      'cli-bot',
      '--status',
      'active',
      '--limit',
      '5',
    ]);

    expect(run.code, run.stderr).toBe(0);
    const { header, rows } = parseTable(run.stdout);
    expect(header).toEqual(['ID', 'BOT', 'ROLE', 'STATUS', 'REQUESTED', 'UNTIL', 'JUSTIFICATION']);
    // This one, and the one the lockdown test left active after unlocking.
    expect(rows.map((r) => r.ID)).toContain(id);
    for (const row of rows)
      expect(row).toMatchObject({ BOT: 'cli-bot', ROLE: 'auto-role', STATUS: 'active' });

    const listed = json<{ items: ElevationView[] }>(
      await elevate(['elevations', 'list', '--bot', 'cli-bot', '--json', '--limit', '2']),
    );
    expect(listed.items).toHaveLength(2);
    expect(listed.items.every((v) => v.botId === 'cli-bot')).toBe(true);
    const none = await elevate(['elevations', 'list', '--bot', 'ghost-bot']);
    expect(none.stdout).toBe('no elevations match\n');
  });

  it('when the server refuses a filter, then it exits 4 naming the field', async () => {
    const run = await elevate(['elevations', 'list', '--status', 'sleeping']);

    expect(run.code).toBe(4);
    expect(run.stderr).toContain('400 invalid_request, field status');
  });

  it('when showing one, then its fields and its events are printed', async () => {
    const run = await elevate(['elevations', 'show', id]);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^id:\\s+${id}$`, 'm'));
    expect(run.stdout).toMatch(/^status:\s+active$/m);
    const events = parseTable(run.stdout.split('events:\n')[1]!);
    expect(events.rows.map((r) => r.TYPE)).toEqual(
      expect.arrayContaining(['elevation.requested', 'elevation.approved', 'grant.confirmed']),
    );
    const timeline = json<{ elevation: ElevationView }>(await elevate(['elevations', 'show', id, '--json']));
    expect(timeline.elevation.id).toBe(id);
  });

  it('when revoking, then it needs a reason and --yes, and the elevation ends', async () => {
    expect((await elevate(['elevations', 'revoke', id, '--yes'])).code).toBe(2);

    const run = await elevate(['elevations', 'revoke', id, '--reason', 'done here', '--yes']);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`^elevation ${id}: (revoking|revoked) \\(admin_revoked\\)\\n$`));
    await stack.waitFor(id, (v) => v.status === 'revoked');
    const again = await elevate([
      'elevations',
      'revoke',
      'el_000000000000000000000000',
      '--reason',
      'x',
      '--yes',
    ]);
    expect(again.code).toBe(4);
  });
});

describe('audit', () => {
  it('when verifying an intact chain, then it exits 0 with the head; with an anchor that does not match, 1', async () => {
    const run = await elevate(['audit', 'verify']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/^audit chain ok: \d+ event\(s\) checked; head \d+:[0-9a-f]{64}/);

    const result = json<{ ok: boolean; head: { position: number; hash: string } }>(
      await elevate(['audit', 'verify', '--json']),
    );
    expect(result.ok).toBe(true);

    const forged = await elevate([
      'audit',
      'verify',
      '--anchor',
      `${result.head.position}:${'0'.repeat(64)}`,
    ]);
    expect(forged.code).toBe(1);
    expect(forged.stdout).toContain('audit chain BROKEN');
    expect(forged.stdout).toContain('anchor_mismatch');

    const malformed = await elevate(['audit', 'verify', '--anchor', 'nonsense']);
    expect(malformed.code).toBe(4);
  });

  it('when exporting to a file, then the whole trail is there, with the bot changes of this test', async () => {
    const file = path.join(dir, 'audit.csv');

    const run = await elevate(['audit', 'export', '--format', 'csv', '--output', file]);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain(`to ${file}`);
    const text = readFileSync(file, 'utf8');
    expect(text.split('\r\n')[0]).toMatch(/^position,id,at,type,/);
    for (const type of ['bot.locked', 'bot.unlocked', 'bot.disabled', 'bot.enabled', 'bot.key_rotated']) {
      expect(text).toContain(`,${type},`);
    }
    expect(statSync(file).size).toBe(Buffer.byteLength(text));
  });

  it('when exporting to stdout, then each line is one event as JSON', async () => {
    const run = await elevate(['audit', 'export', '--format', 'jsonl', '--since', '2000-01-01T00:00:00Z']);

    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { position: number; type: string });
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.map((l) => l.position)).toEqual([...lines.map((l) => l.position)].sort((a, b) => a - b));
    expect(lines.some((l) => l.type === 'bot.locked')).toBe(true);
    expect((await elevate(['audit', 'export', '--format', 'xml'])).code).toBe(2);
  });
});

describe('bots create (offline)', () => {
  const adminHash = hashSecret(generateSecret('admin'));
  const policyText = `# The policy of the test estate.
version: 1

admins:
  - id: ops # the on-call admin
    tokenHash: ${adminHash}

# Every bot needs its own key.
bots:
  - id: first-bot
    owner: first@example.org
    team: data
    purpose: nightly loads
    environment: prod
    ldapDn: uid=first-bot,ou=bots,dc=example,dc=org
    apiKeyHash: ${hashSecret(generateSecret('bot'))}
    roles: [reader] # just one

roles:
  # Read-only, granted at once.
  - id: reader
    environment: prod
    target:
      type: ldap
      groupDn: cn=reader,ou=groups,dc=example,dc=org
    maxDurationSeconds: 3600
    approval:
      mode: auto
`;
  const args = (file: string, id = 'second-bot') => [
    'bots',
    'create',
    id,
    '--policy',
    file,
    '--owner',
    'second@example.org',
    '--team',
    'data',
    '--purpose',
    'weekly reports, with a long purpose that must not be folded onto a second line by the YAML writer',
    '--environment',
    'prod',
    '--role',
    'reader',
    '--ldap-dn',
    'uid=second-bot,ou=bots,dc=example,dc=org',
  ];

  it('when a bot is added, then the key is printed once, its hash is in the file, comments stay, and the policy is valid', async () => {
    const file = path.join(dir, 'policy-create.yaml');
    writeFileSync(file, policyText);

    const run = await elevate(args(file), { ELEVATE_ADMIN_TOKEN: undefined, ELEVATE_URL: undefined });

    expect(run.code, run.stderr).toBe(0);
    const key = /: (elv_bot_[A-Za-z0-9_-]{43})\n/.exec(run.stdout)?.[1];
    expect(key).toBeDefined();
    expect(run.stdout).toContain('once this policy is deployed');
    const text = readFileSync(file, 'utf8');
    expect(text).not.toContain(key);
    for (const comment of [
      '# The policy of the test estate.',
      '# the on-call admin',
      '# Every bot needs its own key.',
      '# just one',
      '# Read-only, granted at once.',
    ]) {
      expect(text).toContain(comment);
    }
    expect(text).toContain('# added by `elevate bots create` on');
    // The rest of the file is as it was: every original line is still there, in order.
    const lines = text.split('\n');
    let at = 0;
    for (const line of policyText.split('\n')) {
      at = lines.indexOf(line, at);
      expect(at, line).toBeGreaterThanOrEqual(0);
    }
    expect(text).toContain('purpose: weekly reports, with a long purpose that must not be folded');
    const policy = loadPolicy(file, {});
    expect(policy.bots.map((b) => b.id)).toEqual(['first-bot', 'second-bot']);
    expect(policy.bots[1]).toMatchObject({
      owner: 'second@example.org',
      roles: ['reader'],
      apiKeyHash: hashSecret(key!),
      ldapDn: 'uid=second-bot,ou=bots,dc=example,dc=org',
    });
    expect(policy.bots[0]).toEqual(loadPolicyText(policyText).bots[0]);
  });

  it('when the bot exists already or would make the policy invalid, then it exits 3 and the file is unchanged', async () => {
    const file = path.join(dir, 'policy-refuse.yaml');
    writeFileSync(file, policyText);

    const duplicate = await elevate(args(file, 'first-bot'));
    const badRole = await elevate([...args(file), '--role', 'no-such-role']);
    const badOwner = await elevate(
      args(file).map((a) => (a === 'second@example.org' ? 'not-an-address' : a)),
    );

    expect(duplicate.code).toBe(3);
    expect(duplicate.stderr).toContain('"first-bot" is already in the policy');
    expect(badRole.code).toBe(3);
    expect(badRole.stderr).toContain('unknown role "no-such-role"');
    expect(badOwner.code).toBe(3);
    expect(badOwner.stderr).toMatch(/bots\[1\]\.owner: must be an e-mail address/);
    expect(readFileSync(file, 'utf8')).toBe(policyText);
  });

  it('when --policy or a required option is missing, then it exits 2', async () => {
    const run = await elevate(['bots', 'create', 'x-bot', '--owner', 'x@example.org']);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('--policy is required');
  });

  it('when --json is given, then the key and its hash come as JSON', async () => {
    const file = path.join(dir, 'policy-json.yaml');
    writeFileSync(file, policyText);

    const out = json<{ botId: string; key: string; apiKeyHash: string }>(
      await elevate([...args(file), '--json']),
    );

    expect(out.botId).toBe('second-bot');
    expect(out.apiKeyHash).toBe(hashSecret(out.key));
    expect(loadPolicy(file, {}).bots[1]?.apiKeyHash).toBe(out.apiKeyHash);
  });
});

describe('configuration, usage and reachability', () => {
  it('when there is no token, then it exits 3; with --token-file it works; with an unreadable file, 3', async () => {
    const none = await elevate(['bots', 'list'], { ELEVATE_ADMIN_TOKEN: undefined });
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('ELEVATE_ADMIN_TOKEN');

    const fromFile = await elevate(['bots', 'list', '--token-file', tokenFile], {
      ELEVATE_ADMIN_TOKEN: undefined,
    });
    expect(fromFile.code, fromFile.stderr).toBe(0);

    const missing = await elevate(['bots', 'list', '--token-file', path.join(dir, 'nope')]);
    expect(missing.code).toBe(3);
    expect(missing.stderr).toContain('ENOENT');

    const badUrl = await elevate(['bots', 'list'], { ELEVATE_URL: 'ftp://example.org' });
    expect(badUrl.code).toBe(3);
  });

  it('when the token is a bot key or unknown, then the server refuses and it exits 4', async () => {
    const asBot = await elevate(['bots', 'list'], { ELEVATE_ADMIN_TOKEN: bot('quiet-bot') });
    const unknown = await elevate(['bots', 'list'], { ELEVATE_ADMIN_TOKEN: 'elv_adm_nobody' });

    expect(asBot.code).toBe(4);
    expect(asBot.stderr).toContain('403 forbidden');
    expect(unknown.code).toBe(4);
    expect(unknown.stderr).toContain('401 unauthenticated');
  });

  it('when the server cannot be reached or answers 5xx, then it exits 5', async () => {
    const closed = await listen(() => undefined);
    const closedUrl = urlOf(closed);
    await new Promise((resolve) => closed.close(resolve));
    const failing = await listen((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'service_unavailable', message: 'audit store down' } }));
    });

    const unreachable = await elevate(['bots', 'list'], { ELEVATE_URL: closedUrl });
    const down = await elevate(['audit', 'verify'], { ELEVATE_URL: urlOf(failing) });
    failing.close();

    expect(unreachable.code).toBe(5);
    expect(unreachable.stderr).toContain('ECONNREFUSED');
    expect(down.code).toBe(5);
    expect(down.stderr).toContain('service_unavailable: audit store down');
  });

  it('when the arguments are wrong, then it exits 2 with the usage; --help exits 0', async () => {
    const cases = [
      ['bots'],
      ['bots', 'frobnicate'],
      ['bots', 'list', '--colour'],
      ['bots', 'show'],
      ['elevations', 'list', '--limit', 'lots'],
      ['audit', 'verify', 'extra'],
    ];
    for (const args of cases) {
      const run = await elevate(args);
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toContain(`usage: elevate ${args[0]}`);
    }
    const help = await elevate(['elevations', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: elevate elevations');
  });

  it('when `config check` runs, then it still validates a policy file', async () => {
    const file = path.join(dir, 'policy-check.yaml');
    writeFileSync(file, loadPolicyTextSource());

    const run = await elevate(['config', 'check', file]);

    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('valid (1 bot(s), 1 role(s), 1 admin(s))');
  });

  it('when `config schema` runs, then it prints the policy JSON Schema editors use', async () => {
    const run = await elevate(['config', 'schema']);

    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual(policyJsonSchema());
  });

  it.each([
    ['--decision-keys', 'decision-signing.pem', 'decision-public.pem', 'ELEVATE_DECISION_SIGNING_KEY_FILE'],
    [
      '--checkpoint-key',
      'audit-checkpoint.pem',
      'audit-checkpoint-public.pem',
      'ELEVATE_AUDIT_CHECKPOINT_KEY_FILE',
    ],
  ])(
    'when `keygen %s` runs, then a private key (0600) and its public key are written, and a second run refuses to overwrite them',
    async (flag, privateFile, publicFile, setting) => {
      const folder = path.join(dir, `keys${flag}`);

      const run = await elevate(['keygen', flag, folder]);

      expect(run.code, run.stderr).toBe(0);
      expect(run.stdout).toContain(setting);
      const privatePem = readFileSync(path.join(folder, privateFile), 'utf8');
      expect(privatePem).toContain('-----BEGIN PRIVATE KEY-----');
      expect(statSync(path.join(folder, privateFile)).mode & 0o777).toBe(0o600);
      expect(readFileSync(path.join(folder, publicFile), 'utf8')).toContain('-----BEGIN PUBLIC KEY-----');
      const again = await elevate(['keygen', flag, folder]);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('already exist');
      expect(readFileSync(path.join(folder, privateFile), 'utf8')).toBe(privatePem);
    },
  );
});

/** A minimal valid policy text (for `config check`). */
function loadPolicyTextSource(): string {
  return `version: 1
admins: [{ id: ops, tokenHash: "${hashSecret(generateSecret('admin'))}" }]
bots:
  - { id: b1, owner: b1@example.org, team: t, purpose: p, environment: prod, ldapDn: "uid=b1,dc=example,dc=org", apiKeyHash: "${hashSecret(generateSecret('bot'))}", roles: [r1] }
roles:
  - { id: r1, environment: prod, target: { type: ldap, groupDn: "cn=r1,dc=example,dc=org" }, maxDurationSeconds: 60, approval: { mode: auto } }
`;
}

/** The policy a text parses to, through a temporary file. */
function loadPolicyText(text: string) {
  const file = path.join(dir, `policy-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(file, text);
  return loadPolicy(file, {});
}
