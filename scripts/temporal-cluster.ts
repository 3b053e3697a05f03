/**
 * `npm run temporal:cluster [-- --history-shards N --partitions P]`: a real Temporal server on a
 * throwaway PostgreSQL cluster, on loopback, until Ctrl-C (docs/operations.md, "A local Temporal
 * cluster"). Prints the frontend address once the `default` namespace takes calls; point Elevate
 * at it with `TEMPORAL_ADDRESS` (the bench: `npm run bench -- --temporal <address>`, or
 * `--temporal cluster` to start one of its own). SIGINT or SIGTERM stops the server, then
 * PostgreSQL, and deletes their files.
 */
import { parseArgs } from 'node:util';
import { startTemporalCluster } from '../dev/temporal-cluster.js';

const { values } = parseArgs({
  options: {
    'history-shards': { type: 'string', default: '16' },
    partitions: { type: 'string', default: '1' },
    // Print the server's own log lines (JSON) as they come.
    verbose: { type: 'boolean', default: false },
  },
});
const say = (line: string) => process.stderr.write(`[temporal:cluster] ${line}\n`);
const positive = (name: string, text: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    say(`--${name} must be a whole number of at least 1, not ${text}`);
    process.exit(2);
  }
  return n;
};

const started = Date.now();
say('starting PostgreSQL and the Temporal server');
const cluster = await startTemporalCluster({
  historyShards: positive('history-shards', values['history-shards']),
  taskQueuePartitions: positive('partitions', values.partitions),
  ...(values.verbose ? { log: (line: string) => process.stderr.write(`${line}\n`) } : {}),
});
say(`Temporal server ${cluster.version} ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
say(`  history shards: ${cluster.historyShards}; dynamic config: ${cluster.dynamicConfigFile}`);
say(`  server log: ${cluster.logFile}; metrics: ${cluster.metricsUrl}`);
say(`  PostgreSQL: ${cluster.postgresUrl}`);
say(`  TEMPORAL_ADDRESS=${cluster.address} TEMPORAL_NAMESPACE=${cluster.namespace}`);
say('Ctrl-C stops it and deletes its data');
// The address alone on stdout, for scripts that start this and read the first line.
process.stdout.write(`${cluster.address}\n`);

let stopping = false;
const stop = (signal: NodeJS.Signals) => {
  if (stopping) return;
  stopping = true;
  say(`${signal}: stopping`);
  cluster.stop().then(
    () => {
      say('stopped');
      process.exit(0);
    },
    (error: Error) => {
      say(`stop failed: ${error.message}`);
      process.exit(1);
    },
  );
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
