/**
 * The benchmark's floor (`scripts/bench-floor.ts`) on the servers the benchmark starts (the dev
 * server, slapd with its access log): its bare workflows run, every member they add is removed
 * again, no bare window is closed before its end, slapd's log sees every removal, and a ramp step
 * ends every lifecycle it started.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBenchServers } from '../../dev/bench-servers.js';
import { botDn, groupDn } from '../../dev/ldap-seed.js';
import { LdapTarget } from '../../integrations/ldap/ldap-target.js';
import { startFloor, type Floor } from '../../scripts/bench-floor.js';
import { installTemporalLogging } from '../../worker/create-worker.js';
import { testLogger } from '../support/stack.js';

const SUFFIX = 'dc=floor,dc=example';
const dir = mkdtempSync(path.join(tmpdir(), 'elevate-floor-'));
const stops: (() => Promise<void>)[] = [];
const groups = ['floor-a', 'floor-b'];
let ldap: LdapTarget;
let floor: Floor;

beforeAll(async () => {
  installTemporalLogging(testLogger());
  const { temporal, slapd } = await startBenchServers(dir, SUFFIX, { bots: [], groups }, stops);
  ldap = new LdapTarget({ url: slapd.url, bindDn: slapd.rootDn, bindPassword: slapd.rootPassword });
  stops.push(() => ldap.close());
  floor = await startFloor({
    temporal: { address: temporal.address, namespace: 'default' },
    ldap,
    slapd,
    groupDns: groups.map((g) => groupDn(SUFFIX, g)),
    memberDns: Array.from({ length: 4 }, (_, i) => botDn(SUFFIX, `member-${i}`)),
    grant: { count: 6, ratePerSec: 20 },
    window: { count: 8, ratePerSec: 20, leadSeconds: 1 },
    timeoutSeconds: 60,
    say: () => undefined,
  });
  stops.push(() => floor.stop());
}, 120_000);

afterAll(async () => {
  for (const stop of stops.reverse()) await stop().catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
});

const membersLeft = async () => {
  let n = 0;
  for (const g of groups) n += (await ldap.listMembers({ type: 'ldap', groupDn: groupDn(SUFFIX, g) })).length;
  return n;
};

describe('the benchmark floor', () => {
  it('runs start → modify and timer → modify as bare workflows, removes every member, and never before its window ends', async () => {
    const figures = await floor.measure();

    expect(figures.grant).toMatchObject({ workflows: 6, failed: 0 });
    expect(figures.grant!.startToModifyP50Ms).toBeGreaterThan(0);
    expect(figures.grant!.startToModifyP99Ms).toBeGreaterThanOrEqual(figures.grant!.startToModifyP50Ms);

    const expiry = figures.massExpiry!;
    expect(expiry).toMatchObject({ workflows: 8, failed: 0, membersLeftInLdap: 0 });
    // Every window ended by its own durable timer: no removal before its end.
    expect(expiry.removalLagP50Ms).toBeGreaterThanOrEqual(0);
    expect(expiry.slapdTimed).toMatchObject({ timed: 8, notInLog: 0, modifies: 8 });
    expect(expiry.slapdTimed!.removalLagP50Ms).toBeGreaterThanOrEqual(0);
    expect(await membersLeft()).toBe(0);
  }, 120_000);

  it('runs a ramp step of bare lifecycles, each removed after its window, and scores what completed', async () => {
    const ramp = await floor.ramp({ rates: [4], stepSeconds: 2, windowSeconds: 1, drainTimeoutSeconds: 60 });

    expect(ramp.steps).toHaveLength(1);
    expect(ramp.steps[0]).toMatchObject({ offeredPerSec: 4, started: 8, completed: 8, failed: 0 });
    // How many fell inside the step's span is timing (8 lifecycles over 2 s); that some did, and
    // no more than were offered, is not.
    expect(ramp.steps[0]!.completedPerSec).toBeGreaterThan(0);
    expect(ramp.steps[0]!.completedPerSec).toBeLessThanOrEqual(4);
    expect(ramp.steps[0]!.startToAddedP50Ms).toBeGreaterThan(0);
    expect(ramp.steps[0]!.removalLagP50Ms).toBeGreaterThanOrEqual(0);
    expect(await membersLeft()).toBe(0);
  }, 120_000);
});
