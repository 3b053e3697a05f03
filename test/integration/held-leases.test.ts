/**
 * `heldLeases` of the grant leases store, run against both engines on real databases (a SQLite file
 * and a throwaway PostgreSQL server): the page-by-page list of held leases that
 * reconciliation searches for leases whose workflow has ended.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HeldLease, LeaseInput } from '../../store/grant-leases.js';
import { openStores, type Stores } from '../../store/stores.js';
import { InvalidQueryError } from '../../store/errors.js';
import { heldLeasesQuery, type GrantLeases } from '../../store/grant-leases.js';
import type { TargetRef } from '../../core/model/targets.js';
import { FORGET_MIGRATIONS, SQLITE_UNDO_CHECKPOINTS } from '../support/raw-db.js';
import { postgresDatabases, sqliteFiles } from '../support/fresh-databases.js';

interface Subject {
  stores: Stores;
  store: GrantLeases;
  /** How the engine plans the held-leases query for this page (sequential scans off in PostgreSQL). */
  plan: (page: { after?: string; limit: number }) => Promise<string>;
  /** Whether the database has the `leases_held` index. */
  hasIndex: () => Promise<boolean>;
  /** Turns the database back into one an Elevate before `leases_held` wrote, and reopens it. */
  reopenFromPreviousVersion: () => Promise<GrantLeases>;
}

interface Engine {
  name: 'sqlite' | 'postgres';
  start(): Promise<void>;
  stop(): Promise<void>;
  fresh(): Promise<Subject>;
}

const cleanups: (() => Promise<unknown>)[] = [];

function sqliteEngine(): Engine {
  const files = sqliteFiles('held-leases');
  return {
    name: 'sqlite',
    start: () => files.start(),
    stop: () => files.stop(),
    async fresh() {
      const path = files.next();
      const open = async () => {
        const stores = await openStores({ sqlitePath: path });
        cleanups.push(() => stores.database.close());
        return stores;
      };
      const withDb = <T>(work: (db: Database.Database) => T): T => {
        const db = new Database(path);
        try {
          return work(db);
        } finally {
          db.close();
        }
      };
      const stores = await open();
      return {
        stores,
        store: stores.leases,
        plan: (page) =>
          Promise.resolve(
            withDb((db) => {
              const { sql, parameters } = heldLeasesQuery(stores.database.db, page).compile();
              const rows = db
                .prepare<unknown[], { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
                .all(...parameters);
              return rows.map((r) => r.detail).join('\n');
            }),
          ),
        hasIndex: () =>
          Promise.resolve(
            withDb(
              (db) =>
                db
                  .prepare("SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'leases_held'")
                  .get() !== undefined,
            ),
          ),
        reopenFromPreviousVersion: async () => {
          withDb((db) => db.exec(`DROP INDEX leases_held; ${SQLITE_UNDO_CHECKPOINTS} ${FORGET_MIGRATIONS}`));
          return (await open()).leases;
        },
      };
    },
  };
}

function postgresEngine(): Engine {
  const databases = postgresDatabases('held_leases');
  return {
    name: 'postgres',
    start: () => databases.start(),
    stop: () => databases.stop(),
    async fresh() {
      const url = await databases.next();
      const open = async () => {
        const stores = await openStores({ databaseUrl: url, sqlitePath: '' });
        cleanups.push(() => stores.database.close());
        return stores;
      };
      const withClient = async <T>(work: (client: pg.Client) => Promise<T>): Promise<T> => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          return await work(client);
        } finally {
          await client.end();
        }
      };
      const stores = await open();
      return {
        stores,
        store: stores.leases,
        plan: (page) =>
          withClient(async (client) => {
            // Sequential scans off, to see that the index can serve the query at all.
            await client.query('SET enable_seqscan = off');
            const { sql, parameters } = heldLeasesQuery(stores.database.db, page).compile();
            const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, [...parameters]);
            return rows.map((r) => r['QUERY PLAN']).join('\n');
          }),
        hasIndex: () =>
          withClient(
            async (client) =>
              (await client.query("SELECT 1 FROM pg_indexes WHERE indexname = 'leases_held'")).rowCount === 1,
          ),
        reopenFromPreviousVersion: async () => {
          await withClient(async (client) => {
            await client.query('DROP INDEX leases_held');
            await client.query(FORGET_MIGRATIONS);
          });
          return (await open()).leases;
        },
      };
    },
  };
}

const target = (group: string): TargetRef => ({
  type: 'ldap',
  groupDn: `cn=${group},ou=groups,dc=example,dc=org`,
});

function lease(elevationId: string, group = 'deployers', bot = 'bot-1'): LeaseInput {
  return {
    elevationId,
    key: `ldap|cn=${group}|uid=${bot}`,
    target: target(group),
    principal: `uid=${bot},ou=bots,dc=example,dc=org`,
  };
}

/** Every held lease, read page by page with `limit`, and the number of pages it took. */
async function readAll(store: GrantLeases, limit: number): Promise<{ leases: HeldLease[]; pages: number }> {
  const leases: HeldLease[] = [];
  let pages = 0;
  let after: string | undefined;
  for (;;) {
    const page = await store.heldLeases({ ...(after !== undefined ? { after } : {}), limit });
    pages += 1;
    leases.push(...page);
    if (page.length < limit) return { leases, pages };
    after = page.at(-1)!.elevationId;
  }
}

describe.each([sqliteEngine(), postgresEngine()])('$name heldLeases', (engine) => {
  beforeAll(() => engine.start());
  afterAll(() => engine.stop());
  afterEach(async () => {
    for (const close of cleanups.splice(0).reverse()) await close().catch(() => undefined);
  });

  it('when leases are held and released, then only the held ones are listed, by elevation id, with what releasing them needs', async () => {
    const { store } = await engine.fresh();
    await store.hold(lease('el_c', 'ops'), '2026-11-22T10:02:00.000Z');
    await store.hold(lease('el_a'), '2026-11-22T10:00:00.000Z');
    await store.hold(lease('el_b'), '2026-11-22T10:01:00.000Z');
    await store.hold(lease('el_d', 'ops', 'bot-2'), '2026-11-22T10:03:00.000Z');
    await store.release(lease('el_b'), '2026-11-22T10:05:00.000Z');
    // A tombstone (released without ever being held) is not a held lease either.
    await store.release(lease('el_e'), '2026-11-22T10:06:00.000Z');

    expect(await store.heldLeases({ limit: 10 })).toEqual([
      { ...lease('el_a'), acquiredAt: '2026-11-22T10:00:00.000Z' },
      { ...lease('el_c', 'ops'), acquiredAt: '2026-11-22T10:02:00.000Z' },
      { ...lease('el_d', 'ops', 'bot-2'), acquiredAt: '2026-11-22T10:03:00.000Z' },
    ]);
  });

  it('when there are more held leases than fit a page, then pages chain by the last id with no duplicates or gaps', async () => {
    const { store } = await engine.fresh();
    const ids = Array.from({ length: 11 }, (_, i) => `el_${String(i).padStart(3, '0')}`);
    // Held in another order than their ids, with released leases between them.
    for (const id of [...ids].reverse()) await store.hold(lease(id), '2026-11-22T10:00:00.000Z');
    for (const id of ['el_0005', 'el_0015', 'el_999']) {
      await store.hold(lease(id), '2026-11-22T10:00:00.000Z');
      await store.release(lease(id), '2026-11-22T10:01:00.000Z');
    }

    const { leases, pages } = await readAll(store, 4);

    expect(leases.map((l) => l.elevationId)).toEqual(ids);
    expect(pages).toBe(3);
    expect(await store.heldLeases({ after: ids.at(-1)!, limit: 4 })).toEqual([]);
  });

  it('when a lease is released or held between two pages, then the next page reflects it without repeating or skipping others', async () => {
    const { store } = await engine.fresh();
    for (const id of ['el_1', 'el_2', 'el_3', 'el_4', 'el_5']) {
      await store.hold(lease(id), '2026-11-22T10:00:00.000Z');
    }
    const first = await store.heldLeases({ limit: 2 });
    expect(first.map((l) => l.elevationId)).toEqual(['el_1', 'el_2']);

    await store.release(lease('el_1'), '2026-11-22T10:01:00.000Z');
    await store.release(lease('el_4'), '2026-11-22T10:01:00.000Z');
    await store.hold(lease('el_6'), '2026-11-22T10:02:00.000Z');

    const rest = await store.heldLeases({ after: 'el_2', limit: 10 });
    expect(rest.map((l) => l.elevationId)).toEqual(['el_3', 'el_5', 'el_6']);
  });

  it.each([0, -1, 1.5, 1001, Number.NaN])(
    'when the limit is %s, then it is refused with InvalidQueryError on limit',
    async (limit) => {
      const { store } = await engine.fresh();
      const refused = await store.heldLeases({ limit }).catch((err: unknown) => err);
      expect(refused).toBeInstanceOf(InvalidQueryError);
      expect((refused as InvalidQueryError).field).toBe('limit');
    },
  );

  it('when a page is read, then the partial index of held leases serves it, never a walk over the table', async () => {
    const { plan } = await engine.fresh();
    for (const page of [{ limit: 100 }, { after: 'el_x', limit: 100 }]) {
      const detail = await plan(page);
      expect(detail).toMatch(/leases_held/);
      expect(detail).not.toMatch(/Seq Scan|SCAN leases(?! USING)|TEMP B-TREE/);
    }
  });

  it('when a database an earlier Elevate wrote without the index is opened, then the index is added and held leases still list', async () => {
    const subject = await engine.fresh();
    await subject.store.hold(lease('el_old'), '2026-11-22T10:00:00.000Z');
    await subject.stores.database.close();

    const store = await subject.reopenFromPreviousVersion();

    expect(await subject.hasIndex()).toBe(true);
    expect((await store.heldLeases({ limit: 10 })).map((l) => l.elevationId)).toEqual(['el_old']);
  });
});
