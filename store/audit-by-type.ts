/**
 * The audit events of one type, newest first, read through the index on `(type, position)`
 * (migration 0004): a page of them for the console (the Anomalies page), and the recent ones
 * for continuous detection (the last hour's credential refusals). Reads only.
 */
import type { AuditEvent } from '../core/model/audit-record.js';
import type { EventType } from '../core/model/events.js';
import { rowToEvent } from './audit-log.js';
import type { StoreConnection } from './connection.js';

/** A page of events, newest first, and where the next (older) page starts. */
export interface EventsPage {
  items: AuditEvent[];
  /** Pass as `before` for the next page; absent on the last. */
  next?: number;
}

/** Rows read per query while walking back in time. */
const WALK_PAGE = 500;

export class AuditEventsByType {
  constructor(private readonly conn: StoreConnection) {}

  /** Up to `limit` events of `type` at chain positions below `before` (all, without it), newest first. */
  async page(type: EventType, opts: { before?: number; limit: number }): Promise<EventsPage> {
    const limit = Math.max(1, Math.floor(opts.limit));
    let query = this.conn.db
      .selectFrom('audit_events')
      .selectAll()
      .where('type', '=', type)
      .orderBy('position', 'desc')
      .limit(limit + 1);
    if (opts.before !== undefined) query = query.where('position', '<', opts.before);
    const rows = await query.execute();
    const items = rows.slice(0, limit).map(rowToEvent);
    const last = items[items.length - 1];
    return rows.length > limit && last ? { items, next: last.position } : { items };
  }

  /**
   * The events of `type` that happened at or after `since` (ISO 8601), newest first, at most
   * `max`. Events are appended as they happen, so the walk back stops at the first older one.
   */
  async since(type: EventType, since: string, max: number): Promise<AuditEvent[]> {
    const found: AuditEvent[] = [];
    const from = Date.parse(since);
    let before: number | undefined;
    while (found.length < max) {
      const { items, next } = await this.page(type, {
        ...(before !== undefined ? { before } : {}),
        limit: Math.min(WALK_PAGE, max - found.length),
      });
      for (const event of items) {
        if (Date.parse(event.at) < from) return found;
        found.push(event);
      }
      if (next === undefined) break;
      before = next;
    }
    return found;
  }
}
