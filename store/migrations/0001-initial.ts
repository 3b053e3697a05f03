/**
 * The first migration: the whole schema, created only where it is missing, so a database that an
 * earlier Elevate wrote (its own migrations recorded in `PRAGMA user_version` or
 * `schema_version`) is adopted as it is, with every row kept. Columns and indexes those versions
 * added later are added when missing, and filled in from the rows already stored.
 *
 * Text that is sorted or compared uses the "C" collation on PostgreSQL: byte order, as SQLite
 * compares, whatever locale the cluster was created with.
 */
import { sql, type ColumnDataType, type Expression, type Kysely } from 'kysely';
import type { Migration } from 'kysely';
import type { StoreIntegrity } from '../../core/crypto/audit-checkpoints.js';
import { GENESIS_HASH } from '../../core/crypto/hash-chain.js';
import { botStateMacFor } from '../row-mac.js';
import { rowToBotState } from '../bot-state.js';
import type { Engine } from '../connection.js';
import { filterColumns, parseView } from '../elevation-index.js';
import type { StoreSchema } from '../schema.js';

type DataType = ColumnDataType | Expression<unknown>;

/** The column types of one engine. */
function typesOf(engine: Engine) {
  const pg = engine === 'postgres';
  return {
    text: 'text' as DataType,
    /** Text compared or sorted: byte order on both engines. */
    key: (pg ? sql`text collate "C"` : 'text') as DataType,
    bigint: (pg ? 'bigint' : 'integer') as DataType,
    json: (pg ? 'jsonb' : 'text') as DataType,
    /** Instants of the short-lived records: epoch ms (SQLite), timestamptz (PostgreSQL). */
    instant: (pg ? 'timestamptz' : 'integer') as DataType,
    boolean: (pg ? 'boolean' : 'integer') as DataType,
  };
}

/** The first migration for `engine`; `integrity` seals bot state an earlier version left without a MAC. */
export function initialSchema(engine: Engine, integrity: StoreIntegrity | undefined): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const store = db as Kysely<StoreSchema>;
      await createTables(store, engine);
      const added = await addMissingColumns(store, engine);
      await createIndexes(store);
      if (added.has('elevations.risk')) await fillFilterColumns(store);
      if (added.has('bot_state.mac')) await sealBotState(store, integrity);
    },
  };
}

async function createTables(db: Kysely<StoreSchema>, engine: Engine): Promise<void> {
  const t = typesOf(engine);
  const strict = <B extends { modifyEnd(e: Expression<unknown>): B }>(b: B): B =>
    engine === 'sqlite' ? b.modifyEnd(sql`strict`) : b;
  const s = db.schema;

  // The hash and position of the last appended event, and the row every append locks. Appends
  // read it instead of the events table, so deleting the tail cannot make the next append paper over it.
  await strict(
    s
      .createTable('audit_chain_head')
      .ifNotExists()
      .addColumn('singleton', t.boolean, (c) =>
        c.primaryKey().check(engine === 'sqlite' ? sql`singleton = 1` : sql`singleton`),
      )
      .addColumn('position', t.bigint, (c) => c.notNull())
      .addColumn('hash', t.text, (c) => c.notNull()),
  ).execute();
  await db
    .insertInto('audit_chain_head')
    .values({ singleton: engine === 'sqlite' ? 1 : true, position: 0, hash: GENESIS_HASH })
    .onConflict((oc) => oc.doNothing())
    .execute();

  await strict(
    s
      .createTable('audit_events')
      .ifNotExists()
      .addColumn('position', t.bigint, (c) => c.primaryKey())
      .addColumn('id', t.key, (c) => c.notNull().unique())
      .addColumn('elevation_id', t.key)
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('type', t.text, (c) => c.notNull())
      .addColumn('at', t.text, (c) => c.notNull())
      .addColumn('actor_kind', t.text, (c) => c.notNull())
      .addColumn('actor_id', t.text, (c) => c.notNull())
      .addColumn('data', t.text, (c) => c.notNull())
      .addColumn('prev_hash', t.text, (c) => c.notNull())
      .addColumn('hash', t.text, (c) => c.notNull()),
  ).execute();

  // Signed checkpoints of the chain, signed with a key the database never holds; `hashes`
  // lists the event hashes first_position..position, concatenated.
  await strict(
    s
      .createTable('audit_checkpoints')
      .ifNotExists()
      .addColumn('position', t.bigint, (c) => c.primaryKey())
      .addColumn('prev_position', t.bigint, (c) => c.notNull())
      .addColumn('first_position', t.bigint, (c) => c.notNull())
      .addColumn('hash', t.text, (c) => c.notNull())
      .addColumn('at', t.text, (c) => c.notNull())
      .addColumn('kid', t.text, (c) => c.notNull())
      .addColumn('segment', t.text, (c) => c.notNull())
      .addColumn('hashes', t.text, (c) => c.notNull())
      .addColumn('signature', t.text, (c) => c.notNull()),
  ).execute();

  // The elevation index: one summary row per elevation, with the console's filter columns.
  await strict(
    s
      .createTable('elevations')
      .ifNotExists()
      .addColumn('id', t.key, (c) => c.primaryKey())
      .addColumn('bot_id', t.key, (c) => c.notNull())
      .addColumn('role_id', t.key, (c) => c.notNull())
      .addColumn('status', t.key, (c) => c.notNull())
      .addColumn('requested_at', t.key, (c) => c.notNull())
      .addColumn('view', t.json, (c) => c.notNull())
      .addColumn('updated_position', t.bigint, (c) => c.notNull())
      .addColumn('owner', t.key)
      .addColumn('team', t.key)
      .addColumn('environment', t.key)
      .addColumn('target_type', t.key)
      .addColumn('risk', t.key),
  ).execute();

  await strict(
    s
      .createTable('leases')
      .ifNotExists()
      .addColumn('elevation_id', t.key, (c) => c.primaryKey())
      .addColumn('key', t.key, (c) => c.notNull())
      .addColumn('target', t.json, (c) => c.notNull())
      .addColumn('principal', t.text, (c) => c.notNull())
      .addColumn('state', t.text, (c) => c.notNull().check(sql`state IN ('held', 'released')`))
      .addColumn('acquired_at', t.key)
      .addColumn('released_at', t.text),
  ).execute();

  // Cross-process locks of `withLock` on SQLite (PostgreSQL uses advisory locks); epoch ms.
  await strict(
    s
      .createTable('ledger_locks')
      .ifNotExists()
      .addColumn('key', t.text, (c) => c.primaryKey())
      .addColumn('owner', t.text, (c) => c.notNull())
      .addColumn('expires_at', 'integer', (c) => c.notNull()),
  ).execute();

  // Short-lived single-use records (`single-use.ts`): JSON text, expiry, and a MAC.
  await strict(
    s
      .createTable('ephemeral')
      .ifNotExists()
      .addColumn('key', t.key, (c) => c.primaryKey())
      .addColumn('value', t.text, (c) => c.notNull())
      .addColumn('expires_at', t.instant, (c) => c.notNull())
      .addColumn('mac', t.text),
  ).execute();

  // What admins changed about bots at runtime; a bot without a row is as its policy says.
  await strict(
    s
      .createTable('bot_state')
      .ifNotExists()
      .addColumn('bot_id', t.key, (c) => c.primaryKey())
      .addColumn('locked_at', t.text)
      .addColumn('locked_by', t.text)
      .addColumn('lock_reason', t.text)
      .addColumn('disabled', t.boolean, (c) => (engine === 'sqlite' ? c.check(sql`disabled IN (0, 1)`) : c))
      .addColumn('disabled_at', t.text)
      .addColumn('disabled_by', t.text)
      .addColumn('api_key_hash', t.key, (c) => c.unique())
      .addColumn('key_rotated_at', t.text)
      .addColumn('key_rotated_by', t.text)
      .addColumn('updated_at', t.text, (c) => c.notNull())
      .addColumn('mac', t.text),
  ).execute();
}

/** Columns an earlier version's database may lack; returns those added (`table.column`). */
async function addMissingColumns(db: Kysely<StoreSchema>, engine: Engine): Promise<Set<string>> {
  const t = typesOf(engine);
  const wanted: [table: 'elevations' | 'ephemeral' | 'bot_state', column: string, type: DataType][] = [
    ['elevations', 'owner', t.key],
    ['elevations', 'team', t.key],
    ['elevations', 'environment', t.key],
    ['elevations', 'target_type', t.key],
    ['elevations', 'risk', t.key],
    ['ephemeral', 'mac', t.text],
    ['bot_state', 'mac', t.text],
  ];
  const tables = await db.introspection.getTables();
  const added = new Set<string>();
  for (const [table, column, type] of wanted) {
    const columns = tables.find((x) => x.name === table)?.columns ?? [];
    if (columns.some((c) => c.name === column)) continue;
    await db.schema.alterTable(table).addColumn(column, type).execute();
    added.add(`${table}.${column}`);
  }
  return added;
}

async function createIndexes(db: Kysely<StoreSchema>): Promise<void> {
  const s = db.schema;
  await s
    .createIndex('audit_events_elevation_seq')
    .ifNotExists()
    .unique()
    .on('audit_events')
    .columns(['elevation_id', 'seq'])
    .where(sql.ref('elevation_id'), 'is not', null)
    .execute();
  await s
    .createIndex('audit_events_unattached_seq')
    .ifNotExists()
    .unique()
    .on('audit_events')
    .column('seq')
    .where(sql.ref('elevation_id'), 'is', null)
    .execute();
  // Each list filter with the listing order, so a filtered page reads only its rows; status with
  // a bot or a role, the commonest combined filters.
  const listings: [string, string[]][] = [
    ['requested', []],
    ['bot', ['bot_id']],
    ['role', ['role_id']],
    ['status', ['status']],
    ['owner', ['owner']],
    ['team', ['team']],
    ['environment', ['environment']],
    ['target_type', ['target_type']],
    ['risk', ['risk']],
    ['bot_status', ['bot_id', 'status']],
    ['role_status', ['role_id', 'status']],
  ];
  for (const [name, columns] of listings) {
    await s
      .createIndex(`elevations_${name}`)
      .ifNotExists()
      .on('elevations')
      .columns([...columns, 'requested_at', 'id'])
      .execute();
  }
  await s
    .createIndex('leases_key_held')
    .ifNotExists()
    .on('leases')
    .columns(['key', 'acquired_at'])
    .where(sql.ref('state'), '=', 'held')
    .execute();
  // Held leases by elevation id, for reconciliation's search for leases whose workflow has ended.
  await s
    .createIndex('leases_held')
    .ifNotExists()
    .on('leases')
    .column('elevation_id')
    .where(sql.ref('state'), '=', 'held')
    .execute();
  await s.createIndex('ephemeral_expires').ifNotExists().on('ephemeral').column('expires_at').execute();
}

/** Fills the filter columns of summary rows an earlier version wrote without them. */
async function fillFilterColumns(db: Kysely<StoreSchema>): Promise<void> {
  const rows = await db.selectFrom('elevations').select(['id', 'view']).execute();
  for (const row of rows) {
    const view = parseView(row.view);
    const requested = await db
      .selectFrom('audit_events')
      .select(['type', 'data'])
      .where('elevation_id', '=', row.id)
      .where('type', '=', 'elevation.requested')
      .orderBy('seq')
      .limit(1)
      .executeTakeFirst();
    const data: unknown = requested ? JSON.parse(requested.data) : {};
    const c = filterColumns(
      requested?.type ?? '',
      typeof data === 'object' && data !== null ? { ...data } : {},
      view,
    );
    await db
      .updateTable('elevations')
      .set({
        owner: c.owner,
        team: c.team,
        environment: c.environment,
        target_type: c.targetType,
        risk: c.risk,
      })
      .where('id', '=', row.id)
      .execute();
  }
}

/**
 * MACs the bot state rows an earlier version wrote, once, as the column is added. Never
 * afterwards: a MAC cleared later is tampering.
 */
async function sealBotState(db: Kysely<StoreSchema>, integrity: StoreIntegrity | undefined): Promise<void> {
  if (!integrity?.macKey) return;
  const rows = await db.selectFrom('bot_state').selectAll().execute();
  for (const row of rows) {
    await db
      .updateTable('bot_state')
      .set({ mac: botStateMacFor(integrity, rowToBotState(row)) })
      .where('bot_id', '=', row.bot_id)
      .execute();
  }
}
