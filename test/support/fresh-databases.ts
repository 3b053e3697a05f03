/**
 * Fresh, empty databases for the store tests that run on both engines: SQLite files in a
 * temporary folder, and databases on a throwaway PostgreSQL server. Each test gets its own.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, startPostgres, type PostgresServer } from '../../dev/postgres-server.js';

/** SQLite files, each new path in one temporary folder removed by `stop()`. */
export function sqliteFiles(prefix: string) {
  let dir: string | undefined;
  let count = 0;
  return {
    start(): Promise<void> {
      dir = mkdtempSync(join(tmpdir(), `elevate-${prefix}-`));
      return Promise.resolve();
    },
    stop(): Promise<void> {
      if (dir) rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
    /** The path of a file that does not exist yet. */
    next(): string {
      if (!dir) throw new Error('sqlite files not started');
      count += 1;
      return join(dir, `audit-${count}.db`);
    },
  };
}

/** Databases on one throwaway PostgreSQL server, started by `start()` and stopped by `stop()`. */
export function postgresDatabases(prefix: string) {
  let server: PostgresServer | undefined;
  let count = 0;
  return {
    async start(): Promise<void> {
      server = await startPostgres();
    },
    async stop(): Promise<void> {
      await server?.stop();
    },
    /** The URL of a new, empty database. */
    next(): Promise<string> {
      if (!server) throw new Error('postgres engine not started');
      count += 1;
      return createDatabase(server.url, `${prefix}_${count}`);
    },
  };
}
