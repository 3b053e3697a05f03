/**
 * Where a target that issues temporary credentials (AWS credentials mode) leaves them for the
 * bot, exactly once: implemented by `domain/credential-vault.ts`, which encrypts them until the
 * bot fetches them.
 */

/** Temporary credentials as the bot receives them. Secret. */
export interface HandedOverCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken: string;
  /** When the cloud stops accepting them (ISO 8601). */
  expiration: string;
  /** The session's name as the cloud's audit log shows it. */
  sessionName: string;
}

/** What may be said about a session without revealing it: its name and expiry. */
export interface HandedOverSession {
  sessionName: string;
  expiration: string;
}

export interface CredentialHandoff {
  /**
   * Issue credentials for the elevation once (`issue` runs only when none were issued) and keep
   * them for the bot; the session's name and expiry come back. Throws when the hand-off was
   * closed before anything was issued (the elevation was revoked first).
   */
  issueOnce(elevationId: string, issue: () => Promise<HandedOverCredentials>): Promise<HandedOverSession>;
  /** Close the hand-off: credentials not yet delivered are destroyed; says whether the bot had them. */
  withdraw(elevationId: string): Promise<{ session?: HandedOverSession; delivered: boolean }>;
}
