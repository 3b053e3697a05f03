/**
 * Where the webhook dispatcher of earlier versions stopped. It kept its cursor in the table
 * `stream_cursors` (row `webhook`, a JSON `state`); the audit forwarder keeps it in its workflow
 * state instead. Read when the forwarder is first started on a database that has the table, so
 * an upgrade goes on from there rather than sending the whole trail again.
 */
import { sql } from 'kysely';
import { z } from 'zod';
import type { StoreConnection } from './connection.js';

/** A position in the chain every event up to which was delivered (or skipped), with its hash. */
export interface LegacyWebhookCursor {
  position: number;
  hash: string | null;
}

/** The part of the old state that says where delivery stood (the rest is redelivered). */
const legacyStateSchema = z.object({
  v: z.literal(1),
  position: z.number().int().nonnegative(),
  hash: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
});

/**
 * The old dispatcher's cursor, if this database has one that makes sense; otherwise undefined
 * (no table, no row, nothing delivered yet, or a state this version does not read: then the
 * forwarder starts from the beginning of the trail, as receivers drop duplicates by event id).
 */
export async function readLegacyWebhookCursor(
  database: Pick<StoreConnection, 'db'>,
): Promise<LegacyWebhookCursor | undefined> {
  const tables = await database.db.introspection.getTables();
  if (!tables.some((t) => t.name === 'stream_cursors')) return undefined;
  const { rows } = await sql<{ state: string | null }>`
    SELECT state FROM stream_cursors WHERE name = ${'webhook'}`.execute(database.db);
  const text = rows[0]?.state;
  if (!text) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  const state = legacyStateSchema.safeParse(parsed);
  if (!state.success || state.data.position === 0) return undefined;
  return { position: state.data.position, hash: state.data.hash };
}
