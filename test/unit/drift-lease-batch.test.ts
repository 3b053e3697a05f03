/**
 * Drift detection over many members (`reconcileRole`): the members held leases explain are found
 * by asking the lease store about the whole list, not one question per member, and each key is
 * made once a run; the per-member lock and re-check stay for the rest, so a grant whose lease is
 * recorded after that question is still not drift. Real activity, ledger, lease store (SQLite in
 * memory) and LDAP key function; the group's members are kept in memory instead of a server.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createActivities, type ActivityDeps } from '../../activities/index.js';
import type { LdapGrantHandle, LdapTargetRef } from '../../core/model/targets.js';
import type { ReconcileRole } from '../../core/model/reconcile.js';
import { GrantLedger } from '../../domain/grant-ledger.js';
import { LdapTarget } from '../../integrations/ldap/ldap-target.js';
import { TargetRouter } from '../../integrations/target-router.js';
import { GrantLeases } from '../../store/grant-leases.js';
import { openStores, type Stores } from '../../store/stores.js';
import { testLogger } from '../support/stack.js';

const SUFFIX = 'dc=drift,dc=example';
const ref: LdapTargetRef = { type: 'ldap', groupDn: `cn=fleet,ou=groups,${SUFFIX}` };
const dn = (id: string) => `uid=${id},ou=bots,${SUFFIX}`;

/** The LDAP target (its keys and handles) with the group's members in memory; counts the keys made. */
class InMemoryLdapTarget extends LdapTarget {
  readonly members = new Set<string>();
  readonly keyed: string[] = [];

  override membershipKey(r: LdapTargetRef, principal: string): string {
    this.keyed.push(principal);
    return super.membershipKey(r, principal);
  }

  override listMembers(): Promise<string[]> {
    return Promise.resolve([...this.members]);
  }

  override check(handle: LdapGrantHandle): Promise<boolean> {
    return Promise.resolve(this.members.has(handle.member));
  }

  override revoke(handle: LdapGrantHandle): Promise<{ changed: boolean }> {
    return Promise.resolve({ changed: this.members.delete(handle.member) });
  }
}

/** The real lease store, recording the keys asked about one at a time and after each batch answer. */
class WatchedLeases extends GrantLeases {
  readonly askedOneByOne: string[] = [];
  batches = 0;
  /** Runs once, right after the next batch question is answered. */
  afterBatch: (() => Promise<void>) | undefined;

  override holders(key: string): Promise<string[]> {
    this.askedOneByOne.push(key);
    return super.holders(key);
  }

  override async holdersOf(keys: string[]): Promise<Map<string, string[]>> {
    this.batches += 1;
    const held = await super.holdersOf(keys);
    const after = this.afterBatch;
    this.afterBatch = undefined;
    await after?.();
    return held;
  }
}

let stores: Stores;
let ldap: InMemoryLdapTarget;
let leases: WatchedLeases;
let ledger: GrantLedger;
let activities: ReturnType<typeof createActivities>;

beforeEach(async () => {
  stores = await openStores({ sqlitePath: ':memory:' });
  // Never connects: the operations that would reach a server are answered from memory.
  ldap = new InMemoryLdapTarget({
    url: 'ldap://127.0.0.1:1/',
    bindDn: `cn=admin,${SUFFIX}`,
    bindPassword: 'x',
  });
  leases = new WatchedLeases(stores.database);
  ledger = new GrantLedger(leases, new TargetRouter({ ldap }));
  activities = createActivities({
    store: stores.auditLog,
    // Reconciliation checks no request and claims no run.
    requests: {} as ActivityDeps['requests'],
    requestRuns: {} as ActivityDeps['requestRuns'],
    ledger,
    notifier: { announce: () => Promise.resolve([]), publish: () => Promise.resolve() },
    logger: testLogger(),
  });
});

afterEach(async () => {
  await ldap.close();
  await stores.database.close();
});

const at = '2026-12-07T12:00:00.000Z';
const lease = (id: string, n = 0) => ({
  elevationId: `el_${id}_${n}`,
  key: ledger.membershipKey(ref, dn(id), ''),
  target: ref,
  principal: dn(id),
});
const hold = (id: string, n = 0) => leases.hold(lease(id, n), at);
const role = (action: 'alert' | 'revert', principals: string[]): ReconcileRole => ({
  id: 'fleet',
  target: ref,
  action,
  standing: [dn('standing').toUpperCase()],
  principals,
});

describe('drift detection over many members', () => {
  it('when most members hold leases, then only the unexplained ones are asked about one by one and each key is made once', async () => {
    const explained = Array.from({ length: 40 }, (_, i) => `bot-${i}`);
    for (const id of explained) {
      ldap.members.add(dn(id));
      await hold(id);
    }
    await leases.release(lease('bot-7'), at); // its last lease ended: the membership is drift
    await hold('bot-8', 1); // two elevations of one membership: still explained
    ldap.members.add(dn('standing'));
    ldap.members.add(dn('intruder'));
    ldap.keyed.length = 0;

    const result = await activities.reconcileRole(role('alert', explained.map(dn)));
    const keyed = [...ldap.keyed];

    expect(result.drift.map((d) => d.principal).sort()).toEqual([dn('bot-7'), dn('intruder')].sort());
    expect(result.alerts?.map((a) => [a.principal, a.bot]).sort()).toEqual(
      [
        [dn('bot-7'), true],
        [dn('intruder'), false],
      ].sort(),
    );
    const unexplainedKeys = new Set([lease('bot-7').key, lease('intruder').key]);
    expect(leases.askedOneByOne.length).toBeGreaterThan(0);
    expect(leases.askedOneByOne.filter((key) => !unexplainedKeys.has(key))).toEqual([]);
    expect(leases.batches).toBe(1);
    // Each listed member's key once, the standing entry's once, and the two unexplained once
    // more inside the ledger's own reconciliation of each.
    const counts = new Map<string, number>();
    for (const p of keyed) counts.set(p, (counts.get(p) ?? 0) + 1);
    const keyedMoreThanOnce = [...counts].filter(([, n]) => n > 1).map(([p]) => p);
    expect(keyedMoreThanOnce.sort()).toEqual([dn('bot-7'), dn('intruder')].sort());
    expect(keyed).toHaveLength(ldap.members.size + 1 + 2);
  });

  it("when a grant records its lease after the lease store was asked about the list, then the ledger's own check of that member explains it and nothing is reverted", async () => {
    ldap.members.add(dn('racer'));
    leases.afterBatch = async () => {
      await hold('racer');
    };

    const result = await activities.reconcileRole(role('revert', [dn('racer')]));

    expect(result.drift).toEqual([]);
    expect(ldap.members.has(dn('racer'))).toBe(true);
    expect(leases.askedOneByOne).toContain(lease('racer').key);
  });

  it("when a member's only lease is released after the list was asked about, then it is left to the next run, which reverts it", async () => {
    ldap.members.add(dn('leaving'));
    await hold('leaving');
    leases.afterBatch = () => leases.release(lease('leaving'), at);

    const first = await activities.reconcileRole(role('revert', []));
    expect(first.drift).toEqual([]);
    expect(ldap.members.has(dn('leaving'))).toBe(true);

    const next = await activities.reconcileRole(role('revert', []));
    expect(next.drift).toEqual([{ principal: dn('leaving'), action: 'reverted' }]);
    expect(ldap.members.has(dn('leaving'))).toBe(false);
  });
});
