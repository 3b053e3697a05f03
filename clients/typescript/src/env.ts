/**
 * What an elevation gives a process, as environment variables: which elevation it is, and for a
 * role in AWS credentials mode the standard variables every AWS SDK and the AWS CLI read.
 */
import type { AwsCredentials, BotElevation } from './generated.js';

/** The variables {@link elevationEnv} sets. */
export interface ElevationEnv {
  ELEVATE_ELEVATION_ID: string;
  ELEVATE_ROLE: string;
  /** When the role is taken away (ISO 8601); absent until the grant. */
  ELEVATE_EXPIRES_AT?: string;
  AWS_ACCESS_KEY_ID?: string;
  AWS_SECRET_ACCESS_KEY?: string;
  AWS_SESSION_TOKEN?: string;
  /** When AWS stops accepting the credentials (the name the AWS SDKs and CLI use). */
  AWS_CREDENTIAL_EXPIRATION?: string;
}

/** The environment variables of `elevation` and, in AWS credentials mode, its credentials. */
export function elevationEnv(elevation: BotElevation, credentials?: AwsCredentials): ElevationEnv {
  return {
    ELEVATE_ELEVATION_ID: elevation.id,
    ELEVATE_ROLE: elevation.roleId,
    ...(elevation.expiresAt ? { ELEVATE_EXPIRES_AT: elevation.expiresAt } : {}),
    ...(credentials
      ? {
          AWS_ACCESS_KEY_ID: credentials.accessKeyId,
          AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
          AWS_SESSION_TOKEN: credentials.sessionToken,
          AWS_CREDENTIAL_EXPIRATION: credentials.expiration,
        }
      : {}),
  };
}
