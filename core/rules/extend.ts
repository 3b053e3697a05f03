/**
 * The rules of extending an active elevation, shared by the API (which answers a refused
 * extension before it reaches Temporal) and the workflow's Update validator (which decides).
 * Pure: no clock, no I/O.
 *
 * The cap is on the elevation's whole lifetime from its grant: the window it was granted for
 * plus every extension, never more than the role's `extend.maxTotalSeconds`, and at most
 * `extend.maxExtensions` extensions.
 */
import type { ElevationView } from '../model/elevation.js';
import type { ExtendInput, ExtendRule } from '../model/extend.js';
import type { RefusalCode } from '../model/decisions.js';
import { isFinal } from './elevation-view.js';

/** Why an extension is refused: the code, the sentence the caller reads, and the field at fault. */
export interface ExtensionRefusal {
  code: Extract<
    RefusalCode,
    | 'invalid_input'
    | 'already_ended'
    | 'not_active'
    | 'extension_not_allowed'
    | 'too_many_extensions'
    | 'extension_too_long'
  >;
  message: string;
  field?: string;
}

/** The elevation's lifetime in seconds after adding `seconds`: the window, the extensions so far, these. */
export function lifetimeAfter(
  view: Pick<ElevationView, 'durationSeconds' | 'extendedSeconds'>,
  seconds: number,
): number {
  return view.durationSeconds + (view.extendedSeconds ?? 0) + seconds;
}

/** The window's new end (ISO 8601): the current `expiresAt` plus `seconds`. */
export function extendedEnd(view: Pick<ElevationView, 'expiresAt'>, seconds: number): string {
  return new Date(Date.parse(view.expiresAt ?? '') + seconds * 1000).toISOString();
}

/**
 * Why `input` may not extend `view` under `rule` (the role's, as the elevation started with it),
 * or undefined when it may.
 */
export function extensionRefusal(
  view: ElevationView,
  rule: ExtendRule | undefined,
  input: Partial<ExtendInput> | undefined,
): ExtensionRefusal | undefined {
  const by = input?.by;
  if (by?.kind !== 'bot' && by?.kind !== 'admin') {
    return { code: 'invalid_input', message: 'only the bot or an admin may extend an elevation' };
  }
  if (by.kind === 'bot' && by.id !== view.botId) {
    return { code: 'invalid_input', message: `bot ${by.id} may extend only its own elevations` };
  }
  const seconds = input?.durationSeconds;
  if (typeof seconds !== 'number' || !Number.isInteger(seconds) || seconds < 1) {
    return {
      code: 'invalid_input',
      message: 'durationSeconds must be a whole number of seconds, at least 1',
      field: 'durationSeconds',
    };
  }
  if (isFinal(view)) return { code: 'already_ended', message: `the elevation has ended (${view.status})` };
  if (view.status !== 'active' || view.expiresAt === undefined) {
    return {
      code: 'not_active',
      message: `the elevation is ${view.status}, not active: only an active elevation can be extended`,
    };
  }
  if (!rule) {
    return {
      code: 'extension_not_allowed',
      message: `role ${view.roleId} does not allow extensions (the policy's roles[].extend)`,
      field: 'role',
    };
  }
  const count = view.extensions ?? 0;
  if (count >= rule.maxExtensions) {
    return {
      code: 'too_many_extensions',
      message: `elevation ${view.id} has been extended ${count} times, the most role ${view.roleId} allows (roles[].extend.maxExtensions = ${rule.maxExtensions})`,
    };
  }
  const total = lifetimeAfter(view, seconds);
  if (total > rule.maxTotalSeconds) {
    const left = Math.max(rule.maxTotalSeconds - lifetimeAfter(view, 0), 0);
    return {
      code: 'extension_too_long',
      message: `the elevation would last ${total} s in all; role ${view.roleId} caps it at ${rule.maxTotalSeconds} s (roles[].extend.maxTotalSeconds), so at most ${left} more seconds`,
      field: 'durationSeconds',
    };
  }
  return undefined;
}
