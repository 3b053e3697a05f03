/**
 * The console charts' columns of the elevation index: when the grant began and the elevation
 * ended, why it ended, its revocation lag and its approval turnaround, each computed in TypeScript
 * from the view when the row is written (`elevation-index.ts` `chartColumns`), so the charts are
 * grouped counts in SQL. Rows already stored are filled in from their view.
 */
import { sql, type ColumnDataType, type Expression, type Kysely } from 'kysely';
import type { Migration } from 'kysely';
import type { Engine } from '../connection.js';
import { chartColumns } from '../elevation-index.js';
import { forEachSummaryPage } from './summary-pages.js';
import type { StoreSchema } from '../schema.js';

/** The second migration for `engine`. */
export function chartColumnsMigration(engine: Engine): Migration {
  const key: ColumnDataType | Expression<unknown> = engine === 'postgres' ? sql`text collate "C"` : 'text';
  const bigint: ColumnDataType = engine === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const store = db as Kysely<StoreSchema>;
      const columns = await store.introspection.getTables();
      const have = new Set(columns.find((t) => t.name === 'elevations')?.columns.map((c) => c.name));
      for (const [name, type] of [
        ['granted_at', key],
        ['ended_at', key],
        ['end_reason', 'text'],
        ['revoke_lag_ms', bigint],
        ['turnaround_ms', bigint],
      ] as const satisfies readonly (readonly [string, ColumnDataType | Expression<unknown>])[]) {
        if (!have.has(name)) await store.schema.alterTable('elevations').addColumn(name, type).execute();
      }
      await forEachSummaryPage(store, async (page) => {
        for (const { id, view } of page) {
          await store.updateTable('elevations').set(chartColumns(view)).where('id', '=', id).execute();
        }
      });
    },
  };
}
