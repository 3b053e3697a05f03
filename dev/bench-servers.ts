/**
 * The two servers every benchmark runs Elevate against, in its own folder: Temporal's dev server
 * (no UI) and a slapd seeded with the bots, groups and people the benchmark needs, with its access
 * log on, so that a benchmark can time LDAP changes by slapd's own record of them.
 */
import path from 'node:path';
import { seedLdif, type SeedContents } from './ldap-seed.js';
import { startSlapd, type SlapdServer } from './slapd-server.js';
import { startTemporalDevServer, type DevServer } from './temporal-cli.js';

/**
 * Starts both in `dir` (`temporal.db`, `ldap/`), pushing their stops onto `stops` as each is up,
 * so whatever started is stopped even when the other fails.
 */
export async function startBenchServers(
  dir: string,
  suffix: string,
  seed: SeedContents,
  stops: (() => Promise<void>)[],
): Promise<{ temporal: DevServer; slapd: SlapdServer }> {
  const temporal = await startTemporalDevServer({
    dbFile: path.join(dir, 'temporal.db'),
    pidFile: path.join(dir, 'temporal.pid'),
    ui: false,
  });
  stops.push(() => temporal.stop());
  const slapd = await startSlapd({
    dataDir: path.join(dir, 'ldap'),
    suffix,
    rootPassword: 'bench-root-secret',
    seedLdif: seedLdif(suffix, seed),
    accessLog: true,
  });
  stops.push(() => slapd.stop());
  return { temporal, slapd };
}
