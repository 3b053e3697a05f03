/**
 * A bot's latest elevations from the elevation index, as continuous detection reads them: when
 * it last asked (dormant bots), and how its latest grants ended (a bot that stopped giving them
 * back early). One indexed read per bot (`elevations_bot`: bot, then request time).
 */
import type { StoreConnection } from './connection.js';

/** One of a bot's elevations, as detection needs it. */
export interface BotElevationRow {
  requestedAt: string;
  grantedAt: string | null;
  endedAt: string | null;
  endReason: string | null;
}

export class BotActivityIndex {
  constructor(private readonly conn: StoreConnection) {}

  /** The bot's `limit` latest elevations by request time, newest first. */
  async latestElevations(botId: string, limit: number): Promise<BotElevationRow[]> {
    const rows = await this.conn.db
      .selectFrom('elevations')
      .select(['requested_at', 'granted_at', 'ended_at', 'end_reason'])
      .where('bot_id', '=', botId)
      .orderBy('requested_at', 'desc')
      .orderBy('id', 'desc')
      .limit(Math.max(1, Math.floor(limit)))
      .execute();
    return rows.map((r) => ({
      requestedAt: r.requested_at,
      grantedAt: r.granted_at,
      endedAt: r.ended_at,
      endReason: r.end_reason,
    }));
  }
}
