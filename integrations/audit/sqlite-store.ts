/**
 * The embedded audit store: one SQLite file, opened in WAL mode so readers never block the
 * writer. Appends run in `BEGIN IMMEDIATE` transactions, which take SQLite's single write
 * lock up front, so appends from several processes on the same file serialise instead of
 * failing half-way with SQLITE_BUSY.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import Database from 'better-sqlite3';
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
  DEFAULT_LOCK_TTL_MS,
  DEFAULT_LOCK_WAIT_MS,
  EVENT_COLUMNS,
  KeyedMutex,
  VERIFY_PAGE_SIZE,
  checkNewEvent,
  elevationListQuery,
  parseView,
  rowToEvent,
  rowToEventForVerify,
  rowToLease,
  heldLeasesQuery,
  rowToHeldLease,
  sleep,
  toElevationPage,
  eventRowValues,
  EPHEMERAL_PURGE_BATCH,
  EPHEMERAL_PURGE_INTERVAL_MS,
  ephemeralText,
  isStorableKey,
  summaryColumns,
} from './store-shared.js';
import { riskSql } from '../../core/rules/risk.js';
import type { ElevationRow, EventRow, EventRowValues, LeaseRow } from './store-shared.js';
import { SQLITE_BOT_STATE_MIGRATION, SqliteBotStates } from './bot-state.js';
import { SQLITE_CHECKPOINT_MIGRATION, SqliteCheckpoints } from './checkpoint-table.js';
import {
  checkpointDue,
  segmentStart,
  signCheckpoint,
  type SignedCheckpoint,
  type StoreIntegrity,
} from './checkpoints.js';
import { finishVerify, reviewCheckpoints } from './checkpoint-review.js';
import { checkedEphemeral, ephemeralMacFor } from './row-mac.js';

/** Tuning for {@link SqliteStore.open}. */
export interface SqliteStoreOptions {
  /**
   * How long a lock row outlives its holder's last renewal, so a crashed process cannot
   * block a key forever. Live holders renew at a third of this. Default 60,000 ms.
   */
  lockTtlMs?: number;
  /** How long `withLock` polls for a lock row held by another process. Default 30,000 ms. */
  lockWaitMs?: number;
  /** How long a statement waits for another process's write lock. Default 10,000 ms. */
  busyTimeoutMs?: number;
  /** Signed checkpoints and row MACs (see `checkpoints.ts`); without it, neither. */
  integrity?: StoreIntegrity;
}

/**
 * Schema migrations; entry `i` takes the schema from version `i` to `i + 1`, recorded in
 * `PRAGMA user_version`. Only ever append to this list.
 */
const MIGRATIONS: readonly string[] = [
  `
  -- The hash and position of the last appended event. Appends read it instead of the
  -- events table, so deleting the tail of the log cannot make the next append paper over it.
  CREATE TABLE audit_chain_head (
    singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
    position INTEGER NOT NULL,
    hash TEXT NOT NULL
  ) STRICT;
  INSERT INTO audit_chain_head (singleton, position, hash) VALUES (1, 0, '${GENESIS_HASH}');

  CREATE TABLE audit_events (
    position INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    elevation_id TEXT,
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    at TEXT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor_id TEXT NOT NULL,
    data TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
  ) STRICT;
  CREATE UNIQUE INDEX audit_events_elevation_seq ON audit_events (elevation_id, seq)
    WHERE elevation_id IS NOT NULL;
  CREATE UNIQUE INDEX audit_events_unattached_seq ON audit_events (seq) WHERE elevation_id IS NULL;

  CREATE TABLE elevations (
    id TEXT PRIMARY KEY,
    bot_id TEXT NOT NULL,
    role_id TEXT NOT NULL,
    status TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    view TEXT NOT NULL,
    updated_position INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX elevations_requested ON elevations (requested_at, id);
  CREATE INDEX elevations_bot ON elevations (bot_id, requested_at, id);
  CREATE INDEX elevations_role ON elevations (role_id, requested_at, id);
  CREATE INDEX elevations_status ON elevations (status, requested_at, id);

  CREATE TABLE leases (
    elevation_id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    target TEXT NOT NULL,
    principal TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('held', 'released')),
    acquired_at TEXT,
    released_at TEXT
  ) STRICT;
  CREATE INDEX leases_key_held ON leases (key, acquired_at) WHERE state = 'held';

  -- Cross-process locks for withLock; expires_at is epoch milliseconds.
  CREATE TABLE ledger_locks (
    key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;
  `,
  `
  -- Short-lived single-use records of the approval flow (login transactions, approval links,
  -- replay keys). value is JSON text; expires_at is epoch milliseconds.
  CREATE TABLE ephemeral (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX ephemeral_expires ON ephemeral (expires_at);
  `,
  `
  -- Progress of consumers that follow the audit chain (the webhook sink): JSON state plus a
  -- lease, so one process at a time advances each. Times are epoch milliseconds.
  CREATE TABLE IF NOT EXISTS stream_cursors (
    name TEXT PRIMARY KEY,
    state TEXT,
    owner TEXT NOT NULL,
    lease_until INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  ) STRICT;
  `,
  `
  -- The admin console's list filters: owner, team, environment, target type and risk of each
  -- elevation, each indexed with the listing order so a filtered page reads only its rows.
  -- Existing rows are filled in from their view and their elevation.requested event.
  ALTER TABLE elevations ADD COLUMN owner TEXT;
  ALTER TABLE elevations ADD COLUMN team TEXT;
  ALTER TABLE elevations ADD COLUMN environment TEXT;
  ALTER TABLE elevations ADD COLUMN target_type TEXT;
  ALTER TABLE elevations ADD COLUMN risk TEXT;
  UPDATE elevations SET
    owner = json_extract(view, '$.owner'),
    environment = json_extract(view, '$.environment'),
    risk = ${riskSql("json_extract(view, '$.approval.mode')", "json_extract(view, '$.environment')")};
  UPDATE elevations SET (team, target_type) = (
    SELECT json_extract(e.data, '$.bot.team'), json_extract(e.data, '$.role.target.type')
    FROM audit_events e
    WHERE e.elevation_id = elevations.id AND e.type = 'elevation.requested'
    ORDER BY e.seq LIMIT 1
  );
  CREATE INDEX elevations_owner ON elevations (owner, requested_at, id);
  CREATE INDEX elevations_team ON elevations (team, requested_at, id);
  CREATE INDEX elevations_environment ON elevations (environment, requested_at, id);
  CREATE INDEX elevations_target_type ON elevations (target_type, requested_at, id);
  CREATE INDEX elevations_risk ON elevations (risk, requested_at, id);
  `,
  SQLITE_BOT_STATE_MIGRATION,
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
  SQLITE_CHECKPOINT_MIGRATION,
];

/** The schema version that added checkpoints and row MACs. */
const CHECKPOINT_VERSION = MIGRATIONS.indexOf(SQLITE_CHECKPOINT_MIGRATION) + 1;

/** The schema version this code writes. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

/** The schema version that added the index of held leases. */
export const SQLITE_HELD_LEASES_VERSION = MIGRATIONS.findIndex((m) => m.includes('leases_held')) + 1;

/** The schema version that added the admin console's filter columns (owner, team, environment, target type, risk). */
export const SQLITE_FILTER_COLUMNS_VERSION = MIGRATIONS.findIndex((m) => m.includes('elevations_risk')) + 1;

function prepareStatements(db: Database.Database) {
  return {
    eventById: db.prepare<[string], EventRow>(`SELECT ${EVENT_COLUMNS} FROM audit_events WHERE id = ?`),
    head: db.prepare<[], { position: number; hash: string }>(
      'SELECT position, hash FROM audit_chain_head WHERE singleton = 1',
    ),
    lastSeq: db.prepare<[string], { seq: number | null }>(
      'SELECT MAX(seq) AS seq FROM audit_events WHERE elevation_id = ?',
    ),
    lastUnattachedSeq: db.prepare<[], { seq: number | null }>(
      'SELECT MAX(seq) AS seq FROM audit_events WHERE elevation_id IS NULL',
    ),
    insertEvent: db.prepare<EventRowValues>(
      `INSERT INTO audit_events (${EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    moveHead: db.prepare<[number, string]>(
      'UPDATE audit_chain_head SET position = ?, hash = ? WHERE singleton = 1',
    ),
    upsertElevation: db.prepare<
      [
        string,
        string,
        string,
        string,
        string,
        string,
        number,
        string,
        string | null,
        string,
        string | null,
        string,
      ]
    >(
      `INSERT INTO elevations (id, bot_id, role_id, status, requested_at, view, updated_position,
         owner, team, environment, target_type, risk)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET
         bot_id = excluded.bot_id, role_id = excluded.role_id, status = excluded.status,
         requested_at = excluded.requested_at, view = excluded.view,
         updated_position = excluded.updated_position,
         owner = excluded.owner, environment = excluded.environment, risk = excluded.risk,
         team = COALESCE(excluded.team, elevations.team),
         target_type = COALESCE(excluded.target_type, elevations.target_type)`,
    ),
    // Compare-and-swap on the MAC read (and checked) just before: a row swapped meanwhile stays as it is.
    replaceEphemeral: db.prepare<[string, number, string | null, string, number, string | null]>(
      'UPDATE ephemeral SET value = ?, expires_at = ?, mac = ? WHERE key = ? AND expires_at > ? AND mac IS ?',
    ),
    eventsOf: db.prepare<[string], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE elevation_id = ? ORDER BY seq`,
    ),
    eventsPage: db.prepare<[number, number], EventRow>(
      `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE position > ? ORDER BY position LIMIT ?`,
    ),
    // Rows as arrays (in EVENT_COLUMNS order): verification reads every event, and building an
    // object per row is a good part of its cost.
    eventsPageRaw: db
      .prepare<[number, number], unknown[]>(
        `SELECT ${EVENT_COLUMNS} FROM audit_events WHERE position > ? ORDER BY position LIMIT ?`,
      )
      .raw(true),
    elevation: db.prepare<[string], { view: string }>('SELECT view FROM elevations WHERE id = ?'),
    // Read from the elevations_status index alone (it covers status), never the table.
    statusCounts: db.prepare<[], { status: string; n: number }>(
      'SELECT status, COUNT(*) AS n FROM elevations GROUP BY status',
    ),
    holdLease: db.prepare<[string, string, string, string, string]>(
      `INSERT INTO leases (elevation_id, key, target, principal, state, acquired_at)
       VALUES (?, ?, ?, ?, 'held', ?)
       ON CONFLICT (elevation_id) DO NOTHING`,
    ),
    releaseLease: db.prepare<[string, string, string, string, string]>(
      `INSERT INTO leases (elevation_id, key, target, principal, state, released_at)
       VALUES (?, ?, ?, ?, 'released', ?)
       ON CONFLICT (elevation_id) DO UPDATE SET
         state = 'released', released_at = COALESCE(leases.released_at, excluded.released_at)`,
    ),
    lease: db.prepare<[string], LeaseRow>(
      `SELECT elevation_id, key, target, principal, state, acquired_at, released_at
       FROM leases WHERE elevation_id = ?`,
    ),
    holders: db.prepare<[string], { elevation_id: string }>(
      `SELECT elevation_id FROM leases WHERE key = ? AND state = 'held'
       ORDER BY acquired_at, elevation_id`,
    ),
    // One conditional upsert: it inserts a free key or takes over an expired row, and
    // changes nothing (0 rows) while a live holder keeps it. No read-then-write race.
    takeLock: db.prepare<[string, string, number, number]>(
      `INSERT INTO ledger_locks (key, owner, expires_at) VALUES (?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at
       WHERE ledger_locks.expires_at < ?`,
    ),
    renewLock: db.prepare<[number, string, string]>(
      'UPDATE ledger_locks SET expires_at = ? WHERE key = ? AND owner = ?',
    ),
    dropLock: db.prepare<[string, string]>('DELETE FROM ledger_locks WHERE key = ? AND owner = ?'),
    // Like takeLock: inserts a free key or replaces an expired record, and changes nothing
    // (0 rows) while a live one is there.
    putEphemeral: db.prepare<[string, string, number, string | null, number]>(
      `INSERT INTO ephemeral (key, value, expires_at, mac) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires_at = excluded.expires_at,
         mac = excluded.mac
       WHERE ephemeral.expires_at <= ?`,
    ),
    peekEphemeral: db.prepare<[string, number], EphemeralRow>(
      'SELECT value, expires_at, mac FROM ephemeral WHERE key = ? AND expires_at > ?',
    ),
    // One statement under SQLite's write lock: of two takes, across processes, one deletes the row.
    takeEphemeral: db.prepare<[string, number], EphemeralRow>(
      'DELETE FROM ephemeral WHERE key = ? AND expires_at > ? RETURNING value, expires_at, mac',
    ),
    purgeEphemeral: db.prepare<[number]>('DELETE FROM ephemeral WHERE expires_at <= ?'),
    purgeEphemeralBatch: db.prepare<[number, number, number]>(
      `DELETE FROM ephemeral WHERE key IN (SELECT key FROM ephemeral WHERE expires_at <= ? LIMIT ?)
       AND expires_at <= ?`,
    ),
    // Inserts a new cursor or takes the lease of a lapsed one (or renews the caller's own); no
    // row comes back while another owner's lease runs.
    claimCursor: db.prepare<[string, string, number, number, number], { state: string | null }>(
      `INSERT INTO stream_cursors (name, state, owner, lease_until, updated_at) VALUES (?, NULL, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, lease_until = excluded.lease_until
       WHERE stream_cursors.owner = excluded.owner OR stream_cursors.lease_until < ?
       RETURNING state`,
    ),
    renewCursor: db.prepare<[number, string, string]>(
      'UPDATE stream_cursors SET lease_until = ? WHERE name = ? AND owner = ?',
    ),
    saveCursor: db.prepare<[string, number, number, string, string]>(
      'UPDATE stream_cursors SET state = ?, lease_until = ?, updated_at = ? WHERE name = ? AND owner = ?',
    ),
    releaseCursor: db.prepare<[string, string]>(
      'UPDATE stream_cursors SET lease_until = 0 WHERE name = ? AND owner = ?',
    ),
    readCursor: db.prepare<
      [string],
      { state: string | null; owner: string; lease_until: number; updated_at: number }
    >('SELECT state, owner, lease_until, updated_at FROM stream_cursors WHERE name = ?'),
  };
}

/**
 * {@link Store} on a SQLite file (better-sqlite3). Safe to open the same file from several
 * processes: appends serialise on SQLite's write lock and `withLock` on lock rows.
 */
/** An `audit_events` row as `raw()` returns it, in {@link EVENT_COLUMNS} order. */
type RawEventRow = [
  position: number,
  id: string,
  elevationId: string | null,
  seq: number,
  type: string,
  at: string,
  actorKind: string,
  actorId: string,
  data: string,
  prevHash: string,
  hash: string,
];

/** An `ephemeral` row as read back. */
interface EphemeralRow {
  value: string;
  expires_at: number;
  mac: string | null;
}

function rawToRow(r: RawEventRow): EventRow {
  const [position, id, elevation_id, seq, type, at, actor_kind, actor_id, data, prev_hash, hash] = r;
  return { position, id, elevation_id, seq, type, at, actor_kind, actor_id, data, prev_hash, hash };
}

export class SqliteStore implements Store {
  private readonly statements: ReturnType<typeof prepareStatements>;
  private readonly mutex = new KeyedMutex();
  private readonly appendInTransaction: Database.Transaction<(event: NewAuditEvent) => AuditEvent>;
  /** When `putIfAbsent` next purges expired records on its own (epoch ms). */
  private nextPurgeAt = 0;
  private readonly checkpoints: SqliteCheckpoints;
  /**
   * The newest checkpoint this instance has seen written. Should the table later hold only older
   * ones, checkpoints were deleted: the next one names this one as its predecessor, so verify
   * reports the hole instead of the new checkpoint papering over it.
   */
  private lastCheckpointSeen: { position: number; at: string } | undefined;
  /** A checkpoint written by the append transaction running now, remembered once it commits. */
  private pendingCheckpoint: SignedCheckpoint | undefined;

  private constructor(
    private readonly db: Database.Database,
    private readonly lockTtlMs: number,
    private readonly lockWaitMs: number,
    private readonly integrity: StoreIntegrity | undefined,
  ) {
    this.statements = prepareStatements(db);
    this.checkpoints = new SqliteCheckpoints(db);
    this.appendInTransaction = db.transaction((event: NewAuditEvent) => this.appendNow(event));
  }

  /**
   * Opens (creating if needed) the store at `path`, bringing its schema up to date.
   * `':memory:'` gives a private in-memory store, useful in tests.
   *
   * @throws {@link StoreUnavailableError} when the file cannot be opened
   * @throws {@link SchemaTooNewError} when a newer Elevate migrated the file
   */
  static open(path: string, opts: SqliteStoreOptions = {}): SqliteStore {
    let db: Database.Database;
    try {
      if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
      db = new Database(path);
    } catch (error) {
      const message = `cannot open the SQLite audit store at ${path}: ${messageOf(error)}`;
      throw new StoreUnavailableError(message, { cause: error });
    }
    try {
      // busy_timeout first, so switching to WAL waits for other processes instead of failing.
      db.pragma(`busy_timeout = ${Math.ceil(opts.busyTimeoutMs ?? 10_000)}`);
      db.pragma('journal_mode = WAL');
      db.pragma('foreign_keys = ON');
      migrate(db, (from) => {
        // Bot state the previous version wrote gets its MAC once, by the process that upgrades.
        if (from < CHECKPOINT_VERSION) new SqliteBotStates(db, opts.integrity).sealUnsealed();
      });
      return new SqliteStore(
        db,
        opts.lockTtlMs ?? DEFAULT_LOCK_TTL_MS,
        opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS,
        opts.integrity,
      );
    } catch (error) {
      db.close();
      if (error instanceof SchemaTooNewError) throw error;
      const message = `cannot prepare the SQLite audit store at ${path}: ${messageOf(error)}`;
      throw new StoreUnavailableError(message, { cause: error });
    }
  }

  append(event: NewAuditEvent): Promise<AuditEvent> {
    return settle(() => {
      checkNewEvent(event);
      this.pendingCheckpoint = undefined;
      const stored = this.appendInTransaction.immediate(event);
      if (this.pendingCheckpoint) this.lastCheckpointSeen = this.pendingCheckpoint;
      return stored;
    });
  }

  /**
   * Inside the append transaction: sign and store a checkpoint at the event just appended when
   * one is due. A segment with rows missing (the chain is already broken) gets none; verify
   * reports the break.
   */
  private checkpointIfDue(stored: AuditEvent): void {
    const policy = this.integrity?.checkpoints;
    if (!policy?.signingKey) return;
    const inTable = this.checkpoints.last();
    const seen = this.lastCheckpointSeen;
    const last = seen && seen.position > (inTable?.position ?? 0) ? seen : inTable;
    const now = new Date();
    if (!checkpointDue(policy, stored.position, last, now)) return;
    const prev = last?.position ?? 0;
    const first = segmentStart(prev, stored.position);
    const hashes = [...this.checkpoints.eventHashes(first, stored.position - 1), stored.hash];
    if (hashes.length !== stored.position - first + 1) return;
    const checkpoint = signCheckpoint(policy.signingKey, {
      position: stored.position,
      prev,
      first,
      hashes,
      at: now,
    });
    this.checkpoints.insert(checkpoint, hashes);
    this.pendingCheckpoint = checkpoint;
  }

  latestCheckpoint(): Promise<SignedCheckpoint | undefined> {
    return settle(() => this.checkpoints.last());
  }

  /** Body of the append transaction: runs with SQLite's write lock held. */
  private appendNow(event: NewAuditEvent): AuditEvent {
    const s = this.statements;
    const existing = s.eventById.get(event.id);
    if (existing) return rowToEvent(existing);

    const head = s.head.get();
    if (!head) throw new Error('audit_chain_head row is missing: the audit store schema was damaged');
    const last = event.elevationId === null ? s.lastUnattachedSeq.get() : s.lastSeq.get(event.elevationId);
    const dataText = canonicalJson(event.data);
    const unhashed: Omit<AuditEvent, 'hash'> = {
      id: event.id,
      elevationId: event.elevationId,
      seq: (last?.seq ?? 0) + 1,
      type: event.type,
      at: event.at,
      actor: { kind: event.actor.kind, id: event.actor.id },
      // Exactly what a reader will parse back, so the returned event equals the stored one.
      data: JSON.parse(dataText) as Record<string, unknown>,
      position: head.position + 1,
      prevHash: head.hash,
    };
    const stored: AuditEvent = { ...unhashed, hash: hashEvent(unhashed) };
    s.insertEvent.run(...eventRowValues(stored, dataText));
    s.moveHead.run(stored.position, stored.hash);
    if (event.elevation) this.upsertElevation(event, event.elevation, stored.position);
    this.checkpointIfDue(stored);
    return stored;
  }

  private upsertElevation(event: NewAuditEvent, view: ElevationView, position: number): void {
    const c = summaryColumns(event, view);
    this.statements.upsertElevation.run(
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
    );
  }

  listEvents(elevationId: string): Promise<AuditEvent[]> {
    return settle(() => this.statements.eventsOf.all(elevationId).map(rowToEvent));
  }

  readEvents(afterPosition: number, limit: number): Promise<AuditEvent[]> {
    return settle(() => this.statements.eventsPage.all(afterPosition, limit).map(rowToEvent));
  }

  getElevation(id: string): Promise<ElevationView | undefined> {
    return settle(() => {
      const row = this.statements.elevation.get(id);
      return row ? parseView(row.view) : undefined;
    });
  }

  /**
   * Lists elevation summaries, newest first (requestedAt, then id, descending).
   * @throws {@link InvalidCursorError} when `query.cursor` is not one this store issued
   */
  listElevations(query: ElevationQuery): Promise<ElevationPage> {
    return settle(() => {
      const { sql, params } = elevationListQuery(query, () => '?');
      const rows = this.db.prepare<unknown[], ElevationRow>(sql).all(...params);
      return toElevationPage(rows, query.limit);
    });
  }

  countByStatus(): Promise<Record<ElevationStatus, number>> {
    return settle(() => {
      const counts = Object.fromEntries(ELEVATION_STATUSES.map((status) => [status, 0])) as Record<
        ElevationStatus,
        number
      >;
      for (const row of this.statements.statusCounts.all()) {
        if (row.status in counts) counts[row.status as ElevationStatus] = Number(row.n);
      }
      return counts;
    });
  }

  async verify(options: { anchors?: ChainAnchor[] } = {}): Promise<VerifyResult> {
    // The head record is read first: events up to it must all be there, whatever is appended meanwhile.
    const head = this.db
      .prepare<[], ChainAnchor>('SELECT position, hash FROM audit_chain_head WHERE singleton = 1')
      .get();
    // Read after the head, so appends meanwhile cannot make a checkpoint look overdue.
    const checkpoints = this.checkpoints.list();
    const review = reviewCheckpoints(checkpoints, this.integrity?.checkpoints, Number(head?.position ?? 0));
    const verifier = new ChainVerifier([
      ...(options.anchors ?? []),
      ...review.anchors,
      ...(head ? [{ position: Number(head.position), hash: head.hash }] : []),
    ]);
    const finish = (): Promise<VerifyResult> =>
      finishVerify(verifier.result(), checkpoints, review, this.checkpoints);
    let after = 0;
    for (;;) {
      const rows = this.statements.eventsPageRaw.all(after, VERIFY_PAGE_SIZE) as RawEventRow[];
      for (const r of rows) {
        const stored = {
          position: r[0],
          id: r[1],
          elevationId: r[2],
          seq: r[3],
          type: r[4],
          at: r[5],
          actorKind: r[6],
          actorId: r[7],
          dataText: r[8],
          prevHash: r[9],
          hash: r[10],
        };
        if (!verifier.nextStored(stored, () => rowToEventForVerify(rawToRow(r)))) return finish();
      }
      const last = rows[rows.length - 1];
      if (!last || rows.length < VERIFY_PAGE_SIZE) return finish();
      after = last[0];
      // better-sqlite3 is synchronous: let the server breathe between pages of a long chain.
      await yieldToEventLoop();
    }
  }

  ping(): Promise<void> {
    return settle(() => {
      this.db.prepare('SELECT 1').get();
    });
  }

  /** Closes the database file. Locks still held by this instance expire by their TTL. */
  close(): Promise<void> {
    return settle(() => {
      this.db.close();
    });
  }

  /**
   * Runs `fn` holding the exclusive lock on `key`, released when `fn` settles.
   * Callers in this process queue in memory; across processes the lock is a row in
   * `ledger_locks`, polled with jittered sleeps and renewed while `fn` runs. Not reentrant.
   *
   * @throws {@link LockTimeoutError} when another process keeps the lock past `lockWaitMs`
   */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(key, async () => {
      const owner = randomUUID();
      await this.takeLockRow(key, owner);
      const renewal = setInterval(() => this.renewLockRow(key, owner), Math.max(this.lockTtlMs / 3, 5));
      renewal.unref();
      try {
        return await fn();
      } finally {
        clearInterval(renewal);
        this.dropLockRow(key, owner);
      }
    });
  }

  private async takeLockRow(key: string, owner: string): Promise<void> {
    const started = Date.now();
    for (let attempt = 0; ; attempt += 1) {
      const now = Date.now();
      if (this.statements.takeLock.run(key, owner, now + this.lockTtlMs, now).changes === 1) return;
      const waited = now - started;
      if (waited >= this.lockWaitMs) throw new LockTimeoutError(key, this.lockWaitMs);
      // Jittered, growing sleeps: waiters in different processes do not poll in lockstep.
      const base = Math.min(5 * 2 ** attempt, 100);
      await sleep(Math.min(base * (0.5 + Math.random()), this.lockWaitMs - waited));
    }
  }

  private renewLockRow(key: string, owner: string): void {
    try {
      this.statements.renewLock.run(Date.now() + this.lockTtlMs, key, owner);
    } catch {
      // A missed renewal is retried on the next tick; the row only lapses after a full TTL.
    }
  }

  private dropLockRow(key: string, owner: string): void {
    try {
      // Only our own row: if it expired and another process took it over, it is theirs now.
      this.statements.dropLock.run(key, owner);
    } catch {
      // The caller's work is done and must not be reported as failed; the row expires by TTL.
    }
  }

  hold(lease: LeaseInput, at: string): Promise<'held' | 'released'> {
    return settle(() => {
      const s = this.statements;
      s.holdLease.run(lease.elevationId, lease.key, JSON.stringify(lease.target), lease.principal, at);
      const row = s.lease.get(lease.elevationId);
      if (!row) throw new Error(`lease ${lease.elevationId} vanished while being held`);
      return row.state === 'released' ? 'released' : 'held';
    });
  }

  release(lease: LeaseInput, at: string): Promise<void> {
    return settle(() => {
      this.statements.releaseLease.run(
        lease.elevationId,
        lease.key,
        JSON.stringify(lease.target),
        lease.principal,
        at,
      );
    });
  }

  holders(key: string): Promise<string[]> {
    return settle(() => this.statements.holders.all(key).map((row) => row.elevation_id));
  }

  getLease(elevationId: string): Promise<Lease | undefined> {
    return settle(() => {
      const row = this.statements.lease.get(elevationId);
      return row ? rowToLease(row) : undefined;
    });
  }

  heldLeases(page: { after?: string; limit: number }): Promise<HeldLease[]> {
    return settle(() => {
      const { sql, params } = heldLeasesQuery(page, () => '?');
      return this.db
        .prepare<unknown[], Omit<LeaseRow, 'state' | 'released_at'>>(sql)
        .all(...params)
        .map(rowToHeldLease);
    });
  }

  /**
   * Stores `value` under `key` until `expiresAt` unless a live record is there; an expired
   * one is replaced. One conditional upsert, so two processes racing for a key cannot both win.
   *
   * @throws {@link InvalidEphemeralError} when the record cannot be stored
   */
  putIfAbsent(key: string, value: unknown, expiresAt: Date): Promise<boolean> {
    return settle(() => {
      const text = ephemeralText(key, value, expiresAt);
      const now = Date.now();
      const mac = ephemeralMacFor(this.integrity, key, text, expiresAt.getTime());
      const stored = this.statements.putEphemeral.run(key, text, expiresAt.getTime(), mac, now).changes === 1;
      if (now >= this.nextPurgeAt) {
        this.nextPurgeAt = now + EPHEMERAL_PURGE_INTERVAL_MS;
        try {
          this.statements.purgeEphemeralBatch.run(now, EPHEMERAL_PURGE_BATCH, now);
        } catch {
          // Housekeeping only: the record is stored, and expired rows are invisible anyway.
        }
      }
      return stored;
    });
  }

  peek(key: string): Promise<unknown> {
    return settle(() =>
      isStorableKey(key) ? this.checked(key, this.statements.peekEphemeral.get(key, Date.now())) : undefined,
    );
  }

  /** A forged row is deleted by the take like any other, and given to nobody. */
  take(key: string): Promise<unknown> {
    return settle(() =>
      isStorableKey(key) ? this.checked(key, this.statements.takeEphemeral.get(key, Date.now())) : undefined,
    );
  }

  /**
   * One conditional update: a record taken, deleted or expired meanwhile stays gone, and one
   * whose MAC does not check is not given a good one.
   */
  replace(key: string, value: unknown, expiresAt: Date): Promise<boolean> {
    return settle(() => {
      const text = ephemeralText(key, value, expiresAt);
      const now = Date.now();
      const current = isStorableKey(key) ? this.statements.peekEphemeral.get(key, now) : undefined;
      if (!current || this.checked(key, current) === undefined) return false;
      const mac = ephemeralMacFor(this.integrity, key, text, expiresAt.getTime());
      return (
        this.statements.replaceEphemeral.run(text, expiresAt.getTime(), mac, key, now, current.mac)
          .changes === 1
      );
    });
  }

  private checked(key: string, row: EphemeralRow | undefined): unknown {
    return checkedEphemeral(
      this.integrity,
      key,
      row ? { value: row.value, expiresAtMs: Number(row.expires_at), mac: row.mac } : undefined,
    );
  }

  purgeExpired(now: Date = new Date()): Promise<number> {
    return settle(() => this.statements.purgeEphemeral.run(now.getTime()).changes);
  }

  claimCursor(name: string, owner: string, ttlMs: number): Promise<{ state: unknown } | undefined> {
    return settle(() => {
      const now = Date.now();
      const row = this.statements.claimCursor.get(name, owner, now + ttlMs, now, now);
      return row ? { state: row.state === null ? null : (JSON.parse(row.state) as unknown) } : undefined;
    });
  }

  renewCursor(name: string, owner: string, ttlMs: number): Promise<boolean> {
    return settle(() => this.statements.renewCursor.run(Date.now() + ttlMs, name, owner).changes === 1);
  }

  saveCursor(name: string, owner: string, ttlMs: number, state: unknown): Promise<boolean> {
    return settle(() => {
      const text = cursorStateText(state);
      const now = Date.now();
      return this.statements.saveCursor.run(text, now + ttlMs, now, name, owner).changes === 1;
    });
  }

  releaseCursor(name: string, owner: string): Promise<void> {
    return settle(() => {
      this.statements.releaseCursor.run(name, owner);
    });
  }

  readCursor(name: string): Promise<StreamCursor | undefined> {
    return settle(() => {
      const row = this.statements.readCursor.get(name);
      return row
        ? {
            state: row.state === null ? null : (JSON.parse(row.state) as unknown),
            owner: row.owner,
            leaseUntil: new Date(row.lease_until),
            updatedAt: new Date(row.updated_at),
          }
        : undefined;
    });
  }

  /** The bot state statements, prepared on first use. */
  private get botStates(): SqliteBotStates {
    return (this.preparedBotStates ??= new SqliteBotStates(this.db, this.integrity));
  }
  private preparedBotStates: SqliteBotStates | undefined;

  getBotState(botId: string): Promise<BotState | undefined> {
    return settle(() => this.botStates.get(botId));
  }

  findBotStateByKeyHash(keyHash: string): Promise<BotState | undefined> {
    return settle(() => this.botStates.findByKeyHash(keyHash));
  }

  listBotStates(): Promise<BotState[]> {
    return settle(() => this.botStates.list());
  }

  updateBotState(
    botId: string,
    change: BotStateChange,
    at: string,
  ): Promise<{ before: BotState | undefined; after: BotState }> {
    return settle(() => this.botStates.apply(botId, change, at));
  }

  openElevationCounts(botId?: string): Promise<Record<string, Partial<Record<ElevationStatus, number>>>> {
    return settle(() => this.botStates.openCounts(botId));
  }
}

/** The JSON text of a cursor's state; refuses what JSON cannot represent. */
function cursorStateText(state: unknown): string {
  const text = JSON.stringify(state);
  if (text === undefined) throw new TypeError('a cursor state must be JSON-serialisable');
  return text;
}

/**
 * Applies pending migrations under the write lock, so concurrent first starts do it once;
 * `after(from)` runs in the same transaction when some were applied (`from`: the version before).
 */
function migrate(db: Database.Database, after: (from: number) => void): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) throw new SchemaTooNewError(version, MIGRATIONS.length);
    for (const migration of MIGRATIONS.slice(version)) db.exec(migration);
    db.pragma(`user_version = ${MIGRATIONS.length}`);
    if (version < MIGRATIONS.length) after(version);
  }).immediate();
}

/** Runs synchronous database work as a promise, turning a throw into a rejection. */
function settle<T>(work: () => T): Promise<T> {
  return new Promise<T>((resolve) => resolve(work()));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
