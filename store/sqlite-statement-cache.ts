/**
 * Prepared statements kept for reuse on the SQLite store. Kysely's SQLite driver prepares every
 * query afresh (`db.prepare(sql)`, then `all` or `run`); a worker at full load spent about 8 % of
 * its main thread's busy time in better-sqlite3's `prepare` (docs/benchmarks.md). The store's
 * queries are few shapes, so the same SQL text comes back again and again: this hands Kysely a
 * database whose `prepare` returns the statement it made last time for that text.
 *
 * A statement still being iterated (`busy`: a streamed query not yet read to its end) cannot run
 * again, so another is prepared for it then. The cache holds the most recently used texts, at most
 * `max` (queries with lists of different lengths have texts of their own).
 */
import type Database from 'better-sqlite3';

/** What Kysely's `SqliteDialect` needs of the database. */
export interface PreparingDatabase {
  prepare(sql: string): Database.Statement;
  close(): void;
}

/** `raw`, with statements reused by SQL text (see the file comment). */
export function withStatementCache(raw: Database.Database, max = 256): PreparingDatabase {
  const cache = new Map<string, Database.Statement>();
  return {
    prepare(sql) {
      const cached = cache.get(sql);
      if (cached && !cached.busy) {
        // Most recently used last, so the first key is the one to drop.
        cache.delete(sql);
        cache.set(sql, cached);
        return cached;
      }
      const statement = raw.prepare(sql);
      cache.delete(sql);
      cache.set(sql, statement);
      if (cache.size > max) cache.delete(cache.keys().next().value!);
      return statement;
    },
    close() {
      cache.clear();
      raw.close();
    },
  };
}
