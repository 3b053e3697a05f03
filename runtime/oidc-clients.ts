/**
 * The API's OpenID Connect relying parties: the approvals' step-up client and the admin
 * console's login client, each discovered on first use and then kept.
 */
import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import { AdminLoginClient } from '../integrations/oidc/admin-login.js';
import { StepUpClient } from '../integrations/oidc/step-up.js';
import type { Metrics } from '../integrations/metrics/prometheus.js';

/**
 * The OpenID Connect relying party, discovered on first use and then kept (a provider that is
 * down at start does not stop Elevate; approvals answer 503 until it is back). Plain http is
 * allowed for loopback issuers only (the development provider).
 */
export function stepUpClient(
  oidc: Settings['oidc'],
  logger: Logger,
  metrics: Metrics,
): () => Promise<StepUpClient> {
  let client: Promise<StepUpClient> | undefined;
  return () => {
    if (!oidc) return Promise.reject(new Error('no OpenID Connect provider is configured (OIDC_ISSUER)'));
    client ??= StepUpClient.discover(oidc, {
      allowInsecureHttp: /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/.test(oidc.issuer),
      metrics,
    }).catch((err: unknown) => {
      client = undefined;
      logger.error({ err: (err as Error).message, issuer: oidc.issuer }, 'OpenID Connect discovery failed');
      throw err;
    });
    return client;
  };
}

/**
 * The console's relying party: the approvals' provider and client, with the console's callback
 * (`<public URL>/admin/callback`, which must be registered at the provider too). Discovered on
 * first use and then kept, as the approvals' client is.
 */
export function adminLoginClient(
  oidc: NonNullable<Settings['oidc']>,
  consoleSettings: NonNullable<Settings['adminConsole']>,
  publicUrl: string,
  logger: Logger,
): () => Promise<AdminLoginClient> {
  let client: Promise<AdminLoginClient> | undefined;
  return () => {
    client ??= AdminLoginClient.discover(
      {
        issuer: oidc.issuer,
        clientId: oidc.clientId,
        ...(oidc.clientSecret ? { clientSecret: oidc.clientSecret } : {}),
        redirectUri: `${publicUrl}/admin/callback`,
        mfaMethods: oidc.mfaMethods,
        mfaAcrValues: oidc.mfaAcrValues,
        emailClaim: oidc.emailClaim,
        ...(oidc.emailClaimTrusted === undefined ? {} : { emailClaimTrusted: oidc.emailClaimTrusted }),
        ...(oidc.joinClaim === undefined ? {} : { joinClaim: oidc.joinClaim }),
        groupsClaim: consoleSettings.groupsClaim,
        ...(consoleSettings.signInMaxAgeSeconds === undefined
          ? {}
          : { maxAgeSeconds: consoleSettings.signInMaxAgeSeconds }),
      },
      { allowInsecureHttp: /^http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(\/|$)/.test(oidc.issuer) },
    ).catch((err: unknown) => {
      client = undefined;
      logger.error(
        { err: (err as Error).message, issuer: oidc.issuer },
        'OpenID Connect discovery failed (console)',
      );
      throw err;
    });
    return client;
  };
}
