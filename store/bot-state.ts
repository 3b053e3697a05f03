/**
 * Runtime state of bots (lockdown, disable/enable override, rotated API key, owner
 * attestation), kept in the
 * store's database so that every API process sees the same. Not part of the audit chain: every
 * change is recorded there by the caller as an event. With a MAC key (see `row-mac.ts`) a row
 * altered behind the store's back reads as *quarantined*: locked, with an API key nobody holds.
 */
import type { Kysely } from 'kysely';
import type { BotAttestation } from '../core/model/attestation.js';
import type { StoreConnection } from './connection.js';
import { InvalidQueryError } from './errors.js';
import { botStateMacFor, checkedBotState } from './row-mac.js';
import type { BotStateTable, StoreSchema } from './schema.js';

/** An admin's lockdown of a bot: no new requests until it is unlocked. */
export interface BotLock {
  /** When the bot was locked (ISO instant). */
  at: string;
  /** The admin who locked it. */
  by: string;
  /** Why, as the admin said. */
  reason: string;
}

/**
 * What admins changed about one bot at runtime, since the policy was deployed. The policy stays
 * the source of the bot's identity, roles and principals; this record only overrides what it says.
 */
export interface BotState {
  botId: string;
  /** Locked down (requests refused with `bot_locked`), or null. */
  locked: BotLock | null;
  /**
   * An admin's override of the policy's `disabled`, or null when the policy decides. The
   * service keeps an override only while it differs from the policy.
   */
  disabled: { value: boolean; at: string; by: string } | null;
  /**
   * The API key an admin rotated to (its hash), or null: the policy's `apiKeyHash` is then the
   * bot's key. Once set, the policy's key no longer authenticates the bot.
   */
  apiKey: { hash: string; rotatedAt: string; rotatedBy: string } | null;
  /** When any of it last changed. */
  updatedAt: string;
  /**
   * Periodic owner attestation (`core/model/attestation.ts`): absent until the bot's owner is
   * first asked, so a row written before it existed reads, and MACs, as it did.
   */
  attestation?: BotAttestation;
}

/** A change to a bot's state; fields left out stay as they are. */
export interface BotStateChange {
  /** Lock the bot (a lock in place is kept, with its own time, admin and reason), or unlock it with null. */
  lock?: { by: string; reason: string } | null;
  /**
   * Override the policy's `disabled` (an override with the same value keeps its time and admin),
   * or go back to the policy with null.
   */
  disabled?: { value: boolean; by: string } | null;
  /** Replace the bot's API key with the one whose hash (`sha256:<hex>`) this is. */
  apiKey?: { hash: string; by: string };
  /** The owner was asked to attest (attestation `id`). */
  attestationRequested?: { id: string };
  /** The owner attested: the roles trimmed now (replacing earlier ones); lifts a suspension. */
  attested?: { by: string; trimmedRoles: string[] };
  /** Suspend the bot for an unanswered attestation, or lift the suspension with null. */
  attestationOverdue?: { attestationId: string } | null;
}

const KEY_HASH = /^sha256:[0-9a-f]{64}$/;

/** The state a `bot_state` row records (SQLite gives 0/1 for `disabled`). */
export function rowToBotState(row: Omit<BotStateTable, 'mac'>): BotState {
  return {
    botId: row.bot_id,
    locked:
      row.locked_at !== null
        ? { at: row.locked_at, by: row.locked_by ?? '', reason: row.lock_reason ?? '' }
        : null,
    disabled:
      row.disabled !== null
        ? { value: Boolean(row.disabled), at: row.disabled_at ?? '', by: row.disabled_by ?? '' }
        : null,
    apiKey:
      row.api_key_hash !== null
        ? { hash: row.api_key_hash, rotatedAt: row.key_rotated_at ?? '', rotatedBy: row.key_rotated_by ?? '' }
        : null,
    updatedAt: row.updated_at,
    ...attestationOf(row),
  };
}

/** The attestation part of a row, or nothing when none of its columns is set. */
function attestationOf(row: Omit<BotStateTable, 'mac'>): { attestation?: BotAttestation } {
  const set = [row.attested_at, row.attestation_id, row.trimmed_roles, row.attestation_overdue_at].some(
    (v) => v !== null && v !== undefined,
  );
  if (!set) return {};
  return {
    attestation: {
      attestedAt: row.attested_at ?? null,
      attestedBy: row.attested_by ?? null,
      requested:
        row.attestation_id != null
          ? { id: row.attestation_id, at: row.attestation_requested_at ?? row.updated_at }
          : null,
      trimmedRoles: parseRoles(row.trimmed_roles),
      overdue:
        row.attestation_overdue_at != null
          ? { at: row.attestation_overdue_at, attestationId: row.attestation_overdue_id ?? '' }
          : null,
    },
  };
}

/** The trimmed roles column (a JSON array of role ids); anything else reads as none. */
function parseRoles(text: string | null | undefined): string[] {
  if (!text) return [];
  try {
    const value: unknown = JSON.parse(text);
    return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
  } catch {
    return [];
  }
}

/** The attestation after `change`, from the one before (undefined: the bot had none). */
function applyAttestationChange(
  before: BotAttestation | undefined,
  change: BotStateChange,
  at: string,
): BotAttestation | undefined {
  const { attestationRequested, attested, attestationOverdue } = change;
  // Lifting a suspension of a bot never asked to attest leaves it without attestation state.
  if (!attestationRequested && !attested && (attestationOverdue === undefined || !before)) return before;
  const next: BotAttestation = before
    ? { ...before }
    : { attestedAt: null, attestedBy: null, requested: null, trimmedRoles: [], overdue: null };
  if (attestationRequested) next.requested = { id: attestationRequested.id, at };
  if (attested) {
    next.attestedAt = at;
    next.attestedBy = attested.by;
    next.trimmedRoles = [...attested.trimmedRoles];
    next.overdue = null;
  }
  if (attestationOverdue === null) next.overdue = null;
  else if (attestationOverdue) {
    next.overdue = before?.overdue ?? { at, attestationId: attestationOverdue.attestationId };
  }
  return next;
}

/**
 * The state after `change`, from the state before (undefined: the bot had none). Pure: run
 * inside the transaction that writes it.
 */
export function applyBotStateChange(
  before: BotState | undefined,
  botId: string,
  change: BotStateChange,
  at: string,
): BotState {
  const next: BotState = before
    ? { ...before, updatedAt: at }
    : { botId, locked: null, disabled: null, apiKey: null, updatedAt: at };
  if (change.lock === null) next.locked = null;
  else if (change.lock)
    next.locked = before?.locked ?? { at, by: change.lock.by, reason: change.lock.reason };
  if (change.disabled === null) next.disabled = null;
  else if (change.disabled) {
    next.disabled =
      before?.disabled?.value === change.disabled.value
        ? before.disabled
        : { value: change.disabled.value, at, by: change.disabled.by };
  }
  if (change.apiKey) next.apiKey = { hash: change.apiKey.hash, rotatedAt: at, rotatedBy: change.apiKey.by };
  const attestation = applyAttestationChange(before?.attestation, change, at);
  if (attestation) next.attestation = attestation;
  return next;
}

/** @throws {@link InvalidQueryError} for a bot id or key hash that cannot be a real one */
function checkChange(botId: string, change: BotStateChange, at: string): void {
  if (typeof botId !== 'string' || botId.length === 0 || botId.length > 200) {
    throw new InvalidQueryError('botId', 'botId must be 1-200 characters');
  }
  if (change.apiKey && !KEY_HASH.test(change.apiKey.hash)) {
    throw new InvalidQueryError('apiKey', 'apiKey.hash must be "sha256:" and 64 lowercase hex digits');
  }
  if (!Number.isFinite(Date.parse(at))) throw new InvalidQueryError('at', 'at must be an ISO-8601 instant');
}

/** The bot state of the store's database. */
export class BotStates {
  constructor(private readonly conn: StoreConnection) {}

  /** The state a row records, checked against its MAC (a bad one is quarantined, see `row-mac.ts`). */
  private checked(row: BotStateTable): BotState {
    const { reseal, ...state } = checkedBotState(this.conn.integrity, rowToBotState(row), row.mac);
    const oldMac = row.mac;
    if (reseal !== undefined && oldMac) {
      // The MAC holds under a key being rotated out: rewrite it under the current key, only if
      // nobody changed the row meanwhile. In the background; until then it still checks.
      this.conn
        .write((db) =>
          db
            .updateTable('bot_state')
            .set({ mac: reseal })
            .where('bot_id', '=', row.bot_id)
            .where('mac', '=', oldMac)
            .execute(),
        )
        .catch(() => undefined);
    }
    return state;
  }

  private byId(db: Kysely<StoreSchema>, botId: string) {
    return db.selectFrom('bot_state').selectAll().where('bot_id', '=', botId);
  }

  /** The bot's state, if an admin ever changed it. */
  async getBotState(botId: string): Promise<BotState | undefined> {
    const row = await this.byId(this.conn.db, botId).executeTakeFirst();
    return row ? this.checked(row) : undefined;
  }

  /** The state holding this rotated API key hash, if any (how a rotated key authenticates). */
  async findBotStateByKeyHash(keyHash: string): Promise<BotState | undefined> {
    const row = await this.conn.db
      .selectFrom('bot_state')
      .selectAll()
      .where('api_key_hash', '=', keyHash)
      .executeTakeFirst();
    return row ? this.checked(row) : undefined;
  }

  /** Every bot's state, by bot id. */
  async listBotStates(): Promise<BotState[]> {
    const rows = await this.conn.db.selectFrom('bot_state').selectAll().orderBy('bot_id').execute();
    return rows.map((row) => this.checked(row));
  }

  /**
   * Applies `change` to the bot's state (creating it if needed) as one atomic step across
   * processes; `at` is the instant recorded for what changes. On PostgreSQL the row is created
   * first and locked, so a concurrent change to the same bot waits for it.
   *
   * @returns the state before (undefined if there was none) and after
   * @throws {@link InvalidQueryError} when the bot id or key hash is malformed
   */
  async updateBotState(
    botId: string,
    change: BotStateChange,
    at: string,
  ): Promise<{ before: BotState | undefined; after: BotState }> {
    checkChange(botId, change, at);
    const pg = this.conn.engine === 'postgres';
    return this.conn.transaction(async (trx) => {
      const inserted = pg
        ? await trx
            .insertInto('bot_state')
            .values({ bot_id: botId, updated_at: at })
            .onConflict((oc) => oc.column('bot_id').doNothing())
            .returning('bot_id')
            .executeTakeFirst()
        : undefined;
      const row = await this.byId(trx, botId)
        .$if(pg, (q) => q.forUpdate())
        .executeTakeFirst();
      const before = row && !inserted ? this.checked(row) : undefined;
      const after = applyBotStateChange(before, botId, change, at);
      const values = {
        locked_at: after.locked?.at ?? null,
        locked_by: after.locked?.by ?? null,
        lock_reason: after.locked?.reason ?? null,
        disabled: after.disabled ? (pg ? after.disabled.value : Number(after.disabled.value)) : null,
        disabled_at: after.disabled?.at ?? null,
        disabled_by: after.disabled?.by ?? null,
        api_key_hash: after.apiKey?.hash ?? null,
        key_rotated_at: after.apiKey?.rotatedAt ?? null,
        key_rotated_by: after.apiKey?.rotatedBy ?? null,
        updated_at: after.updatedAt,
        attested_at: after.attestation?.attestedAt ?? null,
        attested_by: after.attestation?.attestedBy ?? null,
        attestation_id: after.attestation?.requested?.id ?? null,
        attestation_requested_at: after.attestation?.requested?.at ?? null,
        trimmed_roles: after.attestation ? JSON.stringify(after.attestation.trimmedRoles) : null,
        attestation_overdue_at: after.attestation?.overdue?.at ?? null,
        attestation_overdue_id: after.attestation?.overdue?.attestationId ?? null,
        mac: botStateMacFor(this.conn.integrity, after),
      };
      await trx
        .insertInto('bot_state')
        .values({ bot_id: botId, ...values })
        .onConflict((oc) => oc.column('bot_id').doUpdateSet(values))
        .execute();
      return { before, after };
    });
  }
}
