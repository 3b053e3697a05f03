/**
 * Audit appends under concurrency (`node --import tsx scripts/bench-audit-appends.ts`): how many
 * events a second one process stores when many activities append at once, as a worker's do
 * while a burst of elevations ends. Each append is one event of its own elevation, with the
 * elevation's view (so the summary row is written too), on a SQLite file or, with
 * `--database-url`, PostgreSQL.
 *
 *   --events N        events in all (default 4000)
 *   --concurrency C   appends in flight at once (default 64)
 *   --database-url U  PostgreSQL instead of a fresh SQLite file
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { ElevationView } from '../core/model/elevation.js';
import { openStores } from '../store/stores.js';

const { values } = parseArgs({
  options: {
    events: { type: 'string', default: '4000' },
    concurrency: { type: 'string', default: '64' },
    'database-url': { type: 'string' },
  },
});
const total = Number(values.events);
const concurrency = Number(values.concurrency);
const dir = mkdtempSync(path.join(tmpdir(), 'elevate-bench-audit-'));
const stores = await openStores({
  sqlitePath: path.join(dir, 'audit.db'),
  ...(values['database-url'] ? { databaseUrl: values['database-url'] } : {}),
});

const latencies: number[] = [];
let next = 0;
async function appender(): Promise<void> {
  while (next < total) {
    const i = next++;
    const elevationId = randomUUID();
    const at = new Date().toISOString();
    const elevation: ElevationView = {
      id: elevationId,
      workflowId: `elevation-${elevationId}`,
      status: 'revoking',
      botId: `bot-${i % 50}`,
      roleId: 'role',
      owner: 'owner@example.org',
      environment: 'prod',
      durationSeconds: 60,
      justification: 'bench',
      requestedAt: at,
      approval: { mode: 'auto' },
      approvals: [],
      revokeAttempts: 0,
    };
    const started = performance.now();
    await stores.auditLog.append({
      id: randomUUID(),
      elevationId,
      type: 'revoke.started',
      at: new Date().toISOString(),
      actor: { kind: 'system', id: 'elevate' },
      data: { reason: 'expired', comment: null, requestedBy: null },
      elevation,
    });
    latencies.push(performance.now() - started);
  }
}
const started = performance.now();
await Promise.all(Array.from({ length: concurrency }, appender));
const seconds = (performance.now() - started) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;
const verify = await stores.auditLog.verify();
console.log(
  JSON.stringify({
    engine: values['database-url'] ? 'postgres' : 'sqlite',
    events: total,
    concurrency,
    eventsPerSecond: Math.round(total / seconds),
    latencyMs: { p50: +pct(50).toFixed(2), p99: +pct(99).toFixed(2) },
    chainIntact: verify.ok,
    checked: verify.checked,
  }),
);
await stores.database.close();
rmSync(dir, { recursive: true, force: true });
