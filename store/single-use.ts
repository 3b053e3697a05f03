/**
 * Short-lived single-use records, by namespace: `singleUse.namespace('admin-session', Session)`
 * gives the records of one kind, their values checked against the namespace's zod schema when
 * read (a value that does not match reads as absent). Not part of the audit chain; expired rows
 * are ignored and purged. With a MAC key (see `row-mac.ts`) each row carries an HMAC over its
 * key, value and expiry: a row inserted or altered behind the store's back reads as absent.
 *
 * They live in the store's database so that every process sees the same records: a login
 * started on one API process may finish on another, and a Slack interaction replayed to a
 * second process must still act only once. Expiry is judged by the clock of the process making
 * the call. Keys (`<namespace>:<id>`) are 1 to 512 characters; a value's JSON text is at most
 * 64 KiB (UTF-8).
 */
import type { z } from 'zod';
import type { SingleUseNamespaces, SingleUseRecords } from '../core/ports/single-use.js';
import type { StoreConnection } from './connection.js';
import { InvalidEphemeralError } from './errors.js';
import { checkedEphemeral, ephemeralMacFor } from './row-mac.js';

/** Longest key (namespace, `:` and id) a record may have, in characters. */
export const EPHEMERAL_MAX_KEY_LENGTH = 512;
/** Largest value a record may hold: the UTF-8 bytes of its JSON text (64 KiB). */
export const EPHEMERAL_MAX_VALUE_BYTES = 64 * 1024;
/**
 * How often, at most, one instance purges expired records on its own from `put`. Expired rows
 * are invisible anyway; the purge only keeps the table small.
 */
export const EPHEMERAL_PURGE_INTERVAL_MS = 60_000;
/** Rows one opportunistic purge deletes at most, so a `put` never waits on a big delete. */
export const EPHEMERAL_PURGE_BATCH = 500;

const NAMESPACE = /^[a-z][a-z0-9-]*(?::[a-z][a-z0-9-]*)*$/;

/**
 * Whether `key` can name a stored record. Keys that cannot (empty, too long, or holding NUL,
 * which PostgreSQL text refuses) are simply absent for `peek` and `take`: ids often come
 * straight from a request, and an impossible one is not the server's error.
 */
function isStorableKey(key: string): boolean {
  return key.length > 0 && key.length <= EPHEMERAL_MAX_KEY_LENGTH && !key.includes('\0');
}

/**
 * Checks a record to be stored and returns its JSON text.
 *
 * @throws {@link InvalidEphemeralError} naming the argument at fault; nothing is written. The
 *   message never echoes the key, which may be a secret (a personal approval link's token).
 */
function recordText(key: string, value: unknown, expiresAt: Date): string {
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
    throw new InvalidEphemeralError('value', 'value is not JSON-serialisable', { cause: error });
  }
  // undefined, functions and symbols stringify to nothing: `take` could not tell them from absent.
  if (text === undefined) throw new InvalidEphemeralError('value', 'value is not JSON-serialisable');
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > EPHEMERAL_MAX_VALUE_BYTES) {
    throw new InvalidEphemeralError(
      'value',
      `value is ${bytes} bytes as JSON; the limit is ${EPHEMERAL_MAX_VALUE_BYTES}`,
    );
  }
  return text;
}

/** A record as read back. */
interface Row {
  value: string;
  expires_at: number | Date | string;
  mac: string | null;
}

/** The single-use records of the store's database. */
export class SingleUse implements SingleUseNamespaces {
  /** When `put` next purges expired records on its own (epoch ms). */
  private nextPurgeAt = 0;

  constructor(private readonly conn: StoreConnection) {}

  /**
   * The records of one kind, their values parsed with `schema` on every read.
   *
   * @throws RangeError when `name` is not lower-case words joined by `-` or `:`
   */
  namespace<S extends z.ZodType>(name: string, schema: S): SingleUseRecords<z.output<S>> {
    if (!NAMESPACE.test(name)) throw new RangeError(`not a namespace name: ${name}`);
    // An empty id names no record: its key is refused by `put` and absent for the reads.
    const keyOf = (id: string) => (id === '' ? '' : `${name}:${id}`);
    const parsed = (value: unknown): z.output<S> | undefined => {
      if (value === undefined) return undefined;
      const result = schema.safeParse(value);
      return result.success ? result.data : undefined;
    };
    return {
      put: (id, value, expiresAt) => this.put(keyOf(id), value, expiresAt),
      peek: async (id) => parsed(await this.peek(keyOf(id))),
      take: async (id) => parsed(await this.take(keyOf(id))),
      replace: (id, value, expiresAt) => this.replace(keyOf(id), value, expiresAt),
    };
  }

  /**
   * Stores `value` under `key` until `expiresAt` unless a live record is there; an expired one
   * is replaced. One conditional upsert, so two processes racing for a key cannot both win.
   */
  private async put(key: string, value: unknown, expiresAt: Date): Promise<boolean> {
    const text = recordText(key, value, expiresAt);
    const now = Date.now();
    const mac = ephemeralMacFor(this.conn.integrity, key, text, expiresAt.getTime());
    const result = await this.conn.write((db) =>
      db
        .insertInto('ephemeral')
        .values({ key, value: text, expires_at: this.conn.instant(expiresAt.getTime()), mac })
        .onConflict((oc) =>
          oc
            .column('key')
            .doUpdateSet((eb) => ({
              value: eb.ref('excluded.value'),
              expires_at: eb.ref('excluded.expires_at'),
              mac: eb.ref('excluded.mac'),
            }))
            .where('ephemeral.expires_at', '<=', this.conn.instant(now)),
        )
        .executeTakeFirst(),
    );
    if (now >= this.nextPurgeAt) {
      this.nextPurgeAt = now + EPHEMERAL_PURGE_INTERVAL_MS;
      await this.purgeBatch(now).catch(() => undefined);
    }
    return Number(result.numInsertedOrUpdatedRows ?? 0) === 1;
  }

  /**
   * Housekeeping only: the record is stored, and expired rows are invisible anyway. The outer
   * expiry test is checked again on rows changed meanwhile, so a record another process has
   * just put in place of an expired one is not deleted.
   */
  private purgeBatch(now: number): Promise<unknown> {
    const at = this.conn.instant(now);
    return this.conn.write((db) =>
      db
        .deleteFrom('ephemeral')
        .where('key', 'in', (eb) =>
          eb.selectFrom('ephemeral').select('key').where('expires_at', '<=', at).limit(EPHEMERAL_PURGE_BATCH),
        )
        .where('expires_at', '<=', at)
        .execute(),
    );
  }

  private async peek(key: string): Promise<unknown> {
    if (!isStorableKey(key)) return undefined;
    const row = await this.conn.db
      .selectFrom('ephemeral')
      .select(['value', 'expires_at', 'mac'])
      .where('key', '=', key)
      .where('expires_at', '>', this.conn.instant(Date.now()))
      .executeTakeFirst();
    return this.checked(key, row);
  }

  /**
   * Deletes and returns the live record in one statement: of two takes, across processes, one
   * deletes the row. A forged row is deleted like any other, and given to nobody.
   */
  private async take(key: string): Promise<unknown> {
    if (!isStorableKey(key)) return undefined;
    const row = await this.conn.write((db) =>
      db
        .deleteFrom('ephemeral')
        .where('key', '=', key)
        .where('expires_at', '>', this.conn.instant(Date.now()))
        .returning(['value', 'expires_at', 'mac'])
        .executeTakeFirst(),
    );
    return this.checked(key, row);
  }

  /**
   * One conditional update, a compare-and-swap on the MAC just checked: a record taken,
   * deleted, expired or swapped meanwhile stays as it is, and a forged one is not given a good MAC.
   */
  private async replace(key: string, value: unknown, expiresAt: Date): Promise<boolean> {
    const text = recordText(key, value, expiresAt);
    const now = this.conn.instant(Date.now());
    const current = await this.conn.db
      .selectFrom('ephemeral')
      .select(['value', 'expires_at', 'mac'])
      .where('key', '=', key)
      .where('expires_at', '>', now)
      .executeTakeFirst();
    if (!current || this.checked(key, current) === undefined) return false;
    const mac = ephemeralMacFor(this.conn.integrity, key, text, expiresAt.getTime());
    const result = await this.conn.write((db) =>
      db
        .updateTable('ephemeral')
        .set({ value: text, expires_at: this.conn.instant(expiresAt.getTime()), mac })
        .where('key', '=', key)
        .where('expires_at', '>', now)
        .where('mac', current.mac === null ? 'is' : '=', current.mac)
        .executeTakeFirst(),
    );
    return Number(result.numUpdatedRows) === 1;
  }

  private checked(key: string, row: Row | undefined): unknown {
    return checkedEphemeral(
      this.conn.integrity,
      key,
      row ? { value: row.value, expiresAtMs: instantMs(row.expires_at), mac: row.mac } : undefined,
    );
  }

  /** Deletes every record expired at `now`; returns how many. */
  async purgeExpired(now: Date = new Date()): Promise<number> {
    const result = await this.conn.write((db) =>
      db
        .deleteFrom('ephemeral')
        .where('expires_at', '<=', this.conn.instant(now.getTime()))
        .executeTakeFirst(),
    );
    return Number(result.numDeletedRows);
  }
}

/** An instant as either engine returns it, in epoch ms. */
function instantMs(value: number | Date | string): number {
  return value instanceof Date
    ? value.getTime()
    : typeof value === 'string'
      ? Date.parse(value)
      : Number(value);
}
