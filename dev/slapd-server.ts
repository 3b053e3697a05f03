/**
 * Runs a private OpenLDAP server (`slapd`) as a child process on a loopback port, for the
 * integration tests, the embedded runtime (`npm start`) and the benchmarks.
 *
 * Everything lives in one data directory:
 * - `slapd.conf`  old-style configuration, rewritten on every start (mode 0600; the root
 *                 password is stored only as a salted `{SSHA}` hash);
 * - `db/`         the mdb database; it survives stops and restarts, and the seed LDIF is
 *                 applied with `slapadd` only when it does not exist yet;
 * - `accesslog/`  only with `accessLog: true`: slapd's own record of every successful write,
 *                 the `cn=accesslog` database of the `accesslog` overlay;
 * - `slapd.pid`   written by slapd itself, so that a later start can stop a slapd orphaned by
 *                 a parent that crashed (child processes outlive their parent on Linux).
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { accessSync, constants as fsConstants, existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Client } from 'ldapts';
import { isValidDn } from '../core/rules/dn.js';

const execFileAsync = promisify(execFile);

/** Options of {@link startSlapd}. */
export interface StartSlapdOptions {
  /** Directory for configuration, database and pidfile; created if missing, kept on stop. */
  dataDir: string;
  /** Loopback port to listen on; a free one is chosen when omitted. */
  port?: number;
  /** Suffix of the one database (default `dc=example,dc=org`). */
  suffix?: string;
  /** Root DN, which bypasses access control (default `cn=admin,<suffix>`). */
  rootDn?: string;
  /** Root password; written to `slapd.conf` only as an `{SSHA}` hash. */
  rootPassword: string;
  /** LDIF text loaded with `slapadd` only when the database is new. */
  seedLdif?: string;
  /** Receives slapd's own output (errors and start/stop notices) and the launcher's notices. */
  logger?: (line: string) => void;
  /** How long to wait for slapd to accept a bind (default 15 s). */
  startTimeoutMs?: number;
  /**
   * Loads the `accesslog` overlay: every successful write to the database is recorded, with
   * slapd's own start and end times, under {@link ACCESS_LOG_SUFFIX}, which only the root DN
   * can read (see `slapd-access-log.ts`). Entries older than a day are purged every hour.
   * Off by default: the configuration is then exactly what it is without this option.
   */
  accessLog?: boolean;
}

/** A running slapd started by {@link startSlapd}. */
export interface SlapdServer {
  /** `ldap://127.0.0.1:<port>/` */
  readonly url: string;
  readonly port: number;
  readonly suffix: string;
  readonly rootDn: string;
  readonly rootPassword: string;
  /** {@link ACCESS_LOG_SUFFIX} when started with `accessLog: true`, otherwise undefined. */
  readonly accessLogSuffix: string | undefined;
  /** Process id of the current slapd (changes on {@link SlapdServer.restart}). */
  readonly pid: number;
  /** Sends SIGTERM and waits for slapd to exit (SIGKILL after 10 s). Safe to call twice. */
  stop(): Promise<void>;
  /** Stops slapd if it runs, then starts it again on the same port with the same data. */
  restart(): Promise<void>;
  /** Sends SIGKILL without waiting, as a crash would; `stop()` then waits for the exit. */
  kill(): void;
}

/** slapd could not be found, seeded or started; `output` holds the tail of its output. */
export class SlapdError extends Error {
  override readonly name = 'SlapdError';
  constructor(
    message: string,
    readonly output = '',
  ) {
    super(output ? `${message}\n--- slapd output ---\n${output}` : message);
  }
}

const DEFAULT_SUFFIX = 'dc=example,dc=org';
/** Suffix of the access log's database when {@link StartSlapdOptions.accessLog} is on. */
export const ACCESS_LOG_SUFFIX = 'cn=accesslog';
/**
 * The access log keeps a day of writes and is purged every hour (`logpurge <age> <interval>`,
 * `[days+]hh:mm`), so a long-running slapd does not fill its map; a day of benchmark writes
 * (each modify leaves an entry of well under 1 KiB) fits in {@link ACCESS_LOG_MAXSIZE_BYTES}.
 */
const ACCESS_LOG_PURGE = '1+00:00 01:00';
const ACCESS_LOG_MAXSIZE_BYTES = 512 * 1024 * 1024;
const DEFAULT_START_TIMEOUT_MS = 15_000;
const STOP_TIMEOUT_MS = 10_000;
/** mdb map size: ample for tests and benchmarks (about 100k small entries), small on disk. */
const MDB_MAXSIZE_BYTES = 64 * 1024 * 1024;
const OUTPUT_TAIL_LINES = 40;
const SETUP_HINT = 'install OpenLDAP by running scripts/setup';

const SBIN_DIRS = [
  '/usr/sbin',
  '/usr/local/sbin',
  '/usr/local/opt/openldap/libexec',
  '/opt/homebrew/opt/openldap/libexec',
];
const MODULE_DIRS = [
  '/usr/lib/ldap',
  '/usr/lib/openldap',
  '/usr/lib64/openldap',
  '/usr/libexec/openldap',
  '/usr/local/libexec/openldap',
];
const SCHEMA_DIRS = [
  '/etc/ldap/schema',
  '/etc/openldap/schema',
  '/usr/local/etc/openldap/schema',
  '/opt/homebrew/etc/openldap/schema',
];
const SCHEMAS = ['core', 'cosine', 'inetorgperson', 'nis'];

/** Servers of this process that are still running, stopped if the process exits first. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Without this, a test runner or runtime that exits without calling stop() leaves slapd
  // running and holding its port. The next start would clean up via the pidfile, but only
  // for the same data directory; temporary test directories are never started again.
  process.once('exit', () => {
    for (const child of live) child.kill('SIGTERM');
  });
}

function findExecutable(name: string): string {
  const pathDirs = (process.env['PATH'] ?? '').split(path.delimiter).filter(Boolean);
  for (const dir of [...SBIN_DIRS, ...pathDirs]) {
    const candidate = path.join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      return candidate;
    } catch {
      // not here; keep looking
    }
  }
  throw new SlapdError(`${name} was not found in ${SBIN_DIRS.join(', ')} or PATH: ${SETUP_HINT}`);
}

function findDir(candidates: string[], markers: string[]): string | undefined {
  return candidates.find((dir) => markers.some((file) => existsSync(path.join(dir, file))));
}

/** `{SSHA}` as slappasswd computes it: base64(SHA-1(password ‖ salt) ‖ salt). */
function sshaHash(password: string): string {
  const salt = randomBytes(8);
  const digest = createHash('sha1').update(password, 'utf8').update(salt).digest();
  return `{SSHA}${Buffer.concat([digest, salt]).toString('base64')}`;
}

/** Refuses values that would break out of a double-quoted slapd.conf argument. */
function confQuote(what: string, value: string): string {
  if (/["\\\r\n]/.test(value)) {
    throw new SlapdError(`${what} must not contain quotes, backslashes or newlines`);
  }
  return `"${value}"`;
}

/**
 * The access log's own database, which must come before the database it logs. Only the main
 * database's root DN may read it: a root DN bypasses access control in its own database only,
 * so that DN is named in the ACL, and in `limits`, because slapd's default size limit (500
 * entries, paged searches included) would otherwise cut a long log short.
 */
function accessLogDatabase(dataDir: string, rootDn: string): string[] {
  const root = confQuote('root DN', rootDn);
  return [
    'database mdb',
    `maxsize ${ACCESS_LOG_MAXSIZE_BYTES}`,
    `suffix ${confQuote('suffix', ACCESS_LOG_SUFFIX)}`,
    `directory ${confQuote('data directory', path.join(dataDir, 'accesslog'))}`,
    'index objectClass,reqStart,reqType eq',
    `limits dn.exact=${root} size=unlimited time=unlimited`,
    // Logged modifies carry the values written, so a password change would be readable here.
    'access to *',
    `  by dn.exact=${root} read`,
    '  by * none',
    '',
  ];
}

/** The overlay on the main database, writing successful writes to the log above. */
const ACCESS_LOG_OVERLAY = [
  'overlay accesslog',
  `logdb ${ACCESS_LOG_SUFFIX}`,
  'logops writes',
  'logsuccess TRUE',
  `logpurge ${ACCESS_LOG_PURGE}`,
  '',
];

function slapdConf(
  dataDir: string,
  suffix: string,
  rootDn: string,
  rootPassword: string,
  accessLog: boolean,
): string {
  const schemaDir = findDir(SCHEMA_DIRS, ['core.schema']);
  if (!schemaDir) {
    throw new SlapdError(`OpenLDAP schema directory not found in ${SCHEMA_DIRS.join(', ')}: ${SETUP_HINT}`);
  }
  // A slapd without a module directory has back_mdb built in (e.g. some source builds).
  const moduleDir = findDir(MODULE_DIRS, ['back_mdb.la', 'back_mdb.so']);
  // The same goes for the overlay; a module directory without it means a package that lacks it.
  if (accessLog && moduleDir && !findDir([moduleDir], ['accesslog.la', 'accesslog.so'])) {
    throw new SlapdError(`the accesslog overlay is not in ${moduleDir}: ${SETUP_HINT}`);
  }
  return [
    '# Written by Elevate (dev/slapd-server.ts) on every start; edits are lost.',
    ...SCHEMAS.map((name) => `include ${confQuote('schema path', path.join(schemaDir, `${name}.schema`))}`),
    `pidfile ${confQuote('data directory', path.join(dataDir, 'slapd.pid'))}`,
    `argsfile ${confQuote('data directory', path.join(dataDir, 'slapd.args'))}`,
    ...(moduleDir ? [`modulepath ${confQuote('module path', moduleDir)}`, 'moduleload back_mdb'] : []),
    ...(moduleDir && accessLog ? ['moduleload accesslog'] : []),
    '',
    // Passwords serve to authenticate and are never read back (an entry may change its own);
    // everything else is readable by all. Writes are otherwise left to the root DN, which
    // bypasses access control, so any other bind DN can be used to test "access denied".
    'access to attrs=userPassword',
    '  by self write',
    '  by anonymous auth',
    '  by * none',
    'access to *',
    '  by * read',
    '',
    ...(accessLog ? accessLogDatabase(dataDir, rootDn) : []),
    'database mdb',
    `maxsize ${MDB_MAXSIZE_BYTES}`,
    `suffix ${confQuote('suffix', suffix)}`,
    `rootdn ${confQuote('root DN', rootDn)}`,
    `rootpw ${sshaHash(rootPassword)}`,
    `directory ${confQuote('data directory', path.join(dataDir, 'db'))}`,
    'index objectClass eq',
    '',
    ...(accessLog ? ACCESS_LOG_OVERLAY : []),
  ].join('\n');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not determine a free port'));
      });
    });
  });
}

/**
 * Fails clearly when the port is taken. Without this check slapd would exit, but the readiness
 * bind could first reach whatever server holds the port and mistake it for ours.
 */
async function assertPortFree(port: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        err.code === 'EADDRINUSE'
          ? new SlapdError(`cannot start slapd: port ${port} on 127.0.0.1 is already in use`)
          : new SlapdError(`cannot start slapd on port ${port}: ${err.message}`),
      );
    });
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  // An orphan reparented to an init that does not reap stays a zombie: dead for our purposes.
  try {
    return !/\)\s+Z\s/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true; // no /proc on this system: trust kill(0)
  }
}

async function commandLineOf(pid: number): Promise<string | undefined> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').join(' ').trim();
  } catch {
    // no /proc (macOS): ask ps
  }
  try {
    const { stdout } = await execFileAsync('ps', ['-o', 'command=', '-p', String(pid)]);
    return stdout.trim();
  } catch {
    return undefined;
  }
}

async function waitUntilDead(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isAlive(pid)) return true;
    await sleep(50);
  }
  return !isAlive(pid);
}

/**
 * Stops a slapd that an earlier run started on this data directory and never stopped. The
 * command line must name this directory's slapd.conf, so a reused pid is never killed.
 */
async function stopStaleSlapd(dataDir: string, confPath: string, log: (line: string) => void): Promise<void> {
  const pidFile = path.join(dataDir, 'slapd.pid');
  let text: string;
  try {
    text = await readFile(pidFile, 'utf8');
  } catch {
    return;
  }
  const pid = Number.parseInt(text.trim(), 10);
  if (Number.isInteger(pid) && pid > 0 && isAlive(pid)) {
    const command = await commandLineOf(pid);
    if (command?.includes('slapd') && command.includes(confPath)) {
      log(`stopping stale slapd (pid ${pid}) left running by an earlier process`);
      process.kill(pid, 'SIGTERM');
      if (!(await waitUntilDead(pid, STOP_TIMEOUT_MS))) {
        process.kill(pid, 'SIGKILL');
        if (!(await waitUntilDead(pid, 2_000))) {
          throw new SlapdError(`stale slapd (pid ${pid}) for ${dataDir} does not exit even after SIGKILL`);
        }
      }
    } else {
      log(`pidfile names pid ${pid}, which is not this directory's slapd; leaving that process alone`);
    }
  }
  await rm(pidFile, { force: true });
}

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

interface Running {
  child: ChildProcess;
  exited: Promise<Exit>;
  /** Last lines slapd printed, for error messages. */
  output: string[];
}

function describeExit(exit: Exit): string {
  if (exit.error) return `could not be run (${exit.error.message})`;
  return exit.signal ? `was killed by ${exit.signal}` : `exited with code ${String(exit.code)}`;
}

async function seedDatabase(
  slapadd: string,
  dataDir: string,
  confPath: string,
  ldif: string,
  log: (line: string) => void,
  suffix: string | undefined,
): Promise<void> {
  const seedPath = path.join(dataDir, 'seed.ldif');
  await writeFile(seedPath, ldif, { mode: 0o600 });
  try {
    // Without -b, slapadd loads the first database: the access log's, when there is one.
    const database = suffix === undefined ? [] : ['-b', suffix];
    // -q (quick): no per-entry consistency checks or syncs. 50,000 bots load in under a second
    // instead of 20-45 s; a load that fails leaves a database that is removed below anyway.
    await execFileAsync(slapadd, ['-q', '-f', confPath, ...database, '-l', seedPath], { timeout: 120_000 });
    log('seeded new database');
  } catch (err) {
    // Leave no half-loaded database behind, so the next start seeds again from scratch.
    await rm(path.join(dataDir, 'db'), { recursive: true, force: true });
    const e = err as { stderr?: string; message: string };
    throw new SlapdError('slapadd could not load the seed LDIF', (e.stderr ?? e.message).trim());
  } finally {
    await rm(seedPath, { force: true });
  }
}

/**
 * Starts slapd on `ldap://127.0.0.1:<port>/` with one mdb database (two with `accessLog`),
 * seeding it when it is new, and resolves once it accepts a bind as the root DN.
 *
 * @throws {SlapdError} when slapd or slapadd is not installed (the message says to run
 *   `scripts/setup`), the port is taken, the seed does not load, or slapd does not come up
 *   (the message includes slapd's output).
 */
export async function startSlapd(opts: StartSlapdOptions): Promise<SlapdServer> {
  const slapd = findExecutable('slapd');
  const slapadd = findExecutable('slapadd');
  const log = opts.logger ?? ((): void => undefined);
  const dataDir = path.resolve(opts.dataDir);
  const suffix = opts.suffix ?? DEFAULT_SUFFIX;
  const rootDn = opts.rootDn ?? `cn=admin,${suffix}`;
  const { rootPassword } = opts;
  const startTimeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  if (!isValidDn(suffix)) throw new SlapdError(`suffix ${JSON.stringify(suffix)} is not a valid DN`);
  if (!isValidDn(rootDn)) throw new SlapdError(`root DN ${JSON.stringify(rootDn)} is not a valid DN`);
  if (!rootPassword) throw new SlapdError('rootPassword must not be empty');
  if (opts.port !== undefined && !(Number.isInteger(opts.port) && opts.port > 0 && opts.port < 65536)) {
    throw new SlapdError(`port ${opts.port} is not a TCP port number`);
  }

  const accessLog = opts.accessLog ?? false;
  await mkdir(path.join(dataDir, 'db'), { recursive: true, mode: 0o700 });
  if (accessLog) await mkdir(path.join(dataDir, 'accesslog'), { recursive: true, mode: 0o700 });
  const confPath = path.join(dataDir, 'slapd.conf');
  await stopStaleSlapd(dataDir, confPath, log);
  await writeFile(confPath, slapdConf(dataDir, suffix, rootDn, rootPassword, accessLog), { mode: 0o600 });
  if (opts.seedLdif !== undefined && !existsSync(path.join(dataDir, 'db', 'data.mdb'))) {
    await seedDatabase(slapadd, dataDir, confPath, opts.seedLdif, log, accessLog ? suffix : undefined);
  }

  const spawnSlapd = (port: number): Running => {
    const url = `ldap://127.0.0.1:${port}/`;
    // `-d none` keeps slapd in the foreground (any -d does) and prints only what it always
    // logs: start, stop and errors such as "bind(6) failed errno=98 (Address already in use)".
    const child = spawn(slapd, ['-f', confPath, '-h', url, '-d', 'none'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const output: string[] = [];
    const onData = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        output.push(line);
        if (output.length > OUTPUT_TAIL_LINES) output.shift();
        log(line);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    const exited = new Promise<Exit>((resolve) => {
      child.once('error', (error) => resolve({ code: null, signal: null, error }));
      child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    live.add(child);
    installExitHook();
    void exited.then(() => live.delete(child));
    return { child, exited, output };
  };

  const waitReady = async (running: Running, url: string): Promise<void> => {
    let exit: Exit | undefined;
    void running.exited.then((e) => (exit = e));
    const deadline = Date.now() + startTimeoutMs;
    let lastError = '';
    while (Date.now() < deadline) {
      if (exit) {
        throw new SlapdError(
          `slapd ${describeExit(exit)} before accepting connections on ${url}`,
          running.output.join('\n'),
        );
      }
      const client = new Client({ url, connectTimeout: 1_000, timeout: 2_000 });
      try {
        await client.bind(rootDn, rootPassword);
        await client.unbind();
        if (!exit) return;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
        await client.unbind().catch(() => undefined);
      }
      await sleep(50);
    }
    running.child.kill('SIGKILL');
    throw new SlapdError(
      `slapd did not accept a bind on ${url} within ${startTimeoutMs} ms (last error: ${lastError})`,
      running.output.join('\n'),
    );
  };

  const launch = async (port: number): Promise<Running> => {
    await assertPortFree(port);
    const running = spawnSlapd(port);
    await waitReady(running, `ldap://127.0.0.1:${port}/`);
    log(`slapd (pid ${String(running.child.pid)}) listening on ldap://127.0.0.1:${port}/`);
    return running;
  };

  let port = opts.port ?? (await freePort());
  let running: Running;
  for (let attempt = 1; ; attempt++) {
    try {
      running = await launch(port);
      break;
    } catch (err) {
      // A port chosen by us can be taken by someone else between the check and slapd's bind.
      const raced = err instanceof SlapdError && /already in use|errno=98/.test(err.message);
      if (opts.port !== undefined || !raced || attempt >= 3) throw err;
      port = await freePort();
    }
  }

  const stop = async (): Promise<void> => {
    const { child, exited } = running;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), STOP_TIMEOUT_MS);
    });
    try {
      if ((await Promise.race([exited, timedOut])) === 'timeout') {
        log(`slapd (pid ${String(child.pid)}) ignored SIGTERM for ${STOP_TIMEOUT_MS} ms; sending SIGKILL`);
        child.kill('SIGKILL');
        await exited;
      }
    } finally {
      clearTimeout(timer);
    }
  };

  const url = `ldap://127.0.0.1:${port}/`;
  return {
    url,
    port,
    suffix,
    rootDn,
    rootPassword,
    accessLogSuffix: accessLog ? ACCESS_LOG_SUFFIX : undefined,
    get pid(): number {
      return running.child.pid ?? -1;
    },
    stop,
    restart: async () => {
      await stop();
      running = await launch(port);
    },
    kill: () => {
      running.child.kill('SIGKILL');
    },
  };
}
