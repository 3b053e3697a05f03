/**
 * kill -9 at every phase of an elevation: of the `elevate worker` process, and separately of the
 * `elevate api` process (two processes, as deployed; the test process holds only the servers and
 * the checks). Each run aims at one phase of one elevation, at a random point of it, while a few
 * background bots keep elevations of their own in flight; then a new process is started and
 * the invariants are checked (invariants.ts), while a sampler checks them throughout.
 *
 * How each phase is reached, from the outside:
 * - requested: API — killed 0–25 ms after the bot's POST went out, the bot retrying with the
 *   same requestId; worker — killed 0–30 ms after the bot's POST went out (a hit when
 *   `elevation.approved` was not stored yet).
 * - awaiting approval: the role needs an approver; killed 0–1.5 s into the wait, or 0–80 ms
 *   after the approver submitted the confirmation form (then approved again if it was lost).
 * - granting: slapd is paused (SIGSTOP) so the grant cannot finish; killed 0–1 s after the
 *   approval is recorded, then slapd resumes.
 * - active: killed at a random point of the window.
 * - revoking: slapd is paused just before the window ends; killed 0–1 s after the end.
 * - after revoke before audit: the membership is watched (LDAP compare every few ms) and the
 *   process is killed the moment it is gone; the run counts as a hit when `elevation.revoked`
 *   was not yet stored.
 */
import { randomUUID } from 'node:crypto';
import { Client as LdapClient } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newDecisionKeyPair, parseSigningKey } from '../../core/crypto/decision-keys.js';
import { FINAL_STATUSES, type ElevationView } from '../../core/model/elevation.js';
import { botDn, groupDn } from '../../dev/ldap-seed.js';
import { elevationIdForRequest } from '../../domain/ids.js';
import { startStack, SUFFIX, type Stack } from '../support/stack.js';
import { BackgroundLoad } from './background-load.js';
import { ElevateDeployment, type ProcessKind } from './elevate-processes.js';
import { progress, recordRows, type FaultRow } from './fault-results.js';
import { faultSettings, seededRandom, sleep } from './fault-settings.js';
import { InvariantChecker, revocationDelay } from './invariants.js';
import { ldapMemberships } from './membership-sources.js';

const PHASES = [
  'requested',
  'awaiting approval',
  'granting',
  'active',
  'revoking',
  'after revoke before audit',
] as const;
type Phase = (typeof PHASES)[number];
const KINDS: ProcessKind[] = ['worker', 'api'];
const SUBJECT = 'subject-bot';
const BG_BOTS = ['bg-1', 'bg-2', 'bg-3'];
/**
 * The revocation-lag bound of this file: a worker killed with an activity in flight leaves it
 * to Temporal's start-to-close timeout (20 s for a revocation, 30 s for a grant), plus the new
 * worker's start-up; beyond this a grant still in the target counts as left over.
 */
const LAG_MS = 90_000;

interface RunRecord {
  phase: Phase;
  kind: ProcessKind;
  from: number;
  to: number;
  /** Whether the kill landed in the phase aimed at (see the file comment). */
  hit: boolean;
  restartMs: number;
  subject: string;
}

// Kill points and background load draw from separate generators: the load's draws depend on
// timing, and must not shift the kill points a seed repeats.
const random = seededRandom(faultSettings.seed + 1);
const loadRandom = seededRandom(faultSettings.seed + 2);
const between = (min: number, max: number) => min + random() * (max - min);

let stack: Stack;
let deployment: ElevateDeployment;
let checker: InvariantChecker;
let load: BackgroundLoad;
let stopSampling: () => Promise<void>;
let ldap: LdapClient;
const runs: RunRecord[] = [];

beforeAll(async () => {
  const keys = newDecisionKeyPair();
  stack = await startStack({
    bots: [
      { id: SUBJECT, roles: ['ops', 'gated'] },
      ...BG_BOTS.map((id) => ({ id, roles: ['ops', 'batch'] })),
    ],
    roles: [
      { id: 'ops', maxDurationSeconds: 600 },
      { id: 'batch', maxDurationSeconds: 600 },
      {
        id: 'gated',
        maxDurationSeconds: 600,
        approval: { mode: 'approvers', approvers: ['ann@example.org'], windowSeconds: 600 },
      },
    ],
    // The in-process services (only the checks read through them) sign as the API process does.
    signingKey: parseSigningKey(keys.privatePem),
    store: faultSettings.store,
    worker: false,
  });
  deployment = await ElevateDeployment.start(stack, keys);
  checker = new InvariantChecker({
    stores: stack.stores,
    sources: [ldapMemberships(stack, ['ops', 'batch', 'gated'])],
    lagMs: LAG_MS,
  });
  ldap = new LdapClient({ url: stack.slapd.url, timeout: 3000, connectTimeout: 2000 });
  load = new BackgroundLoad({
    bots: BG_BOTS,
    roles: ['ops', 'batch'],
    durationSeconds: [3, 9],
    request: (bot, body) => deployment.request(bot, body, 120_000),
    stored: (id) => stack.stores.elevations.getElevation(id),
    random: loadRandom,
  });
  load.start();
  stopSampling = checker.startSampling();
}, 240_000);

afterAll(async () => {
  if (stack) process.kill(stack.slapd.pid, 'SIGCONT');
  await load?.stop();
  await stopSampling?.();
  await ldap?.unbind().catch(() => undefined);
  await deployment?.close();
  await stack?.close();
});

const stored = (id: string) => stack.stores.elevations.getElevation(id);
const eventTypes = async (id: string) =>
  (await stack.stores.auditLog.listEvents(id)).map((e) => e.type as string);

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const statusIs = (id: string, ...statuses: string[]) =>
  until(`${id} to be ${statuses.join('/')}`, async () => {
    const v = await stored(id);
    return v && statuses.includes(v.status) ? v : undefined;
  });

const body = (role: string, durationSeconds: number) => ({ role, durationSeconds, requestId: randomUUID() });
const pause = () => process.kill(stack.slapd.pid, 'SIGSTOP');
const resume = () => process.kill(stack.slapd.pid, 'SIGCONT');

/** The subject bot's membership in `role`, read with an LDAP compare. */
async function subjectHolds(role: string): Promise<boolean> {
  return ldap.compare(groupDn(SUFFIX, role), 'member', botDn(SUFFIX, SUBJECT));
}

/**
 * One kill of `kind` at `phase`; returns the subject elevation, whether the kill hit the phase,
 * and the new process's start-up time. Every path restarts the process.
 */
async function killAt(
  phase: Phase,
  kind: ProcessKind,
): Promise<{ id: string; hit: boolean; restartMs: number }> {
  const kill = () => deployment.kill(kind);
  const restart = () => deployment.restart(kind);
  switch (phase) {
    case 'requested': {
      const req = body('ops', 6);
      const id = elevationIdForRequest(SUBJECT, req.requestId);
      if (kind === 'api') {
        const first = deployment.requestOnce(SUBJECT, req).then(
          () => true,
          () => false,
        );
        await sleep(between(0, 25));
        await kill();
        const answered = await first;
        const restartMs = await restart();
        // The bot asks again with the same requestId: the same elevation, never a second one.
        const again = await deployment.request(SUBJECT, req);
        if (again.id !== id) throw new Error(`the retried request made ${again.id}, not ${id}`);
        return { id, hit: !answered, restartMs };
      }
      // The worker is killed while the new workflow takes its first steps, the API still answering.
      const first = deployment.requestOnce(SUBJECT, req).catch(() => undefined);
      await sleep(between(0, 30));
      await kill();
      const hit = !(await eventTypes(id)).includes('elevation.approved');
      const restartMs = await restart();
      if (!(await first)) await deployment.request(SUBJECT, req);
      return { id, hit, restartMs };
    }
    case 'awaiting approval': {
      const { id } = await deployment.request(SUBJECT, body('gated', 6));
      await statusIs(id, 'pending_approval');
      await sleep(between(0, 1500));
      if (random() < 0.5) {
        await kill();
        const hit = (await stored(id))?.status === 'pending_approval';
        const restartMs = await restart();
        await (await deployment.approvalPage(id)).confirm();
        return { id, hit, restartMs };
      }
      const page = await deployment.approvalPage(id);
      const confirming = page.confirm().catch(() => undefined);
      await sleep(between(0, 80));
      await kill();
      const hit = (await stored(id))?.status === 'pending_approval';
      const restartMs = await restart();
      await confirming;
      // An approval lost with the process is given again, as the approver would.
      const deadline = Date.now() + 30_000;
      while ((await stored(id))?.status === 'pending_approval' && Date.now() < deadline) {
        await (await deployment.approvalPage(id)).confirm().catch(() => undefined);
        await sleep(1000);
      }
      return { id, hit, restartMs };
    }
    case 'granting': {
      pause();
      try {
        const { id } = await deployment.request(SUBJECT, body('ops', 6));
        await statusIs(id, 'approved');
        await sleep(between(0, 1000));
        await kill();
        const hit = (await stored(id))?.status === 'approved';
        resume();
        return { id, hit, restartMs: await restart() };
      } finally {
        resume();
      }
    }
    case 'active': {
      const duration = 8;
      const { id } = await deployment.request(SUBJECT, body('ops', duration));
      const active = await statusIs(id, 'active');
      const left = Date.parse(active.expiresAt!) - Date.now();
      await sleep(between(0, Math.max(0, left - 1000)));
      await kill();
      const v = await stored(id);
      const hit = v?.status === 'active' && Date.now() < Date.parse(v.expiresAt!);
      return { id, hit, restartMs: await restart() };
    }
    case 'revoking': {
      const { id } = await deployment.request(SUBJECT, body('ops', 4));
      const active = await statusIs(id, 'active');
      const end = Date.parse(active.expiresAt!);
      await sleep(Math.max(0, end - 300 - Date.now()));
      pause();
      try {
        await sleep(Math.max(0, end - Date.now()) + between(0, 1000));
        await kill();
        const hit = !(await eventTypes(id)).includes('elevation.revoked');
        resume();
        return { id, hit, restartMs: await restart() };
      } finally {
        resume();
      }
    }
    case 'after revoke before audit': {
      const { id } = await deployment.request(SUBJECT, body('ops', 3));
      const active = await statusIs(id, 'active');
      const end = Date.parse(active.expiresAt!);
      await sleep(Math.max(0, end - 300 - Date.now()));
      const deadline = end + 60_000;
      while ((await subjectHolds('ops')) && Date.now() < deadline) await sleep(2);
      await kill();
      const hit = !(await eventTypes(id)).includes('elevation.revoked');
      return { id, hit, restartMs: await restart() };
    }
  }
}

/** The runs in a random order: every phase and kind `FAULT_RUNS` times (FAULT_ONLY: some phases). */
function schedule(): { phase: Phase; kind: ProcessKind }[] {
  const phases = PHASES.filter((p) => !faultSettings.only || faultSettings.only.includes(p));
  const all = Array.from({ length: faultSettings.runs }, () =>
    phases.flatMap((phase) => KINDS.map((kind) => ({ phase, kind }))),
  ).flat();
  for (let i = all.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [all[i], all[j]] = [all[j]!, all[i]!];
  }
  return all;
}

describe('kill -9 of the API and worker processes at every phase', () => {
  it(
    'when a process is killed at any phase and a new one started, then every grant is revoked, none is left over, every step is recorded once, and the chain verifies',
    async () => {
      const problems: string[] = [];
      try {
        for (const { phase, kind } of schedule()) {
          const from = Date.now();
          const { id, hit, restartMs } = await killAt(phase, kind);
          // The subject ends before the next run, so runs do not overlap.
          const [end] = await checker.settle(180_000, [id]);
          runs.push({ phase, kind, from, to: Date.now(), hit, restartMs, subject: id });
          const delay = end && revocationDelay(end, await stack.stores.auditLog.listEvents(id));
          progress(
            `run ${runs.length}: kill -9 ${kind} at ${phase}: hit ${hit}, new process ready in ${restartMs} ms, ` +
              `${id} ${end?.status ?? 'not stored'}${delay === undefined ? '' : `, revoked ${delay} ms after its end`}; ` +
              `violations so far ${checker.violations.length}`,
          );
          if (!end || !FINAL_STATUSES.includes(end.status)) {
            problems.push(`${phase}/${kind}: ${id} has not ended: ${JSON.stringify(end)}`);
          }
        }
      } finally {
        // The table is written even when a run failed part-way.
        await load.stop();
        const views = await checker.settle(240_000);
        await stopSampling();
        await checker.finalCheck(views);
        const ended = await checker.endedReport(views);
        const chainOk = await checker.verifyChain();
        if (runs.length) recordRows('process-kills', rowsOf(views, ended.delays, chainOk));
        problems.push(
          ...views.filter((v) => !FINAL_STATUSES.includes(v.status)).map((v) => `${v.id} still ${v.status}`),
        );
      }
      expect(problems).toEqual([]);
      expect(checker.violations).toEqual([]);
    },
    // Up to ~4 minutes a run in the worst case (activity timeouts, slow starts): scaled by FAULT_RUNS.
    faultSettings.runs * PHASES.length * KINDS.length * 240_000 + 600_000,
  );
});

/**
 * One row per phase and kind. Each elevation (background ones too) counts in the run its window
 * ended in, or, never granted, the run it was requested in; a violation in the run of its
 * elevation, or the run it was seen in.
 */
function rowsOf(
  views: ElevationView[],
  delays: { elevationId: string; ms: number }[],
  chainOk: boolean,
): FaultRow[] {
  const runOf = (at: number) =>
    runs.find((r) => at >= r.from && at <= r.to) ?? (at < runs[0]!.from ? runs[0] : runs.at(-1));
  const timeOf = (v: ElevationView) => Date.parse(v.expiresAt ?? v.requestedAt);
  const delayOf = new Map(delays.map((d) => [d.elevationId, d.ms]));
  return PHASES.flatMap((phase, p) =>
    KINDS.map((kind, k): FaultRow | undefined => {
      const mine = runs.filter((r) => r.phase === phase && r.kind === kind);
      if (mine.length === 0) return undefined;
      const inMine = (at: number) => mine.includes(runOf(at)!);
      const elevations = views.filter((v) => inMine(timeOf(v)));
      const ids = new Set(elevations.map((v) => v.id));
      const violations = checker.violations.filter((v) =>
        v.elevationId && views.some((e) => e.id === v.elevationId)
          ? ids.has(v.elevationId)
          : inMine(Date.parse(v.at)),
      );
      const count = (kind: string) => violations.filter((v) => v.kind === kind).length;
      const ms = elevations.map((v) => delayOf.get(v.id)).filter((d): d is number => d !== undefined);
      const restarts = mine.map((r) => r.restartMs);
      return {
        order: 10 + p * 2 + k,
        fault: `kill -9 ${kind} process · ${phase}`,
        runs: mine.length,
        lostRevocations: count('lost-revocation'),
        leftoverGrants: count('leftover-grant'),
        activeWithoutGrant: count('active-without-grant'),
        ...(ms.length ? { maxRevocationDelayMs: Math.max(...ms) } : {}),
        missingEvents: count('missing-event'),
        repeatedEvents: count('repeated-event'),
        chainVerified: chainOk,
        note:
          `phase hit ${mine.filter((r) => r.hit).length}/${mine.length}; ` +
          `${elevations.length} elevations (background ones included) ended in these runs; ` +
          `new process ready in ${restarts.length ? `${(Math.max(...restarts) / 1000).toFixed(1)} s` : '–'} at most`,
      };
    }),
  ).filter((r): r is FaultRow => r !== undefined);
}
