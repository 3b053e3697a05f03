/**
 * The console's Anomalies page: the `anomaly.detected` events continuous detection recorded,
 * newest first, a page at a time (the pager's cursor is the chain position to read below).
 */
import type { ConsoleArea, PageHandler } from '../console-handler.js';
import { html } from '../respond.js';
import type { ConsoleSessions } from '../session.js';
import { anomaliesPage } from '../views/anomalies.js';

/** The page, by operationId. */
export function anomalyHandlers(
  sessions: ConsoleSessions,
  pageSize: number,
): ConsoleArea<'consoleAnomalies'> {
  const consoleAnomalies: PageHandler<'consoleAnomalies'> = async ({ query }, { user }, _req, res) => {
    const cursor = query.cursor;
    // A cursor is a chain position this page wrote; anything else starts from the newest.
    const before = cursor !== undefined && /^[1-9]\d{0,15}$/.test(cursor) ? Number(cursor) : undefined;
    const error =
      cursor !== undefined && before === undefined
        ? 'That page link is not valid: showing the newest anomalies.'
        : undefined;
    const page = await sessions.deps.eventsByType.page('anomaly.detected', {
      ...(before !== undefined ? { before } : {}),
      limit: pageSize,
    });
    html(
      res,
      200,
      anomaliesPage({
        user,
        events: page.items,
        nextCursor: page.next !== undefined ? String(page.next) : undefined,
        onFirst: before === undefined,
        ...(error ? { error } : {}),
      }),
    );
  };
  return { handlers: { consoleAnomalies } };
}
