/**
 * The stores' contract (audit log, elevation index, grant leases and the lock, single-use
 * records, the schema), run against both engines on real databases: a SQLite file and a
 * throwaway PostgreSQL server. Tampering is done the way an intruder would: with SQL on the
 * stored rows, behind the store's back.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, NewAuditEvent } from '../../core/model/audit-record.js';
import type { ElevationQuery } from '../../store/elevation-index.js';
import type { LeaseInput } from '../../store/grant-leases.js';
import { z } from 'zod';
import { openStores, type Stores } from '../../store/stores.js';
import {
  InvalidCursorError,
  InvalidEphemeralError,
  InvalidEventError,
  InvalidQueryError,
  LockTimeoutError,
  SchemaTooNewError,
  StoreUnavailableError,
} from '../../store/errors.js';
import { GENESIS_HASH, canonicalJson, hashEvent } from '../../core/crypto/hash-chain.js';
import { rowToEvent } from '../../store/audit-log.js';
import { activeSlots, chartWindow, statsFromAggregates } from '../../server/admin-charts.js';
import { elevationStats } from '../support/chart-oracle.js';
import { KeyedMutex } from '../../store/keyed-mutex.js';
import { migrations } from '../../store/migrations/index.js';
import type { AuditEventsTable } from '../../store/schema.js';
import type { ElevationStatus, ElevationView } from '../../core/model/elevation.js';
import { createDatabase, startPostgres } from '../../dev/postgres-server.js';
import { postgresDatabases, sqliteFiles } from '../support/fresh-databases.js';
import type { PostgresServer } from '../../dev/postgres-server.js';
import {
  FORGET_MIGRATIONS,
  LEGACY_POSTGRES_SCHEMA,
  LEGACY_SQLITE_SCHEMA,
  postgresRaw,
  sqliteRaw,
  SQLITE_UNDO_CHECKPOINTS,
  type RawDb,
} from '../support/raw-db.js';

// ---------------------------------------------------------------------------------------------
// Engines under test

interface LockOptions {
  lockWaitMs?: number;
  lockTtlMs?: number;
}

/** One fresh, isolated database, with no store opened on it yet. */
interface Blank {
  raw: RawDb;
  /** Opens a store instance on the database: another process, as far as locks go. */
  open: (opts?: LockOptions) => Promise<Stores>;
  /** The migrations the database records as applied, in order. */
  applied: () => Promise<string[]>;
  /** Runs SQL of several statements, with no parameters. */
  exec: (sql: string) => Promise<void>;
  /** The schema as the last Elevate before `store/` left it, on this engine (`raw-db.ts`). */
  legacySchema: string;
  /** Makes the database record a migration from a newer Elevate. */
  pretendNewerMigration: (name: string) => Promise<void>;
  /**
   * Turns the database into one an Elevate before `store/` wrote at its schema version 1: no
   * Kysely migrations recorded, no `ephemeral` table, no filter columns.
   */
  downgradeToVersion1: () => Promise<void>;
}

/** A fresh database with a store open on it. */
interface Subject extends Omit<Blank, 'open'> {
  store: Stores;
  /** Another store instance on the same database. */
  openAnother: (opts?: LockOptions) => Promise<Stores>;
}

interface Engine {
  name: 'sqlite' | 'postgres';
  start(): Promise<void>;
  stop(): Promise<void>;
  blank(): Promise<Blank>;
}

/** Undoes the migration that added the console's filter columns (a version-1 database has none). */
const DROP_FILTER_COLUMNS = ['owner', 'team', 'environment', 'target_type', 'risk']
  .map((c) => `DROP INDEX elevations_${c}; ALTER TABLE elevations DROP COLUMN ${c}`)
  .join('; ');

/** Every migration this code has, in order: what a database it opened records as applied. */
const ALL_MIGRATIONS = Object.keys(migrations('sqlite', undefined));

/** The migrations a database records, read with SQL. */
async function appliedMigrations(raw: RawDb): Promise<string[]> {
  const rows = await raw.query<{ name: string }>('SELECT name FROM store_migration ORDER BY name');
  return rows.map((r) => r.name);
}

/** The single-use records the contract tests use: one namespace, any JSON value. */
const records = (stores: Stores) => stores.singleUse.namespace('test', z.unknown());

/** A fresh database with a store open on it. */
async function fresh(engine: Engine, opts: LockOptions = {}): Promise<Subject> {
  const blank = await engine.blank();
  const store = await blank.open(opts);
  return { ...blank, store, openAnother: (another) => blank.open(another) };
}

/** Closers for everything a test opened, run after each test. */
const cleanups: (() => Promise<unknown>)[] = [];
async function cleanUp(): Promise<void> {
  const pending = cleanups.splice(0).reverse();
  for (const close of pending) await close().catch(() => undefined);
}
function track(stores: Stores): Stores {
  cleanups.push(() => stores.database.close());
  return stores;
}

function sqliteEngine(): Engine {
  const files = sqliteFiles('audit-sqlite');
  return {
    name: 'sqlite',
    start: () => files.start(),
    stop: () => files.stop(),
    blank() {
      const path = files.next();
      // The raw connection creates the file; the schema comes with the first store opened.
      const db = new Database(path);
      cleanups.push(() => Promise.resolve(db.close()));
      const raw = sqliteRaw(db);
      return Promise.resolve({
        raw,
        open: async (opts = {}) => track(await openStores({ sqlitePath: path, ...opts })),
        applied: () => appliedMigrations(raw),
        exec: (sql) => Promise.resolve(void db.exec(sql)),
        legacySchema: LEGACY_SQLITE_SCHEMA,
        pretendNewerMigration: async (name) =>
          void (await raw.query('INSERT INTO store_migration (name, timestamp) VALUES (?, ?)', [
            name,
            new Date().toISOString(),
          ])),
        downgradeToVersion1: () =>
          Promise.resolve(
            void db.exec(
              `${SQLITE_UNDO_CHECKPOINTS} DROP TABLE ephemeral; ${DROP_FILTER_COLUMNS}; ${FORGET_MIGRATIONS} PRAGMA user_version = 1;`,
            ),
          ),
      });
    },
  };
}

function postgresEngine(): Engine {
  const databases = postgresDatabases('audit');
  return {
    name: 'postgres',
    start: () => databases.start(),
    stop: () => databases.stop(),
    async blank() {
      const url = await databases.next();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      cleanups.push(() => client.end());
      const raw = postgresRaw(client);
      return {
        raw,
        open: async (opts = {}) => track(await openStores({ databaseUrl: url, sqlitePath: '', ...opts })),
        applied: () => appliedMigrations(raw),
        exec: async (sql) => void (await client.query(sql)),
        legacySchema: LEGACY_POSTGRES_SCHEMA,
        pretendNewerMigration: async (name) =>
          void (await raw.query('INSERT INTO store_migration (name, timestamp) VALUES (?, ?)', [
            name,
            new Date().toISOString(),
          ])),
        downgradeToVersion1: async () => {
          await raw.query('DROP TABLE ephemeral');
          for (const statement of DROP_FILTER_COLUMNS.split('; ')) await raw.query(statement);
          await raw.query(FORGET_MIGRATIONS);
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Fixtures

let eventCounter = 0;

function newEvent(overrides: Partial<NewAuditEvent> = {}): NewAuditEvent {
  eventCounter += 1;
  return {
    id: `evt-${eventCounter}`,
    elevationId: 'elv-1',
    type: 'elevation.requested',
    at: '2026-11-22T10:00:00.000Z',
    actor: { kind: 'bot', id: 'bot-1' },
    data: { n: eventCounter },
    ...overrides,
  };
}

function view(id: string, overrides: Partial<ElevationView> = {}): ElevationView {
  return {
    id,
    workflowId: `elevation-${id}`,
    status: 'pending_approval',
    botId: 'bot-1',
    roleId: 'role-a',
    owner: 'owner@example.com',
    environment: 'prod',
    durationSeconds: 600,
    justification: 'deploy release 42',
    requestedAt: '2026-11-22T10:00:00.000Z',
    approval: {
      mode: 'approvers',
      quorum: 1,
      deadline: '2026-11-22T10:15:00.000Z',
      groups: [{ name: 'security', quorum: 1, approved: 0 }],
    },
    approvals: [],
    revokeAttempts: 0,
    ...overrides,
  };
}

/** Records an elevation's summary via a `requested` event. */
async function seedElevation(store: Stores, elevation: ElevationView): Promise<void> {
  await store.auditLog.append(newEvent({ elevationId: elevation.id, elevation }));
}

const target = { type: 'ldap' as const, groupDn: 'cn=deployers,ou=groups,dc=example,dc=org' };

function lease(elevationId: string, key = 'ldap|cn=deployers|uid=bot-1'): LeaseInput {
  return { elevationId, key, target, principal: 'uid=bot-1,ou=bots,dc=example,dc=org' };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * A promise with its resolver, to hold a critical section open until the test says so.
 * Opened at clean-up too, so a failing test does not leave a lock (and a connection) held.
 */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  cleanups.push(() => Promise.resolve(open()));
  return { opened, open };
}

/** Reads the stored row at `position` as an event. */
async function eventAt(raw: RawDb, position: number): Promise<AuditEvent> {
  const [row] = await raw.query<AuditEventsTable>('SELECT * FROM audit_events WHERE position = ?', [
    position,
  ]);
  if (!row) throw new Error(`no event at position ${position}`);
  return rowToEvent(row);
}

async function countEvents(raw: RawDb): Promise<number> {
  const [row] = await raw.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM audit_events');
  return Number(row?.n);
}

async function insertRow(raw: RawDb, event: AuditEvent, dataText = canonicalJson(event.data)): Promise<void> {
  await raw.query(
    `INSERT INTO audit_events (position, id, elevation_id, seq, type, at, actor_kind, actor_id, data, prev_hash, hash)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    [
      event.position,
      event.id,
      event.elevationId,
      event.seq,
      event.type,
      event.at,
      event.actor.kind,
      event.actor.id,
      dataText,
      event.prevHash,
      event.hash,
    ],
  );
}

async function countEphemeral(raw: RawDb): Promise<number> {
  const [row] = await raw.query<{ n: number | string }>('SELECT COUNT(*) AS n FROM ephemeral');
  return Number(row?.n);
}

/** An instant `ms` milliseconds from now (negative: in the past). */
function inMs(ms: number): Date {
  return new Date(Date.now() + ms);
}

async function appendMany(store: Stores, count: number): Promise<AuditEvent[]> {
  const stored: AuditEvent[] = [];
  for (let i = 0; i < count; i += 1) {
    stored.push(await store.auditLog.append(newEvent({ elevationId: i % 2 === 0 ? 'elv-a' : 'elv-b' })));
  }
  return stored;
}

// ---------------------------------------------------------------------------------------------
// The contract, once per engine

describe.each([sqliteEngine(), postgresEngine()])('$name audit store', (engine) => {
  beforeAll(() => engine.start());
  afterAll(() => engine.stop());
  afterEach(cleanUp);

  describe('append', () => {
    it('when the first event is appended, then it is stored at position 1, seq 1, chained to the genesis hash', async () => {
      const { store } = await fresh(engine);
      const input = newEvent({ data: { reason: 'ticket', nested: { b: 2, a: 1 } } });

      const stored = await store.auditLog.append(input);

      const { elevation: _none, ...fields } = input;
      const unhashed = { ...fields, position: 1, seq: 1, prevHash: GENESIS_HASH };
      expect(stored).toEqual({ ...unhashed, hash: hashEvent(unhashed) });
      expect(await store.auditLog.listEvents('elv-1')).toEqual([stored]);
    });

    it('when data keys arrive in any order and `at` has an offset, then data is canonical text and `at` is kept byte for byte', async () => {
      const { store, raw } = await fresh(engine);
      const at = '2026-11-22T11:00:00.5+01:00';

      await store.auditLog.append(newEvent({ at, data: { z: 1, a: { y: true, x: null } } }));

      const [row] = await raw.query<{ data: string; at: string }>('SELECT data, at FROM audit_events');
      expect(row).toEqual({ data: '{"a":{"x":null,"y":true},"z":1}', at });
      expect((await store.auditLog.verify()).ok).toBe(true);
    });

    it('when the same id is appended twice, then the stored event comes back unchanged and nothing else changes', async () => {
      const { store, raw } = await fresh(engine);
      const first = newEvent({ elevation: view('elv-1') });
      const stored = await store.auditLog.append(first);

      const again = await store.auditLog.append({
        ...first,
        data: { changed: true },
        elevation: view('elv-1', { status: 'denied' }),
      });

      expect(again).toEqual(stored);
      expect(await countEvents(raw)).toBe(1);
      expect((await store.elevations.getElevation('elv-1'))?.status).toBe('pending_approval');
      const next = await store.auditLog.append(newEvent());
      expect(next.position).toBe(2);
    });

    it('when events of several elevations interleave, then seq counts per elevation and position across the store', async () => {
      const { store } = await fresh(engine);
      const order: (string | null)[] = ['elv-a', 'elv-b', 'elv-a', null, 'elv-b', null, 'elv-a'];

      const stored = [];
      for (const elevationId of order) stored.push(await store.auditLog.append(newEvent({ elevationId })));

      expect(stored.map((e) => [e.elevationId, e.position, e.seq])).toEqual([
        ['elv-a', 1, 1],
        ['elv-b', 2, 1],
        ['elv-a', 3, 2],
        [null, 4, 1],
        ['elv-b', 5, 2],
        [null, 6, 2],
        ['elv-a', 7, 3],
      ]);
      for (let i = 1; i < stored.length; i += 1) expect(stored[i]?.prevHash).toBe(stored[i - 1]?.hash);
      expect((await store.auditLog.listEvents('elv-a')).map((e) => e.seq)).toEqual([1, 2, 3]);
      expect((await store.auditLog.listEvents('elv-a')).map((e) => e.position)).toEqual([1, 3, 7]);
      expect(await store.auditLog.listEvents('elv-unknown')).toEqual([]);
    });

    it('when events are read after a position, then they come in chain order, paged, including those without an elevation', async () => {
      const { store } = await fresh(engine);
      const order: (string | null)[] = ['elv-a', null, 'elv-b', null, 'elv-a'];
      for (const elevationId of order) await store.auditLog.append(newEvent({ elevationId }));

      const first = await store.auditLog.readEvents(0, 2);
      const rest = await store.auditLog.readEvents(first.at(-1)!.position, 10);

      expect(first.map((e) => e.position)).toEqual([1, 2]);
      expect(rest.map((e) => [e.position, e.elevationId])).toEqual([
        [3, 'elv-b'],
        [4, null],
        [5, 'elv-a'],
      ]);
      expect(await store.auditLog.readEvents(5, 10)).toEqual([]);
    });

    it('when an event carries the view of another elevation, then it is refused with InvalidEventError and nothing is stored', async () => {
      const { store, raw } = await fresh(engine);

      const attempt = store.auditLog.append(newEvent({ elevationId: 'elv-1', elevation: view('elv-2') }));

      await expect(attempt).rejects.toBeInstanceOf(InvalidEventError);
      await expect(attempt).rejects.toMatchObject({ code: 'invalid_event' });
      expect(await countEvents(raw)).toBe(0);
      expect(await store.elevations.getElevation('elv-2')).toBeUndefined();
    });
  });

  describe('elevation summaries', () => {
    it("when the console's charts are counted in SQL, then they are the numbers folded from the views, for every outcome, grant and approval", async () => {
      const { store } = await fresh(engine);
      const base = Date.parse('2026-11-20T00:00:00.000Z');
      const iso = (ms: number) => new Date(ms).toISOString();
      const statuses = [
        'revoked',
        'revoked',
        'active',
        'denied',
        'failed',
        'revoking',
        'pending_approval',
      ] as const;
      const reasons = [
        'expired',
        'admin_revoked',
        undefined,
        'denied',
        'grant_failed',
        'given_back',
        undefined,
      ] as const;
      const views: ElevationView[] = [];
      for (let i = 0; i < 42; i += 1) {
        const requested = base + i * 3_700_000;
        const kind = i % statuses.length;
        const granted = kind <= 2 || kind === 5 ? requested + 60_000 + (i % 5) * 1000 : undefined;
        const expires = granted !== undefined ? granted + 600_000 : undefined;
        const ended =
          kind === 0
            ? expires! + (i % 9) * 137
            : kind === 1 || kind === 3 || kind === 4
              ? requested + 900_000
              : undefined;
        const approvals =
          i % 3 === 0
            ? [{ approver: 'a@example.org', at: iso(requested + 30_000 + i * 1000), groups: ['security'] }]
            : [];
        views.push(
          view(`elv-${String(i).padStart(2, '0')}`, {
            status: statuses[kind]!,
            botId: `bot-${i % 4}`,
            roleId: `role-${i % 3}`,
            requestedAt: iso(requested),
            approvals,
            ...(granted !== undefined ? { grantedAt: iso(granted), expiresAt: iso(expires!) } : {}),
            ...(ended !== undefined ? { endedAt: iso(ended) } : {}),
            ...(reasons[kind] ? { endReason: reasons[kind] } : {}),
          }),
        );
      }
      for (const v of views) await seedElevation(store, v);
      const window = chartWindow(3, new Date('2026-11-21T12:00:00.000Z'));
      const inWindow = views.filter(
        (v) => v.requestedAt >= window.from.toISOString() && v.requestedAt < window.to.toISOString(),
      );

      const aggregates = await store.elevations.chartAggregates({
        from: window.from.toISOString(),
        to: window.to.toISOString(),
        intervals: activeSlots(window),
      });

      expect(aggregates.total).toBe(inWindow.length);
      expect(statsFromAggregates(aggregates, window)).toEqual(elevationStats(inWindow, window));
      expect(aggregates.revokeLagsMs.length).toBeGreaterThan(0);
      expect(aggregates.active.some((n) => n > 0)).toBe(true);
    });

    it('when later events carry newer views, then the summary row holds the latest view', async () => {
      const { store } = await fresh(engine);
      await seedElevation(store, view('elv-1'));
      const approved = view('elv-1', {
        status: 'active',
        approvals: [
          {
            approver: 'alice@example.com',
            at: '2026-11-22T10:01:00.000Z',
            groups: ['security'],
            evidence: { amr: ['mfa'] },
          },
        ],
        grantedAt: '2026-11-22T10:01:05.000Z',
        expiresAt: '2026-11-22T10:11:05.000Z',
      });

      await store.auditLog.append(
        newEvent({ elevationId: 'elv-1', type: 'grant.confirmed', elevation: approved }),
      );

      expect(await store.elevations.getElevation('elv-1')).toEqual(approved);
      expect(await store.elevations.getElevation('elv-unknown')).toBeUndefined();
    });

    describe('listing', () => {
      const seeded = [
        view('e1', {
          botId: 'bot-1',
          roleId: 'role-a',
          status: 'pending_approval',
          requestedAt: '2026-11-22T10:00:00.000Z',
        }),
        view('e2', {
          botId: 'bot-2',
          roleId: 'role-a',
          status: 'active',
          requestedAt: '2026-11-22T10:01:00.000Z',
        }),
        view('e3', {
          botId: 'bot-1',
          roleId: 'role-b',
          status: 'revoked',
          requestedAt: '2026-11-22T10:02:00.000Z',
        }),
        view('e4', {
          botId: 'bot-1',
          roleId: 'role-a',
          status: 'active',
          requestedAt: '2026-11-22T10:03:00.000Z',
        }),
        view('e5', {
          botId: 'bot-2',
          roleId: 'role-b',
          status: 'denied',
          requestedAt: '2026-11-22T10:04:00.000Z',
        }),
      ];
      const ids = async (store: Stores, query: Partial<ElevationQuery>) =>
        (await store.elevations.listElevations({ limit: 100, ...query })).items.map((e) => e.id);

      it.each<[string, Partial<ElevationQuery>, string[]]>([
        ['no filter', {}, ['e5', 'e4', 'e3', 'e2', 'e1']],
        ['botId', { botId: 'bot-1' }, ['e4', 'e3', 'e1']],
        ['roleId', { roleId: 'role-a' }, ['e4', 'e2', 'e1']],
        ['status (any of)', { status: ['active', 'denied'] }, ['e5', 'e4', 'e2']],
        [
          'from (inclusive) and to (exclusive)',
          { from: '2026-11-22T10:01:00.000Z', to: '2026-11-22T10:03:00.000Z' },
          ['e3', 'e2'],
        ],
        ['botId and status together', { botId: 'bot-1', status: ['active'] as ElevationStatus[] }, ['e4']],
        ['a filter nothing matches', { botId: 'bot-9' }, []],
      ])(
        'when filtering by %s, then only matching elevations come back, newest first',
        async (_name, query, expected) => {
          const { store } = await fresh(engine);
          for (const elevation of seeded) await seedElevation(store, elevation);

          expect(await ids(store, query)).toEqual(expected);
        },
      );

      it('when paging through more rows than fit, then pages chain by cursor with no duplicates or gaps, ties broken by id', async () => {
        const { store } = await fresh(engine);
        // Three share one instant, so the cursor must carry the id to split them correctly.
        const times = ['10:00', '10:05', '10:05', '10:05', '10:07', '10:09', '10:11'];
        for (const [i, time] of times.entries()) {
          await seedElevation(store, view(`elv-${i}`, { requestedAt: `2026-11-22T${time}:00.000Z` }));
        }

        const pages: string[][] = [];
        let cursor: string | undefined;
        do {
          const page = await store.elevations.listElevations({ limit: 2, ...(cursor ? { cursor } : {}) });
          pages.push(page.items.map((e) => e.id));
          cursor = page.nextCursor;
        } while (cursor && pages.length < 10);

        expect(pages).toEqual([['elv-6', 'elv-5'], ['elv-4', 'elv-3'], ['elv-2', 'elv-1'], ['elv-0']]);
      });

      it('when the last page is exactly full, then it has no nextCursor', async () => {
        const { store } = await fresh(engine);
        for (const elevation of seeded.slice(0, 4)) await seedElevation(store, elevation);

        const first = await store.elevations.listElevations({ limit: 2 });
        const second = await store.elevations.listElevations({ limit: 2, cursor: first.nextCursor! });

        expect(first.nextCursor).toEqual(expect.any(String));
        expect(second.items.map((e) => e.id)).toEqual(['e2', 'e1']);
        expect(second.nextCursor).toBeUndefined();
      });

      it('when a cursor is used with filters, then later pages keep the filters', async () => {
        const { store } = await fresh(engine);
        for (const elevation of seeded) await seedElevation(store, elevation);

        const first = await store.elevations.listElevations({ limit: 1, botId: 'bot-1' });
        const second = await store.elevations.listElevations({
          limit: 1,
          botId: 'bot-1',
          cursor: first.nextCursor!,
        });
        const third = await store.elevations.listElevations({
          limit: 1,
          botId: 'bot-1',
          cursor: second.nextCursor!,
        });

        expect([first, second, third].map((p) => p.items.map((e) => e.id))).toEqual([['e4'], ['e3'], ['e1']]);
        expect(third.nextCursor).toBeUndefined();
      });

      it.each([
        ['garbage characters', 'not a cursor!'],
        ['base64url of non-JSON', Buffer.from('hello').toString('base64url')],
        ['JSON of the wrong shape', Buffer.from('{"requestedAt":"x","id":"y"}').toString('base64url')],
        ['a one-element array', Buffer.from('["2026-11-22T10:00:00.000Z"]').toString('base64url')],
        ['padded base64', `${Buffer.from('["a","b"]').toString('base64url')}==`],
        ['an empty string', ''],
      ])('when the cursor is %s, then listing fails with InvalidCursorError', async (_name, cursor) => {
        const { store } = await fresh(engine);

        const attempt = store.elevations.listElevations({ limit: 10, cursor });

        await expect(attempt).rejects.toBeInstanceOf(InvalidCursorError);
        await expect(attempt).rejects.toMatchObject({ code: 'invalid_cursor', field: 'cursor' });
      });

      it('when the limit is not a positive whole number, then listing fails with InvalidQueryError on limit', async () => {
        const { store } = await fresh(engine);

        await expect(store.elevations.listElevations({ limit: 0 })).rejects.toBeInstanceOf(InvalidQueryError);
        await expect(store.elevations.listElevations({ limit: 1.5 })).rejects.toMatchObject({
          code: 'invalid_query',
          field: 'limit',
        });
      });
    });
  });

  describe('verify', () => {
    it('when the chain is intact, then it is ok with every event checked and the last one as head', async () => {
      const { store } = await fresh(engine);
      const stored = await appendMany(store, 6);

      const result = await store.auditLog.verify();

      expect(result).toEqual({
        ok: true,
        checked: 6,
        head: { position: 6, hash: stored[5]?.hash },
        // No checkpoint key: nothing vouches for the chain against a database writer.
        anchoring: { status: 'not_anchored', reason: 'no_key', checkpoints: 0, unanchored: 6 },
      });
    });

    it('when the store is empty, then it is ok with nothing checked', async () => {
      const { store } = await fresh(engine);

      expect(await store.auditLog.verify()).toEqual({
        ok: true,
        checked: 0,
        anchoring: { status: 'not_anchored', reason: 'no_key', checkpoints: 0, unanchored: 0 },
      });
    });

    it("when one event's data is edited in the database, then verify reports hash_mismatch at exactly that position", async () => {
      const { store, raw } = await fresh(engine);
      const stored = await appendMany(store, 6);

      await raw.query('UPDATE audit_events SET data = ? WHERE position = ?', ['{"n":"forged"}', 3]);

      expect(await store.auditLog.verify()).toEqual({
        ok: false,
        checked: 2,
        head: { position: 2, hash: stored[1]?.hash },
        firstBroken: { position: 3, eventId: stored[2]?.id, elevationId: 'elv-a', reason: 'hash_mismatch' },
        anchoring: { status: 'not_anchored', reason: 'no_key', checkpoints: 0, unanchored: 6 },
      });
    });

    it('when one event is deleted from the database, then verify reports position_gap at the deleted position', async () => {
      const { store, raw } = await fresh(engine);
      await appendMany(store, 6);

      await raw.query('DELETE FROM audit_events WHERE position = ?', [4]);

      expect(await store.auditLog.verify()).toMatchObject({
        ok: false,
        checked: 3,
        firstBroken: { position: 4, reason: 'position_gap' },
      });
    });

    it('when the last event is deleted and another appended, then the hole is still reported', async () => {
      const { store, raw } = await fresh(engine);
      await appendMany(store, 4);
      await raw.query('DELETE FROM audit_events WHERE position = ?', [4]);

      await store.auditLog.append(newEvent());

      expect(await store.auditLog.verify()).toMatchObject({
        ok: false,
        firstBroken: { position: 4, reason: 'position_gap' },
      });
    });

    it('when the newest events are deleted, then verify reports the chain truncated where they began', async () => {
      const { store, raw } = await fresh(engine);
      await appendMany(store, 5);

      await raw.query('DELETE FROM audit_events WHERE position >= 4');

      const result = await store.auditLog.verify();
      expect(result.ok).toBe(false);
      expect(result.firstBroken).toEqual({ position: 4, reason: 'truncated' });
    });

    it('when everything after an anchor is rewritten and re-hashed, then the anchor exposes it', async () => {
      const { store, raw } = await fresh(engine);
      const stored = await appendMany(store, 4);
      const anchor = { position: 3, hash: stored[2]!.hash };
      expect((await store.auditLog.verify({ anchors: [anchor] })).ok).toBe(true);

      // A forger rewrites event 3 and re-hashes the chain (and the head record) after it.
      const forged = { ...stored[2]!, data: { forged: true } };
      const rehashed3 = hashEvent({ ...forged });
      const e4 = { ...stored[3]!, prevHash: rehashed3 };
      const rehashed4 = hashEvent(e4);
      await raw.query(`UPDATE audit_events SET data = ?, hash = ? WHERE position = 3`, [
        '{"forged":true}',
        rehashed3,
      ]);
      await raw.query(`UPDATE audit_events SET prev_hash = ?, hash = ? WHERE position = 4`, [
        rehashed3,
        rehashed4,
      ]);
      await raw.query(`UPDATE audit_chain_head SET hash = ?`, [rehashed4]);

      expect((await store.auditLog.verify()).ok).toBe(true);
      const result = await store.auditLog.verify({ anchors: [anchor] });
      expect(result.firstBroken).toMatchObject({ position: 3, reason: 'anchor_mismatch' });
      expect(
        (await store.auditLog.verify({ anchors: [{ position: 9, hash: stored[3]!.hash }] })).firstBroken,
      ).toEqual({
        position: 5,
        reason: 'truncated',
      });
    });

    it('when the contents of two rows are swapped, then verify reports the first of them', async () => {
      const { store, raw } = await fresh(engine);
      await appendMany(store, 6);
      const second = await eventAt(raw, 2);
      const fifth = await eventAt(raw, 5);

      await raw.query('DELETE FROM audit_events WHERE position IN (?, ?)', [2, 5]);
      await insertRow(raw, { ...fifth, position: 2 });
      await insertRow(raw, { ...second, position: 5 });

      expect(await store.auditLog.verify()).toMatchObject({
        ok: false,
        checked: 1,
        firstBroken: { position: 2, eventId: fifth.id },
      });
    });

    it('when an edited row also gets its own hash recomputed, then verify reports prev_hash_mismatch at the next position', async () => {
      const { store, raw } = await fresh(engine);
      await appendMany(store, 6);
      const original = await eventAt(raw, 3);
      const { hash: _old, ...forged } = { ...original, data: { n: 'forged' } };

      await raw.query('UPDATE audit_events SET data = ?, hash = ? WHERE position = ?', [
        canonicalJson(forged.data),
        hashEvent(forged),
        3,
      ]);

      expect(await store.auditLog.verify()).toMatchObject({
        ok: false,
        checked: 3,
        firstBroken: { position: 4, reason: 'prev_hash_mismatch' },
      });
    });

    it('when a row no longer holds JSON at all, then verify reports hash_mismatch there instead of failing', async () => {
      const { store, raw } = await fresh(engine);
      await appendMany(store, 3);

      await raw.query('UPDATE audit_events SET data = ? WHERE position = ?', ['{not json', 2]);

      expect(await store.auditLog.verify()).toMatchObject({
        ok: false,
        firstBroken: { position: 2, reason: 'hash_mismatch' },
      });
    });

    it('when the chain is longer than one page, then verify walks every page and finds a break past the first', async () => {
      const { store, raw } = await fresh(engine);
      // Written directly, correctly chained, so the test does not pay for 5,003 appends.
      let prevHash = GENESIS_HASH;
      await raw.query('BEGIN');
      for (let position = 1; position <= 5_003; position += 1) {
        const unhashed = { ...newEvent({ elevationId: null }), seq: position, position, prevHash };
        const event = { ...unhashed, hash: hashEvent(unhashed) };
        await insertRow(raw, event);
        prevHash = event.hash;
      }
      await raw.query('COMMIT');
      expect(await store.auditLog.verify()).toMatchObject({
        ok: true,
        checked: 5_003,
        head: { position: 5_003 },
      });

      await raw.query('UPDATE audit_events SET data = ? WHERE position = ?', ['{"n":0}', 5_002]);

      expect(await store.auditLog.verify()).toMatchObject({
        ok: false,
        checked: 5_001,
        firstBroken: { position: 5_002, reason: 'hash_mismatch' },
      });

      // A break on the first page stops there (on PostgreSQL, with the next page already asked for).
      await raw.query('UPDATE audit_events SET data = ? WHERE position = ?', ['{"n":0}', 3]);
      expect(await store.auditLog.verify()).toMatchObject({
        ok: false,
        checked: 2,
        firstBroken: { position: 3, reason: 'hash_mismatch' },
      });
    });
  });

  describe('concurrency', () => {
    it('when 200 appends race across two store instances, then positions run 1..200 without gaps and the chain verifies', async () => {
      const { store, openAnother } = await fresh(engine);
      const other = await openAnother();
      const elevations = ['elv-a', 'elv-b', 'elv-c', 'elv-d', null];

      const stored = await Promise.all(
        Array.from({ length: 200 }, (_, i) =>
          (i % 2 === 0 ? store : other).auditLog.append(newEvent({ elevationId: elevations[i % 5] ?? null })),
        ),
      );

      expect(stored.map((e) => e.position).sort((a, b) => a - b)).toEqual(
        Array.from({ length: 200 }, (_, i) => i + 1),
      );
      for (const elevationId of ['elv-a', 'elv-b', 'elv-c', 'elv-d']) {
        expect((await store.auditLog.listEvents(elevationId)).map((e) => e.seq)).toEqual(
          Array.from({ length: 40 }, (_, i) => i + 1),
        );
      }
      expect(await other.auditLog.verify()).toMatchObject({
        ok: true,
        checked: 200,
        head: { position: 200 },
      });
    });

    it('when the same event id is appended concurrently from two instances, then it is stored once', async () => {
      const { store, raw, openAnother } = await fresh(engine);
      const other = await openAnother();
      const event = newEvent();

      const results = await Promise.all([
        store.auditLog.append(event),
        other.auditLog.append(event),
        store.auditLog.append(event),
      ]);

      expect(results[1]).toEqual(results[0]);
      expect(results[2]).toEqual(results[0]);
      expect(await countEvents(raw)).toBe(1);
    });
  });

  describe('leases', () => {
    it('when a lease is held, then it reads back held with its acquiredAt, target and principal', async () => {
      const { store } = await fresh(engine);

      const state = await store.leases.hold(lease('elv-1'), '2026-11-22T10:00:00.000Z');

      expect(state).toBe('held');
      expect(await store.leases.getLease('elv-1')).toEqual({
        ...lease('elv-1'),
        state: 'held',
        acquiredAt: '2026-11-22T10:00:00.000Z',
      });
      expect(await store.leases.getLease('elv-unknown')).toBeUndefined();
    });

    it('when a held lease is held again, then it stays held with the first acquiredAt', async () => {
      const { store } = await fresh(engine);
      await store.leases.hold(lease('elv-1'), '2026-11-22T10:00:00.000Z');

      const state = await store.leases.hold(lease('elv-1'), '2026-11-22T10:05:00.000Z');

      expect(state).toBe('held');
      expect((await store.leases.getLease('elv-1'))?.acquiredAt).toBe('2026-11-22T10:00:00.000Z');
    });

    it('when a held lease is released, then holding it again returns released and changes nothing', async () => {
      const { store } = await fresh(engine);
      await store.leases.hold(lease('elv-1'), '2026-11-22T10:00:00.000Z');
      await store.leases.release(lease('elv-1'), '2026-11-22T10:10:00.000Z');

      const state = await store.leases.hold(lease('elv-1'), '2026-11-22T10:11:00.000Z');

      expect(state).toBe('released');
      expect(await store.leases.getLease('elv-1')).toEqual({
        ...lease('elv-1'),
        state: 'released',
        acquiredAt: '2026-11-22T10:00:00.000Z',
        releasedAt: '2026-11-22T10:10:00.000Z',
      });
    });

    it('when a lease is released twice, then the first releasedAt is kept', async () => {
      const { store } = await fresh(engine);
      await store.leases.hold(lease('elv-1'), '2026-11-22T10:00:00.000Z');
      await store.leases.release(lease('elv-1'), '2026-11-22T10:10:00.000Z');

      await store.leases.release(lease('elv-1'), '2026-11-22T10:20:00.000Z');

      expect((await store.leases.getLease('elv-1'))?.releasedAt).toBe('2026-11-22T10:10:00.000Z');
    });

    it('when a lease that was never held is released, then a tombstone stops a late hold', async () => {
      const { store } = await fresh(engine);

      await store.leases.release(lease('elv-1'), '2026-11-22T10:10:00.000Z');
      const state = await store.leases.hold(lease('elv-1'), '2026-11-22T10:11:00.000Z');

      expect(state).toBe('released');
      expect(await store.leases.getLease('elv-1')).toEqual({
        ...lease('elv-1'),
        state: 'released',
        releasedAt: '2026-11-22T10:10:00.000Z',
      });
      expect(await store.leases.holders(lease('elv-1').key)).toEqual([]);
    });

    it('when several elevations hold one key, then holders lists the held ones, oldest first, for that key only', async () => {
      const { store } = await fresh(engine);
      await store.leases.hold(lease('elv-c'), '2026-11-22T10:02:00.000Z');
      await store.leases.hold(lease('elv-a'), '2026-11-22T10:00:00.000Z');
      await store.leases.hold(lease('elv-d'), '2026-11-22T10:03:00.000Z');
      await store.leases.hold(lease('elv-b'), '2026-11-22T10:01:00.000Z');
      await store.leases.hold(lease('elv-x', 'another-key'), '2026-11-22T09:00:00.000Z');

      await store.leases.release(lease('elv-d'), '2026-11-22T10:04:00.000Z');

      expect(await store.leases.holders(lease('elv-a').key)).toEqual(['elv-a', 'elv-b', 'elv-c']);
      expect(await store.leases.holders('another-key')).toEqual(['elv-x']);
      expect(await store.leases.holders('nobody-holds-this')).toEqual([]);
    });
  });

  describe('withLock', () => {
    it('when several callers lock the same key, then their critical sections never overlap and run in arrival order', async () => {
      const { store } = await fresh(engine);
      const spans: { caller: number; enter: number; exit: number }[] = [];
      let inside = 0;
      let most = 0;

      const results = await Promise.all(
        Array.from({ length: 5 }, (_, caller) =>
          store.leases.withLock('key-1', async () => {
            inside += 1;
            most = Math.max(most, inside);
            const enter = performance.now();
            await sleep(20);
            spans.push({ caller, enter, exit: performance.now() });
            inside -= 1;
            return caller;
          }),
        ),
      );

      expect(results).toEqual([0, 1, 2, 3, 4]);
      expect(most).toBe(1);
      spans.sort((a, b) => a.enter - b.enter);
      expect(spans.map((span) => span.caller)).toEqual([0, 1, 2, 3, 4]);
      for (let i = 1; i < spans.length; i += 1) {
        expect(spans[i]?.enter).toBeGreaterThanOrEqual(spans[i - 1]?.exit ?? Infinity);
      }
    });

    it('when callers lock different keys, then they run at the same time', async () => {
      const { store } = await fresh(engine);
      const a = gate();
      const b = gate();
      const within = (promise: Promise<void>) =>
        Promise.race([
          promise,
          sleep(3_000).then(() => Promise.reject(new Error('the other key never ran'))),
        ]);

      // Each section waits for the other to have started: only possible if both run at once.
      await Promise.all([
        store.leases.withLock('key-a', async () => {
          a.open();
          await within(b.opened);
        }),
        store.leases.withLock('key-b', async () => {
          b.open();
          await within(a.opened);
        }),
      ]);
    });

    it('when the locked function throws, then the error reaches the caller and the lock is free again', async () => {
      const { store } = await fresh(engine);

      await expect(
        store.leases.withLock('key-1', () => Promise.reject(new Error('target refused'))),
      ).rejects.toThrow('target refused');

      await expect(store.leases.withLock('key-1', () => Promise.resolve('next'))).resolves.toBe('next');
    });

    it('when the locked function uses the store, then its calls run (the lock only serialises)', async () => {
      const { store } = await fresh(engine);

      const holders = await store.leases.withLock(lease('elv-1').key, async () => {
        await store.leases.hold(lease('elv-1'), '2026-11-22T10:00:00.000Z');
        await store.auditLog.append(newEvent());
        return store.leases.holders(lease('elv-1').key);
      });

      expect(holders).toEqual(['elv-1']);
    });

    it('when another store instance (another process) locks the same key, then it waits until the first releases', async () => {
      const { store, openAnother } = await fresh(engine);
      const other = await openAnother();
      const release = gate();
      const entered = gate();
      const log: string[] = [];

      const first = store.leases.withLock('key-1', async () => {
        log.push('first in');
        entered.open();
        await release.opened;
        log.push('first out');
      });
      await entered.opened;
      const second = other.leases.withLock('key-1', () => {
        log.push('second in');
        return Promise.resolve();
      });
      await sleep(300);
      expect(log).toEqual(['first in']);

      release.open();
      await Promise.all([first, second]);

      expect(log).toEqual(['first in', 'first out', 'second in']);
    });

    it('when another instance keeps the lock past the wait deadline, then withLock fails with LockTimeoutError', async () => {
      const { store, openAnother } = await fresh(engine);
      const impatient = await openAnother({ lockWaitMs: 300 });
      const release = gate();
      const entered = gate();
      const holding = store.leases.withLock('key-1', async () => {
        entered.open();
        await release.opened;
      });
      await entered.opened;
      let ran = false;

      const attempt = impatient.leases.withLock('key-1', () => {
        ran = true;
        return Promise.resolve();
      });

      await expect(attempt).rejects.toBeInstanceOf(LockTimeoutError);
      await expect(attempt).rejects.toMatchObject({ code: 'lock_timeout', key: 'key-1' });
      expect(ran).toBe(false);
      release.open();
      await holding;
      await expect(impatient.leases.withLock('key-1', () => Promise.resolve('free'))).resolves.toBe('free');
    });
  });

  describe('ephemeral records', () => {
    it('when a record is put, then another instance peeks it (repeatably) and takes it exactly once', async () => {
      const { store, openAnother, raw } = await fresh(engine);
      const other = await openAnother();
      const value = { verifier: 'pkce-verifier', nonce: 'n-1', scopes: ['openid'], nested: { at: 3 } };

      expect(await records(store).put('oidc:state-1', value, inMs(60_000))).toBe(true);

      expect(await records(other).peek('oidc:state-1')).toEqual(value);
      expect(await records(other).peek('oidc:state-1')).toEqual(value);
      expect(await records(other).take('oidc:state-1')).toEqual(value);
      expect(await records(store).take('oidc:state-1')).toBeUndefined();
      expect(await records(store).peek('oidc:state-1')).toBeUndefined();
      expect(await countEphemeral(raw)).toBe(0);
    });

    it('when a key is absent, then peek and take give undefined', async () => {
      const { store } = await fresh(engine);

      expect(await records(store).peek('nothing-here')).toBeUndefined();
      expect(await records(store).take('nothing-here')).toBeUndefined();
    });

    it('when a live key is put again, then the second put is refused and the first value stays', async () => {
      const { store, openAnother } = await fresh(engine);
      const other = await openAnother();
      await records(store).put('slack:replay:abc', 'first', inMs(60_000));

      expect(await records(other).put('slack:replay:abc', 'second', inMs(120_000))).toBe(false);
      expect(await records(store).put('slack:replay:abc', 'third', inMs(-1_000))).toBe(false);

      expect(await records(other).peek('slack:replay:abc')).toBe('first');
    });

    it('when a record has expired, then it is invisible to peek and take, and a new put replaces it', async () => {
      const { store, openAnother, raw } = await fresh(engine);
      const other = await openAnother();
      expect(await records(store).put('link:1', { approver: 'alice' }, inMs(300))).toBe(true);
      expect(await records(other).peek('link:1')).toEqual({ approver: 'alice' });

      await sleep(400);

      expect(await records(other).peek('link:1')).toBeUndefined();
      expect(await records(other).take('link:1')).toBeUndefined();
      // Still in the table (nothing purged it yet), yet ignored.
      expect(await countEphemeral(raw)).toBe(1);
      expect(await records(other).put('link:1', { approver: 'bob' }, inMs(60_000))).toBe(true);
      expect(await records(store).peek('link:1')).toEqual({ approver: 'bob' });
      expect(await records(store).take('link:1')).toEqual({ approver: 'bob' });
    });

    it('when two instances take the same key at once, then exactly one gets it, in each of 50 rounds', async () => {
      const { store, openAnother } = await fresh(engine);
      const other = await openAnother();

      for (let round = 0; round < 50; round += 1) {
        const key = `race:take:${round}`;
        expect(await records(store).put(key, { round }, inMs(60_000))).toBe(true);

        const results = await Promise.all([records(store).take(key), records(other).take(key)]);

        expect(results.filter((r) => r !== undefined)).toEqual([{ round }]);
      }
    });

    it('when two instances put the same key at once, then exactly one put wins and its value is kept, in each of 50 rounds', async () => {
      const { store, openAnother } = await fresh(engine);
      const other = await openAnother();

      for (let round = 0; round < 50; round += 1) {
        const key = `race:put:${round}`;

        const [first, second] = await Promise.all([
          records(store).put(key, 'store', inMs(60_000)),
          records(other).put(key, 'other', inMs(60_000)),
        ]);

        expect([first, second].filter(Boolean)).toHaveLength(1);
        expect(await records(store).peek(key)).toBe(first ? 'store' : 'other');
      }
    });

    it('when expired records are purged, then exactly those expired at the given instant are deleted and counted', async () => {
      const { store, raw } = await fresh(engine);
      const base = Date.now();
      for (const [key, offsetMs] of [
        ['a', 60_000],
        ['b', 120_000],
        ['c', 180_000],
        ['d', 3_600_000],
      ] as const) {
        await records(store).put(key, key, new Date(base + offsetMs));
      }

      expect(await store.singleUse.purgeExpired(new Date(base + 150_000))).toBe(2);

      // a and b are still live by the clock, so only the purge can have removed them.
      expect(await records(store).peek('a')).toBeUndefined();
      expect(await records(store).peek('b')).toBeUndefined();
      expect(await records(store).peek('c')).toBe('c');
      expect(await countEphemeral(raw)).toBe(2);
      expect(await store.singleUse.purgeExpired()).toBe(0);
      expect(await store.singleUse.purgeExpired(new Date(base + 3_600_000))).toBe(2);
      expect(await countEphemeral(raw)).toBe(0);
    });

    it('when an instance first puts a record, then it purges expired rows on the way and leaves live ones', async () => {
      const { store, openAnother, raw } = await fresh(engine);
      // The first put of an instance purges; later ones within the purge interval do not.
      await records(store).put('live-1', 1, inMs(60_000));
      await records(store).put('dead-1', 1, inMs(-1_000));
      await records(store).put('dead-2', 1, inMs(-1_000));
      expect(await countEphemeral(raw)).toBe(3);

      const other = await openAnother();
      expect(await records(other).put('live-2', 2, inMs(60_000))).toBe(true);

      expect(await countEphemeral(raw)).toBe(2);
      expect(await records(other).peek('live-1')).toBe(1);
      expect(await records(other).peek('live-2')).toBe(2);
    });

    it('when a value is larger than 64 KiB as JSON, then it is refused with InvalidEphemeralError and nothing is stored', async () => {
      const { store, raw } = await fresh(engine);
      // A string of n ASCII characters is n + 2 bytes of JSON.
      const largest = 'a'.repeat(64 * 1024 - 2);

      expect(await records(store).put('fits', largest, inMs(60_000))).toBe(true);
      expect(await records(store).take('fits')).toBe(largest);

      const tooLarge = records(store).put('too-large', `${largest}a`, inMs(60_000));
      await expect(tooLarge).rejects.toBeInstanceOf(InvalidEphemeralError);
      await expect(tooLarge).rejects.toMatchObject({
        code: 'invalid_ephemeral',
        field: 'value',
        message: expect.stringContaining('65537 bytes') as unknown,
      });
      // Bytes count, not characters: 40,000 two-byte characters are over the limit.
      await expect(records(store).put('wide', 'é'.repeat(40_000), inMs(60_000))).rejects.toMatchObject({
        field: 'value',
      });
      expect(await records(store).peek('too-large')).toBeUndefined();
      expect(await countEphemeral(raw)).toBe(0);
    });

    it('when an id, value or expiry cannot be stored, then put names the argument at fault and nothing is stored', async () => {
      const { store, raw } = await fresh(engine);
      // The longest id: with the namespace and its `:`, a key of 512 characters.
      const longest = 'k'.repeat(512 - 'test:'.length);

      expect(await records(store).put(longest, true, inMs(60_000))).toBe(true);
      expect(await records(store).peek(longest)).toBe(true);

      const refusals: [Promise<boolean>, string][] = [
        [records(store).put('', 1, inMs(60_000)), 'key'],
        [records(store).put(`${longest}k`, 1, inMs(60_000)), 'key'],
        [records(store).put('nul\0key', 1, inMs(60_000)), 'key'],
        [records(store).put('undefined', undefined, inMs(60_000)), 'value'],
        [records(store).put('bigint', { n: 1n }, inMs(60_000)), 'value'],
        [records(store).put('bad-date', 1, new Date('not a date')), 'expiresAt'],
      ];
      for (const [attempt, field] of refusals) {
        await expect(attempt).rejects.toMatchObject({ code: 'invalid_ephemeral', field });
      }
      expect(await countEphemeral(raw)).toBe(1);
      // Keys that cannot exist are simply absent for peek and take.
      expect(await records(store).peek(`${longest}k`)).toBeUndefined();
      expect(await records(store).take('nul\0key')).toBeUndefined();
      expect(await records(store).take('')).toBeUndefined();
    });
  });

  describe('schema', () => {
    it('when a store is reopened, then its events survive and every migration is recorded once', async () => {
      const { store, openAnother, applied } = await fresh(engine);
      const stored = await store.auditLog.append(newEvent());
      await store.database.close();

      const reopened = await openAnother();

      expect(await reopened.auditLog.listEvents('elv-1')).toEqual([stored]);
      expect(await applied()).toEqual(ALL_MIGRATIONS);
      await reopened.database.ping();
    });

    it('when a store is closed twice, then the second close is harmless', async () => {
      const { store } = await fresh(engine);

      await store.database.close();

      await expect(store.database.close()).resolves.toBeUndefined();
    });

    it('when several stores open a new database at once, then all succeed on one schema created once', async () => {
      const { open, applied } = await engine.blank();

      const stores = await Promise.all([open(), open(), open()]);

      await Promise.all(stores.map((s) => s.auditLog.append(newEvent())));
      expect(await applied()).toEqual(ALL_MIGRATIONS);
      expect(await stores[0]?.auditLog.verify()).toMatchObject({ ok: true, checked: 3 });
    });

    it('when a database the Elevate before store/ wrote is opened, then it is adopted with every row kept, and its chain verifies and goes on', async () => {
      const blank = await engine.blank();
      await blank.exec(blank.legacySchema);
      // Rows as that Elevate wrote them: a chain of three events and the head record, the
      // elevation's summary row, a held lease, a locked bot and a single-use record.
      const at = '2026-11-22T10:00:00.000Z';
      const events: AuditEvent[] = [];
      let prevHash = GENESIS_HASH;
      for (let position = 1; position <= 3; position += 1) {
        const unhashed = {
          id: `old-${position}`,
          elevationId: 'elv-old',
          seq: position,
          type: 'elevation.requested' as const,
          at,
          actor: { kind: 'bot' as const, id: 'bot-1' },
          data: { n: position },
          position,
          prevHash,
        };
        const event = { ...unhashed, hash: hashEvent(unhashed) };
        await insertRow(blank.raw, event);
        events.push(event);
        prevHash = event.hash;
      }
      await blank.raw.query('UPDATE audit_chain_head SET position = ?, hash = ?', [3, prevHash]);
      const v = view('elv-old', {
        status: 'active',
        grantedAt: '2026-11-22T10:05:00.000Z',
        expiresAt: '2026-11-22T10:15:00.000Z',
      });
      await blank.raw.query(
        `INSERT INTO elevations (id, bot_id, role_id, status, requested_at, view, updated_position,
           owner, team, environment, target_type, risk) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          v.id,
          v.botId,
          v.roleId,
          v.status,
          v.requestedAt,
          JSON.stringify(v),
          3,
          v.owner,
          'platform',
          v.environment,
          'ldap',
          'high',
        ],
      );
      const held = lease('elv-old');
      await blank.raw.query(
        "INSERT INTO leases (elevation_id, key, target, principal, state, acquired_at) VALUES (?, ?, ?, ?, 'held', ?)",
        [held.elevationId, held.key, JSON.stringify(held.target), held.principal, at],
      );
      await blank.raw.query(
        'INSERT INTO bot_state (bot_id, locked_at, locked_by, lock_reason, updated_at) VALUES (?, ?, ?, ?, ?)',
        ['bot-1', at, 'admin', 'incident', at],
      );
      const expires = Date.now() + 60_000;
      await blank.raw.query('INSERT INTO ephemeral (key, value, expires_at) VALUES (?, ?, ?)', [
        'test:kept',
        JSON.stringify({ kept: true }),
        engine.name === 'sqlite' ? expires : new Date(expires),
      ]);

      const store = await blank.open();

      expect(await blank.applied()).toEqual(ALL_MIGRATIONS);
      expect(await store.auditLog.listEvents('elv-old')).toEqual(events);
      expect(await store.auditLog.verify()).toMatchObject({
        ok: true,
        checked: 3,
        head: { position: 3, hash: prevHash },
      });
      expect(await store.elevations.getElevation('elv-old')).toEqual(v);
      const filtered = await store.elevations.listElevations({ limit: 10, risk: 'high', team: 'platform' });
      expect(filtered.items.map((e) => e.id)).toEqual(['elv-old']);
      expect(await store.leases.holders(held.key)).toEqual(['elv-old']);
      expect((await store.botStates.getBotState('bot-1'))?.locked).toEqual({
        at,
        by: 'admin',
        reason: 'incident',
      });
      expect(await records(store).peek('kept')).toEqual({ kept: true });
      // The charts' columns that version lacked are filled in from the view.
      const charts = await store.elevations.chartAggregates({
        from: '2026-11-22T00:00:00.000Z',
        to: '2026-11-23T00:00:00.000Z',
        intervals: [{ from: '2026-11-22T10:10:00.000Z', to: '2026-11-22T10:11:00.000Z' }],
      });
      expect(charts).toMatchObject({ total: 1, active: [1], topBots: [{ label: 'bot-1', value: 1 }] });
      const next = await store.auditLog.append(newEvent({ elevationId: 'elv-old' }));
      expect(next).toMatchObject({ position: 4, seq: 4, prevHash });
      expect(await store.auditLog.verify()).toMatchObject({ ok: true, checked: 4 });
    });

    it('when a version-1 database of an earlier Elevate is opened, then it is adopted, keeps its events and gains what it lacked', async () => {
      const { store, openAnother, raw, applied, downgradeToVersion1 } = await fresh(engine);
      const stored = await store.auditLog.append(newEvent());
      await store.database.close();
      await downgradeToVersion1();
      await expect(applied()).rejects.toThrow(/store_migration/);
      await expect(countEphemeral(raw)).rejects.toThrow(/ephemeral/);

      const upgraded = await openAnother();

      expect(await applied()).toEqual(ALL_MIGRATIONS);
      expect(await countEphemeral(raw)).toBe(0);
      expect(await upgraded.auditLog.listEvents('elv-1')).toEqual([stored]);
      expect(await upgraded.auditLog.verify()).toMatchObject({ ok: true, checked: 1 });
      expect(await records(upgraded).put('state-1', { verifier: 'v' }, inMs(60_000))).toBe(true);
      expect(await records(upgraded).take('state-1')).toEqual({ verifier: 'v' });
    });

    it('when the database was migrated by a newer Elevate, then opening fails with SchemaTooNewError', async () => {
      const { openAnother, pretendNewerMigration } = await fresh(engine);
      await pretendNewerMigration('9999-from-the-future');

      await expect(openAnother()).rejects.toBeInstanceOf(SchemaTooNewError);
      await expect(openAnother()).rejects.toMatchObject({
        code: 'schema_too_new',
        message: expect.stringContaining('9999-from-the-future') as unknown,
      });
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Engine-specific behaviour

describe('sqlite engine', () => {
  const engine = sqliteEngine();
  beforeAll(() => engine.start());
  afterAll(() => engine.stop());
  afterEach(cleanUp);

  it('when a lock is held, then a row names its holder and is deleted once the function settles', async () => {
    const { store, raw } = await fresh(engine);

    const during = await store.leases.withLock('key-1', () =>
      raw.query<{ owner: string; expires_at: number }>(
        'SELECT owner, expires_at FROM ledger_locks WHERE key = ?',
        ['key-1'],
      ),
    );

    expect(during).toEqual([
      { owner: expect.any(String) as unknown, expires_at: expect.any(Number) as unknown },
    ]);
    expect(during[0]!.expires_at).toBeGreaterThan(Date.now());
    expect(await raw.query('SELECT * FROM ledger_locks')).toEqual([]);
  });

  it('when the lock row of a crashed process has expired, then withLock takes it over', async () => {
    const { store, raw } = await fresh(engine, { lockWaitMs: 1_000 });
    await raw.query('INSERT INTO ledger_locks (key, owner, expires_at) VALUES (?, ?, ?)', [
      'key-1',
      'crashed-process',
      Date.now() - 1,
    ]);

    const owner = await store.leases.withLock('key-1', async () => {
      const [row] = await raw.query<{ owner: string }>('SELECT owner FROM ledger_locks WHERE key = ?', [
        'key-1',
      ]);
      return row?.owner;
    });

    expect(owner).not.toBe('crashed-process');
    expect(await raw.query('SELECT * FROM ledger_locks')).toEqual([]);
  });

  it('when a live lock row belongs to another process, then withLock times out and leaves that row alone', async () => {
    const { store, raw } = await fresh(engine, { lockWaitMs: 200 });
    const expiresAt = Date.now() + 60_000;
    await raw.query('INSERT INTO ledger_locks (key, owner, expires_at) VALUES (?, ?, ?)', [
      'key-1',
      'live-process',
      expiresAt,
    ]);

    await expect(store.leases.withLock('key-1', () => Promise.resolve())).rejects.toThrow(
      /could not take the lock on "key-1" within 200 ms/,
    );

    expect(await raw.query('SELECT owner, expires_at FROM ledger_locks')).toEqual([
      { owner: 'live-process', expires_at: expiresAt },
    ]);
  });

  it('when a holder runs longer than the TTL, then it renews its row and another process still waits', async () => {
    const { store, openAnother } = await fresh(engine, { lockTtlMs: 90 });
    const other = await openAnother({ lockTtlMs: 90, lockWaitMs: 5_000 });
    const log: string[] = [];
    const entered = gate();

    const first = store.leases.withLock('key-1', async () => {
      log.push('first in');
      entered.open();
      await sleep(400);
      log.push('first out');
    });
    await entered.opened;
    const second = other.leases.withLock('key-1', () => Promise.resolve(void log.push('second in')));
    await Promise.all([first, second]);

    expect(log).toEqual(['first in', 'first out', 'second in']);
  });

  it("when a raw-row read (verify's) is asked for during another caller's transaction, then it waits and never sees its rolled-back change", async () => {
    const { store } = await fresh(engine);
    await appendMany(store, 2);
    const changed = gate();
    const release = gate();
    const transaction = store.database.transaction(async (trx) => {
      await trx.deleteFrom('audit_events').where('position', '=', 2).execute();
      changed.open();
      await release.opened;
      throw new Error('rolled back');
    });
    await changed.opened;

    const read = store.database.sqliteRows(
      store.database.db.selectFrom('audit_events').select(['position', 'seq']).orderBy('position').compile(),
    );
    release.open();

    await expect(transaction).rejects.toThrow('rolled back');
    expect(await read).toEqual([
      [1, 1],
      [2, 1],
    ]);
  });

  it('when the file cannot be created, then open fails with StoreUnavailableError naming the path', async () => {
    // /dev/null is a file, so no folder can be made under it.
    const open = () => openStores({ sqlitePath: '/dev/null/elevate/audit.db' });

    await expect(open()).rejects.toThrow(StoreUnavailableError);
    await expect(open()).rejects.toThrow(
      /cannot open the SQLite audit store at \/dev\/null\/elevate\/audit\.db/,
    );
  });

  it('when the file lives in a folder that does not exist yet, then open creates the folder', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'elevate-audit-open-'));
    try {
      const store = await openStores({ sqlitePath: join(dir, 'nested', 'deeper', 'audit.db') });

      await store.database.ping();
      await store.database.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('KeyedMutex', () => {
  it('when holders settle, then the key is forgotten so the map does not grow', async () => {
    const mutex = new KeyedMutex();

    const running = Promise.all([
      mutex.run('a', () => sleep(10)),
      mutex.run('a', () => sleep(10)),
      mutex.run('b', () => sleep(10)),
    ]);
    expect(mutex.activeKeys).toBe(2);
    await running;

    expect(mutex.activeKeys).toBe(0);
  });

  it('when a holder fails, then the next caller with the same key still runs', async () => {
    const mutex = new KeyedMutex();

    const failed = mutex.run('a', () => Promise.reject(new Error('boom')));
    const next = mutex.run('a', () => Promise.resolve('ran'));

    await expect(failed).rejects.toThrow('boom');
    await expect(next).resolves.toBe('ran');
    expect(mutex.activeKeys).toBe(0);
  });
});

describe('openStores', () => {
  let server: PostgresServer;
  let dir: string;
  beforeAll(async () => {
    [server, dir] = await Promise.all([startPostgres(), mkdtemp(join(tmpdir(), 'elevate-open-store-'))]);
  });
  afterAll(async () => {
    await Promise.all([server.stop(), rm(dir, { recursive: true, force: true })]);
  });
  afterEach(cleanUp);

  it('when no databaseUrl is set, then it opens SQLite at sqlitePath', async () => {
    const store = track(await openStores({ sqlitePath: join(dir, 'data', 'audit.db') }));

    expect(store.database.engine).toBe('sqlite');
    expect((await store.auditLog.append(newEvent())).position).toBe(1);
  });

  it('when databaseUrl is set, then it opens PostgreSQL even though sqlitePath is set too', async () => {
    const url = await createDatabase(server.url, 'open_store');

    const store = track(await openStores({ databaseUrl: url, sqlitePath: join(dir, 'unused.db') }));

    expect(store.database.engine).toBe('postgres');
    expect((await store.auditLog.append(newEvent())).position).toBe(1);
  });

  it('when PostgreSQL cannot be reached, then the error names the host but never the password', async () => {
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    const url = 'postgresql://elevate:s3cr3t-Pa55@127.0.0.1:1/audit';

    const attempt = openStores({ databaseUrl: url, sqlitePath: join(dir, 'unused.db') });

    await expect(attempt).rejects.toBeInstanceOf(StoreUnavailableError);
    const error = (await attempt.catch((e: unknown) => e)) as Error;
    expect(error.message).toContain('127.0.0.1:1/audit');
    expect(error.message).not.toContain('s3cr3t-Pa55');
    expect(error.message).not.toContain('elevate:');
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain('s3cr3t-Pa55');
  });

  it('when the database URL is not a URL at all, then the error does not echo it', async () => {
    const url = 'postgresql://elevate:s3cr3t-Pa55@bad host name:5432/audit';

    const attempt = openStores({ databaseUrl: url, sqlitePath: join(dir, 'unused.db') });

    await expect(attempt).rejects.toBeInstanceOf(StoreUnavailableError);
    const error = (await attempt.catch((e: unknown) => e)) as Error;
    expect(error.message).not.toContain('s3cr3t-Pa55');
  });
});
