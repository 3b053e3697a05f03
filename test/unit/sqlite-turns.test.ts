/**
 * The SQLite store lets the event loop turn between queries that run back to back
 * (`store/sqlite-turns.ts`): a timer due during a long loop of awaited queries fires during it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { StoreDatabase } from '../../store/database.js';
import { TURN_BUDGET_MS, takeTurn } from '../../store/sqlite-turns.js';

let database: StoreDatabase;

beforeAll(async () => {
  database = await StoreDatabase.open({ sqlitePath: ':memory:' });
});

afterAll(async () => {
  await database.close();
});

/** Keeps this thread busy for `ms` without a turn of the event loop. */
function busy(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {
    // spin
  }
}

describe('turns of the event loop between SQLite queries', () => {
  it('when queries run back to back, then a timer due meanwhile fires within a few budgets, not after the loop', async () => {
    // The first query of the store's connection may wait on real I/O (opening it), which turns the
    // loop by itself: done before the timer is set, so only the turns under test can fire it.
    await sql`SELECT 1`.execute(database.db);
    await new Promise((resolve) => setImmediate(resolve));
    let firedAfterMs: number | undefined;
    const started = performance.now();
    setTimeout(() => (firedAfterMs = performance.now() - started), 0);
    let queries = 0;
    // At most a second of queries, each awaited: without turns the timer waits for all of them.
    while (firedAfterMs === undefined && performance.now() - started < 1_000) {
      await sql`SELECT 1`.execute(database.db);
      busy(0.2);
      queries += 1;
    }
    expect(firedAfterMs).toBeDefined();
    expect(firedAfterMs!).toBeLessThan(20 * TURN_BUDGET_MS);
    expect(queries).toBeGreaterThan(1);
  });

  it('when the loop has turned since the last query, then the next one does not wait; after a budget of work it does', async () => {
    await new Promise((resolve) => setImmediate(resolve));
    expect(takeTurn()).toBeUndefined();
    expect(takeTurn()).toBeUndefined();
    busy(TURN_BUDGET_MS + 1);
    const wait = takeTurn();
    expect(wait).toBeInstanceOf(Promise);
    await wait;
    expect(takeTurn()).toBeUndefined();
  });
});
