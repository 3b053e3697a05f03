/**
 * A role bundle inside the elevation workflow: several roles granted in order, all or nothing,
 * and revoked together (`bundles` in the policy, `config/bundle-policy.ts`).
 *
 * Each role's grant is the same activity a single role's is (`acquireGrant`, read back), with
 * its own `grant.confirmed` (or `grant.failed`) naming the role. Once all are confirmed,
 * `bundle.granted` records the bundle granted as a whole. If one fails, the grant stops there:
 * the workflow's revocation releases every role the grant reached (the failed one too, as a
 * single role's failed grant is released: the ledger fences a late write), each read back, and
 * the elevation ends `failed` with the role named in `lastError`. At the end of the window (or
 * on give-back, or an admin's revoke) the same revocation releases them all at once, retried
 * until every target confirms.
 *
 * A bundle's grants are not put on the worker's expiry revoker, which holds one grant per
 * elevation: the workflow's timer ends the window, and its revocation removes them together.
 * A bundle's elevation cannot be extended (`extend.ts` refuses it, `field: bundle`).
 *
 * Only runs of inputs that carry a bundle, with the `role-bundles` patch, come here: every other
 * history replays exactly as it was recorded.
 */
import { isCancellation } from '@temporalio/workflow';
import type { GrantRequest, ReleaseRequest } from '../core/ports/activities.js';
import type { ElevationInput, GrantReceipt, RevokeReceipt } from '../core/model/elevation.js';
import type { AuditQueue } from './audit-queue.js';
import { SYSTEM, type ElevationState } from './elevation-state.js';
import { errorSummary } from './error-summary.js';

/** One role's receipt in a bundle's records. */
export interface BundleReceipt<R> {
  roleId: string;
  receipt: R;
}

/** What the target is asked to grant for role `index` of the bundle. */
function grantRequestOf(input: ElevationInput, index: number): GrantRequest {
  const { role, principal } = input.bundle!.roles[index]!;
  return {
    elevationId: input.elevationId,
    target: role.target,
    principal,
    durationSeconds: input.durationSeconds,
  };
}

/**
 * Grants the bundle's roles in order, each read back. Returns their receipts when all were
 * granted; undefined when one failed (recorded, the view saying which) or a revocation cancelled
 * the grant: the caller's revocation then releases what was reached.
 */
export async function acquireBundle(
  input: ElevationInput,
  state: ElevationState,
  audit: AuditQueue,
  acquire: (req: GrantRequest) => Promise<GrantReceipt>,
): Promise<BundleReceipt<GrantReceipt>[] | undefined> {
  const roles = input.bundle!.roles;
  const grants: BundleReceipt<GrantReceipt>[] = [];
  for (const [index, { role }] of roles.entries()) {
    state.bundleGranting(index);
    let receipt: GrantReceipt;
    try {
      receipt = await acquire(grantRequestOf(input, index));
    } catch (err) {
      if (isCancellation(err)) return undefined;
      const error = errorSummary(err);
      state.bundleGrantFailed(index, error);
      audit.recordInBackground(audit.event('grant.failed', SYSTEM, { error, roleId: role.id }));
      return undefined;
    }
    state.bundleGranted(index, receipt);
    audit.recordInBackground(audit.event('grant.confirmed', SYSTEM, { receipt, roleId: role.id }));
    grants.push({ roleId: role.id, receipt });
  }
  return grants;
}

/**
 * Releases every role the grant reached, at once, each through its receipt's handle and read
 * back; their receipts in the bundle's order. Throws the first failure once every release has
 * answered (the revocation's next round releases them all again: a release is idempotent).
 */
export async function releaseBundle(
  input: ElevationInput,
  state: ElevationState,
  release: (req: ReleaseRequest) => Promise<RevokeReceipt>,
): Promise<BundleReceipt<RevokeReceipt>[]> {
  const reached = state.bundleReached();
  const results = await Promise.allSettled(
    reached.map((index) => {
      const handle = state.bundleHandle(index);
      return release({ ...grantRequestOf(input, index), ...(handle ? { handle } : {}) });
    }),
  );
  const receipts: BundleReceipt<RevokeReceipt>[] = [];
  let failure: Error | undefined;
  results.forEach((result, k) => {
    const index = reached[k]!;
    if (result.status === 'rejected') {
      // Activity failures are errors (`ActivityFailure`); anything else is wrapped to say so.
      failure ??= result.reason instanceof Error ? result.reason : new Error(String(result.reason));
      return;
    }
    state.bundleRevoked(index, result.value);
    receipts.push({ roleId: input.bundle!.roles[index]!.role.id, receipt: result.value });
  });
  if (failure !== undefined) throw failure;
  return receipts;
}
