/**
 * Picks the audit store engine from settings: PostgreSQL when a database URL is configured,
 * otherwise the embedded SQLite file.
 */
import type { Store } from './audit-store.js';
import type { StoreIntegrity } from './checkpoints.js';

/** Where the audit store lives. */
export interface StoreSettings {
  /** PostgreSQL connection URL; when set, it wins over `sqlitePath`. May carry a password. */
  databaseUrl?: string;
  /** SQLite file used when no `databaseUrl` is set (created with its folder if missing). */
  sqlitePath: string;
  /** Signed checkpoints and row MACs (see `checkpoints.ts`); without it, neither. */
  integrity?: StoreIntegrity;
}

/**
 * Opens the audit store the settings describe, with its schema up to date.
 * Each engine is loaded only when chosen, so a PostgreSQL deployment never loads SQLite's
 * native module and vice versa.
 *
 * @throws {@link StoreUnavailableError} when the store cannot be opened (never echoing the URL)
 * @throws {@link SchemaTooNewError} when a newer Elevate migrated it
 */
export async function openStore(settings: StoreSettings): Promise<Store> {
  if (settings.databaseUrl) {
    const { PostgresStore } = await import('./postgres-store.js');
    return PostgresStore.open(
      settings.databaseUrl,
      settings.integrity ? { integrity: settings.integrity } : {},
    );
  }
  const { SqliteStore } = await import('./sqlite-store.js');
  return SqliteStore.open(settings.sqlitePath, settings.integrity ? { integrity: settings.integrity } : {});
}
