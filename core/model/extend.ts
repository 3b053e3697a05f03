/**
 * Extending an active elevation: the role's rule (`roles[].extend` in the policy, carried in the
 * role snapshot the workflow starts with), what a bot or an admin asks for, and what an accepted
 * extension records. Part of the pure core: no I/O.
 */
import type { Actor } from './elevation.js';

/**
 * How a role's elevations may be extended while active. Absent from a role: never (the default).
 * `approval: 'none'` extends at once; `same-as-request` (extensions approved like the request)
 * is refused when the policy loads, until that path exists.
 */
export interface ExtendRule {
  /** The longest total lifetime of one elevation, from its grant: the window and every extension. */
  maxTotalSeconds: number;
  /** How many times one elevation may be extended. */
  maxExtensions: number;
  approval: 'none';
}

/** What a bot or an admin asks for: more seconds on the current window, and why. */
export interface ExtendInput {
  by: Actor;
  /** Seconds added to the current end of the window. */
  durationSeconds: number;
  justification?: string;
}

/** What the worker answers when an elevation's window moved (`extendGrant`). */
export interface ExtendGrantResult {
  /** Whether this worker's expiry revoker had the grant and moved its timer to the new end. */
  rescheduled: boolean;
  /** When the worker confirmed the move (ISO 8601). */
  at: string;
}

/** What Slack is told of an accepted extension besides the view: who asked, for how long, why. */
export interface ExtensionNote {
  by: Actor;
  durationSeconds: number;
  justification?: string;
}
