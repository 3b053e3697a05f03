/**
 * Step-up login for approvers: before an approval from Slack counts, the approver logs in again
 * at the organisation's OpenID Connect provider, with multi-factor authentication, right now.
 *
 * Elevate is the relying party. {@link StepUpClient.begin} starts a login (authorization code
 * flow with PKCE, a fresh `state` and `nonce`, `prompt=login` and `max_age` so an existing
 * session at the provider does not count); {@link StepUpClient.finish} completes it and returns
 * the {@link MfaEvidence} recorded with the approval, or throws a {@link StepUpError} that says
 * in plain words why the login does not count.
 *
 * The protocol checks — code exchange, ID token signature, issuer, audience, expiry, `state`,
 * `nonce`, `max_age` — are done by `openid-client`; this module adds Elevate's rules on top:
 * how fresh the login must be, which `amr`/`acr` values count as MFA, and that an email address
 * comes with the ID token.
 */
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import type { Metrics } from '../../runtime/metrics.js';

/** `amr` values (RFC 8176) that count as multi-factor authentication unless configured otherwise. */
export const DEFAULT_MFA_METHODS: readonly string[] = ['mfa', 'otp', 'hwk', 'swk'];
/** How old, in seconds, a login may be unless configured otherwise. */
export const DEFAULT_MAX_AGE_SECONDS = 300;
/**
 * Clock difference tolerated between Elevate and the provider, in seconds. Kept small on
 * purpose: every second added here is a second an old login stays acceptable.
 */
export const CLOCK_TOLERANCE_SECONDS = 30;

/** How Elevate talks to the organisation's OpenID Connect provider for step-up logins. */
export interface StepUpSettings {
  /** Issuer identifier, e.g. `https://login.example.org/realms/main`; discovery starts here. */
  issuer: string;
  /** Client id registered for Elevate at the provider. */
  clientId: string;
  /** Client secret (sent with HTTP Basic); omit for a public client, which then relies on PKCE alone. */
  clientSecret?: string;
  /** Elevate's callback URL, exactly as registered at the provider. */
  redirectUri: string;
  /** `amr` values that count as MFA (case-sensitive, as RFC 8176 defines them). */
  mfaMethods: string[];
  /** `acr` values that count as MFA, for providers that signal MFA by `acr` rather than `amr`. */
  mfaAcrValues: string[];
  /** Sent as `acr_values` when set, to ask the provider for a particular assurance level. */
  acrValues?: string;
  /** How long ago, in seconds, the approver may have logged in; also sent as `max_age`. */
  maxAgeSeconds: number;
  /** ID token claim that holds the approver's email address. */
  emailClaim: string;
}

/** What {@link stepUpSettings} needs; everything with a default may be left out. */
export type StepUpSettingsInput = Pick<StepUpSettings, 'issuer' | 'clientId' | 'redirectUri'> &
  Partial<Omit<StepUpSettings, 'issuer' | 'clientId' | 'redirectUri'>>;

/** Fills in the defaults: MFA methods `mfa otp hwk swk`, no MFA `acr` values, 300 s, claim `email`. */
export function stepUpSettings(input: StepUpSettingsInput): StepUpSettings {
  return {
    ...input,
    mfaMethods: input.mfaMethods ?? [...DEFAULT_MFA_METHODS],
    mfaAcrValues: input.mfaAcrValues ?? [],
    maxAgeSeconds: input.maxAgeSeconds ?? DEFAULT_MAX_AGE_SECONDS,
    emailClaim: input.emailClaim ?? 'email',
  };
}

/**
 * The secrets of one login in progress. Keep it server-side (never in the link or a readable
 * cookie) from {@link StepUpClient.begin} until the callback arrives, and use it only once.
 */
export interface LoginTransaction {
  state: string;
  nonce: string;
  codeVerifier: string;
  /** When the login was started, in milliseconds since the epoch. */
  createdAt: number;
}

/** Proof of a fresh MFA login, recorded with the approval in the audit trail. */
export interface MfaEvidence {
  /** The provider that vouched for the login (`iss`). */
  issuer: string;
  /** The approver's subject identifier at that provider (`sub`). */
  subject: string;
  /** The approver's email address, from the configured claim. */
  email: string;
  /** Authentication methods the provider reported (`amr`), possibly empty. */
  amr: string[];
  /** Authentication context class the provider reported (`acr`), if any. */
  acr?: string;
  /** When the approver logged in (`auth_time`), ISO 8601. */
  authTime: string;
  /** The `amr` or `acr` value that satisfied the MFA rule. */
  mfaMethod: string;
  /** `sha256:` and the hex SHA-256 of the raw ID token, so the token can be matched later without storing it. */
  idTokenHash: string;
}

/** Why a step-up login does not count. */
export type StepUpFailure =
  /** Neither `amr` nor `acr` shows multi-factor authentication. */
  | 'insufficient_user_authentication'
  /** `auth_time` is older than the allowed age (or in the future). */
  | 'login_too_old'
  /** The ID token has no `auth_time`, so freshness cannot be shown. */
  | 'missing_auth_time'
  /** The ID token carries no (verified) email address. */
  | 'missing_email'
  /** The callback's `state` is not the one this login was started with. */
  | 'state_mismatch'
  /** The ID token's `nonce` is not the one this login was started with. */
  | 'nonce_mismatch'
  /** The provider answered with an error instead of a code (e.g. `access_denied`). */
  | 'idp_error'
  /** The code exchange or the ID token was refused (signature, issuer, audience, expiry, reused code). */
  | 'token_rejected';

/** A step-up login that does not count; `message` is written for the approver. */
export class StepUpError extends Error {
  override readonly name = 'StepUpError';
  constructor(
    readonly code: StepUpFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Hosts for which `allowInsecureHttp` may switch HTTPS off: this machine only. */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/** The `claims` request: asks for the MFA facts in the ID token itself, not only in userinfo. */
function claimsRequest(emailClaim: string): string {
  return JSON.stringify({
    id_token: {
      amr: { essential: true },
      acr: null,
      auth_time: { essential: true },
      [emailClaim]: { essential: true },
    },
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

const RESTART = 'Please start again from the approval link.';

/**
 * Turns an openid-client error into a {@link StepUpError}. Network failures and programming
 * errors are returned unchanged: they are not the approver's doing and should be reported as such.
 */
function toStepUpError(err: unknown): unknown {
  if (err instanceof StepUpError) return err;
  if (err instanceof client.AuthorizationResponseError) {
    const detail = err.error_description ? `${err.error}: ${err.error_description}` : err.error;
    return new StepUpError('idp_error', `The identity provider did not complete the login (${detail}).`, {
      cause: err,
    });
  }
  if (err instanceof client.ResponseBodyError) {
    return new StepUpError(
      'token_rejected',
      `The identity provider refused to complete the login (${err.error}); the link may have been used already. ${RESTART}`,
      { cause: err },
    );
  }
  if (err instanceof client.ClientError) {
    // openid-client wraps the underlying check, whose message and details say what failed.
    const inner = err.cause instanceof Error ? err.cause : undefined;
    const detail = inner?.message ?? '';
    const info = isRecord(inner?.cause) ? inner.cause : {};
    if (err.code === 'OAUTH_INVALID_RESPONSE' && /"state"/.test(detail)) {
      return new StepUpError(
        'state_mismatch',
        `This login answer does not belong to the login you started. ${RESTART}`,
        { cause: err },
      );
    }
    if (err.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && info['claim'] === 'nonce') {
      return new StepUpError(
        'nonce_mismatch',
        `The login token does not belong to the login you started. ${RESTART}`,
        {
          cause: err,
        },
      );
    }
    if (err.code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED' && info['claim'] === 'auth_time') {
      return new StepUpError('login_too_old', `Your login is too old to count; log in again. ${RESTART}`, {
        cause: err,
      });
    }
    if (/"auth_time".*missing/.test(detail)) {
      return new StepUpError(
        'missing_auth_time',
        'The identity provider did not say when you logged in, so the login cannot count.',
        { cause: err },
      );
    }
    return new StepUpError(
      'token_rejected',
      `The login token was not accepted (${detail || err.message}). ${RESTART}`,
      {
        cause: err,
      },
    );
  }
  return err;
}

/**
 * The relying party for step-up logins at one OpenID Connect provider. Create it once with
 * {@link StepUpClient.discover} and share it; it keeps no per-login state.
 */
export class StepUpClient {
  private constructor(
    /** The settings this client was discovered with. */
    readonly settings: StepUpSettings,
    private readonly config: client.Configuration,
    private readonly metrics?: Pick<Metrics, 'oidcErrors'>,
  ) {}

  /**
   * Reads the provider's discovery document and checks the settings.
   *
   * `allowInsecureHttp` permits an `http:` issuer, and only on a loopback address: it exists for
   * the development identity provider and tests. Anywhere else the issuer must use HTTPS.
   * `metrics` counts failures by stage: `discovery`, `token` (the code exchange) and `claims`
   * (the login does not meet Elevate's rules).
   */
  static async discover(
    settings: StepUpSettings,
    opts: { allowInsecureHttp?: boolean; metrics?: Pick<Metrics, 'oidcErrors'> } = {},
  ): Promise<StepUpClient> {
    const issuer = new URL(settings.issuer);
    new URL(settings.redirectUri); // throws on a malformed callback URL, now rather than at the first login
    if (!Number.isInteger(settings.maxAgeSeconds) || settings.maxAgeSeconds <= 0) {
      throw new Error(`step-up maxAgeSeconds must be a positive whole number, not ${settings.maxAgeSeconds}`);
    }
    if (settings.mfaMethods.length === 0 && settings.mfaAcrValues.length === 0) {
      throw new Error(
        'step-up needs at least one MFA amr method or acr value; otherwise no login could count',
      );
    }
    const insecure = issuer.protocol === 'http:';
    if (insecure && !(opts.allowInsecureHttp && isLoopbackHost(issuer.hostname))) {
      throw new Error(
        `the OIDC issuer ${settings.issuer} must use https (plain http is allowed only for a loopback development provider)`,
      );
    }
    let config: client.Configuration;
    try {
      config = await client.discovery(
        issuer,
        settings.clientId,
        { [client.clockTolerance]: CLOCK_TOLERANCE_SECONDS },
        settings.clientSecret === undefined ? client.None() : client.ClientSecretBasic(settings.clientSecret),
        // Marked deprecated by openid-client to stand out; used for loopback development issuers only (checked above).
        insecure ? { execute: [client.allowInsecureRequests] } : undefined,
      );
    } catch (err) {
      opts.metrics?.oidcErrors.inc({ stage: 'discovery' });
      throw err;
    }
    return new StepUpClient(settings, config, opts.metrics);
  }

  /**
   * Starts a login: returns the provider URL to send the approver to, and the transaction to
   * keep until the callback. Every call makes new secrets (PKCE S256 verifier, state, nonce).
   */
  async begin(): Promise<{ url: string; transaction: LoginTransaction }> {
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const params: Record<string, string> = {
      redirect_uri: this.settings.redirectUri,
      scope: 'openid email',
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      max_age: String(this.settings.maxAgeSeconds),
      // A fresh login even if the approver has a session at the provider.
      prompt: 'login',
      claims: claimsRequest(this.settings.emailClaim),
    };
    if (this.settings.acrValues) params['acr_values'] = this.settings.acrValues;
    const url = client.buildAuthorizationUrl(this.config, params);
    return { url: url.href, transaction: { state, nonce, codeVerifier, createdAt: Date.now() } };
  }

  /**
   * Completes a login from the callback URL the provider redirected the approver to, and
   * returns the evidence, or throws a {@link StepUpError}. Checks, in order: the protocol
   * (by openid-client), `auth_time` freshness, MFA by `amr` or `acr`, the email claim.
   * Network failures reaching the provider are thrown as they are.
   */
  async finish(callbackUrl: URL, transaction: LoginTransaction): Promise<MfaEvidence> {
    // The token request must name the redirect URI registered at the provider, whatever
    // host or path the callback reached Elevate through (a proxy may have rewritten them).
    const current = new URL(this.settings.redirectUri);
    current.search = callbackUrl.search;
    let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
    try {
      tokens = await client.authorizationCodeGrant(this.config, current, {
        pkceCodeVerifier: transaction.codeVerifier,
        expectedState: transaction.state,
        expectedNonce: transaction.nonce,
        maxAge: this.settings.maxAgeSeconds,
        idTokenExpected: true,
      });
    } catch (err) {
      this.metrics?.oidcErrors.inc({ stage: 'token' });
      throw toStepUpError(err);
    }
    try {
      return this.evidence(tokens);
    } catch (err) {
      this.metrics?.oidcErrors.inc({ stage: 'claims' });
      throw err;
    }
  }

  /** Elevate's rules on a completed login: an ID token, a fresh `auth_time`, MFA, an email address. */
  private evidence(tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>): MfaEvidence {
    const idToken = tokens.id_token;
    const claims = tokens.claims();
    if (idToken === undefined || claims === undefined) {
      throw new StepUpError('token_rejected', `The identity provider returned no ID token. ${RESTART}`);
    }

    const authTime = claims.auth_time;
    if (typeof authTime !== 'number') {
      throw new StepUpError(
        'missing_auth_time',
        'The identity provider did not say when you logged in, so the login cannot count.',
      );
    }
    const now = Date.now() / 1000;
    if (authTime > now + CLOCK_TOLERANCE_SECONDS) {
      throw new StepUpError(
        'login_too_old',
        'The identity provider reports a login time in the future; the clocks disagree, so the login cannot count.',
      );
    }
    if (now - authTime > this.settings.maxAgeSeconds + CLOCK_TOLERANCE_SECONDS) {
      throw new StepUpError(
        'login_too_old',
        `Your login is ${Math.round(now - authTime)} seconds old; it must be at most ${this.settings.maxAgeSeconds}. ${RESTART}`,
      );
    }

    const amr = Array.isArray(claims.amr) ? claims.amr.filter((v): v is string => typeof v === 'string') : [];
    const acr = typeof claims.acr === 'string' ? claims.acr : undefined;
    const mfaMethod = this.mfaMethod(amr, acr);
    if (mfaMethod === undefined) {
      const shown = [`amr: ${amr.length ? amr.join(' ') : 'none'}`, ...(acr ? [`acr: ${acr}`] : [])].join(
        ', ',
      );
      throw new StepUpError(
        'insufficient_user_authentication',
        `Your login did not use multi-factor authentication (${shown}).`,
      );
    }

    const email = claims[this.settings.emailClaim];
    if (typeof email !== 'string' || email.length === 0) {
      throw new StepUpError(
        'missing_email',
        `The identity provider did not include your email address (claim ${this.settings.emailClaim}).`,
      );
    }
    if (this.settings.emailClaim === 'email' && claims['email_verified'] === false) {
      throw new StepUpError(
        'missing_email',
        'The identity provider says your email address is not verified.',
      );
    }

    return {
      issuer: claims.iss,
      subject: claims.sub,
      email,
      amr,
      ...(acr === undefined ? {} : { acr }),
      authTime: new Date(authTime * 1000).toISOString(),
      mfaMethod,
      idTokenHash: `sha256:${createHash('sha256').update(idToken).digest('hex')}`,
    };
  }

  /**
   * The value that makes this login count as MFA: a concrete `amr` method first (so the audit
   * says `otp` or `hwk` rather than just `mfa`), then an MFA `acr`, then a generic `mfa`.
   */
  private mfaMethod(amr: string[], acr: string | undefined): string | undefined {
    const { mfaMethods, mfaAcrValues } = this.settings;
    const concrete = amr.find((v) => v !== 'mfa' && mfaMethods.includes(v));
    if (concrete !== undefined) return concrete;
    if (acr !== undefined && mfaAcrValues.includes(acr)) return acr;
    if (amr.includes('mfa') && mfaMethods.includes('mfa')) return 'mfa';
    return undefined;
  }
}
