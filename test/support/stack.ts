/**
 * A whole Elevate stack on real servers for integration tests: the Temporal dev server (the
 * CLI installed by scripts/setup), a throwaway slapd, a SQLite file or a throwaway PostgreSQL,
 * the real worker and the real service. Each test file starts its own, so files never share
 * state, and faults (stopping slapd, killing a worker) stay inside one file.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, type Worker } from '@temporalio/worker';
import { pino, type Logger } from 'pino';
import { stringify } from 'yaml';
import { createActivities } from '../../activities/index.js';
import type { OrderedAuditAppender } from '../../core/model/audit-record.js';
import { riskActivitiesOn } from '../../activities/risk-scoring.js';
import { detectionActivitiesOn } from '../../activities/anomaly-detection.js';
import { attestationActivitiesOn } from '../../activities/attestation.js';
import { breakGlassActivitiesOn } from '../../activities/break-glass.js';
import { type ApprovalNotifier } from '../../core/ports/notifier.js';
import { policySchema, type Policy } from '../../config/policy.js';
import { generateSecret, hashSecret } from '../../core/crypto/credentials.js';
import {
  newDecisionKeyPair,
  parsePublicKeys,
  parseSigningKey,
  type DecisionSigningKey,
  type PublicDecisionKey,
} from '../../core/crypto/decision-keys.js';
import { DecisionSigner, RequestVerifier } from '../../domain/decision-signer.js';
import {
  createDomainServices,
  type DomainServices,
  type DomainServicesDeps,
} from '../../domain/domain-services.js';
import { GrantLedger } from '../../domain/grant-ledger.js';
import { ExpiryRevoker } from '../../domain/expiry-revoker.js';
import { EXTENDED_WINDOWS_NAMESPACE, movedEndFrom } from '../../activities/extend.js';
import { reconcilePolicyView } from '../../worker/reconcile-schedule.js';
import type { NewAuditEvent } from '../../core/model/audit-record.js';
import { z } from 'zod';
import { openStores, type Stores } from '../../store/stores.js';
import type { CredentialVault } from '../../domain/credential-vault.js';
import type { AwsStsCredentialsTarget } from '../../integrations/aws/sts-credentials-target.js';
import { storeIntegrity } from '../../core/crypto/audit-checkpoints.js';
import { LdapApproverDirectory } from '../../integrations/ldap/approver-directory.js';
import { LdapTarget } from '../../integrations/ldap/ldap-target.js';
import { TargetRouter, type TargetSet } from '../../integrations/target-router.js';
import { LogNotifier } from '../../integrations/notify/log-notifier.js';
import { botDn, groupDn, seedLdif } from '../../dev/ldap-seed.js';
import { startSlapd, type SlapdServer } from '../../dev/slapd-server.js';
import type { Metrics } from '../../integrations/metrics/prometheus.js';
import type { ServiceSettings } from '../../runtime/process.js';
import { findTemporalCli } from '../../dev/temporal-cli.js';
import type { ElevationTiming, ElevationView } from '../../core/model/elevation.js';
import { auditSinks } from '../../worker/audit-sinks.js';
import { createElevationWorker, installTemporalLogging } from '../../worker/create-worker.js';
import { createDatabase, startPostgres } from '../../dev/postgres-server.js';

export const SUFFIX = 'dc=test,dc=example';

export interface BotSpec {
  id: string;
  roles: string[];
  owner?: string;
  disabled?: boolean;
  postgresLogin?: string;
  awsPrincipal?: string;
  /** The policy's `bots[].federation` (a workload identity rule). */
  federation?: { issuer: string; audience: string; claims: Record<string, string>; recordClaims?: string[] };
  /** The policy's `bots[].runsFrom` (where the bot runs, recorded with each request). */
  runsFrom?: { networks?: string[]; runners?: string[] };
}

/** An approver group: a list of e-mail addresses, or an LDAP group seeded with `people`. */
export type GroupSpec =
  { name: string; quorum?: number; members: string[] } | { name: string; quorum?: number; ldapGroup: string };

/** Reminders and escalation of an `approvers` rule (listed escalation groups only). */
export interface NudgeSpec {
  remindBeforeSeconds?: number[];
  remindEverySeconds?: number;
  escalation?: {
    afterSeconds: number;
    groups: { name: string; quorum?: number; members?: string[]; oncall?: Record<string, unknown> }[];
  };
}

export type ApprovalSpec =
  | { mode: 'auto' }
  | ({
      mode: 'approvers';
      approvers: string[];
      quorum?: number;
      windowSeconds?: number;
      ownerMayApprove?: boolean;
    } & NudgeSpec)
  | ({
      mode: 'approvers';
      groups: GroupSpec[];
      windowSeconds?: number;
      ownerMayApprove?: boolean;
    } & NudgeSpec);

export interface RoleSpec {
  id: string;
  /** The policy's `target` (default: the LDAP group named after the role in the test directory). */
  target?: Record<string, unknown>;
  /** The policy's `drift` (default: alert). */
  drift?: { action?: 'alert' | 'revert'; standing?: string[] };
  maxDurationSeconds?: number;
  approval?: ApprovalSpec;
  /** The policy's `risk` (how the risk score routes the role's requests). */
  risk?: Record<string, unknown>;
  /** The policy's `extend` (whether an active elevation may be extended). */
  extend?: Record<string, unknown>;
  /** The policy's `breakGlass` (the role's emergency path). */
  breakGlass?: Record<string, unknown>;
}

/** A validated policy for the given bots and roles, with fresh secrets. */
export function buildPolicy(
  bots: BotSpec[],
  roles: RoleSpec[],
  federation?: { issuers: { issuer: string; allowInsecureHttp?: boolean }[] },
  detection?: Record<string, unknown>,
) {
  const keys: Record<string, string> = {};
  const adminToken = generateSecret('admin');
  const raw = {
    version: 1,
    admins: [{ id: 'test-admin', tokenHash: hashSecret(adminToken) }],
    bots: bots.map((b) => {
      keys[b.id] = generateSecret('bot');
      return {
        id: b.id,
        owner: b.owner ?? `${b.id}-owner@example.org`,
        team: 'test',
        purpose: 'integration test',
        environment: 'test',
        ldapDn: botDn(SUFFIX, b.id),
        apiKeyHash: hashSecret(keys[b.id]!),
        roles: b.roles,
        ...(b.disabled ? { disabled: true } : {}),
        ...(b.postgresLogin ? { postgresLogin: b.postgresLogin } : {}),
        ...(b.awsPrincipal ? { awsPrincipal: b.awsPrincipal } : {}),
        ...(b.federation ? { federation: b.federation } : {}),
        ...(b.runsFrom ? { runsFrom: b.runsFrom } : {}),
      };
    }),
    roles: roles.map((r) => ({
      id: r.id,
      environment: 'test',
      target: r.target ?? { type: 'ldap', groupDn: groupDn(SUFFIX, r.id) },
      ...(r.drift ? { drift: r.drift } : {}),
      maxDurationSeconds: r.maxDurationSeconds ?? 3600,
      approval: approvalOf(r.approval),
      ...(r.risk ? { risk: r.risk } : {}),
      ...(r.extend ? { extend: r.extend } : {}),
      ...(r.breakGlass ? { breakGlass: r.breakGlass } : {}),
    })),
    ...(federation ? { federation } : {}),
    ...(detection ? { detection } : {}),
  };
  return { policy: policySchema.parse(raw), keys, adminToken };
}

/** An ApprovalSpec as the policy file says it (LDAP group ids become DNs in the test directory). */
function approvalOf(spec: ApprovalSpec | undefined): unknown {
  if (!spec || spec.mode === 'auto' || !('groups' in spec)) return spec ?? { mode: 'auto' };
  return {
    ...spec,
    groups: spec.groups.map((g) =>
      'ldapGroup' in g ? { ...g, ldapGroup: groupDn(SUFFIX, g.ldapGroup) } : g,
    ),
  };
}

let bundlePath: string | undefined;

/** The workflow bundle, built once per test process (webpack takes seconds). */
export async function workflowBundle(): Promise<string> {
  if (bundlePath) return bundlePath;
  const { code } = await bundleWorkflowCode({
    workflowsPath: path.resolve(import.meta.dirname, '../../workflows/index.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
  });
  const dir = mkdtempSync(path.join(tmpdir(), 'elevate-bundle-'));
  bundlePath = path.join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, code);
  return bundlePath;
}

let decisionKey: DecisionSigningKey | undefined;

/**
 * The API's decision signing key for the tests of this process (made once): the stacks sign
 * with it and their workers trust its public half, as `elevate api` and `elevate worker` do.
 */
export function testDecisionKey(): DecisionSigningKey {
  decisionKey ??= parseSigningKey(newDecisionKeyPair().privatePem);
  return decisionKey;
}

let checkpointKey: DecisionSigningKey | undefined;

/**
 * The audit checkpoint key of every test stack: its store, and the processes a test starts on
 * it, sign checkpoints and MAC their rows with it, as a deployment's API and worker do.
 */
export function testCheckpointSettings() {
  checkpointKey ??= parseSigningKey(newDecisionKeyPair().privatePem);
  return { auditCheckpoints: { signingKey: checkpointKey, every: 100, intervalSeconds: 60 } };
}

/** The store integrity of a test stack's own store (see {@link testCheckpointSettings}). */
function testStoreIntegrity() {
  return { integrity: storeIntegrity(testCheckpointSettings().auditCheckpoints) };
}

/** The settings a test's API or worker process needs for signed decisions (both halves). */
export function testDecisionSettings() {
  const key = testDecisionKey();
  return { decisionSigningKey: key, decisionPublicKeys: parsePublicKeys(key.publicKey.pem) };
}

/** What activities need for signed requests, for tests that never start an elevation workflow. */
export function testRequestDeps() {
  return {
    requests: new RequestVerifier([testDecisionKey().publicKey]),
    requestRuns: {
      put: () => Promise.resolve(true),
      peek: () => Promise.resolve(undefined),
    },
  };
}

export function testLogger(): Logger {
  return pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
}

export interface StackOptions {
  bots: BotSpec[];
  roles: RoleSpec[];
  store?: 'sqlite' | 'postgres';
  timing?: Partial<ElevationTiming>;
  /** Start an in-process worker (default true). */
  worker?: boolean;
  /** Humans in the test directory, and LDAP groups of them (approver groups). */
  people?: { uid: string; mail: string }[];
  peopleGroups?: { id: string; members: string[] }[];
  /** Targets besides the test directory's LDAP (PostgreSQL servers, AWS IAM). */
  targets?: Omit<TargetSet, 'ldap'>;
  /** The policy's `federation` section. */
  federation?: { issuers: { issuer: string; allowInsecureHttp?: boolean }[] };
  /** The policy's `detection` section (risk scoring's baselines, thresholds and escalation). */
  detection?: Record<string, unknown>;
  /**
   * AWS credentials mode: the vault that hands sessions over, and the target that issues them
   * into it (built with the vault as its hand-off).
   */
  credentials?: (stores: Stores) => { vault: CredentialVault; target: AwsStsCredentialsTarget };
  /** How the worker tells approvers (default: the log notifier, silent). */
  notifier?: (parts: {
    stores: Stores;
    directory: LdapApproverDirectory;
    logger: Logger;
  }) => ApprovalNotifier;
  /** Metrics the worker's activities record into (the test builds the app with the same ones). */
  metrics?: Metrics;
  /** The key the stack's service signs with (default: {@link testDecisionKey}). */
  signingKey?: DecisionSigningKey;
  /** Dynamic configuration of the Temporal dev server (`--dynamic-config-value key=value`). */
  temporalConfig?: Record<string, string | number>;
  /**
   * A Temporal server already running (a local cluster, say) to use instead of starting the dev
   * server; `temporalConfig` then does not apply. The stack does not stop it.
   */
  temporal?: { address: string; namespace: string };
  /**
   * The worker's expiry revoker (`domain/expiry-revoker.ts`), as every worker runs it (default
   * true); false leaves every revocation to the workflow, as a worker without it would.
   */
  expiryRevoker?: boolean;
  /** Where the stack's service and worker log (default {@link testLogger}): a test may read it. */
  logger?: Logger;
}

export interface Stack {
  env: TestWorkflowEnvironment;
  slapd: SlapdServer;
  stores: Stores;
  target: LdapTarget;
  directory: LdapApproverDirectory;
  ledger: GrantLedger;
  logger: Logger;
  /** The capability services the API builds (authentication, requests, approvals, bots, audit). */
  services: DomainServices;
  /** What the service signs requests and decisions with (the worker trusts its public half). */
  signer: DecisionSigner;
  /**
   * Whether each workflow the services started (by id) was started eagerly: its first task came
   * back with the start's answer, for the worker on the same connection.
   */
  eagerStarts: ReadonlyMap<string, boolean>;
  /** The public keys the stack's worker trusts (read when the worker starts: a test may rotate them). */
  trustedKeys: PublicDecisionKey[];
  /**
   * Services like `services`, built with some dependencies replaced: another signing key (the API
   * after a key rotation), a workload identity verifier, another policy.
   */
  servicesWith(overrides: Partial<DomainServicesDeps>): DomainServices;
  policy: Policy;
  keys: Record<string, string>;
  adminToken: string;
  taskQueue: string;
  timing: ElevationTiming;
  dir: string;
  /** Where the store lives, for worker processes started by a test. */
  storeLocation: { sqlitePath: string; databaseUrl?: string };
  worker?: Worker;
  /** Called before each append the worker's activities make: a test can slow the audit store down. */
  beforeAppend?: (event: NewAuditEvent) => Promise<void>;
  /** The base URL the worker's attestation requests link to (a test serving the pages sets it before `startWorker`). */
  publicUrl: string;
  /** Start an in-process worker on the stack's task queue. */
  startWorker(): Promise<Worker>;
  stopWorker(): Promise<void>;
  /** Poll until `predicate` holds for the elevation (throws after `timeoutMs`). */
  waitFor(id: string, predicate: (v: ElevationView) => boolean, timeoutMs?: number): Promise<ElevationView>;
  isMember(botId: string, roleId: string): Promise<boolean>;
  close(): Promise<void>;
}

export async function startStack(opts: StackOptions): Promise<Stack> {
  const dir = mkdtempSync(path.join(tmpdir(), 'elevate-test-'));
  const { policy, keys, adminToken } = buildPolicy(opts.bots, opts.roles, opts.federation, opts.detection);
  const logger = opts.logger ?? testLogger();
  installTemporalLogging(logger);
  const closers: (() => Promise<void>)[] = [];

  const env = opts.temporal
    ? await TestWorkflowEnvironment.createFromExistingServer(opts.temporal)
    : await startDevServerEnv(opts.temporalConfig);
  closers.push(() => env.teardown());
  // As in a process that runs the API and the worker (runtime/temporal-connection.ts): the
  // client is on the worker's connection, and elevations start eagerly.
  const eagerStarts = new Map<string, boolean>();
  const client = new Client({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    interceptors: {
      workflow: [
        {
          async startWithDetails(input, next) {
            const out = await next(input);
            eagerStarts.set(input.options.workflowId, out.eagerlyStarted);
            return out;
          },
        },
      ],
    },
  });

  const slapd = await startSlapd({
    dataDir: path.join(dir, 'ldap'),
    suffix: SUFFIX,
    rootPassword: 'test-root-secret',
    seedLdif: seedLdif(SUFFIX, {
      bots: opts.bots.map((b) => b.id),
      groups: opts.roles.map((r) => r.id),
      ...(opts.people ? { people: opts.people } : {}),
      ...(opts.peopleGroups ? { peopleGroups: opts.peopleGroups } : {}),
    }),
  });
  closers.push(() => slapd.stop());

  const storeLocation: Stack['storeLocation'] = { sqlitePath: path.join(dir, 'audit.db') };
  if (opts.store === 'postgres') {
    const pg = await startPostgres();
    closers.push(() => pg.stop());
    storeLocation.databaseUrl = await createDatabase(
      pg.url,
      `elevate_${randomUUID().replaceAll('-', '').slice(0, 12)}`,
    );
  }
  const stores = await openStores({ ...storeLocation, ...testStoreIntegrity() });
  closers.push(() => stores.database.close());

  const target = new LdapTarget({ url: slapd.url, bindDn: slapd.rootDn, bindPassword: slapd.rootPassword });
  closers.push(() => target.close());
  const credentials = opts.credentials?.(stores);
  const ledger = new GrantLedger(
    stores.leases,
    new TargetRouter({
      ...opts.targets,
      ldap: target,
      ...(credentials ? { awsStsCredentials: credentials.target } : {}),
    }),
  );
  const directory = new LdapApproverDirectory({
    url: slapd.url,
    bindDn: slapd.rootDn,
    bindPassword: slapd.rootPassword,
  });
  const taskQueue = `test-${randomUUID()}`;
  const timing: ElevationTiming = { grantTimeoutSeconds: 20, revokeRetryMaxSeconds: 1, ...opts.timing };
  const signingKey = opts.signingKey ?? testDecisionKey();
  const signer = new DecisionSigner(signingKey);
  const depsOf = (overrides: Partial<DomainServicesDeps> = {}): DomainServicesDeps => ({
    policy,
    temporal: client,
    eagerStart: true,
    signer,
    taskQueue,
    auditLog: stores.auditLog,
    elevations: stores.elevations,
    botStates: stores.botStates,
    leases: stores.leases,
    singleUse: stores.singleUse,
    timing,
    logger,
    directory,
    ...(credentials ? { vault: credentials.vault } : {}),
    ...overrides,
  });
  const servicesWith = (overrides: Partial<DomainServicesDeps>) => createDomainServices(depsOf(overrides));
  const services = createDomainServices(depsOf());
  const notifier =
    opts.notifier?.({ stores, directory, logger }) ??
    new LogNotifier({ logger, approvalUrl: (id) => `http://127.0.0.1/approvals/${id}` });
  const bundle = await workflowBundle();

  let running: Promise<void> | undefined;
  let expiry: ExpiryRevoker | undefined;
  const stack: Stack = {
    env,
    slapd,
    stores,
    target,
    directory,
    ledger,
    logger,
    services,
    signer,
    eagerStarts,
    trustedKeys: [signingKey.publicKey],
    servicesWith,
    policy,
    keys,
    adminToken,
    taskQueue,
    timing,
    dir,
    storeLocation,
    publicUrl: 'http://127.0.0.1',
    async startWorker() {
      // Each worker has its own, as in a real process: a restarted worker starts with none.
      const extendedWindows = stores.singleUse.namespace(EXTENDED_WINDOWS_NAMESPACE, z.string());
      expiry =
        opts.expiryRevoker === false
          ? undefined
          : new ExpiryRevoker({
              releaseMany: (r) => ledger.releaseMany(r),
              movedEnd: movedEndFrom(extendedWindows),
            });
      const appender: OrderedAuditAppender = {
        append: async (event) => {
          await stack.beforeAppend?.(event);
          return stores.auditLog.append(event);
        },
        appendAll: async (events) => {
          for (const event of events) await stack.beforeAppend?.(event);
          return stores.auditLog.appendAll(events);
        },
      };
      const worker = await createElevationWorker({
        connection: env.nativeConnection,
        namespace: env.namespace ?? 'default',
        taskQueue,
        sinks: auditSinks(stores.auditLog, logger),
        activities: {
          ...riskActivitiesOn({ stores, policy, notifier, store: appender, logger }),
          ...detectionActivitiesOn({
            stores,
            policy,
            notifier,
            directory,
            store: appender,
            logger,
            ...(opts.metrics ? { metrics: opts.metrics } : {}),
          }),
          ...attestationActivitiesOn({
            stores,
            policy,
            notifier,
            temporal: client,
            taskQueue,
            publicUrl: stack.publicUrl,
            store: appender,
            logger,
          }),
          ...breakGlassActivitiesOn({
            stores,
            policy,
            notifier,
            temporal: client,
            taskQueue,
            publicUrl: stack.publicUrl,
            store: appender,
            logger,
          }),
          ...createActivities({
            store: appender,
            requests: new RequestVerifier(stack.trustedKeys),
            requestRuns: stores.singleUse.namespace('request-run', z.string()),
            ledger,
            notifier,
            logger,
            leases: stores.leases,
            elevations: stores.elevations,
            temporal: client,
            ...(opts.metrics ? { metrics: opts.metrics } : {}),
            ...(expiry ? { expiry } : {}),
            extendedWindows,
            reconcilePolicy: reconcilePolicyView(policy),
          }),
        },
        workflowBundlePath: bundle,
      });
      running = worker.run();
      stack.worker = worker;
      return worker;
    },
    async stopWorker() {
      if (stack.worker?.getState() === 'RUNNING') stack.worker.shutdown();
      await running;
      await expiry?.stop();
      delete stack.worker;
    },
    async waitFor(id, predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let last: ElevationView | undefined;
      while (Date.now() < deadline) {
        last = await services.requests.get(id, { kind: 'admin' }).catch(() => undefined);
        if (last && predicate(last)) return last;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`elevation ${id} did not reach the expected state; last: ${JSON.stringify(last)}`);
    },
    isMember(botId, roleId) {
      return target.check(
        target.handleFor({ type: 'ldap', groupDn: groupDn(SUFFIX, roleId) }, botDn(SUFFIX, botId)),
      );
    },
    async close() {
      await stack.stopWorker();
      for (const c of closers.reverse()) await c().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  closers.unshift(() => stack.stopWorker());
  if (opts.worker !== false) await stack.startWorker();
  return stack;
}

/**
 * The environment of an `elevate worker` process on a stack's task queue, policy, directory and
 * audit store (the policy is written to the stack's folder), as an operator would configure it.
 */
export function workerProcessEnv(stack: Stack, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const config = path.join(stack.dir, 'policy.yaml');
  writeFileSync(config, stringify(stack.policy));
  return {
    ...process.env,
    ELEVATE_CONFIG: config,
    TEMPORAL_ADDRESS: stack.env.address,
    ELEVATE_TASK_QUEUE: stack.taskQueue,
    LDAP_URL: stack.slapd.url,
    LDAP_BIND_DN: stack.slapd.rootDn,
    LDAP_BIND_PASSWORD: stack.slapd.rootPassword,
    ELEVATE_SQLITE_PATH: stack.storeLocation.sqlitePath,
    ELEVATE_DECISION_PUBLIC_KEYS: testDecisionKey().publicKey.pem,
    ELEVATE_RECONCILE_INTERVAL_SECONDS: '86400',
    LOG_LEVEL: 'warn',
    ...extra,
  };
}

/**
 * Settings for a process start on a stack's Temporal server, directory, audit store and policy
 * (its own API and worker processes, as `elevate api` / `elevate worker` would run them).
 */
export function stackServiceSettings(stack: Stack, extra: Partial<ServiceSettings> = {}): ServiceSettings {
  return {
    host: '127.0.0.1',
    port: 0,
    audit: stack.storeLocation,
    timing: stack.timing,
    ldap: { url: stack.slapd.url, bindDn: stack.slapd.rootDn, bindPassword: stack.slapd.rootPassword },
    temporal: {
      address: stack.env.address,
      namespace: stack.env.namespace ?? 'default',
      taskQueue: stack.taskQueue,
    },
    reconcile: { intervalSeconds: 86_400 },
    ...testDecisionSettings(),
    ...testCheckpointSettings(),
    ...extra,
  };
}

/** The bot as configured in a stack's policy. */
export function botOf(stack: Pick<Stack, 'policy'>, id: string) {
  const bot = stack.policy.bots.find((b) => b.id === id);
  if (!bot) throw new Error(`no bot ${id}`);
  return bot;
}

/** The CLI's Temporal dev server, with `config` as its dynamic configuration. */
function startDevServerEnv(config: Record<string, string | number> = {}) {
  const cli = findTemporalCli();
  if (!cli) throw new Error('the Temporal CLI is not installed: run scripts/setup');
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      ip: '127.0.0.1',
      log: { format: 'pretty', level: 'error' },
      extraArgs: Object.entries(config).flatMap(([k, v]) => [
        '--dynamic-config-value',
        `${k}=${typeof v === 'string' ? JSON.stringify(v) : v}`,
      ]),
    },
  });
}
