/**
 * The per-bot baselines of risk scoring, kept up to date from the audit log one event at a
 * time: {@link BotBaselines.catchUp} reads the events appended since its cursor and hands them,
 * with the baselines they touch, to a fold the caller supplies (the rules are in
 * `core/rules/bot-baseline.ts`, the mapping of events in `domain/detection/`); the baselines and
 * the cursor are written back in the same transaction, so an event is folded exactly once
 * however many workers catch up at the same time. Baselines are opaque JSON here.
 */
import type { Kysely } from 'kysely';
import type { AuditEvent } from '../core/model/audit-record.js';
import { rowToEvent } from './audit-log.js';
import type { StoreDatabase } from './database.js';
import type { StoreSchema } from './schema.js';

/** The cursor row of the baselines. */
const CURSOR = 'baselines';

/** What a fold may read and change while it runs, inside the catch-up's transaction. */
export interface BaselineFold {
  /** The elevation's summary (bot, grant and end times), for events that name only the elevation. */
  elevation(id: string): Promise<ElevationFacts | undefined>;
  /** A bot's stored baseline (parsed JSON), or undefined before its first. */
  baseline(botId: string): Promise<unknown>;
  /** Replace a bot's baseline (written when the catch-up commits). */
  put(botId: string, baseline: unknown): void;
}

/** What a fold needs to know of an elevation an event names. */
export interface ElevationFacts {
  botId: string;
  roleId: string;
  grantedAt?: string;
  endedAt?: string;
  endReason?: string;
}

export class BotBaselines {
  constructor(private readonly database: StoreDatabase) {}

  /** A bot's baseline as last written (parsed JSON), or undefined. */
  async get(botId: string): Promise<unknown> {
    const row = await this.database.db
      .selectFrom('bot_baselines')
      .select('baseline')
      .where('bot_id', '=', botId)
      .executeTakeFirst();
    return row ? (JSON.parse(row.baseline) as unknown) : undefined;
  }

  /** Where the baselines have been kept up to date to: the last folded audit position (0: none). */
  async position(): Promise<number> {
    const row = await this.database.db
      .selectFrom('detection_cursor')
      .select('position')
      .where('name', '=', CURSOR)
      .executeTakeFirst();
    return row ? Number(row.position) : 0;
  }

  /**
   * Folds the events appended after the cursor, at most `limit` of them, and moves the cursor
   * past them. Returns how many were folded (fewer than `limit`: caught up).
   */
  async catchUp(
    fold: (events: AuditEvent[], context: BaselineFold) => Promise<void>,
    limit: number,
  ): Promise<number> {
    return this.database.transaction(async (trx) => {
      const cursor = await this.lockCursor(trx);
      const rows = await trx
        .selectFrom('audit_events')
        .selectAll()
        .where('position', '>', cursor)
        .orderBy('position')
        .limit(limit)
        .execute();
      if (rows.length === 0) return 0;
      const events = rows.map(rowToEvent);
      const loaded = new Map<string, unknown>();
      const changed = new Map<string, unknown>();
      await fold(events, {
        elevation: (id) => elevationFacts(trx, id),
        baseline: async (botId) => {
          if (changed.has(botId)) return changed.get(botId);
          if (!loaded.has(botId)) loaded.set(botId, await readBaseline(trx, botId));
          return loaded.get(botId);
        },
        put: (botId, baseline) => void changed.set(botId, baseline),
      });
      const now = new Date().toISOString();
      for (const [botId, baseline] of changed) {
        const text = JSON.stringify(baseline);
        await trx
          .insertInto('bot_baselines')
          .values({ bot_id: botId, baseline: text, updated_at: now })
          .onConflict((oc) => oc.column('bot_id').doUpdateSet({ baseline: text, updated_at: now }))
          .execute();
      }
      await trx
        .updateTable('detection_cursor')
        .set({ position: events[events.length - 1]!.position })
        .where('name', '=', CURSOR)
        .execute();
      return events.length;
    });
  }

  /** The cursor, locked for this transaction (created at 0 the first time). */
  private async lockCursor(trx: Kysely<StoreSchema>): Promise<number> {
    await trx
      .insertInto('detection_cursor')
      .values({ name: CURSOR, position: 0 })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    let query = trx.selectFrom('detection_cursor').select('position').where('name', '=', CURSOR);
    if (this.database.engine === 'postgres') query = query.forUpdate();
    const row = await query.executeTakeFirstOrThrow();
    return Number(row.position);
  }
}

async function readBaseline(trx: Kysely<StoreSchema>, botId: string): Promise<unknown> {
  const row = await trx
    .selectFrom('bot_baselines')
    .select('baseline')
    .where('bot_id', '=', botId)
    .executeTakeFirst();
  return row ? (JSON.parse(row.baseline) as unknown) : undefined;
}

async function elevationFacts(trx: Kysely<StoreSchema>, id: string): Promise<ElevationFacts | undefined> {
  const row = await trx
    .selectFrom('elevations')
    .select(['bot_id', 'role_id', 'granted_at', 'ended_at', 'end_reason'])
    .where('id', '=', id)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    botId: row.bot_id,
    roleId: row.role_id,
    ...(row.granted_at !== null ? { grantedAt: row.granted_at } : {}),
    ...(row.ended_at !== null ? { endedAt: row.ended_at } : {}),
    ...(row.end_reason !== null ? { endReason: row.end_reason } : {}),
  };
}
