/**
 * The least-privilege report (admin API, CLI, console, evidence pack): for each bot of the
 * policy, the allowed roles it did not request in the last 30, 60 and 90 days, the roles whose
 * every grant it gave back within seconds, and the narrower role list that drops the roles it did
 * not request in 90 days, with the evidence for each role (last request, counts, median held time).
 *
 * The figures come from the elevation index in two grouped SQL queries
 * (`store/least-privilege-query.ts`); this module only joins them to the policy and words them.
 */
import type { Logger } from 'pino';
import type { BotPolicy } from '../../config/policy.js';
import {
  DEFAULT_QUICK_RETURN_SECONDS,
  LEAST_PRIVILEGE_WINDOWS,
  MAX_QUICK_RETURN_SECONDS,
  REVIEW_WINDOW_DAYS,
  type BotLeastPrivilege,
  type LeastPrivilegeReport,
  type RoleUsageEvidence,
  type WindowCounts,
  type WindowRoles,
} from '../../core/model/least-privilege.js';
import type { ElevationIndex } from '../../store/elevation-index.js';
import type { RoleUsageRow } from '../../store/least-privilege-query.js';
import { ApiError, unavailable } from '../errors.js';

const DAY_MS = 24 * 3600 * 1000;

/** What the report reads of a bot in the policy. */
export type ReportedBot = Pick<BotPolicy, 'id' | 'owner' | 'team' | 'environment' | 'roles'>;

export interface LeastPrivilegeDeps {
  /** Which bots exist and which roles each may request. */
  policy: { bots: readonly ReportedBot[] };
  /** How each bot used each role, aggregated in SQL. */
  elevations: Pick<ElevationIndex, 'roleUsage'>;
  logger: Pick<Logger, 'error'>;
  clock?: () => Date;
}

/** What to report on. */
export interface LeastPrivilegeOptions {
  /** One bot only (`not_found` if the policy has no such bot). */
  botId?: string;
  /** "Within seconds": default {@link DEFAULT_QUICK_RETURN_SECONDS}, 1 to {@link MAX_QUICK_RETURN_SECONDS}. */
  quickReturnSeconds?: number;
}

export interface LeastPrivilegeReporter {
  /**
   * The report of every bot of the policy, or of `options.botId`.
   *
   * @throws ApiError `not_found` (field `botId`) for a bot the policy does not have,
   *   `invalid_request` (field `quickReturnSeconds`) for a threshold out of range,
   *   `service_unavailable` when the audit store cannot be read
   */
  report(options?: LeastPrivilegeOptions): Promise<LeastPrivilegeReport>;
}

/** The reporter over the policy and the elevation index. */
export function createLeastPrivilegeReporter(deps: LeastPrivilegeDeps): LeastPrivilegeReporter {
  const clock = deps.clock ?? (() => new Date());
  return {
    async report(options = {}) {
      const quickReturnSeconds = options.quickReturnSeconds ?? DEFAULT_QUICK_RETURN_SECONDS;
      if (
        !Number.isSafeInteger(quickReturnSeconds) ||
        quickReturnSeconds < 1 ||
        quickReturnSeconds > MAX_QUICK_RETURN_SECONDS
      ) {
        throw new ApiError(
          'invalid_request',
          `quickReturnSeconds: must be a whole number from 1 to ${MAX_QUICK_RETURN_SECONDS}`,
          'quickReturnSeconds',
        );
      }
      let bots = deps.policy.bots;
      if (options.botId !== undefined) {
        bots = bots.filter((b) => b.id === options.botId);
        if (bots.length === 0) throw new ApiError('not_found', `bot ${options.botId} not found`, 'botId');
      }
      const now = clock();
      const rows = await deps.elevations
        .roleUsage({
          since: LEAST_PRIVILEGE_WINDOWS.map((days) => new Date(now.getTime() - days * DAY_MS).toISOString()),
          heldSince: new Date(now.getTime() - REVIEW_WINDOW_DAYS * DAY_MS).toISOString(),
          now: now.toISOString(),
          quickReturnMs: quickReturnSeconds * 1000,
          ...(options.botId !== undefined ? { botId: options.botId } : {}),
        })
        .catch((err: unknown) => {
          throw unavailable(deps.logger, err, 'read the audit store');
        });
      return buildLeastPrivilegeReport(bots, rows, { now, quickReturnSeconds });
    },
  };
}

/**
 * The report of `bots` from the usage `rows` (as `roleUsage` returns them for the windows of
 * {@link LEAST_PRIVILEGE_WINDOWS}, ending at `now`). Rows of bots or roles the policy does not
 * list (any more) are left out: the report is about what the policy allows.
 */
export function buildLeastPrivilegeReport(
  bots: readonly ReportedBot[],
  rows: readonly RoleUsageRow[],
  { now, quickReturnSeconds }: { now: Date; quickReturnSeconds: number },
): LeastPrivilegeReport {
  const byBot = new Map<string, Map<string, RoleUsageRow>>();
  for (const row of rows) {
    let roles = byBot.get(row.botId);
    if (!roles) byBot.set(row.botId, (roles = new Map<string, RoleUsageRow>()));
    roles.set(row.roleId, row);
  }
  return {
    generatedAt: now.toISOString(),
    windowsDays: [...LEAST_PRIVILEGE_WINDOWS],
    reviewWindowDays: REVIEW_WINDOW_DAYS,
    quickReturnSeconds,
    bots: bots.map((bot) =>
      botReport(bot, byBot.get(bot.id) ?? new Map<string, RoleUsageRow>(), quickReturnSeconds),
    ),
  };
}

function botReport(
  bot: ReportedBot,
  usage: Map<string, RoleUsageRow>,
  quickReturnSeconds: number,
): BotLeastPrivilege {
  const roles = bot.roles.map((roleId) => roleEvidence(roleId, usage.get(roleId), quickReturnSeconds));
  const unusedIn = (window: keyof WindowCounts) =>
    roles.filter((r) => r.requests[window] === 0).map((r) => r.roleId);
  const unused: WindowRoles = {
    last30Days: unusedIn('last30Days'),
    last60Days: unusedIn('last60Days'),
    last90Days: unusedIn('last90Days'),
  };
  // The first request of any role, allowed now or not: how far back the bot's record goes.
  const firsts = [...usage.values()].map((r) => r.firstRequestedAt).sort();
  return {
    botId: bot.id,
    owner: bot.owner,
    team: bot.team,
    environment: bot.environment,
    allowedRoles: [...bot.roles],
    firstRequestedAt: firsts[0] ?? null,
    unused,
    quickReturn: roles.filter((r) => r.quickReturn).map((r) => r.roleId),
    recommendedRoles: roles.filter((r) => r.recommendation === 'keep').map((r) => r.roleId),
    removable: roles.filter((r) => r.recommendation === 'remove').map((r) => r.roleId),
    roles,
  };
}

/** The windows' counts of a row (in the order of {@link LEAST_PRIVILEGE_WINDOWS}). */
function windowCounts(row: RoleUsageRow | undefined): WindowCounts {
  const [d30 = 0, d60 = 0, d90 = 0] = row?.requests ?? [];
  return { last30Days: d30, last60Days: d60, last90Days: d90 };
}

function roleEvidence(
  roleId: string,
  row: RoleUsageRow | undefined,
  quickReturnSeconds: number,
): RoleUsageEvidence {
  const requests = windowCounts(row);
  const grants = row?.grants ?? 0;
  const quickReturns = row?.quickReturns ?? 0;
  const evidence = {
    roleId,
    lastRequestedAt: row?.lastRequestedAt ?? null,
    requests,
    grants,
    quickReturns,
    medianHeldMs: row?.medianHeldMs ?? null,
    maxHeldMs: row?.maxHeldMs ?? null,
    quickReturn: grants > 0 && quickReturns === grants,
    recommendation: requests.last90Days === 0 ? ('remove' as const) : ('keep' as const),
  };
  return { ...evidence, reason: reasonOf(evidence, quickReturnSeconds) };
}

/** The recommendation and its evidence in one sentence. */
function reasonOf(e: Omit<RoleUsageEvidence, 'reason'>, quickReturnSeconds: number): string {
  const last = e.lastRequestedAt ? `last requested ${e.lastRequestedAt.slice(0, 10)}` : '';
  if (e.lastRequestedAt === null) return 'never requested: remove it from the bot’s roles';
  if (e.recommendation === 'remove') {
    return `not requested in ${REVIEW_WINDOW_DAYS} days (${last}): remove it from the bot’s roles`;
  }
  const quiet = e.requests.last30Days === 0 ? ` (none in the last ${LEAST_PRIVILEGE_WINDOWS[0]} days)` : '';
  let text = `requested ${times(e.requests.last90Days)} in ${REVIEW_WINDOW_DAYS} days${quiet}, ${last}`;
  if (e.quickReturn) {
    text +=
      `; ${e.grants === 1 ? 'its one grant was' : `all ${e.grants} grants were`} given back within ` +
      `${quickReturnSeconds} s (median ${duration(e.medianHeldMs ?? 0)}): a narrower role may do`;
  } else if (e.medianHeldMs !== null) {
    text += `; held ${duration(e.medianHeldMs)} per grant (median of ${e.grants})`;
  }
  return text;
}

function times(n: number): string {
  return n === 1 ? 'once' : `${n} times`;
}

/** `850 ms`, `4.2 s`, `45 s`, `12 min`, `3.5 h`. */
export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 2 * 3600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3600_000).toFixed(1)} h`;
}
