/**
 * `npm run bench:flood [-- --grants K --flood-rate R --concurrency C]`: how much a flood of
 * unauthenticated requests slows a legitimate grant.
 *
 * Starts its own Temporal dev server, slapd and SQLite store, a worker and the API in this
 * process (as `npm start` does, with `ELEVATE_TRUST_PROXY=loopback` so the flood and the bot can
 * come from two networks through `X-Forwarded-For`). Then, K elevations one after another, each
 * for its own bot, measured from the request's send time to `grantedAt` (the workflow saw the
 * LDAP membership confirmed by read-back):
 *
 * 1. with nothing else going on;
 * 2. while a child process (an attacker's CPU is not the server's) sends R unauthenticated
 *    requests a second over up to C connections (default 355/s, the fuzz run's fastest client;
 *    `--flood-rate 0`: as fast as they are answered), from 203.0.113.0/24: ~8 KB paths, ~6 KB
 *    `Origin` headers, no key, a malformed one or a made-up one — what the fuzz run sent.
 *
 * It also reports the flood's rate, how its answers split (401, 429), and how many audit events
 * and bytes of audit database the flood added. The last line of output is one JSON object.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { policySchema } from '../config/policy.js';
import { generateSecret, hashSecret } from '../core/crypto/credentials.js';
import { newDecisionKeyPair, parseSigningKey } from '../core/crypto/decision-keys.js';
import { startBenchServers } from '../dev/bench-servers.js';
import { botDn, groupDn } from '../dev/ldap-seed.js';
import { createLogger } from '../runtime/logger.js';
import { freePort } from '../dev/processes.js';
import { startApiAndWorker } from '../runtime/api-and-worker.js';
import type { ElevationView } from '../core/model/elevation.js';

const { values } = parseArgs({
  options: {
    grants: { type: 'string', default: '30' },
    concurrency: { type: 'string', default: '32' },
    'flood-port': { type: 'string' },
    // 355/s: the fastest single client of the fuzz run. 0: as fast as the server answers.
    'flood-rate': { type: 'string', default: '355' },
  },
});
const K = Number(values.grants);
const C = Number(values.concurrency);
const RATE = Number(values['flood-rate']);
const SUFFIX = 'dc=flood,dc=example';
const say = (line: string) => process.stderr.write(`[bench:flood] ${line}\n`);
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;

if (values['flood-port']) {
  await floodUntilStopped(Number(values['flood-port']), C, RATE);
  process.exit(0);
}

/**
 * The flood, in a child process: C kept-alive connections, each sending the next request when
 * the last is answered, until the parent says `stop`; then it reports what it sent.
 */
async function floodUntilStopped(port: number, connections: number, rate: number): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: connections });
  const statuses: Record<string, number> = {};
  let sent = 0;
  let flooding = true;
  process.once('message', () => (flooding = false));
  const junk = (i: number) =>
    new Promise<void>((resolve) => {
      const kind = i % 3;
      const authorization =
        kind === 0 ? undefined : kind === 1 ? 'Bearer' : `Bearer elv_bot_${randomBytes(12).toString('hex')}`;
      const req = request(
        {
          host: '127.0.0.1',
          port,
          path: `/v1/elevations/${'A'.repeat(8000)}`,
          agent,
          headers: {
            ...(authorization ? { authorization } : {}),
            origin: `https://${'o'.repeat(6000)}.example`,
            'x-forwarded-for': `203.0.113.${i % 250}`,
          },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            statuses[res.statusCode!] = (statuses[res.statusCode!] ?? 0) + 1;
            resolve();
          });
        },
      );
      req.on('error', () => resolve());
      req.end();
    });
  const started = performance.now();
  if (rate > 0) {
    // Open-loop at `rate` per second (at most `connections` in flight): the attacker's pace, not
    // the server's.
    let inFlight = 0;
    const tick = setInterval(() => {
      const due = Math.floor(((performance.now() - started) / 1000) * rate) - sent;
      for (let k = 0; k < due && inFlight < connections; k++) {
        inFlight++;
        void junk(sent++).then(() => inFlight--);
      }
    }, 5);
    await new Promise<void>((resolve) => process.once('message', () => resolve()));
    clearInterval(tick);
    while (inFlight > 0) await new Promise((r) => setTimeout(r, 10));
  } else {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (flooding) await junk(sent++);
      }),
    );
  }
  agent.destroy();
  await new Promise<void>((resolve) =>
    process.send!({ sent, seconds: (performance.now() - started) / 1000, statuses }, () => resolve()),
  );
}

const dir = mkdtempSync(path.join(tmpdir(), 'elevate-bench-flood-'));
const stops: (() => Promise<void>)[] = [];
try {
  const WARM_UP = 5;
  const bots = Array.from({ length: WARM_UP + 2 * K }, (_, i) => `flood-${String(i).padStart(4, '0')}`);
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
      roles: ['flood-role'],
    })),
    roles: [
      {
        id: 'flood-role',
        environment: 'bench',
        target: { type: 'ldap', groupDn: groupDn(SUFFIX, 'flood-role') },
        maxDurationSeconds: 3600,
        approval: { mode: 'auto' },
      },
    ],
  });
  say(`starting the embedded stack in ${dir}`);
  const { temporal, slapd } = await startBenchServers(dir, SUFFIX, { bots, groups: ['flood-role'] }, stops);
  const decisionSigningKey = parseSigningKey(newDecisionKeyPair().privatePem);
  const auditPath = path.join(dir, 'audit.db');
  const services = await startApiAndWorker({
    settings: {
      host: '127.0.0.1',
      port: await freePort(),
      trustProxy: 'loopback',
      temporal: { address: temporal.address, namespace: 'default', taskQueue: 'elevate-bench-flood' },
      decisionSigningKey,
      decisionPublicKeys: [decisionSigningKey.publicKey],
      audit: { sqlitePath: auditPath },
      ldap: { url: slapd.url, bindDn: slapd.rootDn, bindPassword: slapd.rootPassword },
      timing: { grantTimeoutSeconds: 120, revokeRetryMaxSeconds: 5 },
      reconcile: { intervalSeconds: 3600 },
    },
    policy,
    logger: createLogger('warn'),
    env: {},
  });
  stops.push(() => services.close());
  const api = services.url;
  const { port } = new URL(api);

  /** `count` grants one after another, bots from `first` on: request send time → `grantedAt`. */
  const grants = async (first: number, count = K): Promise<number[]> => {
    const ms: number[] = [];
    for (let i = first; i < first + count; i++) {
      const sentAt = Date.now();
      const res = await fetch(`${api}/v1/elevations`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${keys[i]}`,
          'content-type': 'application/json',
          'x-forwarded-for': '198.51.100.7',
        },
        body: JSON.stringify({ role: 'flood-role', durationSeconds: 600, justification: 'benchmark' }),
      });
      if (res.status !== 202) throw new Error(`grant ${i}: HTTP ${res.status} ${await res.text()}`);
      const { id } = (await res.json()) as ElevationView;
      const active = await fetch(`${api}/v1/elevations/${id}?until=active&waitSeconds=30`, {
        headers: { authorization: `Bearer ${keys[i]}`, 'x-forwarded-for': '198.51.100.7' },
      });
      const view = (await active.json()) as ElevationView;
      if (!view.grantedAt) throw new Error(`grant ${i}: not active: ${JSON.stringify(view)}`);
      ms.push(Date.parse(view.grantedAt) - sentAt);
    }
    return ms.sort((a, b) => a - b);
  };
  const summary = (ms: number[]) => ({
    p50Ms: pct(ms, 50),
    p90Ms: pct(ms, 90),
    maxMs: ms.at(-1) ?? NaN,
  });
  /** Events that name no elevation (the flood's refusals and summaries), and the largest one's data. */
  const anonymousEvents = async () => {
    let n = 0;
    let largest = 0;
    let after = 0;
    for (;;) {
      const page = await services.stores.auditLog.readEvents(after, 1000);
      for (const e of page.filter((x) => x.elevationId === null)) {
        n += 1;
        largest = Math.max(largest, JSON.stringify(e.data).length);
      }
      if (page.length < 1000) return { n, largest };
      after = page.at(-1)!.position;
    }
  };
  const dbBytes = () =>
    ['', '-wal'].reduce((n, ext) => n + (statSync(auditPath + ext, { throwIfNoEntry: false })?.size ?? 0), 0);

  say(`${K} grants, nothing else going on`);
  await grants(0, WARM_UP); // warm-up: workflow bundle, connections (its figures are not kept)
  const baseline = await grants(WARM_UP);

  say(`${K} grants during a flood of unauthenticated requests over ${C} connections`);
  const eventsBefore = (await anonymousEvents()).n;
  const bytesBefore = dbBytes();
  // The flood comes from another process, as an attacker's would: this process's CPU is the
  // server's (API and worker), not the load generator's.
  const child = fork(
    fileURLToPath(import.meta.url),
    ['--flood-port', port, '--concurrency', String(C), '--flood-rate', String(RATE)],
    {
      execArgv: process.execArgv,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    },
  );
  const report = new Promise<{ sent: number; seconds: number; statuses: Record<string, number> }>((resolve) =>
    child.once('message', (m) => resolve(m as never)),
  );
  // A few seconds in, so the limit is reached and the flood runs at its steady rate.
  await new Promise((r) => setTimeout(r, 3000));
  const underFlood = await grants(WARM_UP + K);
  child.send('stop');
  const { sent, seconds: floodSeconds, statuses } = await report;
  await services.services.audit.flushRefusals();
  const after = await anonymousEvents();

  const result = {
    machine: {
      cpus: availableParallelism(),
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
    },
    grants: K,
    grantWithoutFlood: summary(baseline),
    grantDuringFlood: summary(underFlood),
    flood: {
      rateAsked: RATE > 0 ? RATE : 'as fast as answered',
      requests: sent,
      seconds: Math.round(floodSeconds * 10) / 10,
      perSecond: Math.round(sent / floodSeconds),
      statuses,
      auditEventsAdded: after.n - eventsBefore,
      largestEventDataChars: after.largest,
      // The grants' own events are in here too (a few hundred bytes each).
      auditBytesAdded: dbBytes() - bytesBefore,
    },
  };
  console.log(JSON.stringify(result));
} finally {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
}
