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
 * how fresh the login must be, which `amr`/`acr` values count as MFA (see {@link mfaMethodOf}),
 * and that a verified, plain-ASCII email address comes with the ID token (`email_verified: true`;
 * see `core/rules/email-address.ts` for why ASCII only). That rule ({@link LoginRule}) and the login around it
 * ({@link discoverProvider}, {@link startLogin}, {@link completeLogin}) also serve the admin
 * console's sign-in, without the freshness part, so the two cannot come to disagree on MFA.
 */
import { createHash } from 'node:crypto';
import * as client from 'openid-client';
import type { OidcMetrics } from '../../core/ports/metrics.js';
import { canonicalAddress } from '../../core/rules/email-address.js';

/**
 * `amr` values (RFC 8176) that count as multi-factor authentication *on their own* unless
 * configured otherwise: `mfa` (the provider says several factors were used), and the
 * phishing-resistant key methods `hwk` (hardware key) and `fido` (a FIDO authenticator, as some
 * providers report WebAuthn). Besides these, a login always counts when its `amr` shows two
 * different factor classes (see {@link FACTOR_CLASSES}): `pwd`+`otp`, `swk`+`pin`, `hwk`+`fpt`.
 * A single `otp`, `sms` or `swk` does not: a one-time code sent by e-mail or SMS is one factor.
 */
export const DEFAULT_MFA_METHODS: readonly string[] = ['mfa', 'hwk', 'fido'];

/**
 * The factor class of each `amr` value that names one (RFC 8176): something you know, have or
 * are. Values that name no factor (`mfa`, `mca`, `user`, `geo`, `rba`, `wia`...) have none.
 */
export const FACTOR_CLASSES: Readonly<Record<string, 'knowledge' | 'possession' | 'inherence'>> = {
  pwd: 'knowledge',
  pin: 'knowledge',
  kba: 'knowledge',
  otp: 'possession',
  sms: 'possession',
  tel: 'possession',
  hwk: 'possession',
  swk: 'possession',
  sc: 'possession',
  pop: 'possession',
  fido: 'possession',
  fpt: 'inherence',
  face: 'inherence',
  iris: 'inherence',
  retina: 'inherence',
  vbm: 'inherence',
};
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
  /**
   * Required to use an `emailClaim` other than `email` (`OIDC_EMAIL_CLAIM_TRUSTED`): such a
   * claim comes without `email_verified`, so the operator vouches that the provider fills it
   * only with addresses it has verified and that users cannot change.
   */
  emailClaimTrusted?: boolean;
  /**
   * ID token claim whose value joins the person to their directory entry
   * (`OIDC_APPROVER_JOIN_CLAIM`, e.g. `preferred_username` for LDAP `uid`); when set, a login
   * without it does not count.
   */
  joinClaim?: string;
}

/** What {@link stepUpSettings} needs; everything with a default may be left out. */
export type StepUpSettingsInput = Pick<StepUpSettings, 'issuer' | 'clientId' | 'redirectUri'> &
  Partial<Omit<StepUpSettings, 'issuer' | 'clientId' | 'redirectUri'>>;

/** Fills in the defaults: MFA methods `mfa hwk fido`, no MFA `acr` values, 300 s, claim `email`. */
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
  /** The approver's email address, from the configured claim, in canonical (lower-case ASCII) form. */
  email: string;
  /** The value of the configured join claim, when one is configured. */
  joinValue?: string;
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
  /** The ID token carries no email address. */
  | 'missing_email'
  /** The email address is not verified (`email_verified` is not `true`), or its claim is not trusted. */
  | 'unverified_email'
  /** The email address holds non-ASCII characters, which can imitate another address. */
  | 'non_ascii_address'
  /** The email address is not a single plain address. */
  | 'malformed_address'
  /** The ID token lacks the claim that joins the person to the directory. */
  | 'missing_identity_claim'
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

/**
 * Which logins count, for approvals and console sign-ins alike: multi-factor authentication by
 * `amr` or `acr`, an email address in the configured claim and, where freshness matters, a
 * recent `auth_time`. One rule, so that what counts as MFA cannot drift between the two.
 */
export interface LoginRule {
  /** `amr` values that count as MFA (case-sensitive, as RFC 8176 defines them). */
  mfaMethods: string[];
  /** `acr` values that count as MFA, for providers that signal MFA by `acr` rather than `amr`. */
  mfaAcrValues: string[];
  /** ID token claim that holds the person's email address. */
  emailClaim: string;
  /** Whether a non-`email` {@link emailClaim} is trusted as verified (see {@link StepUpSettings}). */
  emailClaimTrusted?: boolean;
  /** ID token claim whose value joins the person to their directory entry, when configured. */
  joinClaim?: string;
  /**
   * When set, the login must be fresh: the provider is asked for a new login (`prompt=login`,
   * `max_age`), and `auth_time` must be present and at most this many seconds old. When absent
   * (console sign-in, which may reuse a session at the provider), `auth_time` is only recorded.
   */
  maxAgeSeconds?: number;
}

/** Where and as whom Elevate logs people in, and the {@link LoginRule} their logins must meet. */
export interface LoginSettings
  extends LoginRule, Pick<StepUpSettings, 'issuer' | 'clientId' | 'clientSecret' | 'redirectUri'> {
  /** Sent as `acr_values` when set, to ask the provider for a particular assurance level. */
  acrValues?: string;
}

/** What a login that meets the {@link LoginRule} shows; `authTime` is certain only with a freshness rule. */
export type LoginEvidence = Omit<MfaEvidence, 'authTime'> & { authTime?: string };

/** A login that meets the rule: its evidence, and the ID token's claims for anything else the caller reads. */
export interface CheckedLogin<E extends LoginEvidence> {
  evidence: E;
  claims: client.IDToken;
}

/** Hosts for which `allowInsecureHttp` may switch HTTPS off: this machine only. */
function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

/**
 * The `claims` request: asks for the MFA facts in the ID token itself, not only in userinfo,
 * plus `more` (asked for without insisting).
 */
function claimsRequest(rule: LoginRule, more: readonly string[]): string {
  return JSON.stringify({
    id_token: {
      amr: { essential: true },
      acr: null,
      auth_time: rule.maxAgeSeconds === undefined ? null : { essential: true },
      [rule.emailClaim]: { essential: true },
      ...(rule.emailClaim === 'email' ? { email_verified: { essential: true } } : {}),
      ...(rule.joinClaim === undefined ? {} : { [rule.joinClaim]: { essential: true } }),
      ...Object.fromEntries(more.map((claim) => [claim, null])),
    },
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * Turns an openid-client error into a {@link StepUpError}; `restart` ends the messages that ask
 * the person to try again. Network failures and programming errors are returned unchanged: they
 * are not the person's doing and should be reported as such.
 */
function toStepUpError(err: unknown, restart: string): unknown {
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
      `The identity provider refused to complete the login (${err.error}); the link may have been used already. ${restart}`,
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
        `This login answer does not belong to the login you started. ${restart}`,
        { cause: err },
      );
    }
    if (err.code === 'OAUTH_JWT_CLAIM_COMPARISON_FAILED' && info['claim'] === 'nonce') {
      return new StepUpError(
        'nonce_mismatch',
        `The login token does not belong to the login you started. ${restart}`,
        {
          cause: err,
        },
      );
    }
    if (err.code === 'OAUTH_JWT_TIMESTAMP_CHECK_FAILED' && info['claim'] === 'auth_time') {
      return new StepUpError('login_too_old', `Your login is too old to count; log in again. ${restart}`, {
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
      `The login token was not accepted (${detail || err.message}). ${restart}`,
      {
        cause: err,
      },
    );
  }
  return err;
}

/**
 * Checks the settings and reads the provider's discovery document. `purpose` names the login in
 * the errors (e.g. `step-up`). `allowInsecureHttp` permits an `http:` issuer, and only on a
 * loopback address: it exists for the development identity provider and tests. `metrics`
 * counts a failed discovery (stage `discovery`).
 */
export async function discoverProvider(
  settings: LoginSettings,
  purpose: string,
  opts: { allowInsecureHttp?: boolean; metrics?: OidcMetrics } = {},
): Promise<client.Configuration> {
  const issuer = new URL(settings.issuer);
  new URL(settings.redirectUri); // throws on a malformed callback URL, now rather than at the first login
  const { maxAgeSeconds } = settings;
  if (maxAgeSeconds !== undefined && (!Number.isInteger(maxAgeSeconds) || maxAgeSeconds <= 0)) {
    throw new Error(`${purpose} maxAgeSeconds must be a positive whole number, not ${maxAgeSeconds}`);
  }
  if (settings.mfaMethods.length === 0 && settings.mfaAcrValues.length === 0) {
    throw new Error(
      `${purpose} needs at least one MFA amr method or acr value; otherwise no login could count`,
    );
  }
  if (settings.emailClaim !== 'email' && settings.emailClaimTrusted !== true) {
    throw new Error(
      `${purpose} reads the email address from claim ${settings.emailClaim}, which carries no email_verified; set OIDC_EMAIL_CLAIM_TRUSTED=true only if the provider fills it with verified addresses users cannot change`,
    );
  }
  const insecure = issuer.protocol === 'http:';
  if (insecure && !(opts.allowInsecureHttp && isLoopbackHost(issuer.hostname))) {
    throw new Error(
      `the OIDC issuer ${settings.issuer} must use https (plain http is allowed only for a loopback development provider)`,
    );
  }
  try {
    return await client.discovery(
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
}

/**
 * Starts a login: the provider URL to send the person to, and the transaction to keep until the
 * callback. Every call makes new secrets (PKCE S256 verifier, state, nonce). With a freshness
 * rule the provider is asked for a new login even if the person has a session there.
 * `moreClaims` are asked for in the ID token besides the rule's own.
 */
export async function startLogin(
  config: client.Configuration,
  settings: LoginSettings,
  moreClaims: readonly string[] = [],
): Promise<{ url: string; transaction: LoginTransaction }> {
  const codeVerifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const params: Record<string, string> = {
    redirect_uri: settings.redirectUri,
    scope: 'openid email',
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
    code_challenge_method: 'S256',
  };
  if (settings.maxAgeSeconds !== undefined) {
    params['max_age'] = String(settings.maxAgeSeconds);
    params['prompt'] = 'login';
  }
  params['claims'] = claimsRequest(settings, moreClaims);
  if (settings.acrValues) params['acr_values'] = settings.acrValues;
  const url = client.buildAuthorizationUrl(config, params);
  return { url: url.href, transaction: { state, nonce, codeVerifier, createdAt: Date.now() } };
}

/** The callback of a login in progress, and how to report on it. */
export interface LoginCallback {
  /** The URL the provider redirected the person's browser to. */
  url: URL;
  /** The transaction kept since {@link startLogin}. */
  transaction: LoginTransaction;
  /** Ends the messages that ask the person to try again. */
  restart: string;
  /** Counts failures by stage: `token` (the code exchange) and `claims` (the login does not meet the rule). */
  metrics?: OidcMetrics | undefined;
}

/**
 * Completes a login from its callback and returns what it shows, or throws a
 * {@link StepUpError}. Checks, in order: the protocol (by openid-client: code exchange, ID
 * token signature, issuer, audience, expiry, `state`, `nonce`, `max_age`), then the
 * {@link LoginRule}. Network failures reaching the provider are thrown as they are. With a
 * freshness rule (`maxAgeSeconds`) the evidence always has `authTime`.
 */
export async function completeLogin(
  config: client.Configuration,
  settings: LoginSettings & { maxAgeSeconds: number },
  callback: LoginCallback,
): Promise<CheckedLogin<MfaEvidence>>;
export async function completeLogin(
  config: client.Configuration,
  settings: LoginSettings,
  callback: LoginCallback,
): Promise<CheckedLogin<LoginEvidence>>;
export async function completeLogin(
  config: client.Configuration,
  settings: LoginSettings,
  { url: callbackUrl, transaction, restart, metrics }: LoginCallback,
): Promise<CheckedLogin<LoginEvidence>> {
  // The token request must name the redirect URI registered at the provider, whatever
  // host or path the callback reached Elevate through (a proxy may have rewritten them).
  const current = new URL(settings.redirectUri);
  current.search = callbackUrl.search;
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>;
  try {
    tokens = await client.authorizationCodeGrant(config, current, {
      pkceCodeVerifier: transaction.codeVerifier,
      expectedState: transaction.state,
      expectedNonce: transaction.nonce,
      ...(settings.maxAgeSeconds === undefined ? {} : { maxAge: settings.maxAgeSeconds }),
      idTokenExpected: true,
    });
  } catch (err) {
    metrics?.oidcErrors.inc({ stage: 'token' });
    throw toStepUpError(err, restart);
  }
  try {
    return checkLogin(tokens, settings, restart);
  } catch (err) {
    metrics?.oidcErrors.inc({ stage: 'claims' });
    throw err;
  }
}

/** The {@link LoginRule} on a completed login: an ID token, a fresh `auth_time` if required, MFA, an email address. */
function checkLogin(
  tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>,
  rule: LoginRule,
  restart: string,
): CheckedLogin<LoginEvidence> {
  const idToken = tokens.id_token;
  const claims = tokens.claims();
  if (idToken === undefined || claims === undefined) {
    throw new StepUpError('token_rejected', `The identity provider returned no ID token. ${restart}`);
  }

  const authTime = claims.auth_time;
  if (rule.maxAgeSeconds !== undefined) {
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
    if (now - authTime > rule.maxAgeSeconds + CLOCK_TOLERANCE_SECONDS) {
      throw new StepUpError(
        'login_too_old',
        `Your login is ${Math.round(now - authTime)} seconds old; it must be at most ${rule.maxAgeSeconds}. ${restart}`,
      );
    }
  }

  const amr = Array.isArray(claims.amr) ? claims.amr.filter((v): v is string => typeof v === 'string') : [];
  const acr = typeof claims.acr === 'string' ? claims.acr : undefined;
  const mfaMethod = mfaMethodOf(rule, amr, acr);
  if (mfaMethod === undefined) {
    const shown = [`amr: ${amr.length ? amr.join(' ') : 'none'}`, ...(acr ? [`acr: ${acr}`] : [])].join(', ');
    throw new StepUpError(
      'insufficient_user_authentication',
      `Your login did not use multi-factor authentication (${shown}).`,
    );
  }

  const email = verifiedEmail(claims, rule);
  let joinValue: string | undefined;
  if (rule.joinClaim !== undefined) {
    const raw = claims[rule.joinClaim];
    if (typeof raw !== 'string' || raw === '') {
      throw new StepUpError(
        'missing_identity_claim',
        `The identity provider did not say who you are in the directory (claim ${rule.joinClaim}).`,
      );
    }
    joinValue = raw;
  }

  return {
    evidence: {
      issuer: claims.iss,
      subject: claims.sub,
      email,
      ...(joinValue === undefined ? {} : { joinValue }),
      amr,
      ...(acr === undefined ? {} : { acr }),
      ...(typeof authTime === 'number' ? { authTime: new Date(authTime * 1000).toISOString() } : {}),
      mfaMethod,
      idTokenHash: `sha256:${createHash('sha256').update(idToken).digest('hex')}`,
    },
    claims,
  };
}

/**
 * The login's email address, if it may stand for the person: present, verified and plain ASCII.
 * `email_verified` must be `true` — absent is not enough (some providers leave it out for
 * addresses that admins or guests set, the "nOAuth" class). It speaks of the `email` claim only,
 * so another claim must be declared trusted by the operator.
 */
function verifiedEmail(claims: client.IDToken, rule: LoginRule): string {
  const raw = claims[rule.emailClaim];
  if (typeof raw !== 'string' || raw.length === 0) {
    throw new StepUpError(
      'missing_email',
      `The identity provider did not include your email address (claim ${rule.emailClaim}).`,
    );
  }
  if (rule.emailClaim === 'email' ? claims['email_verified'] !== true : rule.emailClaimTrusted !== true) {
    throw new StepUpError(
      'unverified_email',
      rule.emailClaim === 'email'
        ? 'The identity provider does not say your email address is verified (email_verified is not true).'
        : `The email claim ${rule.emailClaim} is not declared trusted (OIDC_EMAIL_CLAIM_TRUSTED), so it cannot identify you.`,
    );
  }
  const address = canonicalAddress(raw);
  if (!address.ok) {
    throw new StepUpError(address.problem, `Your email address cannot be used: ${address.message}.`);
  }
  return address.address;
}

/**
 * The value that makes a login count as MFA, or undefined when it does not. In order: a method
 * that counts on its own ({@link LoginRule.mfaMethods}, default `mfa hwk fido`; a concrete one
 * first, so the audit says `hwk` rather than just `mfa`); two different factor classes
 * ({@link FACTOR_CLASSES}), reported as the first method beyond "something you know"; an MFA
 * `acr`; a generic `mfa`.
 */
function mfaMethodOf(rule: LoginRule, amr: string[], acr: string | undefined): string | undefined {
  const { mfaMethods, mfaAcrValues } = rule;
  const concrete = amr.find((v) => v !== 'mfa' && mfaMethods.includes(v));
  if (concrete !== undefined) return concrete;
  // Own properties only: `constructor` or `__proto__` in an amr must not look like a class.
  const classOf = (v: string) => (Object.hasOwn(FACTOR_CLASSES, v) ? FACTOR_CLASSES[v] : undefined);
  const classes = new Set(amr.map(classOf).filter((c) => c !== undefined));
  if (classes.size >= 2) return amr.find((v) => classOf(v) !== undefined && classOf(v) !== 'knowledge');
  if (acr !== undefined && mfaAcrValues.includes(acr)) return acr;
  if (amr.includes('mfa') && mfaMethods.includes('mfa')) return 'mfa';
  return undefined;
}

const RESTART = 'Please start again from the approval link.';

/**
 * The relying party for step-up logins at one OpenID Connect provider. Create it once with
 * {@link StepUpClient.discover} and share it; it keeps no per-login state.
 */
export class StepUpClient {
  private constructor(
    /** The settings this client was discovered with. */
    readonly settings: StepUpSettings,
    private readonly config: client.Configuration,
    private readonly metrics?: OidcMetrics,
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
    opts: { allowInsecureHttp?: boolean; metrics?: OidcMetrics } = {},
  ): Promise<StepUpClient> {
    return new StepUpClient(settings, await discoverProvider(settings, 'step-up', opts), opts.metrics);
  }

  /**
   * Starts a login: returns the provider URL to send the approver to, and the transaction to
   * keep until the callback. Every call makes new secrets (PKCE S256 verifier, state, nonce), and
   * the provider is asked for a fresh login (`prompt=login`, `max_age`) even if the approver has
   * a session there.
   */
  begin(): Promise<{ url: string; transaction: LoginTransaction }> {
    return startLogin(this.config, this.settings);
  }

  /**
   * Completes a login from the callback URL the provider redirected the approver to, and
   * returns the evidence, or throws a {@link StepUpError}. Checks, in order: the protocol
   * (by openid-client), `auth_time` freshness, MFA by `amr` or `acr`, the email claim.
   * Network failures reaching the provider are thrown as they are.
   */
  async finish(callbackUrl: URL, transaction: LoginTransaction): Promise<MfaEvidence> {
    const { evidence } = await completeLogin(this.config, this.settings, {
      url: callbackUrl,
      transaction,
      restart: RESTART,
      metrics: this.metrics,
    });
    return evidence;
  }
}
