/**
 * Periodic owner attestation's part of a bot's runtime state (`bot_state`): when its owner last
 * attested and who, the attestation last asked for, the roles the owner trimmed (JSON array),
 * and the suspension an unanswered attestation sets. All nullable: a row without them reads as
 * before, and its MAC still checks (see `bot-state.ts`).
 */
import type { Kysely, Migration } from 'kysely';
import type { StoreSchema } from '../schema.js';

/** The columns, in the order they are added. */
export const ATTESTATION_COLUMNS = [
  'attested_at',
  'attested_by',
  'attestation_id',
  'attestation_requested_at',
  'trimmed_roles',
  'attestation_overdue_at',
  'attestation_overdue_id',
] as const;

/** The fifth migration (the same on both engines). */
export function botAttestationMigration(): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      const store = db as Kysely<StoreSchema>;
      const existing = new Set(
        (await store.introspection.getTables())
          .find((t) => t.name === 'bot_state')
          ?.columns.map((c) => c.name) ?? [],
      );
      for (const column of ATTESTATION_COLUMNS) {
        if (existing.has(column)) continue;
        await store.schema.alterTable('bot_state').addColumn(column, 'text').execute();
      }
    },
  };
}
