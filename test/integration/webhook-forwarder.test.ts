/**
 * The audit webhook forwarder (a Temporal workflow and its `deliverPage` activity) against a
 * real HTTP receiver on loopback and a real Temporal dev server. The receiver checks every
 * delivery the way a customer's endpoint would, with a verifier written here from the
 * documented algorithm (docs/operations.md), not with Elevate's own signing code. Stores are
 * real: SQLite files, and a throwaway PostgreSQL server for the restart cases.
 */
import { spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker, bundleWorkflowCode } from '@temporalio/worker';
import pino, { type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createAuditForwardingActivities,
  type DeliveryOutcome,
  type WebhookDelivery,
} from '../../activities/audit-forwarding.js';
import { ConfigError } from '../../core/errors/config-error.js';
import { loadSettings } from '../../config/settings.js';
import type { AuditEvent } from '../../core/model/audit-record.js';
import type { AuditForwarderOptions, AuditForwarderState } from '../../core/model/audit-forwarding.js';
import { WEBHOOK_NOT_CONFIGURED } from '../../core/ports/audit-forwarding.js';
import { canonicalJson } from '../../core/crypto/hash-chain.js';
import {
  checkSignature,
  storeIntegrity,
  type SignedCheckpoint,
} from '../../core/crypto/audit-checkpoints.js';
import { newDecisionKeyPair, parsePublicKeys, parseSigningKey } from '../../core/crypto/decision-keys.js';
import type { AuditLog } from '../../store/audit-log.js';
import type { StoreSettings } from '../../store/database.js';
import { openStores } from '../../store/stores.js';
import Database from 'better-sqlite3';
import { createMetrics } from '../../integrations/metrics/prometheus.js';
import { freePort } from '../../dev/processes.js';
import { findTemporalCli } from '../../dev/temporal-cli.js';
import { startAuditForwarder, webhookActivities } from '../../runtime/webhook.js';
import { readLegacyWebhookCursor } from '../../store/legacy-webhook-cursor.js';
import type { EventType } from '../../core/model/events.js';
import { createDatabase, startPostgres, type PostgresServer } from '../../dev/postgres-server.js';
import { installTemporalLogging } from '../../worker/create-worker.js';
import {
  auditForwarderStatusQuery,
  auditForwarderWorkflow,
} from '../../workflows/audit-forwarder-workflow.js';

const ROOT = resolve(import.meta.dirname, '../..');
const require = createRequire(import.meta.url);
const testLogger = (): Logger => pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const PLAIN_SECRET = 'a-plain-text-shared-secret-of-40-chars!!';

// ---------------------------------------------------------------------------------------------
// A receiver, written from the documentation

/** The documented check: `v1,<base64 HMAC-SHA256(key, "<id>.<timestamp>.<raw body>")>`, fresh timestamp. */
function verifyDelivery(
  secret: string,
  headers: { id?: string; timestamp?: string; signature?: string },
  rawBody: string,
  nowSeconds = Math.floor(Date.now() / 1000),
): boolean {
  const { id, timestamp, signature } = headers;
  if (!id || !timestamp || !signature || !/^\d+$/.test(timestamp)) return false;
  // Old (or future) timestamps are refused: a captured delivery cannot be replayed later.
  if (Math.abs(nowSeconds - Number(timestamp)) > 300) return false;
  const key = secret.startsWith('whsec_')
    ? Buffer.from(secret.slice('whsec_'.length), 'base64')
    : Buffer.from(secret, 'utf8');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${rawBody}`).digest();
  return signature.split(' ').some((entry) => {
    const [version, value] = entry.split(',');
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

interface ReceivedEvent {
  specversion: string;
  id: string;
  source: string;
  type: string;
  time: string;
  subject?: string;
  datacontenttype: string;
  sequence: string;
  elevateposition: number;
  elevatesequence: number;
  partitionkey?: string;
  data: AuditEvent;
  [extension: string]: unknown;
}

interface Delivery {
  webhookId: string;
  timestamp: number;
  rawBody: string;
  contentType: string | undefined;
  event: ReceivedEvent;
  /** When the request arrived (epoch ms). */
  at: number;
  /** How many times this id arrived, this one included. */
  attempt: number;
  /** The `elevate-audit-checkpoint` header, if sent. */
  checkpoint: string | undefined;
}

/** What the receiver answers; `hang` never answers (the sender's timeout ends it). */
interface Answer {
  status: number;
  headers?: Record<string, string>;
  delayMs?: number;
  hang?: boolean;
}

class Receiver {
  /** Every request that passed verification, in arrival order. */
  readonly requests: Delivery[] = [];
  /** Deliveries answered with 2xx (the receiver has taken them in). */
  readonly accepted: Delivery[] = [];
  readonly unverified: string[] = [];
  behaviour: (d: Delivery) => Answer | Promise<Answer> = () => ({ status: 200 });
  private inFlight = 0;
  maxInFlight = 0;
  private readonly inFlightSubjects = new Set<string>();
  /** Requests for an elevation that arrived while another of the same elevation was unanswered. */
  sameElevationOverlaps = 0;
  private readonly attempts = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(secrets: string[] = [SECRET], port = 0): Promise<Receiver> {
    const server = createServer();
    await new Promise<void>((done) => server.listen(port, '127.0.0.1', done));
    const address = server.address();
    if (typeof address !== 'object' || !address) throw new Error('no address');
    const receiver = new Receiver(server, `http://127.0.0.1:${address.port}/hooks/elevate`);
    server.on('request', (req: IncomingMessage, res: ServerResponse) => {
      void receiver.handle(req, res, secrets);
    });
    receivers.push(receiver);
    return receiver;
  }

  private async handle(req: IncomingMessage, res: ServerResponse, secrets: string[]): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const rawBody = Buffer.concat(chunks).toString('utf8');
    const headers = {
      id: req.headers['webhook-id'] as string | undefined,
      timestamp: req.headers['webhook-timestamp'] as string | undefined,
      signature: req.headers['webhook-signature'] as string | undefined,
    };
    if (!secrets.some((secret) => verifyDelivery(secret, headers, rawBody))) {
      this.unverified.push(headers.id ?? '(no id)');
      res.writeHead(401).end('bad signature');
      return;
    }
    const event = JSON.parse(rawBody) as ReceivedEvent;
    const attempt = (this.attempts.get(event.id) ?? 0) + 1;
    this.attempts.set(event.id, attempt);
    const delivery: Delivery = {
      webhookId: headers.id!,
      timestamp: Number(headers.timestamp),
      rawBody,
      contentType: req.headers['content-type'],
      event,
      at: Date.now(),
      attempt,
      checkpoint: req.headers['elevate-audit-checkpoint'] as string | undefined,
    };
    this.requests.push(delivery);
    const subject = event.subject ?? '';
    if (this.inFlightSubjects.has(subject)) this.sameElevationOverlaps += 1;
    this.inFlightSubjects.add(subject);
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    const finish = () => {
      this.inFlight -= 1;
      this.inFlightSubjects.delete(subject);
    };
    const answer = await this.behaviour(delivery);
    if (answer.hang) {
      res.once('close', finish);
      return;
    }
    if (answer.delayMs) await sleep(answer.delayMs);
    finish();
    if (answer.status >= 200 && answer.status < 300) this.accepted.push(delivery);
    res.writeHead(answer.status, answer.headers).end(answer.status >= 400 ? 'refused by the test' : 'ok');
  }

  acceptedIds(): string[] {
    return this.accepted.map((d) => d.event.id);
  }

  attemptsOf(id: string): Delivery[] {
    return this.requests.filter((d) => d.event.id === id);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((done) => this.server.close(() => done()));
  }
}

// ---------------------------------------------------------------------------------------------
// Fixtures: one Temporal dev server for the file; each test its own task queue and forwarder

/** Continue-as-new is suggested after this many history events, so every test crosses runs. */
const SUGGEST_CONTINUE_AS_NEW = 60;

/** The workflow bundle (webpack takes seconds: once for the file). */
async function workflowBundle(): Promise<string> {
  const { code } = await bundleWorkflowCode({
    workflowsPath: join(ROOT, 'workflows/index.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
  });
  const dir = await mkdtemp(join(tmpdir(), 'elevate-bundle-'));
  const path = join(dir, 'workflow-bundle.js');
  writeFileSync(path, code);
  return path;
}

let env: TestWorkflowEnvironment;
let bundle: string;
let postgres: PostgresServer | undefined;

beforeAll(async () => {
  const cli = findTemporalCli();
  if (!cli) throw new Error('the Temporal CLI is not installed: run scripts/setup');
  installTemporalLogging(testLogger());
  [env, bundle, postgres] = await Promise.all([
    TestWorkflowEnvironment.createLocal({
      server: {
        executable: { type: 'existing-path', path: cli },
        ip: '127.0.0.1',
        log: { format: 'pretty', level: 'error' },
        extraArgs: [
          '--dynamic-config-value',
          `limit.historyCount.suggestContinueAsNew=${SUGGEST_CONTINUE_AS_NEW}`,
        ],
      },
    }),
    workflowBundle(),
    startPostgres(),
  ]);
}, 120_000);

afterAll(async () => {
  await env?.teardown();
  await postgres?.stop();
});

/** The audit log the forwarder reads (the tests append to it too). */
type Store = AuditLog;

const receivers: Receiver[] = [];
const workers: RunningWorker[] = [];
const forwarders: string[] = [];
const databases: { close(): Promise<void> }[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(
    forwarders.splice(0).map((id) =>
      env.client.workflow
        .getHandle(id)
        .terminate('test over')
        .catch(() => undefined),
    ),
  );
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  await Promise.all(databases.splice(0).map((d) => d.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** The audit log of a database (another store instance on it each time, another process's). */
async function openAuditLog(settings: StoreSettings): Promise<Store> {
  const stores = await openStores(settings);
  databases.push(stores.database);
  return stores.auditLog;
}

/** A fresh SQLite file; `open()` opens another store instance on it (another process's). */
async function sqliteFile(): Promise<{ path: string; open: () => Promise<Store> }> {
  const dir = await mkdtemp(join(tmpdir(), 'elevate-webhook-'));
  dirs.push(dir);
  const path = join(dir, 'audit.db');
  return {
    path,
    open: () => openAuditLog({ sqlitePath: path }),
  };
}

interface CapturedLog {
  level: number;
  msg: string;
  [key: string]: unknown;
}

function capturingLogger(): { logger: Logger; lines: CapturedLog[] } {
  const lines: CapturedLog[] = [];
  const logger = pino(
    { level: 'debug' },
    {
      write(line: string) {
        lines.push(JSON.parse(line) as CapturedLog);
      },
    },
  );
  return { logger, lines };
}

/** Fast pacing: short waits, retries from 20 ms doubling to 200 ms. */
const FAST: AuditForwarderOptions = {
  waitMs: 3_000,
  heartbeatTimeoutMs: 2_000,
  initialRetryIntervalMs: 20,
  maxRetryIntervalMs: 200,
};

interface RunningWorker {
  worker: Worker;
  outcomes: DeliveryOutcome[];
  lines: CapturedLog[];
  /** As a stopping process does: the page in hand stops, then the worker shuts down. */
  stop(): Promise<void>;
}

/** A worker on `taskQueue` that delivers to `url` (or has no webhook, with `webhook: null`). */
async function startWorker(
  store: Store,
  taskQueue: string,
  url: string,
  webhook: Partial<WebhookDelivery> | null = {},
): Promise<RunningWorker> {
  const outcomes: DeliveryOutcome[] = [];
  const { logger, lines } = capturingLogger();
  const stopping = new AbortController();
  const worker = await Worker.create({
    connection: env.nativeConnection,
    namespace: env.namespace ?? 'default',
    taskQueue,
    workflowBundle: { codePath: bundle },
    shutdownGraceTime: '2s',
    // Each worker its own build: several workers of one process may then poll the same queue,
    // as workers of several processes do (unversioned: any of them gets any task).
    workerDeploymentOptions: {
      version: { deploymentName: 'webhook-test', buildId: randomUUID() },
      useWorkerVersioning: false,
    },
    activities: createAuditForwardingActivities({
      store,
      ...(webhook
        ? {
            webhook: {
              url,
              secrets: [SECRET],
              source: 'urn:elevate:test',
              timeoutMs: 2_000,
              concurrency: 4,
              pollIntervalMs: 20,
              onReject: 'stop',
              ...webhook,
            },
          }
        : {}),
      logger,
      stopping: stopping.signal,
      onOutcome: (o) => outcomes.push(o),
    }),
  });
  const running = worker.run();
  let stopped: Promise<void> | undefined;
  const w: RunningWorker = {
    worker,
    outcomes,
    lines,
    stop() {
      stopped ??= (async () => {
        stopping.abort();
        if (worker.getState() === 'RUNNING') worker.shutdown();
        await running;
      })();
      return stopped;
    },
  };
  workers.push(w);
  return w;
}

interface Forwarder extends RunningWorker {
  workflowId: string;
  taskQueue: string;
  runId: string;
  status(): Promise<AuditForwarderState>;
}

/** A worker and the forwarder workflow, started the way `elevate worker` starts it. */
async function startForwarder(
  store: Store,
  url: string,
  webhook: Partial<WebhookDelivery> = {},
  options: AuditForwarderOptions = {},
): Promise<Forwarder> {
  const taskQueue = `webhook-${randomUUID()}`;
  const workflowId = `audit-forwarder-${randomUUID()}`;
  const worker = await startWorker(store, taskQueue, url, webhook);
  const runId = await startAuditForwarder({
    client: env.client,
    taskQueue,
    logger: testLogger(),
    url,
    options: { ...FAST, ...options },
    workflowId,
  });
  forwarders.push(workflowId);
  return { ...worker, workflowId, taskQueue, runId, status: () => statusOf(workflowId) };
}

/** The forwarder's state, by its Query (the latest run). */
function statusOf(workflowId: string): Promise<AuditForwarderState> {
  return env.client.workflow.getHandle(workflowId).query(auditForwarderStatusQuery);
}

/** The page being delivered now, as the Temporal UI shows it. */
async function pendingPage(workflowId: string) {
  const described = await env.client.workflow.getHandle(workflowId).describe();
  return described.raw.pendingActivities?.[0];
}

let eventCounter = 0;

async function record(
  store: Store,
  elevationId: string | null,
  type: EventType = 'elevation.requested',
): Promise<AuditEvent> {
  eventCounter += 1;
  return store.append({
    id: `evt-${eventCounter}-${randomUUID().slice(0, 8)}`,
    elevationId,
    type,
    at: new Date().toISOString(),
    actor: { kind: 'bot', id: 'ci-bot' },
    data: { n: eventCounter, note: 'ünïcode ✓' },
  });
}

/** `perElevation` events for each of `elevations` elevations, interleaved at random. */
async function recordInterleaved(
  store: Store,
  elevations: number,
  perElevation: number,
): Promise<AuditEvent[]> {
  const left = Array.from({ length: elevations }, (_, i) => ({
    id: `elv-${randomUUID().slice(0, 6)}-${i}`,
    n: perElevation,
  }));
  const events: AuditEvent[] = [];
  while (left.some((e) => e.n > 0)) {
    const open = left.filter((e) => e.n > 0);
    const pick = open[Math.floor(Math.random() * open.length)]!;
    pick.n -= 1;
    events.push(await record(store, pick.id));
  }
  return events;
}

async function waitFor(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 15_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((done) => setTimeout(done, ms));
}

/**
 * Each elevation's events arrive in `seq` order: every event's first delivery comes after the
 * first delivery of the one before it. (A repeat, after a crash, is an event the receiver has.)
 */
function expectOrderedPerElevation(accepted: Delivery[]): void {
  const seen = new Set<string>();
  const byLane = new Map<string, number[]>();
  for (const d of accepted) {
    if (seen.has(d.event.id)) continue;
    seen.add(d.event.id);
    const lane = d.event.subject ?? '';
    byLane.set(lane, [...(byLane.get(lane) ?? []), d.event.elevatesequence]);
  }
  for (const [lane, seqs] of byLane) {
    for (let i = 1; i < seqs.length; i += 1) {
      expect(seqs[i]!, `elevation ${lane}: ${seqs.join(',')}`).toBeGreaterThan(seqs[i - 1]!);
    }
  }
}

function duplicatesIn(ids: string[]): number {
  return ids.length - new Set(ids).size;
}

describe('the receiver-side verifier used by these tests', () => {
  const body = '{"specversion":"1.0"}';
  const ts = Math.floor(Date.now() / 1000);
  const sign = (secret: string, id: string, t: number, b: string) => {
    const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret);
    return `v1,${createHmac('sha256', key).update(`${id}.${t}.${b}`).digest('base64')}`;
  };

  it('when anything signed changes or the timestamp is old, then it refuses', () => {
    const good = { id: 'evt-1', timestamp: String(ts), signature: sign(SECRET, 'evt-1', ts, body) };

    expect(verifyDelivery(SECRET, good, body)).toBe(true);
    expect(verifyDelivery(SECRET, good, body.replace('1.0', '1.1'))).toBe(false);
    expect(verifyDelivery(SECRET, { ...good, id: 'evt-2' }, body)).toBe(false);
    expect(verifyDelivery(PLAIN_SECRET, good, body)).toBe(false);
    const old = ts - 301;
    expect(
      verifyDelivery(
        SECRET,
        { id: 'evt-1', timestamp: String(old), signature: sign(SECRET, 'evt-1', old, body) },
        body,
      ),
    ).toBe(false);
    expect(verifyDelivery(SECRET, { ...good, signature: `v2,${good.signature.slice(3)}` }, body)).toBe(false);
  });
});

describe('the audit forwarder delivering to a receiver', () => {
  it('when events are recorded, then each arrives once as a signed CloudEvent carrying the stored event and its chain fields', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    const recorded = [
      await record(store, 'elv-format', 'elevation.requested'),
      await record(store, 'elv-format', 'grant.confirmed'),
      await record(store, null, 'auth.refused'),
    ];
    await startForwarder(store, receiver.url, { source: 'https://elevate.example.org' });

    await waitFor(() => receiver.accepted.length === 3, 10_000, 'three deliveries');

    expect(receiver.unverified).toEqual([]);
    expect(receiver.requests).toHaveLength(3);
    const stored = await store.readEvents(0, 10);
    for (const event of stored) {
      const d = receiver.accepted.find((x) => x.event.id === event.id)!;
      expect(d.webhookId).toBe(event.id);
      expect(d.contentType).toMatch(/^application\/cloudevents\+json\b/);
      expect(Math.abs(d.timestamp - Date.now() / 1000)).toBeLessThan(30);
      expect(d.event).toMatchObject({
        specversion: '1.0',
        id: event.id,
        source: 'https://elevate.example.org',
        type: `org.elevate.${event.type}`,
        time: event.at,
        datacontenttype: 'application/json',
        elevateposition: event.position,
        elevatesequence: event.seq,
        sequence: String(event.position).padStart(16, '0'),
      });
      expect(d.event.data).toEqual(event);
      if (event.elevationId === null) {
        expect(d.event).not.toHaveProperty('subject');
      } else {
        expect(d.event.subject).toBe(event.elevationId);
        expect(d.event.partitionkey).toBe(event.elevationId);
      }
      // CloudEvents: extension attribute names are lower-case letters and digits.
      for (const name of Object.keys(d.event)) expect(name).toMatch(/^[a-z0-9]{1,20}$/);
    }
    expect(receiver.accepted.find((d) => d.event.id === recorded[1]!.id)!.event.type).toBe(
      'org.elevate.grant.confirmed',
    );
    // A receiver can check the chain itself: each hash is SHA-256 of the canonical event.
    for (const d of receiver.accepted) {
      const { hash, ...rest } = d.event.data;
      expect(createHash('sha256').update(canonicalJson(rest)).digest('hex')).toBe(hash);
    }
  });

  it('when two secrets are configured (a rotation), then a receiver holding either one verifies', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const oldOnly = await Receiver.start([PLAIN_SECRET]);
    await record(store, 'elv-rotate');
    await startForwarder(store, oldOnly.url, { secrets: [SECRET, PLAIN_SECRET] });

    await waitFor(() => oldOnly.accepted.length === 1, 10_000, 'delivery to old-secret receiver');

    expect(oldOnly.unverified).toEqual([]);
    expect(oldOnly.requests[0]!.rawBody).toContain('elv-rotate');
  });

  it('when the store signs checkpoints, then each delivery carries the newest one, and its signature checks with the public key alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'elevate-webhook-'));
    dirs.push(dir);
    const key = parseSigningKey(newDecisionKeyPair().privatePem);
    const store = await openAuditLog({
      sqlitePath: join(dir, 'audit.db'),
      integrity: storeIntegrity({ signingKey: key, every: 2, intervalSeconds: 3_600 }),
    });
    const receiver = await Receiver.start();
    const events = [
      await record(store, 'elv-cp'),
      await record(store, 'elv-cp'),
      await record(store, 'elv-cp'),
    ];
    await startForwarder(store, receiver.url);

    await waitFor(() => receiver.accepted.length === 3, 10_000, 'three deliveries');

    for (const d of receiver.accepted) {
      expect(d.checkpoint).toBeDefined();
      const checkpoint = JSON.parse(
        Buffer.from(d.checkpoint!, 'base64url').toString('utf8'),
      ) as SignedCheckpoint;
      expect(checkpoint).toMatchObject({ v: 1, position: 3, hash: events[2]!.hash, kid: key.kid });
      // What a receiver does: verify with the public key (the PEM `elevate keygen` prints).
      expect(checkSignature(checkpoint, parsePublicKeys(key.publicKey.pem))).toBe('ok');
      expect(
        checkSignature({ ...checkpoint, hash: events[1]!.hash }, parsePublicKeys(key.publicKey.pem)),
      ).toBe('bad_signature');
    }
  });

  it('when many elevations record events while the receiver answers after random delays, then each elevation arrives in order and elevations go in parallel', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    receiver.behaviour = () => ({ status: 200, delayMs: Math.random() * 25 });
    const first = await recordInterleaved(store, 8, 6);
    const forwarder = await startForwarder(store, receiver.url, { concurrency: 4 }, { pageSize: 20 });
    const more = await recordInterleaved(store, 6, 5);
    const all = [...first, ...more];

    await waitFor(() => receiver.accepted.length >= all.length, 20_000, 'all deliveries');
    await sleep(100);

    expect(receiver.unverified).toEqual([]);
    expect(receiver.acceptedIds().sort()).toEqual(all.map((e) => e.id).sort());
    expect(duplicatesIn(receiver.acceptedIds())).toBe(0);
    expectOrderedPerElevation(receiver.accepted);
    for (const elevationId of new Set(all.map((e) => e.elevationId))) {
      const seqs = receiver.accepted
        .filter((d) => d.event.subject === elevationId)
        .map((d) => d.event.elevatesequence);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    }
    expect(receiver.sameElevationOverlaps).toBe(0);
    expect(receiver.maxInFlight).toBeGreaterThan(1);
    expect(receiver.maxInFlight).toBeLessThanOrEqual(4);
    await waitFor(
      async () => (await forwarder.status()).position === all.length,
      5_000,
      'the final position',
    );
  });

  it('when the forwarder has run for a while, then it has continued as new with its cursor, and nothing was lost or repeated', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    const events = await recordInterleaved(store, 5, 12);
    const forwarder = await startForwarder(store, receiver.url, {}, { pageSize: 3 });

    await waitFor(async () => (await forwarder.status()).position === events.length, 30_000, 'every page');

    const described = await env.client.workflow.getHandle(forwarder.workflowId).describe();
    // 20 pages of 3 make far more than SUGGEST_CONTINUE_AS_NEW history events.
    expect(described.runId).not.toBe(forwarder.runId);
    expect(described.status.name).toBe('RUNNING');
    expect(receiver.acceptedIds().sort()).toEqual(events.map((e) => e.id).sort());
    expect(duplicatesIn(receiver.acceptedIds())).toBe(0);
    expectOrderedPerElevation(receiver.accepted);
  });
});

describe('the audit forwarder retrying', () => {
  it('when the receiver answers 500 three times, then the event is retried with the same id and body until accepted, and its elevation waits for it', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    const flaky = await record(store, 'elv-flaky');
    const next = await record(store, 'elv-flaky');
    receiver.behaviour = (d) =>
      d.event.id === flaky.id && d.attempt <= 3 ? { status: 500 } : { status: 200 };
    const { outcomes } = await startForwarder(store, receiver.url);

    await waitFor(() => receiver.accepted.length === 2, 10_000, 'both deliveries');

    const attempts = receiver.attemptsOf(flaky.id);
    expect(attempts).toHaveLength(4);
    expect(new Set(attempts.map((a) => a.rawBody)).size).toBe(1);
    expect(new Set(attempts.map((a) => a.webhookId))).toEqual(new Set([flaky.id]));
    expect(receiver.attemptsOf(next.id)[0]!.at).toBeGreaterThanOrEqual(attempts[3]!.at);
    expect(receiver.acceptedIds()).toEqual([flaky.id, next.id]);
    expect(outcomes.filter((o) => o.kind === 'retrying')).toHaveLength(3);
    expect(outcomes.find((o) => o.kind === 'delivered' && o.event.id === flaky.id)).toMatchObject({
      attempt: 4,
    });
    // The retry policy's backoff (20, 40, 80 ms): the attempts do not follow each other at once.
    expect(attempts[3]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(100);
  });

  it('when the receiver answers 429 with Retry-After, then nothing is sent until that time has passed', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    const limited = await record(store, 'elv-limited');
    receiver.behaviour = (d) =>
      d.event.id === limited.id && d.attempt === 1
        ? { status: 429, headers: { 'retry-after': '2' } }
        : { status: 200 };
    await startForwarder(store, receiver.url, { concurrency: 1 });
    await waitFor(() => receiver.requests.length === 1, 10_000, 'first attempt');
    const others = [await record(store, 'elv-other'), await record(store, 'elv-third')];

    await waitFor(() => receiver.accepted.length === 3, 10_000, 'all deliveries');

    const [first, second] = receiver.attemptsOf(limited.id);
    // 2 s, where the retry policy alone would have waited 20 ms.
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1_950);
    // Rate limiting is about the sender: the other elevations waited too.
    for (const other of others)
      expect(receiver.attemptsOf(other.id)[0]!.at - first!.at).toBeGreaterThanOrEqual(1_950);
  });

  it('when the receiver does not answer in time twice, then the request is abandoned and retried', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    const slow = await record(store, 'elv-slow');
    receiver.behaviour = (d) => (d.attempt <= 2 ? { status: 200, hang: true } : { status: 200 });
    const { outcomes } = await startForwarder(store, receiver.url, { timeoutMs: 400 });

    await waitFor(() => receiver.accepted.length === 1, 10_000, 'delivery after timeouts');

    expect(receiver.attemptsOf(slow.id)).toHaveLength(3);
    const retries = outcomes.filter((o) => o.kind === 'retrying');
    expect(retries).toHaveLength(2);
    expect(retries[0]).toMatchObject({ reason: 'no answer within 400 ms' });
  });

  it('when nothing listens at the URL yet, then the page is retried until the receiver comes up, none lost, and Temporal shows why', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const port = await freePort();
    const events = [await record(store, 'elv-a'), await record(store, 'elv-b'), await record(store, 'elv-a')];
    const forwarder = await startForwarder(store, `http://127.0.0.1:${port}/hooks/elevate`);
    await waitFor(
      () => forwarder.outcomes.some((o) => o.kind === 'retrying' && /ECONNREFUSED/.test(o.reason)),
      10_000,
      'a refused connection',
    );
    await waitFor(
      async () => ((await pendingPage(forwarder.workflowId))?.attempt ?? 0) > 1,
      10_000,
      'a retry',
    );
    const page = await pendingPage(forwarder.workflowId);
    expect(page?.lastFailure?.message).toMatch(/ECONNREFUSED/);
    expect(page?.lastFailure?.applicationFailureInfo?.type).toBe('WebhookDeliveryFailed');
    expect((await forwarder.status()).position).toBe(0);

    const receiver = await Receiver.start([SECRET], port);

    await waitFor(() => receiver.accepted.length === 3, 10_000, 'deliveries after the receiver came up');
    expect(receiver.acceptedIds().sort()).toEqual(events.map((e) => e.id).sort());
    expectOrderedPerElevation(receiver.accepted);
    await waitFor(async () => (await forwarder.status()).position === 3, 5_000, 'position 3');
  });

  it('when one elevation keeps failing, then the others are delivered, each once, but no further than the page past it', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    let healthy = false;
    const stuck = await record(store, 'elv-stuck');
    const others: AuditEvent[] = [];
    for (let i = 0; i < 12; i += 1) others.push(await record(store, `elv-other-${i % 3}`));
    receiver.behaviour = (d) =>
      d.event.subject === 'elv-stuck' && !healthy ? { status: 503 } : { status: 200 };
    const forwarder = await startForwarder(store, receiver.url, {}, { pageSize: 6 });

    // The page holds the stuck event and 5 more: those 5 are delivered, the rest wait.
    await waitFor(() => receiver.accepted.length === 5, 10_000, 'the page delivered');
    await waitFor(() => receiver.attemptsOf(stuck.id).length >= 3, 10_000, 'the stuck event retried');
    expect(receiver.accepted).toHaveLength(5);
    expect(receiver.acceptedIds()).toEqual(expect.arrayContaining(others.slice(0, 5).map((e) => e.id)));
    // Retries resume from the heartbeat: what was accepted is never sent again.
    for (const other of others.slice(0, 5)) expect(receiver.attemptsOf(other.id)).toHaveLength(1);
    expect((await forwarder.status()).position).toBe(0);

    healthy = true;

    await waitFor(() => receiver.accepted.length === 13, 10_000, 'everything after recovery');
    expect(duplicatesIn(receiver.acceptedIds())).toBe(0);
    expectOrderedPerElevation(receiver.accepted);
    await waitFor(async () => (await forwarder.status()).position === 13, 5_000, 'position 13');
  });
});

describe('the audit forwarder and permanent refusals', () => {
  it('when ELEVATE_WEBHOOK_ON_REJECT is skip and the receiver answers 400, then the event is logged, counted and skipped, and its elevation goes on', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    const [a1, a2, a3] = [
      await record(store, 'elv-a'),
      await record(store, 'elv-a'),
      await record(store, 'elv-a'),
    ];
    receiver.behaviour = (d) => (d.event.id === a2.id ? { status: 400 } : { status: 200 });
    const forwarder = await startForwarder(store, receiver.url, { onReject: 'skip' });

    await waitFor(() => receiver.accepted.length === 2, 10_000, 'two deliveries');
    await waitFor(async () => (await forwarder.status()).position === 3, 5_000, 'position 3');

    expect(receiver.acceptedIds()).toEqual([a1.id, a3.id]);
    expect(receiver.attemptsOf(a2.id)).toHaveLength(1);
    // The skip list is workflow state: it is what the Query answers.
    expect(await forwarder.status()).toMatchObject({
      position: 3,
      skipped: 1,
      lastSkipped: [{ eventId: a2.id, status: 400, position: 2, elevationId: 'elv-a' }],
    });
    expect(forwarder.outcomes).toContainEqual(
      expect.objectContaining({ kind: 'rejected', action: 'skipped', status: 400 }),
    );
    expect(forwarder.lines).toContainEqual(
      expect.objectContaining({
        level: 50,
        eventId: a2.id,
        status: 400,
        msg: expect.stringMatching(/skipped/) as unknown,
      }),
    );
  });

  it('when ELEVATE_WEBHOOK_ON_REJECT is stop and the receiver answers 422, then its elevation holds at that event until accepted while others go on', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    let fixed = false;
    const [a1, a2, a3] = [
      await record(store, 'elv-a'),
      await record(store, 'elv-a'),
      await record(store, 'elv-a'),
    ];
    const b = [await record(store, 'elv-b'), await record(store, 'elv-b')];
    receiver.behaviour = (d) => (d.event.id === a2.id && !fixed ? { status: 422 } : { status: 200 });
    const forwarder = await startForwarder(store, receiver.url, { onReject: 'stop' });

    await waitFor(() => receiver.accepted.length === 3, 10_000, 'a1 and elevation b');
    await waitFor(() => receiver.attemptsOf(a2.id).length >= 3, 10_000, 'a2 tried repeatedly');
    expect(receiver.acceptedIds().sort()).toEqual([a1.id, ...b.map((e) => e.id)].sort());
    expect(receiver.attemptsOf(a3.id)).toHaveLength(0);
    expect(await forwarder.status()).toMatchObject({ position: 0, skipped: 0 });
    expect(forwarder.outcomes).toContainEqual(
      expect.objectContaining({ kind: 'rejected', action: 'held', status: 422 }),
    );
    expect(forwarder.lines).toContainEqual(
      expect.objectContaining({ level: 50, eventId: a2.id, status: 422 }),
    );

    fixed = true;

    await waitFor(() => receiver.accepted.length === 5, 10_000, 'a2 and a3');
    expect(receiver.acceptedIds().slice(-2)).toEqual([a2.id, a3.id]);
    await waitFor(async () => (await forwarder.status()).position === 5, 5_000, 'position 5');
  });

  it('when the receiver redirects, then the redirect is not followed and counts as a refusal', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    const target = await Receiver.start();
    const moved = await record(store, 'elv-moved');
    receiver.behaviour = () => ({ status: 307, headers: { location: target.url } });
    const forwarder = await startForwarder(store, receiver.url, { onReject: 'skip' });

    await waitFor(async () => (await forwarder.status()).skipped === 1, 10_000, 'the redirect skipped');

    expect(receiver.attemptsOf(moved.id)).toHaveLength(1);
    expect(target.requests).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------
// One dispatcher, and progress across restarts, on both engines

interface Engine {
  name: string;
  /** A fresh database; `open()` opens another store instance on it. */
  fresh(): Promise<{ open: () => Promise<Store> }>;
}

const sqlite: Engine = { name: 'sqlite', fresh: sqliteFile };
let pgDatabases = 0;
const postgresEngine: Engine = {
  name: 'postgres',
  async fresh() {
    if (!postgres) throw new Error('postgres not started');
    pgDatabases += 1;
    const url = await createDatabase(postgres.url, `webhook_${pgDatabases}`);
    return {
      open: () => openAuditLog({ databaseUrl: url, sqlitePath: ':memory:', poolSize: 4, lockPoolSize: 2 }),
    };
  },
};

describe.each([sqlite, postgresEngine])('on $name', (engine) => {
  it('two workers that both start the forwarder: one forwarder runs, each event arrives once, and the other worker carries on when one stops', async () => {
    const { open } = await engine.fresh();
    const [storeA, storeB] = [await open(), await open()];
    const receiver = await Receiver.start();
    receiver.behaviour = () => ({ status: 200, delayMs: Math.random() * 5 });
    const before = await recordInterleaved(storeA, 5, 6);
    const a = await startForwarder(storeA, receiver.url);
    const b = await startWorker(storeB, a.taskQueue, receiver.url);
    // What every `elevate worker` does at start: the same id, so the running forwarder is kept.
    const again = await startAuditForwarder({
      client: env.client,
      taskQueue: a.taskQueue,
      logger: testLogger(),
      url: receiver.url,
      options: FAST,
      workflowId: a.workflowId,
    });
    expect(again).toBe(a.runId);
    const during = await recordInterleaved(storeB, 5, 6);

    await waitFor(() => receiver.accepted.length >= 60, 20_000, '60 deliveries');
    await sleep(200);
    expect(receiver.accepted).toHaveLength(60);
    expect(duplicatesIn(receiver.acceptedIds())).toBe(0);
    expect(receiver.acceptedIds().sort()).toEqual([...before, ...during].map((e) => e.id).sort());
    expectOrderedPerElevation(receiver.accepted);

    await a.stop();
    const after = await recordInterleaved(storeA, 3, 4);

    await waitFor(() => receiver.accepted.length >= 72, 30_000, 'deliveries by the other worker');
    await sleep(200);
    expect(receiver.accepted).toHaveLength(72);
    expect(duplicatesIn(receiver.acceptedIds())).toBe(0);
    expect(receiver.acceptedIds().slice(60).sort()).toEqual(after.map((e) => e.id).sort());
    expect(b.outcomes.filter((o) => o.kind === 'delivered').length).toBeGreaterThanOrEqual(12);
  });

  it('when the worker is stopped mid-way and another started, then nothing is lost and only requests in flight repeat', async () => {
    const { open } = await engine.fresh();
    const store = await open();
    const receiver = await Receiver.start();
    receiver.behaviour = () => ({ status: 200, delayMs: 5 + Math.random() * 25 });
    const events = await recordInterleaved(store, 10, 12);
    const first = await startForwarder(store, receiver.url, { concurrency: 4 }, { pageSize: 200 });
    await waitFor(() => receiver.accepted.length >= 50, 20_000, '50 deliveries');

    await first.stop();
    const acceptedBeforeRestart = receiver.accepted.length;
    expect(acceptedBeforeRestart).toBeLessThan(events.length);
    await startWorker(await open(), first.taskQueue, receiver.url, { concurrency: 4 });

    await waitFor(
      () => new Set(receiver.acceptedIds()).size === events.length,
      20_000,
      'every event delivered',
    );
    await waitFor(async () => (await first.status()).position === events.length, 5_000, 'the final position');
    expect(receiver.unverified).toEqual([]);
    // Only requests in flight at the stop can arrive again: at most `concurrency` of them.
    expect(duplicatesIn(receiver.acceptedIds())).toBeLessThanOrEqual(4);
    expectOrderedPerElevation(receiver.accepted);
  });
});

describe('the audit forwarder after a crash', () => {
  it('when the worker delivering is killed, then another resumes from the last heartbeat, with at most one page repeated', async () => {
    const { path, open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    receiver.behaviour = () => ({ status: 200, delayMs: 5 + Math.random() * 20 });
    const events = await recordInterleaved(store, 10, 15);
    const taskQueue = `webhook-${randomUUID()}`;
    const workflowId = `audit-forwarder-${randomUUID()}`;
    // .mts: an ES module wherever it lies (the temp dir has no package.json saying so).
    const script = join(resolve(path, '..'), 'worker-process.mts');
    writeFileSync(
      script,
      `import { NativeConnection, Worker } from ${JSON.stringify(pathToFileURL(require.resolve('@temporalio/worker')).href)};
import { openStores } from ${JSON.stringify(join(ROOT, 'store/stores.js'))};
import { createAuditForwardingActivities } from ${JSON.stringify(join(ROOT, 'activities/audit-forwarding.js'))};
const [path, url, secret, address, taskQueue, bundle] = process.argv.slice(2);
const quiet = { info() {}, warn() {}, error() {}, debug() {}, child() { return quiet; } };
const worker = await Worker.create({
  connection: await NativeConnection.connect({ address }),
  taskQueue,
  workflowBundle: { codePath: bundle },
  activities: createAuditForwardingActivities({
    store: (await openStores({ sqlitePath: path })).auditLog,
    webhook: { url, secrets: [secret], source: 'urn:elevate:test', timeoutMs: 2000, concurrency: 4, pollIntervalMs: 20, onReject: 'stop' },
    logger: quiet,
  }),
});
await worker.run();
`,
    );
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', script, path, receiver.url, SECRET, env.address, taskQueue, bundle],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    let exited = false;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = new Promise((done) => child.once('exit', done));
    void exit.then(() => (exited = true));
    forwarders.push(workflowId);
    try {
      await startAuditForwarder({
        client: env.client,
        taskQueue,
        logger: testLogger(),
        url: receiver.url,
        options: { ...FAST, pageSize: 20 },
        workflowId,
      });
      await waitFor(() => exited || receiver.accepted.length >= 60, 30_000, "the child's deliveries");
      expect(exited, `the child process ended early: ${stderr}`).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
    await exit;
    const deliveredByChild = receiver.accepted.length;

    await startWorker(store, taskQueue, receiver.url);

    await waitFor(
      () => new Set(receiver.acceptedIds()).size === events.length,
      30_000,
      'every event delivered',
    );
    await waitFor(
      async () => (await statusOf(workflowId)).position === events.length,
      5_000,
      'the final position',
    );
    expect(deliveredByChild).toBeLessThan(events.length);
    expect(duplicatesIn(receiver.acceptedIds())).toBeLessThanOrEqual(20);
    expectOrderedPerElevation(receiver.accepted);
  });

  it('when the trail no longer holds the event the cursor stopped at (a restore), then it is delivered again from the start', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    const events = [await record(store, 'elv-r'), await record(store, 'elv-r'), await record(store, 'elv-r')];
    const first = await startForwarder(store, receiver.url);
    await waitFor(async () => (await first.status()).position === 3, 10_000, 'position 3');
    const state = await first.status();
    await env.client.workflow.getHandle(first.workflowId).terminate('the store is restored');
    // The stop of the workers that goes with a restore (the page the old run was waiting for
    // events in must not pick up the next one).
    await first.stop();
    const worker = await startWorker(store, first.taskQueue, receiver.url);
    // As if the store were restored from a backup taken before events 4 and 5 existed: the
    // forwarder's cursor names an event the trail does not hold.
    const workflowId = `audit-forwarder-${randomUUID()}`;
    forwarders.push(workflowId);
    await env.client.workflow.start(auditForwarderWorkflow, {
      workflowId,
      taskQueue: first.taskQueue,
      args: [{ state: { ...state, position: 5, hash: 'f'.repeat(64) }, options: FAST }],
    });
    const later = await record(store, 'elv-r');

    await waitFor(() => receiver.accepted.length === 7, 10_000, 'the trail again, and the new event');
    expect(receiver.acceptedIds()).toEqual([...events, ...events, later].map((e) => e.id));
    expect(worker.lines).toContainEqual(
      expect.objectContaining({ level: 50, msg: expect.stringMatching(/restored/) as unknown }),
    );
    await waitFor(async () => (await statusOf(workflowId)).position === 4, 5_000, 'position 4');
  });
});

describe('the audit forwarder after an upgrade', () => {
  it('when an earlier version’s dispatcher left its cursor in the store, then the forwarder starts from there, not from the beginning', async () => {
    const { path, open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    const before = [await record(store, 'elv-u'), await record(store, 'elv-u'), await record(store, 'elv-u')];
    const after = [await record(store, 'elv-u'), await record(store, 'elv-u')];
    // The table and row the earlier dispatcher kept: settled up to the third event.
    const raw = new Database(path);
    raw.exec(
      'CREATE TABLE stream_cursors (name TEXT PRIMARY KEY, state TEXT, owner TEXT NOT NULL, lease_until INTEGER NOT NULL, updated_at INTEGER NOT NULL) STRICT',
    );
    const state = { v: 1, position: 3, hash: before[2]!.hash, done: [[5, 5]], skipped: 0, lastSkipped: [] };
    raw
      .prepare('INSERT INTO stream_cursors VALUES (?, ?, ?, 0, 0)')
      .run('webhook', JSON.stringify(state), 'old');
    raw.close();

    const stores = await openStores({ sqlitePath: path });
    databases.push(stores.database);
    const resumeFrom = await readLegacyWebhookCursor(stores.database);
    expect(resumeFrom).toEqual({ position: 3, hash: before[2]!.hash });
    const taskQueue = `webhook-${randomUUID()}`;
    const workflowId = `audit-forwarder-${randomUUID()}`;
    forwarders.push(workflowId);
    await startWorker(store, taskQueue, receiver.url);
    await startAuditForwarder({
      client: env.client,
      taskQueue,
      logger: testLogger(),
      url: receiver.url,
      options: FAST,
      workflowId,
      ...(resumeFrom ? { resumeFrom } : {}),
    });
    await waitFor(async () => (await statusOf(workflowId)).position === 5, 10_000, 'position 5');
    // The two events after the old cursor, once each (the one it had settled out of order too:
    // only the settled prefix is carried over, and receivers drop repeats by id).
    expect(receiver.acceptedIds()).toEqual(after.map((e) => e.id));
  });

  it('when the store has no earlier cursor (new, never delivered, or unreadable), then there is nothing to resume from', async () => {
    const { path, open } = await sqliteFile();
    await open();
    const stores = await openStores({ sqlitePath: path });
    databases.push(stores.database);
    expect(await readLegacyWebhookCursor(stores.database)).toBeUndefined();
    const raw = new Database(path);
    raw.exec(
      'CREATE TABLE stream_cursors (name TEXT PRIMARY KEY, state TEXT, owner TEXT NOT NULL, lease_until INTEGER NOT NULL, updated_at INTEGER NOT NULL) STRICT',
    );
    const insert = raw.prepare('INSERT OR REPLACE INTO stream_cursors VALUES (?, ?, ?, 0, 0)');
    for (const state of [
      null,
      'not json',
      JSON.stringify({ v: 2, position: 3, hash: null }),
      JSON.stringify({ v: 1, position: 0, hash: null }),
    ]) {
      insert.run('webhook', state, 'old');
      expect(await readLegacyWebhookCursor(stores.database), String(state)).toBeUndefined();
    }
    raw.close();
  });
});

describe('the audit forwarder in a worker process (runtime/webhook.ts)', () => {
  it('counts deliveries and the position in the process metrics', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    receiver.behaviour = (d) => (d.attempt === 1 ? { status: 502 } : { status: 200 });
    await record(store, 'elv-m');
    await record(store, 'elv-m');
    const metrics = createMetrics({ processMetrics: false });
    const taskQueue = `webhook-${randomUUID()}`;
    const workflowId = `audit-forwarder-${randomUUID()}`;
    const worker = await Worker.create({
      connection: env.nativeConnection,
      taskQueue,
      workflowBundle: { codePath: bundle },
      activities: webhookActivities({
        settings: {
          url: receiver.url,
          secrets: [SECRET],
          source: 'urn:elevate:test',
          concurrency: 2,
          timeoutSeconds: 5,
          pollIntervalMs: 50,
          onReject: 'stop',
        },
        store,
        logger: pino({ level: 'silent' }),
        metrics,
      }),
    });
    const running = worker.run();
    workers.push({
      worker,
      outcomes: [],
      lines: [],
      stop: async () => {
        worker.shutdown();
        await running;
      },
    });
    forwarders.push(workflowId);
    await startAuditForwarder({
      client: env.client,
      taskQueue,
      logger: testLogger(),
      url: receiver.url,
      options: FAST,
      workflowId,
    });

    await waitFor(() => receiver.accepted.length === 2, 20_000, 'two deliveries');
    await waitFor(async () => (await statusOf(workflowId)).position === 2, 5_000, 'position 2');

    const text = await metrics.registry.metrics();
    expect(text).toMatch(/elevate_webhook_deliveries_total\{outcome="delivered"\} 2/);
    expect(text).toMatch(/elevate_webhook_deliveries_total\{outcome="retried"\} 2/);
    expect(text).toMatch(/elevate_webhook_position 2/);
  });

  it('when the worker running a page has no webhook settings, then the forwarder keeps its cursor and waits for a worker that has them', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    const events = [await record(store, 'elv-w'), await record(store, null)];
    const forwarder = await startForwarder(store, receiver.url);
    await waitFor(() => receiver.accepted.length === 2, 10_000, 'two deliveries');
    // The page is settled once the workflow has its result, a moment after the receiver's answers.
    await waitFor(async () => (await forwarder.status()).position === 2, 10_000, 'position 2');
    await forwarder.stop();
    const unconfigured = await startWorker(store, forwarder.taskQueue, receiver.url, null);
    const later = await record(store, 'elv-w');

    await waitFor(
      async () =>
        (await pendingPage(forwarder.workflowId))?.lastFailure?.applicationFailureInfo?.type ===
        WEBHOOK_NOT_CONFIGURED,
      15_000,
      'a page refused by the unconfigured worker',
    );
    expect(receiver.requests).toHaveLength(2);
    expect((await forwarder.status()).position).toBe(2);
    await unconfigured.stop();
    await startWorker(store, forwarder.taskQueue, receiver.url);

    await waitFor(() => receiver.accepted.length === 3, 15_000, 'the new event');
    expect(receiver.acceptedIds()).toEqual([...events, later].map((e) => e.id));
  });
});

describe('webhook settings', () => {
  const base = { ELEVATE_PUBLIC_URL: 'https://elevate.example.org' };
  const fail = (env: Record<string, string>): ConfigError => {
    try {
      loadSettings({ ...base, ...env });
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return err as ConfigError;
    }
    throw new Error('loadSettings accepted the environment');
  };

  it('when only the URL and a secret are set, then the defaults apply and the source is the public URL', () => {
    const settings = loadSettings({
      ...base,
      ELEVATE_WEBHOOK_URL: 'https://siem.example.org/in',
      ELEVATE_WEBHOOK_SECRET: SECRET,
    });

    expect(settings.webhook).toEqual({
      url: 'https://siem.example.org/in',
      secrets: [SECRET],
      source: 'https://elevate.example.org',
      concurrency: 8,
      timeoutSeconds: 10,
      pollIntervalMs: 1000,
      onReject: 'stop',
    });
    expect(loadSettings(base).webhook).toBeUndefined();
  });

  it('when every webhook variable is set, then each is used; the secret may come from a file and hold two secrets', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'elevate-webhook-settings-'));
    dirs.push(dir);
    const file = join(dir, 'secret');
    writeFileSync(file, `${SECRET} ${PLAIN_SECRET}\n`);

    const settings = loadSettings({
      ...base,
      ELEVATE_WEBHOOK_URL: 'http://127.0.0.1:9000/x',
      ELEVATE_WEBHOOK_SECRET_FILE: file,
      ELEVATE_WEBHOOK_SOURCE: 'urn:elevate:prod',
      ELEVATE_WEBHOOK_CONCURRENCY: '3',
      ELEVATE_WEBHOOK_TIMEOUT_SECONDS: '4',
      ELEVATE_WEBHOOK_POLL_INTERVAL_MS: '250',
      ELEVATE_WEBHOOK_ON_REJECT: 'skip',
    });

    expect(settings.webhook).toEqual({
      url: 'http://127.0.0.1:9000/x',
      secrets: [SECRET, PLAIN_SECRET],
      source: 'urn:elevate:prod',
      concurrency: 3,
      timeoutSeconds: 4,
      pollIntervalMs: 250,
      onReject: 'skip',
    });
  });

  const url = 'https://x.example.org/in';
  it.each([
    ['a URL without a secret', 'ELEVATE_WEBHOOK_SECRET', { ELEVATE_WEBHOOK_URL: url }],
    ['a secret without a URL', 'ELEVATE_WEBHOOK_URL', { ELEVATE_WEBHOOK_SECRET: SECRET }],
    [
      'an ftp URL',
      'ELEVATE_WEBHOOK_URL',
      { ELEVATE_WEBHOOK_URL: 'ftp://x.example.org', ELEVATE_WEBHOOK_SECRET: SECRET },
    ],
    [
      'a short secret',
      'ELEVATE_WEBHOOK_SECRET',
      { ELEVATE_WEBHOOK_URL: url, ELEVATE_WEBHOOK_SECRET: 'too-short-a-secret' },
    ],
    [
      'a whsec_ secret that is not base64',
      'ELEVATE_WEBHOOK_SECRET',
      { ELEVATE_WEBHOOK_URL: url, ELEVATE_WEBHOOK_SECRET: `whsec_${'!'.repeat(40)}` },
    ],
    [
      'a whsec_ secret of 21 bytes',
      'ELEVATE_WEBHOOK_SECRET',
      {
        ELEVATE_WEBHOOK_URL: url,
        ELEVATE_WEBHOOK_SECRET: `whsec_${randomBytes(12).toString('base64')}aaaaaaaaaaaa`,
      },
    ],
    [
      'an unreadable secret file',
      'ELEVATE_WEBHOOK_SECRET_FILE',
      { ELEVATE_WEBHOOK_URL: url, ELEVATE_WEBHOOK_SECRET_FILE: '/nonexistent/secret' },
    ],
    [
      'an unknown on-reject action',
      'ELEVATE_WEBHOOK_ON_REJECT',
      { ELEVATE_WEBHOOK_URL: url, ELEVATE_WEBHOOK_SECRET: SECRET, ELEVATE_WEBHOOK_ON_REJECT: 'drop' },
    ],
    [
      'a concurrency of 0',
      'ELEVATE_WEBHOOK_CONCURRENCY',
      { ELEVATE_WEBHOOK_URL: url, ELEVATE_WEBHOOK_SECRET: SECRET, ELEVATE_WEBHOOK_CONCURRENCY: '0' },
    ],
    [
      'a timeout of 0',
      'ELEVATE_WEBHOOK_TIMEOUT_SECONDS',
      { ELEVATE_WEBHOOK_URL: url, ELEVATE_WEBHOOK_SECRET: SECRET, ELEVATE_WEBHOOK_TIMEOUT_SECONDS: '0' },
    ],
    [
      'a 10 ms poll interval',
      'ELEVATE_WEBHOOK_POLL_INTERVAL_MS',
      { ELEVATE_WEBHOOK_URL: url, ELEVATE_WEBHOOK_SECRET: SECRET, ELEVATE_WEBHOOK_POLL_INTERVAL_MS: '10' },
    ],
    [
      'a source with a space',
      'ELEVATE_WEBHOOK_SOURCE',
      { ELEVATE_WEBHOOK_URL: url, ELEVATE_WEBHOOK_SECRET: SECRET, ELEVATE_WEBHOOK_SOURCE: 'has space' },
    ],
  ])('when %s is given, then start-up stops naming %s and never shows the secret', (_case, variable, env) => {
    const error = fail(env);

    expect(error.field).toBe(variable);
    expect(error.message.startsWith(`${variable}:`)).toBe(true);
    const secretValue = (env as Record<string, string>).ELEVATE_WEBHOOK_SECRET;
    if (secretValue) expect(error.message).not.toContain(secretValue);
  });
});
