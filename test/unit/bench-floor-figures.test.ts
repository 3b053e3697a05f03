/**
 * The benchmark floor's arithmetic (`scripts/bench-floor.ts`): which memberships its phases use,
 * and Elevate's figures as a multiple of the floor's.
 */
import { describe, expect, it } from 'vitest';
import { floorMember, floorOverhead, type FloorFigures } from '../../scripts/bench-floor.js';

const slapdTimed = (p99: number, max: number) => ({
  removalLagP50Ms: 1,
  removalLagP99Ms: p99,
  removalLagMaxMs: max,
  lastRemovedAfterFirstExpiryMs: max,
  modifies: 1,
  notInLog: 0,
  timed: 1,
  receiptAfterRemovalP50Ms: NaN,
});

const floor: FloorFigures = {
  taskQueue: 'elevate-bench-floor',
  grant: { workflows: 10, failed: 0, ratePerSec: 5, startToModifyP50Ms: 20, startToModifyP99Ms: 50 },
  massExpiry: {
    workflows: 10,
    failed: 0,
    ratePerSec: 25,
    expirySpreadMs: 900,
    removalLagP50Ms: 700,
    removalLagP99Ms: 800,
    removalLagMaxMs: 900,
    lastRemovedAfterFirstExpiryMs: 1800,
    slapdTimed: slapdTimed(790, 880),
    membersLeftInLdap: 0,
  },
};

describe('floorMember', () => {
  it('gives every index its own pair of group and member, and refuses more than there are', () => {
    const groups = ['g0', 'g1', 'g2'];
    const members = ['m0', 'm1'];
    const pairs = Array.from({ length: 6 }, (_, i) => floorMember(i, groups, members));
    expect(new Set(pairs.map((p) => `${p.groupDn}|${p.memberDn}`)).size).toBe(6);
    expect(pairs[0]).toEqual({ groupDn: 'g0', memberDn: 'm0' });
    expect(pairs[3]).toEqual({ groupDn: 'g1', memberDn: 'm1' });
    expect(() => floorMember(6, groups, members)).toThrow(/6 distinct memberships, not 7/);
  });
});

describe('floorOverhead', () => {
  it("divides Elevate's figures by the floor's, and the ramp's the other way up", () => {
    const overhead = floorOverhead(
      {
        requestToActiveP50Ms: 60,
        requestToActiveP99Ms: 100,
        massExpiry: {
          lastRemovedAfterFirstExpiryMs: 1900,
          revocationLagP99Ms: 40,
          slapdTimed: slapdTimed(31.6, 88),
        },
        rampMostCompletedPerSec: 20,
      },
      {
        ...floor,
        ramp: {
          stepSeconds: 10,
          windowSeconds: 3,
          steps: [],
          highestKeptUpPerSec: 40,
          saturatedAt: null,
          mostCompletedPerSec: 50,
        },
      },
    );
    expect(overhead).toEqual({
      requestToActiveP50: 3,
      requestToActiveP99: 2,
      massExpiryRemovalLagP99: 0.04,
      massExpiryRemovalLagMax: 0.1,
      massExpiryReceiptLagP99: 0.05,
      rampFloorOverElevate: 2.5,
    });
  });

  it('says null where a side did not run or has no figure', () => {
    const overhead = floorOverhead(
      {
        requestToActiveP50Ms: NaN,
        requestToActiveP99Ms: 100,
        massExpiry: null,
        rampMostCompletedPerSec: undefined,
      },
      { ...floor, grant: null, ramp: null },
    );
    expect(Object.values(overhead)).toEqual([null, null, null, null, null, null]);
  });
});
