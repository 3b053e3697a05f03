/**
 * How each bot used each role, read from the elevation index for the least-privilege report
 * (`domain/bots/least-privilege.ts`): grouped counts and held-time statistics computed in SQL,
 * the same statements on SQLite and PostgreSQL, so the report never loads elevations one by one.
 *
 * Only the time a role was held needs each engine's own date arithmetic: the summary rows keep
 * instants as ISO 8601 text, and SQLite and PostgreSQL subtract them differently.
 */
import { sql, type Kysely, type RawBuilder } from 'kysely';
import type { Engine } from './connection.js';
import type { StoreSchema } from './schema.js';

/** What to count: the windows, the held-time window, and what "given back quickly" means. */
export interface RoleUsageQuery {
  /** Start of each counted window (ISO 8601): requests at or after it count in it. */
  since: readonly string[];
  /** Grants and held times are of the elevations requested at or after this instant. */
  heldSince: string;
  /** Now (ISO 8601): a grant still in force counts as held until this instant. */
  now: string;
  /** A grant given back by the bot at most this long after it was granted is a quick return. */
  quickReturnMs: number;
  /** Only this bot's elevations. */
  botId?: string;
}

/** How one bot used one role. */
export interface RoleUsageRow {
  botId: string;
  roleId: string;
  /** Its first and last request of the role, at any time (ISO 8601). */
  firstRequestedAt: string;
  lastRequestedAt: string;
  /** Requests in each window of {@link RoleUsageQuery.since}, in the same order. */
  requests: number[];
  /** Grants of the elevations requested since `heldSince`. */
  grants: number;
  /** Of those, the ones the bot gave back within `quickReturnMs` of the grant. */
  quickReturns: number;
  /** Median and longest time held per grant, in ms; null without grants. */
  medianHeldMs: number | null;
  maxHeldMs: number | null;
}

/**
 * Milliseconds from the grant to the end of the elevation (or to `now`, while it is in force),
 * rounded to the millisecond. SQLite counts in Julian days (a double: about 50 µs of precision
 * today); PostgreSQL subtracts timestamps exactly.
 */
export function heldMsExpression(engine: Engine, now: string): RawBuilder<number> {
  return engine === 'postgres'
    ? sql<number>`round(extract(epoch from (coalesce(ended_at, ${now})::timestamptz - granted_at::timestamptz)) * 1000)`
    : sql<number>`round((julianday(coalesce(ended_at, ${now})) - julianday(granted_at)) * 86400000.0)`;
}

/**
 * Per bot and role: first and last request, and requests in each window, in one grouped pass.
 * Exported for the tests that look at it.
 */
export function requestCountsQuery(db: Kysely<StoreSchema>, query: RoleUsageQuery) {
  let q = db
    .selectFrom('elevations')
    .select((eb) => [
      'bot_id',
      'role_id',
      eb.fn.min('requested_at').as('first_at'),
      eb.fn.max('requested_at').as('last_at'),
      ...query.since.map((since, i) =>
        eb.fn
          .sum<number | string>(eb.case().when('requested_at', '>=', since).then(1).else(0).end())
          .as(`r${i}`),
      ),
    ]);
  if (query.botId !== undefined) q = q.where('bot_id', '=', query.botId);
  return q.groupBy(['bot_id', 'role_id']);
}

/**
 * Per bot and role, of the grants requested since `heldSince`: how many, how many given back
 * quickly, the median held time (the middle row, or the mean of the middle two, by
 * `row_number()` over the bot and role), and the longest. Window functions are in both engines.
 */
export function heldTimesQuery(db: Kysely<StoreSchema>, engine: Engine, query: RoleUsageQuery) {
  const held = heldMsExpression(engine, query.now);
  let grants = db
    .selectFrom('elevations')
    .where('requested_at', '>=', query.heldSince)
    .where('granted_at', 'is not', null);
  if (query.botId !== undefined) grants = grants.where('bot_id', '=', query.botId);
  const ranked = grants.select([
    'bot_id',
    'role_id',
    'end_reason',
    held.as('ms'),
    sql<number>`row_number() over (partition by bot_id, role_id order by ${held})`.as('rn'),
    sql<number>`count(*) over (partition by bot_id, role_id)`.as('n'),
  ]);
  return db
    .selectFrom(ranked.as('r'))
    .select((eb) => [
      'r.bot_id',
      'r.role_id',
      eb.fn.max('r.n').as('grants'),
      eb.fn.max('r.ms').as('max_ms'),
      sql<
        number | string
      >`sum(case when r.end_reason = 'given_back' and r.ms <= ${query.quickReturnMs} then 1 else 0 end)`.as(
        'quick',
      ),
      sql<number | string | null>`avg(case when r.rn in ((r.n + 1) / 2, (r.n + 2) / 2) then r.ms end)`.as(
        'median_ms',
      ),
    ])
    .groupBy(['r.bot_id', 'r.role_id']);
}

/**
 * How each bot (or `query.botId`) used each role it ever requested: the two queries above, joined
 * by bot and role. Pairs never requested are absent.
 */
export async function roleUsage(
  db: Kysely<StoreSchema>,
  engine: Engine,
  query: RoleUsageQuery,
): Promise<RoleUsageRow[]> {
  const [counts, held] = await Promise.all([
    requestCountsQuery(db, query).execute(),
    heldTimesQuery(db, engine, query).execute(),
  ]);
  const key = (bot: string, role: string) => JSON.stringify([bot, role]);
  const heldBy = new Map(held.map((h) => [key(h.bot_id, h.role_id), h]));
  return counts.map((c) => {
    const h = heldBy.get(key(c.bot_id, c.role_id));
    const row = c as unknown as Record<string, unknown>;
    return {
      botId: c.bot_id,
      roleId: c.role_id,
      firstRequestedAt: String(c.first_at),
      lastRequestedAt: String(c.last_at),
      requests: query.since.map((_, i) => Number(row[`r${i}`] ?? 0)),
      grants: Number(h?.grants ?? 0),
      quickReturns: Number(h?.quick ?? 0),
      medianHeldMs: h?.median_ms == null ? null : Math.round(Number(h.median_ms)),
      maxHeldMs: h?.max_ms == null ? null : Number(h.max_ms),
    };
  });
}
