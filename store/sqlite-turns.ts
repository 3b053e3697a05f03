/**
 * Turns of the event loop between SQLite queries. better-sqlite3 runs each query synchronously,
 * and Kysely hands back its result through promises alone, so a loop of awaited queries (the
 * detection run over every bot, a page of audit appends, a sweep of leases) never lets the event
 * loop turn: no timer fires and no socket is read until the whole loop is over. Measured in the
 * benchmark, a detection run recording 1,014 anomalies held the worker for about 0.9 s, and the
 * expiry revoker's removals due meanwhile went up to 0.7 s late (docs/benchmarks.md).
 *
 * So each query asks first whether the loop has turned lately: when queries have run back to back
 * for {@link TURN_BUDGET_MS} without a turn, the next one waits for one (`setImmediate`, after
 * the timers and the sockets). A query after an idle moment waits for nothing, and a busy loop
 * pays one `setImmediate` per budget. PostgreSQL needs none of this: its queries are I/O.
 *
 * The wait is taken as a query acquires the connection, so queries inside a transaction (which
 * holds SQLite's write lock) run straight through.
 */
import { SqliteDialect, type DatabaseConnection, type Driver, type TransactionSettings } from 'kysely';

/** Longest run of back-to-back queries, in milliseconds, before the event loop is let turn. */
export const TURN_BUDGET_MS = 5;

/** Whether a check for a turn of the loop is set (an immediate that clears it), and since when. */
let probing = false;
let probeSince = 0;

/**
 * Resolves at once unless this thread has run without a turn of its event loop for
 * {@link TURN_BUDGET_MS}; then after one.
 */
export function takeTurn(): Promise<void> | undefined {
  const now = performance.now();
  if (!probing) {
    // The loop has turned since the last check: start timing from here.
    probing = true;
    probeSince = now;
    setImmediate(() => {
      probing = false;
    });
    return undefined;
  }
  if (now - probeSince < TURN_BUDGET_MS) return undefined;
  // The probe runs first (immediates run in order), so the next query starts timing afresh.
  return new Promise((resolve) => setImmediate(resolve));
}

/** Kysely's SQLite driver, waiting for {@link takeTurn} before each connection is handed out. */
class TurningDriver implements Driver {
  constructor(private readonly inner: Driver) {}

  init(): Promise<void> {
    return this.inner.init();
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    await takeTurn();
    return this.inner.acquireConnection();
  }

  beginTransaction(connection: DatabaseConnection, settings: TransactionSettings): Promise<void> {
    return this.inner.beginTransaction(connection, settings);
  }

  commitTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.commitTransaction(connection);
  }

  rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    return this.inner.rollbackTransaction(connection);
  }

  releaseConnection(connection: DatabaseConnection): Promise<void> {
    return this.inner.releaseConnection(connection);
  }

  destroy(): Promise<void> {
    return this.inner.destroy();
  }
}

/** Kysely's SQLite dialect whose queries let the event loop turn (see the file comment). */
export class TurningSqliteDialect extends SqliteDialect {
  override createDriver(): Driver {
    return new TurningDriver(super.createDriver());
  }
}
