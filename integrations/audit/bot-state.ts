/**
 * The {@link BotStateStore} half of both engines: the `bot_state` table (one row per bot an admin
 * has changed at runtime), its migrations, and the queries. The engines' store classes delegate
 * here, so the rules for applying a change live in one place ({@link applyBotStateChange}).
 *
 * A row is written only through {@link BotStateStore.updateBotState}, which reads and writes it
 * in one transaction (SQLite: under the database's write lock; PostgreSQL: with the row locked),
 * so two admins acting on one bot at once from two API processes never lose either change.
 */
import type Database from 'better-sqlite3';
import type pg from 'pg';
import type { ElevationStatus } from '../../core/model/elevation.js';
import type { BotState, BotStateChange } from './audit-store.js';
import { InvalidQueryError } from './audit-store-errors.js';
import type { StoreIntegrity } from './checkpoints.js';
import { botStateMacFor, checkedBotState } from './row-mac.js';

/** SQLite migration that creates the table (appended to the engine's migration list). */
export const SQLITE_BOT_STATE_MIGRATION = `
  -- What admins changed about bots at runtime: lockdown, disable/enable override, rotated key.
  -- Rows are created on the first change; a bot without a row is as its policy says.
  CREATE TABLE IF NOT EXISTS bot_state (
    bot_id TEXT PRIMARY KEY,
    locked_at TEXT,
    locked_by TEXT,
    lock_reason TEXT,
    disabled INTEGER CHECK (disabled IN (0, 1)),
    disabled_at TEXT,
    disabled_by TEXT,
    api_key_hash TEXT UNIQUE,
    key_rotated_at TEXT,
    key_rotated_by TEXT,
    updated_at TEXT NOT NULL
  ) STRICT;
  `;

/** PostgreSQL migration that creates the table (appended to the engine's migration list). */
export const POSTGRES_BOT_STATE_MIGRATION = `
  -- What admins changed about bots at runtime: lockdown, disable/enable override, rotated key.
  -- Rows are created on the first change; a bot without a row is as its policy says.
  CREATE TABLE IF NOT EXISTS bot_state (
    bot_id text COLLATE "C" PRIMARY KEY,
    locked_at text,
    locked_by text,
    lock_reason text,
    disabled boolean,
    disabled_at text,
    disabled_by text,
    api_key_hash text COLLATE "C" UNIQUE,
    key_rotated_at text,
    key_rotated_by text,
    updated_at text NOT NULL
  );
  `;

const COLUMNS =
  'bot_id, locked_at, locked_by, lock_reason, disabled, disabled_at, disabled_by, api_key_hash, key_rotated_at, key_rotated_by, updated_at';
/** {@link COLUMNS} and the row's MAC (see `row-mac.ts`), added by a later migration. */
const COLUMNS_MAC = `${COLUMNS}, mac`;

/** Migration (both engines) that adds the rows' MAC; NULL for rows written before it. */
export const BOT_STATE_MAC_MIGRATION = `
  -- HMAC-SHA-256 of the row under a key held by the processes, never by the database.
  ALTER TABLE bot_state ADD COLUMN mac TEXT;
  `;

/** The statuses of an elevation that has not ended yet. */
const OPEN_STATUSES: readonly ElevationStatus[] = ['pending_approval', 'approved', 'active', 'revoking'];

const KEY_HASH = /^sha256:[0-9a-f]{64}$/;

/** A `bot_state` row as both drivers return it (SQLite gives 0/1 for booleans). */
interface BotStateRow {
  bot_id: string;
  locked_at: string | null;
  locked_by: string | null;
  lock_reason: string | null;
  disabled: number | boolean | null;
  disabled_at: string | null;
  disabled_by: string | null;
  api_key_hash: string | null;
  key_rotated_at: string | null;
  key_rotated_by: string | null;
  updated_at: string;
  mac?: string | null;
}

type CountRow = { bot_id: string; status: string; n: number | string };

/**
 * The state a row records, checked against its MAC (a bad one is quarantined, see `row-mac.ts`).
 * `reseal` is told the new MAC of a row whose MAC holds under a key being rotated out.
 */
function checkedRow(
  integrity: StoreIntegrity | undefined,
  row: BotStateRow,
  reseal: (botId: string, oldMac: string, newMac: string) => void,
): BotState {
  const { reseal: newMac, ...state } = checkedBotState(integrity, rowToBotState(row), row.mac ?? null);
  if (newMac !== undefined && row.mac) reseal(row.bot_id, row.mac, newMac);
  return state;
}

/** Rewrites a row's MAC under the current key, only if nobody changed it meanwhile. */
const RESEAL = 'UPDATE bot_state SET mac = %1 WHERE bot_id = %2 AND mac = %3';

function rowToBotState(row: BotStateRow): BotState {
  return {
    botId: row.bot_id,
    locked:
      row.locked_at !== null
        ? { at: row.locked_at, by: row.locked_by ?? '', reason: row.lock_reason ?? '' }
        : null,
    disabled:
      row.disabled !== null
        ? { value: Boolean(row.disabled), at: row.disabled_at ?? '', by: row.disabled_by ?? '' }
        : null,
    apiKey:
      row.api_key_hash !== null
        ? { hash: row.api_key_hash, rotatedAt: row.key_rotated_at ?? '', rotatedBy: row.key_rotated_by ?? '' }
        : null,
    updatedAt: row.updated_at,
  };
}

/** The row's values in {@link COLUMNS} order. */
function rowValues(state: BotState, bool: (b: boolean) => number | boolean): unknown[] {
  return [
    state.botId,
    state.locked?.at ?? null,
    state.locked?.by ?? null,
    state.locked?.reason ?? null,
    state.disabled ? bool(state.disabled.value) : null,
    state.disabled?.at ?? null,
    state.disabled?.by ?? null,
    state.apiKey?.hash ?? null,
    state.apiKey?.rotatedAt ?? null,
    state.apiKey?.rotatedBy ?? null,
    state.updatedAt,
  ];
}

/** @throws {@link InvalidQueryError} for a bot id or key hash that cannot be a real one */
function checkChange(botId: string, change: BotStateChange, at: string): void {
  if (typeof botId !== 'string' || botId.length === 0 || botId.length > 200) {
    throw new InvalidQueryError('botId', 'botId must be 1-200 characters');
  }
  if (change.apiKey && !KEY_HASH.test(change.apiKey.hash)) {
    throw new InvalidQueryError('apiKey', 'apiKey.hash must be "sha256:" and 64 lowercase hex digits');
  }
  if (!Number.isFinite(Date.parse(at))) throw new InvalidQueryError('at', 'at must be an ISO-8601 instant');
}

/**
 * The state after `change`, from the state before (undefined: the bot had none). Pure: both
 * engines call it inside their transaction.
 */
export function applyBotStateChange(
  before: BotState | undefined,
  botId: string,
  change: BotStateChange,
  at: string,
): BotState {
  const next: BotState = before
    ? { ...before, updatedAt: at }
    : { botId, locked: null, disabled: null, apiKey: null, updatedAt: at };
  if (change.lock === null) next.locked = null;
  else if (change.lock)
    next.locked = before?.locked ?? { at, by: change.lock.by, reason: change.lock.reason };
  if (change.disabled === null) next.disabled = null;
  else if (change.disabled) {
    next.disabled =
      before?.disabled?.value === change.disabled.value
        ? before.disabled
        : { value: change.disabled.value, at, by: change.disabled.by };
  }
  if (change.apiKey) next.apiKey = { hash: change.apiKey.hash, rotatedAt: at, rotatedBy: change.apiKey.by };
  return next;
}

function toCounts(rows: CountRow[]): Record<string, Partial<Record<ElevationStatus, number>>> {
  const counts: Record<string, Partial<Record<ElevationStatus, number>>> = {};
  for (const row of rows) {
    (counts[row.bot_id] ??= {})[row.status as ElevationStatus] = Number(row.n);
  }
  return counts;
}

const OPEN_IN = OPEN_STATUSES.map((s) => `'${s}'`).join(', ');

/** The bot state queries on a SQLite database (synchronous, like better-sqlite3). */
export class SqliteBotStates {
  private readonly byId: Database.Statement<[string], BotStateRow>;
  private readonly byKey: Database.Statement<[string], BotStateRow>;
  private readonly all: Database.Statement<[], BotStateRow>;
  private readonly upsert: Database.Statement<unknown[]>;
  private readonly counts: Database.Statement<[], CountRow>;
  private readonly countsOf: Database.Statement<[string], CountRow>;
  private readonly update: Database.Transaction<
    (botId: string, change: BotStateChange, at: string) => { before: BotState | undefined; after: BotState }
  >;

  /** Prepares the statements; the schema must be migrated already. */
  constructor(
    private readonly db: Database.Database,
    private readonly integrity?: StoreIntegrity,
  ) {
    this.byId = db.prepare(`SELECT ${COLUMNS_MAC} FROM bot_state WHERE bot_id = ?`);
    this.byKey = db.prepare(`SELECT ${COLUMNS_MAC} FROM bot_state WHERE api_key_hash = ?`);
    this.all = db.prepare(`SELECT ${COLUMNS_MAC} FROM bot_state ORDER BY bot_id`);
    this.upsert = db.prepare(
      `INSERT INTO bot_state (${COLUMNS_MAC}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (bot_id) DO UPDATE SET
         locked_at = excluded.locked_at, locked_by = excluded.locked_by,
         lock_reason = excluded.lock_reason, disabled = excluded.disabled,
         disabled_at = excluded.disabled_at, disabled_by = excluded.disabled_by,
         api_key_hash = excluded.api_key_hash, key_rotated_at = excluded.key_rotated_at,
         key_rotated_by = excluded.key_rotated_by, updated_at = excluded.updated_at,
         mac = excluded.mac`,
    );
    const countSql = (where: string) =>
      `SELECT bot_id, status, COUNT(*) AS n FROM elevations
       WHERE status IN (${OPEN_IN})${where} GROUP BY bot_id, status`;
    this.counts = db.prepare(countSql(''));
    this.countsOf = db.prepare(countSql(' AND bot_id = ?'));
    this.update = db.transaction((botId: string, change: BotStateChange, at: string) => {
      const row = this.byId.get(botId);
      const before = row ? this.checked(row) : undefined;
      const after = applyBotStateChange(before, botId, change, at);
      this.upsert.run(...rowValues(after, (b) => (b ? 1 : 0)), botStateMacFor(this.integrity, after));
      return { before, after };
    });
  }

  private checked(row: BotStateRow): BotState {
    return checkedRow(this.integrity, row, (botId, oldMac, newMac) => {
      try {
        this.db.prepare(RESEAL.replace(/%\d/g, '?')).run(newMac, botId, oldMac);
      } catch {
        // Read-only or busy: the row still checks under the retired key; the next read tries again.
      }
    });
  }

  get(botId: string): BotState | undefined {
    const row = this.byId.get(botId);
    return row ? this.checked(row) : undefined;
  }

  findByKeyHash(keyHash: string): BotState | undefined {
    const row = this.byKey.get(keyHash);
    return row ? this.checked(row) : undefined;
  }

  list(): BotState[] {
    return this.all.all().map((row) => this.checked(row));
  }

  /**
   * MACs the rows that have none, once, right after the migration that added the column (rows
   * the previous version wrote). Never afterwards: a MAC cleared later is tampering.
   */
  sealUnsealed(): number {
    if (!this.integrity?.macKey) return 0;
    const rows = this.db.prepare<[], BotStateRow>(`SELECT ${COLUMNS} FROM bot_state WHERE mac IS NULL`).all();
    const seal = this.db.prepare<[string | null, string]>('UPDATE bot_state SET mac = ? WHERE bot_id = ?');
    for (const row of rows) seal.run(botStateMacFor(this.integrity, rowToBotState(row)), row.bot_id);
    return rows.length;
  }

  /** Read and write under SQLite's write lock (`BEGIN IMMEDIATE`), so processes serialise. */
  apply(
    botId: string,
    change: BotStateChange,
    at: string,
  ): { before: BotState | undefined; after: BotState } {
    checkChange(botId, change, at);
    return this.update.immediate(botId, change, at);
  }

  openCounts(botId?: string): Record<string, Partial<Record<ElevationStatus, number>>> {
    return toCounts(botId === undefined ? this.counts.all() : this.countsOf.all(botId));
  }
}

/** The bot state queries on a PostgreSQL pool. */
export class PostgresBotStates {
  constructor(
    private readonly pool: pg.Pool,
    private readonly integrity?: StoreIntegrity,
  ) {}

  private checked(row: BotStateRow): BotState {
    return checkedRow(this.integrity, row, (botId, oldMac, newMac) => {
      // In the background: the row still checks under the retired key until it is rewritten.
      this.pool.query(RESEAL.replace(/%(\d)/g, '$$$1'), [newMac, botId, oldMac]).catch(() => undefined);
    });
  }

  async get(botId: string): Promise<BotState | undefined> {
    const { rows } = await this.pool.query<BotStateRow>(
      `SELECT ${COLUMNS_MAC} FROM bot_state WHERE bot_id = $1`,
      [botId],
    );
    return rows[0] ? this.checked(rows[0]) : undefined;
  }

  async findByKeyHash(keyHash: string): Promise<BotState | undefined> {
    const { rows } = await this.pool.query<BotStateRow>(
      `SELECT ${COLUMNS_MAC} FROM bot_state WHERE api_key_hash = $1`,
      [keyHash],
    );
    return rows[0] ? this.checked(rows[0]) : undefined;
  }

  async list(): Promise<BotState[]> {
    const { rows } = await this.pool.query<BotStateRow>(
      `SELECT ${COLUMNS_MAC} FROM bot_state ORDER BY bot_id`,
    );
    return rows.map((row) => this.checked(row));
  }

  /** Like {@link SqliteBotStates.sealUnsealed}, on the migrating transaction's connection. */
  static async sealUnsealed(client: pg.PoolClient, integrity: StoreIntegrity | undefined): Promise<number> {
    if (!integrity?.macKey) return 0;
    const { rows } = await client.query<BotStateRow>(`SELECT ${COLUMNS} FROM bot_state WHERE mac IS NULL`);
    for (const row of rows) {
      await client.query('UPDATE bot_state SET mac = $1 WHERE bot_id = $2', [
        botStateMacFor(integrity, rowToBotState(row)),
        row.bot_id,
      ]);
    }
    return rows.length;
  }

  /**
   * In one transaction: make sure the row exists (knowing whether it did), lock it, apply the
   * change and write it back. A concurrent change to the same bot waits for the row lock.
   */
  async apply(
    botId: string,
    change: BotStateChange,
    at: string,
  ): Promise<{ before: BotState | undefined; after: BotState }> {
    checkChange(botId, change, at);
    const client = await this.pool.connect();
    let reusable = false;
    try {
      await client.query('BEGIN');
      const inserted = await client.query(
        `INSERT INTO bot_state (bot_id, updated_at) VALUES ($1, $2)
         ON CONFLICT (bot_id) DO NOTHING RETURNING bot_id`,
        [botId, at],
      );
      const { rows } = await client.query<BotStateRow>(
        `SELECT ${COLUMNS_MAC} FROM bot_state WHERE bot_id = $1 FOR UPDATE`,
        [botId],
      );
      const before = inserted.rowCount === 0 && rows[0] ? this.checked(rows[0]) : undefined;
      const after = applyBotStateChange(before, botId, change, at);
      const values = [...rowValues(after, (b) => b), botStateMacFor(this.integrity, after)];
      await client.query(
        `UPDATE bot_state SET locked_at = $2, locked_by = $3, lock_reason = $4, disabled = $5,
           disabled_at = $6, disabled_by = $7, api_key_hash = $8, key_rotated_at = $9,
           key_rotated_by = $10, updated_at = $11, mac = $12
         WHERE bot_id = $1`,
        values,
      );
      await client.query('COMMIT');
      reusable = true;
      return { before, after };
    } catch (error) {
      try {
        await client.query('ROLLBACK');
        reusable = true;
      } catch {
        // The connection is discarded below; the server ends the transaction with it.
      }
      throw error;
    } finally {
      client.release(!reusable);
    }
  }

  async openCounts(botId?: string): Promise<Record<string, Partial<Record<ElevationStatus, number>>>> {
    const { rows } = await this.pool.query<CountRow>(
      `SELECT bot_id, status, COUNT(*) AS n FROM elevations
       WHERE status IN (${OPEN_IN})${botId === undefined ? '' : ' AND bot_id = $1'} GROUP BY bot_id, status`,
      botId === undefined ? [] : [botId],
    );
    return toCounts(rows);
  }
}
