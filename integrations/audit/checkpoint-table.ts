/**
 * The `audit_checkpoints` table of both engines (see `checkpoints.ts` for what a checkpoint
 * is): its migrations, and the few queries the append and `verify` need. The engines' store
 * classes delegate here, as they do for `bot_state`.
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';
import type { SignedCheckpoint } from './checkpoints.js';

/** SQLite migration: the checkpoints, and the MAC columns of the rows outside the chain. */
export const SQLITE_CHECKPOINT_MIGRATION = `
  -- Signed checkpoints of the chain: (position, head hash, time, key id), signed with a key the
  -- database never holds; hashes lists the event hashes first_position..position, concatenated.
  CREATE TABLE IF NOT EXISTS audit_checkpoints (
    position INTEGER PRIMARY KEY,
    prev_position INTEGER NOT NULL,
    first_position INTEGER NOT NULL,
    hash TEXT NOT NULL,
    at TEXT NOT NULL,
    kid TEXT NOT NULL,
    segment TEXT NOT NULL,
    hashes TEXT NOT NULL,
    signature TEXT NOT NULL
  ) STRICT;
  -- HMAC-SHA-256 of single-use records and bot state, under a key held by the processes.
  ALTER TABLE ephemeral ADD COLUMN mac TEXT;
  ALTER TABLE bot_state ADD COLUMN mac TEXT;
  `;

/** PostgreSQL migration: as {@link SQLITE_CHECKPOINT_MIGRATION}. */
export const POSTGRES_CHECKPOINT_MIGRATION = `
  CREATE TABLE IF NOT EXISTS audit_checkpoints (
    position bigint PRIMARY KEY,
    prev_position bigint NOT NULL,
    first_position bigint NOT NULL,
    hash text NOT NULL,
    at text NOT NULL,
    kid text NOT NULL,
    segment text NOT NULL,
    hashes text NOT NULL,
    signature text NOT NULL
  );
  ALTER TABLE ephemeral ADD COLUMN IF NOT EXISTS mac text;
  ALTER TABLE bot_state ADD COLUMN IF NOT EXISTS mac text;
  `;

const COLUMNS = 'position, prev_position, first_position, hash, at, kid, segment, signature';

interface CheckpointRow {
  position: number | string;
  prev_position: number | string;
  first_position: number | string;
  hash: string;
  at: string;
  kid: string;
  segment: string;
  signature: string;
}

function toCheckpoint(row: CheckpointRow): SignedCheckpoint {
  return {
    v: 1,
    position: Number(row.position),
    hash: row.hash,
    at: row.at,
    kid: row.kid,
    prev: Number(row.prev_position),
    first: Number(row.first_position),
    segment: row.segment,
    signature: row.signature,
  };
}

function insertValues(c: SignedCheckpoint, hashes: readonly string[]): unknown[] {
  return [c.position, c.prev, c.first, c.hash, c.at, c.kid, c.segment, hashes.join(''), c.signature];
}

const INSERT = `INSERT INTO audit_checkpoints (${COLUMNS.replace('signature', 'hashes, signature')})`;

/** The checkpoint queries on a SQLite database (synchronous, like better-sqlite3). */
export class SqliteCheckpoints {
  private readonly lastRow: Database.Statement<[], CheckpointRow>;
  private readonly all: Database.Statement<[], CheckpointRow>;
  private readonly insertRow: Database.Statement<unknown[]>;
  private readonly hashesIn: Database.Statement<[number, number], { hash: string }>;
  private readonly listed: Database.Statement<[number], { hashes: string }>;
  private readonly rowsIn: Database.Statement<
    [number, number],
    { position: number; id: string; elevation_id: string | null; hash: string }
  >;

  /** Prepares the statements; the schema must be migrated already. */
  constructor(db: Database.Database) {
    this.lastRow = db.prepare(`SELECT ${COLUMNS} FROM audit_checkpoints ORDER BY position DESC LIMIT 1`);
    this.all = db.prepare(`SELECT ${COLUMNS} FROM audit_checkpoints ORDER BY position`);
    this.insertRow = db.prepare(`${INSERT} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.hashesIn = db.prepare(
      'SELECT hash FROM audit_events WHERE position >= ? AND position <= ? ORDER BY position',
    );
    this.listed = db.prepare('SELECT hashes FROM audit_checkpoints WHERE position = ?');
    this.rowsIn = db.prepare(
      'SELECT position, id, elevation_id, hash FROM audit_events WHERE position >= ? AND position <= ? ORDER BY position',
    );
  }

  last(): SignedCheckpoint | undefined {
    const row = this.lastRow.get();
    return row ? toCheckpoint(row) : undefined;
  }

  list(): SignedCheckpoint[] {
    return this.all.all().map(toCheckpoint);
  }

  insert(c: SignedCheckpoint, hashes: readonly string[]): void {
    this.insertRow.run(...insertValues(c, hashes));
  }

  /** Stored event hashes from `from` to `to`, in position order. */
  eventHashes(from: number, to: number): string[] {
    return from > to ? [] : this.hashesIn.all(from, to).map((r) => r.hash);
  }

  /** The hashes a checkpoint lists (concatenated), if it is stored. */
  listedHashes(position: number): string | undefined {
    return this.listed.get(position)?.hashes;
  }

  rows(
    from: number,
    to: number,
  ): { position: number; id: string; elevationId: string | null; hash: string }[] {
    return this.rowsIn.all(from, to).map((r) => ({
      position: Number(r.position),
      id: r.id,
      elevationId: r.elevation_id,
      hash: r.hash,
    }));
  }
}

/** The checkpoint queries on PostgreSQL; each takes the connection (or pool) to run on. */
export const postgresCheckpoints = {
  async last(db: pg.Pool | pg.PoolClient): Promise<SignedCheckpoint | undefined> {
    const { rows } = await db.query<CheckpointRow>(
      `SELECT ${COLUMNS} FROM audit_checkpoints ORDER BY position DESC LIMIT 1`,
    );
    return rows[0] ? toCheckpoint(rows[0]) : undefined;
  },

  async list(db: pg.Pool): Promise<SignedCheckpoint[]> {
    const { rows } = await db.query<CheckpointRow>(
      `SELECT ${COLUMNS} FROM audit_checkpoints ORDER BY position`,
    );
    return rows.map(toCheckpoint);
  },

  async insert(db: pg.PoolClient, c: SignedCheckpoint, hashes: readonly string[]): Promise<void> {
    await db.query(`${INSERT} VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, insertValues(c, hashes));
  },

  async eventHashes(db: pg.PoolClient, from: number, to: number): Promise<string[]> {
    if (from > to) return [];
    const { rows } = await db.query<{ hash: string }>(
      'SELECT hash FROM audit_events WHERE position >= $1 AND position <= $2 ORDER BY position',
      [from, to],
    );
    return rows.map((r) => r.hash);
  },

  async listedHashes(db: pg.Pool, position: number): Promise<string | undefined> {
    const { rows } = await db.query<{ hashes: string }>(
      'SELECT hashes FROM audit_checkpoints WHERE position = $1',
      [position],
    );
    return rows[0]?.hashes;
  },

  async rows(
    db: pg.Pool,
    from: number,
    to: number,
  ): Promise<{ position: number; id: string; elevationId: string | null; hash: string }[]> {
    const { rows } = await db.query<{
      position: string;
      id: string;
      elevation_id: string | null;
      hash: string;
    }>(
      'SELECT position, id, elevation_id, hash FROM audit_events WHERE position >= $1 AND position <= $2 ORDER BY position',
      [from, to],
    );
    return rows.map((r) => ({
      position: Number(r.position),
      id: r.id,
      elevationId: r.elevation_id,
      hash: r.hash,
    }));
  },
};
