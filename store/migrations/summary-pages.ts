/**
 * The elevation summaries a migration fills its new columns or tables in from: every row's id
 * and view, a page at a time in id order, so a large store is never read into memory at once.
 */
import type { Kysely } from 'kysely';
import type { ElevationView } from '../../core/model/elevation.js';
import { parseView } from '../elevation-index.js';
import type { StoreSchema } from '../schema.js';

/** Summary rows read per statement. */
const PAGE = 500;

/** Calls `fill` with each page of summaries (their ids and parsed views), in id order. */
export async function forEachSummaryPage(
  store: Kysely<StoreSchema>,
  fill: (page: { id: string; view: ElevationView }[]) => Promise<void>,
): Promise<void> {
  let after = '';
  for (;;) {
    const rows = await store
      .selectFrom('elevations')
      .select(['id', 'view'])
      .where('id', '>', after)
      .orderBy('id')
      .limit(PAGE)
      .execute();
    await fill(rows.map((row) => ({ id: row.id, view: parseView(row.view) })));
    const last = rows[rows.length - 1];
    if (!last || rows.length < PAGE) return;
    after = last.id;
  }
}
