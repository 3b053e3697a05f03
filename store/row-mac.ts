/**
 * MACs of the rows outside the audit chain that still decide things: the `ephemeral`
 * single-use records (approval links and confirmations, login transactions, console sessions,
 * replay keys) and `bot_state` (lockdowns, overrides, rotated key hashes). Someone who can
 * write the database but does not hold the process's key cannot forge or alter them: a row
 * whose MAC does not check is treated as absent (`ephemeral`) or quarantined (`bot_state`),
 * and reported.
 *
 * The key is {@link StoreIntegrity.macKey}, derived from the checkpoint signing key. Without
 * it rows are written with a NULL MAC and read unchecked (the behaviour before the upgrade).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { BotState } from './bot-state.js';
import type { StoreIntegrity, TamperReport } from '../core/crypto/audit-checkpoints.js';
import { canonicalJson } from '../core/crypto/hash-chain.js';

/** HMAC-SHA-256 (hex) of an `ephemeral` row: its key, expiry (epoch ms) and value text, all bound. */
export function ephemeralMac(macKey: Buffer, key: string, valueText: string, expiresAtMs: number): string {
  return createHmac('sha256', macKey)
    .update(canonicalJson(['ephemeral', key, expiresAtMs, valueText]), 'utf8')
    .digest('hex');
}

/** HMAC-SHA-256 (hex) of a `bot_state` row, over every field of the state it records. */
export function botStateMac(macKey: Buffer, state: BotState): string {
  return createHmac('sha256', macKey)
    .update(canonicalJson(['bot_state', state]), 'utf8')
    .digest('hex');
}

/** The keys a stored MAC may be under: the current one, then those being rotated out. */
function macKeys(integrity: StoreIntegrity): Buffer[] {
  return [...(integrity.macKey ? [integrity.macKey] : []), ...(integrity.previousMacKeys ?? [])];
}

function sameMac(stored: string, expected: string): boolean {
  const a = Buffer.from(stored, 'utf8');
  const b = Buffer.from(expected, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}

function report(integrity: StoreIntegrity | undefined, r: TamperReport): void {
  try {
    integrity?.onTamper?.(r);
  } catch {
    // Reporting must never turn a refused row into a failed request.
  }
}

/** The MAC to store with an `ephemeral` row (null without a key). */
export function ephemeralMacFor(
  integrity: StoreIntegrity | undefined,
  key: string,
  valueText: string,
  expiresAtMs: number,
): string | null {
  return integrity?.macKey ? ephemeralMac(integrity.macKey, key, valueText, expiresAtMs) : null;
}

/**
 * The value of an `ephemeral` row read back, or undefined when there is none or its MAC does
 * not check (reported). Rows without a MAC are refused once a key is configured: they are
 * short-lived, so refusing those written before the upgrade costs at most a retried login.
 */
export function checkedEphemeral(
  integrity: StoreIntegrity | undefined,
  key: string,
  row: { value: string; expiresAtMs: number; mac: string | null } | undefined,
): unknown {
  if (!row) return undefined;
  if (integrity?.macKey) {
    const mac = row.mac;
    const holds =
      mac !== null &&
      macKeys(integrity).some((k) => sameMac(mac, ephemeralMac(k, key, row.value, row.expiresAtMs)));
    if (!holds) {
      // The key itself may be a secret (a personal link's token): only its kind is reported.
      report(integrity, {
        table: 'ephemeral',
        subject: key.split(':', 1)[0] ?? '',
        reason: row.mac === null ? 'missing' : 'bad_mac',
      });
      return undefined;
    }
  }
  return JSON.parse(row.value) as unknown;
}

/** The MAC to store with a `bot_state` row (null without a key). */
export function botStateMacFor(integrity: StoreIntegrity | undefined, state: BotState): string | null {
  return integrity?.macKey ? botStateMac(integrity.macKey, state) : null;
}

/** What a quarantined bot's lock says: a tampered row is never trusted, and never ignored. */
export const QUARANTINE_REASON =
  'its runtime state failed the integrity check (altered in the database, or written without the key): unlock it and rotate its API key to restore it';

/**
 * The state of a `bot_state` row read back. When its MAC does not check it is reported and
 * *quarantined*: locked, with an API key nobody holds, so neither a forged key hash nor an
 * undone lockdown takes effect, and an admin's unlock and key rotation rewrite it with a good MAC.
 * `reseal` is set when the MAC holds under a key being rotated out: the caller rewrites it.
 */
export function checkedBotState(
  integrity: StoreIntegrity | undefined,
  state: BotState,
  mac: string | null,
): BotState & { reseal?: string } {
  if (!integrity?.macKey) return state;
  const current = botStateMac(integrity.macKey, state);
  if (mac !== null && sameMac(mac, current)) return state;
  if (mac !== null && (integrity.previousMacKeys ?? []).some((k) => sameMac(mac, botStateMac(k, state)))) {
    return { ...state, reseal: current };
  }
  report(integrity, {
    table: 'bot_state',
    subject: state.botId,
    reason: mac === null ? 'missing' : 'bad_mac',
  });
  return {
    botId: state.botId,
    locked: { at: state.updatedAt, by: 'elevate', reason: QUARANTINE_REASON },
    disabled: null,
    // A hash of random bytes: no API key matches it, and each read gives another.
    apiKey: {
      hash: `sha256:${randomBytes(32).toString('hex')}`,
      rotatedAt: state.updatedAt,
      rotatedBy: 'elevate',
    },
    updatedAt: state.updatedAt,
  };
}
