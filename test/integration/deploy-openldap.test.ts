/**
 * The OpenLDAP image of docker-compose.yml (deploy/openldap) without Docker: its entrypoint runs
 * here against Debian's slapd, the same OpenLDAP 2.5 the image installs, on a loopback port. The
 * account Elevate binds as must be able to do everything Elevate does (grant, read back, list,
 * revoke, look up approvers) and nothing more: not make approvers, not change people, not change
 * the groups themselves. Its password comes from the secret file, and a new file takes effect at
 * the next start.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Attribute, Change, Client, InsufficientAccessError, InvalidCredentialsError } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LdapApproverDirectory } from '../../integrations/ldap/approver-directory.js';
import { LdapTarget } from '../../integrations/ldap/ldap-target.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const ELEVATE_DN = 'cn=elevate,ou=services,dc=example,dc=org';
const BOT = 'uid=demo-bot,ou=bots,dc=example,dc=org';
const MANAGED = 'cn=demo-auto,ou=groups,dc=example,dc=org';
const APPROVERS = 'cn=approvers,ou=approver-groups,dc=example,dc=org';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

const dir = mkdtempSync(path.join(tmpdir(), 'elevate-openldap-image-'));
const passwordFile = path.join(dir, 'ldap-elevate-password');
let port = 0;
let url = '';
let slapd: ChildProcess | undefined;
let output = '';

/** Runs deploy/openldap/entrypoint.sh as the container would, and waits until it answers. */
async function startDirectory(): Promise<void> {
  output = '';
  slapd = spawn('sh', [path.join(ROOT, 'deploy/openldap/entrypoint.sh')], {
    env: {
      ...process.env,
      LDAP_PORT: String(port),
      LDAP_LISTEN_HOST: '127.0.0.1',
      LDAP_DATA_DIR: path.join(dir, 'data'),
      LDAP_RUN_DIR: path.join(dir, 'run'),
      LDAP_SEED_FILE: path.join(ROOT, 'deploy/openldap/seed.ldif'),
      LDAP_ELEVATE_PASSWORD_FILE: passwordFile,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  slapd.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  slapd.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (slapd.exitCode !== null) throw new Error(`entrypoint.sh exited ${slapd.exitCode}:\n${output}`);
    const client = new Client({ url, connectTimeout: 500 });
    try {
      await client.bind('', '');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`slapd did not answer: ${String(err)}\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }
}

async function stopDirectory(): Promise<void> {
  const child = slapd;
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** A client bound as Elevate's account with `password`. */
async function asElevate(password: string): Promise<Client> {
  const client = new Client({ url });
  await client.bind(ELEVATE_DN, password);
  return client;
}

beforeAll(async () => {
  port = await freePort();
  url = `ldap://127.0.0.1:${port}`;
  writeFileSync(passwordFile, 'first-Password-7\n', { mode: 0o600 });
  await startDirectory();
});

afterAll(async () => {
  await stopDirectory();
  rmSync(dir, { recursive: true, force: true });
});

describe('deploy/openldap', () => {
  it("when Elevate's account grants, reads back, lists and revokes a managed group, then every step succeeds", async () => {
    const target = new LdapTarget({ url, bindDn: ELEVATE_DN, bindPassword: 'first-Password-7' });
    try {
      await target.grant({ type: 'ldap', groupDn: MANAGED }, BOT);
      expect(await target.check(target.handleFor({ type: 'ldap', groupDn: MANAGED }, BOT))).toBe(true);
      expect(await target.listMembers({ type: 'ldap', groupDn: MANAGED })).toEqual([BOT]);
      await target.revoke(target.handleFor({ type: 'ldap', groupDn: MANAGED }, BOT));
      expect(await target.check(target.handleFor({ type: 'ldap', groupDn: MANAGED }, BOT))).toBe(false);
      await target.ping();
    } finally {
      await target.close();
    }
  });

  it("when Elevate's account looks up approvers, then it finds them by mail in the approver group", async () => {
    const directory = new LdapApproverDirectory({
      url,
      bindDn: ELEVATE_DN,
      bindPassword: 'first-Password-7',
    });
    expect(await directory.isMember(APPROVERS, 'alice@example.org')).toBe(true);
    expect(await directory.isMember(APPROVERS, 'mallory@example.org')).toBe(false);
    expect((await directory.memberEmails(APPROVERS)).sort()).toEqual([
      'alice@example.org',
      'bob@example.org',
    ]);
  });

  it("when Elevate's account tries to make an approver, change a person's mail or password, or change a group, then the directory refuses", async () => {
    const client = await asElevate('first-Password-7');
    try {
      const add = (attr: string, value: string) =>
        new Change({ operation: 'add', modification: new Attribute({ type: attr, values: [value] }) });
      const replace = (attr: string, value: string) =>
        new Change({ operation: 'replace', modification: new Attribute({ type: attr, values: [value] }) });
      await expect(client.modify(APPROVERS, add('member', BOT))).rejects.toBeInstanceOf(
        InsufficientAccessError,
      );
      await expect(
        client.modify('uid=alice,ou=people,dc=example,dc=org', replace('mail', 'mallory@example.org')),
      ).rejects.toBeInstanceOf(InsufficientAccessError);
      // Not a person's password either: with it, Elevate's account could log in as an approver.
      await expect(
        client.modify('uid=alice,ou=people,dc=example,dc=org', replace('userPassword', 'taken-over-1')),
      ).rejects.toBeInstanceOf(InsufficientAccessError);
      // Nor its own entry beyond its password (no rights can be granted through it).
      await expect(client.modify(ELEVATE_DN, replace('description', 'root now'))).rejects.toBeInstanceOf(
        InsufficientAccessError,
      );
      await expect(client.modify(MANAGED, replace('description', 'changed'))).rejects.toBeInstanceOf(
        InsufficientAccessError,
      );
      await expect(
        client.add('cn=sneaky,ou=groups,dc=example,dc=org', {
          objectClass: 'groupOfNames',
          cn: 'sneaky',
          member: BOT,
        }),
      ).rejects.toBeInstanceOf(InsufficientAccessError);
    } finally {
      await client.unbind();
    }
  });

  it('when a client has not bound, then it can read nothing below the suffix', async () => {
    const client = new Client({ url });
    try {
      const { searchEntries } = await client
        .search('dc=example,dc=org', { scope: 'sub', filter: '(mail=*)' })
        .catch(() => ({ searchEntries: [] }));
      expect(searchEntries).toEqual([]);
    } finally {
      await client.unbind();
    }
  });

  it('when the password file changes and the directory restarts, then only the new password binds', async () => {
    await stopDirectory();
    writeFileSync(passwordFile, 'second-Password-8', { mode: 0o600 });
    await startDirectory();
    await expect(asElevate('first-Password-7')).rejects.toBeInstanceOf(InvalidCredentialsError);
    const client = await asElevate('second-Password-8');
    await client.unbind();
    // The data survived the restart: the seed was not loaded again over it.
    expect(output).not.toMatch(/empty database/);
  });
});
