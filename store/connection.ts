/**
 * What each store of `store/` is given: the one database, as `database.ts` opens it. A contract
 * of its own so that the stores (and the migrations, which use their row mappings) do not import
 * the module that opens the database and runs the migrations.
 */
import type { CompiledQuery, Kysely } from 'kysely';
import type pg from 'pg';
import type { StoreIntegrity } from '../core/crypto/audit-checkpoints.js';
import type { StoreSchema } from './schema.js';

/** The engine the database runs on. */
export type Engine = 'sqlite' | 'postgres';

/** Tuning of the grant leases' lock (see `database.ts` `StoreSettings`). */
export interface LockTuning {
  lockWaitMs?: number;
  lockTtlMs?: number;
}

/** The open database (implemented by `database.ts` `StoreDatabase`). */
export interface StoreConnection {
  /** The query builder over the one connection (SQLite) or pool (PostgreSQL). */
  readonly db: Kysely<StoreSchema>;
  readonly engine: Engine;
  /** Signed checkpoints and row MACs, as configured. */
  readonly integrity: StoreIntegrity | undefined;
  readonly settings: LockTuning;
  /** PostgreSQL: the pool `withLock` holds its advisory locks on. */
  readonly lockPool: pg.Pool | undefined;
  /** Runs `work` in one transaction holding the write lock; `work` must use `trx` only. */
  transaction<T>(work: (trx: Kysely<StoreSchema>) => Promise<T>): Promise<T>;
  /** Runs a write that is atomic on its own, queued with this process's other writers (SQLite). */
  write<T>(work: (db: Kysely<StoreSchema>) => Promise<T>): Promise<T>;
  /** An instant of the short-lived tables as stored. */
  instant(ms: number): number | Date;
  /**
   * SQLite only (rejects on PostgreSQL): runs a compiled read and returns each row as an array of
   * its column values in select order, holding the connection as Kysely's own queries do.
   */
  sqliteRows(query: CompiledQuery): Promise<unknown[][]>;
}
