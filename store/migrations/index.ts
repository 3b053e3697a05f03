/**
 * The store's schema migrations, run by Kysely's `Migrator` when the database is opened. Each
 * migration is written once for both engines; the migrator records what ran in
 * `store_migration` and, on PostgreSQL, serialises concurrent first starts with an advisory lock
 * (SQLite: the caller holds the write lock). Only ever append to {@link migrations}, with names
 * that sort after the last.
 */
import { sql, type Kysely } from 'kysely';
import { Migrator, type Migration } from 'kysely';
import type { StoreIntegrity } from '../../core/crypto/audit-checkpoints.js';
import type { Engine } from '../connection.js';
import { SchemaTooNewError } from '../errors.js';
import type { StoreSchema } from '../schema.js';
import { initialSchema } from './0001-initial.js';
import { chartColumnsMigration } from './0002-chart-columns.js';
import { botBaselinesMigration } from './0003-bot-baselines.js';
import { auditEventTypesMigration } from './0004-audit-event-types.js';
import { botAttestationMigration } from './0005-bot-attestation.js';
import { elevationTargetTypesMigration } from './0006-elevation-target-types.js';

/** The table Kysely records applied migrations in (and its lock table, `<name>_lock`). */
export const MIGRATION_TABLE = 'store_migration';

/** Every migration, by name, in order. */
export function migrations(engine: Engine, integrity: StoreIntegrity | undefined): Record<string, Migration> {
  return {
    '0001-initial': initialSchema(engine, integrity),
    '0002-chart-columns': chartColumnsMigration(engine),
    '0003-bot-baselines': botBaselinesMigration(engine),
    '0004-audit-event-types': auditEventTypesMigration(),
    '0005-bot-attestation': botAttestationMigration(),
    '0006-elevation-target-types': elevationTargetTypesMigration(engine),
  };
}

/**
 * Applies the pending migrations.
 *
 * @throws {@link SchemaTooNewError} when the database records a migration this version does not know
 */
export async function migrateToLatest(
  db: Kysely<StoreSchema>,
  engine: Engine,
  integrity: StoreIntegrity | undefined,
): Promise<void> {
  const known = migrations(engine, integrity);
  await refuseNewerSchema(db, Object.keys(known));
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve(known) },
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: `${MIGRATION_TABLE}_lock`,
  });
  const { error } = await migrator.migrateToLatest();
  if (error !== undefined) {
    throw error instanceof Error ? error : new Error('the store migration failed', { cause: error });
  }
}

/** A migration on record that this version does not know means a newer Elevate migrated the database. */
async function refuseNewerSchema(db: Kysely<StoreSchema>, known: string[]): Promise<void> {
  const tables = await db.introspection.getTables();
  if (!tables.some((t) => t.name === MIGRATION_TABLE)) return;
  const { rows } = await sql<{ name: string }>`SELECT name FROM ${sql.table(MIGRATION_TABLE)}`.execute(db);
  const unknown = rows.map((r) => r.name).find((n) => !known.includes(n));
  if (unknown !== undefined) throw new SchemaTooNewError(unknown);
}
