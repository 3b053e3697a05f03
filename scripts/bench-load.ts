/**
 * The benchmark's load phases and where they run: the flags, the bots and roles they need in the
 * policy and the directory, the worker settings they pass through, and running them
 * (`bench-ramp.ts`, `bench-hold.ts`) with the stack's processes watched (`bench-observe.ts`).
 *
 * - `--temporal dev|cluster|<host:port>`: the Temporal CLI's dev server (default), a real
 *   Temporal server on PostgreSQL started for the run (`dev/temporal-cluster.ts`), or one already
 *   running (namespace `default`; its CPU is not watched).
 * - `--ramp 20,40,60`: the ramp's rates (lifecycles a second), `--ramp-step S` seconds each
 *   (default 25), windows of `--ramp-window W` seconds (default 3).
 * - `--hold N`: N grants held at once, requested at `--hold-rate R` (default 200), the first
 *   window ending `--hold-lead L` seconds after the last request (default 30), the ends spread
 *   over `--hold-spread S` seconds (default 60).
 * - `--temporal-blob-limit MIB`: Temporal's blob size limit, raised for a large `--hold` (below).
 * - `--max-cached-workflows K`, `--expiry-revoker-concurrency C`: the worker's sticky cache and
 *   expiry revoker (`ELEVATE_WORKER_MAX_CACHED_WORKFLOWS`, `ELEVATE_EXPIRY_REVOKER_CONCURRENCY`;
 *   the bench also takes every `ELEVATE_WORKER_*` variable from its environment).
 *
 * Bots (`bench-load-NNNNN`): no two elevations open at once share a (bot, role) pair, since the
 * second would share the first one's membership. A ramp step uses a bot per lifecycle, over the
 * bench's LDAP groups, and the next step uses the same bots again (a step starts only once every
 * elevation of the one before has ended). The hold has groups of its own, of at most
 * {@link HOLD_GROUP_SIZE} members (slapd rewrites a group entry whole on every change of its
 * members, so larger groups cost it more than a directory with that many grants would pay), and
 * at most {@link HOLD_MAX_BOTS} bots: above that, each bot holds one grant in each of several
 * groups ({@link holdLayout}).
 *
 * The ceiling: every worker hands the drift-detection schedule, as its input, the principal of
 * every (bot, role) pair of the policy and the identity of every bot, and Temporal refuses a
 * payload above its blob size limit (`limit.blobSize.error`, 2 MiB by default on the dev server
 * and a cluster alike; Temporal Cloud's is 2 MB): with one role per bot and the bench's ids the
 * worker no longer starts at about 13,000 bots (`Blob data size exceeds limit`). N grants held
 * at once need N pairs: about 62 bytes of input per grant here (its principal and a share of its
 * bot's identity), so at the default limit the hold stops at roughly 30,000. {@link checkScheduleInput} says so before anything starts;
 * `--temporal-blob-limit MIB` raises the limit on the Temporal the bench starts, up to the 4 MiB
 * a gRPC message may have, which takes the hold to about 60,000.
 */
import type { Policy } from '../config/policy.js';
import { loadSettings, type WorkerSettings } from '../config/settings.js';
import { generateSecret, hashSecret } from '../core/crypto/credentials.js';
import type { BenchTemporal, BenchTemporalKind, BenchTemporalOptions } from '../dev/bench-servers.js';
import { botDn, groupDn } from '../dev/ldap-seed.js';
import type { SlapdServer } from '../dev/slapd-server.js';
import type { ApiAndWorkerProcess } from '../runtime/api-and-worker.js';
import { reconcileAwsPrincipalsOf, scheduledReconcileRolesOf } from '../worker/reconcile-schedule.js';
import { measureHold, type HoldResult } from './bench-hold.js';
import { holdLayout, parseRates } from './bench-load-figures.js';
import {
  postmasterPid,
  ProcessWatch,
  readStickyCache,
  workerMemory,
  type WatchedProcess,
} from './bench-observe.js';
import type { BenchWorker } from './bench-workers.js';
import type { LdapTarget } from '../integrations/ldap/ldap-target.js';
import { measureRamp, type RampBot, type RampResult } from './bench-ramp.js';
import type { Floor, FloorRampResult } from './bench-floor.js';

/** The flags, for the bench's `parseArgs`. */
export const LOAD_OPTIONS = {
  temporal: { type: 'string', default: 'dev' },
  'temporal-blob-limit': { type: 'string' },
  ramp: { type: 'string' },
  'ramp-step': { type: 'string', default: '25' },
  'ramp-window': { type: 'string', default: '3' },
  hold: { type: 'string', default: '0' },
  'hold-rate': { type: 'string', default: '200' },
  'hold-lead': { type: 'string', default: '30' },
  'hold-spread': { type: 'string', default: '60' },
  'max-cached-workflows': { type: 'string' },
  'expiry-revoker-concurrency': { type: 'string' },
  'worker-processes': { type: 'string', default: '0' },
  'worker-cpu-profile': { type: 'boolean' },
  'worker-node-options': { type: 'string' },
} as const;

type LoadValues = {
  [K in keyof typeof LOAD_OPTIONS]?: (typeof LOAD_OPTIONS)[K]['type'] extends 'boolean' ? boolean : string;
};
type StringOption = {
  [K in keyof typeof LOAD_OPTIONS]: (typeof LOAD_OPTIONS)[K]['type'] extends 'string' ? K : never;
}[keyof typeof LOAD_OPTIONS];

/** Held grants per LDAP group of the hold, at most. */
export const HOLD_GROUP_SIZE = 1000;

/** Bots the hold uses, at most (see the file comment for the ceiling). */
export const HOLD_MAX_BOTS = 5000;

/** Temporal's default `limit.blobSize.error`. */
export const TEMPORAL_BLOB_LIMIT_BYTES = 2 * 1024 * 1024;

/** A load bot, as the policy file would list it. */
interface LoadBot {
  id: string;
  owner: string;
  team: string;
  purpose: string;
  environment: string;
  ldapDn: string;
  apiKeyHash: string;
  roles: string[];
}

export interface LoadPlan {
  temporal: BenchTemporalOptions;
  /** The largest payload the bench's Temporal takes. */
  blobLimitBytes: number;
  /** For the policy and the seed. */
  bots: LoadBot[];
  botIds: string[];
  roles: {
    id: string;
    environment: string;
    target: { type: 'ldap'; groupDn: string };
    maxDurationSeconds: number;
    approval: { mode: 'auto' };
  }[];
  groups: string[];
  /** Always set: the defaults unless a flag or `ELEVATE_WORKER_*` says otherwise. */
  worker: WorkerSettings;
  /** The variables {@link LoadPlan.worker} came from, for `elevate worker` processes. */
  workerEnv: NodeJS.ProcessEnv;
  /** Workers in processes of their own (`--worker-processes`; 0: in the bench process). */
  workerProcesses: number;
  /** Run the worker processes under V8's CPU profiler (`--worker-cpu-profile`). */
  workerCpuProfile: boolean;
  /** Node.js flags for the worker processes (`--worker-node-options`, space-separated). */
  workerNodeOptions: string[];
  ramp?: { rates: number[]; stepSeconds: number; windowSeconds: number; bots: RampBot[] };
  hold?: {
    count: number;
    ratePerSec: number;
    leadSeconds: number;
    spreadSeconds: number;
    /** The `j`th grant's bot (index into `botIds`) and role. */
    grantOf: (j: number) => { bot: number; role: string };
  };
}

/** The flag `name`'s value, or its default. */
function flag(values: LoadValues, name: StringOption): string | undefined {
  const option = LOAD_OPTIONS[name];
  return values[name] ?? ('default' in option ? option.default : undefined);
}

function positive(values: LoadValues, name: StringOption, { zero = false } = {}): number {
  const text = flag(values, name);
  const n = Number(text);
  if (!Number.isFinite(n) || n < 0 || (n === 0 && !zero))
    throw new Error(`--${name} must be a positive number, not ${text}`);
  return n;
}

function temporalKind(text: string | undefined): BenchTemporalKind {
  if (text === undefined || text === 'dev' || text === 'cluster') return text ?? 'dev';
  if (/^[\w.-]+:\d+$/.test(text)) return { address: text };
  throw new Error(`--temporal takes dev, cluster or host:port, not ${text}`);
}

/**
 * The worker's settings as `ELEVATE_WORKER_*` gives them, with the flags on top, and the
 * variables they came from (for worker processes of their own).
 */
function workerSettings(values: LoadValues): { settings: WorkerSettings; env: NodeJS.ProcessEnv } {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env))
    if (k.startsWith('ELEVATE_WORKER_') || k === 'ELEVATE_EXPIRY_REVOKER_CONCURRENCY') env[k] = v;
  if (values['max-cached-workflows'] !== undefined)
    env.ELEVATE_WORKER_MAX_CACHED_WORKFLOWS = values['max-cached-workflows'];
  if (values['expiry-revoker-concurrency'] !== undefined)
    env.ELEVATE_EXPIRY_REVOKER_CONCURRENCY = values['expiry-revoker-concurrency'];
  return { settings: loadSettings(env).worker, env };
}

/** What the flags ask for; `rampRoles` are the bench's LDAP roles, which the ramp shares. */
export function loadPlan(
  values: LoadValues,
  ctx: { suffix: string; rampRoles: readonly string[] },
): LoadPlan {
  const holdCount = Math.floor(positive(values, 'hold', { zero: true }));
  const stepSeconds = positive(values, 'ramp-step');
  const windowSeconds = Math.round(positive(values, 'ramp-window'));
  const rates = values.ramp ? parseRates(values.ramp) : [];
  const rampBots = Math.max(0, ...rates.map((r) => Math.round(r * stepSeconds)));
  const layout = holdLayout(holdCount, HOLD_MAX_BOTS, HOLD_GROUP_SIZE);
  const groups = Array.from({ length: layout.groups }, (_, g) => `bench-hold-${g}`);
  const count = Math.max(layout.bots, rampBots);
  const botIds = Array.from({ length: count }, (_, i) => `bench-load-${String(i).padStart(5, '0')}`);
  const keys = botIds.map(() => generateSecret('bot'));
  const rampRole = (i: number) => ctx.rampRoles[i % ctx.rampRoles.length]!;
  const bots = botIds.map((id, i) => ({
    id,
    owner: 'bench@example.org',
    team: 'bench',
    purpose: 'benchmark under load',
    environment: 'bench',
    ldapDn: botDn(ctx.suffix, id),
    apiKeyHash: hashSecret(keys[i]!),
    roles: [
      ...(i < rampBots ? [rampRole(i)] : []),
      ...(i < layout.bots ? layout.groupsOf(i).map((g) => groups[g]!) : []),
    ],
  }));
  const worker = workerSettings(values);
  const workerProcesses = Math.floor(positive(values, 'worker-processes', { zero: true }));
  if (values['worker-cpu-profile'] === true && workerProcesses === 0)
    throw new Error('--worker-cpu-profile profiles worker processes: add --worker-processes 1 (or more)');
  if (values['worker-node-options'] && workerProcesses === 0)
    throw new Error('--worker-node-options is for worker processes: add --worker-processes 1 (or more)');
  const blobLimit = flag(values, 'temporal-blob-limit');
  const blobLimitBytes = blobLimit
    ? Math.round(positive(values, 'temporal-blob-limit') * 2 ** 20)
    : undefined;
  return {
    temporal: {
      kind: temporalKind(flag(values, 'temporal')),
      ...(blobLimitBytes ? { dynamicConfig: { 'limit.blobSize.error': blobLimitBytes } } : {}),
    },
    blobLimitBytes: blobLimitBytes ?? TEMPORAL_BLOB_LIMIT_BYTES,
    bots,
    botIds,
    roles: groups.map((id) => ({
      id,
      environment: 'bench',
      target: { type: 'ldap', groupDn: groupDn(ctx.suffix, id) },
      maxDurationSeconds: 7 * 24 * 3600,
      approval: { mode: 'auto' },
    })),
    groups,
    worker: worker.settings,
    workerEnv: worker.env,
    workerProcesses,
    workerCpuProfile: values['worker-cpu-profile'] === true,
    workerNodeOptions: values['worker-node-options']?.split(/\s+/).filter(Boolean) ?? [],
    ...(rates.length > 0
      ? {
          ramp: {
            rates,
            stepSeconds,
            windowSeconds,
            bots: keys.slice(0, rampBots).map((key, i) => ({ key, role: rampRole(i) })),
          },
        }
      : {}),
    ...(holdCount > 0
      ? {
          hold: {
            count: holdCount,
            ratePerSec: positive(values, 'hold-rate'),
            leadSeconds: positive(values, 'hold-lead'),
            spreadSeconds: positive(values, 'hold-spread', { zero: true }),
            grantOf: (j: number) => {
              const { bot, group } = layout.grantOf(j);
              return { bot, role: groups[group]! };
            },
          },
        }
      : {}),
  };
}

/**
 * The size of the drift-detection schedule's input for `policy` (what `ensureReconcileSchedule`
 * sends); throws, saying what to change, when it is over the plan's blob limit: the worker would
 * not start.
 */
export function checkScheduleInput(policy: Policy, plan: Pick<LoadPlan, 'blobLimitBytes'>): number {
  const aws = reconcileAwsPrincipalsOf(policy);
  // As runtime/worker.ts sends it: the roles without their bots' principals, no identities.
  const input = { roles: scheduledReconcileRolesOf(policy), ...(aws.length ? { aws } : {}) };
  const bytes = Buffer.byteLength(JSON.stringify([input]));
  if (bytes > plan.blobLimitBytes) {
    const mib = (n: number) => (n / 2 ** 20).toFixed(2);
    throw new Error(
      `the policy's drift-detection schedule input would be ${mib(bytes)} MiB, over Temporal's blob size limit of ` +
        `${mib(plan.blobLimitBytes)} MiB, and the worker would not start: lower --hold (or the other phases' bot counts), ` +
        `or raise the limit with --temporal-blob-limit (MiB, at most 4)`,
    );
  }
  return bytes;
}

/** What the load phases need of the running stack. */
export interface LoadContext {
  /** The API (and the worker, unless it runs in processes of its own). */
  services: Pick<ApiAndWorkerProcess, 'services' | 'stores' | 'url'>;
  /** Where the worker runs: this process, or processes of its own. */
  workers: readonly BenchWorker[];
  /** The LDAP target, for the members left at the end. */
  target: Pick<LdapTarget, 'listMembers'>;
  policy: Policy;
  temporal: BenchTemporal;
  slapd: SlapdServer;
  /** The bench's own PostgreSQL (the PostgreSQL target). */
  targetPostgresUrl: string;
  suffix: string;
  /** Reads `/metrics`. */
  adminToken: string;
  /** The floor (`bench-floor.ts`): with it, the ramp's rates are run again as bare lifecycles. */
  floor?: Pick<Floor, 'ramp'>;
  say: (line: string) => void;
}

/** The load phases' results, and the members their groups still hold after them (0 expected). */
export interface LoadResults {
  ramp: RampResult | null;
  /** The same rates as bare lifecycles, right after the ramp. */
  floorRamp: FloorRampResult | null;
  hold: HoldResult | null;
  membersLeftInLdap: number;
}

async function watchStack(ctx: LoadContext): Promise<ProcessWatch> {
  const processes: WatchedProcess[] = [{ label: 'bench', pid: process.pid }];
  for (const w of ctx.workers) if (w.pid !== process.pid) processes.push({ label: w.label, pid: w.pid });
  if (ctx.temporal.pid) processes.push({ label: 'temporal', pid: ctx.temporal.pid });
  const temporalPg = ctx.temporal.postgresUrl && (await postmasterPid(ctx.temporal.postgresUrl));
  if (temporalPg) processes.push({ label: 'temporalPostgres', pid: temporalPg, tree: true });
  processes.push({ label: 'slapd', pid: ctx.slapd.pid });
  const targetPg = await postmasterPid(ctx.targetPostgresUrl);
  if (targetPg) processes.push({ label: 'targetPostgres', pid: targetPg, tree: true });
  const watch = new ProcessWatch(processes);
  if (!watch.available) ctx.say('no /proc here: the load phases report no CPU figures');
  return watch;
}

/** How many members the groups of `roles` hold, read from the directory. */
async function membersOf(ctx: LoadContext, roles: Iterable<string>): Promise<number> {
  let n = 0;
  for (const role of roles)
    n += (await ctx.target.listMembers({ type: 'ldap', groupDn: groupDn(ctx.suffix, role) })).length;
  return n;
}

/** Runs the ramp, then the hold, as the plan asks (either may be absent). */
export async function runLoadPhases(plan: LoadPlan, ctx: LoadContext): Promise<LoadResults> {
  if (!plan.ramp && !plan.hold) return { ramp: null, floorRamp: null, hold: null, membersLeftInLdap: 0 };
  const watch = await watchStack(ctx);
  const ramp = plan.ramp
    ? await measureRamp({
        api: ctx.services.url,
        services: ctx.services,
        bots: plan.ramp.bots,
        rates: plan.ramp.rates,
        stepSeconds: plan.ramp.stepSeconds,
        windowSeconds: plan.ramp.windowSeconds,
        drainTimeoutSeconds: 120,
        watch,
        memoryOf: [{ label: 'bench', pid: process.pid }, ...ctx.workers.filter((w) => w.pid !== process.pid)],
        say: ctx.say,
      })
    : null;
  const floorRamp =
    plan.ramp && ctx.floor
      ? await ctx.floor.ramp({
          rates: plan.ramp.rates,
          stepSeconds: plan.ramp.stepSeconds,
          windowSeconds: plan.ramp.windowSeconds,
          drainTimeoutSeconds: 120,
          watch,
        })
      : null;
  const byId = new Map(ctx.policy.bots.map((b) => [b.id, b]));
  const { hold: h } = plan;
  const hold = h
    ? await measureHold({
        services: ctx.services,
        grants: Array.from({ length: h.count }, (_, j) => {
          const { bot, role } = h.grantOf(j);
          return { bot: byId.get(plan.botIds[bot]!)!, role };
        }),
        ratePerSec: h.ratePerSec,
        leadSeconds: h.leadSeconds,
        spreadSeconds: h.spreadSeconds,
        timeoutSeconds: 300,
        expiryRevokerConcurrency: plan.worker.expiryRevokerConcurrency,
        slapd: ctx.slapd,
        groupDnOf: (role) => groupDn(ctx.suffix, role),
        membersLeft: () => membersOf(ctx, plan.groups),
        watch,
        workers: ctx.workers,
        maxCachedWorkflows: plan.worker.maxCachedWorkflows ?? null,
        stickyCache: () => readStickyCache(ctx.workers, ctx.adminToken),
        workerMemory: () => workerMemory(ctx.workers, ctx.adminToken),
        say: ctx.say,
      })
    : null;
  const roles = new Set([...(plan.ramp?.bots.map((b) => b.role) ?? []), ...plan.groups]);
  const membersLeftInLdap = await membersOf(ctx, roles);
  return { ramp, floorRamp, hold, membersLeftInLdap };
}
