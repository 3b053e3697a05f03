/**
 * The store's one database: a SQLite file (better-sqlite3, the embedded default) or PostgreSQL
 * (pg, at scale), behind one Kysely instance that every store of `store/` shares. Opening it
 * brings the schema up to date (`migrations/`), so a store never sees an old schema.
 *
 * The two engines differ in how writers are serialised, and {@link StoreDatabase.transaction}
 * hides it: SQLite takes its single write lock up front (`BEGIN IMMEDIATE`), and instances in one
 * process queue for it in memory first, because better-sqlite3 waits for a busy lock by blocking
 * the thread, which would stall the instance that holds it; PostgreSQL runs an ordinary
 * transaction and the queries take the row locks they need.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { withStatementCache } from './sqlite-statement-cache.js';
import { TurningSqliteDialect } from './sqlite-turns.js';
import { Kysely, PostgresDialect, sql, type CompiledQuery } from 'kysely';
import pg from 'pg';
import type { StoreIntegrity } from '../core/crypto/audit-checkpoints.js';
import { SchemaTooNewError, StoreUnavailableError } from './errors.js';
import { KeyedMutex } from './keyed-mutex.js';
import { migrateToLatest } from './migrations/index.js';
import type { StoreSchema } from './schema.js';
import type { Engine, StoreConnection } from './connection.js';

/** Where the store lives and how it is tuned. */
export interface StoreSettings {
  /** PostgreSQL connection URL; when set, it wins over `sqlitePath`. May carry a password. */
  databaseUrl?: string;
  /** SQLite file used when no `databaseUrl` is set (created with its folder if missing); `:memory:` for a private one. */
  sqlitePath: string;
  /** Signed checkpoints and row MACs (see `core/crypto/audit-checkpoints.ts`); without it, neither. */
  integrity?: StoreIntegrity;
  /** PostgreSQL: connections for appends, reads and leases. Default 10. */
  poolSize?: number;
  /**
   * PostgreSQL: connections reserved for `withLock`, apart from the main pool, so callers
   * waiting for a lock can never take every connection the holder's own work needs. Default 10.
   */
  lockPoolSize?: number;
  /** How long `withLock` waits for a lock held elsewhere. Default 30,000 ms. */
  lockWaitMs?: number;
  /**
   * SQLite: how long a lock row outlives its holder's last renewal, so a crashed process cannot
   * block a key forever. Live holders renew at a third of this. Default 60,000 ms.
   */
  lockTtlMs?: number;
  /** SQLite: how long a statement waits for another process's write lock. Default 10,000 ms. */
  busyTimeoutMs?: number;
}

/**
 * Write queues of the SQLite files open in this process, by absolute path: every instance on one
 * file takes its turn here before it asks SQLite for the write lock.
 */
const sqliteWriters = new KeyedMutex();

/** The open database every store of `store/` works on. */
export class StoreDatabase implements StoreConnection {
  private closed = false;

  private constructor(
    /** The query builder over the one connection (SQLite) or pool (PostgreSQL). */
    readonly db: Kysely<StoreSchema>,
    readonly engine: Engine,
    readonly settings: StoreSettings,
    /** PostgreSQL: the pool `withLock` holds its advisory locks on. */
    readonly lockPool: pg.Pool | undefined,
    /** SQLite: the key of this file's write queue. */
    private readonly writerKey: string,
    /** SQLite: the driver's handle under Kysely, for {@link sqliteRows}. */
    private readonly sqlite: Database.Database | undefined,
  ) {}

  /** Signed checkpoints and row MACs, as configured. */
  get integrity(): StoreIntegrity | undefined {
    return this.settings.integrity;
  }

  /**
   * Opens the database the settings describe and brings its schema up to date. Each driver is
   * loaded with this module; a PostgreSQL deployment opens no SQLite file and vice versa.
   *
   * @throws {@link StoreUnavailableError} when it cannot be opened (never echoing a URL's password)
   * @throws {@link SchemaTooNewError} when a newer Elevate migrated it
   */
  static async open(settings: StoreSettings): Promise<StoreDatabase> {
    return settings.databaseUrl
      ? StoreDatabase.openPostgres(settings.databaseUrl, settings)
      : StoreDatabase.openSqlite(settings.sqlitePath, settings);
  }

  private static async openSqlite(path: string, settings: StoreSettings): Promise<StoreDatabase> {
    let raw: Database.Database;
    try {
      if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
      raw = new Database(path);
    } catch (error) {
      const message = `cannot open the SQLite audit store at ${path}: ${messageOf(error)}`;
      throw new StoreUnavailableError(message, { cause: error });
    }
    const key = path === ':memory:' ? `:memory:${Math.random()}` : resolve(path);
    // Statements reused by SQL text: Kysely would prepare each query again (sqlite-statement-cache.ts);
    // and the event loop let turn between queries that run back to back (sqlite-turns.ts).
    const db = new Kysely<StoreSchema>({
      dialect: new TurningSqliteDialect({ database: withStatementCache(raw) }),
    });
    const database = new StoreDatabase(db, 'sqlite', settings, undefined, key, raw);
    try {
      // busy_timeout first, so switching to WAL waits for other processes instead of failing.
      raw.pragma(`busy_timeout = ${Math.ceil(settings.busyTimeoutMs ?? 10_000)}`);
      raw.pragma('journal_mode = WAL');
      raw.pragma('foreign_keys = ON');
      // Under the write lock, so concurrent first starts create the schema once.
      await sqliteWriters.run(key, async () => {
        raw.exec('BEGIN IMMEDIATE');
        try {
          await migrateToLatest(db, 'sqlite', settings.integrity);
          raw.exec('COMMIT');
        } catch (error) {
          if (raw.inTransaction) raw.exec('ROLLBACK');
          throw error;
        }
      });
      return database;
    } catch (error) {
      await db.destroy().catch(() => undefined);
      if (error instanceof SchemaTooNewError) throw error;
      const message = `cannot prepare the SQLite audit store at ${path}: ${messageOf(error)}`;
      throw new StoreUnavailableError(message, { cause: error });
    }
  }

  private static async openPostgres(url: string, settings: StoreSettings): Promise<StoreDatabase> {
    const pool = newPool(url, settings.poolSize ?? 10);
    const lockPool = newPool(url, settings.lockPoolSize ?? 10);
    const db = new Kysely<StoreSchema>({ dialect: new PostgresDialect({ pool }) });
    try {
      await migrateToLatest(db, 'postgres', settings.integrity);
    } catch (error) {
      await Promise.allSettled([db.destroy(), lockPool.end()]);
      if (error instanceof SchemaTooNewError) throw error;
      throw new StoreUnavailableError(
        `cannot open the PostgreSQL audit store at ${describeUrl(url)}: ${scrubbedMessage(error, url)}`,
      );
    }
    return new StoreDatabase(db, 'postgres', settings, lockPool, '', undefined);
  }

  /**
   * Runs `work` in one transaction that holds the write lock (SQLite) or takes row locks as its
   * queries do (PostgreSQL): COMMIT when it settles, ROLLBACK when it throws. `work` must use the
   * `trx` it is given, never {@link db}: on SQLite that would wait for itself.
   */
  transaction<T>(work: (trx: Kysely<StoreSchema>) => Promise<T>): Promise<T> {
    if (this.engine === 'postgres') return this.db.transaction().execute(work);
    return sqliteWriters.run(this.writerKey, () =>
      this.db.connection().execute(async (conn) => {
        await sql`BEGIN IMMEDIATE`.execute(conn);
        try {
          const result = await work(conn);
          await sql`COMMIT`.execute(conn);
          return result;
        } catch (error) {
          await sql`ROLLBACK`.execute(conn).catch(() => undefined);
          throw error;
        }
      }),
    );
  }

  /**
   * Runs a write that is atomic on its own (one statement, or statements whose order is safe):
   * on PostgreSQL as it is; on SQLite queued with the other writers of this process, so that no
   * transaction of theirs is open on the shared connection meanwhile, but without a BEGIN and
   * COMMIT of its own (a statement is its own transaction).
   */
  write<T>(work: (db: Kysely<StoreSchema>) => Promise<T>): Promise<T> {
    if (this.engine === 'postgres') return work(this.db);
    return sqliteWriters.run(this.writerKey, () => this.db.connection().execute((conn) => work(conn)));
  }

  /** An instant of the short-lived tables as stored: epoch ms (SQLite) or a timestamp (PostgreSQL). */
  instant(ms: number): number | Date {
    return this.engine === 'sqlite' ? ms : new Date(ms);
  }

  /**
   * SQLite: runs a read Kysely compiled and returns its rows as arrays of column values (select
   * order), which the driver builds much faster than an object per row: the audit chain walk
   * reads every event this way. It holds the connection as Kysely's queries do, so it never reads
   * inside another caller's open transaction. Rejects on PostgreSQL.
   */
  sqliteRows(query: CompiledQuery): Promise<unknown[][]> {
    const raw = this.sqlite;
    if (!raw) return Promise.reject(new Error('sqliteRows is for the SQLite engine only'));
    return this.db
      .connection()
      .execute(() => Promise.resolve(raw.prepare(query.sql).raw().all(query.parameters) as unknown[][]));
  }

  /** Cheap round trip for health checks. */
  async ping(): Promise<void> {
    await sql`SELECT 1`.execute(this.db);
  }

  /**
   * Closes the connection (SQLite) or both pools, waiting for connections in use. Locks still
   * held by SQLite lock rows expire by their TTL. Safe to call twice.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.db.destroy(), this.lockPool?.end()]);
  }
}

function newPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  // An idle connection that the server drops emits 'error' on the pool; unhandled, that would
  // crash the process. The pool already discards the connection and the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The driver's error code (PostgreSQL SQLSTATE), if any. */
export function pgCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Where a database URL points, without user name or password. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.host || 'localhost'}${parsed.pathname || ''}`;
  } catch {
    return 'the configured database URL (unparseable)';
  }
}

/** The error's message with the URL and its password taken out, plus the driver's code. */
function scrubbedMessage(error: unknown, url: string): string {
  let message = messageOf(error);
  const secrets = [url];
  try {
    const { password } = new URL(url);
    if (password) secrets.push(password, decodeURIComponent(password));
  } catch {
    // Unparseable: the whole URL is already on the list.
  }
  for (const secret of secrets) message = message.split(secret).join('***');
  const code = pgCode(error);
  return code ? `${message} (${code})` : message;
}
