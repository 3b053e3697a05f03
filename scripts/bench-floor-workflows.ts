/**
 * The benchmark's floor (`bench-floor.ts`): the least a Temporal workflow can do for what an
 * elevation does, so that Elevate's figures can be set against it in the same run. No policy, no
 * audit, no lock, no lease, no read-back: one LDAP modify per start, or one modify, one timer and
 * one modify.
 *
 * Bundled by the SDK when the bench starts its floor worker; like `workflows/`, it imports only
 * `@temporalio/workflow` and types.
 */
import { proxyActivities, sleep } from '@temporalio/workflow';

/** One member value in one group. */
export interface FloorMember {
  groupDn: string;
  memberDn: string;
}

/** The floor's activities: one LDAP modify each, answering when it was done (epoch ms). */
export interface FloorActivities {
  addMember(member: FloorMember): Promise<number>;
  removeMember(member: FloorMember): Promise<number>;
}

/** What a floor window recorded: when the member came, the instant its timer aimed at, when it went. */
export interface FloorWindowResult {
  addedAt: number;
  expiresAt: number;
  removedAt: number;
}

const { addMember, removeMember } = proxyActivities<FloorActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '100 ms', maximumInterval: '1 second' },
});

/** Start → one LDAP modify: answers when the member was added. */
export async function floorGrant(member: FloorMember): Promise<number> {
  return addMember(member);
}

/**
 * One modify, a durable timer of `durationSeconds`, one modify: an elevation's window with
 * nothing else. Its end is the workflow's clock when the add came back, plus the duration.
 */
export async function floorWindow(
  input: FloorMember & { durationSeconds: number },
): Promise<FloorWindowResult> {
  const member = { groupDn: input.groupDn, memberDn: input.memberDn };
  const addedAt = await addMember(member);
  const expiresAt = Date.now() + input.durationSeconds * 1000;
  await sleep(input.durationSeconds * 1000);
  return { addedAt, expiresAt, removedAt: await removeMember(member) };
}
