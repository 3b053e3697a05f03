/**
 * The audit log: an append-only, hash-chained event log (`core/crypto/hash-chain.ts`), with
 * signed checkpoints of the chain (`core/crypto/audit-checkpoints.ts`) written by the append that
 * makes one due, and `verify`, which walks the chain against its head record, its checkpoints
 * and any anchors given.
 *
 * Appends serialise on the chain-head row: SQLite holds its write lock for the transaction,
 * PostgreSQL locks the row (`SELECT … FOR UPDATE`), so any number of processes append to one
 * chain without gaps or forks. Within a process, appends made at about the same time share one
 * transaction (group commit). An event that carries its elevation's view replaces the
 * elevation's summary row in the same transaction (`elevation-index.ts`).
 */
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Kysely } from 'kysely';
import {
  checkpointDue,
  segmentStart,
  signCheckpoint,
  type SignedCheckpoint,
} from '../core/crypto/audit-checkpoints.js';
import { ChainVerifier, canonicalJson, hashEvent, type StoredEventText } from '../core/crypto/hash-chain.js';
import type {
  AuditEvent,
  ChainAnchor,
  NewAuditEvent,
  OrderedAuditAppender,
  VerifyResult,
} from '../core/model/audit-record.js';
import { finishVerify, reviewCheckpoints, type RowHash } from './checkpoint-review.js';
import { GroupCommit } from './group-commit.js';
import type { StoreConnection } from './connection.js';
import { writeSummary } from './elevation-index.js';
import { InvalidEventError } from './errors.js';
import type { AuditCheckpointsTable, AuditEventsTable, StoreSchema } from './schema.js';

/** Rows read per page while verifying, so memory stays bounded however long the chain. */
export const VERIFY_PAGE_SIZE = 5_000;

const EVENT_COLUMNS = [
  'position',
  'id',
  'elevation_id',
  'seq',
  'type',
  'at',
  'actor_kind',
  'actor_id',
  'data',
  'prev_hash',
  'hash',
] as const;

const CHECKPOINT_COLUMNS = [
  'position',
  'prev_position',
  'first_position',
  'hash',
  'at',
  'kid',
  'segment',
  'signature',
] as const;

/** Maps a stored event row back to the event it records. */
export function rowToEvent(row: AuditEventsTable): AuditEvent {
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
 * The event a stored row records, for verification when its stored text does not hash: a row
 * whose `data` is no longer JSON at all was tampered with, and must be reported as a broken link
 * rather than abort the walk. The placeholder data cannot hash to the stored hash, so the
 * verifier reports `hash_mismatch`.
 */
function eventOfStored(stored: StoredEventText): AuditEvent {
  let data: Record<string, unknown>;
  try {
    data = JSON.parse(stored.dataText) as Record<string, unknown>;
  } catch {
    data = { '#unparseable': stored.dataText };
  }
  return {
    id: stored.id,
    elevationId: stored.elevationId,
    seq: stored.seq,
    type: stored.type as AuditEvent['type'],
    at: stored.at,
    actor: { kind: stored.actorKind as AuditEvent['actor']['kind'], id: stored.actorId },
    data,
    position: stored.position,
    prevHash: stored.prevHash,
    hash: stored.hash,
  };
}

/** A row as {@link ChainVerifier.nextStored} takes it: the data left as stored text. */
function storedTextOf(row: AuditEventsTable): StoredEventText {
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

/** A row of {@link EVENT_COLUMNS} as SQLite's driver returns it raw: its values, in that order. */
type EventValues = [
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

/** {@link storedTextOf} for a raw SQLite row. */
function storedTextOfValues(v: EventValues): StoredEventText {
  return {
    position: v[0],
    id: v[1],
    elevationId: v[2],
    seq: v[3],
    type: v[4],
    at: v[5],
    actorKind: v[6],
    actorId: v[7],
    dataText: v[8],
    prevHash: v[9],
    hash: v[10],
  };
}

function toCheckpoint(row: Omit<AuditCheckpointsTable, 'hashes'>): SignedCheckpoint {
  return {
    v: 1,
    position: Number(row.position),
    hash: row.hash,
    at: row.at,
    kid: row.kid,
    prev: Number(row.prev_position),
    first: Number(row.first_position),
    segment: row.segment,
    signature: row.signature,
  };
}

/** The audit log of the store's database. */
export class AuditLog implements OrderedAuditAppender {
  /**
   * The newest checkpoint this instance has seen written. Should the table later hold only older
   * ones, checkpoints were deleted: the next one names this one as its predecessor, so verify
   * reports the hole instead of the new checkpoint papering over it.
   */
  private lastCheckpointSeen: { position: number; at: string } | undefined;

  constructor(private readonly conn: StoreConnection) {}

  /**
   * Appends one event (idempotent by `id`: the same id again returns the stored event and
   * changes nothing) and returns it as stored. Appends made at about the same time share one
   * transaction (`group-commit.ts`).
   *
   * @throws {@link InvalidEventError} when the event's `elevation` is another elevation's
   */
  async append(event: NewAuditEvent): Promise<AuditEvent> {
    const [stored] = await this.appendAll([event]);
    return stored!;
  }

  /**
   * Appends events in order, all or none (each idempotent by `id`), and returns them as stored.
   *
   * @throws {@link InvalidEventError} when an event's `elevation` is another elevation's
   */
  appendAll(events: readonly NewAuditEvent[]): Promise<AuditEvent[]> {
    for (const event of events) {
      if (event.elevation && event.elevation.id !== event.elevationId) {
        return Promise.reject(
          new InvalidEventError(
            `event ${event.id}: elevation.id "${event.elevation.id}" differs from elevationId "${String(event.elevationId)}"`,
          ),
        );
      }
    }
    return this.commits.submit(events);
  }

  private readonly commits = new GroupCommit<NewAuditEvent, AuditEvent>((units) => this.commitUnits(units));

  /** One transaction: the units' events in order, the chain head moved once at the end. */
  private async commitUnits(units: readonly (readonly NewAuditEvent[])[]): Promise<AuditEvent[][]> {
    let checkpoint: SignedCheckpoint | undefined;
    const stored = await this.conn.transaction(async (trx) => {
      checkpoint = undefined;
      // Every append queues here, across all processes: this row is the chain's write lock.
      const head = await trx
        .selectFrom('audit_chain_head')
        .select(['position', 'hash'])
        .$if(this.conn.engine === 'postgres', (q) => q.forUpdate())
        .executeTakeFirst();
      if (!head) throw new Error('audit_chain_head row is missing: the store schema was damaged');
      const chain = { position: Number(head.position), hash: head.hash };
      const results: AuditEvent[][] = [];
      for (const unit of units) {
        const unitResults: AuditEvent[] = [];
        for (const event of unit) {
          const { event: appended, checkpoint: made } = await this.appendIn(trx, event, chain);
          if (made) checkpoint = made;
          unitResults.push(appended);
        }
        results.push(unitResults);
      }
      if (chain.position !== Number(head.position)) {
        await trx
          .updateTable('audit_chain_head')
          .set({ position: chain.position, hash: chain.hash })
          .execute();
      }
      return results;
    });
    if (checkpoint) this.lastCheckpointSeen = checkpoint;
    return stored;
  }

  /**
   * Inside the append transaction, with the chain head locked: stores one event after `chain`
   * (and moves `chain` on), or returns the stored event of the same id.
   */
  private async appendIn(
    trx: Kysely<StoreSchema>,
    event: NewAuditEvent,
    chain: { position: number; hash: string },
  ): Promise<{ event: AuditEvent; checkpoint?: SignedCheckpoint }> {
    // Checked under the lock, so two concurrent appends of one id cannot both insert.
    const existing = await trx
      .selectFrom('audit_events')
      .select(EVENT_COLUMNS)
      .where('id', '=', event.id)
      .executeTakeFirst();
    if (existing) return { event: rowToEvent(existing) };

    const dataText = canonicalJson(event.data);
    const last = await trx
      .selectFrom('audit_events')
      .select((eb) => eb.fn.max('seq').as('seq'))
      .$if(event.elevationId === null, (q) => q.where('elevation_id', 'is', null))
      .$if(event.elevationId !== null, (q) => q.where('elevation_id', '=', event.elevationId))
      .executeTakeFirst();
    const unhashed: Omit<AuditEvent, 'hash'> = {
      id: event.id,
      elevationId: event.elevationId,
      seq: Number(last?.seq ?? 0) + 1,
      type: event.type,
      at: event.at,
      actor: { kind: event.actor.kind, id: event.actor.id },
      // Exactly what a reader will parse back, so the returned event equals the stored one.
      data: JSON.parse(dataText) as Record<string, unknown>,
      position: chain.position + 1,
      prevHash: chain.hash,
    };
    const stored: AuditEvent = { ...unhashed, hash: hashEvent(unhashed) };
    await trx
      .insertInto('audit_events')
      .values({
        position: stored.position,
        id: stored.id,
        elevation_id: stored.elevationId,
        seq: stored.seq,
        type: stored.type,
        at: stored.at,
        actor_kind: stored.actor.kind,
        actor_id: stored.actor.id,
        data: dataText,
        prev_hash: stored.prevHash,
        hash: stored.hash,
      })
      .execute();
    chain.position = stored.position;
    chain.hash = stored.hash;
    if (event.elevation) await writeSummary(trx, event, event.elevation, stored.position);
    const checkpoint = await this.checkpointIfDue(trx, stored);
    return { event: stored, ...(checkpoint ? { checkpoint } : {}) };
  }

  /**
   * Inside the append transaction, with the chain head locked: sign and store a checkpoint at the
   * event just appended when one is due. A segment with rows missing (the chain is already
   * broken) gets none; verify reports the break.
   */
  private async checkpointIfDue(
    trx: Kysely<StoreSchema>,
    stored: AuditEvent,
  ): Promise<SignedCheckpoint | undefined> {
    const policy = this.conn.integrity?.checkpoints;
    if (!policy?.signingKey) return undefined;
    const inTable = await this.lastCheckpoint(trx);
    const seen = this.lastCheckpointSeen;
    const last = seen && seen.position > (inTable?.position ?? 0) ? seen : inTable;
    const now = new Date();
    if (!checkpointDue(policy, stored.position, last, now)) return undefined;
    const prev = last?.position ?? 0;
    const first = segmentStart(prev, stored.position);
    const earlier = await trx
      .selectFrom('audit_events')
      .select('hash')
      .where('position', '>=', first)
      .where('position', '<=', stored.position - 1)
      .orderBy('position')
      .execute();
    const hashes = [...earlier.map((r) => r.hash), stored.hash];
    if (hashes.length !== stored.position - first + 1) return undefined;
    const checkpoint = signCheckpoint(policy.signingKey, {
      position: stored.position,
      prev,
      first,
      hashes,
      at: now,
    });
    await trx
      .insertInto('audit_checkpoints')
      .values({
        position: checkpoint.position,
        prev_position: checkpoint.prev,
        first_position: checkpoint.first,
        hash: checkpoint.hash,
        at: checkpoint.at,
        kid: checkpoint.kid,
        segment: checkpoint.segment,
        hashes: hashes.join(''),
        signature: checkpoint.signature,
      })
      .execute();
    return checkpoint;
  }

  private async lastCheckpoint(db: Kysely<StoreSchema>): Promise<SignedCheckpoint | undefined> {
    const row = await db
      .selectFrom('audit_checkpoints')
      .select(CHECKPOINT_COLUMNS)
      .orderBy('position', 'desc')
      .limit(1)
      .executeTakeFirst();
    return row ? toCheckpoint(row) : undefined;
  }

  /** The newest stored checkpoint (unchecked), if any: webhooks carry it, evidence packs show it. */
  latestCheckpoint(): Promise<SignedCheckpoint | undefined> {
    return this.lastCheckpoint(this.conn.db);
  }

  /** All events of one elevation, in `seq` order. */
  async listEvents(elevationId: string): Promise<AuditEvent[]> {
    const rows = await this.conn.db
      .selectFrom('audit_events')
      .select(EVENT_COLUMNS)
      .where('elevation_id', '=', elevationId)
      .orderBy('seq')
      .execute();
    return rows.map(rowToEvent);
  }

  /** Up to `limit` events after `afterPosition`, in chain order (page through the whole log). */
  async readEvents(afterPosition: number, limit: number): Promise<AuditEvent[]> {
    return (await this.page(afterPosition, limit)).map(rowToEvent);
  }

  private page(afterPosition: number, limit: number): Promise<AuditEventsTable[]> {
    return this.pageQuery(afterPosition, limit).execute();
  }

  private pageQuery(afterPosition: number, limit: number) {
    return this.conn.db
      .selectFrom('audit_events')
      .select(EVENT_COLUMNS)
      .where('position', '>', afterPosition)
      .orderBy('position')
      .limit(limit);
  }

  /**
   * Walks the chain in keyset pages and stops at the first event that does not check out. With
   * `readAhead` (PostgreSQL) each page is asked for before the one before it is checked, so the
   * server reads and sends it meanwhile; memory holds at most two pages, however long the chain.
   */
  private async walk<Row>(
    verifier: ChainVerifier,
    page: (afterPosition: number) => Promise<Row[]>,
    storedOf: (row: Row) => StoredEventText,
    readAhead: boolean,
  ): Promise<void> {
    const ask = (after: number): Promise<Row[]> => {
      const rows = page(after);
      // Its failure is thrown where it is awaited; should hashing throw first, it must not also
      // surface later as an unhandled rejection.
      rows.catch(() => undefined);
      return rows;
    };
    let next: Promise<Row[]> | undefined = ask(0);
    while (next) {
      const rows: Row[] = await next;
      const last = rows[rows.length - 1];
      const after = last && rows.length === VERIFY_PAGE_SIZE ? storedOf(last).position : undefined;
      next = readAhead && after !== undefined ? ask(after) : undefined;
      for (const row of rows) {
        const stored = storedOf(row);
        if (!verifier.nextStored(stored, () => eventOfStored(stored))) {
          // Stop here; a page already asked for is read and dropped.
          await next?.catch(() => undefined);
          return;
        }
      }
      if (!readAhead) {
        // better-sqlite3 is synchronous: let the server breathe between pages of a long chain.
        await yieldToEventLoop();
        if (after !== undefined) next = ask(after);
      }
    }
  }

  /**
   * Walks the whole chain in position order and reports the first event that does not check
   * out, also against the head record, the signed checkpoints and any `anchors` given;
   * `anchoring` says whether checkpoints vouch for the chain.
   */
  async verify(options: { anchors?: ChainAnchor[] } = {}): Promise<VerifyResult> {
    const db = this.conn.db;
    // The head record is read first: events up to it must all be there, whatever is appended meanwhile.
    const head = await db.selectFrom('audit_chain_head').select(['position', 'hash']).executeTakeFirst();
    // Read after the head, so appends meanwhile cannot make a checkpoint look overdue.
    const checkpoints = (
      await db.selectFrom('audit_checkpoints').select(CHECKPOINT_COLUMNS).orderBy('position').execute()
    ).map(toCheckpoint);
    const review = reviewCheckpoints(
      checkpoints,
      this.conn.integrity?.checkpoints,
      Number(head?.position ?? 0),
    );
    const verifier = new ChainVerifier([
      ...(options.anchors ?? []),
      ...review.anchors,
      ...(head ? [{ position: Number(head.position), hash: head.hash }] : []),
    ]);
    const finish = (): Promise<VerifyResult> =>
      finishVerify(verifier.result(), checkpoints, review, {
        listedHashes: async (position) =>
          (
            await db
              .selectFrom('audit_checkpoints')
              .select('hashes')
              .where('position', '=', position)
              .executeTakeFirst()
          )?.hashes,
        rows: async (from, to): Promise<RowHash[]> =>
          (
            await db
              .selectFrom('audit_events')
              .select(['position', 'id', 'elevation_id', 'hash'])
              .where('position', '>=', from)
              .where('position', '<=', to)
              .orderBy('position')
              .execute()
          ).map((r) => ({
            position: Number(r.position),
            id: r.id,
            elevationId: r.elevation_id,
            hash: r.hash,
          })),
      });
    if (this.conn.engine === 'postgres') {
      await this.walk(verifier, (after) => this.page(after, VERIFY_PAGE_SIZE), storedTextOf, true);
    } else {
      // The driver's rows as arrays of values, one page at a time: a page of row objects
      // (Kysely's way) made the walk a quarter slower, to build them and to collect them; and
      // reading ahead, which gains nothing from a synchronous driver, kept two pages alive for
      // the collector to copy (5% slower).
      await this.walk(
        verifier,
        async (after) =>
          (await this.conn.sqliteRows(this.pageQuery(after, VERIFY_PAGE_SIZE).compile())) as EventValues[],
        storedTextOfValues,
        false,
      );
    }
    return finish();
  }
}
