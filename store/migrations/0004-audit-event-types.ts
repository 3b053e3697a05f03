/**
 * An index of the audit events by type, newest first within a type: the console's Anomalies
 * page lists the `anomaly.detected` events, and continuous detection reads the last hour's
 * `credentials.refused`, without reading the rest of the log.
 */
import type { Kysely, Migration } from 'kysely';
import type { StoreSchema } from '../schema.js';

/** The fourth migration (the same on both engines). */
export function auditEventTypesMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await (db as Kysely<StoreSchema>).schema
        .createIndex('audit_events_type_position')
        .ifNotExists()
        .on('audit_events')
        .columns(['type', 'position'])
        .execute();
    },
  };
}
