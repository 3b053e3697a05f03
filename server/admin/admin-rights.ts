/** Who is an admin of the console: the provider's group claim, the LDAP admin group, or both. */
import type { Logger } from 'pino';
import { z } from 'zod';
import type { AdminConsoleSettings } from '../../config/settings.js';
import {
  AmbiguousIdentityError,
  type ApproverDirectory,
  type DirectoryPerson,
} from '../../core/ports/approver-directory.js';
import { ApiError } from '../../domain/errors.js';
import type { AdminIdentity } from '../../integrations/oidc/admin-login.js';

/** Why a person is an admin: the group claim, the LDAP group, or both. */
export const RightSchema = z.enum(['oidc_group', 'ldap_group']);
export type Right = z.infer<typeof RightSchema>;

/** The checks of admin rights, at sign-in and again during a session. */
export interface AdminRights {
  /** Why the signed-in `identity` is an admin; none: not an admin. */
  of(identity: AdminIdentity): Promise<Right[]>;
  /**
   * Whether the person's one directory entry is in the LDAP admin group (none configured, or an
   * ambiguous lookup: not an admin). A directory that cannot be reached is a 503 `ApiError`.
   */
  inLdapGroup(person: { email: string; joinValue?: string | undefined }): Promise<boolean>;
}

/** The rights checks of `settings`, the group looked up in `directory`. */
export function adminRights(
  settings: AdminConsoleSettings | undefined,
  directory: ApproverDirectory | undefined,
  logger: Logger | undefined,
): AdminRights {
  const inLdapGroup = async (p: { email: string; joinValue?: string | undefined }): Promise<boolean> => {
    if (!settings?.ldapGroupDn) return false;
    if (!directory) throw new ApiError('service_unavailable', 'no LDAP directory is configured');
    const person: DirectoryPerson = {
      email: p.email,
      ...(p.joinValue === undefined ? {} : { joinValue: p.joinValue }),
    };
    const entry = await directory.memberEntry(settings.ldapGroupDn, person).catch((err: unknown) => {
      if (err instanceof AmbiguousIdentityError) {
        logger?.warn({ reason: err.message }, 'the admin group lookup is ambiguous: not an admin');
        return undefined;
      }
      logger?.error({ err: (err as Error).message }, 'could not look up the admin group in LDAP');
      throw new ApiError('service_unavailable', 'The directory cannot be reached right now; try again.');
    });
    return entry !== undefined;
  };
  return {
    inLdapGroup,
    async of(identity) {
      const rights: Right[] = [];
      if (settings?.groups.length && identity.groups.some((g) => settings.groups.includes(g))) {
        rights.push('oidc_group');
      }
      if (await inLdapGroup(identity)) rights.push('ldap_group');
      return rights;
    },
  };
}
