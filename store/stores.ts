/**
 * Every store over one database, as a process's composition root opens them. Each consumer is
 * handed only the store (or the few methods of it) that it uses.
 */
import { AuditEventsByType } from './audit-by-type.js';
import { AuditLog } from './audit-log.js';
import { BotActivityIndex } from './bot-activity.js';
import { BotBaselines } from './bot-baselines.js';
import { BotStates } from './bot-state.js';
import { StoreDatabase, type StoreSettings } from './database.js';
import { ElevationIndex } from './elevation-index.js';
import { GrantLeases } from './grant-leases.js';
import { SingleUse } from './single-use.js';

/** The stores by concern, sharing one database. */
export interface Stores {
  /** The hash-chained event log, its checkpoints and `verify`. */
  auditLog: AuditLog;
  /** The elevation summaries the log's appends keep: one elevation, lists, counts. */
  elevations: ElevationIndex;
  /** The grant ledger's leases and the lock. */
  leases: GrantLeases;
  /** Short-lived single-use records, by namespace. */
  singleUse: SingleUse;
  /** Bots' runtime state. */
  botStates: BotStates;
  /** Risk scoring's per-bot baselines, kept up to date from the audit log. */
  baselines: BotBaselines;
  /** The audit events of one type, newest first (the Anomalies page, continuous detection). */
  eventsByType: AuditEventsByType;
  /** A bot's latest elevations (continuous detection: dormant bots, grants run to expiry). */
  botActivity: BotActivityIndex;
  /** The database they share: health checks (`ping`) and `close`. */
  database: StoreDatabase;
}

/**
 * Opens the database the settings describe (migrated to the latest schema) and the stores on it.
 *
 * @throws {@link StoreUnavailableError} when it cannot be opened (never echoing a URL's password)
 * @throws {@link SchemaTooNewError} when a newer Elevate migrated it
 */
export async function openStores(settings: StoreSettings): Promise<Stores> {
  return storesOn(await StoreDatabase.open(settings));
}

/** The stores on an open database. */
export function storesOn(database: StoreDatabase): Stores {
  return {
    auditLog: new AuditLog(database),
    elevations: new ElevationIndex(database),
    leases: new GrantLeases(database),
    singleUse: new SingleUse(database),
    botStates: new BotStates(database),
    baselines: new BotBaselines(database),
    eventsByType: new AuditEventsByType(database),
    botActivity: new BotActivityIndex(database),
    database,
  };
}
