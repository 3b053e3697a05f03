/**
 * The elevation list's filters — by bot, role, owner, team, environment, target type, risk,
 * status, time and page — turned into the store's query. The admin API
 * (`GET /v1/admin/elevations`) and the console's list take the same filters in their own
 * forms (the API's times are instants, the console's are days or minutes from a date input);
 * both come through here, so a filter cannot work in one and be forgotten in the other.
 */
import type { ElevationQuery } from '../store/elevation-index.js';

/** The list's filters as parsed from a request: absent or undefined means "any". */
export interface ElevationFilters {
  bot?: string | undefined;
  role?: string | undefined;
  owner?: string | undefined;
  team?: string | undefined;
  environment?: string | undefined;
  targetType?: ElevationQuery['targetType'] | undefined;
  risk?: ElevationQuery['risk'] | undefined;
  /** Any of these statuses; an empty list is no filter. */
  status?: ElevationQuery['status'] | undefined;
  from?: string | undefined;
  to?: string | undefined;
  cursor?: string | undefined;
}

/**
 * The store's query for the filters `q`, `limit` rows at a time. `instant` turns the filter's `from`
 * and `to` into ISO instants (`end` is true for `to`, the window's exclusive end).
 */
export function elevationQuery(
  q: ElevationFilters,
  limit: number,
  instant: (value: string, end: boolean) => string,
): ElevationQuery {
  return {
    limit,
    ...(q.bot ? { botId: q.bot } : {}),
    ...(q.role ? { roleId: q.role } : {}),
    ...(q.owner ? { owner: q.owner } : {}),
    ...(q.team ? { team: q.team } : {}),
    ...(q.environment ? { environment: q.environment } : {}),
    ...(q.targetType ? { targetType: q.targetType } : {}),
    ...(q.risk ? { risk: q.risk } : {}),
    ...(q.status?.length ? { status: q.status } : {}),
    ...(q.from ? { from: instant(q.from, false) } : {}),
    ...(q.to ? { to: instant(q.to, true) } : {}),
    ...(q.cursor ? { cursor: q.cursor } : {}),
  };
}
