/**
 * The approver directory port: how a person is looked up in an approver or admin directory
 * group, and the refusal when the directory cannot say which single entry that person is.
 *
 * Directories often let people write their own attributes (`access to * by self write`), so an
 * address or id that several entries hold, or an entry that holds several values, could let one
 * member "deputise" someone else, or count twice. Such a lookup is refused, never guessed.
 */

/** Who is being looked up: their address and, when the identity provider asserted it, the join value. */
export interface DirectoryPerson {
  /** The person's e-mail address (from Slack or the identity provider). */
  email: string;
  /**
   * The value of the directory's join attribute that the identity provider asserted for this
   * person (e.g. their `uid` from a `preferred_username` claim). When absent, the person is
   * looked up by `mail`.
   */
  joinValue?: string;
}

/** The directory holds the value on several entries, or several values on the one entry. */
export class AmbiguousIdentityError extends Error {
  override readonly name = 'AmbiguousIdentityError';
  readonly code = 'ambiguous_identity';
}

/**
 * Looks approvers up in the directory: whether the person with this e-mail address is a member
 * of an LDAP group. Asked at approval time, so a person removed from the group can no longer
 * approve.
 */
export interface ApproverDirectory {
  isMember(groupDn: string, email: string): Promise<boolean>;
  /**
   * The normalised DN of the person's entry when it is a member of the group, else undefined;
   * throws {@link AmbiguousIdentityError} when the directory cannot say which one entry it is.
   */
  memberEntry(groupDn: string, person: DirectoryPerson): Promise<string | undefined>;
}

/**
 * What the identity provider asserted about an approver, beyond the address: the value joined
 * to the directory (`OIDC_APPROVER_JOIN_CLAIM`) and the `(issuer, subject)` pair.
 */
export interface ApproverLogin {
  joinValue?: string;
  issuer?: string;
  subject?: string;
}

/**
 * Whether people are still in the directory: continuous detection asks it about each bot's owner
 * (a bot whose owner left is orphaned).
 */
export interface PeopleDirectory {
  /** Whether some entry holds this address in `mail` (under the people base DN). */
  hasPerson(email: string): Promise<boolean>;
}
