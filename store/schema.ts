/**
 * The tables as Kysely sees them, on both engines. Where the engines store a column differently
 * the type says both: PostgreSQL returns `bigint` as a string and `jsonb` parsed, keeps
 * `timestamptz` as a Date and booleans as booleans; SQLite keeps JSON as text, instants of the
 * short-lived tables as epoch milliseconds and booleans as 0/1.
 */

/** A `bigint` (PostgreSQL, read back as a string) or an INTEGER (SQLite). */
type BigInt = number | string;

export interface AuditChainHeadTable {
  singleton: number | boolean;
  position: BigInt;
  hash: string;
}

export interface AuditEventsTable {
  position: BigInt;
  id: string;
  elevation_id: string | null;
  seq: BigInt;
  type: string;
  at: string;
  actor_kind: string;
  actor_id: string;
  /** The canonical JSON text of the event's data (both engines: text, hashed as stored). */
  data: string;
  prev_hash: string;
  hash: string;
}

export interface AuditCheckpointsTable {
  position: BigInt;
  prev_position: BigInt;
  first_position: BigInt;
  hash: string;
  at: string;
  kid: string;
  segment: string;
  /** The listed event hashes, concatenated. */
  hashes: string;
  signature: string;
}

export interface ElevationsTable {
  id: string;
  bot_id: string;
  role_id: string;
  status: string;
  requested_at: string;
  /** The elevation view: JSON text (SQLite) or jsonb (PostgreSQL). */
  view: unknown;
  updated_position: BigInt;
  owner: string | null;
  team: string | null;
  environment: string | null;
  target_type: string | null;
  risk: string | null;
  /** The console charts' columns (migration 0002), computed from the view when it is written. */
  granted_at: string | null;
  ended_at: string | null;
  end_reason: string | null;
  revoke_lag_ms: BigInt | null;
  turnaround_ms: BigInt | null;
}

/** The kinds of target of a role bundle's elevation, one row each (migration 0006). */
export interface ElevationTargetTypesTable {
  elevation_id: string;
  target_type: string;
}

export interface LeasesTable {
  elevation_id: string;
  key: string;
  /** The target: JSON text (SQLite) or jsonb (PostgreSQL). */
  target: unknown;
  principal: string;
  state: 'held' | 'released';
  acquired_at: string | null;
  released_at: string | null;
}

export interface LedgerLocksTable {
  key: string;
  owner: string;
  /** Epoch milliseconds. */
  expires_at: number;
}

export interface EphemeralTable {
  key: string;
  value: string;
  /** Epoch milliseconds (SQLite) or timestamptz (PostgreSQL). */
  expires_at: number | Date | string;
  mac: string | null;
}

export interface BotStateTable {
  bot_id: string;
  locked_at: string | null;
  locked_by: string | null;
  lock_reason: string | null;
  disabled: number | boolean | null;
  disabled_at: string | null;
  disabled_by: string | null;
  api_key_hash: string | null;
  key_rotated_at: string | null;
  key_rotated_by: string | null;
  updated_at: string;
  mac: string | null;
  // Periodic owner attestation (migration 0005); `trimmed_roles` is a JSON array of role ids.
  attested_at: string | null;
  attested_by: string | null;
  attestation_id: string | null;
  attestation_requested_at: string | null;
  trimmed_roles: string | null;
  attestation_overdue_at: string | null;
  attestation_overdue_id: string | null;
}

/** One bot's risk-scoring baseline (migration 0003). */
export interface BotBaselinesTable {
  bot_id: string;
  /** The baseline as JSON text (`core/rules/bot-baseline.ts`). */
  baseline: string;
  updated_at: string;
}

/** How far into the audit log a reader has folded (migration 0003): one row per reader. */
export interface DetectionCursorTable {
  name: string;
  position: BigInt;
}

/** Every table of the store's database. */
export interface StoreSchema {
  audit_chain_head: AuditChainHeadTable;
  audit_events: AuditEventsTable;
  audit_checkpoints: AuditCheckpointsTable;
  elevations: ElevationsTable;
  elevation_target_types: ElevationTargetTypesTable;
  leases: LeasesTable;
  ledger_locks: LedgerLocksTable;
  ephemeral: EphemeralTable;
  bot_state: BotStateTable;
  bot_baselines: BotBaselinesTable;
  detection_cursor: DetectionCursorTable;
}
