/**
 * Throwaway PostgreSQL clusters for integration tests: Debian's PostgreSQL binaries, a data
 * directory in a fresh temp dir, a free loopback port, trust authentication and no fsync.
 * Each call to {@link startPostgres} starts its own server; `stop()` removes every trace.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { freePort } from './processes.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** A running throwaway PostgreSQL server. */
export interface PostgresServer {
  /** Superuser URL of the `postgres` database (no password: trust authentication). */
  url: string;
  /** Stops the server and deletes its data directory. Safe to call twice. */
  stop(): Promise<void>;
}

const POSTGRES_ROOT = '/usr/lib/postgresql';
const SYSTEM_USER = 'postgres';

/**
 * Starts a fresh PostgreSQL cluster on a free loopback port.
 *
 * @throws Error naming the failing step, with initdb's or pg_ctl's output and the server log
 */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = findBinDir();
  const dir = await mkdtemp(join(tmpdir(), 'elevate-pg-'));
  const data = join(dir, 'data');
  const log = join(dir, 'server.log');
  // initdb and postgres refuse to run as root; the cluster then belongs to the postgres user.
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const { uid, gid } = systemUser(SYSTEM_USER);
    chownSync(dir, uid, gid);
  }
  const run = (tool: string, args: string[]) =>
    runTool(
      asRoot ? 'runuser' : join(bin, tool),
      asRoot ? ['-u', SYSTEM_USER, '--', join(bin, tool), ...args] : args,
      dir,
    );

  let started = false;
  const cleanUp = async () => {
    if (started) {
      started = false;
      await run('pg_ctl', ['stop', '-D', data, '-m', 'immediate', '-w']).catch(() => undefined);
    }
    await rm(dir, { recursive: true, force: true });
  };
  // If the test process ends without calling stop(), do not leave a server running.
  const onExit = () => {
    if (!started) return;
    try {
      const pgCtl = join(bin, 'pg_ctl');
      const args = ['stop', '-D', data, '-m', 'immediate', '-w'];
      execFileSync(asRoot ? 'runuser' : pgCtl, asRoot ? ['-u', SYSTEM_USER, '--', pgCtl, ...args] : args, {
        stdio: 'ignore',
      });
    } catch {
      // Best effort at exit.
    }
  };
  process.once('exit', onExit);

  try {
    await run('initdb', [
      '-D',
      data,
      '--auth=trust',
      '--username=postgres',
      '--encoding=UTF8',
      '--locale=C',
      '--no-sync',
    ]).catch((error: Error) => {
      throw new Error(`initdb failed: ${error.message}`);
    });
    const port = await freePort();
    const options = [
      '-c listen_addresses=127.0.0.1',
      `-p ${port}`,
      `-k ${dir}`,
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=200',
    ].join(' ');
    await run('pg_ctl', ['start', '-D', data, '-l', log, '-w', '-t', '60', '-o', options]).catch(
      (error: Error) => {
        const serverLog = existsSync(log) ? readFileSync(log, 'utf8').slice(-4000) : '(no server log)';
        throw new Error(`pg_ctl start failed: ${error.message}\n--- server log ---\n${serverLog}`);
      },
    );
    started = true;
    return {
      url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
      stop: async () => {
        process.removeListener('exit', onExit);
        await cleanUp();
      },
    };
  } catch (error) {
    process.removeListener('exit', onExit);
    await cleanUp();
    throw error;
  }
}

/**
 * Creates an empty database on the server behind `url` and returns its URL, so test files
 * (or single tests) can share one server without sharing tables.
 *
 * @param name - a plain lower-case identifier (letters, digits, underscores)
 */
export async function createDatabase(url: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const created = new URL(url);
  created.pathname = `/${name}`;
  return created.toString();
}

/** The newest installed PostgreSQL's bin directory, e.g. /usr/lib/postgresql/15/bin. */
function findBinDir(): string {
  const versions = existsSync(POSTGRES_ROOT)
    ? readdirSync(POSTGRES_ROOT)
        .filter((name) => /^\d+$/.test(name) && existsSync(join(POSTGRES_ROOT, name, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) {
    throw new Error(
      `no PostgreSQL server binaries under ${POSTGRES_ROOT}/<version>/bin (apt install postgresql)`,
    );
  }
  return join(POSTGRES_ROOT, newest, 'bin');
}

function systemUser(name: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${name}:`));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error(`running as root, but there is no "${name}" system user to run PostgreSQL as`);
  }
  return { uid: Number(uid), gid: Number(gid) };
}

/** Runs a command; rejects with its exit status and output. */
function runTool(command: string, args: string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    // cwd is the temp dir: the postgres user may not be allowed into the caller's directory.
    execFile(command, args, { cwd, timeout: 120_000 }, (error, stdout, stderr) => {
      if (!error) {
        resolve();
        return;
      }
      const output = [stderr.trim(), stdout.trim()].filter(Boolean).join('\n');
      reject(new Error(`${error.message.split('\n')[0]}${output ? `\n${output}` : ''}`));
    });
  });
}
