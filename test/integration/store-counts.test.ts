/**
 * `countByStatus` of the elevation index, run against both engines on real databases (a SQLite file
 * and a throwaway PostgreSQL server): the counts the metrics gauges are computed from.
 */
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStores, type Stores } from '../../store/stores.js';
import { countByStatusQuery } from '../../store/elevation-index.js';
import { ELEVATION_STATUSES, type ElevationStatus, type ElevationView } from '../../core/model/elevation.js';
import { postgresDatabases, sqliteFiles } from '../support/fresh-databases.js';

interface Engine {
  name: 'sqlite' | 'postgres';
  start(): Promise<void>;
  stop(): Promise<void>;
  /** A store on a fresh database, and how the engine plans the count query there. */
  fresh(): Promise<{ store: Stores; plan: () => Promise<string> }>;
}

/** The count query as the store sends it to `store`'s engine. */
const countSql = (store: Stores): string => countByStatusQuery(store.database.db).compile().sql;

const cleanups: (() => Promise<unknown>)[] = [];

function sqliteEngine(): Engine {
  const files = sqliteFiles('counts-sqlite');
  return {
    name: 'sqlite',
    start: () => files.start(),
    stop: () => files.stop(),
    async fresh() {
      const path = files.next();
      const store = await openStores({ sqlitePath: path });
      cleanups.push(() => store.database.close());
      const plan = () => {
        const db = new Database(path, { readonly: true });
        try {
          const rows = db.prepare<[], { detail: string }>(`EXPLAIN QUERY PLAN ${countSql(store)}`).all();
          return Promise.resolve(rows.map((r) => r.detail).join('\n'));
        } finally {
          db.close();
        }
      };
      return { store, plan };
    },
  };
}

function postgresEngine(): Engine {
  const databases = postgresDatabases('counts');
  return {
    name: 'postgres',
    start: () => databases.start(),
    stop: () => databases.stop(),
    async fresh() {
      const url = await databases.next();
      const store = await openStores({ databaseUrl: url, sqlitePath: '' });
      cleanups.push(() => store.database.close());
      const plan = async () => {
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          // Sequential scans off, to see that an index can serve the count at all.
          await client.query('SET enable_seqscan = off');
          const { rows } = await client.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${countSql(store)}`);
          return rows.map((r) => r['QUERY PLAN']).join('\n');
        } finally {
          await client.end();
        }
      };
      return { store, plan };
    },
  };
}

let eventCounter = 0;

function view(id: string, status: ElevationStatus): ElevationView {
  return {
    id,
    workflowId: `elevation-${id}`,
    status,
    botId: 'bot-1',
    roleId: 'role-a',
    owner: 'owner@example.com',
    environment: 'prod',
    durationSeconds: 600,
    justification: 'deploy release 42',
    requestedAt: `2026-11-22T10:00:${String(eventCounter % 60).padStart(2, '0')}.000Z`,
    approval: { mode: 'auto' },
    approvals: [],
    revokeAttempts: 0,
  };
}

/** Records (or moves) an elevation's summary row to `status`, as the workflow's events do. */
async function put(store: Stores, id: string, status: ElevationStatus): Promise<void> {
  eventCounter += 1;
  await store.auditLog.append({
    id: `evt-${eventCounter}`,
    elevationId: id,
    type: 'elevation.requested',
    at: '2026-11-22T10:00:00.000Z',
    actor: { kind: 'system', id: 'elevate' },
    data: {},
    elevation: view(id, status),
  });
}

function zeros(): Record<ElevationStatus, number> {
  return Object.fromEntries(ELEVATION_STATUSES.map((s) => [s, 0])) as Record<ElevationStatus, number>;
}

describe.each([sqliteEngine(), postgresEngine()])('$name countByStatus', (engine) => {
  beforeAll(() => engine.start());
  afterAll(() => engine.stop());
  afterEach(async () => {
    for (const close of cleanups.splice(0).reverse()) await close().catch(() => undefined);
  });

  it('when the store is empty, then every status is there with 0', async () => {
    const { store } = await engine.fresh();
    const counts = await store.elevations.countByStatus();
    expect(counts).toEqual(zeros());
    expect(Object.keys(counts).sort()).toEqual([...ELEVATION_STATUSES].sort());
  });

  it('when elevations are in several statuses, then each is counted once, in its current status', async () => {
    const { store } = await engine.fresh();
    await put(store, 'a1', 'active');
    await put(store, 'a2', 'active');
    await put(store, 'a3', 'active');
    await put(store, 'p1', 'pending_approval');
    await put(store, 'p2', 'pending_approval');
    await put(store, 'r1', 'revoking');
    await put(store, 'x1', 'revoked');
    // An elevation moves on: its one summary row changes status, it is not counted twice.
    await put(store, 'p2', 'approved');
    await put(store, 'a3', 'revoking');
    await put(store, 'r1', 'revoked');

    expect(await store.elevations.countByStatus()).toEqual({
      ...zeros(),
      active: 2,
      pending_approval: 1,
      approved: 1,
      revoking: 1,
      revoked: 2,
    });
  });

  it('when events carry no elevation (refusals, drift), then the counts do not move', async () => {
    const { store } = await engine.fresh();
    await put(store, 'a1', 'active');
    await store.auditLog.append({
      id: `evt-unattached-${(eventCounter += 1)}`,
      elevationId: null,
      type: 'auth.refused',
      at: '2026-11-22T10:00:00.000Z',
      actor: { kind: 'anonymous', id: 'unknown' },
      data: { reason: 'unknown_key' },
    });
    expect(await store.elevations.countByStatus()).toEqual({ ...zeros(), active: 1 });
  });

  it('when counting, then the status index can serve the query', async () => {
    const { plan } = await engine.fresh();
    // One of the indexes that hold the status (on an empty table PostgreSQL may pick a combined
    // one, bot or role with status): never a walk over the table itself.
    const detail = await plan();
    expect(detail).toMatch(/elevations_(bot_|role_)?status/);
    expect(detail).not.toMatch(/Seq Scan|SCAN elevations(?! USING)/);
  });
});
