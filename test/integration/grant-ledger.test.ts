/**
 * The grant ledger against real slapd and both real store engines: overlapping elevations of
 * one membership never cut each other short, whatever the interleaving, across two ledger
 * instances on one database (as two workers would be).
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrantLedger, LeaseReleasedError, type LedgerTarget } from '../../domain/grant-ledger.js';
import { createActivities } from '../../activities/index.js';
import { testLogger, testRequestDeps } from '../support/stack.js';
import { type GrantRequest } from '../../core/ports/activities.js';
import { openStores, type Stores } from '../../store/stores.js';
import { TargetRouter } from '../../integrations/target-router.js';
import { LdapTarget } from '../../integrations/ldap/ldap-target.js';
import { botDn, groupDn, seedLdif } from '../../dev/ldap-seed.js';
import { startSlapd, type SlapdServer } from '../../dev/slapd-server.js';
import { readMemberChanges } from '../../dev/slapd-access-log.js';
import { createDatabase, startPostgres, type PostgresServer } from '../../dev/postgres-server.js';

const SUFFIX = 'dc=ledger,dc=example';
const dir = mkdtempSync(path.join(tmpdir(), 'elevate-ledger-'));
let slapd: SlapdServer;
let target: TargetRouter;
let postgres: PostgresServer;

beforeAll(async () => {
  slapd = await startSlapd({
    dataDir: path.join(dir, 'ldap'),
    suffix: SUFFIX,
    rootPassword: 'ledger-root-secret',
    seedLdif: seedLdif(SUFFIX, {
      bots: ['bot-a', 'bot-b', 'bot-c', 'bot-d', 'bot-e', 'bot-f', 'bot-g', 'bot-h'],
      groups: ['ops', 'dba'],
    }),
    // Batch removals are shown to be one modify per group by slapd's own log.
    accessLog: true,
  });
  target = new TargetRouter({
    ldap: new LdapTarget({ url: slapd.url, bindDn: slapd.rootDn, bindPassword: slapd.rootPassword }),
  });
  postgres = await startPostgres();
});

afterAll(async () => {
  await target?.close();
  await slapd?.stop();
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Two store instances on one database: what two worker processes would have. */
const engines: { name: string; open: () => Promise<[Stores, Stores]> }[] = [
  {
    name: 'sqlite',
    open: () => {
      const file = path.join(dir, `${randomUUID()}.db`);
      return Promise.all([openStores({ sqlitePath: file }), openStores({ sqlitePath: file })]);
    },
  },
  {
    name: 'postgres',
    open: async () => {
      const url = await createDatabase(
        postgres.url,
        `ledger_${randomUUID().replaceAll('-', '').slice(0, 10)}`,
      );
      return [
        await openStores({ databaseUrl: url, sqlitePath: '' }),
        await openStores({ databaseUrl: url, sqlitePath: '' }),
      ];
    },
  },
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(engines)('grant ledger on $name', ({ open }) => {
  let stores: [Stores, Stores];
  let ledgers: [GrantLedger, GrantLedger];

  beforeAll(async () => {
    stores = await open();
    ledgers = [new GrantLedger(stores[0].leases, target), new GrantLedger(stores[1].leases, target)];
  });
  afterAll(async () => {
    for (const s of stores ?? []) await s.database.close();
  });

  const request = (bot: string, group: string): GrantRequest => ({
    elevationId: `el_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
    target: { type: 'ldap', groupDn: groupDn(SUFFIX, group) },
    principal: botDn(SUFFIX, bot),
  });

  it('when 4 workers churn overlapping elevations of one membership through two ledgers, then no holder ever finds its membership gone, and the last release removes it', async () => {
    const violations: string[] = [];
    const ref = { type: 'ldap' as const, groupDn: groupDn(SUFFIX, 'ops') };
    const principal = botDn(SUFFIX, 'bot-a');
    await Promise.all(
      // Few holders cycling fast: the holder count keeps dropping to zero just as another
      // grant lands, the moment a release without the lock would cut that grant short.
      Array.from({ length: 4 }, async (_, worker) => {
        const ledger = ledgers[worker % 2]!;
        for (let cycle = 0; cycle < 40; cycle += 1) {
          const req = { ...request('bot-a', 'ops') };
          await ledger.acquire(req);
          // While this elevation holds its lease, others come and go: the membership must stay.
          for (let check = 0; check < 2; check += 1) {
            if (!(await target.check(target.handleFor(ref, principal, ''))))
              violations.push(`${req.elevationId} lost access`);
            await sleep(Math.random() * 3);
          }
          await ledger.release(req);
        }
      }),
    );
    expect(violations).toEqual([]);
    expect(await stores[0].leases.holders(target.membershipKey(ref, principal, 'el_x'))).toEqual([]);
    expect(await target.check(target.handleFor(ref, principal, ''))).toBe(false);
  });

  it('when one of two overlapping elevations is released, then its receipt names the other and the membership stays', async () => {
    const first = request('bot-b', 'dba');
    const second = { ...request('bot-b', 'dba') };
    const a = await ledgers[0].acquire(first);
    const b = await ledgers[1].acquire(second);
    expect(a).toMatchObject({ alreadyPresent: false, sharedWith: [] });
    expect(b).toMatchObject({ alreadyPresent: true, sharedWith: [first.elevationId] });

    const r1 = await ledgers[0].release(first);
    expect(r1).toMatchObject({ removed: false, stillHeldBy: [second.elevationId] });
    expect(await target.check(target.handleFor(second.target, second.principal, ''))).toBe(true);

    const r2 = await ledgers[1].release(second);
    expect(r2).toMatchObject({ removed: true, stillHeldBy: [] });
    expect(await target.check(target.handleFor(second.target, second.principal, ''))).toBe(false);
  });

  it('when a grant arrives after its elevation was released (a late retry), then it is refused and grants nothing', async () => {
    const req = request('bot-c', 'ops');
    await ledgers[0].release(req);
    await expect(ledgers[1].acquire(req)).rejects.toBeInstanceOf(LeaseReleasedError);
    expect(await target.check(target.handleFor(req.target, req.principal, ''))).toBe(false);
  });

  it('when release and a late acquire of the same elevation race, then the bot ends without the membership', async () => {
    for (let round = 0; round < 10; round += 1) {
      const req = request('bot-d', 'dba');
      await ledgers[0].acquire(req);
      // A zombie retry of the grant races the revocation.
      const results = await Promise.allSettled([ledgers[0].release(req), ledgers[1].acquire(req)]);
      if (results[1].status === 'fulfilled') {
        // The acquire won the lock first; the release that followed removed the membership.
        expect(results[0].status).toBe('fulfilled');
      } else {
        expect(results[1].reason).toBeInstanceOf(LeaseReleasedError);
      }
      expect(await target.check(target.handleFor(req.target, req.principal, ''))).toBe(false);
    }
  });

  it('when a batch releases elevations of two groups, one still held by an overlapping elevation, then the rest go in one modify per group, each read back, and the held one stays', async () => {
    const since = Date.now();
    const held = request('bot-e', 'ops');
    const overlapping = request('bot-e', 'ops');
    const others = [request('bot-f', 'ops'), request('bot-g', 'ops'), request('bot-h', 'dba')];
    for (const req of [held, overlapping, ...others]) await ledgers[0].acquire(req);

    const receipts = await ledgers[1].releaseMany([held, ...others]);
    expect(receipts[0]).toMatchObject({ removed: false, stillHeldBy: [overlapping.elevationId] });
    for (const r of receipts.slice(1)) expect(r).toMatchObject({ removed: true, stillHeldBy: [] });
    const member = (req: GrantRequest) => target.check(target.handleFor(req.target, req.principal, ''));
    expect(await member(held)).toBe(true);
    for (const req of others) expect(await member(req)).toBe(false);

    const deletes = (
      await readMemberChanges(
        { url: slapd.url, bindDn: slapd.rootDn, bindPassword: slapd.rootPassword },
        { since },
      )
    ).filter((c) => c.kind === 'delete' && c.memberDn !== held.principal);
    const opsModifies = new Set(
      deletes.filter((c) => c.groupDn === groupDn(SUFFIX, 'ops')).map((c) => c.modify),
    );
    expect(deletes.map((c) => c.memberDn).sort()).toEqual(others.map((r) => r.principal).sort());
    expect(opsModifies.size).toBe(1);

    expect(await ledgers[0].release(overlapping)).toMatchObject({ removed: true });
    expect(await member(held)).toBe(false);
  });

  it('when one member of a batch is already gone from its group, then that group is done member by member and every removal is confirmed', async () => {
    const reqs = [request('bot-f', 'dba'), request('bot-g', 'dba'), request('bot-h', 'dba')];
    for (const req of reqs) await ledgers[0].acquire(req);
    // Removed behind the ledger's back: the group's one modify would fail as a whole.
    await target.revoke(target.handleFor(reqs[1]!.target, reqs[1]!.principal, ''));

    const receipts = await ledgers[0].releaseMany(reqs);
    for (const r of receipts) expect(r).toMatchObject({ removed: true });
    for (const req of reqs) {
      expect(await target.check(target.handleFor(req.target, req.principal, ''))).toBe(false);
    }
  });

  it('when batches and single releases churn overlapping elevations through two ledgers, then no holder ever finds its membership gone', async () => {
    const violations: string[] = [];
    const ref = { type: 'ldap' as const, groupDn: groupDn(SUFFIX, 'ops') };
    const principal = botDn(SUFFIX, 'bot-c');
    await Promise.all(
      Array.from({ length: 4 }, async (_, worker) => {
        const ledger = ledgers[worker % 2]!;
        for (let cycle = 0; cycle < 25; cycle += 1) {
          const req = request('bot-c', 'ops');
          // A second key in each batch, so batches lock several keys against single releases.
          const other = request('bot-d', worker % 2 === 0 ? 'ops' : 'dba');
          await ledger.acquire(req);
          await ledger.acquire(other);
          if (!(await target.check(target.handleFor(ref, principal, ''))))
            violations.push(`${req.elevationId} lost access`);
          await sleep(Math.random() * 3);
          if (worker < 2) {
            const answers = await ledger.releaseMany([req, other]);
            for (const a of answers) if (a instanceof Error) violations.push(a.message);
          } else {
            await ledger.release(req);
            await ledger.release(other);
          }
        }
      }),
    );
    expect(violations).toEqual([]);
    expect(await target.check(target.handleFor(ref, principal, ''))).toBe(false);
  });
});

describe('the grant handle through the grant and release activities', () => {
  let stores: Stores;
  beforeAll(async () => {
    stores = await openStores({ sqlitePath: path.join(dir, 'handles.db') });
  });
  afterAll(async () => {
    await stores?.database.close();
  });

  /** The activities over a ledger whose target counts how often it derives a handle. */
  const activitiesCountingDerivations = () => {
    const derived: string[] = [];
    const counting: LedgerTarget = {
      grant: (r, p, c) => target.grant(r, p, c),
      revoke: (h) => target.revoke(h),
      check: (h) => target.check(h),
      listMembers: (r) => target.listMembers(r),
      membershipKey: (r, p, e) => target.membershipKey(r, p, e),
      unreconciledReason: (r) => target.unreconciledReason(r),
      handleFor: (r, p, e) => {
        derived.push(e);
        return target.handleFor(r, p, e);
      },
    };
    const activities = createActivities({
      store: stores.auditLog,
      ...testRequestDeps(),
      ledger: new GrantLedger(stores.leases, counting),
      notifier: { announce: () => Promise.resolve([]), publish: () => Promise.resolve() },
      logger: testLogger(),
    });
    return { activities, derived };
  };

  const request = (bot: string): GrantRequest => ({
    elevationId: `el_${randomUUID().replaceAll('-', '').slice(0, 24)}`,
    target: { type: 'ldap', groupDn: groupDn(SUFFIX, 'ops') },
    principal: botDn(SUFFIX, bot),
    durationSeconds: 600,
  });

  it('when the grant is acquired, then its receipt carries the handle, and releasing with it revokes through it without deriving one', async () => {
    const { activities, derived } = activitiesCountingDerivations();
    const req = request('bot-c');
    const receipt = await activities.acquireGrant(req);
    expect(receipt.handle).toEqual({ type: 'ldap', groupDn: groupDn(SUFFIX, 'ops'), member: req.principal });
    // What the workflow keeps is the receipt as JSON, as its history stores it.
    const { handle } = JSON.parse(JSON.stringify(receipt)) as typeof receipt;
    expect(await target.check(handle!)).toBe(true);

    const released = await activities.releaseGrant({ ...req, handle });
    expect(released).toMatchObject({ removed: true, stillHeldBy: [] });
    expect(await target.check(handle!)).toBe(false);
    expect(derived).toEqual([]);
  });

  it('when a release comes in the shape recorded before handles (no handle), then the handle is derived from the request and the membership is revoked', async () => {
    const { activities, derived } = activitiesCountingDerivations();
    const req = request('bot-d');
    const receipt = await activities.acquireGrant(req);
    // A receipt of an elevation granted before handles existed, as an old history holds it.
    const { handle: _none, ...oldReceipt } = receipt;
    expect(oldReceipt).not.toHaveProperty('handle');
    expect(await target.check(receipt.handle!)).toBe(true);

    // The workflow built its release input from the request alone: elevation, target, principal, window.
    const oldInput = {
      elevationId: req.elevationId,
      target: req.target,
      principal: req.principal,
      durationSeconds: req.durationSeconds,
    };
    const released = await activities.releaseGrant(oldInput);
    expect(released).toMatchObject({ removed: true, stillHeldBy: [] });
    expect(derived).toEqual([req.elevationId]);
    expect(await target.check(target.handleFor(req.target, req.principal, req.elevationId))).toBe(false);
  });
});
