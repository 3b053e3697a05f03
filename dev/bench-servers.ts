/**
 * The two servers every benchmark runs Elevate against, in its own folder: Temporal's dev server
 * (no UI) and a slapd seeded with the bots, groups and people the benchmark needs, with its access
 * log on, so that a benchmark can time LDAP changes by slapd's own record of them. Instead of the
 * dev server, a benchmark can ask for a real Temporal server on PostgreSQL (`temporal-cluster.ts`)
 * or name one already running.
 */
import path from 'node:path';
import { seedLdif, type SeedContents } from './ldap-seed.js';
import { startSlapd, type SlapdServer } from './slapd-server.js';
import { startTemporalCluster } from './temporal-cluster.js';
import { startTemporalDevServer } from './temporal-cli.js';

/** Which Temporal a benchmark runs on: the dev server, a local cluster, or one at an address. */
export type BenchTemporalKind = 'dev' | 'cluster' | { address: string };

/** How to start it: which, and dynamic config on top of the defaults (not for one at an address). */
export interface BenchTemporalOptions {
  kind: BenchTemporalKind;
  dynamicConfig?: Record<string, string | number | boolean>;
}

/** The Temporal a benchmark runs on. */
export interface BenchTemporal {
  kind: 'dev' | 'cluster' | 'external';
  /** The frontend, host:port; the namespace is `default`. */
  address: string;
  /** The server's process, when the benchmark started it. */
  pid?: number;
  /** A cluster's PostgreSQL (superuser URL of `postgres`). */
  postgresUrl?: string;
  /** What a benchmark's report says of it. */
  describe: {
    kind: string;
    address?: string;
    version?: string;
    historyShards?: number;
    dynamicConfig?: Record<string, string | number | boolean>;
  };
}

/**
 * Starts both in `dir` (`temporal.db` for the dev server, `ldap/`), pushing their stops onto `stops` as each is up,
 * so whatever started is stopped even when the other fails.
 */
export async function startBenchServers(
  dir: string,
  suffix: string,
  seed: SeedContents,
  stops: (() => Promise<void>)[],
  options: BenchTemporalOptions = { kind: 'dev' },
): Promise<{ temporal: BenchTemporal; slapd: SlapdServer }> {
  const temporal = await startTemporal(dir, options, stops);
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

async function startTemporal(
  dir: string,
  { kind, dynamicConfig }: BenchTemporalOptions,
  stops: (() => Promise<void>)[],
): Promise<BenchTemporal> {
  const extra = dynamicConfig && Object.keys(dynamicConfig).length > 0 ? { dynamicConfig } : {};
  if (typeof kind === 'object') {
    if (extra.dynamicConfig)
      throw new Error('dynamic config cannot be set on a Temporal the benchmark did not start');
    return { kind: 'external', address: kind.address, describe: { kind: 'external', address: kind.address } };
  }
  if (kind === 'cluster') {
    const cluster = await startTemporalCluster(extra);
    stops.push(() => cluster.stop());
    return {
      kind,
      address: cluster.address,
      pid: cluster.pid,
      postgresUrl: cluster.postgresUrl,
      describe: { kind, version: cluster.version, historyShards: cluster.historyShards, ...extra },
    };
  }
  const server = await startTemporalDevServer({
    dbFile: path.join(dir, 'temporal.db'),
    pidFile: path.join(dir, 'temporal.pid'),
    ui: false,
    ...extra,
  });
  stops.push(() => server.stop());
  return { kind, address: server.address, pid: server.pid, describe: { kind, ...extra } };
}
