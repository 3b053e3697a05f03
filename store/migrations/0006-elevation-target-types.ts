/**
 * The kinds of target a role bundle's elevation is granted in, one row per kind
 * (`elevation_target_types`): the summary's `target_type` column holds one kind, the first
 * role's, so a listing filtered by kind would miss a bundle's other roles (an LDAP group and a
 * PostgreSQL role asked together would not show under `postgres`). Written with every summary of
 * a bundle (`elevation-index.ts` `writeSummary`); rows already stored are filled in from their view.
 */
import { sql, type ColumnDataType, type Expression, type Kysely, type Migration } from 'kysely';
import type { Engine } from '../connection.js';
import { bundleTargetTypes } from '../elevation-index.js';
import { forEachSummaryPage } from './summary-pages.js';
import type { StoreSchema } from '../schema.js';

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
      await forEachSummaryPage(store, async (page) => {
        const values = page.flatMap(({ id, view }) =>
          bundleTargetTypes(view).map((type) => ({ elevation_id: id, target_type: type })),
        );
        if (values.length === 0) return;
        await store
          .insertInto('elevation_target_types')
          .values(values)
          .onConflict((oc) => oc.doNothing())
          .execute();
      });
    },
  };
}
