/**
 * Sign-in to the admin console at the organisation's OpenID Connect provider — the same
 * provider approvers log in at, with its own callback (`/admin/callback`, registered at the
 * provider beside `/approvals/callback`).
 *
 * Elevate is the relying party: authorization code flow with PKCE (S256), a fresh `state` and
 * `nonce` per sign-in, the ID token checked by `openid-client` (signature, issuer, audience,
 * expiry, nonce). On top, the sign-in must meet the same login rule (`LoginRule`) as an approval —
 * one implementation of it, in `step-up.ts`: multi-factor authentication by `amr`/`acr` and an
 * verified, plain-ASCII email address; the group claim is read so the console can decide admin
 * rights. The group claim must carry immutable group ids (e.g. Entra object ids), never names
 * that users can create. With `maxAgeSeconds` (`ADMIN_SIGN_IN_MAX_AGE_SECONDS`, 900 s unless
 * configured) a sign-in needs a fresh login, as an approval does; without it (only when a caller
 * leaves it out) the person's session at the provider may be reused and `auth_time` is only
 * recorded.
 */
import type * as client from 'openid-client';
import {
  completeLogin,
  discoverProvider,
  startLogin,
  type LoginSettings,
  type LoginTransaction,
  type StepUpSettings,
} from './step-up.js';

/** How the console signs people in: the approvals' provider settings, plus the group claim. */
export interface AdminLoginSettings extends Pick<
  StepUpSettings,
  | 'issuer'
  | 'clientId'
  | 'clientSecret'
  | 'mfaMethods'
  | 'mfaAcrValues'
  | 'emailClaim'
  | 'emailClaimTrusted'
  | 'joinClaim'
> {
  /** `<public URL>/admin/callback`, as registered at the provider. */
  redirectUri: string;
  /** ID token claim that lists the person's groups (e.g. `groups`). */
  groupsClaim: string;
  /** When set, a sign-in needs a login at most this old, as an approval does (see `LoginRule`). */
  maxAgeSeconds?: number;
}

/** Who signed in, and how, from the ID token. */
export interface AdminIdentity {
  issuer: string;
  subject: string;
  /** The address from the configured e-mail claim: verified, plain ASCII, lower case. */
  email: string;
  /** The value of the directory join claim, when one is configured. */
  joinValue?: string;
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

const RESTART = 'Please sign in again.';

/**
 * The console's login settings, field by field: no `acr_values`, and a freshness rule only if
 * the console's own `maxAgeSeconds` asks for one, even if `settings` is a wider object (the
 * approvals' settings) that carries theirs.
 */
function loginSettings(settings: AdminLoginSettings): LoginSettings {
  const {
    issuer,
    clientId,
    clientSecret,
    redirectUri,
    mfaMethods,
    mfaAcrValues,
    emailClaim,
    emailClaimTrusted,
    joinClaim,
    maxAgeSeconds,
  } = settings;
  return {
    issuer,
    clientId,
    ...(clientSecret === undefined ? {} : { clientSecret }),
    redirectUri,
    mfaMethods,
    mfaAcrValues,
    emailClaim,
    ...(emailClaimTrusted === undefined ? {} : { emailClaimTrusted }),
    ...(joinClaim === undefined ? {} : { joinClaim }),
    ...(maxAgeSeconds === undefined ? {} : { maxAgeSeconds }),
  };
}

/**
 * The relying party for console sign-ins. Create it once with {@link AdminLoginClient.discover}
 * and share it; it keeps no per-sign-in state (the caller keeps the {@link LoginTransaction}).
 */
export class AdminLoginClient {
  private constructor(
    readonly settings: AdminLoginSettings,
    private readonly login: LoginSettings,
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
    const login = loginSettings(settings);
    return new AdminLoginClient(settings, login, await discoverProvider(login, 'console sign-in', opts));
  }

  /** Starts a sign-in: the provider URL, and the transaction to keep server-side until the callback. */
  begin(): Promise<{ url: string; transaction: LoginTransaction }> {
    // The MFA facts and the groups in the ID token itself.
    return startLogin(this.config, this.login, [this.settings.groupsClaim]);
  }

  /**
   * Completes a sign-in from the callback URL; throws a `StepUpError` when it does not
   * count (protocol failure, no MFA, no e-mail address). Network faults are thrown as they are.
   */
  async finish(callbackUrl: URL, transaction: LoginTransaction): Promise<AdminIdentity> {
    const { evidence, claims } = await completeLogin(this.config, this.login, {
      url: callbackUrl,
      transaction,
      restart: RESTART,
    });
    const rawGroups = claims[this.settings.groupsClaim];
    const groups = (Array.isArray(rawGroups) ? rawGroups : typeof rawGroups === 'string' ? [rawGroups] : [])
      .filter((g): g is string => typeof g === 'string')
      .slice(0, 1000);
    // `evidence.email` is already canonical (checked by the login rule).
    return { ...evidence, groups };
  }
}
