/**
 * The audit webhook sink against a real HTTP receiver on loopback. The receiver checks every
 * delivery the way a customer's endpoint would, with a verifier written here from the
 * documented algorithm (docs/operations.md), not with the sink's own signing code. Stores are
 * real: SQLite files, and a throwaway PostgreSQL server for the lease and resume cases.
 */
import { spawn } from 'node:child_process';
import { createHash, createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pino, { type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors/config-error.js';
import { loadSettings } from '../../config/settings.js';
import type { AuditEvent, Store } from '../../integrations/audit/audit-store.js';
import { canonicalJson } from '../../integrations/audit/hash-chain.js';
import {
  checkSignature,
  storeIntegrity,
  type SignedCheckpoint,
} from '../../integrations/audit/checkpoints.js';
import { newDecisionKeyPair, parsePublicKeys, parseSigningKey } from '../../core/crypto/decision-keys.js';
import { PostgresStore } from '../../integrations/audit/postgres-store.js';
import { SqliteStore } from '../../integrations/audit/sqlite-store.js';
import {
  WEBHOOK_CURSOR,
  WebhookSink,
  type DeliveryOutcome,
  type WebhookSinkOptions,
} from '../../integrations/audit/webhook-sink.js';
import { createMetrics } from '../../integrations/metrics/prometheus.js';
import { freePort } from '../../dev/processes.js';
import { startWebhookSink } from '../../runtime/webhook.js';
import type { EventType } from '../../core/model/events.js';
import { createDatabase, startPostgres, type PostgresServer } from '../../dev/postgres-server.js';

const ROOT = resolve(import.meta.dirname, '../..');
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
// Fixtures

const receivers: Receiver[] = [];
const sinks: WebhookSink[] = [];
const stores: Store[] = [];
const dirs: string[] = [];

afterEach(async () => {
  await Promise.all(sinks.splice(0).map((s) => s.stop()));
  await Promise.all(receivers.splice(0).map((r) => r.close()));
  await Promise.all(stores.splice(0).map((s) => s.close()));
  await Promise.all(dirs.splice(0).map((d) => rm(d, { recursive: true, force: true })));
});

/** A fresh SQLite file; `open()` opens another store instance on it (another process, as far as leases go). */
async function sqliteFile(): Promise<{ path: string; open: () => Promise<Store> }> {
  const dir = await mkdtemp(join(tmpdir(), 'elevate-webhook-'));
  dirs.push(dir);
  const path = join(dir, 'audit.db');
  return {
    path,
    open: () => {
      const store = SqliteStore.open(path);
      stores.push(store);
      return Promise.resolve(store);
    },
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

function startSink(
  store: Store,
  url: string,
  options: Partial<WebhookSinkOptions> = {},
): { sink: WebhookSink; outcomes: DeliveryOutcome[]; lines: CapturedLog[] } {
  const outcomes: DeliveryOutcome[] = [];
  const { logger, lines } = capturingLogger();
  const sink = new WebhookSink({
    store,
    url,
    secrets: [SECRET],
    source: 'urn:elevate:test',
    logger,
    concurrency: 4,
    timeoutMs: 2_000,
    pollIntervalMs: 20,
    backoff: { initialMs: 20, maxMs: 200 },
    leaseTtlMs: 1_500,
    stopGraceMs: 300,
    onOutcome: (o) => outcomes.push(o),
    ...options,
  });
  sinks.push(sink);
  sink.start();
  return { sink, outcomes, lines };
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

/** Every accepted event of each elevation, in arrival order, must follow `seq`; repeats only back to back. */
function expectOrderedPerElevation(accepted: Delivery[]): void {
  const byLane = new Map<string, number[]>();
  for (const d of accepted) {
    const lane = d.event.subject ?? '';
    byLane.set(lane, [...(byLane.get(lane) ?? []), d.event.elevatesequence]);
  }
  for (const [lane, seqs] of byLane) {
    for (let i = 1; i < seqs.length; i += 1) {
      expect(seqs[i]!, `elevation ${lane}: ${seqs.join(',')}`).toBeGreaterThanOrEqual(seqs[i - 1]!);
    }
  }
}

function duplicatesIn(ids: string[]): number {
  return ids.length - new Set(ids).size;
}

// ---------------------------------------------------------------------------------------------

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

describe('WebhookSink delivering to a receiver', () => {
  it('when events are recorded, then each arrives once as a signed CloudEvent carrying the stored event and its chain fields', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    const recorded = [
      await record(store, 'elv-format', 'elevation.requested'),
      await record(store, 'elv-format', 'grant.confirmed'),
      await record(store, null, 'auth.refused'),
    ];
    startSink(store, receiver.url, { source: 'https://elevate.example.org' });

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
    startSink(store, oldOnly.url, { secrets: [SECRET, PLAIN_SECRET] });

    await waitFor(() => oldOnly.accepted.length === 1, 10_000, 'delivery to old-secret receiver');

    expect(oldOnly.unverified).toEqual([]);
    expect(oldOnly.requests[0]!.rawBody).toContain('elv-rotate');
  });

  it('when the store signs checkpoints, then each delivery carries the newest one, and its signature checks with the public key alone', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'elevate-webhook-'));
    dirs.push(dir);
    const key = parseSigningKey(newDecisionKeyPair().privatePem);
    const store = SqliteStore.open(join(dir, 'audit.db'), {
      integrity: storeIntegrity({ signingKey: key, every: 2, intervalSeconds: 3_600 }),
    });
    stores.push(store);
    const receiver = await Receiver.start();
    const events = [
      await record(store, 'elv-cp'),
      await record(store, 'elv-cp'),
      await record(store, 'elv-cp'),
    ];
    startSink(store, receiver.url);

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
    startSink(store, receiver.url, { concurrency: 4 });
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
  });
});

describe('WebhookSink retries', () => {
  it('when the receiver answers 500 three times, then the event is retried with the same id and body until accepted, and its elevation waits for it', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    const flaky = await record(store, 'elv-flaky');
    const next = await record(store, 'elv-flaky');
    receiver.behaviour = (d) =>
      d.event.id === flaky.id && d.attempt <= 3 ? { status: 500 } : { status: 200 };
    const { outcomes } = startSink(store, receiver.url);

    await waitFor(() => receiver.accepted.length === 2, 10_000, 'both deliveries');

    const attempts = receiver.attemptsOf(flaky.id);
    expect(attempts).toHaveLength(4);
    expect(new Set(attempts.map((a) => a.rawBody)).size).toBe(1);
    expect(new Set(attempts.map((a) => a.webhookId))).toEqual(new Set([flaky.id]));
    expect(receiver.attemptsOf(next.id)[0]!.at).toBeGreaterThanOrEqual(attempts[3]!.at);
    expect(receiver.acceptedIds()).toEqual([flaky.id, next.id]);
    expect(outcomes.filter((o) => o.kind === 'retrying')).toHaveLength(3);
    expect(outcomes.find((o) => o.kind === 'delivered' && o.event.id === flaky.id)).toMatchObject({
      attempts: 4,
    });
    // Backoff grows: the gaps between attempts do not shrink to nothing.
    expect(attempts[3]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(20);
  });

  it('when the receiver answers 429 with Retry-After, then nothing is sent until that time has passed', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    const limited = await record(store, 'elv-limited');
    receiver.behaviour = (d) =>
      d.event.id === limited.id && d.attempt === 1
        ? { status: 429, headers: { 'retry-after': '1' } }
        : { status: 200 };
    startSink(store, receiver.url, { concurrency: 1 });
    await waitFor(() => receiver.requests.length === 1, 10_000, 'first attempt');
    const others = [await record(store, 'elv-other'), await record(store, 'elv-third')];

    await waitFor(() => receiver.accepted.length === 3, 10_000, 'all deliveries');

    const [first, second] = receiver.attemptsOf(limited.id);
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(950);
    // Rate limiting is about the sender: the other elevations waited too.
    for (const other of others)
      expect(receiver.attemptsOf(other.id)[0]!.at - first!.at).toBeGreaterThanOrEqual(950);
  });

  it('when the receiver does not answer in time twice, then the request is abandoned and retried', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    const slow = await record(store, 'elv-slow');
    receiver.behaviour = (d) => (d.attempt <= 2 ? { status: 200, hang: true } : { status: 200 });
    const { outcomes } = startSink(store, receiver.url, { timeoutMs: 400 });

    await waitFor(() => receiver.accepted.length === 1, 10_000, 'delivery after timeouts');

    expect(receiver.attemptsOf(slow.id)).toHaveLength(3);
    const retries = outcomes.filter((o) => o.kind === 'retrying');
    expect(retries).toHaveLength(2);
    expect(retries[0]).toMatchObject({ reason: 'no answer within 400 ms' });
  });

  it('when nothing listens at the URL yet, then deliveries are retried until the receiver comes up, none lost', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const port = await freePort();
    const events = [await record(store, 'elv-a'), await record(store, 'elv-b'), await record(store, 'elv-a')];
    const { sink, outcomes } = startSink(store, `http://127.0.0.1:${port}/hooks/elevate`);
    await waitFor(
      () => outcomes.some((o) => o.kind === 'retrying' && /ECONNREFUSED/.test(o.reason)),
      10_000,
      'a refused connection',
    );
    expect(sink.status()).toMatchObject({ delivering: true, position: 0 });
    expect(sink.status().retrying).toBeGreaterThan(0);

    const receiver = await Receiver.start([SECRET], port);

    await waitFor(() => receiver.accepted.length === 3, 10_000, 'deliveries after the receiver came up');
    expect(receiver.acceptedIds().sort()).toEqual(events.map((e) => e.id).sort());
    expectOrderedPerElevation(receiver.accepted);
    await waitFor(() => sink.status().position === 3, 5_000, 'position 3');
  });

  it('when one elevation keeps failing, then the others are delivered, but no further than the window past it', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    let healthy = false;
    const stuck = await record(store, 'elv-stuck');
    const others: AuditEvent[] = [];
    for (let i = 0; i < 12; i += 1) others.push(await record(store, `elv-other-${i % 3}`));
    receiver.behaviour = (d) =>
      d.event.subject === 'elv-stuck' && !healthy ? { status: 503 } : { status: 200 };
    const { sink } = startSink(store, receiver.url, { window: 6 });

    // The window holds the stuck event and 5 more: those 5 are delivered, the rest wait.
    await waitFor(() => receiver.accepted.length === 5, 10_000, 'the window delivered');
    await sleep(300);
    expect(receiver.accepted).toHaveLength(5);
    expect(receiver.acceptedIds()).toEqual(expect.arrayContaining(others.slice(0, 5).map((e) => e.id)));
    expect(sink.status()).toMatchObject({ position: 0, pending: 6, retrying: 1 });
    expect(receiver.attemptsOf(stuck.id).length).toBeGreaterThan(1);

    healthy = true;

    await waitFor(() => receiver.accepted.length === 13, 10_000, 'everything after recovery');
    expectOrderedPerElevation(receiver.accepted);
    await waitFor(() => sink.status().position === 13, 5_000, 'position 13');
  });
});

describe('WebhookSink and permanent refusals', () => {
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
    const { sink, outcomes, lines } = startSink(store, receiver.url, { onReject: 'skip' });

    await waitFor(() => receiver.accepted.length === 2, 10_000, 'two deliveries');
    await waitFor(() => sink.status().position === 3, 5_000, 'position 3');

    expect(receiver.acceptedIds()).toEqual([a1.id, a3.id]);
    expect(receiver.attemptsOf(a2.id)).toHaveLength(1);
    expect(sink.status()).toMatchObject({
      skipped: 1,
      lastSkipped: [{ eventId: a2.id, status: 400, position: 2 }],
    });
    expect(outcomes).toContainEqual(
      expect.objectContaining({ kind: 'rejected', action: 'skipped', status: 400 }),
    );
    expect(lines).toContainEqual(
      expect.objectContaining({
        level: 50,
        eventId: a2.id,
        status: 400,
        msg: expect.stringMatching(/skipped/) as unknown,
      }),
    );
    await sink.stop();
    const cursor = await store.readCursor(WEBHOOK_CURSOR);
    expect(cursor?.state).toMatchObject({ position: 3, skipped: 1, lastSkipped: [{ eventId: a2.id }] });
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
    const { sink, outcomes, lines } = startSink(store, receiver.url, { onReject: 'stop' });

    await waitFor(() => receiver.accepted.length === 3, 10_000, 'a1 and elevation b');
    await waitFor(() => receiver.attemptsOf(a2.id).length >= 3, 10_000, 'a2 tried repeatedly');
    expect(receiver.acceptedIds().sort()).toEqual([a1.id, ...b.map((e) => e.id)].sort());
    expect(receiver.attemptsOf(a3.id)).toHaveLength(0);
    expect(sink.status()).toMatchObject({ position: 1, skipped: 0 });
    expect(outcomes).toContainEqual(
      expect.objectContaining({ kind: 'rejected', action: 'held', status: 422 }),
    );
    expect(lines).toContainEqual(expect.objectContaining({ level: 50, eventId: a2.id, status: 422 }));

    fixed = true;

    await waitFor(() => receiver.accepted.length === 5, 10_000, 'a2 and a3');
    expect(receiver.acceptedIds().slice(-2)).toEqual([a2.id, a3.id]);
    await waitFor(() => sink.status().position === 5, 5_000, 'position 5');
  });

  it('when the receiver redirects, then the redirect is not followed and counts as a refusal', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    const target = await Receiver.start();
    const moved = await record(store, 'elv-moved');
    receiver.behaviour = () => ({ status: 307, headers: { location: target.url } });
    const { sink } = startSink(store, receiver.url, { onReject: 'skip' });

    await waitFor(() => sink.status().skipped === 1, 10_000, 'the redirect skipped');

    expect(receiver.attemptsOf(moved.id)).toHaveLength(1);
    expect(target.requests).toHaveLength(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Durability and the lease, on both engines

interface Engine {
  name: string;
  /** A fresh database; `open()` opens another store instance on it. */
  fresh(): Promise<{ open: () => Promise<Store> }>;
}

const sqlite: Engine = { name: 'sqlite', fresh: sqliteFile };
let postgres: PostgresServer | undefined;
let pgDatabases = 0;
const postgresEngine: Engine = {
  name: 'postgres',
  async fresh() {
    if (!postgres) throw new Error('postgres not started');
    pgDatabases += 1;
    const url = await createDatabase(postgres.url, `webhook_${pgDatabases}`);
    return {
      open: async () => {
        const store = await PostgresStore.open(url, { poolSize: 4, lockPoolSize: 2 });
        stores.push(store);
        return store;
      },
    };
  },
};

beforeAll(async () => {
  postgres = await startPostgres();
});
afterAll(async () => {
  await postgres?.stop();
});

describe.each([sqlite, postgresEngine])('on $name', (engine) => {
  it('cursors: one owner at a time, lapsed leases can be taken, and a replaced owner can no longer write', async () => {
    const { open } = await engine.fresh();
    const store = await open();
    const other = await open();

    expect(await store.claimCursor('c', 'owner-a', 60_000)).toEqual({ state: null });
    expect(await other.claimCursor('c', 'owner-b', 60_000)).toBeUndefined();
    expect(await store.saveCursor('c', 'owner-a', 60_000, { position: 7 })).toBe(true);
    expect(await store.claimCursor('c', 'owner-a', 60_000)).toEqual({ state: { position: 7 } });
    expect(await other.saveCursor('c', 'owner-b', 60_000, { position: 1 })).toBe(false);
    expect(await store.renewCursor('c', 'owner-a', 100)).toBe(true);
    await sleep(150);

    expect(await other.claimCursor('c', 'owner-b', 60_000)).toEqual({ state: { position: 7 } });
    await other.releaseCursor('c', 'owner-b');
    // Released by b, but a was replaced: a's writes stay fenced off.
    expect(await store.renewCursor('c', 'owner-a', 60_000)).toBe(false);
    expect(await store.saveCursor('c', 'owner-a', 60_000, { position: 9 })).toBe(false);
    const cursor = await store.readCursor('c');
    expect(cursor).toMatchObject({ owner: 'owner-b', state: { position: 7 } });
    expect(cursor!.leaseUntil.getTime()).toBeLessThan(Date.now());
    expect(await store.claimCursor('c', 'owner-c', 60_000)).toEqual({ state: { position: 7 } });
    expect(await store.readCursor('missing')).toBeUndefined();
  });

  it('two dispatchers on one store: one delivers, each event arrives once, and the other takes over when it stops', async () => {
    const { open } = await engine.fresh();
    const [storeA, storeB] = [await open(), await open()];
    const receiver = await Receiver.start();
    receiver.behaviour = () => ({ status: 200, delayMs: Math.random() * 5 });
    const before = await recordInterleaved(storeA, 5, 6);
    const a = startSink(storeA, receiver.url);
    const b = startSink(storeB, receiver.url);
    const during = await recordInterleaved(storeB, 5, 6);

    await waitFor(() => receiver.accepted.length >= 60, 20_000, '60 deliveries');
    await sleep(200);
    expect(receiver.accepted).toHaveLength(60);
    expect(duplicatesIn(receiver.acceptedIds())).toBe(0);
    expect(receiver.acceptedIds().sort()).toEqual([...before, ...during].map((e) => e.id).sort());
    expectOrderedPerElevation(receiver.accepted);
    const delivering = [a.sink, b.sink].filter((s) => s.status().delivering);
    expect(delivering).toHaveLength(1);
    const [active, standby] = delivering[0] === a.sink ? [a, b] : [b, a];

    await active.sink.stop();
    const after = await recordInterleaved(storeA, 3, 4);

    await waitFor(() => receiver.accepted.length >= 72, 20_000, 'deliveries by the standby');
    await sleep(200);
    expect(standby.sink.status().delivering).toBe(true);
    expect(receiver.accepted).toHaveLength(72);
    expect(duplicatesIn(receiver.acceptedIds())).toBe(0);
    expect(receiver.acceptedIds().slice(60).sort()).toEqual(after.map((e) => e.id).sort());
  });

  it('when the dispatcher is stopped mid-way and started again, then nothing is lost and only requests in flight repeat', async () => {
    const { open } = await engine.fresh();
    const store = await open();
    const receiver = await Receiver.start();
    receiver.behaviour = () => ({ status: 200, delayMs: 5 + Math.random() * 25 });
    const events = await recordInterleaved(store, 10, 12);
    const first = startSink(store, receiver.url, { concurrency: 4 });
    await waitFor(() => receiver.accepted.length >= 50, 20_000, '50 deliveries');

    await first.sink.stop();
    const acceptedBeforeRestart = receiver.accepted.length;
    expect(acceptedBeforeRestart).toBeLessThan(events.length);
    const saved = (await store.readCursor(WEBHOOK_CURSOR))!.state as { position: number };
    expect(saved.position).toBeGreaterThan(0);
    const second = startSink(await open(), receiver.url, { concurrency: 4 });

    await waitFor(
      () => new Set(receiver.acceptedIds()).size === events.length,
      20_000,
      'every event delivered',
    );
    await waitFor(() => second.sink.status().position === events.length, 5_000, 'the final position');
    expect(receiver.unverified).toEqual([]);
    const duplicates = duplicatesIn(receiver.acceptedIds());
    // Only requests in flight at the stop can arrive again: at most `concurrency` of them.
    expect(duplicates).toBeLessThanOrEqual(4);
    expectOrderedPerElevation(receiver.accepted);
  });
});

describe('WebhookSink after a crash', () => {
  it('when the delivering process is killed, then another resumes after the lease lapses, with at most `concurrency` events repeated', async () => {
    const { path, open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    receiver.behaviour = () => ({ status: 200, delayMs: 5 + Math.random() * 20 });
    const events = await recordInterleaved(store, 10, 15);
    // .mts: an ES module wherever it lies (the temp dir has no package.json saying so).
    const script = join(resolve(path, '..'), 'sink-process.mts');
    writeFileSync(
      script,
      `import { SqliteStore } from ${JSON.stringify(join(ROOT, 'integrations/audit/sqlite-store.js'))};
import { WebhookSink } from ${JSON.stringify(join(ROOT, 'integrations/audit/webhook-sink.js'))};
const [path, url, secret] = process.argv.slice(2);
const quiet = { info() {}, warn() {}, error() {}, debug() {}, child() { return quiet; } };
const sink = new WebhookSink({
  store: SqliteStore.open(path), url, secrets: [secret], source: 'urn:elevate:test',
  logger: quiet, concurrency: 4, pollIntervalMs: 20, leaseTtlMs: 1000,
  backoff: { initialMs: 20, maxMs: 200 },
});
sink.start();
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', script, path, receiver.url, SECRET], {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    let exited = false;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exit = new Promise((done) => child.once('exit', done));
    void exit.then(() => (exited = true));
    try {
      await waitFor(() => exited || receiver.accepted.length >= 60, 30_000, "the child's deliveries");
      expect(exited, `the child process ended early: ${stderr}`).toBe(false);
    } finally {
      child.kill('SIGKILL');
    }
    await exit;
    const deliveredByChild = receiver.accepted.length;

    const { sink } = startSink(store, receiver.url, { leaseTtlMs: 1000 });

    await waitFor(
      () => new Set(receiver.acceptedIds()).size === events.length,
      30_000,
      'every event delivered',
    );
    await waitFor(() => sink.status().position === events.length, 5_000, 'the final position');
    expect(deliveredByChild).toBeLessThan(events.length);
    expect(duplicatesIn(receiver.acceptedIds())).toBeLessThanOrEqual(4);
    expectOrderedPerElevation(receiver.accepted);
  });

  it('when saving progress is slow, then at no moment do more than `concurrency` accepted events lie outside the saved cursor', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    // Every save takes 100 ms: deliveries finish far faster than progress is recorded.
    const slowSaves = new Proxy(store, {
      get(target, property, receiver) {
        if (property === 'saveCursor') {
          return async (...args: Parameters<Store['saveCursor']>) => {
            await sleep(100);
            return target.saveCursor(...args);
          };
        }
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const receiver = await Receiver.start();
    const events = await recordInterleaved(store, 10, 8);
    startSink(slowSaves, receiver.url, { concurrency: 4 });

    let worst = 0;
    while (new Set(receiver.acceptedIds()).size < events.length) {
      const accepted = receiver.accepted.map((d) => d.event.elevateposition);
      const state = (await store.readCursor(WEBHOOK_CURSOR))?.state as
        { position: number; done: [number, number][] } | null | undefined;
      const covered = (p: number) =>
        !!state && (p <= state.position || state.done.some(([first, last]) => p >= first && p <= last));
      // What a crash right now would send again.
      worst = Math.max(worst, accepted.filter((p) => !covered(p)).length);
      await sleep(5);
    }

    expect(worst).toBeGreaterThan(0);
    expect(worst).toBeLessThanOrEqual(4);
  });

  it('when the trail no longer holds the event the cursor stopped at (a restore), then it is delivered again from the start', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    const events = [await record(store, 'elv-r'), await record(store, 'elv-r'), await record(store, 'elv-r')];
    const first = startSink(store, receiver.url);
    await waitFor(() => first.sink.status().position === 3, 10_000, 'position 3');
    await first.sink.stop();
    // As if the store were restored from a backup taken before events 4 and 5 existed.
    expect(await store.claimCursor(WEBHOOK_CURSOR, 'restorer', 60_000)).toBeDefined();
    const state = (await store.readCursor(WEBHOOK_CURSOR))!.state as Record<string, unknown>;
    await store.saveCursor(WEBHOOK_CURSOR, 'restorer', 60_000, {
      ...state,
      position: 5,
      hash: 'f'.repeat(64),
    });
    await store.releaseCursor(WEBHOOK_CURSOR, 'restorer');

    const second = startSink(store, receiver.url);
    const later = await record(store, 'elv-r');

    await waitFor(() => receiver.accepted.length === 7, 10_000, 'the trail again, and the new event');
    expect(receiver.acceptedIds()).toEqual([...events, ...events, later].map((e) => e.id));
    expect(second.lines).toContainEqual(
      expect.objectContaining({ level: 50, msg: expect.stringMatching(/restored/) as unknown }),
    );
  });
});

describe('startWebhookSink (worker wiring)', () => {
  it('counts deliveries in the process metrics', async () => {
    const { open } = await sqliteFile();
    const store = await open();
    const receiver = await Receiver.start();
    receiver.behaviour = (d) => (d.attempt === 1 ? { status: 502 } : { status: 200 });
    await record(store, 'elv-m');
    await record(store, 'elv-m');
    const metrics = createMetrics({ processMetrics: false });
    const sink = startWebhookSink({
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
    });
    sinks.push(sink);

    await waitFor(() => receiver.accepted.length === 2, 20_000, 'two deliveries');
    await waitFor(() => sink.status().position === 2, 5_000, 'position 2');

    const text = await metrics.registry.metrics();
    expect(text).toMatch(/elevate_webhook_deliveries_total\{outcome="delivered"\} 2/);
    expect(text).toMatch(/elevate_webhook_deliveries_total\{outcome="retried"\} 2/);
    expect(text).toMatch(/elevate_webhook_position 2/);
    expect(text).toMatch(/elevate_webhook_delivering 1/);
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
