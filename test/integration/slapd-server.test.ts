/**
 * The slapd launcher against the real slapd: seeding, persistence, restart, stale processes
 * left by a crashed parent, and the errors a developer sees when something is in the way.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Client } from 'ldapts';
import { afterEach, describe, expect, it } from 'vitest';
import { seedLdif } from '../../dev/ldap-seed.js';
import { SlapdError, startSlapd, type SlapdServer } from '../../dev/slapd-server.js';

const SUFFIX = 'dc=example,dc=org';
const PASSWORD = 'launcher-Secret-31';
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'elevate-slapd-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function start(opts: Parameters<typeof startSlapd>[0]): Promise<SlapdServer> {
  const server = await startSlapd(opts);
  cleanups.push(() => server.stop());
  return server;
}

/** DNs of every entry under the suffix, read as the root DN. */
async function entries(server: SlapdServer, filter = '(objectClass=*)'): Promise<Record<string, unknown>[]> {
  const client = new Client({ url: server.url, connectTimeout: 2_000, timeout: 5_000 });
  try {
    await client.bind(server.rootDn, server.rootPassword);
    const { searchEntries } = await client.search(server.suffix, { scope: 'sub', filter });
    return searchEntries;
  } finally {
    await client.unbind();
  }
}

/** Whether `pid` runs; a zombie counts as gone (orphans here are reparented to an init that may never reap them). */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/\)\s+Z\s/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

async function holdPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const holder = net.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const port = (holder.address() as net.AddressInfo).port;
  return { port, close: () => new Promise<void>((resolve) => holder.close(() => resolve())) };
}

describe('startSlapd', () => {
  it('when the data directory is new, then it seeds it, listens on loopback and keeps only a hash of the password', async () => {
    const dataDir = await tempDir();
    const server = await start({
      dataDir,
      rootPassword: PASSWORD,
      seedLdif: seedLdif(SUFFIX, { bots: ['b1'], groups: ['g1'] }),
    });

    expect(server.url).toBe(`ldap://127.0.0.1:${server.port}/`);
    expect(server.rootDn).toBe(`cn=admin,${SUFFIX}`);
    expect(isAlive(server.pid)).toBe(true);
    const dns = (await entries(server)).map((e) => e['dn']);
    expect(dns).toEqual(
      expect.arrayContaining([`uid=b1,ou=bots,${SUFFIX}`, `cn=g1,ou=groups,${SUFFIX}`]) as unknown,
    );
    const conf = await readFile(path.join(dataDir, 'slapd.conf'), 'utf8');
    expect(conf).not.toContain(PASSWORD);
    expect(conf).toMatch(/^rootpw \{SSHA\}\S+$/m);
    expect(await readFile(path.join(dataDir, 'slapd.pid'), 'utf8')).toContain(String(server.pid));
  });

  it('when loading the demo directory, then its groups hold only the placeholder and approvers have e-mail addresses', async () => {
    const demo = await readFile(path.join(REPO_ROOT, 'examples/demo-directory.ldif'), 'utf8');
    const server = await start({ dataDir: await tempDir(), rootPassword: PASSWORD, seedLdif: demo });

    const groups = await entries(server, '(objectClass=groupOfNames)');
    expect(groups.map((g) => [g['dn'], g['member']])).toEqual(
      expect.arrayContaining([
        [`cn=demo-auto,ou=groups,${SUFFIX}`, 'cn=placeholder'],
        [`cn=demo-approval,ou=groups,${SUFFIX}`, 'cn=placeholder'],
      ]) as unknown,
    );
    const people = await entries(server, '(mail=*)');
    expect(people.map((p) => p['mail']).sort()).toEqual(['alice@example.org', 'bob@example.org']);
    expect((await entries(server, '(uid=demo-bot)')).map((e) => e['dn'])).toEqual([
      `uid=demo-bot,ou=bots,${SUFFIX}`,
    ]);
  });

  it('when started again on the same data directory, then the data is kept and the seed is not applied again', async () => {
    const dataDir = await tempDir();
    const seed = seedLdif(SUFFIX, { bots: ['keep', 'gone'], groups: [] });
    const first = await startSlapd({ dataDir, rootPassword: PASSWORD, seedLdif: seed });
    const client = new Client({ url: first.url });
    await client.bind(first.rootDn, PASSWORD);
    await client.del(`uid=gone,ou=bots,${SUFFIX}`);
    await client.unbind();
    await first.stop();

    const second = await start({ dataDir, rootPassword: PASSWORD, seedLdif: seed });
    const dns = (await entries(second, '(objectClass=account)')).map((e) => e['dn']);
    expect(dns).toEqual([`uid=keep,ou=bots,${SUFFIX}`]);
  });

  it('when restarted, then it comes back on the same port with the same data and a new pid', async () => {
    const server = await start({
      dataDir: await tempDir(),
      rootPassword: PASSWORD,
      seedLdif: seedLdif(SUFFIX, { bots: ['r1'], groups: [] }),
    });
    const { port, pid } = server;
    await server.restart();
    expect(server.port).toBe(port);
    expect(server.pid).not.toBe(pid);
    expect(isAlive(pid)).toBe(false);
    expect((await entries(server, '(uid=r1)')).length).toBe(1);
  });

  it('when stopped twice, or killed and then stopped, then both calls resolve and the process is gone', async () => {
    const server = await start({ dataDir: await tempDir(), rootPassword: PASSWORD });
    const { pid } = server;
    await server.stop();
    await server.stop();
    expect(isAlive(pid)).toBe(false);

    await server.restart();
    const second = server.pid;
    server.kill();
    await server.stop();
    expect(isAlive(second)).toBe(false);
  });

  it('when a port is given, then it listens there', async () => {
    const { port, close } = await holdPort();
    await close(); // now known to be free
    const server = await start({ dataDir: await tempDir(), rootPassword: PASSWORD, port });
    expect(server.port).toBe(port);
    expect(server.url).toBe(`ldap://127.0.0.1:${port}/`);
  });

  it('when the given port is taken, then it fails with an error naming the port', async () => {
    const holder = await holdPort();
    cleanups.push(holder.close);
    const error = await startSlapd({
      dataDir: await tempDir(),
      rootPassword: PASSWORD,
      port: holder.port,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlapdError);
    expect((error as Error).message).toContain(`port ${holder.port} on 127.0.0.1 is already in use`);
  });

  it('when a slapd is left running by a parent that crashed, then the next start on that directory stops it first', async () => {
    const dataDir = await tempDir();
    const script = path.join(dataDir, 'crashing-parent.mts');
    const launcher = pathToFileURL(path.join(REPO_ROOT, 'dev/slapd-server.ts')).href;
    await writeFile(
      script,
      [
        `import { startSlapd } from ${JSON.stringify(launcher)};`,
        `const s = await startSlapd({ dataDir: ${JSON.stringify(dataDir)}, rootPassword: ${JSON.stringify(PASSWORD)} });`,
        'console.log(`READY ${s.pid}`);',
        'setInterval(() => undefined, 1000);',
      ].join('\n'),
    );
    const parent = spawn(process.execPath, ['--import', 'tsx', script], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    parent.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const orphanPid = await new Promise<number>((resolve, reject) => {
      parent.stdout.on('data', (d: Buffer) => {
        const match = /READY (\d+)/.exec(d.toString());
        if (match?.[1]) resolve(Number(match[1]));
      });
      parent.once('exit', (code) => reject(new Error(`parent exited early (${String(code)}): ${stderr}`)));
    });
    // Whatever happens below, never leave the orphan running.
    cleanups.push(async () => {
      if (isAlive(orphanPid)) process.kill(orphanPid, 'SIGKILL');
      await Promise.resolve();
    });
    parent.kill('SIGKILL'); // a crash: no exit handlers run, slapd survives its parent
    await new Promise((resolve) => parent.once('exit', resolve));
    expect(isAlive(orphanPid)).toBe(true);

    const logs: string[] = [];
    const server = await start({ dataDir, rootPassword: PASSWORD, logger: (line) => logs.push(line) });
    expect(isAlive(orphanPid)).toBe(false);
    expect(server.pid).not.toBe(orphanPid);
    expect(logs.join('\n')).toContain(`stopping stale slapd (pid ${orphanPid})`);
  });

  it('when the pidfile names a process that is not this directory’s slapd, then that process is left alone', async () => {
    const dataDir = await tempDir();
    await writeFile(path.join(dataDir, 'slapd.pid'), `${process.pid}\n`);
    const logs: string[] = [];
    const server = await start({ dataDir, rootPassword: PASSWORD, logger: (line) => logs.push(line) });
    expect(isAlive(process.pid)).toBe(true);
    expect(logs.join('\n')).toContain('not this directory');
    expect(await readFile(path.join(dataDir, 'slapd.pid'), 'utf8')).toContain(String(server.pid));
  });

  it('when the pidfile names a process that no longer exists, then the start goes ahead', async () => {
    const dataDir = await tempDir();
    await writeFile(path.join(dataDir, 'slapd.pid'), '2147483646\n');
    const server = await start({ dataDir, rootPassword: PASSWORD });
    expect(isAlive(server.pid)).toBe(true);
  });

  it('when the seed LDIF is broken, then it fails with slapadd’s message and a later start can seed again', async () => {
    const dataDir = await tempDir();
    const error = await startSlapd({
      dataDir,
      rootPassword: PASSWORD,
      seedLdif: 'dn: this is not ldif\nfoo\n',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlapdError);
    expect((error as Error).message).toContain('slapadd could not load the seed LDIF');
    expect((error as SlapdError).output).not.toBe('');

    const server = await start({
      dataDir,
      rootPassword: PASSWORD,
      seedLdif: seedLdif(SUFFIX, { bots: ['later'], groups: [] }),
    });
    expect((await entries(server, '(uid=later)')).length).toBe(1);
  });

  it('when slapd cannot open its database, then the error says so and includes slapd’s own output', async () => {
    const dataDir = await tempDir();
    const first = await startSlapd({ dataDir, rootPassword: PASSWORD });
    await first.stop();
    await writeFile(path.join(dataDir, 'db', 'data.mdb'), 'not an mdb file');
    const error = await startSlapd({ dataDir, rootPassword: PASSWORD }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlapdError);
    expect((error as Error).message).toMatch(/slapd exited with code \d+ before accepting connections/);
    expect((error as SlapdError).output).toMatch(/mdb/i);
  });

  it('when options are malformed, then it refuses before starting anything', async () => {
    const dataDir = await tempDir();
    await expect(startSlapd({ dataDir, rootPassword: '' })).rejects.toThrow(/rootPassword/);
    await expect(startSlapd({ dataDir, rootPassword: PASSWORD, suffix: 'dc=a,' })).rejects.toThrow(/suffix/);
    await expect(startSlapd({ dataDir, rootPassword: PASSWORD, port: 70_000 })).rejects.toThrow(/port/);
  });
});
