/**
 * `npm run bench:drift [-- --members N] [--runs 3]`: what one drift-detection period costs the
 * worker for a role whose target lists many members, nearly all explained by held leases.
 *
 * The activity is the real one (`createActivities(...).reconcileRole`), over the real
 * `GrantLedger`, the real lease store on a SQLite file in a temporary folder and the real audit
 * log (where drift is recorded). Only the LDAP server is left out: the target is the LDAP target
 * itself (its `membershipKey` and `handleFor`, so every key is made by the real DN normalisation)
 * with the group's members listed and compared from memory instead of over the network. The time
 * the LDAP search and its placeholder filter take is therefore not in these figures.
 *
 * For each size (1,000, 10,000 and 50,000 members, or `--members N`): a fresh store, a held
 * lease for every member (as `acquire` records it), a few members no lease explains (the drift,
 * alerted and recorded every period) and two standing ones, and the bots' principals given as
 * the policy gives them (every member's). Then one period to warm up and `--runs` periods timed:
 * wall time and the process's CPU time (`process.cpuUsage`, user + system), medians; the longest
 * the event loop was held from other work (the longest gap between ticks of a 1 ms interval, the
 * most of any period); and
 * the lease-store calls and membership keys one period makes.
 *
 * The last line of output is one JSON object.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { createActivities, type ActivityDeps } from '../activities/index.js';
import type { LdapGrantHandle, LdapTargetRef } from '../core/model/targets.js';
import type { ReconcileRole } from '../core/model/reconcile.js';
import { botDn, groupDn } from '../dev/ldap-seed.js';
import { GrantLedger } from '../domain/grant-ledger.js';
import { LdapTarget } from '../integrations/ldap/ldap-target.js';
import { TargetRouter } from '../integrations/target-router.js';
import { GrantLeases } from '../store/grant-leases.js';
import { openStores } from '../store/stores.js';

const { values } = parseArgs({
  options: {
    members: { type: 'string' },
    runs: { type: 'string', default: '3' },
    drift: { type: 'string', default: '5' },
  },
});
const SIZES = values.members ? [Number(values.members)] : [1_000, 10_000, 50_000];
const RUNS = Number(values.runs);
const DRIFT = Number(values.drift);
const SUFFIX = 'dc=bench,dc=example';

/** The LDAP target with its group's members in memory: no server, the real keys and handles. */
class InMemoryLdapTarget extends LdapTarget {
  readonly groups = new Map<string, Set<string>>();
  keysMade = 0;

  override membershipKey(ref: LdapTargetRef, principal: string): string {
    this.keysMade += 1;
    return super.membershipKey(ref, principal);
  }

  override listMembers(ref: LdapTargetRef): Promise<string[]> {
    return Promise.resolve([...(this.groups.get(ref.groupDn) ?? [])]);
  }

  override check(handle: LdapGrantHandle): Promise<boolean> {
    return Promise.resolve(this.groups.get(handle.groupDn)?.has(handle.member) ?? false);
  }
}

/** The real lease store, counting the reads drift detection makes. */
class CountingLeases extends GrantLeases {
  holdersCalls = 0;
  holdersOfCalls = 0;
  holdersOfKeys = 0;

  override holders(key: string): Promise<string[]> {
    this.holdersCalls += 1;
    return super.holders(key);
  }

  override holdersOf(keys: string[]): Promise<Map<string, string[]>> {
    this.holdersOfCalls += 1;
    this.holdersOfKeys += keys.length;
    return super.holdersOf(keys);
  }
}

/**
 * Starts watching the event loop; the function it returns stops and says the longest it was
 * held (ms): the longest gap between two ticks of a 1 ms interval, or since the last tick.
 */
function watchEventLoop(): () => number {
  let last = performance.now();
  let longest = 0;
  const tick = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  return () => {
    clearInterval(tick);
    return Math.max(longest, performance.now() - last);
  };
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const round = (x: number, digits = 1): number => Number(x.toFixed(digits));

interface SizeResult {
  members: number;
  explained: number;
  drift: number;
  setupSeconds: number;
  wallMs: number;
  cpuMs: number;
  wallMsRuns: number[];
  cpuMsRuns: number[];
  /** The longest the event loop was kept from other work during a timed period (of all of them). */
  loopDelayMaxMs: number;
  leaseHoldersCalls: number;
  leaseHoldersOfCalls: number;
  leaseHoldersOfKeys: number;
  membershipKeys: number;
}

async function measure(members: number): Promise<SizeResult> {
  const dir = mkdtempSync(path.join(tmpdir(), 'elevate-bench-drift-'));
  const stores = await openStores({ sqlitePath: path.join(dir, 'store.db') });
  // Never connects: every operation that would reach the server is answered from memory.
  const ldap = new InMemoryLdapTarget({
    url: 'ldap://127.0.0.1:1/',
    bindDn: `cn=admin,${SUFFIX}`,
    bindPassword: 'unused',
  });
  try {
    const leases = new CountingLeases(stores.database);
    const ledger = new GrantLedger(leases, new TargetRouter({ ldap }));
    const ref: LdapTargetRef = { type: 'ldap', groupDn: groupDn(SUFFIX, 'fleet') };
    const bots = Array.from({ length: members }, (_, i) => botDn(SUFFIX, `bot-${i}`));
    const intruders = Array.from({ length: DRIFT }, (_, i) => botDn(SUFFIX, `intruder-${i}`));
    const standing = [botDn(SUFFIX, 'standing-0'), botDn(SUFFIX, 'standing-1')];
    ldap.groups.set(ref.groupDn, new Set([...standing, ...bots, ...intruders]));

    const setup = performance.now();
    const at = new Date().toISOString();
    for (const [i, principal] of bots.entries()) {
      const elevationId = `el_bench_${i}`;
      const key = ledger.membershipKey(ref, principal, elevationId);
      await leases.hold({ elevationId, key, target: ref, principal }, at);
    }
    const setupSeconds = (performance.now() - setup) / 1000;

    const activities = createActivities({
      store: stores.auditLog,
      // Reconciliation checks no request and claims no run.
      requests: {} as ActivityDeps['requests'],
      requestRuns: {} as ActivityDeps['requestRuns'],
      ledger,
      notifier: { announce: () => Promise.resolve([]), publish: () => Promise.resolve() },
      logger: pino({ level: 'silent' }),
    });
    const role: ReconcileRole = { id: 'fleet', target: ref, action: 'alert', standing, principals: bots };

    const period = async () => {
      leases.holdersCalls = leases.holdersOfCalls = leases.holdersOfKeys = ldap.keysMade = 0;
      const held = watchEventLoop();
      const cpu = process.cpuUsage();
      const t0 = performance.now();
      const result = await activities.reconcileRole(role);
      const wallMs = performance.now() - t0;
      const used = process.cpuUsage(cpu);
      if (result.drift.length !== DRIFT) {
        throw new Error(`expected ${DRIFT} drift findings, got ${result.drift.length}`);
      }
      return { wallMs, cpuMs: (used.user + used.system) / 1000, loopDelayMaxMs: held() };
    };
    await period();
    const runs: { wallMs: number; cpuMs: number; loopDelayMaxMs: number }[] = [];
    for (let i = 0; i < RUNS; i += 1) runs.push(await period());
    return {
      members: members + DRIFT + standing.length,
      explained: members,
      drift: DRIFT,
      setupSeconds: round(setupSeconds),
      wallMs: round(median(runs.map((r) => r.wallMs))),
      cpuMs: round(median(runs.map((r) => r.cpuMs))),
      wallMsRuns: runs.map((r) => round(r.wallMs)),
      cpuMsRuns: runs.map((r) => round(r.cpuMs)),
      loopDelayMaxMs: round(Math.max(...runs.map((r) => r.loopDelayMaxMs))),
      leaseHoldersCalls: leases.holdersCalls,
      leaseHoldersOfCalls: leases.holdersOfCalls,
      leaseHoldersOfKeys: leases.holdersOfKeys,
      membershipKeys: ldap.keysMade,
    };
  } finally {
    await ldap.close();
    await stores.database.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: SizeResult[] = [];
for (const size of SIZES) {
  const r = await measure(size);
  results.push(r);
  console.log(
    `${r.members} members (${r.explained} explained, ${r.drift} drift): period wall ${r.wallMs} ms, CPU ${r.cpuMs} ms ` +
      `(median of ${RUNS}), event loop held up to ${r.loopDelayMaxMs} ms; lease reads: ${r.leaseHoldersCalls} holders, ${r.leaseHoldersOfCalls} holdersOf ` +
      `(${r.leaseHoldersOfKeys} keys); membership keys made: ${r.membershipKeys}; leases held in ${r.setupSeconds} s`,
  );
}
console.log(
  JSON.stringify({
    node: process.version,
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    runs: RUNS,
    results,
  }),
);
