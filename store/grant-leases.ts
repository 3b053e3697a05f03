/**
 * Grant leases: the durable half of the grant ledger (`domain/grant-ledger.ts`), and the lock
 * that serialises changes to one membership. The ledger's rule is: a principal is a member of a
 * target while at least one lease on that key is held. {@link GrantLeases.withLock} makes
 * "am I the last holder?" and the change to the target one step, across processes.
 *
 * The lock: callers in one process queue in memory first; across processes it is a row in
 * `ledger_locks` on SQLite (polled with jittered sleeps, renewed while held, lapsing a TTL after
 * its holder dies) and a transaction-scoped advisory lock on PostgreSQL (on a connection of its
 * own pool, gone with the connection if the process dies).
 */
import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { TargetRef } from '../core/model/targets.js';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { StoreConnection } from './connection.js';
import { pgCode } from './database.js';
import { InvalidQueryError, LockTimeoutError } from './errors.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { StoreSchema } from './schema.js';

/** How long `withLock` waits for a lock held by someone else before it gives up. */
export const DEFAULT_LOCK_WAIT_MS = 30_000;
/** How long a SQLite lock row outlives its holder's last renewal (crashed processes). */
export const DEFAULT_LOCK_TTL_MS = 60_000;
/** The most held leases one `heldLeases` page may ask for. */
export const HELD_LEASES_MAX_PAGE = 1_000;

/** One elevation's claim on a (target, principal) membership. */
export interface Lease {
  elevationId: string;
  /** Identifies the membership: target type, target object and principal, normalised. */
  key: string;
  target: TargetRef;
  principal: string;
  state: 'held' | 'released';
  acquiredAt?: string;
  releasedAt?: string;
}

export type LeaseInput = Pick<Lease, 'elevationId' | 'key' | 'target' | 'principal'>;

/** A lease that is held, as {@link GrantLeases.heldLeases} lists it. */
export type HeldLease = LeaseInput & { acquiredAt: string };

/**
 * The query of one page of held leases, in elevation id order, read from the partial index
 * `leases_held` (held leases only). Exported for the tests that look at its plan.
 */
export function heldLeasesQuery(db: Kysely<StoreSchema>, page: { after?: string; limit: number }) {
  return db
    .selectFrom('leases')
    .select(['elevation_id', 'key', 'target', 'principal', 'acquired_at'])
    .where('state', '=', 'held')
    .$if(page.after !== undefined, (q) => q.where('elevation_id', '>', page.after!))
    .orderBy('elevation_id')
    .limit(page.limit);
}

function targetOf(value: unknown): TargetRef {
  return (typeof value === 'string' ? JSON.parse(value) : value) as TargetRef;
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

/** `items` in slices small enough for one statement's parameters on either engine. */
function chunksOf<T>(items: readonly T[], size = 200): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** The leases and the lock, on the store's database. */
export class GrantLeases {
  private readonly mutex = new KeyedMutex();
  private readonly lockWaitMs: number;
  private readonly lockTtlMs: number;

  constructor(private readonly conn: StoreConnection) {
    this.lockWaitMs = Math.ceil(conn.settings.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS);
    this.lockTtlMs = conn.settings.lockTtlMs ?? DEFAULT_LOCK_TTL_MS;
  }

  /**
   * Runs `fn` holding the exclusive lock on `key`, released when `fn` settles (and also if this
   * process dies). `fn`'s own store calls run as usual. Not reentrant.
   *
   * @throws {@link LockTimeoutError} when another holder keeps the lock past the wait deadline
   */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.mutex.run(key, () =>
      this.conn.lockPool ? this.withAdvisoryLock(this.conn.lockPool, key, fn) : this.withLockRow(key, fn),
    );
  }

  /**
   * Runs `fn` holding the locks of every key in `keys` at once: {@link withLock} for a batch of
   * changes (the expiry revoker's removals). Keys are taken in one order by every caller, and on
   * SQLite all together or none (then it waits and tries again), so two batches never wait on
   * each other in a cycle. On PostgreSQL the advisory locks are taken by one statement on one
   * connection of the lock pool, however many keys there are.
   *
   * @throws {@link LockTimeoutError} when other holders keep any of them past the wait deadline
   */
  withLocks<T>(keys: string[], fn: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const pool = this.conn.lockPool;
    const locked = (): Promise<T> =>
      pool ? this.withAdvisoryLock(pool, sorted, fn) : this.withLockRows(sorted, fn);
    // In this process, each key's queue in turn, in the same order.
    const queued = sorted.reduceRight<() => Promise<T>>(
      (next, key) => () => this.mutex.run(key, next),
      locked,
    );
    return queued();
  }

  private async withLockRows<T>(keys: string[], fn: () => Promise<T>): Promise<T> {
    const owner = randomUUID();
    await this.takeLockRows(keys, owner);
    const renewal = setInterval(() => void this.renewLockRow(owner), Math.max(this.lockTtlMs / 3, 5));
    renewal.unref();
    try {
      return await fn();
    } finally {
      clearInterval(renewal);
      await this.dropLockRow(owner);
    }
  }

  /** Every key's row in one transaction, or none while any of them has a live holder. */
  private async takeLockRows(keys: string[], owner: string): Promise<void> {
    const started = Date.now();
    for (let attempt = 0; ; attempt += 1) {
      const now = Date.now();
      const taken = await this.conn.transaction(async (trx) => {
        for (const chunk of chunksOf(keys)) {
          const live = await trx
            .selectFrom('ledger_locks')
            .select('key')
            .where('key', 'in', chunk)
            .where('expires_at', '>=', now)
            .executeTakeFirst();
          if (live) return false;
        }
        for (const chunk of chunksOf(keys)) {
          await trx
            .insertInto('ledger_locks')
            .values(chunk.map((key) => ({ key, owner, expires_at: now + this.lockTtlMs })))
            .onConflict((oc) =>
              oc.column('key').doUpdateSet((eb) => ({
                owner: eb.ref('excluded.owner'),
                expires_at: eb.ref('excluded.expires_at'),
              })),
            )
            .execute();
        }
        return true;
      });
      if (taken) return;
      const waited = now - started;
      if (waited >= this.lockWaitMs) throw new LockTimeoutError(`${keys.length} keys`, this.lockWaitMs);
      const base = Math.min(5 * 2 ** attempt, 100);
      await sleep(Math.min(base * (0.5 + Math.random()), this.lockWaitMs - waited));
    }
  }

  private async withLockRow<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const owner = randomUUID();
    await this.takeLockRow(key, owner);
    const renewal = setInterval(() => void this.renewLockRow(owner), Math.max(this.lockTtlMs / 3, 5));
    renewal.unref();
    try {
      return await fn();
    } finally {
      clearInterval(renewal);
      await this.dropLockRow(owner);
    }
  }

  private async takeLockRow(key: string, owner: string): Promise<void> {
    const started = Date.now();
    for (let attempt = 0; ; attempt += 1) {
      const now = Date.now();
      // One conditional upsert: it inserts a free key or takes over an expired row, and changes
      // nothing while a live holder keeps it. No read-then-write race.
      const taken = await this.conn.write((db) =>
        db
          .insertInto('ledger_locks')
          .values({ key, owner, expires_at: now + this.lockTtlMs })
          .onConflict((oc) =>
            oc
              .column('key')
              .doUpdateSet((eb) => ({
                owner: eb.ref('excluded.owner'),
                expires_at: eb.ref('excluded.expires_at'),
              }))
              .where('ledger_locks.expires_at', '<', now),
          )
          .executeTakeFirst(),
      );
      if (Number(taken.numInsertedOrUpdatedRows ?? 0) === 1) return;
      const waited = now - started;
      if (waited >= this.lockWaitMs) throw new LockTimeoutError(key, this.lockWaitMs);
      // Jittered, growing sleeps: waiters in different processes do not poll in lockstep.
      const base = Math.min(5 * 2 ** attempt, 100);
      await sleep(Math.min(base * (0.5 + Math.random()), this.lockWaitMs - waited));
    }
  }

  /** Renews the rows `owner` still holds (an owner is unique to one holder: one key, or a batch). */
  private async renewLockRow(owner: string): Promise<void> {
    try {
      await this.conn.write((db) =>
        db
          .updateTable('ledger_locks')
          .set({ expires_at: Date.now() + this.lockTtlMs })
          .where('owner', '=', owner)
          .execute(),
      );
    } catch {
      // A missed renewal is retried on the next tick; the row only lapses after a full TTL.
    }
  }

  /** Drops every row `owner` holds (an owner is unique to one holder: one key, or a batch). */
  private async dropLockRow(owner: string): Promise<void> {
    try {
      // Only our own rows: one that expired and another process took over is theirs now.
      await this.conn.write((db) => db.deleteFrom('ledger_locks').where('owner', '=', owner).execute());
    } catch {
      // The caller's work is done and must not be reported as failed; the row expires by TTL.
    }
  }

  /**
   * `pg_advisory_xact_lock` in a transaction on a connection of the lock pool: for one key, or
   * for each of `keys` in their order, by one statement.
   */
  private async withAdvisoryLock<T>(pool: pg.Pool, key: string | string[], fn: () => Promise<T>): Promise<T> {
    const client = await pool.connect();
    // Whether the connection is back outside any transaction; if not, it is discarded, which
    // ends the transaction and frees the advisory lock on the server.
    let reusable = false;
    const rollback = async (): Promise<boolean> => {
      try {
        await client.query('ROLLBACK');
        return true;
      } catch {
        return false;
      }
    };
    try {
      await client.query('BEGIN');
      await client.query(`SET LOCAL lock_timeout = ${this.lockWaitMs}`);
      try {
        if (typeof key === 'string') {
          await client.query('SELECT pg_advisory_xact_lock($1::int4, $2::int4)', advisoryKeys(key));
        } else {
          const pairs = key.map(advisoryKeys);
          await client.query(
            'SELECT pg_advisory_xact_lock(a, b) FROM unnest($1::int4[], $2::int4[]) WITH ORDINALITY AS k(a, b, n) ORDER BY n',
            [pairs.map((p) => p[0]), pairs.map((p) => p[1])],
          );
        }
      } catch (error) {
        const what = typeof key === 'string' ? key : `${key.length} keys`;
        if (pgCode(error) === '55P03') throw new LockTimeoutError(what, this.lockWaitMs);
        throw error;
      }
      let result: T;
      try {
        result = await fn();
      } catch (error) {
        reusable = await rollback();
        throw error;
      }
      await client.query('COMMIT');
      reusable = true;
      return result;
    } catch (error) {
      if (!reusable) reusable = await rollback();
      throw error;
    } finally {
      client.release(!reusable);
    }
  }

  /**
   * Marks the lease held (creating it if needed). Returns `'released'` without changing anything
   * if the lease was already released: a released lease is never held again.
   */
  async hold(lease: LeaseInput, at: string): Promise<'held' | 'released'> {
    const row = await this.conn.write(async (db) => {
      await db
        .insertInto('leases')
        .values({
          elevation_id: lease.elevationId,
          key: lease.key,
          target: JSON.stringify(lease.target),
          principal: lease.principal,
          state: 'held',
          acquired_at: at,
        })
        .onConflict((oc) => oc.column('elevation_id').doNothing())
        .execute();
      return db
        .selectFrom('leases')
        .select('state')
        .where('elevation_id', '=', lease.elevationId)
        .executeTakeFirst();
    });
    if (!row) throw new Error(`lease ${lease.elevationId} vanished while being held`);
    return row.state === 'released' ? 'released' : 'held';
  }

  /**
   * Marks the lease released (creating a released tombstone if it never existed, so a late grant
   * cannot hold it afterwards). Idempotent: the first release's time is kept.
   */
  async release(lease: LeaseInput, at: string): Promise<void> {
    await this.releaseAll([lease], at);
  }

  /**
   * Marks many leases released, as {@link release} does each (a batch of removals), in writes of
   * a few hundred rows.
   */
  async releaseAll(leases: LeaseInput[], at: string): Promise<void> {
    for (const chunk of chunksOf(leases)) {
      await this.conn.write((db) =>
        db
          .insertInto('leases')
          .values(
            chunk.map((lease) => ({
              elevation_id: lease.elevationId,
              key: lease.key,
              target: JSON.stringify(lease.target),
              principal: lease.principal,
              state: 'released' as const,
              released_at: at,
            })),
          )
          .onConflict((oc) =>
            oc.column('elevation_id').doUpdateSet((eb) => ({
              state: 'released' as const,
              released_at: eb.fn.coalesce('leases.released_at', 'excluded.released_at'),
            })),
          )
          .execute(),
      );
    }
  }

  /** {@link holders} of many keys at once: each key's holders, oldest first (none: absent). */
  async holdersOf(keys: string[]): Promise<Map<string, string[]>> {
    const held = new Map<string, string[]>();
    for (const chunk of chunksOf([...new Set(keys)])) {
      const rows = await this.conn.db
        .selectFrom('leases')
        .select(['elevation_id', 'key'])
        .where('key', 'in', chunk)
        .where('state', '=', 'held')
        .orderBy('acquired_at')
        .orderBy('elevation_id')
        .execute();
      for (const row of rows) held.set(row.key, [...(held.get(row.key) ?? []), row.elevation_id]);
    }
    return held;
  }

  /** Elevation ids whose lease on `key` is held, oldest first. */
  async holders(key: string): Promise<string[]> {
    const rows = await this.conn.db
      .selectFrom('leases')
      .select('elevation_id')
      .where('key', '=', key)
      .where('state', '=', 'held')
      .orderBy('acquired_at')
      .orderBy('elevation_id')
      .execute();
    return rows.map((row) => row.elevation_id);
  }

  async getLease(elevationId: string): Promise<Lease | undefined> {
    const row = await this.conn.db
      .selectFrom('leases')
      .selectAll()
      .where('elevation_id', '=', elevationId)
      .executeTakeFirst();
    if (!row) return undefined;
    return {
      elevationId: row.elevation_id,
      key: row.key,
      target: targetOf(row.target),
      principal: row.principal,
      state: row.state,
      ...(row.acquired_at !== null ? { acquiredAt: row.acquired_at } : {}),
      ...(row.released_at !== null ? { releasedAt: row.released_at } : {}),
    };
  }

  /**
   * Up to `limit` held leases, by elevation id, after `after` (the last elevation id of the
   * previous page; omit it for the first). Keyset-paged over the index of held leases only, so a
   * page costs the same however many released leases the store has kept.
   *
   * @throws {@link InvalidQueryError} when `limit` is not a whole number from 1 to 1000
   */
  async heldLeases(page: { after?: string; limit: number }): Promise<HeldLease[]> {
    if (!Number.isSafeInteger(page.limit) || page.limit < 1 || page.limit > HELD_LEASES_MAX_PAGE) {
      throw new InvalidQueryError('limit', `limit must be a whole number from 1 to ${HELD_LEASES_MAX_PAGE}`);
    }
    const rows = await heldLeasesQuery(this.conn.db, page).execute();
    return rows.map((row) => ({
      elevationId: row.elevation_id,
      key: row.key,
      target: targetOf(row.target),
      principal: row.principal,
      // Always set on a held row (hold writes it); '' only for a row written by hand.
      acquiredAt: row.acquired_at ?? '',
    }));
  }
}
