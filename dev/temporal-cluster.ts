/**
 * A real Temporal server (not the CLI's dev server) on a throwaway PostgreSQL cluster, on
 * loopback, for benchmarks and tests that need what users run in production: the server binary
 * and its SQL schema tool, built by `scripts/setup` from the Go module proxy at
 * {@link TEMPORAL_SERVER_VERSION}; the `postgres12` persistence plugin for both the default and
 * the visibility store; one cluster, all four services (frontend, history, matching, worker) in
 * one process. Nothing here downloads anything.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { createWriteStream, existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time.js';
import { stringify } from 'yaml';
import { startPostgres, type PostgresServer } from './postgres-server.js';
import { portIsFree, waitFor } from './processes.js';

/**
 * The `go.temporal.io/server` release `scripts/setup` builds (keep the two in step): the newest
 * whose go.mod asks for no newer Go than the machine's (v1.32.2 and later ask for go1.26.10).
 */
export const TEMPORAL_SERVER_VERSION = 'v1.32.1';

/** The namespace the cluster registers, as the dev server does. */
export const CLUSTER_NAMESPACE = 'default';

/** Where the server binary and its SQL tool are: both, or undefined. */
export function findTemporalServer(
  env: NodeJS.ProcessEnv = process.env,
): { server: string; sqlTool: string } | undefined {
  if (env.TEMPORAL_SERVER_PATH && env.TEMPORAL_SQL_TOOL_PATH) {
    return { server: env.TEMPORAL_SERVER_PATH, sqlTool: env.TEMPORAL_SQL_TOOL_PATH };
  }
  const root =
    env.ELEVATE_TEMPORAL_SERVER_DIR ?? path.join(homedir(), '.cache', 'elevate', 'temporal-server');
  const bin = path.join(root, TEMPORAL_SERVER_VERSION, 'bin');
  const found = { server: path.join(bin, 'server'), sqlTool: path.join(bin, 'sql') };
  return existsSync(found.server) && existsSync(found.sqlTool) ? found : undefined;
}

export interface ClusterOptions {
  /**
   * History shards (static: fixed when the cluster's database is created). Default 16: enough
   * that workflows spread over more shard locks and queue readers than the two cores, few enough
   * that the idle shards' queue readers cost little.
   */
  historyShards?: number;
  /** Read and write partitions of every task queue (dynamic config). Default 1: one matching host. */
  taskQueuePartitions?: number;
  /** More dynamic config, or overrides of {@link clusterDynamicConfig}'s. */
  dynamicConfig?: Record<string, unknown>;
  /** Each line the server logs (JSON), as it comes. */
  log?: (line: string) => void;
}

/** A running cluster: PostgreSQL and the Temporal server. */
export interface TemporalCluster {
  /** The frontend's gRPC address, host:port. */
  address: string;
  namespace: string;
  /** The server's release. */
  version: string;
  historyShards: number;
  /** Prometheus metrics of all four services. */
  metricsUrl: string;
  /** Superuser URL of the PostgreSQL cluster's `postgres` database (Temporal's are `temporal` and `temporal_visibility`). */
  postgresUrl: string;
  /** The folder with the config, the dynamic config and the server's log. */
  dir: string;
  configFile: string;
  dynamicConfigFile: string;
  logFile: string;
  /** The server process's id: a new one after each {@link TemporalCluster.restartServer}. */
  readonly pid: number;
  /**
   * Ends the server process and starts a new one on the same config, ports and databases, as
   * after a crash or an upgrade; PostgreSQL keeps running, and with it everything the cluster
   * stored. Resolves once `default` takes calls again; rejects (with the server's last lines) if
   * the new process does not come up, which {@link TemporalCluster.stop} then still stops.
   */
  restartServer(opts?: RestartOptions): Promise<void>;
  /** Stops the server, then PostgreSQL, and deletes both's files. Safe to call twice. */
  stop(): Promise<void>;
}

/** How {@link TemporalCluster.restartServer} ends the server, and for how long. */
export interface RestartOptions {
  /** Between the old process's end and the new one's start. Default 0. */
  downMs?: number;
  /**
   * `SIGTERM` (default) is an orderly stop: the services leave membership and release their
   * shards first. `SIGKILL` is a crash: nothing is released, and the new process takes over
   * from what the dead one left in the database (its membership rows, its shards' ranges).
   */
  signal?: 'SIGTERM' | 'SIGKILL';
}

/**
 * The dynamic config the cluster starts with. Every limit that would otherwise throttle before
 * the database or the CPU does is raised, so a benchmark that saturates the cluster finds the
 * real bottleneck and not a rate limiter; the rest is the server's default.
 */
export function clusterDynamicConfig(opts: { taskQueuePartitions: number }): Record<string, unknown> {
  return {
    // One matching host: with more than one partition a poll and a task can sit on different
    // partitions and meet only after forwarding; one partition matches them at once (on the dev
    // server this alone took the last of 1,000 simultaneous revocations from ~60 s to ~26 s).
    'matching.numTaskqueueReadPartitions': opts.taskQueuePartitions,
    'matching.numTaskqueueWritePartitions': opts.taskQueuePartitions,
    // Persistence QPS limits per host (defaults: frontend 2,000, history 9,000, matching 3,000,
    // worker 500): each service's own throttle in front of PostgreSQL.
    'frontend.persistenceMaxQPS': 20_000,
    'history.persistenceMaxQPS': 20_000,
    'matching.persistenceMaxQPS': 20_000,
    'worker.persistenceMaxQPS': 2_000,
    // Frontend RPS (default 2,400 per host and per namespace): one elevation took about a dozen
    // frontend calls (start, its tasks' polls and completions, a status query), before idle
    // pollers' and the API's calls: 100 lifecycles a second would come within 2x of it.
    'frontend.rps': 20_000,
    'frontend.namespaceRPS': 20_000,
  };
}

/** Start PostgreSQL and the Temporal server on loopback; resolves once `default` takes calls. */
export async function startTemporalCluster(opts: ClusterOptions = {}): Promise<TemporalCluster> {
  const binaries = findTemporalServer();
  if (!binaries) {
    throw new Error(
      `the Temporal server ${TEMPORAL_SERVER_VERSION} is not built: run scripts/setup (it needs Go), or set TEMPORAL_SERVER_PATH and TEMPORAL_SQL_TOOL_PATH`,
    );
  }
  const historyShards = opts.historyShards ?? 16;
  const partitions = opts.taskQueuePartitions ?? 1;
  const dir = await mkdtemp(path.join(tmpdir(), 'elevate-temporal-cluster-'));
  const stops: (() => Promise<void>)[] = [async () => rm(dir, { recursive: true, force: true })];
  let stopped = false;
  const stopAll = async () => {
    stopped = true;
    for (const stop of stops.splice(0).reverse()) await stop().catch(() => undefined);
  };

  try {
    const pg = await startPostgres();
    stops.push(() => pg.stop());
    await setUpSchemas(binaries.sqlTool, pg);

    const ports = await freePorts(10);
    const host = '127.0.0.1';
    const address = `${host}:${ports[0]}`;
    const metrics = `${host}:${ports[9]}`;
    const configFile = path.join(dir, 'config.yaml');
    const dynamicConfigFile = path.join(dir, 'dynamic-config.yaml');
    const logFile = path.join(dir, 'server.log');
    const dynamicConfig = {
      ...clusterDynamicConfig({ taskQueuePartitions: partitions }),
      ...opts.dynamicConfig,
    };
    await writeFile(dynamicConfigFile, dynamicConfigYaml(dynamicConfig));
    await writeFile(
      configFile,
      stringify(serverConfig({ pg, ports, historyShards, metrics, dynamicConfigFile })),
    );

    const launch = () => startServer(binaries.server, configFile, logFile, opts.log);
    // Whichever process runs now: stop() and a restart end the current one.
    let server = launch();
    stops.push(() => server.stop());
    const serving = (what: string) =>
      waitFor(() => systemInfo(address), { timeoutMs: 90_000, exited: server.exited, what }).catch(
        (error: Error) => {
          throw new Error(`${error.message}\n${server.tail()}`);
        },
      );
    await serving('the Temporal server');
    await registerNamespace(address, CLUSTER_NAMESPACE);

    return {
      address,
      namespace: CLUSTER_NAMESPACE,
      version: TEMPORAL_SERVER_VERSION,
      historyShards,
      metricsUrl: `http://${metrics}/metrics`,
      postgresUrl: pg.url,
      dir,
      configFile,
      dynamicConfigFile,
      logFile,
      get pid() {
        return server.pid;
      },
      async restartServer({ downMs = 0, signal = 'SIGTERM' }: RestartOptions = {}) {
        await server.stop(signal);
        await new Promise((resolve) => setTimeout(resolve, downMs));
        if (stopped) throw new Error('the Temporal cluster was stopped during the restart');
        server = launch();
        await serving('the restarted Temporal server');
        // The namespace is stored; the new frontend loads it before it serves.
        await namespaceServes(address, CLUSTER_NAMESPACE);
      },
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** `temporal` and `temporal_visibility`, each created and brought to the newest schema version. */
async function setUpSchemas(sqlTool: string, pg: PostgresServer): Promise<void> {
  const url = new URL(pg.url);
  const connection = [
    '--plugin',
    'postgres12',
    '--endpoint',
    url.hostname,
    '--port',
    url.port,
    '--user',
    url.username,
  ];
  for (const [database, schema] of [
    ['temporal', 'postgresql/v12/temporal'],
    ['temporal_visibility', 'postgresql/v12/visibility'],
  ] as const) {
    const withDb = [...connection, '--database', database];
    await run(sqlTool, [...withDb, 'create-database']);
    await run(sqlTool, [...withDb, 'setup-schema', '--version', '0.0']);
    // The schema is embedded in the tool (--schema-name): no schema folder to ship.
    await run(sqlTool, [...withDb, 'update-schema', '--schema-name', schema]);
  }
}

/** The server's static config: every port on loopback, one cluster, PostgreSQL for both stores. */
function serverConfig(c: {
  pg: PostgresServer;
  ports: number[];
  historyShards: number;
  metrics: string;
  dynamicConfigFile: string;
}): Record<string, unknown> {
  const url = new URL(c.pg.url);
  const store = (databaseName: string, maxConns: number) => ({
    sql: {
      pluginName: 'postgres12',
      databaseName,
      connectAddr: `${url.hostname}:${url.port}`,
      connectProtocol: 'tcp',
      user: url.username,
      password: '',
      // Each of the four services opens its own pool.
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  });
  const [frontend, frontendMembership, history, historyMembership, matching, matchingMembership] = c.ports;
  const [worker, workerMembership, http] = c.ports.slice(6);
  const rpc = (grpcPort?: number, membershipPort?: number) => ({
    rpc: { grpcPort, membershipPort, bindOnIP: '127.0.0.1' },
  });
  return {
    log: { stdout: true, level: 'warn' },
    persistence: {
      defaultStore: 'default',
      visibilityStore: 'visibility',
      numHistoryShards: c.historyShards,
      datastores: { default: store('temporal', 20), visibility: store('temporal_visibility', 5) },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
      metrics: { prometheus: { framework: 'tally', timerType: 'histogram', listenAddress: c.metrics } },
    },
    services: {
      frontend: { rpc: { ...rpc(frontend, frontendMembership).rpc, httpPort: http } },
      history: rpc(history, historyMembership),
      matching: rpc(matching, matchingMembership),
      worker: rpc(worker, workerMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `127.0.0.1:${frontend}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    namespaceDefaults: {
      archival: { history: { state: 'disabled' }, visibility: { state: 'disabled' } },
    },
    dynamicConfigClient: { filepath: c.dynamicConfigFile, pollInterval: '10s' },
  };
}

/** Dynamic config as the server reads it: each key a list of values, here unconstrained. */
export function dynamicConfigYaml(values: Record<string, unknown>): string {
  return stringify(
    Object.fromEntries(Object.entries(values).map(([key, value]) => [key, [{ value, constraints: {} }]])),
  );
}

interface ServerProcess {
  pid: number;
  exited: Promise<number | null>;
  /** The last lines the server logged. */
  tail(): string;
  /** Ends the process with `signal` (SIGTERM escalates to SIGKILL after 20 s) and closes its log. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
}

function startServer(
  binary: string,
  configFile: string,
  logFile: string,
  log: ((line: string) => void) | undefined,
): ServerProcess {
  const child: ChildProcess = spawn(binary, ['--config-file', configFile, '--allow-no-auth', 'start'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const file = createWriteStream(logFile, { flags: 'a' });
  const last: string[] = [];
  const collect = (chunk: Buffer) => {
    file.write(chunk);
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line.trim()) continue;
      last.push(line);
      if (last.length > 40) last.shift();
      log?.(line);
    }
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  // If this process ends without stop(), do not leave the server running.
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  return {
    pid: child.pid!,
    exited,
    tail: () => last.join('\n'),
    async stop(signal = 'SIGTERM') {
      process.removeListener('exit', onExit);
      if (child.exitCode === null && child.signalCode === null) {
        // SIGTERM: the services leave membership and release their shards, then exit; SIGKILL:
        // a crash, nothing released.
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      await new Promise<void>((resolve) => file.end(resolve));
    },
  };
}

async function systemInfo(address: string): Promise<void> {
  const conn = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    await conn.workflowService.getSystemInfo({});
  } finally {
    await conn.close();
  }
}

/**
 * Register `namespace` (one day's retention) and wait until the frontend serves calls in it: its
 * namespace cache learns of a new namespace on its next refresh.
 */
async function registerNamespace(address: string, namespace: string): Promise<void> {
  const conn = await Connection.connect({ address });
  try {
    await conn.workflowService
      .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') })
      .catch((error: { code?: number }) => {
        if (error.code !== 6) throw error; // 6: ALREADY_EXISTS
      });
  } finally {
    await conn.close();
  }
  await namespaceServes(address, namespace);
}

/** Waits until the frontend serves calls in `namespace`. */
async function namespaceServes(address: string, namespace: string): Promise<void> {
  const conn = await Connection.connect({ address });
  try {
    await waitFor(
      async () => {
        await conn.workflowService.listOpenWorkflowExecutions({ namespace, maximumPageSize: 1 });
      },
      { timeoutMs: 30_000, what: `the namespace ${namespace}` },
    );
  } finally {
    await conn.close();
  }
}

/**
 * `count` distinct ports that were free on loopback a moment ago, below 32768: the cluster
 * membership table keeps ports as a PostgreSQL `smallint`, and the kernel's ephemeral ports
 * (what listening on port 0 gives) start at 32768.
 */
async function freePorts(count: number): Promise<number[]> {
  const ports = new Set<number>();
  for (let tries = 0; ports.size < count; tries++) {
    if (tries > 1000) throw new Error(`no ${count} free loopback ports between 20000 and 32767`);
    const port = 20_000 + randomInt(12_768);
    if (!ports.has(port) && (await portIsFree(port))) ports.add(port);
  }
  return [...ports];
}

/** Runs a tool; rejects with its output. */
function run(command: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: 120_000 }, (error, stdout, stderr) => {
      if (!error) {
        resolve();
        return;
      }
      const output = [stderr.trim(), stdout.trim()].filter(Boolean).join('\n');
      reject(
        new Error(
          `${path.basename(command)} ${args.slice(-3).join(' ')} failed: ${error.message.split('\n')[0]}\n${output}`,
        ),
      );
    });
  });
}
