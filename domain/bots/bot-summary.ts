/**
 * A bot as admins see it (the admin API, the CLI and the console): its policy entry merged with
 * what admins changed at runtime, and what the admin actions on bots answer.
 */
import type { BotPolicy } from '../../config/policy.js';
import type { ElevationView } from '../../core/model/elevation.js';
import type { ErrorCode } from '../../core/errors/error-codes.js';
import type { BotLock, BotState } from '../../store/bot-state.js';

/** A bot as admins see it: its policy entry, merged with what admins changed at runtime. */
export interface BotSummary {
  id: string;
  owner: string;
  team: string;
  purpose: string;
  environment: string;
  roles: string[];
  /** The bot's identity in each kind of target it has roles in, as the policy says. */
  principals: { ldapDn?: string; postgresLogin?: string; awsPrincipal?: string };
  /** Whether its requests are refused with `bot_disabled`: the admin override if any, else the policy. */
  disabled: boolean;
  /** What the policy file says about `disabled`. */
  policyDisabled: boolean;
  /** An admin's override of the policy's `disabled` (kept only while it differs), or null. */
  disabledOverride: { value: boolean; at: string; by: string } | null;
  /** An admin's lockdown (requests refused with `bot_locked`), or null. */
  locked: BotLock | null;
  /** When an admin last rotated the bot's API key (the policy's key no longer works), or null. */
  keyRotatedAt: string | null;
  /** The admin who did. */
  keyRotatedBy: string | null;
  /** Whether the bot may also authenticate with a workload identity token (`federation`). */
  federation: boolean;
  /** Its elevations in status `active`. */
  activeElevations: number;
  /** Its elevations not yet ended: `pending_approval`, `approved`, `active` or `revoking`. */
  openElevations: number;
}

/** What a lockdown did (`BotAdminService.lockBot`). */
export interface BotLockResult {
  bot: BotSummary;
  /** The elevations it revoked: a pending one is `revoked` at once, the others are `revoking`. */
  revoked: ElevationView[];
  /** Elevations it could not revoke now (the lock stands; lock again to retry them). */
  failed: { id: string; code: ErrorCode; message: string }[];
}

/** A rotated API key (`BotAdminService.rotateBotKey`): the key is in no other place. */
export interface BotKeyRotation {
  bot: BotSummary;
  /** The new key, `elv_bot_…`; only its hash is stored. */
  key: string;
}

/** Extra fields an admin action records in its event: where it was made, e.g. `{via: 'console'}`. */
export interface AdminContext {
  /** `console` for the admin console; absent for the admin API. */
  via?: string;
}

/** The summary of `bot` with its runtime state and its open elevations counted by status. */
export function summarise(
  bot: BotPolicy,
  state: BotState | undefined,
  counts: Partial<Record<ElevationView['status'], number>> = {},
): BotSummary {
  return {
    id: bot.id,
    owner: bot.owner,
    team: bot.team,
    purpose: bot.purpose,
    environment: bot.environment,
    roles: [...bot.roles],
    principals: {
      ...(bot.ldapDn !== undefined ? { ldapDn: bot.ldapDn } : {}),
      ...(bot.postgresLogin !== undefined ? { postgresLogin: bot.postgresLogin } : {}),
      ...(bot.awsPrincipal !== undefined ? { awsPrincipal: bot.awsPrincipal } : {}),
    },
    disabled: state?.disabled?.value ?? bot.disabled,
    policyDisabled: bot.disabled,
    disabledOverride: state?.disabled ?? null,
    locked: state?.locked ?? null,
    keyRotatedAt: state?.apiKey?.rotatedAt ?? null,
    keyRotatedBy: state?.apiKey?.rotatedBy ?? null,
    federation: bot.federation !== undefined,
    activeElevations: counts.active ?? 0,
    openElevations: Object.values(counts).reduce((sum, n) => sum + (n ?? 0), 0),
  };
}

/** The first 12 hex digits of a stored key hash, as events name a key. */
export function keyFingerprint(hash: string): string {
  return hash.slice('sha256:'.length, 'sha256:'.length + 12);
}
