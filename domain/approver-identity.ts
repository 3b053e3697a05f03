/**
 * How a person is looked up in an approver or admin directory group, and the refusal when the
 * directory cannot say which single entry that person is.
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
