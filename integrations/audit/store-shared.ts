/**
 * What the SQLite and PostgreSQL engines share: row shapes and their mapping, the listing
 * cursor, query validation, the in-process lock queue and the checks of short-lived records.
 * Both engines use the same table and column names, so the SQL that differs between them is
 * only what the dialects force.
 */
import { riskOf, type Risk } from '../../core/rules/risk.js';
import type { ElevationView } from '../../core/model/elevation.js';
import type { TargetRef } from '../../core/model/targets.js';
import type { AuditEvent, ElevationQuery, HeldLease, Lease, NewAuditEvent } from './audit-store.js';
import type { StoredEventText } from './hash-chain.js';
import {
  InvalidCursorError,
  InvalidEphemeralError,
  InvalidEventError,
  InvalidQueryError,
} from './audit-store-errors.js';

/** Rows read per page while verifying, so memory stays bounded however long the chain. */
export const VERIFY_PAGE_SIZE = 5_000;
/** How long `withLock` waits for a lock held by someone else before it gives up. */
export const DEFAULT_LOCK_WAIT_MS = 30_000;
/** How long a SQLite lock row outlives its holder's last renewal (crashed processes). */
export const DEFAULT_LOCK_TTL_MS = 60_000;

/** The `audit_events` columns, in the order {@link EventRow} lists them. */
export const EVENT_COLUMNS =
  'position, id, elevation_id, seq, type, at, actor_kind, actor_id, data, prev_hash, hash';

/** An `audit_events` row as either driver returns it (pg returns BIGINT as a string). */
export interface EventRow {
  position: number | string;
  id: string;
  elevation_id: string | null;
  seq: number | string;
  type: string;
  at: string;
  actor_kind: string;
  actor_id: string;
  data: string;
  prev_hash: string;
  hash: string;
}

/** A `leases` row; `target` is JSON text (SQLite) or an already parsed object (PostgreSQL). */
export interface LeaseRow {
  elevation_id: string;
  key: string;
  target: unknown;
  principal: string;
  state: string;
  acquired_at: string | null;
  released_at: string | null;
}

/** An `elevations` row as read for listing. */
export interface ElevationRow {
  id: string;
  requested_at: string;
  view: unknown;
}

/** Maps a stored event row back to the event it records. */
export function rowToEvent(row: EventRow): AuditEvent {
  return {
    id: row.id,
    elevationId: row.elevation_id,
    seq: Number(row.seq),
    type: row.type as AuditEvent['type'],
    at: row.at,
    actor: { kind: row.actor_kind as AuditEvent['actor']['kind'], id: row.actor_id },
    data: JSON.parse(row.data) as Record<string, unknown>,
    position: Number(row.position),
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/**
 * Like {@link rowToEvent}, for verification: a row whose `data` is no longer JSON at all
 * was tampered with, and must be reported as a broken link rather than abort the walk. The
 * placeholder data cannot hash to the stored hash, so the verifier reports `hash_mismatch`.
 */
export function rowToEventForVerify(row: EventRow): AuditEvent {
  try {
    return rowToEvent(row);
  } catch {
    return { ...rowToEvent({ ...row, data: '{}' }), data: { '#unparseable': row.data } };
  }
}

/** A row as {@link ChainVerifier.nextStored} takes it: the data left as stored text. */
export function storedTextOf(row: EventRow): StoredEventText {
  return {
    position: Number(row.position),
    id: row.id,
    elevationId: row.elevation_id,
    seq: Number(row.seq),
    type: row.type,
    at: row.at,
    actorKind: row.actor_kind,
    actorId: row.actor_id,
    dataText: row.data,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

/** Maps a lease row to a lease, leaving out instants that were never set. */
export function rowToLease(row: LeaseRow): Lease {
  const target = (typeof row.target === 'string' ? JSON.parse(row.target) : row.target) as TargetRef;
  return {
    elevationId: row.elevation_id,
    key: row.key,
    target,
    principal: row.principal,
    state: row.state as Lease['state'],
    ...(row.acquired_at !== null ? { acquiredAt: row.acquired_at } : {}),
    ...(row.released_at !== null ? { releasedAt: row.released_at } : {}),
  };
}

/** The most held leases one `heldLeases` page may ask for. */
export const HELD_LEASES_MAX_PAGE = 1_000;

/**
 * The held-leases query for both dialects (`placeholder(n)` renders the n-th parameter): one
 * page, in elevation id order, read from the partial index `leases_held` (held leases only).
 *
 * @throws {@link InvalidQueryError} when `limit` is not a whole number from 1 to {@link HELD_LEASES_MAX_PAGE}
 */
export function heldLeasesQuery(
  page: { after?: string; limit: number },
  placeholder: (n: number) => string,
): { sql: string; params: unknown[] } {
  if (!Number.isSafeInteger(page.limit) || page.limit < 1 || page.limit > HELD_LEASES_MAX_PAGE) {
    throw new InvalidQueryError('limit', `limit must be a whole number from 1 to ${HELD_LEASES_MAX_PAGE}`);
  }
  const after = page.after !== undefined;
  return {
    sql:
      `SELECT elevation_id, key, target, principal, acquired_at FROM leases WHERE state = 'held'` +
      (after ? ` AND elevation_id > ${placeholder(1)}` : '') +
      ` ORDER BY elevation_id LIMIT ${placeholder(after ? 2 : 1)}`,
    params: after ? [page.after, page.limit] : [page.limit],
  };
}

/** Maps a row of {@link heldLeasesQuery} to the held lease it records. */
export function rowToHeldLease(row: Omit<LeaseRow, 'state' | 'released_at'>): HeldLease {
  return {
    elevationId: row.elevation_id,
    key: row.key,
    target: (typeof row.target === 'string' ? JSON.parse(row.target) : row.target) as TargetRef,
    principal: row.principal,
    // Always set on a held row (hold writes it); '' only for a row written by hand.
    acquiredAt: row.acquired_at ?? '',
  };
}

/** Parses a stored elevation view (JSON text in SQLite, jsonb in PostgreSQL). */
export function parseView(view: unknown): ElevationView {
  return (typeof view === 'string' ? JSON.parse(view) : view) as ElevationView;
}

/** Refuses events whose parts disagree, before anything is written. */
export function checkNewEvent(event: NewAuditEvent): void {
  if (event.elevation && event.elevation.id !== event.elevationId) {
    throw new InvalidEventError(
      `event ${event.id}: elevation.id "${event.elevation.id}" differs from elevationId "${String(event.elevationId)}"`,
    );
  }
}

/** The position a listing resumes after: the last row of the previous page. */
interface CursorPosition {
  requestedAt: string;
  id: string;
}

/** Encodes the last row of a page as an opaque cursor (base64url of JSON). */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.requestedAt, position.id]), 'utf8').toString('base64url');
}

/** Decodes a cursor made by {@link encodeCursor}; anything else is an {@link InvalidCursorError}. */
export function decodeCursor(cursor: string): CursorPosition {
  // Buffer's base64url decoder skips characters it does not know, so check the alphabet first.
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidCursorError();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'string' ||
    typeof parsed[1] !== 'string'
  ) {
    throw new InvalidCursorError();
  }
  const position = { requestedAt: parsed[0], id: parsed[1] };
  // Only cursors this store issued are accepted: re-encoding must give the same text back.
  if (encodeCursor(position) !== cursor) throw new InvalidCursorError();
  return position;
}

/**
 * Builds the listing query for both dialects; `placeholder(n)` renders the n-th (1-based)
 * parameter (`?` for SQLite, `$n` for PostgreSQL). Fetches one row more than asked so the
 * caller knows whether another page follows.
 */
export function elevationListQuery(
  query: ElevationQuery,
  placeholder: (n: number) => string,
): { sql: string; params: unknown[] } {
  if (!Number.isSafeInteger(query.limit) || query.limit < 1) {
    throw new InvalidQueryError('limit', 'limit must be a whole number of at least 1');
  }
  const params: unknown[] = [];
  const param = (value: unknown): string => {
    params.push(value);
    return placeholder(params.length);
  };
  const where: string[] = [];
  if (query.botId !== undefined) where.push(`bot_id = ${param(query.botId)}`);
  if (query.roleId !== undefined) where.push(`role_id = ${param(query.roleId)}`);
  if (query.owner !== undefined) where.push(`owner = ${param(query.owner)}`);
  if (query.team !== undefined) where.push(`team = ${param(query.team)}`);
  if (query.environment !== undefined) where.push(`environment = ${param(query.environment)}`);
  if (query.targetType !== undefined) where.push(`target_type = ${param(query.targetType)}`);
  if (query.risk !== undefined) where.push(`risk = ${param(query.risk)}`);
  // An empty status list means "no status filter", as an empty query-string list would.
  if (query.status !== undefined && query.status.length > 0) {
    where.push(`status IN (${query.status.map((s) => param(s)).join(', ')})`);
  }
  if (query.from !== undefined) where.push(`requested_at >= ${param(query.from)}`);
  if (query.to !== undefined) where.push(`requested_at < ${param(query.to)}`);
  if (query.cursor !== undefined) {
    const after = decodeCursor(query.cursor);
    where.push(`(requested_at, id) < (${param(after.requestedAt)}, ${param(after.id)})`);
  }
  const sql =
    'SELECT id, requested_at, view FROM elevations' +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY requested_at DESC, id DESC LIMIT ${param(query.limit + 1)}`;
  return { sql, params };
}

/**
 * The filter columns of an elevation's summary row besides the view's own ids: owner,
 * environment and risk come from the view; team and target type only from the
 * `elevation.requested` event, which carries the bot and role as recorded (other events leave
 * them as they are: null here, kept by the upsert).
 */
export interface SummaryColumns {
  owner: string;
  team: string | null;
  environment: string;
  targetType: string | null;
  risk: Risk;
}

/** The {@link SummaryColumns} an event sets on its elevation's summary row. */
export function summaryColumns(event: NewAuditEvent, view: ElevationView): SummaryColumns {
  let team: string | null = null;
  let targetType: string | null = null;
  if (event.type === 'elevation.requested') {
    const bot = event.data.bot as { team?: unknown } | null | undefined;
    const role = event.data.role as { target?: { type?: unknown } } | null | undefined;
    if (typeof bot?.team === 'string') team = bot.team;
    if (typeof role?.target?.type === 'string') targetType = role.target.type;
  }
  return { owner: view.owner, team, environment: view.environment, targetType, risk: riskOf(view) };
}

/** Turns the rows of {@link elevationListQuery} into a page. */
export function toElevationPage(
  rows: ElevationRow[],
  limit: number,
): { items: ElevationView[]; nextCursor?: string } {
  const items = rows.slice(0, limit);
  const last = items[items.length - 1];
  return {
    items: items.map((row) => parseView(row.view)),
    ...(rows.length > limit && last
      ? { nextCursor: encodeCursor({ requestedAt: last.requested_at, id: last.id }) }
      : {}),
  };
}

/**
 * Runs async functions one at a time per key, in arrival order. Waiting in process first
 * means a process sends at most one waiter per key to the database lock, which keeps
 * connections (PostgreSQL) and polling (SQLite) proportional to keys, not callers.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier caller with the same key has settled. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    // Tails only ever resolve, so a failed holder never poisons the queue behind it.
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      done();
      // Forget idle keys so the map does not grow with every key ever locked.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a holder or waiters (for tests and diagnostics). */
  get activeKeys(): number {
    return this.tails.size;
  }
}

/** Waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One `audit_events` row's values, in {@link EVENT_COLUMNS} order. */
export type EventRowValues = [
  number,
  string,
  string | null,
  number,
  string,
  string,
  string,
  string,
  string,
  string,
  string,
];

/** The values of one `audit_events` row, in {@link EVENT_COLUMNS} order. */
export function eventRowValues(stored: AuditEvent, dataText: string): EventRowValues {
  return [
    stored.position,
    stored.id,
    stored.elevationId,
    stored.seq,
    stored.type,
    stored.at,
    stored.actor.kind,
    stored.actor.id,
    dataText,
    stored.prevHash,
    stored.hash,
  ];
}

/** Longest key `putIfAbsent` accepts, in characters. */
export const EPHEMERAL_MAX_KEY_LENGTH = 512;
/** Largest value `putIfAbsent` accepts: the UTF-8 bytes of its JSON text (64 KiB). */
export const EPHEMERAL_MAX_VALUE_BYTES = 64 * 1024;
/**
 * How often, at most, one store instance purges expired records on its own from
 * `putIfAbsent`. Expired rows are invisible anyway; the purge only keeps the table small.
 */
export const EPHEMERAL_PURGE_INTERVAL_MS = 60_000;
/** Rows one opportunistic purge deletes at most, so a `putIfAbsent` never waits on a big delete. */
export const EPHEMERAL_PURGE_BATCH = 500;

/**
 * Whether `key` can name a stored record. Keys that cannot (empty, too long, or holding NUL,
 * which PostgreSQL text refuses) are simply absent for `peek` and `take`: those often come
 * straight from a request, and an impossible key is not the server's error.
 */
export function isStorableKey(key: string): boolean {
  return key.length > 0 && key.length <= EPHEMERAL_MAX_KEY_LENGTH && !key.includes('\0');
}

/**
 * Checks a record handed to `putIfAbsent` and returns the JSON text to store.
 *
 * @throws {@link InvalidEphemeralError} naming the argument at fault; nothing is written. The
 *   message never echoes the key, which may be a secret (a personal approval link's token).
 */
export function ephemeralText(key: string, value: unknown, expiresAt: Date): string {
  if (!isStorableKey(key)) {
    throw new InvalidEphemeralError(
      'key',
      `key must be 1 to ${EPHEMERAL_MAX_KEY_LENGTH} characters without NUL (got ${key.length})`,
    );
  }
  if (!(expiresAt instanceof Date) || Number.isNaN(expiresAt.getTime())) {
    throw new InvalidEphemeralError('expiresAt', 'expiresAt must be a valid Date');
  }
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw new InvalidEphemeralError('value', 'value is not JSON-serialisable', {
      cause: error,
    });
  }
  // undefined, functions and symbols stringify to nothing: `take` could not tell them from absent.
  if (text === undefined) {
    throw new InvalidEphemeralError('value', 'value is not JSON-serialisable');
  }
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > EPHEMERAL_MAX_VALUE_BYTES) {
    throw new InvalidEphemeralError(
      'value',
      `value is ${bytes} bytes as JSON; the limit is ${EPHEMERAL_MAX_VALUE_BYTES}`,
    );
  }
  return text;
}

/** Parses a stored record's JSON text (`undefined` for no row). */
export function parseEphemeral(row: { value: string } | undefined): unknown {
  return row ? JSON.parse(row.value) : undefined;
}
