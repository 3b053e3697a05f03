/**
 * PostgreSQL role membership as a {@link Target}: a grant runs `GRANT <role> TO <login>`, a
 * revoke runs `REVOKE <role> FROM <login>`, and both read `pg_auth_members` first, so a change
 * that is already in place succeeds without touching the server.
 *
 * Elevate connects as an account of its own, not a superuser: on PostgreSQL 15 and older a
 * role with `CREATEROLE` may grant any non-superuser role; from PostgreSQL 16 on, the account
 * needs `ADMIN OPTION` on each role it grants (`GRANT role TO elevate WITH ADMIN OPTION`).
 *
 * Names. Role and login names are always sent as quoted identifiers, so a name is only ever
 * a name: `a"; DROP ROLE x; --` is looked up as that literal (and almost surely missing) role.
 * Reads bind names as parameters. A name that PostgreSQL could not hold as given (empty, over
 * 63 bytes, which the server would silently truncate to a different name, or containing NUL)
 * is refused before any SQL runs. Some roles are never granted, whatever the policy says:
 * the predefined `pg_` roles (server-wide powers such as reading every table), roles that are or
 * inherit `SUPERUSER`, `CREATEROLE`, `BYPASSRLS`, `REPLICATION` or a `pg_` role (each a way to keep
 * or widen access after the window), and the role Elevate itself connects as (a bot holding it
 * could grant itself anything).
 *
 * Connections. A small `pg.Pool` per server; every connection carries a server-side
 * `statement_timeout` (a GRANT stuck behind a lock gives up) and a client-side read timeout a
 * little longer (a server that stops answering altogether cannot hang a caller). A failed
 * query throws its connection away, and the next one connects afresh, so a restarted server
 * needs nothing from the caller but a retry.
 */
import { readFileSync } from 'node:fs';
import pg from 'pg';
import { z } from 'zod';
import { ConfigError } from '../../core/errors/config-error.js';
import type { GrantChange, Target, TargetChange } from '../../core/ports/target.js';
import {
  TargetAccessDeniedError,
  TargetError,
  TargetInvalidError,
  TargetNotFoundError,
  TargetUnreachableError,
} from '../../core/errors/target-errors.js';
import type { PostgresGrantHandle, PostgresTargetRef } from '../../core/model/targets.js';
import { membershipKeyOf, nameKeyPart } from '../../core/rules/membership-key.js';
import { readGrantHandle } from '../../core/rules/grant-handle.js';

/** A PostgreSQL grant's handle ({@link PostgresGrantHandle}) as stored JSON must read. */
const handleSchema: z.ZodType<PostgresGrantHandle> = z.object({
  type: z.literal('postgres'),
  server: z.string(),
  role: z.string(),
  login: z.string(),
});

/** Options of {@link PostgresTarget}. */
export interface PostgresTargetOptions {
  /**
   * `postgres://user:password@host:port/db` of the server whose roles Elevate grants. Any
   * database will do: roles belong to the whole server. Never logged, never in an error message.
   */
  url: string;
  /** The server id policies use (`target.server`); names the server in error messages. */
  server: string;
  /** How long to wait for a connection, including waiting for a free one in the pool (default 3000 ms). */
  connectTimeoutMs?: number;
  /** How long one statement may run on the server (default 5000 ms). */
  statementTimeoutMs?: number;
  /** Connections kept to the server (default 4); grants are rare and quick. */
  poolSize?: number;
}

/** The operation an error happened in, for messages. */
export type PostgresOperation = 'grant' | 'revoke' | 'check' | 'listMembers' | 'ping';

/** What {@link mapPostgresError} needs to know about the failed call. */
export interface PostgresErrorContext {
  operation: PostgresOperation;
  /** The server id, as in the policy. */
  server: string;
  role?: string;
  login?: string;
  /** The connection URL: it and its password are removed from every message. */
  url?: string;
}

/** The longest name PostgreSQL keeps as given (NAMEDATALEN - 1); longer names are truncated. */
const MAX_NAME_BYTES = 63;

/** Slack on top of the statement timeout before the client stops waiting for an answer. */
const READ_TIMEOUT_SLACK_MS = 2_000;

/** SQLSTATEs after which trying again later can succeed (besides whole classes below). */
const TRANSIENT_STATES = new Set([
  '57014', // query_canceled: statement_timeout hit, usually waiting for a lock
  '55P03', // lock_not_available
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now: starting up or in recovery
  '58000', // system_error
  '58030', // io_error
]);

/**
 * SQLSTATE classes after which trying again later can succeed: connection exceptions,
 * transaction rollbacks (serialisation failure, deadlock) and insufficient resources (e.g.
 * 53300 too many connections).
 */
const TRANSIENT_CLASSES = new Set(['08', '40', '53']);

/** SQLSTATEs that say the server refused Elevate's login (no pg_hba.conf entry, wrong password). */
const LOGIN_REFUSED_STATES = new Set(['28000', '28P01']);

function describe(ctx: PostgresErrorContext): string {
  const role = ctx.role === undefined ? '?' : JSON.stringify(ctx.role);
  const login = ctx.login === undefined ? '?' : JSON.stringify(ctx.login);
  switch (ctx.operation) {
    case 'grant':
      return `granting role ${role} to ${login}`;
    case 'revoke':
      return `revoking role ${role} from ${login}`;
    case 'check':
      return `checking whether ${login} holds role ${role}`;
    case 'listMembers':
      return `listing the members of role ${role}`;
    case 'ping':
      return 'pinging the server';
  }
}

/** The URL and its password (as written and decoded): strings no message may contain. */
function secretsOf(url: string | undefined): string[] {
  if (!url) return [];
  const secrets = [url];
  try {
    const { password } = new URL(url);
    if (password) {
      secrets.push(password);
      try {
        secrets.push(decodeURIComponent(password));
      } catch {
        // Not valid percent-encoding: the raw form is already on the list.
      }
    }
  } catch {
    // Unparseable: the whole URL is already on the list.
  }
  // Longest first, so that removing the password cannot leave the rest of the URL behind.
  return secrets.filter(Boolean).sort((a, b) => b.length - a.length);
}

function redact(message: string, secrets: readonly string[]): string {
  let out = message;
  for (const secret of secrets) out = out.split(secret).join('[redacted]');
  return out;
}

interface DatabaseErrorLike {
  code: string;
  message: string;
}

/** An error the server sent (with a SQLSTATE), as opposed to a network or driver failure. */
function isDatabaseError(err: unknown): err is DatabaseErrorLike {
  if (err instanceof pg.DatabaseError) return typeof err.code === 'string';
  const e = err as { code?: unknown; severity?: unknown; message?: unknown } | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.severity === 'string' &&
    typeof e.message === 'string' &&
    typeof e.code === 'string' &&
    /^[0-9A-Z]{5}$/.test(e.code)
  );
}

/** Which of the names in `ctx` a "role ... does not exist" message is about. */
function missingName(message: string, ctx: PostgresErrorContext): string {
  const role = ctx.role === undefined ? undefined : `role ${JSON.stringify(ctx.role)}`;
  const login = ctx.login === undefined ? undefined : `login ${JSON.stringify(ctx.login)}`;
  // The server quotes the name without escaping: `role "x"y" does not exist`.
  if (ctx.role !== undefined && message.includes(`"${ctx.role}"`)) return role ?? '?';
  if (ctx.login !== undefined && message.includes(`"${ctx.login}"`)) return login ?? '?';
  return [role, login].filter(Boolean).join(' or ') || 'a role';
}

/**
 * Turns whatever `pg` threw into a {@link TargetError}. This is the one place where
 * PostgreSQL failures get their meaning; the idempotency cases (already a member, not a
 * member, role gone on revoke) are handled by the callers before they get here.
 *
 * - network-level failures (refused, reset, timed out, connection terminated) and any other
 *   error that did not come from the server → {@link TargetUnreachableError} (retryable);
 * - class 08 connection exceptions, 57P01-57P03 shutdown / starting up, class 53 (53300 too
 *   many connections), class 40 (deadlock, serialisation), 57014 statement timeout, 55P03 lock
 *   not available → {@link TargetUnreachableError} (retryable);
 * - 42704 undefined object → {@link TargetNotFoundError} naming the role or the login;
 * - 42501 insufficient privilege (Elevate's account lacks ADMIN OPTION or CREATEROLE), 28000 /
 *   28P01 refused login → {@link TargetAccessDeniedError};
 * - 0LP01 invalid grant operation (a role granted to itself, a circular membership) and every
 *   other SQLSTATE → {@link TargetInvalidError} with the SQLSTATE: a server that answered has
 *   decided, and asking again will not change its mind.
 *
 * Messages name the server by its id and never contain `ctx.url` or its password.
 */
export function mapPostgresError(err: unknown, ctx: PostgresErrorContext): TargetError {
  if (err instanceof TargetError) return err;
  const secrets = secretsOf(ctx.url);
  const server = `PostgreSQL server ${JSON.stringify(ctx.server)}`;
  const what = describe(ctx);
  const make = <T extends TargetError>(Cls: new (message: string) => T, message: string): T =>
    new Cls(redact(message, secrets));

  if (!isDatabaseError(err)) {
    const e = err as { message?: unknown; code?: unknown } | null;
    const detail = [
      typeof e?.code === 'string' ? e.code : undefined,
      typeof e?.message === 'string' ? e.message : String(err),
    ]
      .filter(Boolean)
      .join(': ');
    return make(TargetUnreachableError, `${server} unreachable while ${what}: ${detail}`);
  }

  const state = err.code;
  const detail = `SQLSTATE ${state}: ${err.message}`;
  if (TRANSIENT_STATES.has(state) || TRANSIENT_CLASSES.has(state.slice(0, 2))) {
    return make(TargetUnreachableError, `${server} could not complete ${what} for now (${detail})`);
  }
  if (state === '42704') {
    return make(
      TargetNotFoundError,
      `${server}: ${missingName(err.message, ctx)} does not exist, while ${what} (${detail})`,
    );
  }
  if (LOGIN_REFUSED_STATES.has(state)) {
    return make(TargetAccessDeniedError, `${server} refused Elevate's login (${detail})`);
  }
  if (state === '42501') {
    return make(
      TargetAccessDeniedError,
      `${server}: Elevate's account may not do this: ${what}; it needs ADMIN OPTION on the role ` +
        `(or CREATEROLE before PostgreSQL 16) (${detail})`,
    );
  }
  if (state === '0LP01') {
    return make(
      TargetInvalidError,
      `${server} refused ${what}: the grant would make a role a member of itself (${detail})`,
    );
  }
  return make(TargetInvalidError, `${server} refused ${what} (${detail})`);
}

/**
 * The environment variable that holds the URL of PostgreSQL server `serverId`:
 * `ELEVATE_POSTGRES_<ID>_URL`, the id upper-cased with `-` as `_` (server `warehouse-eu` →
 * `ELEVATE_POSTGRES_WAREHOUSE_EU_URL`). `<VAR>_FILE` may name a file holding it instead.
 */
export function postgresServerIdEnv(serverId: string): string {
  return `ELEVATE_POSTGRES_${serverId.toUpperCase().replace(/-/g, '_')}_URL`;
}

/**
 * The URL of PostgreSQL server `serverId`: the trimmed content of the file named by
 * `<VAR>_FILE` if that is set (for secrets mounted as files), else `<VAR>` itself, where
 * `<VAR>` is {@link postgresServerIdEnv}. Undefined when neither is set or the value is empty.
 *
 * @throws {@link ConfigError} naming `<VAR>_FILE` when that file cannot be read (the message
 *   names the file, never its content)
 */
export function readPostgresServerUrl(
  env: Record<string, string | undefined>,
  serverId: string,
): string | undefined {
  const name = postgresServerIdEnv(serverId);
  const file = env[`${name}_FILE`];
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim() || undefined;
    } catch {
      throw new ConfigError(`${name}_FILE: cannot read ${file}`, `${name}_FILE`);
    }
  }
  return env[name]?.trim() || undefined;
}

/** What the server knows about a role, a login and the membership between them. */
interface MembershipRow {
  role_exists: boolean;
  role_is_self: boolean;
  login_exists: boolean;
  member: boolean;
}

/** One query for everything a change needs to know first; names are bound, never spliced. */
const MEMBERSHIP_SQL = `
  SELECT r.oid IS NOT NULL AS role_exists,
         coalesce(r.rolname = current_user, false) AS role_is_self,
         l.oid IS NOT NULL AS login_exists,
         EXISTS (SELECT 1 FROM pg_auth_members am WHERE am.roleid = r.oid AND am.member = l.oid) AS member
    FROM (VALUES (1)) AS one
    LEFT JOIN pg_roles r ON r.rolname = $1
    LEFT JOIN pg_roles l ON l.rolname = $2`;

/**
 * The role and every role it is a member of, directly or through others, with the attributes
 * that make a role a way out of its window: `SUPERUSER` (everything), `CREATEROLE` (create a
 * login that outlasts the elevation; on PostgreSQL 15 and older, grant itself almost any role),
 * `BYPASSRLS` (row-level security no longer applies) and `REPLICATION` (stream every row), and
 * whether it is a predefined `pg_` role (server-wide powers such as running programs). A role
 * the bot would only inherit counts as much as the role itself: granting `ops` that is a
 * member of `pg_execute_server_program` grants running programs on the server, and one that is a
 * member of Elevate's own role hands on Elevate's power to grant.
 */
const POWERS_SQL = `
  WITH RECURSIVE held(oid, depth) AS (
    SELECT oid, 0 FROM pg_roles WHERE rolname = $1
    UNION
    SELECT am.roleid, h.depth + 1 FROM pg_auth_members am JOIN held h ON am.member = h.oid
     WHERE h.depth < 32
  )
  SELECT DISTINCT r.rolname AS name, r.rolsuper AS superuser, r.rolcreaterole AS createrole,
         r.rolbypassrls AS bypassrls, r.rolreplication AS replication,
         starts_with(r.rolname, 'pg_') AS predefined, r.rolname = current_user AS elevate
    FROM held h JOIN pg_roles r ON r.oid = h.oid
   WHERE r.rolsuper OR r.rolcreaterole OR r.rolbypassrls OR r.rolreplication
      OR starts_with(r.rolname, 'pg_') OR r.rolname = current_user
   ORDER BY r.rolname`;

/** A row of {@link POWERS_SQL}: one role (the granted one or one it inherits) with a power. */
interface PowerRow {
  name: string;
  superuser: boolean;
  createrole: boolean;
  bypassrls: boolean;
  replication: boolean;
  predefined: boolean;
  /** The role Elevate connects as (a holder could grant itself anything Elevate can). */
  elevate: boolean;
}

/** What makes the role dangerous, in words ("SUPERUSER", "through ops: CREATEROLE"), or undefined. */
export function describePowers(role: string, rows: PowerRow[]): string | undefined {
  const parts = rows.map((row) => {
    const powers = [
      row.superuser ? 'SUPERUSER' : undefined,
      row.createrole ? 'CREATEROLE' : undefined,
      row.bypassrls ? 'BYPASSRLS' : undefined,
      row.replication ? 'REPLICATION' : undefined,
      row.predefined && row.name !== role ? `the predefined role ${JSON.stringify(row.name)}` : undefined,
      row.elevate ? "Elevate's own role" : undefined,
    ].filter(Boolean);
    return row.name === role
      ? powers.join(', ')
      : `through ${JSON.stringify(row.name)}: ${powers.join(', ')}`;
  });
  return parts.length > 0 ? parts.join('; ') : undefined;
}

const CHECK_SQL = `
  SELECT EXISTS (
    SELECT 1 FROM pg_auth_members am
      JOIN pg_roles r ON r.oid = am.roleid
      JOIN pg_roles l ON l.oid = am.member
     WHERE r.rolname = $1 AND l.rolname = $2
  ) AS member`;

const LIST_SQL = `
  SELECT l.rolname AS name
    FROM pg_auth_members am
    JOIN pg_roles r ON r.oid = am.roleid
    JOIN pg_roles l ON l.oid = am.member
   WHERE r.rolname = $1
   ORDER BY l.rolname COLLATE "C"`;

/**
 * {@link Target} for PostgreSQL role membership, one instance per server. See the module
 * comment for the account it needs, how names are handled and how connections behave.
 */
export class PostgresTarget implements Target<PostgresTargetRef, PostgresGrantHandle> {
  private readonly url: string;
  private readonly server: string;
  private readonly pool: pg.Pool;
  private closed = false;

  /** @throws {Error} when the URL is not a postgres:// URL or an option is out of range (the message never contains the URL). */
  constructor(options: PostgresTargetOptions) {
    this.url = options.url;
    this.server = options.server;
    const connectTimeoutMs = options.connectTimeoutMs ?? 3_000;
    const statementTimeoutMs = options.statementTimeoutMs ?? 5_000;
    const poolSize = options.poolSize ?? 4;
    let protocol: string | undefined;
    try {
      protocol = new URL(this.url).protocol;
    } catch {
      protocol = undefined;
    }
    if (protocol !== 'postgres:' && protocol !== 'postgresql:') {
      throw new Error(
        `the URL of PostgreSQL server ${JSON.stringify(this.server)} is not a postgres:// or postgresql:// URL`,
      );
    }
    if (!(connectTimeoutMs > 0 && statementTimeoutMs > 0)) {
      throw new Error('PostgreSQL timeouts must be positive');
    }
    if (!(Number.isInteger(poolSize) && poolSize > 0)) {
      throw new Error('PostgreSQL pool size must be a positive integer');
    }
    this.pool = new pg.Pool({
      connectionString: this.url,
      max: poolSize,
      connectionTimeoutMillis: connectTimeoutMs,
      statement_timeout: statementTimeoutMs,
      query_timeout: statementTimeoutMs + READ_TIMEOUT_SLACK_MS,
      application_name: 'elevate',
      keepAlive: true,
    });
    // An idle connection that the server drops (restart, pg_terminate_backend) emits 'error' on
    // the pool; unhandled, that would crash the process. The pool has already discarded that
    // connection and the next query connects afresh, so there is nothing else to do.
    this.pool.on('error', () => undefined);
  }

  /**
   * Grants `ref.role` to `login`; `changed: false` if `login` already is a direct member.
   *
   * @throws {@link TargetInvalidError} for a name PostgreSQL cannot hold, a reserved role
   *   (`pg_`, superuser, Elevate's own), or a circular grant
   * @throws {@link TargetNotFoundError} naming the role or the login that does not exist
   * @throws {@link TargetAccessDeniedError} when Elevate's account may not grant the role
   */
  async grant(ref: PostgresTargetRef, login: string): Promise<GrantChange<PostgresGrantHandle>> {
    const handle = this.handleFor(ref, login);
    const ctx = this.context('grant', ref.role, login);
    this.checkNames(ctx, true);
    return this.run(ctx, async () => {
      const state = await this.membership(ref.role, login);
      const missing = [
        state.role_exists ? undefined : `role ${JSON.stringify(ref.role)}`,
        state.login_exists ? undefined : `login ${JSON.stringify(login)}`,
      ].filter(Boolean);
      if (missing.length > 0) {
        throw new TargetNotFoundError(
          `PostgreSQL server ${JSON.stringify(this.server)}: ${missing.join(' and ')} ${
            missing.length > 1 ? 'do' : 'does'
          } not exist, while ${describe(ctx)}`,
        );
      }
      if (state.role_is_self) {
        throw new TargetInvalidError(
          `PostgreSQL role ${JSON.stringify(ref.role)} on server ${JSON.stringify(this.server)} is the role Elevate connects as; Elevate never grants it, since its holder could take any privilege`,
        );
      }
      const { rows: powers } = await this.pool.query<PowerRow>(POWERS_SQL, [ref.role]);
      const danger = describePowers(ref.role, powers);
      if (danger) {
        throw new TargetInvalidError(
          `PostgreSQL role ${JSON.stringify(ref.role)} on server ${JSON.stringify(this.server)} carries ${danger}; Elevate never grants such a role, since its holder could keep or widen access after the window ends`,
        );
      }
      if (state.member) return { changed: false, handle };
      await this.pool.query(`GRANT ${pg.escapeIdentifier(ref.role)} TO ${pg.escapeIdentifier(login)}`);
      return { changed: true, handle };
    });
  }

  /** The server, role and login a grant of `ref` to `login` names. */
  handleFor(ref: PostgresTargetRef, login: string): PostgresGrantHandle {
    return { type: 'postgres', server: ref.server, role: ref.role, login };
  }

  /**
   * Revokes the handle's role from its login; `changed: false` if the login was not a direct
   * member, or the role or the login does not exist (a missing role holds nobody).
   *
   * @throws {@link TargetInvalidError} for a handle of another server, a name PostgreSQL cannot
   *   hold or a `pg_` role
   * @throws {@link TargetAccessDeniedError} when Elevate's account may not revoke the role
   */
  async revoke(handle: PostgresGrantHandle): Promise<TargetChange> {
    const { role, login } = this.readHandle(handle);
    const ctx = this.context('revoke', role, login);
    this.checkNames(ctx, true);
    return this.run(ctx, async () => {
      const state = await this.membership(role, login);
      if (!state.member) return { changed: false };
      try {
        await this.pool.query(`REVOKE ${pg.escapeIdentifier(role)} FROM ${pg.escapeIdentifier(login)}`);
      } catch (err) {
        // Dropped since the read above: nothing left to remove.
        if (isDatabaseError(err) && err.code === '42704') return { changed: false };
        throw err;
      }
      return { changed: true };
    });
  }

  /** Whether the handle's login is a direct member of its role (false when either does not exist). */
  async check(handle: PostgresGrantHandle): Promise<boolean> {
    const { role, login } = this.readHandle(handle);
    const ctx = this.context('check', role, login);
    this.checkNames(ctx, false);
    return this.run(ctx, async () => {
      const { rows } = await this.pool.query<{ member: boolean }>(CHECK_SQL, [role, login]);
      return rows[0]?.member === true;
    });
  }

  /**
   * The roles directly granted `ref.role` (normally bots' logins), in byte order. A role that
   * does not exist has no members, so it yields `[]`.
   */
  async listMembers(ref: PostgresTargetRef): Promise<string[]> {
    const ctx = this.context('listMembers', ref.role);
    this.checkNames(ctx, false);
    return this.run(ctx, async () => {
      const { rows } = await this.pool.query<{ name: string }>(LIST_SQL, [ref.role]);
      return rows.map((row) => row.name);
    });
  }

  /**
   * `postgres|<server>|<role>|<login>`: one membership, shared by every elevation of the same
   * login and role. Role and login names are case-sensitive (Elevate always quotes them), so
   * they are compared as given.
   */
  membershipKey(ref: PostgresTargetRef, login: string): string {
    return membershipKeyOf('postgres', nameKeyPart(ref.server), nameKeyPart(ref.role), nameKeyPart(login));
  }

  /** `SELECT 1`: proves the server is reachable and accepts Elevate's login. */
  async ping(): Promise<void> {
    const ctx = this.context('ping');
    await this.run(ctx, async () => {
      await this.pool.query('SELECT 1');
    });
  }

  /** Closes every connection; later calls fail with {@link TargetUnreachableError}. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  /** The handle, checked to be a PostgreSQL grant's on this server. */
  private readHandle(handle: PostgresGrantHandle): PostgresGrantHandle {
    const h = readGrantHandle(handleSchema, handle, 'PostgreSQL');
    if (h.server !== this.server) {
      throw new TargetInvalidError(
        `the grant handle names PostgreSQL server ${JSON.stringify(h.server)}, not ${JSON.stringify(this.server)}`,
      );
    }
    return h;
  }

  private context(operation: PostgresOperation, role?: string, login?: string): PostgresErrorContext {
    return { operation, server: this.server, role, login, url: this.url };
  }

  /** Refuses, before any SQL, names PostgreSQL cannot hold as given and roles Elevate never changes. */
  private checkNames(ctx: PostgresErrorContext, isChange: boolean): void {
    for (const [kind, name] of [
      ['role', ctx.role],
      ['login', ctx.login],
    ] as const) {
      if (name === undefined && kind === 'login') continue;
      const problem = !name
        ? 'is empty'
        : name.includes('\0')
          ? 'contains a NUL character'
          : Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES
            ? `is longer than ${MAX_NAME_BYTES} bytes (PostgreSQL would truncate it to another name)`
            : undefined;
      if (problem) {
        throw new TargetInvalidError(`PostgreSQL ${kind} name ${JSON.stringify(name ?? '')} ${problem}`);
      }
    }
    if (isChange && ctx.role?.startsWith('pg_')) {
      throw new TargetInvalidError(
        `PostgreSQL role ${JSON.stringify(ctx.role)} is a predefined pg_ role (server-wide powers); Elevate never grants or revokes it`,
      );
    }
  }

  /** Runs one operation and maps every failure through {@link mapPostgresError}. */
  private async run<T>(ctx: PostgresErrorContext, op: () => Promise<T>): Promise<T> {
    if (this.closed) {
      throw new TargetUnreachableError(
        `PostgreSQL target for server ${JSON.stringify(this.server)} is closed`,
      );
    }
    try {
      return await op();
    } catch (err) {
      throw mapPostgresError(err, ctx);
    }
  }

  private async membership(role: string, login: string): Promise<MembershipRow> {
    const { rows } = await this.pool.query<MembershipRow>(MEMBERSHIP_SQL, [role, login]);
    const row = rows[0];
    if (!row) throw new Error('the membership query returned no row');
    return row;
  }
}
