/**
 * `npm run bench [-- --quick] [-- --elevations N --rate R --duration S]`: the embedded default
 * under load.
 *
 * Starts its own Temporal dev server, slapd and SQLite store (in a temporary directory), a
 * worker and the API in this process, then sends N elevation requests through the HTTP API at
 * R per second (open-loop: on schedule, however slow the answers), one bot each, so every
 * grant and revocation is a real LDAP change. Windows are long enough that all N are active
 * at once. Measured from what the system recorded, not from polling:
 *
 * - request → active: `grantedAt` (the workflow saw the grant confirmed by read-back) minus
 *   the moment the client sent the request;
 * - revocation lag: the revocation receipt's `verifiedAt` (read-back confirmed the member is
 *   gone) minus `expiresAt`.
 *
 * The last line of output is one JSON object.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { policySchema } from '../config/policy.js';
import { generateSecret, hashSecret } from '../domain/credentials.js';
import { botDn, groupDn, seedLdif } from '../integrations/ldap/seed.js';
import { startSlapd } from '../integrations/ldap/slapd-server.js';
import { createLogger } from '../runtime/logger.js';
import { startServices } from '../runtime/services.js';
import { startTemporalDevServer } from '../runtime/temporal-cli.js';
import type { ElevationView, RevokeReceipt } from '../workflows/definitions.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    elevations: { type: 'string' },
    duration: { type: 'string' },
    roles: { type: 'string', default: '10' },
    rate: { type: 'string' },
  },
});
const quick = values.quick ?? false;
const N = Number(values.elevations ?? (quick ? 100 : 1000));
const roleCount = Math.min(Number(values.roles), N);
/** Requests per second, sent open-loop: on schedule, whatever the answers' latency. */
const rate = Number(values.rate ?? 10);
/** Long enough that the first elevation is still active when the last one is granted. */
const durationSeconds = Number(values.duration ?? Math.ceil(N / rate) + (quick ? 4 : 10));
const SUFFIX = 'dc=bench,dc=example';

const say = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const round = (n: number) => Math.round(n * 10) / 10;

const dir = mkdtempSync(path.join(tmpdir(), 'elevate-bench-'));
const stops: (() => Promise<void>)[] = [];
try {
  const bots = Array.from({ length: N }, (_, i) => `bench-${String(i).padStart(5, '0')}`);
  const roles = Array.from({ length: roleCount }, (_, i) => `bench-role-${i}`);
  const keys = bots.map(() => generateSecret('bot'));
  const policy = policySchema.parse({
    version: 1,
    admins: [{ id: 'bench-admin', tokenHash: hashSecret(generateSecret('admin')) }],
    bots: bots.map((id, i) => ({
      id,
      owner: 'bench@example.org',
      team: 'bench',
      purpose: 'benchmark',
      environment: 'bench',
      ldapDn: botDn(SUFFIX, id),
      apiKeyHash: hashSecret(keys[i]!),
      roles: [roles[i % roleCount]!],
    })),
    roles: roles.map((id) => ({
      id,
      environment: 'bench',
      target: { type: 'ldap', groupDn: groupDn(SUFFIX, id) },
      maxDurationSeconds: 3600,
      approval: { mode: 'auto' },
    })),
  });

  say(`starting the embedded stack in ${dir}`);
  const temporal = await startTemporalDevServer({
    dbFile: path.join(dir, 'temporal.db'),
    pidFile: path.join(dir, 'temporal.pid'),
    ui: false,
  });
  stops.push(() => temporal.stop());
  const slapd = await startSlapd({
    dataDir: path.join(dir, 'ldap'),
    suffix: SUFFIX,
    rootPassword: 'bench-root-secret',
    seedLdif: seedLdif(SUFFIX, { bots, groups: roles }),
  });
  stops.push(() => slapd.stop());
  const services = await startServices({
    settings: {
      host: '127.0.0.1',
      port: 0,
      temporal: { address: temporal.address, namespace: 'default', taskQueue: 'elevate-bench' },
      audit: { sqlitePath: path.join(dir, 'audit.db') },
      ldap: { url: slapd.url, bindDn: slapd.rootDn, bindPassword: slapd.rootPassword },
      timing: { grantTimeoutSeconds: 120, revokeRetryMaxSeconds: 5 },
    },
    policy,
    logger: createLogger('warn'),
    run: { api: true, worker: true },
  });
  stops.push(() => services.close());
  const api = services.url!;

  const post = async (i: number): Promise<{ id: string; sentAt: number }> => {
    const sentAt = Date.now();
    const res = await fetch(`${api}/v1/elevations`, {
      method: 'POST',
      headers: { authorization: `Bearer ${keys[i]}`, 'content-type': 'application/json' },
      body: JSON.stringify({ role: roles[i % roleCount], durationSeconds, justification: 'benchmark' }),
    });
    if (res.status !== 202) throw new Error(`request ${i}: HTTP ${res.status} ${await res.text()}`);
    return { id: ((await res.json()) as ElevationView).id, sentAt };
  };

  say(`sending ${N} requests at ${rate}/s, each for ${durationSeconds}s, over ${roleCount} LDAP groups`);
  const started = Date.now();
  const pending: Promise<{ id: string; sentAt: number }>[] = [];
  for (let i = 0; i < N; i += 1) {
    const due = started + (i * 1000) / rate;
    if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
    pending.push(post(i));
  }
  const sent = await Promise.all(pending);
  say(`all requests accepted after ${Date.now() - started} ms; waiting for every elevation to be revoked`);

  const deadline = Date.now() + (durationSeconds + 180) * 1000;
  for (;;) {
    const page = await services.store.listElevations({
      limit: 1,
      status: ['approved', 'active', 'revoking'],
    });
    if (page.items.length === 0 && (await services.store.listElevations({ limit: N })).items.length >= N)
      break;
    if (Date.now() > deadline) throw new Error('not every elevation was revoked in time');
    await new Promise((r) => setTimeout(r, 250));
  }
  const finished = Date.now();

  const toActive: number[] = [];
  const lags: number[] = [];
  const intervals: [number, number][] = [];
  let notRevoked = 0;
  for (const { id, sentAt } of sent) {
    const view = (await services.store.getElevation(id))!;
    if (view.status !== 'revoked') {
      notRevoked += 1;
      continue;
    }
    const events = await services.store.listEvents(id);
    const receipt = events.find((e) => e.type === 'elevation.revoked')!.data.receipt as RevokeReceipt;
    const granted = Date.parse(view.grantedAt!);
    const removed = Date.parse(receipt.verifiedAt);
    toActive.push(granted - sentAt);
    lags.push(removed - Date.parse(view.expiresAt!));
    intervals.push([granted, removed]);
  }
  // Most elevations active at the same moment, from the recorded grant and removal times.
  const edges = intervals
    .flatMap(([a, b]) => [[a, 1] as const, [b, -1] as const])
    .sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let concurrent = 0;
  let current = 0;
  for (const [, d] of edges) concurrent = Math.max(concurrent, (current += d));

  let leftInLdap = 0;
  for (const role of roles)
    leftInLdap += (await services.target.listMembers({ type: 'ldap', groupDn: groupDn(SUFFIX, role) }))
      .length;
  const chain = await services.store.verify();

  toActive.sort((a, b) => a - b);
  lags.sort((a, b) => a - b);
  const result = {
    requestToActiveP50Ms: round(pct(toActive, 50)),
    requestToActiveP99Ms: round(pct(toActive, 99)),
    revocationLagP50Ms: round(pct(lags, 50)),
    revocationLagP99Ms: round(pct(lags, 99)),
    revocationLagMaxMs: round(lags.at(-1) ?? NaN),
    concurrent,
    elevations: N,
    durationSeconds,
    ratePerSec: rate,
    lifecyclesPerSec: round(N / ((finished - started) / 1000)),
    notRevoked,
    membersLeftInLdap: leftInLdap,
    auditEvents: chain.checked,
    auditChainOk: chain.ok,
    quick,
    cpuCount: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: round(totalmem() / 2 ** 30),
    node: process.version,
  };
  say(`done in ${Math.round((finished - started) / 1000)} s`);
  process.stdout.write(`${JSON.stringify(result)}\n`);
  if (notRevoked > 0 || leftInLdap > 0 || !chain.ok) process.exitCode = 1;
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
