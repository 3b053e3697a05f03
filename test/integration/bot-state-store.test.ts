/**
 * The bot state contract (`store/bot-state.ts`), run against both engines on real databases: a
 * SQLite file and a throwaway PostgreSQL server. Concurrency is tested the way it happens in
 * production: separate store instances (separate processes, as far as the database can tell)
 * changing the same bot at once.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { BotState } from '../../store/bot-state.js';
import type { NewAuditEvent } from '../../core/model/audit-record.js';
import { openStores, type Stores } from '../../store/stores.js';
import { InvalidQueryError } from '../../store/errors.js';
import type { ElevationStatus, ElevationView } from '../../core/model/elevation.js';
import { postgresDatabases, sqliteFiles } from '../support/fresh-databases.js';

// ---------------------------------------------------------------------------------------------
// Engines under test

interface Engine {
  name: 'sqlite' | 'postgres';
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Opens store instances on one fresh database: `open()` again is another process. */
  fresh(): Promise<{ open: () => Promise<Stores> }>;
}

const cleanups: (() => Promise<unknown>)[] = [];
async function cleanUp(): Promise<void> {
  for (const close of cleanups.splice(0).reverse()) await close().catch(() => undefined);
}
function track(store: Stores): Stores {
  cleanups.push(() => store.database.close());
  return store;
}

function sqliteEngine(): Engine {
  const files = sqliteFiles('bot-state');
  return {
    name: 'sqlite',
    start: () => files.start(),
    stop: () => files.stop(),
    fresh() {
      const path = files.next();
      return Promise.resolve({ open: () => openStores({ sqlitePath: path }).then(track) });
    },
  };
}

function postgresEngine(): Engine {
  const databases = postgresDatabases('bot_state');
  return {
    name: 'postgres',
    start: () => databases.start(),
    stop: () => databases.stop(),
    async fresh() {
      const url = await databases.next();
      return { open: async () => track(await openStores({ databaseUrl: url, sqlitePath: '' })) };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Fixtures

const T1 = '2026-11-22T10:00:00.000Z';
const T2 = '2026-11-22T11:00:00.000Z';
const T3 = '2026-11-22T12:00:00.000Z';
const HASH_A = `sha256:${'a'.repeat(64)}`;
const HASH_B = `sha256:${'b'.repeat(64)}`;

let counter = 0;

/** An elevation summary row of `botId` in `status`, recorded through an event. */
async function seedElevation(store: Stores, botId: string, status: ElevationStatus): Promise<void> {
  counter += 1;
  const id = `el_${counter.toString(16).padStart(24, '0')}`;
  const view: ElevationView = {
    id,
    workflowId: `elevation-${id}`,
    status,
    botId,
    roleId: 'role-a',
    owner: 'owner@example.org',
    environment: 'prod',
    durationSeconds: 600,
    justification: 'deploy',
    requestedAt: T1,
    approval: { mode: 'auto' },
    approvals: [],
    revokeAttempts: 0,
  };
  const event: NewAuditEvent = {
    id: `evt-${counter}`,
    elevationId: id,
    type: 'elevation.requested',
    at: T1,
    actor: { kind: 'bot', id: botId },
    data: {},
    elevation: view,
  };
  await store.auditLog.append(event);
}

// ---------------------------------------------------------------------------------------------
// The contract, once per engine

describe.each([sqliteEngine(), postgresEngine()])('$name bot state store', (engine) => {
  beforeAll(() => engine.start());
  afterAll(() => engine.stop());
  afterEach(cleanUp);

  async function store(): Promise<Stores> {
    return (await engine.fresh()).open();
  }

  describe('reading', () => {
    it('when no admin ever changed a bot, then it has no state and the list is empty', async () => {
      const s = await store();

      expect(await s.botStates.getBotState('etl-bot')).toBeUndefined();
      expect(await s.botStates.findBotStateByKeyHash(HASH_A)).toBeUndefined();
      expect(await s.botStates.listBotStates()).toEqual([]);
    });

    it('when several bots were changed, then the list has each once, ordered by bot id', async () => {
      const s = await store();
      await s.botStates.updateBotState('zeta-bot', { disabled: { value: true, by: 'ops' } }, T1);
      await s.botStates.updateBotState('alpha-bot', { lock: { by: 'ops', reason: 'INC-1' } }, T1);
      await s.botStates.updateBotState('zeta-bot', { lock: { by: 'ops', reason: 'INC-2' } }, T2);

      const list = await s.botStates.listBotStates();

      expect(list.map((b) => b.botId)).toEqual(['alpha-bot', 'zeta-bot']);
      expect(list[1]).toEqual({
        botId: 'zeta-bot',
        locked: { at: T2, by: 'ops', reason: 'INC-2' },
        disabled: { value: true, at: T1, by: 'ops' },
        apiKey: null,
        updatedAt: T2,
      });
    });
  });

  describe('lock', () => {
    it('when a bot is locked, then the state says when, by whom and why, and before was nothing', async () => {
      const s = await store();

      const { before, after } = await s.botStates.updateBotState(
        'etl-bot',
        { lock: { by: 'secops', reason: 'INC-42' } },
        T1,
      );

      expect(before).toBeUndefined();
      const expected: BotState = {
        botId: 'etl-bot',
        locked: { at: T1, by: 'secops', reason: 'INC-42' },
        disabled: null,
        apiKey: null,
        updatedAt: T1,
      };
      expect(after).toEqual(expected);
      expect(await s.botStates.getBotState('etl-bot')).toEqual(expected);
    });

    it('when a locked bot is locked again, then the first lock is kept and before shows it', async () => {
      const s = await store();
      await s.botStates.updateBotState('etl-bot', { lock: { by: 'secops', reason: 'INC-42' } }, T1);

      const { before, after } = await s.botStates.updateBotState(
        'etl-bot',
        { lock: { by: 'other-admin', reason: 'again' } },
        T2,
      );

      expect(before?.locked).toEqual({ at: T1, by: 'secops', reason: 'INC-42' });
      expect(after.locked).toEqual({ at: T1, by: 'secops', reason: 'INC-42' });
      expect(after.updatedAt).toBe(T2);
    });

    it('when a bot is unlocked, then the lock is gone and the rest of its state stays', async () => {
      const s = await store();
      await s.botStates.updateBotState(
        'etl-bot',
        { lock: { by: 'secops', reason: 'INC-42' }, disabled: { value: true, by: 'secops' } },
        T1,
      );

      const { before, after } = await s.botStates.updateBotState('etl-bot', { lock: null }, T2);

      expect(before?.locked?.reason).toBe('INC-42');
      expect(after).toEqual({
        botId: 'etl-bot',
        locked: null,
        disabled: { value: true, at: T1, by: 'secops' },
        apiKey: null,
        updatedAt: T2,
      });
      expect(await s.botStates.getBotState('etl-bot')).toEqual(after);
    });
  });

  describe('disabled override', () => {
    it('when set, changed and cleared, then each read shows the latest, keeping the time of an unchanged value', async () => {
      const s = await store();

      await s.botStates.updateBotState('etl-bot', { disabled: { value: true, by: 'ann' } }, T1);
      const same = await s.botStates.updateBotState('etl-bot', { disabled: { value: true, by: 'bob' } }, T2);
      expect(same.after.disabled).toEqual({ value: true, at: T1, by: 'ann' });

      const changed = await s.botStates.updateBotState(
        'etl-bot',
        { disabled: { value: false, by: 'bob' } },
        T2,
      );
      expect(changed.after.disabled).toEqual({ value: false, at: T2, by: 'bob' });
      expect((await s.botStates.getBotState('etl-bot'))?.disabled).toEqual({
        value: false,
        at: T2,
        by: 'bob',
      });

      const cleared = await s.botStates.updateBotState('etl-bot', { disabled: null }, T3);
      expect(cleared.after.disabled).toBeNull();
      expect(await s.botStates.getBotState('etl-bot')).toMatchObject({ disabled: null, updatedAt: T3 });
    });
  });

  describe('rotated key', () => {
    it('when a key is rotated, then the state is found by its hash and by no other', async () => {
      const s = await store();

      const { after } = await s.botStates.updateBotState(
        'etl-bot',
        { apiKey: { hash: HASH_A, by: 'secops' } },
        T1,
      );

      expect(after.apiKey).toEqual({ hash: HASH_A, rotatedAt: T1, rotatedBy: 'secops' });
      expect((await s.botStates.findBotStateByKeyHash(HASH_A))?.botId).toBe('etl-bot');
      expect(await s.botStates.findBotStateByKeyHash(HASH_B)).toBeUndefined();
    });

    it('when a key is rotated twice, then only the newest hash finds the bot', async () => {
      const s = await store();
      await s.botStates.updateBotState('etl-bot', { apiKey: { hash: HASH_A, by: 'secops' } }, T1);

      await s.botStates.updateBotState('etl-bot', { apiKey: { hash: HASH_B, by: 'secops' } }, T2);

      expect(await s.botStates.findBotStateByKeyHash(HASH_A)).toBeUndefined();
      expect(await s.botStates.findBotStateByKeyHash(HASH_B)).toMatchObject({
        botId: 'etl-bot',
        apiKey: { hash: HASH_B, rotatedAt: T2 },
      });
    });

    it('when two bots would get the same key hash, then the second change fails and changes nothing', async () => {
      const s = await store();
      await s.botStates.updateBotState('etl-bot', { apiKey: { hash: HASH_A, by: 'secops' } }, T1);

      await expect(
        s.botStates.updateBotState('ci-bot', { apiKey: { hash: HASH_A, by: 'secops' } }, T2),
      ).rejects.toThrow(/unique|UNIQUE/);

      expect(await s.botStates.getBotState('ci-bot')).toBeUndefined();
      expect((await s.botStates.findBotStateByKeyHash(HASH_A))?.botId).toBe('etl-bot');
    });
  });

  describe('bad input', () => {
    it.each([
      ['an empty bot id', '', {}, T1, 'botId'],
      ['a malformed key hash', 'etl-bot', { apiKey: { hash: 'sha256:XYZ', by: 'ops' } }, T1, 'apiKey'],
      ['an instant that is not one', 'etl-bot', { lock: { by: 'ops', reason: 'x' } }, 'yesterday', 'at'],
    ] as const)('when given %s, then InvalidQueryError names %s and nothing is stored', async (...args) => {
      const [, botId, change, at, field] = args;
      const s = await store();

      const error: unknown = await s.botStates.updateBotState(botId, change, at).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(InvalidQueryError);
      expect(error).toMatchObject({ field });
      expect(await s.botStates.listBotStates()).toEqual([]);
    });
  });

  describe('concurrency', () => {
    it('when two instances change different fields of one bot at once, then neither change is lost, in each of 20 rounds', async () => {
      const fresh = await engine.fresh();
      const [a, b] = [await fresh.open(), await fresh.open()];
      for (let round = 0; round < 20; round += 1) {
        const bot = `bot-${round}`;

        await Promise.all([
          a.botStates.updateBotState(bot, { lock: { by: 'ann', reason: `round ${round}` } }, T1),
          b.botStates.updateBotState(bot, { disabled: { value: true, by: 'bob' } }, T1),
        ]);

        expect(await a.botStates.getBotState(bot)).toMatchObject({
          locked: { by: 'ann', reason: `round ${round}` },
          disabled: { value: true, by: 'bob' },
        });
      }
    });

    it('when two instances lock one bot at once, then exactly one sees no lock before, in each of 20 rounds', async () => {
      const fresh = await engine.fresh();
      const [a, b] = [await fresh.open(), await fresh.open()];
      for (let round = 0; round < 20; round += 1) {
        const bot = `bot-${round}`;

        const results = await Promise.all([
          a.botStates.updateBotState(bot, { lock: { by: 'ann', reason: 'first?' } }, T1),
          b.botStates.updateBotState(bot, { lock: { by: 'bob', reason: 'first?' } }, T1),
        ]);

        expect(results.filter((r) => r.before?.locked == null)).toHaveLength(1);
        const [x, y] = results.map((r) => r.after.locked);
        expect(x).toEqual(y);
      }
    });
  });

  describe('open elevation counts', () => {
    it('when bots have elevations in various statuses, then only those not ended are counted, per bot and status', async () => {
      const s = await store();
      for (const status of ['active', 'active', 'pending_approval', 'revoked', 'denied'] as const) {
        await seedElevation(s, 'etl-bot', status);
      }
      for (const status of ['revoking', 'approved', 'expired', 'failed'] as const) {
        await seedElevation(s, 'ci-bot', status);
      }
      await seedElevation(s, 'idle-bot', 'revoked');

      expect(await s.elevations.openElevationCounts()).toEqual({
        'etl-bot': { active: 2, pending_approval: 1 },
        'ci-bot': { revoking: 1, approved: 1 },
      });
      expect(await s.elevations.openElevationCounts('ci-bot')).toEqual({
        'ci-bot': { revoking: 1, approved: 1 },
      });
      expect(await s.elevations.openElevationCounts('idle-bot')).toEqual({});
    });
  });

  describe('schema', () => {
    it('when the store is reopened, then the bot states survive', async () => {
      const fresh = await engine.fresh();
      const first = await fresh.open();
      const { after } = await first.botStates.updateBotState(
        'etl-bot',
        { lock: { by: 'secops', reason: 'INC-42' }, apiKey: { hash: HASH_A, by: 'secops' } },
        T1,
      );
      await first.database.close();

      const reopened = await fresh.open();

      expect(await reopened.botStates.getBotState('etl-bot')).toEqual(after);
    });
  });
});
