/**
 * The pure rules of periodic owner attestation: which bots are due, the id of an attestation,
 * how an owner's answer splits the bot's roles, and how the outcome refuses requests.
 */
import type { AttestationSettings, BotAttestation } from '../model/attestation.js';

const DAY_MS = 86_400_000;

/** The attestation workflow id of a bot asked on `at`'s (UTC) day: a re-run that day starts nothing new. */
export function attestationIdFor(botId: string, at: Date): string {
  return `attestation-${botId}-${at.toISOString().slice(0, 10)}`;
}

/** Whether `id` has the shape of an attestation id (before anything is looked up with it). */
export function isAttestationId(id: string): boolean {
  return /^attestation-[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?-\d{4}-\d{2}-\d{2}$/.test(id);
}

/**
 * Whether a bot's owner should be asked now: never attested, or last attested `everyDays` ago
 * or more; and no attestation asked for within the last `answerWithinDays` (one still open, or
 * one that has only just expired: the owner of a suspended bot is asked again once per window).
 */
export function attestationDue(
  state: BotAttestation | undefined,
  settings: AttestationSettings,
  now: Date,
): boolean {
  const t = now.getTime();
  const attested = state?.attestedAt ? Date.parse(state.attestedAt) : Number.NaN;
  if (Number.isFinite(attested) && t - attested < settings.everyDays * DAY_MS) return false;
  const asked = state?.requested ? Date.parse(state.requested.at) : Number.NaN;
  return !(Number.isFinite(asked) && t - asked < settings.answerWithinDays * DAY_MS);
}

/** The deadline of an attestation asked for at `at`. */
export function attestationDeadline(at: Date, settings: AttestationSettings): Date {
  return new Date(at.getTime() + settings.answerWithinDays * DAY_MS);
}

/**
 * The owner's answer as kept and trimmed roles, in the order the attestation listed them; a
 * `problem` when the answer names a role the attestation did not ask about (or one twice).
 */
export function splitAttestedRoles(
  asked: readonly string[],
  kept: readonly string[],
): { kept: string[]; trimmed: string[] } | { problem: string } {
  const unknown = kept.find((r) => !asked.includes(r));
  if (unknown !== undefined) return { problem: `role ${unknown} is not one of the bot's roles` };
  if (new Set(kept).size !== kept.length) return { problem: 'a role is named twice' };
  return { kept: asked.filter((r) => kept.includes(r)), trimmed: asked.filter((r) => !kept.includes(r)) };
}

/** Why attestation refuses a bot's request for a role, in words for the bot. */
export interface AttestationBlock {
  code: 'attestation_overdue' | 'role_suspended';
  message: string;
}

/**
 * Whether the bot's attestation state refuses a request for `roleId`: an unanswered attestation
 * suspends every request; a trimmed role is refused by itself.
 */
export function attestationBlock(
  botId: string,
  state: BotAttestation | undefined,
  roleId: string,
): AttestationBlock | undefined {
  if (state?.overdue) {
    return {
      code: 'attestation_overdue',
      message: `bot ${botId} is suspended: its owner did not confirm its roles by the attestation deadline (${state.overdue.at}); its owner attests again, or an Elevate admin enables it`,
    };
  }
  if (state?.trimmedRoles.includes(roleId)) {
    return {
      code: 'role_suspended',
      message: `role ${roleId} is suspended for bot ${botId}: its owner removed it from the bot's roles at the attestation of ${state.attestedAt ?? 'an earlier date'}; only a later attestation by the owner restores it`,
    };
  }
  return undefined;
}
