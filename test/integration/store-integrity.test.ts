/**
 * The stores against someone who can write its database but holds no key (review M5), on
 * both engines: signed checkpoints expose a rewritten chain at the exact row, a forged or
 * deleted checkpoint is reported, and forged single-use records and bot state are refused.
 * Every attack is done as an intruder would: with SQL behind the store's back.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Client } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { hashSecret } from '../../core/crypto/credentials.js';
import { newDecisionKeyPair, parseSigningKey } from '../../core/crypto/decision-keys.js';
import { DecisionSigner } from '../../domain/decision-signer.js';
import { createDomainServices } from '../../domain/domain-services.js';
import type { AuditEvent } from '../../core/model/audit-record.js';
import { z } from 'zod';
import { openStores, type Stores } from '../../store/stores.js';
import {
  signCheckpoint,
  storeIntegrity,
  type StoreIntegrity,
  type TamperReport,
} from '../../core/crypto/audit-checkpoints.js';
import { hashEvent } from '../../core/crypto/hash-chain.js';
import { QUARANTINE_REASON } from '../../store/row-mac.js';
import { rowToEvent } from '../../store/audit-log.js';
import type { AuditEventsTable } from '../../store/schema.js';
import { createMetrics } from '../../integrations/metrics/prometheus.js';
import { createApp } from '../../server/app.js';
import { approvalRoutes } from '../../server/approvals.js';
import { tokenDigest } from '../../server/browser-login.js';
import {
  FORGET_MIGRATIONS,
  postgresRaw,
  sqliteRaw,
  SQLITE_UNDO_CHECKPOINTS,
  type RawDb,
} from '../support/raw-db.js';
import { postgresDatabases, sqliteFiles } from '../support/fresh-databases.js';
import { buildPolicy, testDecisionKey, testLogger } from '../support/stack.js';

// ---------------------------------------------------------------------------------------------
// Engines under test

interface Subject {
  raw: RawDb;
  /** Opens a store on the database (another process, as far as the database can tell). */
  open: (integrity?: StoreIntegrity) => Promise<Stores>;
  /**
   * Makes the database one an Elevate before checkpoints and MACs wrote (rows keep what they
   * hold), so the next open adopts it.
   */
  undoCheckpointMigration: () => Promise<void>;
}

interface Engine {
  name: 'sqlite' | 'postgres';
  start(): Promise<void>;
  stop(): Promise<void>;
  fresh(): Promise<Subject>;
}

const cleanups: (() => Promise<unknown>)[] = [];
function track(stores: Stores): Stores {
  cleanups.push(() => stores.database.close());
  return stores;
}

/** The `approval-confirm` single-use records, read as anything: what the tests forge. */
const confirms = (stores: Stores) => stores.singleUse.namespace('approval-confirm', z.unknown());

function sqliteEngine(): Engine {
  const files = sqliteFiles('integrity');
  return {
    name: 'sqlite',
    start: () => files.start(),
    stop: () => files.stop(),
    fresh() {
      const path = files.next();
      const db = new Database(path);
      cleanups.push(() => Promise.resolve(db.close()));
      const raw = sqliteRaw(db);
      return Promise.resolve({
        raw,
        open: async (integrity) =>
          track(await openStores({ sqlitePath: path, ...(integrity ? { integrity } : {}) })),
        undoCheckpointMigration: () => {
          db.exec(`${SQLITE_UNDO_CHECKPOINTS} ${FORGET_MIGRATIONS}`);
          return Promise.resolve();
        },
      });
    },
  };
}

function postgresEngine(): Engine {
  const databases = postgresDatabases('integrity');
  return {
    name: 'postgres',
    start: () => databases.start(),
    stop: () => databases.stop(),
    async fresh() {
      const url = await databases.next();
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      cleanups.push(() => client.end());
      const raw = postgresRaw(client);
      return {
        raw,
        open: async (integrity) =>
          track(await openStores({ databaseUrl: url, sqlitePath: '', ...(integrity ? { integrity } : {}) })),
        undoCheckpointMigration: async () => {
          await raw.query('DROP TABLE audit_checkpoints');
          await raw.query('ALTER TABLE ephemeral DROP COLUMN mac');
          await raw.query('ALTER TABLE bot_state DROP COLUMN mac');
          await raw.query(FORGET_MIGRATIONS);
        },
      };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const checkpointKey = parseSigningKey(newDecisionKeyPair().privatePem);
/** The intruder's own key: a valid Ed25519 key, but not one Elevate trusts. */
const intruderKey = parseSigningKey(newDecisionKeyPair().privatePem);

/** Tamper reports of the store opened with {@link keyed}. */
let reports: TamperReport[] = [];

/** The integrity settings of a process holding the checkpoint key: a checkpoint every 3 events. */
function keyed(): StoreIntegrity {
  return storeIntegrity({
    signingKey: checkpointKey,
    every: 3,
    intervalSeconds: 86_400,
    onTamper: (r) => reports.push(r),
  });
}

let counter = 0;
async function appendMany(store: Stores, count: number): Promise<AuditEvent[]> {
  const stored: AuditEvent[] = [];
  for (let i = 0; i < count; i += 1) {
    counter += 1;
    stored.push(
      await store.auditLog.append({
        id: `evt-${counter}`,
        elevationId: i % 2 === 0 ? 'elv-a' : 'elv-b',
        type: 'elevation.requested',
        at: '2026-11-22T10:00:00.000Z',
        actor: { kind: 'bot', id: 'bot-1' },
        data: { n: counter },
      }),
    );
  }
  return stored;
}

/**
 * The attack of review M5: rewrite the event at `position`, then recompute its hash, every later
 * event's link and hash, and the head record, so the chain is consistent again.
 */
async function rewriteAndRehash(raw: RawDb, position: number): Promise<void> {
  const rows = await raw.query<AuditEventsTable>(
    'SELECT * FROM audit_events WHERE position >= ? ORDER BY position',
    [position],
  );
  let prevHash: string | undefined;
  for (const row of rows) {
    const event = rowToEvent(row);
    const data = event.position === position ? { forged: true } : event.data;
    const rewritten = { ...event, data, prevHash: prevHash ?? event.prevHash };
    const hash = hashEvent(rewritten);
    await raw.query('UPDATE audit_events SET data = ?, prev_hash = ?, hash = ? WHERE position = ?', [
      JSON.stringify(data),
      rewritten.prevHash,
      hash,
      event.position,
    ]);
    prevHash = hash;
    await raw.query('UPDATE audit_chain_head SET position = ?, hash = ?', [event.position, hash]);
  }
}

const inAnHour = () => new Date(Date.now() + 3_600_000);

// ---------------------------------------------------------------------------------------------

describe.each([sqliteEngine(), postgresEngine()])('$name store integrity', (engine) => {
  beforeAll(() => engine.start(), 120_000);
  afterAll(() => engine.stop());
  afterEach(async () => {
    reports = [];
    for (const close of cleanups.splice(0).reverse()) await close().catch(() => undefined);
  });

  describe('signed checkpoints', () => {
    it('when events are appended with the checkpoint key, then a checkpoint is signed at once and every 3 events after, and verify reports the chain anchored', async () => {
      const { open } = await engine.fresh();
      const store = await open(keyed());
      const stored = await appendMany(store, 7);

      const result = await store.auditLog.verify();

      expect(result).toMatchObject({
        ok: true,
        checked: 7,
        anchoring: {
          status: 'anchored',
          checkpoints: 3,
          through: { position: 7, hash: stored[6]!.hash, kid: checkpointKey.kid },
          unanchored: 0,
        },
      });
      expect(await store.auditLog.latestCheckpoint()).toMatchObject({ position: 7, prev: 4, first: 5 });
    });

    it('when an event is rewritten and every later hash and the head are recomputed, then verify fails at exactly that row', async () => {
      const { open, raw } = await engine.fresh();
      const store = await open(keyed());
      const stored = await appendMany(store, 8);
      // Without checkpoints the attack goes unnoticed: a process without the key sees a clean chain.
      const unkeyed = await open();

      await rewriteAndRehash(raw, 5);

      expect(await unkeyed.auditLog.verify()).toMatchObject({
        ok: true,
        anchoring: { status: 'not_anchored' },
      });
      expect((await store.auditLog.verify()).firstBroken).toEqual({
        position: 5,
        eventId: stored[4]!.id,
        elevationId: 'elv-a',
        reason: 'checkpoint_mismatch',
      });
    });

    it('when the rewritten event lies before the first checkpoint, then verify still names it', async () => {
      const { open, raw } = await engine.fresh();
      const store = await open(keyed());
      const stored = await appendMany(store, 4);

      await rewriteAndRehash(raw, 2);

      expect(await store.auditLog.verify()).toMatchObject({
        ok: false,
        firstBroken: { position: 2, eventId: stored[1]!.id, reason: 'checkpoint_mismatch' },
      });
    });

    it("when the chain is rewritten and its checkpoint re-signed with the intruder's own key, then verify reports the checkpoint invalid", async () => {
      const { open, raw } = await engine.fresh();
      const store = await open(keyed());
      await appendMany(store, 6);
      await rewriteAndRehash(raw, 2);
      const rows = await raw.query<AuditEventsTable>(
        'SELECT * FROM audit_events WHERE position BETWEEN 2 AND 4 ORDER BY position',
      );
      const hashes = rows.map((r) => r.hash);
      const forged = signCheckpoint(intruderKey, { position: 4, prev: 1, first: 2, hashes, at: new Date() });
      await raw.query(
        'UPDATE audit_checkpoints SET hash = ?, kid = ?, segment = ?, hashes = ?, signature = ? WHERE position = 4',
        [forged.hash, forged.kid, forged.segment, hashes.join(''), forged.signature],
      );

      expect(await store.auditLog.verify()).toMatchObject({
        ok: false,
        firstBroken: { position: 4, reason: 'checkpoint_invalid' },
      });
    });

    it('when only a checkpoint signature is forged, then verify reports checkpoint_invalid at it', async () => {
      const { open, raw } = await engine.fresh();
      const store = await open(keyed());
      await appendMany(store, 6);
      const [row] = await raw.query<{ signature: string }>(
        'SELECT signature FROM audit_checkpoints WHERE position = 4',
      );
      const bad = Buffer.from(row!.signature, 'base64url');
      bad[0] = bad[0]! ^ 1;
      await raw.query('UPDATE audit_checkpoints SET signature = ? WHERE position = 4', [
        bad.toString('base64url'),
      ]);

      expect(await store.auditLog.verify()).toMatchObject({
        ok: false,
        firstBroken: { position: 4, reason: 'checkpoint_invalid' },
      });
    });

    it('when a checkpoint in the middle is deleted, then verify reports it missing', async () => {
      const { open, raw } = await engine.fresh();
      const store = await open(keyed());
      await appendMany(store, 9);
      await raw.query('DELETE FROM audit_checkpoints WHERE position = 4');

      expect(await store.auditLog.verify()).toMatchObject({
        ok: false,
        firstBroken: { position: 4, reason: 'checkpoint_missing' },
      });
    });

    it('when the newest checkpoint is deleted, then verify reports it missing at the tail', async () => {
      const { open, raw } = await engine.fresh();
      const store = await open(keyed());
      await appendMany(store, 7);
      await raw.query('DELETE FROM audit_checkpoints WHERE position = 7');

      expect(await store.auditLog.verify()).toMatchObject({
        ok: false,
        firstBroken: { position: 7, reason: 'checkpoint_missing' },
      });
    });

    it('when checkpoints are deleted and the chain rewritten before the next append, then the next checkpoint names the deleted one', async () => {
      const { open, raw } = await engine.fresh();
      const store = await open(keyed());
      await appendMany(store, 6);
      await raw.query('DELETE FROM audit_checkpoints WHERE position = 4');
      await rewriteAndRehash(raw, 3);
      // The appending process re-signs the (rewritten) head: it must not paper over the hole.
      await appendMany(store, 3);

      expect(await store.auditLog.verify()).toMatchObject({
        ok: false,
        firstBroken: { position: 4, reason: 'checkpoint_missing' },
      });
    });

    it('when two processes with the key append at once, then checkpoints never collide and the chain verifies anchored', async () => {
      const { open } = await engine.fresh();
      const [a, b] = [await open(keyed()), await open(keyed())];

      await Promise.all([appendMany(a, 30), appendMany(b, 30)]);

      const result = await a.auditLog.verify();
      expect(result).toMatchObject({ ok: true, checked: 60, anchoring: { status: 'anchored' } });
      expect(result.anchoring!.unanchored).toBeLessThan(3);
    });

    it('when no checkpoint key is configured, then verify says the chain is not anchored', async () => {
      const { open } = await engine.fresh();
      const store = await open();
      await appendMany(store, 4);

      expect(await store.auditLog.verify()).toMatchObject({
        ok: true,
        anchoring: { status: 'not_anchored', reason: 'no_key', checkpoints: 0, unanchored: 4 },
      });
    });
  });

  describe('single-use records', () => {
    it('when a record is inserted with SQL, then peek and take refuse it and the tampering is reported', async () => {
      const { open, raw } = await engine.fresh();
      const store = await open(keyed());
      const expires = engine.name === 'sqlite' ? inAnHour().getTime() : inAnHour();
      const forged = JSON.stringify({ elevationId: 'el_x', approver: 'mallory@example.org' });
      await raw.query('INSERT INTO ephemeral (key, value, expires_at) VALUES (?, ?, ?)', [
        'approval-confirm:forged',
        forged,
        expires,
      ]);
      await raw.query('INSERT INTO ephemeral (key, value, expires_at, mac) VALUES (?, ?, ?, ?)', [
        'approval-confirm:forged2',
        forged,
        expires,
        'a'.repeat(64),
      ]);

      expect(await confirms(store).peek('forged')).toBeUndefined();
      expect(await confirms(store).take('forged2')).toBeUndefined();
      expect(await confirms(store).replace('forged', { x: 1 }, inAnHour())).toBe(false);
      expect(reports).toContainEqual({ table: 'ephemeral', subject: 'approval-confirm', reason: 'missing' });
      expect(reports).toContainEqual({ table: 'ephemeral', subject: 'approval-confirm', reason: 'bad_mac' });
    });

    it('when a genuine record is copied under another key or its expiry is extended, then it is refused', async () => {
      const { open, raw } = await engine.fresh();
      const store = await open(keyed());
      await confirms(store).put('mine', { n: 1 }, inAnHour());
      await confirms(store).put('long', { n: 2 }, inAnHour());
      const [row] = await raw.query<{ value: string; expires_at: unknown; mac: string }>(
        "SELECT value, expires_at, mac FROM ephemeral WHERE key = 'approval-confirm:mine'",
      );
      await raw.query('INSERT INTO ephemeral (key, value, expires_at, mac) VALUES (?, ?, ?, ?)', [
        'approval-confirm:theirs',
        row!.value,
        row!.expires_at,
        row!.mac,
      ]);
      const later = engine.name === 'sqlite' ? Date.now() + 7_200_000 : new Date(Date.now() + 7_200_000);
      await raw.query("UPDATE ephemeral SET expires_at = ? WHERE key = 'approval-confirm:long'", [later]);

      expect(await confirms(store).peek('mine')).toEqual({ n: 1 });
      expect(await confirms(store).peek('theirs')).toBeUndefined();
      expect(await confirms(store).peek('long')).toBeUndefined();
      // The genuine record is still good, and taken once.
      expect(await confirms(store).replace('mine', { n: 3 }, inAnHour())).toBe(true);
      expect(await confirms(store).take('mine')).toEqual({ n: 3 });
    });
  });

  describe('bot state', () => {
    const ATTACKER_HASH = `sha256:${'e'.repeat(64)}`;
    const GOOD_HASH = `sha256:${'a'.repeat(64)}`;

    it("when a rotated key's hash is replaced with SQL, then the row is quarantined: the key is refused and the bot locked", async () => {
      const { open, raw } = await engine.fresh();
      const store = await open(keyed());
      await store.botStates.updateBotState(
        'bot-1',
        { apiKey: { hash: GOOD_HASH, by: 'admin' } },
        '2026-11-22T10:00:00.000Z',
      );
      expect((await store.botStates.findBotStateByKeyHash(GOOD_HASH))?.apiKey?.hash).toBe(GOOD_HASH);

      await raw.query("UPDATE bot_state SET api_key_hash = ? WHERE bot_id = 'bot-1'", [ATTACKER_HASH]);

      const found = await store.botStates.findBotStateByKeyHash(ATTACKER_HASH);
      expect(found?.apiKey?.hash).not.toBe(ATTACKER_HASH);
      expect(found?.locked?.reason).toBe(QUARANTINE_REASON);
      expect(reports).toContainEqual({ table: 'bot_state', subject: 'bot-1', reason: 'bad_mac' });

      // An admin's unlock and rotation rewrite the row with a good MAC.
      await store.botStates.updateBotState(
        'bot-1',
        { lock: null, apiKey: { hash: GOOD_HASH, by: 'admin' } },
        '2026-11-22T11:00:00.000Z',
      );
      expect(await store.botStates.getBotState('bot-1')).toMatchObject({
        locked: null,
        apiKey: { hash: GOOD_HASH },
      });
    });

    it('when a lockdown is removed with SQL, then the bot stays locked', async () => {
      const { open, raw } = await engine.fresh();
      const store = await open(keyed());
      await store.botStates.updateBotState(
        'bot-1',
        { lock: { by: 'admin', reason: 'leaked' } },
        '2026-11-22T10:00:00.000Z',
      );

      await raw.query(
        "UPDATE bot_state SET locked_at = NULL, locked_by = NULL, lock_reason = NULL WHERE bot_id = 'bot-1'",
      );

      expect((await store.botStates.getBotState('bot-1'))?.locked).toMatchObject({ by: 'elevate' });
      expect((await store.botStates.listBotStates())[0]?.locked).not.toBeNull();
    });

    it('when the checkpoint key is rotated with the old one kept as previous, then old checkpoints and bot state still hold, and the state is resealed under the new key', async () => {
      const { open, raw } = await engine.fresh();
      const before = await open(keyed());
      await appendMany(before, 3);
      await before.botStates.updateBotState(
        'bot-1',
        { apiKey: { hash: GOOD_HASH, by: 'admin' } },
        '2026-11-22T10:00:00.000Z',
      );
      const [old] = await raw.query<{ mac: string }>("SELECT mac FROM bot_state WHERE bot_id = 'bot-1'");
      await before.database.close();
      const newKey = parseSigningKey(newDecisionKeyPair().privatePem);
      const rotating = storeIntegrity({
        signingKey: newKey,
        previousKeys: [checkpointKey],
        every: 3,
        intervalSeconds: 86_400,
        onTamper: (r) => reports.push(r),
      });

      const after = await open(rotating);
      await appendMany(after, 3);

      expect((await after.botStates.getBotState('bot-1'))?.apiKey?.hash).toBe(GOOD_HASH);
      expect(await after.auditLog.verify()).toMatchObject({
        ok: true,
        anchoring: { checkpoints: 2, through: { kid: newKey.kid } },
      });
      expect(reports).toEqual([]);
      // Resealed under the new key (in the background on PostgreSQL): the old key can then go.
      for (let i = 0; i < 50; i += 1) {
        const [row] = await raw.query<{ mac: string }>("SELECT mac FROM bot_state WHERE bot_id = 'bot-1'");
        if (row!.mac !== old!.mac) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await after.database.close();
      const rotated = await open(storeIntegrity({ signingKey: newKey, onTamper: (r) => reports.push(r) }));
      expect((await rotated.botStates.getBotState('bot-1'))?.apiKey?.hash).toBe(GOOD_HASH);
      expect(reports).toEqual([]);
    });

    it('when rows written before the upgrade have no MAC, then the upgrading process seals them once', async () => {
      const { open, raw, undoCheckpointMigration } = await engine.fresh();
      const old = await open();
      await old.botStates.updateBotState(
        'bot-1',
        { apiKey: { hash: GOOD_HASH, by: 'admin' } },
        '2026-11-22T10:00:00.000Z',
      );
      await old.database.close();
      await undoCheckpointMigration();

      const upgraded = await open(keyed());

      expect((await upgraded.botStates.findBotStateByKeyHash(GOOD_HASH))?.apiKey?.hash).toBe(GOOD_HASH);
      expect(reports).toEqual([]);
      // Later, a MAC cleared with SQL is tampering, not an old row.
      await raw.query("UPDATE bot_state SET mac = NULL WHERE bot_id = 'bot-1'");
      expect((await upgraded.botStates.findBotStateByKeyHash(GOOD_HASH))?.apiKey?.hash).not.toBe(GOOD_HASH);
      expect(reports).toContainEqual({ table: 'bot_state', subject: 'bot-1', reason: 'missing' });
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Through the service and the approval pages (SQLite is enough: the store is what is tested above)

describe('forged rows as the server meets them', () => {
  const files = sqliteFiles('integrity-http');
  beforeAll(() => files.start());
  afterAll(() => files.stop());
  afterEach(async () => {
    reports = [];
    for (const close of cleanups.splice(0).reverse()) await close().catch(() => undefined);
  });

  /** The approval pages and the service on a store, as `elevate api` composes them. */
  async function serve(store: Stores) {
    const logger = testLogger();
    const { policy, keys } = buildPolicy([{ id: 'bot-1', roles: ['role-1'] }], [{ id: 'role-1' }]);
    const services = createDomainServices({
      policy,
      // The refusals tested here never reach Temporal: the client never connects.
      temporal: new Client(),
      signer: new DecisionSigner(testDecisionKey()),
      taskQueue: 'unused',
      ...store,
      timing: { grantTimeoutSeconds: 10, revokeRetryMaxSeconds: 1 },
      logger,
    });
    const app = createApp({
      services,
      healthChecks: {},
      logger,
      metrics: createMetrics({ processMetrics: false }),
      routers: [
        approvalRoutes({
          ...services,
          stepUp: () => Promise.reject(new Error('no identity provider in this test')),
          singleUse: store.singleUse,
          publicUrl: 'http://127.0.0.1',
          slackBound: false,
          logger,
        }),
      ],
    });
    const server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    return { services, keys, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  }

  /** Inserts a confirmation for token `t` with SQL, bound to browser cookie `browser`. */
  function forgeConfirmation(path: string, t: string, browser: string): void {
    const db = new Database(path);
    db.prepare('INSERT INTO ephemeral (key, value, expires_at) VALUES (?, ?, ?)').run(
      `approval-confirm:${tokenDigest(t)}`,
      JSON.stringify({
        elevationId: 'el_000000000000000000000001',
        approver: 'mallory@example.org',
        login: { email: 'mallory@example.org' },
        evidence: {},
        browser,
        authTime: new Date().toISOString(),
      }),
      Date.now() + 300_000,
    );
    db.close();
  }

  async function confirm(base: string, t: string, browser: string): Promise<string> {
    const res = await fetch(`${base}/approvals/confirm`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `elevate_approval=${browser}` },
      body: new URLSearchParams({ confirmation: t }).toString(),
    });
    return `${res.status} ${await res.text()}`;
  }

  it('when a confirmation row is inserted with SQL and posted with a matching cookie, then the confirm step refuses it as unknown', async () => {
    const path = files.next();
    const t = 'forged-confirmation-token-0123456789';
    const browser = 'forged-browser-cookie-0123456789';
    // Without the key (before the fix) the forged row gets past the confirm step's lookup.
    const unkeyed = track(await openStores({ sqlitePath: path }));
    forgeConfirmation(path, t, browser);
    const before = await confirm((await serve(unkeyed)).base, t, browser);
    expect(before).not.toMatch(/This confirmation is unknown/);
    await unkeyed.database.close();

    const store = track(await openStores({ sqlitePath: path, integrity: keyed() }));
    const t2 = `${t}-again`;
    forgeConfirmation(path, t2, browser);
    const after = await confirm((await serve(store)).base, t2, browser);

    expect(after).toMatch(/^400 /);
    expect(after).toMatch(/This confirmation is unknown/);
    expect(reports).toContainEqual({ table: 'ephemeral', subject: 'approval-confirm', reason: 'missing' });
  });

  it("when a bot's rotated key hash is replaced with SQL, then neither the intruder's key nor the bot's policy key logs in", async () => {
    const path = files.next();
    const store = track(await openStores({ sqlitePath: path, integrity: keyed() }));
    const { services, keys } = await serve(store);
    const intruderSecret = 'intruder-chosen-api-key-0123456789abcdef';
    await store.botStates.updateBotState(
      'bot-1',
      { apiKey: { hash: hashSecret('rotated-key-0123456789abcdef0123456789'), by: 'admin' } },
      new Date().toISOString(),
    );
    const db = new Database(path);
    db.prepare("UPDATE bot_state SET api_key_hash = ? WHERE bot_id = 'bot-1'").run(
      hashSecret(intruderSecret),
    );
    db.close();

    expect(await services.auth.authenticateBotKey(intruderSecret)).toBeUndefined();
    expect(await services.auth.authenticateBotKey(keys['bot-1']!)).toBeUndefined();
    expect(reports).toContainEqual({ table: 'bot_state', subject: 'bot-1', reason: 'bad_mac' });
  });
});
