/**
 * Sign-in to the admin console at the organisation's OpenID Connect provider — the same
 * provider approvers log in at, with its own callback (`/admin/callback`, registered at the
 * provider beside `/approvals/callback`).
 *
 * Elevate is the relying party: authorization code flow with PKCE (S256), a fresh `state` and
 * `nonce` per sign-in, the ID token checked by `openid-client` (signature, issuer, audience,
 * expiry, nonce). On top, Elevate requires multi-factor authentication by the same `amr`/`acr`
 * rule as approvals, and an e-mail address; the group claim is read so the console can decide
 * admin rights. Unlike an approval, a sign-in may reuse the person's session at the provider
 * (no `prompt=login`): the console re-checks rights on its own schedule.
 */
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import {
  CLOCK_TOLERANCE_SECONDS,
  StepUpError,
  type LoginTransaction,
  type StepUpSettings,
} from './step-up.js';

/** How the console signs people in: the approvals' provider settings, plus the group claim. */
export interface AdminLoginSettings extends Pick<
  StepUpSettings,
  'issuer' | 'clientId' | 'clientSecret' | 'mfaMethods' | 'mfaAcrValues' | 'emailClaim'
> {
  /** `<public URL>/admin/callback`, as registered at the provider. */
  redirectUri: string;
  /** ID token claim that lists the person's groups (e.g. `groups`). */
  groupsClaim: string;
}

/** Who signed in, and how, from the ID token. */
export interface AdminIdentity {
  issuer: string;
  subject: string;
  /** The address from the configured e-mail claim, lower case. */
  email: string;
  /** The group claim's values (empty when the claim is absent). */
  groups: string[];
  amr: string[];
  acr?: string;
  /** When the person logged in at the provider (ISO 8601), if the provider said. */
  authTime?: string;
  /** The `amr` or `acr` value that satisfied the MFA rule. */
  mfaMethod: string;
  /** `sha256:` and the hex SHA-256 of the raw ID token. */
  idTokenHash: string;
}

/** Hosts for which `allowInsecureHttp` may switch HTTPS off: this machine only. */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

const RESTART = 'Please sign in again.';

/** An openid-client failure as a {@link StepUpError} (network faults pass through unchanged). */
function toLoginError(err: unknown): unknown {
  if (err instanceof StepUpError) return err;
  if (err instanceof client.AuthorizationResponseError) {
    const detail = err.error_description ? `${err.error}: ${err.error_description}` : err.error;
    return new StepUpError('idp_error', `The identity provider did not complete the sign-in (${detail}).`, {
      cause: err,
    });
  }
  if (err instanceof client.ResponseBodyError) {
    return new StepUpError(
      'token_rejected',
      `The identity provider refused to complete the sign-in (${err.error}). ${RESTART}`,
      { cause: err },
    );
  }
  if (err instanceof client.ClientError) {
    const detail = err.cause instanceof Error ? err.cause.message : err.message;
    if (err.code === 'OAUTH_INVALID_RESPONSE' && /"state"/.test(detail)) {
      return new StepUpError('state_mismatch', `This answer does not belong to your sign-in. ${RESTART}`, {
        cause: err,
      });
    }
    if (err.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && /nonce/.test(detail + err.message)) {
      return new StepUpError(
        'nonce_mismatch',
        `The login token does not belong to your sign-in. ${RESTART}`,
        {
          cause: err,
        },
      );
    }
    return new StepUpError('token_rejected', `The login token was not accepted (${detail}). ${RESTART}`, {
      cause: err,
    });
  }
  return err;
}

/**
 * The relying party for console sign-ins. Create it once with {@link AdminLoginClient.discover}
 * and share it; it keeps no per-sign-in state (the caller keeps the {@link LoginTransaction}).
 */
export class AdminLoginClient {
  private constructor(
    readonly settings: AdminLoginSettings,
    private readonly config: client.Configuration,
  ) {}

  /**
   * Reads the provider's discovery document. `allowInsecureHttp` permits an `http:` issuer on a
   * loopback address only (the development identity provider and tests).
   */
  static async discover(
    settings: AdminLoginSettings,
    opts: { allowInsecureHttp?: boolean } = {},
  ): Promise<AdminLoginClient> {
    const issuer = new URL(settings.issuer);
    new URL(settings.redirectUri);
    if (settings.mfaMethods.length === 0 && settings.mfaAcrValues.length === 0) {
      throw new Error('console sign-in needs at least one MFA amr method or acr value');
    }
    const insecure = issuer.protocol === 'http:';
    if (insecure && !(opts.allowInsecureHttp && isLoopbackHost(issuer.hostname))) {
      throw new Error(
        `the OIDC issuer ${settings.issuer} must use https (plain http is allowed only for a loopback development provider)`,
      );
    }
    const config = await client.discovery(
      issuer,
      settings.clientId,
      { [client.clockTolerance]: CLOCK_TOLERANCE_SECONDS },
      settings.clientSecret === undefined ? client.None() : client.ClientSecretBasic(settings.clientSecret),
      // Marked deprecated by openid-client to stand out; loopback development issuers only (checked above).
      insecure ? { execute: [client.allowInsecureRequests] } : undefined,
    );
    return new AdminLoginClient(settings, config);
  }

  /** Starts a sign-in: the provider URL, and the transaction to keep server-side until the callback. */
  async begin(): Promise<{ url: string; transaction: LoginTransaction }> {
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(this.config, {
      redirect_uri: this.settings.redirectUri,
      scope: 'openid email',
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      // The MFA facts and the groups in the ID token itself.
      claims: JSON.stringify({
        id_token: {
          amr: { essential: true },
          acr: null,
          auth_time: null,
          [this.settings.emailClaim]: { essential: true },
          [this.settings.groupsClaim]: null,
        },
      }),
    });
    return { url: url.href, transaction: { state, nonce, codeVerifier, createdAt: Date.now() } };
  }

  /**
   * Completes a sign-in from the callback URL; throws a {@link StepUpError} when it does not
   * count (protocol failure, no MFA, no e-mail address). Network faults are thrown as they are.
   */
  async finish(callbackUrl: URL, transaction: LoginTransaction): Promise<AdminIdentity> {
    const current = new URL(this.settings.redirectUri);
    current.search = callbackUrl.search;
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(this.config, current, {
        pkceCodeVerifier: transaction.codeVerifier,
        expectedState: transaction.state,
        expectedNonce: transaction.nonce,
        idTokenExpected: true,
      });
    } catch (err) {
      throw toLoginError(err);
    }
    const idToken = tokens.id_token;
    const claims = tokens.claims();
    if (idToken === undefined || claims === undefined) {
      throw new StepUpError('token_rejected', `The identity provider returned no ID token. ${RESTART}`);
    }
    const amr = Array.isArray(claims.amr) ? claims.amr.filter((v): v is string => typeof v === 'string') : [];
    const acr = typeof claims.acr === 'string' ? claims.acr : undefined;
    const { mfaMethods, mfaAcrValues } = this.settings;
    const mfaMethod =
      amr.find((v) => v !== 'mfa' && mfaMethods.includes(v)) ??
      (acr !== undefined && mfaAcrValues.includes(acr) ? acr : undefined) ??
      (amr.includes('mfa') && mfaMethods.includes('mfa') ? 'mfa' : undefined);
    if (mfaMethod === undefined) {
      throw new StepUpError(
        'insufficient_user_authentication',
        `The console needs a sign-in with multi-factor authentication (amr: ${amr.length ? amr.join(' ') : 'none'}${acr ? `, acr: ${acr}` : ''}).`,
      );
    }
    const email = claims[this.settings.emailClaim];
    if (typeof email !== 'string' || email.length === 0 || claims['email_verified'] === false) {
      throw new StepUpError(
        'missing_email',
        `The identity provider did not include a verified e-mail address (claim ${this.settings.emailClaim}).`,
      );
    }
    const rawGroups = claims[this.settings.groupsClaim];
    const groups = (Array.isArray(rawGroups) ? rawGroups : typeof rawGroups === 'string' ? [rawGroups] : [])
      .filter((g): g is string => typeof g === 'string')
      .slice(0, 1000);
    return {
      issuer: claims.iss,
      subject: claims.sub,
      email: email.toLowerCase(),
      groups,
      amr,
      ...(acr === undefined ? {} : { acr }),
      ...(typeof claims.auth_time === 'number'
        ? { authTime: new Date(claims.auth_time * 1000).toISOString() }
        : {}),
      mfaMethod,
      idTokenHash: `sha256:${createHash('sha256').update(idToken).digest('hex')}`,
    };
  }
}
