/**
 * Counting approvals against approver groups: every group must reach its quorum, one person
 * fills one seat only, and the order of approvals never changes the outcome.
 */
import { describe, expect, it } from 'vitest';
import {
  quorumProgress,
  totalQuorum,
  wouldCount,
  type CountedApproval,
} from '../../core/rules/approval-quorum.js';

const by = (approver: string, ...groups: string[]): CountedApproval => ({ approver, groups });

/** Every ordering of `items` (small inputs only). */
function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) =>
    permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]),
  );
}

describe('quorumProgress', () => {
  const one = [{ name: 'ops', quorum: 1 }];
  const two = [
    { name: 'ops', quorum: 1 },
    { name: 'security', quorum: 1 },
  ];

  it('when nobody has approved, then no group is met and every group shows zero', () => {
    expect(quorumProgress(two, [])).toEqual({
      met: false,
      groups: [
        { name: 'ops', quorum: 1, approved: 0 },
        { name: 'security', quorum: 1, approved: 0 },
      ],
    });
  });

  it('when one group of quorum 1 gets one approval from a member, then it is met', () => {
    expect(quorumProgress(one, [by('ann', 'ops')])).toEqual({
      met: true,
      groups: [{ name: 'ops', quorum: 1, approved: 1 }],
    });
  });

  it('when an approval names only groups the rule does not have, then it counts for nothing', () => {
    expect(quorumProgress(one, [by('ann', 'ghost'), by('ben')])).toEqual({
      met: false,
      groups: [{ name: 'ops', quorum: 1, approved: 0 }],
    });
    // Unknown names next to a known one do not get in the way of the known one.
    expect(quorumProgress(one, [by('ann', 'ghost', 'ops')]).met).toBe(true);
  });

  it('when two groups are required, then one group alone is not enough (AND)', () => {
    const progress = quorumProgress(two, [by('ann', 'ops'), by('ben', 'ops')]);
    expect(progress.met).toBe(false);
    expect(progress.groups).toEqual([
      { name: 'ops', quorum: 1, approved: 1 },
      { name: 'security', quorum: 1, approved: 0 },
    ]);
    expect(quorumProgress(two, [by('ann', 'ops'), by('sue', 'security')]).met).toBe(true);
  });

  it('when one person is in both groups of quorum 1, then they count once and a second person is needed', () => {
    const alone = quorumProgress(two, [by('ann', 'ops', 'security')]);
    expect(alone.met).toBe(false);
    expect(alone.groups.reduce((n, g) => n + g.approved, 0)).toBe(1);

    expect(quorumProgress(two, [by('ann', 'ops', 'security'), by('ben', 'ops', 'security')]).met).toBe(true);
  });

  it('when someone in both groups approves first, then a later approver in only one group still completes the quorum', () => {
    // Greedy counting would give ann the first seat (ops) and then have nowhere for ben.
    const progress = quorumProgress(two, [by('ann', 'ops', 'security'), by('ben', 'ops')]);
    expect(progress).toEqual({
      met: true,
      groups: [
        { name: 'ops', quorum: 1, approved: 1 },
        { name: 'security', quorum: 1, approved: 1 },
      ],
    });
  });

  it('when the same approvals arrive in any order, then the outcome is the same', () => {
    const groups = [
      { name: 'ops', quorum: 2 },
      { name: 'security', quorum: 1 },
      { name: 'legal', quorum: 1 },
    ];
    const approvals = [
      by('ann', 'ops', 'security', 'legal'),
      by('ben', 'ops', 'security'),
      by('cat', 'legal'),
      by('dan', 'ops'),
    ];
    for (const order of permutations(approvals)) {
      expect(quorumProgress(groups, order), order.map((a) => a.approver).join(',')).toEqual({
        met: true,
        groups: [
          { name: 'ops', quorum: 2, approved: 2 },
          { name: 'security', quorum: 1, approved: 1 },
          { name: 'legal', quorum: 1, approved: 1 },
        ],
      });
    }
    // Without dan, ops can have at most ann and ben, and then nobody is left for security.
    for (const order of permutations(approvals.slice(0, 3))) {
      expect(quorumProgress(groups, order).met).toBe(false);
    }
  });

  it('when a group needs two approvals, then one is progress and two meet it', () => {
    const groups = [{ name: 'ops', quorum: 2 }];
    expect(quorumProgress(groups, [by('ann', 'ops')])).toEqual({
      met: false,
      groups: [{ name: 'ops', quorum: 2, approved: 1 }],
    });
    expect(quorumProgress(groups, [by('ann', 'ops'), by('ben', 'ops')])).toEqual({
      met: true,
      groups: [{ name: 'ops', quorum: 2, approved: 2 }],
    });
  });

  it('when more people approve than a group needs, then the count stops at its quorum', () => {
    const progress = quorumProgress(one, [by('ann', 'ops'), by('ben', 'ops'), by('cat', 'ops')]);
    expect(progress.groups).toEqual([{ name: 'ops', quorum: 1, approved: 1 }]);
    expect(progress.met).toBe(true);
  });
});

describe('wouldCount', () => {
  const two = [
    { name: 'ops', quorum: 1 },
    { name: 'security', quorum: 1 },
  ];

  it('when the person is in a group that still has room, then their approval counts', () => {
    expect(wouldCount(two, [by('ann', 'ops')], by('sue', 'security'))).toBe(true);
    expect(wouldCount([{ name: 'ops', quorum: 2 }], [by('ann', 'ops')], by('ben', 'ops'))).toBe(true);
  });

  it('when every group the person is in is full, then their approval would not count', () => {
    expect(wouldCount(two, [by('ann', 'ops')], by('ben', 'ops'))).toBe(false);
    expect(wouldCount(two, [by('ann', 'ops'), by('sue', 'security')], by('ben', 'ops', 'security'))).toBe(
      false,
    );
  });

  it('when the person is in no group of the rule, then their approval would not count', () => {
    expect(wouldCount(two, [], by('eve', 'ghost'))).toBe(false);
    expect(wouldCount(two, [], by('eve'))).toBe(false);
  });

  it('when moving an earlier approver to their other group makes room, then the approval counts', () => {
    // ann could sit in either group; ben fits only in ops, so ann moves to security.
    expect(wouldCount(two, [by('ann', 'ops', 'security')], by('ben', 'ops'))).toBe(true);
    expect(wouldCount(two, [by('ann', 'ops', 'security')], by('ben', 'security'))).toBe(true);
  });
});

describe('totalQuorum', () => {
  it('when groups are given, then it is the sum of their quorums', () => {
    expect(totalQuorum([{ quorum: 2 }, { quorum: 1 }, { quorum: 3 }])).toBe(6);
    expect(totalQuorum([{ quorum: 1 }])).toBe(1);
    expect(totalQuorum([])).toBe(0);
  });
});

describe('one person, one seat, under any address (M1)', () => {
  const sre = [{ name: 'sre', quorum: 2 }];
  const entry = 'uid=bob,ou=people,dc=example,dc=org';
  const withIdentity = (
    approver: string,
    identity: { entries: string[]; issuer?: string; subject?: string },
  ): CountedApproval => ({ approver, groups: ['sre'], identity });

  it('when the same directory entry approves under two addresses, then it fills one seat of a quorum of 2', () => {
    const progress = quorumProgress(sre, [
      withIdentity('bob@example.org', { entries: [entry] }),
      withIdentity('mallory@example.org', { entries: [entry] }),
    ]);
    expect(progress).toEqual({ met: false, groups: [{ name: 'sre', quorum: 2, approved: 1 }] });
  });

  it('when the same identity-provider subject approves under two addresses, then it fills one seat', () => {
    const idp = { issuer: 'https://idp.example.org', subject: 'u-42' };
    const approvals = [
      withIdentity('bob@example.org', { entries: [], ...idp }),
      withIdentity('bob.alias@example.org', { entries: [], ...idp }),
    ];
    expect(quorumProgress(sre, approvals).groups[0]?.approved).toBe(1);
    expect(wouldCount(sre, approvals.slice(0, 1), approvals[1]!)).toBe(false);
  });

  it('when the same subject comes from another issuer, then it is another person', () => {
    const approvals = [
      withIdentity('a@example.org', { entries: [], issuer: 'https://one.example.org', subject: 'u-1' }),
      withIdentity('b@example.org', { entries: [], issuer: 'https://two.example.org', subject: 'u-1' }),
    ];
    expect(quorumProgress(sre, approvals).met).toBe(true);
  });

  it('when approvals carry no identity (recorded before it existed), then they count as they always did', () => {
    expect(quorumProgress(sre, [by('a@example.org', 'sre'), by('b@example.org', 'sre')]).met).toBe(true);
  });
});
