/**
 * Extending an active elevation: the role's rule (`roles[].extend` in the policy, carried in the
 * role snapshot the workflow starts with), what a bot or an admin asks for, and what an accepted
 * extension records. Part of the pure core: no I/O.
 */
import type { Actor, ApprovalRecord } from './elevation.js';

/**
 * How a role's elevations may be extended while active. Absent from a role: never (the default).
 * `approval: 'none'` extends at once; `same-as-request` asks the approvers the request asked
 * (the same groups and quorums), and the window moves only once they approve.
 */
export interface ExtendRule {
  /** The longest total lifetime of one elevation, from its grant: the window and every extension. */
  maxTotalSeconds: number;
  /** How many times one elevation may be extended. */
  maxExtensions: number;
  approval: 'none' | 'same-as-request';
}

/**
 * An extension waiting for approvers (`approval: same-as-request`): at most one at a time. Its
 * `number` counts the extensions asked for in this elevation (approved or not), so an approval
 * made for one can never count for another. It closes at `deadline` (the approval window, and at
 * the latest the window's current end) unless approved or denied first.
 */
export interface PendingExtension {
  number: number;
  durationSeconds: number;
  requestedBy: Actor;
  justification?: string;
  requestedAt: string;
  deadline: string;
  /** Distinct approvals needed in all, and each group's quorum and progress. */
  quorum: number;
  groups: { name: string; quorum: number; approved: number }[];
  approvals: ApprovalRecord[];
}

/** How an extension that waited for approvers ended without moving the window. */
export type ExtensionClosedOutcome = 'denied' | 'expired' | 'failed';

/** What Slack is told of an extension that closed without moving the window. */
export interface ClosedExtensionNote {
  number: number;
  outcome: ExtensionClosedOutcome;
  durationSeconds: number;
  by: Actor;
  reason: string | null;
  /** Approvals it had when it closed. */
  approvals: number;
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
