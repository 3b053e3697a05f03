/**
 * Direct SQL on a store's database, bypassing the store: how the store tests play an intruder
 * with database access, or an older Elevate's schema.
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';

/** Direct SQL access to a store's database. `?` marks parameters, on either engine. */
export interface RawDb {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

/** Raw SQL on an open SQLite database. */
export function sqliteRaw(db: Database.Database): RawDb {
  return {
    query<T>(sql: string, params: unknown[] = []) {
      return new Promise<T[]>((resolve) => {
        const statement = db.prepare<unknown[], T>(sql);
        if (statement.reader) resolve(statement.all(...params));
        else {
          statement.run(...params);
          resolve([]);
        }
      });
    },
  };
}

/** Raw SQL on a connected PostgreSQL client (`?` become `$1`, `$2`, …). */
export function postgresRaw(client: pg.Client): RawDb {
  return {
    async query<T>(sql: string, params: unknown[] = []) {
      let n = 0;
      const result = await client.query(
        sql.replace(/\?/g, () => `$${(n += 1)}`),
        params,
      );
      return result.rows as T[];
    },
  };
}

/**
 * SQLite: undoes the checkpoint migration (the `audit_checkpoints` table and the row MAC
 * columns). A test that winds the recorded schema version back must also undo every later
 * migration that cannot run twice (SQLite has no `ADD COLUMN IF NOT EXISTS`).
 */
export const SQLITE_UNDO_CHECKPOINTS =
  'DROP TABLE IF EXISTS audit_checkpoints; ALTER TABLE ephemeral DROP COLUMN mac; ALTER TABLE bot_state DROP COLUMN mac;';
