/**
 * The production audit store on PostgreSQL. Appends serialise on one chain-head row locked
 * with `SELECT ... FOR UPDATE`, so any number of API servers and workers can append to the
 * same chain without gaps or forks. Ledger locks are transaction-scoped advisory locks on
 * their own connections: they vanish with the connection if the process dies.
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { ELEVATION_STATUSES, type ElevationStatus, type ElevationView } from '../../core/model/elevation.js';
import type {
  AuditEvent,
  BotState,
  BotStateChange,
  ChainAnchor,
  ElevationPage,
  ElevationQuery,
  HeldLease,
  Lease,
  LeaseInput,
  NewAuditEvent,
  Store,
  StreamCursor,
  VerifyResult,
} from './audit-store.js';
import { LockTimeoutError, SchemaTooNewError, StoreUnavailableError } from './audit-store-errors.js';
import { ChainVerifier, GENESIS_HASH, canonicalJson, hashEvent } from './hash-chain.js';
import {
  DEFAULT_LOCK_WAIT_MS,
  EVENT_COLUMNS,
  eventRowValues,
  KeyedMutex,
  VERIFY_PAGE_SIZE,
  checkNewEvent,
  elevationListQuery,
  parseView,
  rowToEvent,
  rowToEventForVerify,
  storedTextOf,
  rowToLease,
  heldLeasesQuery,
  rowToHeldLease,
  toElevationPage,
  EPHEMERAL_PURGE_BATCH,
  EPHEMERAL_PURGE_INTERVAL_MS,
  ephemeralText,
  isStorableKey,
  summaryColumns,
} from './store-shared.js';
import { riskSql } from '../../core/rules/risk.js';
import type { ElevationRow, EventRow, LeaseRow } from './store-shared.js';
import { POSTGRES_BOT_STATE_MIGRATION, PostgresBotStates } from './bot-state.js';
import { POSTGRES_CHECKPOINT_MIGRATION, postgresCheckpoints } from './checkpoint-table.js';
import {
  checkpointDue,
  segmentStart,
  signCheckpoint,
  type SignedCheckpoint,
  type StoreIntegrity,
} from './checkpoints.js';
import { finishVerify, reviewCheckpoints } from './checkpoint-review.js';
import { checkedEphemeral, ephemeralMacFor } from './row-mac.js';

/** Tuning for {@link PostgresStore.open}. */
export interface PostgresStoreOptions {
  /** Connections for appends, reads and leases. Default 10. */
  poolSize?: number;
  /**
   * Connections reserved for `withLock`. Separate from the main pool so that callers waiting
   * for a lock can never take every connection the lock holder's own work needs. Default 10.
   */
  lockPoolSize?: number;
  /** How long `withLock` waits for a lock held elsewhere. Default 30,000 ms. */
  lockWaitMs?: number;
  /** Signed checkpoints and row MACs (see `checkpoints.ts`); without it, neither. */
  integrity?: StoreIntegrity;
}

/** Key of the advisory lock that serialises schema migrations ("Elevate" in ASCII). */
const MIGRATION_LOCK_KEY = '19540956426630245';

/**
 * Schema migrations; entry `i` takes the schema from version `i` to `i + 1`, recorded in
 * `schema_version`. Only ever append to this list.
 */
const MIGRATIONS: readonly string[] = [
  `
  -- The hash and position of the last appended event, and the row every append locks.
  -- Appends read it instead of the events table, so deleting the tail of the log cannot make
  -- the next append paper over it.
  CREATE TABLE audit_chain_head (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    position bigint NOT NULL,
    hash text NOT NULL
  );
  INSERT INTO audit_chain_head (singleton, position, hash) VALUES (true, 0, '${GENESIS_HASH}');

  -- Text columns that are sorted or compared use the "C" collation: byte order, the same as
  -- SQLite, whatever locale the cluster was created with.
  CREATE TABLE audit_events (
    position bigint PRIMARY KEY,
    id text COLLATE "C" NOT NULL UNIQUE,
    elevation_id text COLLATE "C",
    seq integer NOT NULL,
    type text NOT NULL,
    at text NOT NULL,
    actor_kind text NOT NULL,
    actor_id text NOT NULL,
    data text NOT NULL,
    prev_hash text NOT NULL,
    hash text NOT NULL
  );
  CREATE UNIQUE INDEX audit_events_elevation_seq ON audit_events (elevation_id, seq)
    WHERE elevation_id IS NOT NULL;
  CREATE UNIQUE INDEX audit_events_unattached_seq ON audit_events (seq) WHERE elevation_id IS NULL;

  CREATE TABLE elevations (
    id text COLLATE "C" PRIMARY KEY,
    bot_id text COLLATE "C" NOT NULL,
    role_id text COLLATE "C" NOT NULL,
    status text COLLATE "C" NOT NULL,
    requested_at text COLLATE "C" NOT NULL,
    view jsonb NOT NULL,
    updated_position bigint NOT NULL
  );
  CREATE INDEX elevations_requested ON elevations (requested_at, id);
  CREATE INDEX elevations_bot ON elevations (bot_id, requested_at, id);
  CREATE INDEX elevations_role ON elevations (role_id, requested_at, id);
  CREATE INDEX elevations_status ON elevations (status, requested_at, id);

  CREATE TABLE leases (
    elevation_id text COLLATE "C" PRIMARY KEY,
    key text COLLATE "C" NOT NULL,
    target jsonb NOT NULL,
    principal text NOT NULL,
    state text NOT NULL CHECK (state IN ('held', 'released')),
    acquired_at text COLLATE "C",
    released_at text
  );
  CREATE INDEX leases_key_held ON leases (key, acquired_at) WHERE state = 'held';
  `,
  `
  -- Short-lived single-use records of the approval flow (login transactions, approval links,
  -- replay keys). value is JSON text, kept byte for byte as SQLite keeps it.
  CREATE TABLE ephemeral (
    key text COLLATE "C" PRIMARY KEY,
    value text NOT NULL,
    expires_at timestamptz NOT NULL
  );
  CREATE INDEX ephemeral_expires ON ephemeral (expires_at);
  `,
  `
  -- Progress of consumers that follow the audit chain (the webhook sink): JSON state plus a
  -- lease, so one process at a time advances each. Times are epoch milliseconds, as in SQLite.
  CREATE TABLE IF NOT EXISTS stream_cursors (
    name text COLLATE "C" PRIMARY KEY,
    state text,
    owner text NOT NULL,
    lease_until bigint NOT NULL,
    updated_at bigint NOT NULL
  );
  `,
  `
  -- The admin console's list filters: owner, team, environment, target type and risk of each
  -- elevation, each indexed with the listing order so a filtered page reads only its rows.
  -- Existing rows are filled in from their view and their elevation.requested event.
  ALTER TABLE elevations ADD COLUMN IF NOT EXISTS owner text COLLATE "C";
  ALTER TABLE elevations ADD COLUMN IF NOT EXISTS team text COLLATE "C";
  ALTER TABLE elevations ADD COLUMN IF NOT EXISTS environment text COLLATE "C";
  ALTER TABLE elevations ADD COLUMN IF NOT EXISTS target_type text COLLATE "C";
  ALTER TABLE elevations ADD COLUMN IF NOT EXISTS risk text COLLATE "C";
  UPDATE elevations SET
    owner = view->>'owner',
    environment = view->>'environment',
    risk = ${riskSql("view->'approval'->>'mode'", "view->>'environment'")};
  UPDATE elevations SET
    team = e.data::jsonb->'bot'->>'team',
    target_type = e.data::jsonb->'role'->'target'->>'type'
  FROM audit_events e
  WHERE e.elevation_id = elevations.id AND e.type = 'elevation.requested';
  CREATE INDEX IF NOT EXISTS elevations_owner ON elevations (owner, requested_at, id);
  CREATE INDEX IF NOT EXISTS elevations_team ON elevations (team, requested_at, id);
  CREATE INDEX IF NOT EXISTS elevations_environment ON elevations (environment, requested_at, id);
  CREATE INDEX IF NOT EXISTS elevations_target_type ON elevations (target_type, requested_at, id);
  CREATE INDEX IF NOT EXISTS elevations_risk ON elevations (risk, requested_at, id);
  `,
  POSTGRES_BOT_STATE_MIGRATION,
  `
  -- Status together with a bot or a role, the list's commonest combined filters: each read in
  -- listing order from its own index, not by walking every row of the bot or role.
  CREATE INDEX IF NOT EXISTS elevations_bot_status ON elevations (bot_id, status, requested_at, id);
  CREATE INDEX IF NOT EXISTS elevations_role_status ON elevations (role_id, status, requested_at, id);
  `,
  `
  -- Held leases by elevation id, for reconciliation's search for leases whose workflow has
  -- ended: it pages through the held ones only, however many released ones the table keeps.
  CREATE INDEX IF NOT EXISTS leases_held ON leases (elevation_id) WHERE state = 'held';
  `,
  POSTGRES_CHECKPOINT_MIGRATION,
];

/** The schema version that added checkpoints and row MACs. */
const CHECKPOINT_VERSION = MIGRATIONS.indexOf(POSTGRES_CHECKPOINT_MIGRATION) + 1;

/** The schema version this code writes. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/** The schema version that added the index of held leases. */
export const POSTGRES_HELD_LEASES_VERSION = MIGRATIONS.findIndex((m) => m.includes('leases_held')) + 1;

/** The schema version that added the admin console's filter columns (owner, team, environment, target type, risk). */
export const POSTGRES_FILTER_COLUMNS_VERSION = MIGRATIONS.findIndex((m) => m.includes('elevations_risk')) + 1;

/**
 * {@link Store} on PostgreSQL (node-postgres pools). Any number of instances, in any number
 * of processes, may share one database.
 */
export class PostgresStore implements Store {
  private readonly mutex = new KeyedMutex();
  private closed = false;
  /** When `putIfAbsent` next purges expired records on its own (epoch ms). */
  private nextPurgeAt = 0;
  /** The newest checkpoint this instance has written (see `SqliteStore`'s field of that name). */
  private lastCheckpointSeen: { position: number; at: string } | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    private readonly lockPool: pg.Pool,
    private readonly lockWaitMs: number,
    private readonly integrity: StoreIntegrity | undefined,
  ) {}

  /**
   * Connects to `url` and brings the schema up to date. Concurrent first starts are safe:
   * migrations run in one transaction under an advisory lock.
   *
   * @throws {@link StoreUnavailableError} when the database cannot be reached or prepared;
   *   the message names host and database but never the credentials in `url`
   * @throws {@link SchemaTooNewError} when a newer Elevate migrated the database
   */
  static async open(url: string, opts: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const pool = newPool(url, opts.poolSize ?? 10);
    const lockPool = newPool(url, opts.lockPoolSize ?? 10);
    try {
      await migrate(pool, opts.integrity);
    } catch (error) {
      await Promise.allSettled([pool.end(), lockPool.end()]);
      if (error instanceof SchemaTooNewError) throw error;
      throw new StoreUnavailableError(
        `cannot open the PostgreSQL audit store at ${describeUrl(url)}: ${scrubbedMessage(error, url)}`,
      );
    }
    return new PostgresStore(
      pool,
      lockPool,
      Math.ceil(opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS),
      opts.integrity,
    );
  }

  async append(event: NewAuditEvent): Promise<AuditEvent> {
    checkNewEvent(event);
    const dataText = canonicalJson(event.data);
    let checkpoint: SignedCheckpoint | undefined;
    const stored = await inTransaction(this.pool, async (client) => {
      checkpoint = undefined;
      // Every append queues here, across all processes: this row is the chain's write lock.
      const head = (
        await client.query<{ position: string; hash: string }>(
          'SELECT position, hash FROM audit_chain_head WHERE singleton FOR UPDATE',
        )
      ).rows[0];
      if (!head) throw new Error('audit_chain_head row is missing: the audit store schema was damaged');
      // Checked under the lock, so two concurrent appends of one id cannot both insert.
      const existing = (
        await client.query<EventRow>(`SELECT ${EVENT_COLUMNS} FROM audit_events WHERE id = $1`, [event.id])
      ).rows[0];
      if (existing) return rowToEvent(existing);

      const last = (
        event.elevationId === null
          ? await client.query<{ seq: number | null }>(
              'SELECT MAX(seq) AS seq FROM audit_events WHERE elevation_id IS NULL',
            )
          : await client.query<{ seq: number | null }>(
              'SELECT MAX(seq) AS seq FROM audit_events WHERE elevation_id = $1',
              [event.elevationId],
            )
      ).rows[0];
      const unhashed: Omit<AuditEvent, 'hash'> = {
        id: event.id,
        elevationId: event.elevationId,
        seq: (last?.seq ?? 0) + 1,
        type: event.type,
        at: event.at,
        actor: { kind: event.actor.kind, id: event.actor.id },
        // Exactly what a reader will parse back, so the returned event equals the stored one.
        data: JSON.parse(dataText) as Record<string, unknown>,
        position: Number(head.position) + 1,
        prevHash: head.hash,
      };
      const stored: AuditEvent = { ...unhashed, hash: hashEvent(unhashed) };
      await client.query(
        `INSERT INTO audit_events (${EVENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        eventRowValues(stored, dataText),
      );
      await client.query('UPDATE audit_chain_head SET position = $1, hash = $2 WHERE singleton', [
        stored.position,
        stored.hash,
      ]);
      if (event.elevation) await upsertElevation(client, event, event.elevation, stored.position);
      checkpoint = await this.checkpointIfDue(client, stored);
      return stored;
    });
    if (checkpoint) this.lastCheckpointSeen = checkpoint;
    return stored;
  }

  /**
   * Inside the append transaction, with the chain head locked: sign and store a checkpoint at
   * the event just appended when one is due (as `SqliteStore` does).
   */
  private async checkpointIfDue(
    client: pg.PoolClient,
    stored: AuditEvent,
  ): Promise<SignedCheckpoint | undefined> {
    const policy = this.integrity?.checkpoints;
    if (!policy?.signingKey) return undefined;
    const inTable = await postgresCheckpoints.last(client);
    const seen = this.lastCheckpointSeen;
    const last = seen && seen.position > (inTable?.position ?? 0) ? seen : inTable;
    const now = new Date();
    if (!checkpointDue(policy, stored.position, last, now)) return undefined;
    const prev = last?.position ?? 0;
    const first = segmentStart(prev, stored.position);
    const hashes = [
      ...(await postgresCheckpoints.eventHashes(client, first, stored.position - 1)),
      stored.hash,
    ];
    if (hashes.length !== stored.position - first + 1) return undefined;
    const checkpoint = signCheckpoint(policy.signingKey, {
      position: stored.position,
      prev,
      first,
      hashes,
      at: now,
    });
    await postgresCheckpoints.insert(client, checkpoint, hashes);
    return checkpoint;
  }

  latestCheckpoint(): Promise<SignedCheckpoint | undefined> {
    return postgresCheckpoints.last(this.pool);
  }

  async listEvents(elevationId: string): Promise<AuditEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE elevation_id = $1 ORDER BY seq`,
      [elevationId],
    );
    return rows.map(rowToEvent);
  }

  async getElevation(id: string): Promise<ElevationView | undefined> {
    const { rows } = await this.pool.query<{ view: unknown }>('SELECT view FROM elevations WHERE id = $1', [
      id,
    ]);
    return rows[0] ? parseView(rows[0].view) : undefined;
  }

  /**
   * Lists elevation summaries, newest first (requestedAt, then id, descending).
   * @throws {@link InvalidCursorError} when `query.cursor` is not one this store issued
   */
  async listElevations(query: ElevationQuery): Promise<ElevationPage> {
    const { sql, params } = elevationListQuery(query, (n) => `$${n}`);
    const { rows } = await this.pool.query<ElevationRow>(sql, params);
    return toElevationPage(rows, query.limit);
  }

  async countByStatus(): Promise<Record<ElevationStatus, number>> {
    // The elevations_status index covers status: an index-only scan once the table is vacuumed.
    const { rows } = await this.pool.query<{ status: string; n: string }>(
      'SELECT status, COUNT(*) AS n FROM elevations GROUP BY status',
    );
    const counts = Object.fromEntries(ELEVATION_STATUSES.map((status) => [status, 0])) as Record<
      ElevationStatus,
      number
    >;
    for (const row of rows) {
      if (row.status in counts) counts[row.status as ElevationStatus] = Number(row.n);
    }
    return counts;
  }

  async readEvents(afterPosition: number, limit: number): Promise<AuditEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE position > $1 ORDER BY position LIMIT $2`,
      [afterPosition, limit],
    );
    return rows.map(rowToEvent);
  }

  async verify(options: { anchors?: ChainAnchor[] } = {}): Promise<VerifyResult> {
    // The head record is read first: events up to it must all be there, whatever is appended meanwhile.
    const { rows: heads } = await this.pool.query<{ position: string; hash: string }>(
      'SELECT position, hash FROM audit_chain_head WHERE singleton',
    );
    const head = heads[0];
    // Read after the head, so appends meanwhile cannot make a checkpoint look overdue.
    const checkpoints = await postgresCheckpoints.list(this.pool);
    const review = reviewCheckpoints(checkpoints, this.integrity?.checkpoints, Number(head?.position ?? 0));
    const verifier = new ChainVerifier([
      ...(options.anchors ?? []),
      ...review.anchors,
      ...(head ? [{ position: Number(head.position), hash: head.hash }] : []),
    ]);
    const finish = (): Promise<VerifyResult> =>
      finishVerify(verifier.result(), checkpoints, review, {
        listedHashes: (position) => postgresCheckpoints.listedHashes(this.pool, position),
        rows: (from, to) => postgresCheckpoints.rows(this.pool, from, to),
      });
    // Keyset pages: each query is cheap and memory holds two pages, however long the chain. The
    // next page is asked for before this one is hashed, so the server reads and sends it meanwhile.
    const page = (after: number): Promise<EventRow[]> => {
      const rows = this.pool
        .query<EventRow>(
          `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE position > $1 ORDER BY position LIMIT $2`,
          [after, VERIFY_PAGE_SIZE],
        )
        .then((r) => r.rows);
      // Its failure is thrown where it is awaited; should hashing throw first, it must not also
      // surface later as an unhandled rejection.
      rows.catch(() => undefined);
      return rows;
    };
    let next: Promise<EventRow[]> | undefined = page(0);
    while (next) {
      const rows: EventRow[] = await next;
      const last = rows[rows.length - 1];
      next = last && rows.length === VERIFY_PAGE_SIZE ? page(Number(last.position)) : undefined;
      for (const row of rows) {
        if (!verifier.nextStored(storedTextOf(row), () => rowToEventForVerify(row))) {
          // Stop here; a page already asked for is read and dropped.
          await next?.catch(() => undefined);
          return finish();
        }
      }
    }
    return finish();
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  /** Closes both connection pools, waiting for connections in use. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.pool.end(), this.lockPool.end()]);
  }

  /**
   * Runs `fn` holding the exclusive lock on `key`, released when `fn` settles.
   * Callers in this process queue in memory; across processes the lock is
   * `pg_advisory_xact_lock` held by a transaction on a connection of the lock pool. `fn`'s own
   * store calls use the main pool. Not reentrant.
   *
   * @throws {@link LockTimeoutError} when another holder keeps the lock past `lockWaitMs`
   */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(key, async () => {
      const client = await this.lockPool.connect();
      // Whether the connection is back outside any transaction; if not, it is discarded,
      // which ends the transaction and frees the advisory lock on the server.
      let reusable = false;
      try {
        await client.query('BEGIN');
        await client.query(`SET LOCAL lock_timeout = ${this.lockWaitMs}`);
        try {
          await client.query('SELECT pg_advisory_xact_lock($1::int4, $2::int4)', advisoryKeys(key));
        } catch (error) {
          if (pgCode(error) === '55P03') throw new LockTimeoutError(key, this.lockWaitMs);
          throw error;
        }
        let result: T;
        try {
          result = await fn();
        } catch (error) {
          reusable = await rollbackQuietly(client);
          throw error;
        }
        await client.query('COMMIT');
        reusable = true;
        return result;
      } catch (error) {
        if (!reusable) reusable = await rollbackQuietly(client);
        throw error;
      } finally {
        client.release(!reusable);
      }
    });
  }

  async hold(lease: LeaseInput, at: string): Promise<'held' | 'released'> {
    await this.pool.query(
      `INSERT INTO leases (elevation_id, key, target, principal, state, acquired_at)
       VALUES ($1, $2, $3::jsonb, $4, 'held', $5)
       ON CONFLICT (elevation_id) DO NOTHING`,
      [lease.elevationId, lease.key, JSON.stringify(lease.target), lease.principal, at],
    );
    const { rows } = await this.pool.query<{ state: string }>(
      'SELECT state FROM leases WHERE elevation_id = $1',
      [lease.elevationId],
    );
    if (!rows[0]) throw new Error(`lease ${lease.elevationId} vanished while being held`);
    return rows[0].state === 'released' ? 'released' : 'held';
  }

  async release(lease: LeaseInput, at: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO leases (elevation_id, key, target, principal, state, released_at)
       VALUES ($1, $2, $3::jsonb, $4, 'released', $5)
       ON CONFLICT (elevation_id) DO UPDATE SET
         state = 'released', released_at = COALESCE(leases.released_at, EXCLUDED.released_at)`,
      [lease.elevationId, lease.key, JSON.stringify(lease.target), lease.principal, at],
    );
  }

  async holders(key: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ elevation_id: string }>(
      `SELECT elevation_id FROM leases WHERE key = $1 AND state = 'held'
       ORDER BY acquired_at, elevation_id`,
      [key],
    );
    return rows.map((row) => row.elevation_id);
  }

  async getLease(elevationId: string): Promise<Lease | undefined> {
    const { rows } = await this.pool.query<LeaseRow>(
      `SELECT elevation_id, key, target, principal, state, acquired_at, released_at
       FROM leases WHERE elevation_id = $1`,
      [elevationId],
    );
    return rows[0] ? rowToLease(rows[0]) : undefined;
  }

  async heldLeases(page: { after?: string; limit: number }): Promise<HeldLease[]> {
    const { sql, params } = heldLeasesQuery(page, (n) => `$${n}`);
    const { rows } = await this.pool.query<Omit<LeaseRow, 'state' | 'released_at'>>(sql, params);
    return rows.map(rowToHeldLease);
  }

  /**
   * Stores `value` under `key` until `expiresAt` unless a live record is there; an expired
   * one is replaced. One conditional upsert: PostgreSQL's ON CONFLICT locks the existing row,
   * so two processes racing for a key cannot both win.
   *
   * @throws {@link InvalidEphemeralError} when the record cannot be stored
   */
  async putIfAbsent(key: string, value: unknown, expiresAt: Date): Promise<boolean> {
    const text = ephemeralText(key, value, expiresAt);
    const now = new Date();
    const mac = ephemeralMacFor(this.integrity, key, text, expiresAt.getTime());
    const { rowCount } = await this.pool.query(
      `INSERT INTO ephemeral (key, value, expires_at, mac) VALUES ($1, $2, $3::timestamptz, $5)
       ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at,
         mac = EXCLUDED.mac
       WHERE ephemeral.expires_at <= $4::timestamptz`,
      [key, text, expiresAt, now, mac],
    );
    if (now.getTime() >= this.nextPurgeAt) {
      this.nextPurgeAt = now.getTime() + EPHEMERAL_PURGE_INTERVAL_MS;
      try {
        // The outer expiry test is re-checked on rows changed meanwhile: a record that
        // another process has just put in place of an expired one is not deleted.
        await this.pool.query(
          `DELETE FROM ephemeral
           WHERE key IN (SELECT key FROM ephemeral WHERE expires_at <= $1::timestamptz LIMIT $2)
             AND expires_at <= $1::timestamptz`,
          [now, EPHEMERAL_PURGE_BATCH],
        );
      } catch {
        // Housekeeping only: the record is stored, and expired rows are invisible anyway.
      }
    }
    return rowCount === 1;
  }

  async peek(key: string): Promise<unknown> {
    if (!isStorableKey(key)) return undefined;
    const { rows } = await this.pool.query<EphemeralRow>(
      'SELECT value, expires_at, mac FROM ephemeral WHERE key = $1 AND expires_at > $2::timestamptz',
      [key, new Date()],
    );
    return this.checked(key, rows[0]);
  }

  /**
   * Deletes and returns the live record: the row lock makes a concurrent take find nothing. A
   * forged row is deleted like any other, and given to nobody.
   */
  async take(key: string): Promise<unknown> {
    if (!isStorableKey(key)) return undefined;
    const { rows } = await this.pool.query<EphemeralRow>(
      'DELETE FROM ephemeral WHERE key = $1 AND expires_at > $2::timestamptz RETURNING value, expires_at, mac',
      [key, new Date()],
    );
    return this.checked(key, rows[0]);
  }

  /**
   * One conditional update (compare-and-swap on the MAC just checked): a record taken, deleted,
   * expired or swapped meanwhile stays as it is, and a forged one is not given a good MAC.
   */
  async replace(key: string, value: unknown, expiresAt: Date): Promise<boolean> {
    const text = ephemeralText(key, value, expiresAt);
    const now = new Date();
    const { rows } = await this.pool.query<EphemeralRow>(
      'SELECT value, expires_at, mac FROM ephemeral WHERE key = $1 AND expires_at > $2::timestamptz',
      [key, now],
    );
    const current = rows[0];
    if (!current || this.checked(key, current) === undefined) return false;
    const { rowCount } = await this.pool.query(
      `UPDATE ephemeral SET value = $1, expires_at = $2::timestamptz, mac = $5::text
       WHERE key = $3 AND expires_at > $4::timestamptz AND mac IS NOT DISTINCT FROM $6::text`,
      [
        text,
        expiresAt,
        key,
        now,
        ephemeralMacFor(this.integrity, key, text, expiresAt.getTime()),
        current.mac,
      ],
    );
    return rowCount === 1;
  }

  private checked(key: string, row: EphemeralRow | undefined): unknown {
    return checkedEphemeral(
      this.integrity,
      key,
      row ? { value: row.value, expiresAtMs: new Date(row.expires_at).getTime(), mac: row.mac } : undefined,
    );
  }

  async purgeExpired(now: Date = new Date()): Promise<number> {
    const { rowCount } = await this.pool.query('DELETE FROM ephemeral WHERE expires_at <= $1::timestamptz', [
      now,
    ]);
    return rowCount ?? 0;
  }

  /**
   * Inserts a new cursor or takes the lease of a lapsed one (or renews the caller's own) in
   * one upsert: ON CONFLICT locks the row, so of two processes claiming at once one wins.
   */
  async claimCursor(name: string, owner: string, ttlMs: number): Promise<{ state: unknown } | undefined> {
    const now = Date.now();
    const { rows } = await this.pool.query<{ state: string | null }>(
      `INSERT INTO stream_cursors (name, state, owner, lease_until, updated_at) VALUES ($1, NULL, $2, $3, $4)
       ON CONFLICT (name) DO UPDATE SET owner = EXCLUDED.owner, lease_until = EXCLUDED.lease_until
       WHERE stream_cursors.owner = EXCLUDED.owner OR stream_cursors.lease_until < $4
       RETURNING state`,
      [name, owner, now + ttlMs, now],
    );
    const row = rows[0];
    return row ? { state: row.state === null ? null : (JSON.parse(row.state) as unknown) } : undefined;
  }

  async renewCursor(name: string, owner: string, ttlMs: number): Promise<boolean> {
    const { rowCount } = await this.pool.query(
      'UPDATE stream_cursors SET lease_until = $1 WHERE name = $2 AND owner = $3',
      [Date.now() + ttlMs, name, owner],
    );
    return rowCount === 1;
  }

  async saveCursor(name: string, owner: string, ttlMs: number, state: unknown): Promise<boolean> {
    const text = JSON.stringify(state);
    if (text === undefined) throw new TypeError('a cursor state must be JSON-serialisable');
    const now = Date.now();
    const { rowCount } = await this.pool.query(
      'UPDATE stream_cursors SET state = $1, lease_until = $2, updated_at = $3 WHERE name = $4 AND owner = $5',
      [text, now + ttlMs, now, name, owner],
    );
    return rowCount === 1;
  }

  async releaseCursor(name: string, owner: string): Promise<void> {
    await this.pool.query('UPDATE stream_cursors SET lease_until = 0 WHERE name = $1 AND owner = $2', [
      name,
      owner,
    ]);
  }

  async readCursor(name: string): Promise<StreamCursor | undefined> {
    const { rows } = await this.pool.query<{
      state: string | null;
      owner: string;
      lease_until: string;
      updated_at: string;
    }>('SELECT state, owner, lease_until, updated_at FROM stream_cursors WHERE name = $1', [name]);
    const row = rows[0];
    return row
      ? {
          state: row.state === null ? null : (JSON.parse(row.state) as unknown),
          owner: row.owner,
          leaseUntil: new Date(Number(row.lease_until)),
          updatedAt: new Date(Number(row.updated_at)),
        }
      : undefined;
  }

  /** The bot state queries, on the main pool. */
  private get botStates(): PostgresBotStates {
    return (this.botStateQueries ??= new PostgresBotStates(this.pool, this.integrity));
  }
  private botStateQueries: PostgresBotStates | undefined;

  getBotState(botId: string): Promise<BotState | undefined> {
    return this.botStates.get(botId);
  }

  findBotStateByKeyHash(keyHash: string): Promise<BotState | undefined> {
    return this.botStates.findByKeyHash(keyHash);
  }

  listBotStates(): Promise<BotState[]> {
    return this.botStates.list();
  }

  updateBotState(
    botId: string,
    change: BotStateChange,
    at: string,
  ): Promise<{ before: BotState | undefined; after: BotState }> {
    return this.botStates.apply(botId, change, at);
  }

  openElevationCounts(botId?: string): Promise<Record<string, Partial<Record<ElevationStatus, number>>>> {
    return this.botStates.openCounts(botId);
  }
}

/** An `ephemeral` row as read back (pg returns timestamptz as a Date). */
interface EphemeralRow {
  value: string;
  expires_at: Date | string;
  mac: string | null;
}

function newPool(url: string, max: number): pg.Pool {
  const pool = new pg.Pool({ connectionString: url, max });
  // An idle connection that the server drops emits 'error' on the pool; unhandled, that would
  // crash the process. The pool already discards the connection and the next query reconnects.
  pool.on('error', () => undefined);
  return pool;
}

async function upsertElevation(
  client: pg.PoolClient,
  event: NewAuditEvent,
  view: ElevationView,
  position: number,
): Promise<void> {
  const c = summaryColumns(event, view);
  await client.query(
    `INSERT INTO elevations (id, bot_id, role_id, status, requested_at, view, updated_position,
       owner, team, environment, target_type, risk)
     VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11, $12)
     ON CONFLICT (id) DO UPDATE SET
       bot_id = EXCLUDED.bot_id, role_id = EXCLUDED.role_id, status = EXCLUDED.status,
       requested_at = EXCLUDED.requested_at, view = EXCLUDED.view,
       updated_position = EXCLUDED.updated_position,
       owner = EXCLUDED.owner, environment = EXCLUDED.environment, risk = EXCLUDED.risk,
       team = COALESCE(EXCLUDED.team, elevations.team),
       target_type = COALESCE(EXCLUDED.target_type, elevations.target_type)`,
    [
      view.id,
      view.botId,
      view.roleId,
      view.status,
      view.requestedAt,
      JSON.stringify(view),
      position,
      c.owner,
      c.team,
      c.environment,
      c.targetType,
      c.risk,
    ],
  );
}

/** Runs `work` in a transaction on one pooled connection: COMMIT on success, ROLLBACK on throw. */
async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let reusable = false;
  try {
    await client.query('BEGIN');
    const result = await work(client);
    await client.query('COMMIT');
    reusable = true;
    return result;
  } catch (error) {
    reusable = await rollbackQuietly(client);
    throw error;
  } finally {
    // A connection left inside a transaction must not go back to the pool.
    client.release(!reusable);
  }
}

/** ROLLBACK, reporting whether it worked; the caller's own error is what matters. */
async function rollbackQuietly(client: pg.PoolClient): Promise<boolean> {
  try {
    await client.query('ROLLBACK');
    return true;
  } catch {
    return false;
  }
}

/**
 * Applies pending migrations in one transaction, serialised across processes. Bot state the
 * previous version wrote gets its MAC there, once, by the process that upgrades.
 */
async function migrate(pool: pg.Pool, integrity: StoreIntegrity | undefined): Promise<void> {
  await inTransaction(pool, async (client) => {
    await client.query(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS schema_version (
         version integer PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ version: number | null }>(
      'SELECT MAX(version) AS version FROM schema_version',
    );
    const current = rows[0]?.version ?? 0;
    if (current > MIGRATIONS.length) throw new SchemaTooNewError(current, MIGRATIONS.length);
    for (const [index, migration] of MIGRATIONS.entries()) {
      if (index < current) continue;
      await client.query(migration);
      await client.query('INSERT INTO schema_version (version) VALUES ($1)', [index + 1]);
      if (index + 1 === CHECKPOINT_VERSION) await PostgresBotStates.sealUnsealed(client, integrity);
    }
  });
}

/**
 * The two int4 halves of a lock key: the first 8 bytes of SHA-256(key). Hashing spreads
 * arbitrary keys over the 64-bit advisory lock space; a collision would only serialise two
 * unrelated keys, never break exclusion.
 */
function advisoryKeys(key: string): [number, number] {
  const digest = createHash('sha256').update(key, 'utf8').digest();
  return [digest.readInt32BE(0), digest.readInt32BE(4)];
}

function pgCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** Where a database URL points, without user name or password. */
function describeUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.host || 'localhost'}${parsed.pathname || ''}`;
  } catch {
    return 'the configured database URL (unparseable)';
  }
}

/** The error's message with the URL and its password taken out, plus the driver's code. */
function scrubbedMessage(error: unknown, url: string): string {
  let message = error instanceof Error ? error.message : String(error);
  const secrets = [url];
  try {
    const { password } = new URL(url);
    if (password) secrets.push(password, decodeURIComponent(password));
  } catch {
    // Unparseable: the whole URL is already on the list.
  }
  for (const secret of secrets) message = message.split(secret).join('***');
  const code = pgCode(error);
  return code ? `${message} (${code})` : message;
}
