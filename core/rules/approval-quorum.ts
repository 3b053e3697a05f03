/**
 * Whether a set of approvals meets a role's approver groups. Pure, so the workflow (which
 * decides), the policy check (which refuses a policy that can never be met) and the Slack
 * message (which shows progress) all count the same way.
 *
 * The rule: every group must reach its quorum, and one person counts towards one group only.
 * Two groups of quorum 1 therefore always need two different people, even when someone
 * belongs to both. Counting is a maximum bipartite matching of approvers to group seats, so
 * the order in which people approve never matters: if any assignment meets every quorum,
 * the approvals are enough. Approvals known to come from one person (the same directory entry or
 * identity-provider subject, under whatever address) count as one.
 */
import type { ApproverGroup, ApproverIdentity } from '../model/elevation.js';

/**
 * An approval as far as counting is concerned: who, which groups they belong to and, when
 * known, who they are beyond their address (see {@link samePersonKeys}).
 */
export interface CountedApproval {
  approver: string;
  groups: string[];
  identity?: ApproverIdentity;
}

/**
 * The keys that identify the person behind an approval beyond their address: each directory
 * entry they were matched to, and their `(issuer, subject)` at the identity provider. Two
 * approvals sharing a key are one person, whatever addresses they used.
 */
export function samePersonKeys(identity: ApproverIdentity | undefined): string[] {
  if (!identity) return [];
  const keys = (Array.isArray(identity.entries) ? identity.entries : [])
    .filter((e): e is string => typeof e === 'string' && e !== '')
    .map((e) => `entry:${e}`);
  if (typeof identity.issuer === 'string' && typeof identity.subject === 'string' && identity.subject !== '')
    keys.push(`idp:${JSON.stringify([identity.issuer, identity.subject])}`);
  return keys;
}

/**
 * Approvals by the same person (a shared {@link samePersonKeys} key) merged into one, with the
 * union of their groups, so that person fills one seat at most. The validator already refuses
 * such a second approval; this keeps the count right whatever reached the list. Approvals
 * without an identity (all of those recorded before it existed) are left as they are.
 */
function onePerPerson(approvals: CountedApproval[]): CountedApproval[] {
  const owner = new Map<string, number>();
  const merged: CountedApproval[] = [];
  for (const a of approvals) {
    const keys = samePersonKeys(a.identity);
    const seen = keys.map((k) => owner.get(k)).find((i) => i !== undefined);
    if (seen === undefined) {
      for (const k of keys) owner.set(k, merged.length);
      merged.push(a);
    } else {
      const m = merged[seen]!;
      merged[seen] = { ...m, groups: [...new Set([...m.groups, ...a.groups])] };
      for (const k of keys) if (!owner.has(k)) owner.set(k, seen);
    }
  }
  return merged;
}

/** Per group, how many approvers the best assignment gives it. */
export interface QuorumProgress {
  met: boolean;
  groups: { name: string; quorum: number; approved: number }[];
}

/** How far the approvals go towards the groups' quorums. */
export function quorumProgress(
  groups: Pick<ApproverGroup, 'name' | 'quorum'>[],
  counted: CountedApproval[],
): QuorumProgress {
  const approvals = onePerPerson(counted);
  // Seats: one per unit of quorum. seatGroup[s] is the group index of seat s.
  const seatGroup: number[] = [];
  groups.forEach((g, i) => {
    for (let k = 0; k < g.quorum; k++) seatGroup.push(i);
  });
  const index = new Map(groups.map((g, i) => [g.name, i]));
  const seatOwner: (number | undefined)[] = seatGroup.map(() => undefined);

  // Kuhn's augmenting paths: small inputs (at most 10 groups of quorum 10).
  const tryAssign = (a: number, visited: boolean[]): boolean => {
    const member = new Set(
      (approvals[a]?.groups ?? []).map((n) => index.get(n)).filter((i) => i !== undefined),
    );
    for (let s = 0; s < seatGroup.length; s++) {
      if (visited[s] || !member.has(seatGroup[s]!)) continue;
      visited[s] = true;
      const owner = seatOwner[s];
      if (owner === undefined || tryAssign(owner, visited)) {
        seatOwner[s] = a;
        return true;
      }
    }
    return false;
  };
  approvals.forEach((_, a) =>
    tryAssign(
      a,
      seatGroup.map(() => false),
    ),
  );

  const progress = groups.map((g, i) => ({
    name: g.name,
    quorum: g.quorum,
    approved: seatOwner.filter((owner, s) => owner !== undefined && seatGroup[s] === i).length,
  }));
  return { met: progress.every((g) => g.approved >= g.quorum), groups: progress };
}

/** Whether one more approval would fill a seat that the approvals so far cannot. */
export function wouldCount(
  groups: Pick<ApproverGroup, 'name' | 'quorum'>[],
  approvals: CountedApproval[],
  next: CountedApproval,
): boolean {
  const filled = (p: QuorumProgress) => p.groups.reduce((n, g) => n + Math.min(g.approved, g.quorum), 0);
  return filled(quorumProgress(groups, [...approvals, next])) > filled(quorumProgress(groups, approvals));
}

/** Total approvals a rule needs (the sum of the groups' quorums). */
export function totalQuorum(groups: Pick<ApproverGroup, 'quorum'>[]): number {
  return groups.reduce((n, g) => n + g.quorum, 0);
}
