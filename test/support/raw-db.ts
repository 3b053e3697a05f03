/**
 * Direct SQL on a store's database, bypassing the store: how the store tests play an intruder
 * with database access, or a database an Elevate before `store/` (and its Kysely migrations) wrote.
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
 * Both engines: forgets the Kysely migrations, so the database looks like one an Elevate before
 * `store/` wrote (its schema version kept in `PRAGMA user_version` or `schema_version`). The next
 * open adopts it again with the first migration.
 */
export const FORGET_MIGRATIONS = 'DROP TABLE store_migration; DROP TABLE store_migration_lock;';

/**
 * SQLite: what an Elevate before the checkpoints wrote: no `audit_checkpoints` table and no MAC
 * columns (added when the database is adopted).
 */
export const SQLITE_UNDO_CHECKPOINTS =
  'DROP TABLE IF EXISTS audit_checkpoints; ALTER TABLE ephemeral DROP COLUMN mac; ALTER TABLE bot_state DROP COLUMN mac;';

/**
 * SQLite: the schema as the last Elevate before `store/` left it (its eight migrations, as
 * `integrations/audit/sqlite-store.ts` wrote them, at `PRAGMA user_version = 8`), with no rows.
 */
export const LEGACY_SQLITE_SCHEMA = `
  CREATE TABLE audit_chain_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    position INTEGER NOT NULL,
    hash TEXT NOT NULL
  ) STRICT;
  INSERT INTO audit_chain_head (singleton, position, hash) VALUES (1, 0, '${'0'.repeat(64)}');
  CREATE TABLE audit_events (
    position INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, elevation_id TEXT, seq INTEGER NOT NULL,
    type TEXT NOT NULL, at TEXT NOT NULL, actor_kind TEXT NOT NULL, actor_id TEXT NOT NULL,
    data TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL
  ) STRICT;
  CREATE UNIQUE INDEX audit_events_elevation_seq ON audit_events (elevation_id, seq) WHERE elevation_id IS NOT NULL;
  CREATE UNIQUE INDEX audit_events_unattached_seq ON audit_events (seq) WHERE elevation_id IS NULL;
  CREATE TABLE elevations (
    id TEXT PRIMARY KEY, bot_id TEXT NOT NULL, role_id TEXT NOT NULL, status TEXT NOT NULL,
    requested_at TEXT NOT NULL, view TEXT NOT NULL, updated_position INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX elevations_requested ON elevations (requested_at, id);
  CREATE INDEX elevations_bot ON elevations (bot_id, requested_at, id);
  CREATE INDEX elevations_role ON elevations (role_id, requested_at, id);
  CREATE INDEX elevations_status ON elevations (status, requested_at, id);
  CREATE TABLE leases (
    elevation_id TEXT PRIMARY KEY, key TEXT NOT NULL, target TEXT NOT NULL, principal TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('held', 'released')), acquired_at TEXT, released_at TEXT
  ) STRICT;
  CREATE INDEX leases_key_held ON leases (key, acquired_at) WHERE state = 'held';
  CREATE TABLE ledger_locks (key TEXT PRIMARY KEY, owner TEXT NOT NULL, expires_at INTEGER NOT NULL) STRICT;
  CREATE TABLE ephemeral (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires_at INTEGER NOT NULL) STRICT;
  CREATE INDEX ephemeral_expires ON ephemeral (expires_at);
  CREATE TABLE IF NOT EXISTS stream_cursors (
    name TEXT PRIMARY KEY, state TEXT, owner TEXT NOT NULL, lease_until INTEGER NOT NULL, updated_at INTEGER NOT NULL
  ) STRICT;
  ALTER TABLE elevations ADD COLUMN owner TEXT;
  ALTER TABLE elevations ADD COLUMN team TEXT;
  ALTER TABLE elevations ADD COLUMN environment TEXT;
  ALTER TABLE elevations ADD COLUMN target_type TEXT;
  ALTER TABLE elevations ADD COLUMN risk TEXT;
  CREATE INDEX elevations_owner ON elevations (owner, requested_at, id);
  CREATE INDEX elevations_team ON elevations (team, requested_at, id);
  CREATE INDEX elevations_environment ON elevations (environment, requested_at, id);
  CREATE INDEX elevations_target_type ON elevations (target_type, requested_at, id);
  CREATE INDEX elevations_risk ON elevations (risk, requested_at, id);
  CREATE TABLE IF NOT EXISTS bot_state (
    bot_id TEXT PRIMARY KEY, locked_at TEXT, locked_by TEXT, lock_reason TEXT,
    disabled INTEGER CHECK (disabled IN (0, 1)), disabled_at TEXT, disabled_by TEXT,
    api_key_hash TEXT UNIQUE, key_rotated_at TEXT, key_rotated_by TEXT, updated_at TEXT NOT NULL
  ) STRICT;
  CREATE INDEX IF NOT EXISTS elevations_bot_status ON elevations (bot_id, status, requested_at, id);
  CREATE INDEX IF NOT EXISTS elevations_role_status ON elevations (role_id, status, requested_at, id);
  CREATE INDEX IF NOT EXISTS leases_held ON leases (elevation_id) WHERE state = 'held';
  CREATE TABLE IF NOT EXISTS audit_checkpoints (
    position INTEGER PRIMARY KEY, prev_position INTEGER NOT NULL, first_position INTEGER NOT NULL,
    hash TEXT NOT NULL, at TEXT NOT NULL, kid TEXT NOT NULL, segment TEXT NOT NULL, hashes TEXT NOT NULL,
    signature TEXT NOT NULL
  ) STRICT;
  ALTER TABLE ephemeral ADD COLUMN mac TEXT;
  ALTER TABLE bot_state ADD COLUMN mac TEXT;
  PRAGMA user_version = 8;
`;

/** PostgreSQL: as {@link LEGACY_SQLITE_SCHEMA}, as `integrations/audit/postgres-store.ts` wrote it. */
export const LEGACY_POSTGRES_SCHEMA = `
  CREATE TABLE schema_version (version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now());
  INSERT INTO schema_version (version) SELECT generate_series(1, 8);
  CREATE TABLE audit_chain_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), position bigint NOT NULL, hash text NOT NULL
  );
  INSERT INTO audit_chain_head (singleton, position, hash) VALUES (true, 0, '${'0'.repeat(64)}');
  CREATE TABLE audit_events (
    position bigint PRIMARY KEY, id text COLLATE "C" NOT NULL UNIQUE, elevation_id text COLLATE "C",
    seq integer NOT NULL, type text NOT NULL, at text NOT NULL, actor_kind text NOT NULL,
    actor_id text NOT NULL, data text NOT NULL, prev_hash text NOT NULL, hash text NOT NULL
  );
  CREATE UNIQUE INDEX audit_events_elevation_seq ON audit_events (elevation_id, seq) WHERE elevation_id IS NOT NULL;
  CREATE UNIQUE INDEX audit_events_unattached_seq ON audit_events (seq) WHERE elevation_id IS NULL;
  CREATE TABLE elevations (
    id text COLLATE "C" PRIMARY KEY, bot_id text COLLATE "C" NOT NULL, role_id text COLLATE "C" NOT NULL,
    status text COLLATE "C" NOT NULL, requested_at text COLLATE "C" NOT NULL, view jsonb NOT NULL,
    updated_position bigint NOT NULL, owner text COLLATE "C", team text COLLATE "C",
    environment text COLLATE "C", target_type text COLLATE "C", risk text COLLATE "C"
  );
  CREATE INDEX elevations_requested ON elevations (requested_at, id);
  CREATE INDEX elevations_bot ON elevations (bot_id, requested_at, id);
  CREATE INDEX elevations_role ON elevations (role_id, requested_at, id);
  CREATE INDEX elevations_status ON elevations (status, requested_at, id);
  CREATE INDEX elevations_owner ON elevations (owner, requested_at, id);
  CREATE INDEX elevations_team ON elevations (team, requested_at, id);
  CREATE INDEX elevations_environment ON elevations (environment, requested_at, id);
  CREATE INDEX elevations_target_type ON elevations (target_type, requested_at, id);
  CREATE INDEX elevations_risk ON elevations (risk, requested_at, id);
  CREATE INDEX elevations_bot_status ON elevations (bot_id, status, requested_at, id);
  CREATE INDEX elevations_role_status ON elevations (role_id, status, requested_at, id);
  CREATE TABLE leases (
    elevation_id text COLLATE "C" PRIMARY KEY, key text COLLATE "C" NOT NULL, target jsonb NOT NULL,
    principal text NOT NULL, state text NOT NULL CHECK (state IN ('held', 'released')),
    acquired_at text COLLATE "C", released_at text
  );
  CREATE INDEX leases_key_held ON leases (key, acquired_at) WHERE state = 'held';
  CREATE INDEX leases_held ON leases (elevation_id) WHERE state = 'held';
  CREATE TABLE ephemeral (
    key text COLLATE "C" PRIMARY KEY, value text NOT NULL, expires_at timestamptz NOT NULL, mac text
  );
  CREATE INDEX ephemeral_expires ON ephemeral (expires_at);
  CREATE TABLE stream_cursors (
    name text COLLATE "C" PRIMARY KEY, state text, owner text NOT NULL, lease_until bigint NOT NULL,
    updated_at bigint NOT NULL
  );
  CREATE TABLE bot_state (
    bot_id text COLLATE "C" PRIMARY KEY, locked_at text, locked_by text, lock_reason text, disabled boolean,
    disabled_at text, disabled_by text, api_key_hash text COLLATE "C" UNIQUE, key_rotated_at text,
    key_rotated_by text, updated_at text NOT NULL, mac text
  );
  CREATE TABLE audit_checkpoints (
    position bigint PRIMARY KEY, prev_position bigint NOT NULL, first_position bigint NOT NULL,
    hash text NOT NULL, at text NOT NULL, kid text NOT NULL, segment text NOT NULL, hashes text NOT NULL,
    signature text NOT NULL
  );
`;
