/**
 * `npm run bench:scoring [-- --bots N --days N --requests N]`: what the inline risk score costs on
 * the request path, with the store, as the worker's scoring activity runs it — not only the pure
 * rule that `npm run eval:detection` times.
 *
 * 1. Writes a generated fleet's normal history (`detection-fleet.ts`, default 60 bots, 30 days)
 *    into a fresh SQLite store as `elevation.requested` events with their past times, each
 *    followed by the events a lifecycle adds (approved, grant confirmed, revoke started, revoked).
 * 2. Times the first catch-up, which folds that whole backlog into the baselines (events/s).
 * 3. Then, request by request from the next day of the same fleet, appends the previous
 *    request's lifecycle events and times `RiskScorer.score` (catch-up of the new events, the
 *    bot's baseline read, the score): p50, p99 and max. This is the scoring activity's work
 *    without the Temporal round trip of a local activity.
 *
 * The last line of output is one JSON object.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { Policy } from '../config/policy.js';
import type { ElevationInput } from '../core/model/elevation.js';
import type { TypedNewAuditEvent } from '../core/model/audit-record.js';
import type { EventType } from '../core/model/events.js';
import { RiskScorer } from '../domain/detection/risk-scorer.js';
import { openStores } from '../store/stores.js';
import { DAY, Rng, generateFleet, normalHistory, type BotSpec, type GenRequest } from './detection-fleet.js';

const { values } = parseArgs({
  options: {
    bots: { type: 'string', default: '60' },
    days: { type: 'string', default: '30' },
    requests: { type: 'string', default: '500' },
    seed: { type: 'string', default: '1' },
  },
});
const BOTS = Number(values.bots);
const DAYS = Number(values.days);
const REQUESTS = Number(values.requests);
const SEED = Number(values.seed);

const dir = mkdtempSync(path.join(tmpdir(), 'elevate-bench-scoring-'));
const stores = await openStores({ sqlitePath: path.join(dir, 'audit.db') });
try {
  const fleet = generateFleet(SEED, BOTS);
  const start = Date.UTC(2026, 0, 5);
  const rng = new Rng(SEED);
  const all = fleet.flatMap((bot) => normalHistory(rng, bot, start, DAYS + 2)).sort((a, b) => a.at - b.at);
  const cut = start + DAYS * DAY;
  const history = all.filter((r) => r.at < cut);
  const live = all.filter((r) => r.at >= cut).slice(0, REQUESTS);

  let n = 0;
  const append = async (request: GenRequest): Promise<void> => {
    n += 1;
    const elevationId = `el_bench_${n}`;
    const at = (offset: number) => new Date(request.at + offset).toISOString();
    const event = <T extends EventType>(type: T, offset: number, data: TypedNewAuditEvent<T>['data']) =>
      stores.auditLog.append({
        id: `${elevationId}-${type}`,
        elevationId,
        type,
        at: at(offset),
        actor: { kind: 'system', id: 'elevate' },
        data,
      });
    await event('elevation.requested', 0, {
      bot: { id: request.bot.id },
      role: {
        id: request.role.id,
        target: { type: 'ldap', groupDn: `cn=${request.role.id},ou=groups,dc=example,dc=org` },
        approval: { mode: 'auto' },
        risk: { sensitivity: request.role.sensitivity },
      },
      durationSeconds: request.durationSeconds,
      justification: 'bench',
      source: {
        ip: request.ip,
        userAgent: request.userAgent,
        authMethod: request.authMethod,
        ...(request.workload ? { workload: request.workload } : {}),
      },
    });
    await event('elevation.approved', 5, { rule: 'auto' });
    await event('revoke.started', request.durationSeconds * 1000, {
      reason: 'expired',
      comment: null,
      requestedBy: null,
    });
    await event('elevation.revoked', request.durationSeconds * 1000 + 40, { reason: 'expired' });
  };

  const filling = performance.now();
  for (const request of history) await append(request);
  const filled = performance.now() - filling;

  const policy = {
    bots: fleet.map((bot: BotSpec) => ({ id: bot.id, owner: `${bot.id}@example.org`, team: 'bench' })),
    detection: undefined,
  } as unknown as Pick<Policy, 'bots' | 'detection'>;
  const scorer = new RiskScorer({ baselines: stores.baselines, botStates: stores.botStates, policy });

  const folding = performance.now();
  let folded = 0;
  for (;;) {
    const step = await scorer.keepUp(50);
    folded += step;
    if (step === 0) break;
  }
  const foldMs = performance.now() - folding;

  const times: number[] = [];
  let previous: GenRequest | undefined;
  for (const request of live) {
    if (previous) await append(previous);
    const input = {
      elevationId: `el_live_${times.length}`,
      bot: { id: request.bot.id, owner: `${request.bot.id}@example.org`, team: 'bench' },
      role: {
        id: request.role.id,
        environment: request.role.environment,
        approval: { mode: 'auto' },
        target: { type: 'ldap', groupDn: 'cn=x,dc=example,dc=org' },
        maxDurationSeconds: 86_400,
      },
      durationSeconds: request.durationSeconds,
      requestedAt: new Date(request.at).toISOString(),
      source: { ip: request.ip, userAgent: request.userAgent, authMethod: request.authMethod },
    } as unknown as ElevationInput;
    const t0 = performance.now();
    await scorer.score(input);
    times.push(performance.now() - t0);
    previous = request;
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!;
  const events = history.length * 4;
  const result = {
    bots: BOTS,
    days: DAYS,
    historyEvents: events,
    fillEventsPerSecond: Math.round(events / (filled / 1000)),
    backlogFolded: folded,
    foldEventsPerSecond: Math.round(folded / (foldMs / 1000)),
    requests: times.length,
    scoreP50Ms: Number(at(0.5).toFixed(2)),
    scoreP99Ms: Number(at(0.99).toFixed(2)),
    scoreMaxMs: Number(times[times.length - 1]!.toFixed(2)),
  };
  console.log(
    `history: ${events} events in ${(filled / 1000).toFixed(1)} s; backlog folded at ${result.foldEventsPerSecond} events/s`,
  );
  console.log(
    `scoring with the store, ${times.length} requests: p50 ${result.scoreP50Ms} ms, p99 ${result.scoreP99Ms} ms, max ${result.scoreMaxMs} ms`,
  );
  console.log(JSON.stringify(result));
} finally {
  await stores.database.close();
  rmSync(dir, { recursive: true, force: true });
}
