/**
 * The elevation index: one summary row per elevation, replaced by the audit log's append in the
 * same transaction as the event that changed it (`elevation` on the event), and the reads the
 * API and the console make of it — one elevation, filtered pages newest first, counts by status.
 * The filter columns, risk among them, are computed here in TypeScript when the row is written.
 */
import { sql, type Kysely } from 'kysely';
import { ELEVATION_STATUSES, type ElevationStatus, type ElevationView } from '../core/model/elevation.js';
import type { NewAuditEvent } from '../core/model/audit-record.js';
import type { TargetType } from '../core/model/targets.js';
import { riskOf, type Risk } from '../core/rules/risk.js';
import type { StoreConnection } from './connection.js';
import { InvalidCursorError, InvalidQueryError } from './errors.js';
import { roleUsage, type RoleUsageQuery, type RoleUsageRow } from './least-privilege-query.js';
import type { StoreSchema } from './schema.js';

/** Filters for listing elevations; newest first. */
export interface ElevationQuery {
  botId?: string;
  roleId?: string;
  /** The bot's owner (e-mail, lower case) as recorded at request time. */
  owner?: string;
  /** The bot's team as recorded at request time. */
  team?: string;
  /** The role's environment. */
  environment?: string;
  /** The kind of target the role is granted in (a bundle's: any of its roles'). */
  targetType?: TargetType;
  /** The elevation's risk (see `core/rules/risk.ts`). */
  risk?: Risk;
  status?: ElevationStatus[];
  /** Requested at or after this ISO instant. */
  from?: string;
  /** Requested strictly before this ISO instant. */
  to?: string;
  limit: number;
  /** Opaque cursor from a previous page's `nextCursor`. */
  cursor?: string;
}

export interface ElevationPage {
  items: ElevationView[];
  /** Present when more items follow. */
  nextCursor?: string;
}

/** How many elevations of each bot are not yet ended, by bot id and status. */
export type OpenElevationCounts = Record<string, Partial<Record<ElevationStatus, number>>>;

/** The statuses of an elevation that has not ended yet. */
const OPEN_STATUSES: readonly ElevationStatus[] = ['pending_approval', 'approved', 'active', 'revoking'];

/**
 * The filter columns of a summary row besides the view's own ids: owner, environment and risk
 * come from the view; team and target type only from the `elevation.requested` event, which
 * carries the bot and role as recorded (other events leave them null, and the upsert keeps them).
 */
export interface FilterColumns {
  owner: string;
  team: string | null;
  environment: string;
  targetType: string | null;
  risk: Risk;
}

/** The {@link FilterColumns} an event of `type` with `data` sets on its elevation's row. */
export function filterColumns(
  type: string,
  data: Record<string, unknown>,
  view: ElevationView,
): FilterColumns {
  let team: string | null = null;
  let targetType: string | null = null;
  if (type === 'elevation.requested') {
    const bot = data.bot as { team?: unknown } | null | undefined;
    const role = data.role as { target?: { type?: unknown } } | null | undefined;
    if (typeof bot?.team === 'string') team = bot.team;
    if (typeof role?.target?.type === 'string') targetType = role.target.type;
  }
  return {
    owner: view.owner,
    team,
    environment: view.environment,
    targetType,
    risk: riskOf(view),
  };
}

/**
 * The kinds of target a bundle's elevation is granted in, each once (none for a single role,
 * whose one kind is the `target_type` column): rows of `elevation_target_types`.
 */
export function bundleTargetTypes(view: ElevationView): string[] {
  return [...new Set(view.bundle?.grants.map((g) => g.targetType) ?? [])];
}

/** The console charts' columns of a summary row, from its view. */
export function chartColumns(view: ElevationView) {
  const approvals = view.approvals;
  const approved =
    view.approval.mode === 'approvers' && approvals.length > 0 && approvals.length >= view.approval.quorum;
  return {
    granted_at: view.grantedAt ?? null,
    ended_at: view.endedAt ?? null,
    end_reason: view.endReason ?? null,
    // From the end of the window to the read-back that confirmed the removal.
    revoke_lag_ms:
      view.endReason === 'expired' && view.status === 'revoked' && view.expiresAt && view.endedAt
        ? Math.max(0, Date.parse(view.endedAt) - Date.parse(view.expiresAt))
        : null,
    // From the request to the approval that met the quorum.
    turnaround_ms: approved
      ? Math.max(0, Math.max(...approvals.map((a) => Date.parse(a.at))) - Date.parse(view.requestedAt))
      : null,
  };
}

/** What the console's charts show of the elevations requested in a window, counted in SQL. */
export interface ChartAggregates {
  /** Elevations requested in the window. */
  total: number;
  /** Elevations by UTC day of request (`YYYY-MM-DD`), status and end reason. */
  byDay: { day: string; status: string; endReason: string | null; count: number }[];
  /** Per interval given: grants in force at some time during it. */
  active: number[];
  /** Revocation lags of the windows that ran out, in ms, ascending (quantiles need the values). */
  revokeLagsMs: number[];
  /** Approval turnarounds, in ms, ascending. */
  turnaroundsMs: number[];
  /** The ten bots and roles with the most elevations, most first. */
  topBots: { label: string; value: number }[];
  topRoles: { label: string; value: number }[];
}

/** Parses a stored elevation view (JSON text in SQLite, jsonb in PostgreSQL). */
export function parseView(view: unknown): ElevationView {
  return (typeof view === 'string' ? JSON.parse(view) : view) as ElevationView;
}

/**
 * Replaces the summary row of `view`'s elevation; run by the audit log's append, in its
 * transaction (`trx`), with the position of the event that carried the view.
 */
export async function writeSummary(
  trx: Kysely<StoreSchema>,
  event: NewAuditEvent,
  view: ElevationView,
  position: number,
): Promise<void> {
  const c = filterColumns(event.type, event.data, view);
  await trx
    .insertInto('elevations')
    .values({
      id: view.id,
      bot_id: view.botId,
      role_id: view.roleId,
      status: view.status,
      requested_at: view.requestedAt,
      view: JSON.stringify(view),
      updated_position: position,
      owner: c.owner,
      team: c.team,
      environment: c.environment,
      target_type: c.targetType,
      risk: c.risk,
      ...chartColumns(view),
    })
    .onConflict((oc) =>
      oc.column('id').doUpdateSet((eb) => ({
        bot_id: eb.ref('excluded.bot_id'),
        role_id: eb.ref('excluded.role_id'),
        status: eb.ref('excluded.status'),
        requested_at: eb.ref('excluded.requested_at'),
        view: eb.ref('excluded.view'),
        updated_position: eb.ref('excluded.updated_position'),
        owner: eb.ref('excluded.owner'),
        environment: eb.ref('excluded.environment'),
        risk: eb.ref('excluded.risk'),
        granted_at: eb.ref('excluded.granted_at'),
        ended_at: eb.ref('excluded.ended_at'),
        end_reason: eb.ref('excluded.end_reason'),
        revoke_lag_ms: eb.ref('excluded.revoke_lag_ms'),
        turnaround_ms: eb.ref('excluded.turnaround_ms'),
        team: eb.fn.coalesce('excluded.team', 'elevations.team'),
        target_type: eb.fn.coalesce('excluded.target_type', 'elevations.target_type'),
      })),
    )
    .execute();
  const types = bundleTargetTypes(view);
  if (types.length > 0) {
    await trx
      .insertInto('elevation_target_types')
      .values(types.map((type) => ({ elevation_id: view.id, target_type: type })))
      .onConflict((oc) => oc.doNothing())
      .execute();
  }
}

/** The position a listing resumes after: the last row of the previous page. */
interface CursorPosition {
  requestedAt: string;
  id: string;
}

/** Encodes the last row of a page as an opaque cursor (base64url of JSON). */
export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([position.requestedAt, position.id]), 'utf8').toString('base64url');
}

/** Decodes a cursor made by {@link encodeCursor}; anything else is an {@link InvalidCursorError}. */
export function decodeCursor(cursor: string): CursorPosition {
  // Buffer's base64url decoder skips characters it does not know, so check the alphabet first.
  if (!/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidCursorError();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError();
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== 2 ||
    typeof parsed[0] !== 'string' ||
    typeof parsed[1] !== 'string'
  ) {
    throw new InvalidCursorError();
  }
  const position = { requestedAt: parsed[0], id: parsed[1] };
  // Only cursors this store issued are accepted: re-encoding must give the same text back.
  if (encodeCursor(position) !== cursor) throw new InvalidCursorError();
  return position;
}

/**
 * The listing query: the filters, each served by its index in listing order, newest first, one
 * row more than asked (whether another page follows). Exported for the tests that look at its plan.
 *
 * @throws {@link InvalidCursorError} when `query.cursor` is not one this store issued
 */
export function elevationListQuery(db: Kysely<StoreSchema>, query: ElevationQuery) {
  const after = query.cursor !== undefined ? decodeCursor(query.cursor) : undefined;
  const equal = {
    bot_id: query.botId,
    role_id: query.roleId,
    owner: query.owner,
    team: query.team,
    environment: query.environment,
    risk: query.risk,
  } as const;
  let q = db.selectFrom('elevations').select(['id', 'requested_at', 'view']);
  for (const [column, value] of Object.entries(equal) as [keyof typeof equal, string | undefined][]) {
    if (value !== undefined) q = q.where(column, '=', value);
  }
  // A single role's kind is its row's; a bundle's are every kind its roles are granted in.
  const type = query.targetType;
  if (type !== undefined) {
    q = q.where((eb) =>
      eb.or([
        eb('target_type', '=', type),
        eb(
          'id',
          'in',
          eb.selectFrom('elevation_target_types').select('elevation_id').where('target_type', '=', type),
        ),
      ]),
    );
  }
  // An empty status list means "no status filter", as an empty query-string list would.
  if (query.status !== undefined && query.status.length > 0) q = q.where('status', 'in', query.status);
  if (query.from !== undefined) q = q.where('requested_at', '>=', query.from);
  if (query.to !== undefined) q = q.where('requested_at', '<', query.to);
  if (after) {
    q = q.where((eb) => eb(eb.refTuple('requested_at', 'id'), '<', eb.tuple(after.requestedAt, after.id)));
  }
  return q
    .orderBy('requested_at', 'desc')
    .orderBy('id', 'desc')
    .limit(query.limit + 1);
}

/**
 * One grouped count of the summary rows by status, read from the `elevations_status` index alone.
 * Exported for the tests that look at its plan.
 */
export function countByStatusQuery(db: Kysely<StoreSchema>) {
  return db
    .selectFrom('elevations')
    .select((eb) => ['status', eb.fn.countAll().as('n')])
    .groupBy('status');
}

/** The elevation index's reads. */
export class ElevationIndex {
  constructor(private readonly conn: StoreConnection) {}

  /** The summary of one elevation. */
  async getElevation(id: string): Promise<ElevationView | undefined> {
    const row = await this.conn.db
      .selectFrom('elevations')
      .select('view')
      .where('id', '=', id)
      .executeTakeFirst();
    return row ? parseView(row.view) : undefined;
  }

  /**
   * Lists elevation summaries, newest first (requestedAt, then id, descending), each filter read
   * from its own index.
   *
   * @throws {@link InvalidCursorError} when `query.cursor` is not one this store issued
   * @throws {@link InvalidQueryError} when `query.limit` is not a whole number of at least 1
   */
  async listElevations(query: ElevationQuery): Promise<ElevationPage> {
    if (!Number.isSafeInteger(query.limit) || query.limit < 1) {
      throw new InvalidQueryError('limit', 'limit must be a whole number of at least 1');
    }
    const rows = await elevationListQuery(this.conn.db, query).execute();
    const items = rows.slice(0, query.limit);
    const last = items[items.length - 1];
    return {
      items: items.map((row) => parseView(row.view)),
      ...(rows.length > query.limit && last
        ? { nextCursor: encodeCursor({ requestedAt: last.requested_at, id: last.id }) }
        : {}),
    };
  }

  /**
   * How many elevations are in each status (every status present, 0 for none). One grouped
   * count over the `elevations_status` index, cheap enough for every metrics scrape.
   */
  async countByStatus(): Promise<Record<ElevationStatus, number>> {
    const rows = await countByStatusQuery(this.conn.db).execute();
    const counts = Object.fromEntries(ELEVATION_STATUSES.map((status) => [status, 0])) as Record<
      ElevationStatus,
      number
    >;
    for (const row of rows) {
      if (row.status in counts) counts[row.status as ElevationStatus] = Number(row.n);
    }
    return counts;
  }

  /**
   * How many elevations of each bot are not yet ended (`pending_approval`, `approved`, `active`,
   * `revoking`), by bot id and status; only bots and statuses with some. One grouped count.
   */
  async openElevationCounts(botId?: string): Promise<OpenElevationCounts> {
    let q = this.conn.db
      .selectFrom('elevations')
      .select((eb) => ['bot_id', 'status', eb.fn.countAll().as('n')])
      .where('status', 'in', OPEN_STATUSES);
    if (botId !== undefined) q = q.where('bot_id', '=', botId);
    const rows = await q.groupBy(['bot_id', 'status']).execute();
    const counts: OpenElevationCounts = {};
    for (const row of rows) (counts[row.bot_id] ??= {})[row.status as ElevationStatus] = Number(row.n);
    return counts;
  }

  /**
   * The console charts' numbers for the elevations requested in [`from`, `to`): grouped counts,
   * one query each (the window is read from the `elevations_requested` index), and the two
   * distributions as one sorted column each. `intervals` are the active-grants chart's slots.
   */
  async chartAggregates(window: {
    from: string;
    to: string;
    intervals: { from: string; to: string }[];
  }): Promise<ChartAggregates> {
    const db = this.conn.db;
    const inWindow = () =>
      db
        .selectFrom('elevations')
        .where('requested_at', '>=', window.from)
        .where('requested_at', '<', window.to);
    const day = sql<string>`substr(requested_at, 1, 10)`;
    const [total, byDay, active, lags, turnarounds, bots, roles] = await Promise.all([
      inWindow()
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirst(),
      inWindow()
        .select((eb) => [day.as('day'), 'status', 'end_reason', eb.fn.countAll().as('n')])
        .groupBy([day, 'status', 'end_reason'])
        .execute(),
      window.intervals.length === 0
        ? Promise.resolve(undefined)
        : inWindow()
            .where('granted_at', 'is not', null)
            .select((eb) =>
              window.intervals.map((slot, i) =>
                eb.fn
                  .sum<number | string>(
                    eb
                      .case()
                      .when(
                        eb.and([
                          eb('granted_at', '<', slot.to),
                          eb.or([eb('ended_at', 'is', null), eb('ended_at', '>', slot.from)]),
                        ]),
                      )
                      .then(1)
                      .else(0)
                      .end(),
                  )
                  .as(`a${i}`),
              ),
            )
            .executeTakeFirst(),
      inWindow()
        .select('revoke_lag_ms as ms')
        .where('revoke_lag_ms', 'is not', null)
        .orderBy('revoke_lag_ms')
        .execute(),
      inWindow()
        .select('turnaround_ms as ms')
        .where('turnaround_ms', 'is not', null)
        .orderBy('turnaround_ms')
        .execute(),
      this.top(window, 'bot_id'),
      this.top(window, 'role_id'),
    ]);
    const counts: Record<string, unknown> = active ?? {};
    return {
      total: Number(total?.n ?? 0),
      byDay: byDay.map((r) => ({
        day: r.day,
        status: r.status,
        endReason: r.end_reason,
        count: Number(r.n),
      })),
      active: window.intervals.map((_, i) => Number(counts[`a${i}`] ?? 0)),
      revokeLagsMs: lags.map((r) => Number(r.ms)),
      turnaroundsMs: turnarounds.map((r) => Number(r.ms)),
      topBots: bots,
      topRoles: roles,
    };
  }

  /**
   * How each bot (or one) used each role it ever requested, for the least-privilege report:
   * grouped counts and held times in SQL (`least-privilege-query.ts`).
   */
  roleUsage(query: RoleUsageQuery): Promise<RoleUsageRow[]> {
    return roleUsage(this.conn.db, this.conn.engine, query);
  }

  /** The ten values of `column` with the most elevations in the window, most first, ties by name. */
  private async top(
    window: { from: string; to: string },
    column: 'bot_id' | 'role_id',
  ): Promise<{ label: string; value: number }[]> {
    const rows = await this.conn.db
      .selectFrom('elevations')
      .where('requested_at', '>=', window.from)
      .where('requested_at', '<', window.to)
      .select((eb) => [eb.ref(column).as('label'), eb.fn.countAll().as('n')])
      .groupBy(column)
      .orderBy('n', 'desc')
      .orderBy(column)
      .limit(10)
      .execute();
    return rows.map((r) => ({ label: r.label, value: Number(r.n) }));
  }
}
