/**
 * What the expiry revoker's unit tests hand it: a release request for a bot of one LDAP group,
 * and the receipt of a removal that worked.
 */
import type { RevokeReceipt } from '../../core/model/elevation.js';
import type { ReleaseRequest } from '../../core/ports/activities.js';

export const REVOKER_TARGET = { type: 'ldap', groupDn: 'cn=ops,ou=groups,dc=example,dc=org' } as const;

/** Elevation `id`'s release, its bot `uid=<id>` (with `extra` fields, the window's say). */
export const releaseRequestOf = (id: string, extra: Partial<ReleaseRequest> = {}): ReleaseRequest => ({
  elevationId: id,
  target: REVOKER_TARGET,
  principal: `uid=${id},ou=bots,dc=example,dc=org`,
  ...extra,
});

/** The receipt of `req`'s removal, read back at `at` (now by default). */
export const removedReceipt = (req: ReleaseRequest, at: number = Date.now()): RevokeReceipt => ({
  target: req.target,
  principal: req.principal,
  removed: true,
  stillHeldBy: [],
  verifiedAt: new Date(at).toISOString(),
});
