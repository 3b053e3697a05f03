/**
 * Coded errors raised by the stores (`store/`), on either engine. Callers branch on `code` (or the class),
 * never on the message; messages are for humans and never carry connection secrets.
 */

/** Every error code the stores raise, in one place. */
export type StoreErrorCode =
  | 'invalid_cursor'
  | 'invalid_query'
  | 'invalid_event'
  | 'invalid_ephemeral'
  | 'lock_timeout'
  | 'store_unavailable'
  | 'schema_too_new';

/** Base class of every store error. */
export abstract class StoreError extends Error {
  abstract readonly code: StoreErrorCode;

  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/**
 * A `cursor` passed to `elevations.listElevations` is not one the store issued (malformed, truncated,
 * or edited). The HTTP layer answers 400 with the `cursor` field at fault.
 */
export class InvalidCursorError extends StoreError {
  readonly code = 'invalid_cursor';
  /** The query field at fault. */
  readonly field = 'cursor';

  constructor() {
    super('cursor is malformed: pass back the nextCursor of a previous page unchanged');
  }
}

/** A query argument other than the cursor is out of range (e.g. a non-positive `limit`). */
export class InvalidQueryError extends StoreError {
  readonly code = 'invalid_query';

  /** @param field - the query field at fault */
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
  }
}

/** An event handed to `append` is inconsistent (e.g. its `elevation` is another elevation). */
export class InvalidEventError extends StoreError {
  readonly code = 'invalid_event';
}

/**
 * A short-lived record handed to a single-use namespace's `put` cannot be stored: its key is empty or too
 * long, its value is not JSON-serialisable or too large, or its expiry is not a valid date.
 * Nothing was written.
 */
export class InvalidEphemeralError extends StoreError {
  readonly code = 'invalid_ephemeral';

  /** @param field - the argument at fault */
  constructor(
    readonly field: 'key' | 'value' | 'expiresAt',
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** `withLock` could not take the lock before its deadline: another holder kept it. */
export class LockTimeoutError extends StoreError {
  readonly code = 'lock_timeout';

  /**
   * @param key - the lock key (a target membership key, not a secret)
   * @param waitedMs - how long the caller waited
   */
  constructor(
    readonly key: string,
    readonly waitedMs: number,
  ) {
    super(`could not take the lock on "${key}" within ${waitedMs} ms: another holder kept it`);
  }
}

/** The store cannot be opened or reached. The message names the host, never credentials. */
export class StoreUnavailableError extends StoreError {
  readonly code = 'store_unavailable';
}

/** The database was migrated by a newer Elevate; this version must not write to it. */
export class SchemaTooNewError extends StoreError {
  readonly code = 'schema_too_new';

  /** @param migration - the name of a migration this version does not know */
  constructor(readonly migration: string) {
    super(`the store was migrated by a newer Elevate (migration "${migration}"): upgrade Elevate`);
  }
}
