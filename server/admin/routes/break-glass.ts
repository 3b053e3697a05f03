/**
 * The console's Break-glass page: the `breakglass.activated` events, newest first, a page at a
 * time, each with where its review stands (from the `breakglass.reviewed` and
 * `breakglass.review_missed` events).
 */
import type { AuditEvent } from '../../../core/model/audit-record.js';
import type { ConsoleArea, PageHandler } from '../console-handler.js';
import { html } from '../respond.js';
import type { ConsoleSessions } from '../session.js';
import type { AuditEventsByType, EventsPage } from '../../../store/audit-by-type.js';
import { breakGlassPage, type BreakGlassOutcomes } from '../views/break-glass.js';

/** How many of the newest review events are matched to the activations shown. */
const REVIEWS_READ = 1000;

/** The events by elevation id. */
function byElevation(events: AuditEvent[]): Map<string, AuditEvent> {
  return new Map(events.flatMap((e) => (e.elevationId ? [[e.elevationId, e] as const] : [])));
}

/** A page of activations (below chain position `before`, newest first) with their reviews. */
export async function breakGlassIncidents(
  events: Pick<AuditEventsByType, 'page'>,
  opts: { before?: number; limit: number },
): Promise<{ page: EventsPage; outcomes: BreakGlassOutcomes }> {
  const [page, reviewed, missed] = await Promise.all([
    events.page('breakglass.activated', opts),
    events.page('breakglass.reviewed', { limit: REVIEWS_READ }),
    events.page('breakglass.review_missed', { limit: REVIEWS_READ }),
  ]);
  return { page, outcomes: { reviewed: byElevation(reviewed.items), missed: byElevation(missed.items) } };
}

/** The page, by operationId. */
export function breakGlassHandlers(
  sessions: ConsoleSessions,
  pageSize: number,
): ConsoleArea<'consoleBreakGlass'> {
  const consoleBreakGlass: PageHandler<'consoleBreakGlass'> = async ({ query }, { user }, _req, res) => {
    const cursor = query.cursor;
    // A cursor is a chain position this page wrote; anything else starts from the newest.
    const before = cursor !== undefined && /^[1-9]\d{0,15}$/.test(cursor) ? Number(cursor) : undefined;
    const error =
      cursor !== undefined && before === undefined
        ? 'That page link is not valid: showing the newest activations.'
        : undefined;
    const { page, outcomes } = await breakGlassIncidents(sessions.deps.eventsByType, {
      ...(before !== undefined ? { before } : {}),
      limit: pageSize,
    });
    html(
      res,
      200,
      breakGlassPage({
        user,
        events: page.items,
        outcomes,
        nextCursor: page.next !== undefined ? String(page.next) : undefined,
        onFirst: before === undefined,
        ...(error ? { error } : {}),
      }),
    );
  };
  return { handlers: { consoleBreakGlass } };
}
