/**
 * The per-bot baselines of risk scoring (`bot_baselines`: one JSON document per bot) and the
 * cursor that says how far into the audit log they have been kept up to date
 * (`detection_cursor`). Nothing to fill in: the baselines are built from the log on first use.
 */
import { sql, type Kysely, type Migration } from 'kysely';
import type { Engine } from '../connection.js';
import type { StoreSchema } from '../schema.js';

/** The third migration for `engine`. */
export function botBaselinesMigration(engine: Engine): Migration {
  const pg = engine === 'postgres';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const store = db as Kysely<StoreSchema>;
      const key = pg ? sql`text collate "C"` : sql`text`;
      await store.schema
        .createTable('bot_baselines')
        .ifNotExists()
        .addColumn('bot_id', key, (c) => c.primaryKey())
        .addColumn('baseline', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await store.schema
        .createTable('detection_cursor')
        .ifNotExists()
        .addColumn('name', key, (c) => c.primaryKey())
        .addColumn('position', pg ? 'bigint' : 'integer', (c) => c.notNull())
        .execute();
    },
  };
}
