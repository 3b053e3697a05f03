/**
 * The least-privilege report: for each bot, which of the roles the policy allows it went
 * unrequested for 30, 60 and 90 days, which it always gave back within seconds, and the narrower
 * role list that follows, each with its evidence. Computed by `domain/bots/least-privilege.ts`
 * from the elevation index; shown by the admin API, the CLI, the console and the evidence pack.
 */

/** The look-back windows, in days, shortest first; the last is the review window. */
export const LEAST_PRIVILEGE_WINDOWS = [30, 60, 90] as const;
export type LeastPrivilegeWindow = (typeof LEAST_PRIVILEGE_WINDOWS)[number];

/** The review window: a role not requested in it is recommended for removal. */
export const REVIEW_WINDOW_DAYS: LeastPrivilegeWindow = 90;

/**
 * "Given back within seconds" by default: every grant of the role in the review window was given
 * back by the bot at most this long after it was granted. Long enough for a script that grants,
 * does one thing and gives back; short enough that no interactive use fits in it.
 */
export const DEFAULT_QUICK_RETURN_SECONDS = 30;

/** The most a report may be asked to take as "within seconds" (one hour). */
export const MAX_QUICK_RETURN_SECONDS = 3600;

/** A count for each window, by its length in days. */
export interface WindowCounts {
  last30Days: number;
  last60Days: number;
  last90Days: number;
}

/** Role ids for each window, by its length in days. */
export interface WindowRoles {
  last30Days: string[];
  last60Days: string[];
  last90Days: string[];
}

/** What the report recommends for one allowed role. */
export type RoleRecommendation = 'keep' | 'remove';

/** One role the policy allows a bot, with the evidence of how the bot used it. */
export interface RoleUsageEvidence {
  roleId: string;
  /** The bot's last request of the role (ISO 8601), at any time; null when it never asked. */
  lastRequestedAt: string | null;
  /** Requests of the role in each window, whatever became of them (denied ones count). */
  requests: WindowCounts;
  /** Grants of the role requested in the review window. */
  grants: number;
  /** Of those, the ones the bot gave back within {@link LeastPrivilegeReport.quickReturnSeconds}. */
  quickReturns: number;
  /**
   * Median time the role was held per grant in the review window, in milliseconds (a grant still
   * in force counts until now); null without grants.
   */
  medianHeldMs: number | null;
  /** Longest time held per grant in the review window, in milliseconds; null without grants. */
  maxHeldMs: number | null;
  /** Every grant in the review window was given back within the threshold (and there was one). */
  quickReturn: boolean;
  /** `remove` when the role was not requested in the review window. */
  recommendation: RoleRecommendation;
  /** The recommendation and its evidence, as a sentence for people. */
  reason: string;
}

/** One bot's least-privilege report. */
export interface BotLeastPrivilege {
  botId: string;
  owner: string;
  team: string;
  environment: string;
  /** The roles the policy allows the bot, in policy order. */
  allowedRoles: string[];
  /** The bot's first recorded request (ISO 8601), of any role; null when it never asked. */
  firstRequestedAt: string | null;
  /** Allowed roles the bot did not request in each window (each list includes the next shorter one's). */
  unused: WindowRoles;
  /** Allowed roles whose every grant in the review window was given back within the threshold. */
  quickReturn: string[];
  /** The allowed roles minus those not requested in the review window, in policy order. */
  recommendedRoles: string[];
  /** The allowed roles the recommendation drops. */
  removable: string[];
  /** The evidence, one entry per allowed role, in policy order. */
  roles: RoleUsageEvidence[];
}

/** The least-privilege report of some bots, as of one instant. */
export interface LeastPrivilegeReport {
  /** When it was computed (ISO 8601); every window ends here. */
  generatedAt: string;
  /** The windows, in days ({@link LEAST_PRIVILEGE_WINDOWS}). */
  windowsDays: LeastPrivilegeWindow[];
  /** The review window, in days ({@link REVIEW_WINDOW_DAYS}). */
  reviewWindowDays: LeastPrivilegeWindow;
  /** "Within seconds", as this report took it. */
  quickReturnSeconds: number;
  /** The bots, in policy order. */
  bots: BotLeastPrivilege[];
}
