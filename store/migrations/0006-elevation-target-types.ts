/**
 * The kinds of target a role bundle's elevation is granted in, one row per kind
 * (`elevation_target_types`): the summary's `target_type` column holds one kind, the first
 * role's, so a listing filtered by kind would miss a bundle's other roles (an LDAP group and a
 * PostgreSQL role asked together would not show under `postgres`). Written with every summary of
 * a bundle (`elevation-index.ts` `writeSummary`); rows already stored are filled in from their view.
 */
import { sql, type ColumnDataType, type Expression, type Kysely, type Migration } from 'kysely';
import type { Engine } from '../connection.js';
import { bundleTargetTypes, parseView } from '../elevation-index.js';
import type { StoreSchema } from '../schema.js';

/** Summary rows read per statement while migrating. */
const FILL_BATCH = 500;

/** The sixth migration for `engine`. */
export function elevationTargetTypesMigration(engine: Engine): Migration {
  const key: ColumnDataType | Expression<unknown> = engine === 'postgres' ? sql`text collate "C"` : 'text';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const store = db as Kysely<StoreSchema>;
      await store.schema
        .createTable('elevation_target_types')
        .ifNotExists()
        .addColumn('elevation_id', key, (c) => c.notNull())
        .addColumn('target_type', key, (c) => c.notNull())
        .addPrimaryKeyConstraint('elevation_target_types_pk', ['elevation_id', 'target_type'])
        .execute();
      await store.schema
        .createIndex('elevation_target_types_by_type')
        .ifNotExists()
        .on('elevation_target_types')
        .columns(['target_type', 'elevation_id'])
        .execute();
      let after = '';
      for (;;) {
        const rows = await store
          .selectFrom('elevations')
          .select(['id', 'view'])
          .where('id', '>', after)
          .orderBy('id')
          .limit(FILL_BATCH)
          .execute();
        const values = rows.flatMap((row) =>
          bundleTargetTypes(parseView(row.view)).map((type) => ({ elevation_id: row.id, target_type: type })),
        );
        if (values.length > 0) {
          await store
            .insertInto('elevation_target_types')
            .values(values)
            .onConflict((oc) => oc.doNothing())
            .execute();
        }
        const last = rows[rows.length - 1];
        if (!last || rows.length < FILL_BATCH) break;
        after = last.id;
      }
    },
  };
}
