/**
 * Step-up MFA logins end to end: the development identity provider (oidc-provider) on loopback,
 * Elevate's relying party (openid-client) against it, and logins driven over HTTP as a browser
 * would. Every refusal is checked by its specific code.
 */
import { Writable } from 'node:stream';
import { Secret } from 'otpauth';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AutomatedLoginError, automatedLogin } from '../../dev/automated-login.js';
import {
  DEV_ACR_MFA,
  DevProviderRefusedError,
  startDevIdentityProvider,
  type DevIdentityProvider,
} from '../../dev/dev-identity-provider.js';
import {
  StepUpClient,
  StepUpError,
  stepUpSettings,
  type LoginTransaction,
  type StepUpFailure,
  type StepUpSettings,
} from '../../integrations/oidc/step-up.js';
import { freePort } from '../../dev/processes.js';

const CLIENT_ID = 'elevate';
const CLIENT_SECRET = 'dev-client-secret-0123456789abcdef';
const MFA_USER = {
  email: 'ada@example.org',
  name: 'Ada',
  password: 'correct horse 1',
  totpSecret: new Secret().base32,
};
const PWD_USER = { email: 'bob@example.org', password: 'battery staple 2' };
/** Accounts whose address must not stand for a person (logins driven by the hook, so no TOTP). */
const NO_VERIFIED_CLAIM = { email: 'una@example.org', password: 'pw una 1', emailVerified: null };
const NOT_VERIFIED = { email: 'nov@example.org', password: 'pw nov 1', emailVerified: false };
/** `\u212A` is KELVIN SIGN, which lower-cases to ASCII `k`: `kate@example.org` to the old check. */
const KELVIN = { email: '\u212Aate@example.org', password: 'pw kelvin 1' };
/** The first letter is CYRILLIC SMALL LETTER A, which looks like Latin `a`. */
const CYRILLIC = { email: '\u0430da@example.org', password: 'pw cyrillic 1' };
const WITH_UID = { email: 'uma@example.org', password: 'pw uma 1', username: 'uma' };

let idp: DevIdentityProvider;
let redirectUri: string;
let settings: StepUpSettings;
let rp: StepUpClient;
const logLines: string[] = [];

beforeAll(async () => {
  // Nothing listens here: automatedLogin stops at the redirect and the tests hand it to finish().
  redirectUri = `http://127.0.0.1:${await freePort()}/oidc/callback`;
  const logger = pino(
    { level: 'info' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    }),
  );
  idp = await startDevIdentityProvider({
    clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [redirectUri] }],
    accounts: [MFA_USER, PWD_USER, NO_VERIFIED_CLAIM, NOT_VERIFIED, KELVIN, CYRILLIC, WITH_UID],
    logger,
    env: {},
  });
  settings = stepUpSettings({
    issuer: idp.issuer,
    clientId: CLIENT_ID,
    clientSecret: CLIENT_SECRET,
    redirectUri,
  });
  rp = await StepUpClient.discover(settings, { allowInsecureHttp: true });
});

afterAll(async () => {
  await idp?.stop();
});

afterEach(() => {
  idp.setLoginHook();
});

/** The error `promise` rejects with, which must be a StepUpError with `code`. */
async function expectStepUpError(promise: Promise<unknown>, code: StepUpFailure): Promise<StepUpError> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StepUpError);
  const stepUp = err as StepUpError;
  expect(stepUp.code, stepUp.message).toBe(code);
  return stepUp;
}

/** Starts a login with `client` and completes it at the provider; returns the callback URL. */
async function loginWith(
  client: StepUpClient,
  credentials: { email: string; password: string; totpSecret?: string },
): Promise<{ callback: URL; transaction: LoginTransaction }> {
  const { url, transaction } = await client.begin();
  return { callback: await automatedLogin(url, credentials), transaction };
}

describe('development identity provider and step-up client', () => {
  it('logs the development-only warning at start', () => {
    const warning = logLines
      .map((l) => JSON.parse(l) as { level: number; msg: string })
      .find((l) => l.level === 40);
    expect(warning?.msg).toMatch(/development.*not for production/i);
  });

  it('accepts a fresh login with password and TOTP and returns the MFA evidence', async () => {
    const { url, transaction } = await rp.begin();
    const auth = new URL(url);
    const params = auth.searchParams;
    expect(auth.origin).toBe(idp.issuer);
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(params.get('state')).toBe(transaction.state);
    expect(params.get('nonce')).toBe(transaction.nonce);
    expect(params.get('max_age')).toBe('300');
    expect(params.get('prompt')).toBe('login');
    expect(params.get('scope')).toBe('openid email');
    expect(JSON.parse(params.get('claims') ?? '{}')).toEqual({
      id_token: {
        amr: { essential: true },
        acr: null,
        auth_time: { essential: true },
        email: { essential: true },
        email_verified: { essential: true },
      },
    });
    expect(params.has('acr_values')).toBe(false);

    const callback = await automatedLogin(url, MFA_USER);
    expect(callback.origin + callback.pathname).toBe(redirectUri);
    expect(callback.searchParams.get('state')).toBe(transaction.state);

    const evidence = await rp.finish(callback, transaction);
    expect(evidence.issuer).toBe(idp.issuer);
    expect(evidence.subject).toMatch(/^dev-[0-9a-f]{24}$/);
    expect(evidence.email).toBe(MFA_USER.email);
    expect(evidence.amr).toEqual(['pwd', 'otp']);
    expect(evidence.acr).toBe(DEV_ACR_MFA);
    expect(evidence.mfaMethod).toBe('otp');
    expect(Math.abs(Date.parse(evidence.authTime) - Date.now())).toBeLessThan(10_000);
    expect(evidence.idTokenHash).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('sends acr_values when configured', async () => {
    const client = await StepUpClient.discover(
      { ...settings, acrValues: DEV_ACR_MFA },
      { allowInsecureHttp: true },
    );
    const { url } = await client.begin();
    expect(new URL(url).searchParams.get('acr_values')).toBe(DEV_ACR_MFA);
  });

  it('requires PKCE at the provider', async () => {
    const auth = new URL((await rp.begin()).url);
    auth.searchParams.delete('code_challenge');
    auth.searchParams.delete('code_challenge_method');
    const response = await fetch(auth, { redirect: 'manual' });
    const location = new URL(response.headers.get('location') ?? '', auth);
    expect(location.origin + location.pathname).toBe(redirectUri);
    expect(location.searchParams.get('error')).toBe('invalid_request');
    expect(location.searchParams.get('error_description')).toMatch(/PKCE/);
  });

  it('refuses a login with a password only', async () => {
    const { callback, transaction } = await loginWith(rp, PWD_USER);
    const err = await expectStepUpError(rp.finish(callback, transaction), 'insufficient_user_authentication');
    expect(err.message).toContain('amr: pwd');
  });

  it('prefers a concrete amr method over the generic mfa', async () => {
    idp.setLoginHook(() => ({ amr: ['pwd', 'mfa', 'hwk'] }));
    const { callback, transaction } = await loginWith(rp, PWD_USER);
    const evidence = await rp.finish(callback, transaction);
    expect(evidence.mfaMethod).toBe('hwk');
    expect(evidence.amr).toEqual(['pwd', 'mfa', 'hwk']);
  });

  it('accepts an MFA acr value without amr, when that acr is configured', async () => {
    const strong = 'urn:example:loa:strong';
    idp.setLoginHook(() => ({ amr: [], acr: strong }));
    const acrClient = await StepUpClient.discover(
      { ...settings, mfaAcrValues: [strong] },
      { allowInsecureHttp: true },
    );

    const accepted = await loginWith(acrClient, PWD_USER);
    const evidence = await acrClient.finish(accepted.callback, accepted.transaction);
    expect(evidence.amr).toEqual([]);
    expect(evidence.acr).toBe(strong);
    expect(evidence.mfaMethod).toBe(strong);

    // The same login does not count where that acr value is not configured.
    const refused = await loginWith(rp, PWD_USER);
    await expectStepUpError(
      rp.finish(refused.callback, refused.transaction),
      'insufficient_user_authentication',
    );
  });

  it('refuses a login that is 10 minutes old', async () => {
    idp.setLoginHook(() => ({ amr: ['pwd', 'otp'], authTime: Math.floor(Date.now() / 1000) - 600 }));
    const { callback, transaction } = await loginWith(rp, MFA_USER);
    await expectStepUpError(rp.finish(callback, transaction), 'login_too_old');
  });

  it('refuses a callback whose state belongs to another login', async () => {
    const other = await rp.begin();
    const { callback, transaction } = await loginWith(rp, MFA_USER);
    await expectStepUpError(
      rp.finish(callback, { ...transaction, state: other.transaction.state }),
      'state_mismatch',
    );
  });

  it('refuses an ID token whose nonce belongs to another login', async () => {
    const other = await rp.begin();
    const { callback, transaction } = await loginWith(rp, MFA_USER);
    await expectStepUpError(
      rp.finish(callback, { ...transaction, nonce: other.transaction.nonce }),
      'nonce_mismatch',
    );
  });

  it('refuses the same callback a second time (the code is used up)', async () => {
    const { callback, transaction } = await loginWith(rp, MFA_USER);
    await rp.finish(callback, transaction);
    await expectStepUpError(rp.finish(callback, transaction), 'token_rejected');
  });

  it('shows the login form again after a wrong password, the same for an unknown email, and issues no code', async () => {
    const { url } = await rp.begin();
    const wrong = await automatedLogin(url, { ...MFA_USER, password: 'wrong password' }).catch(
      (e: unknown) => e,
    );
    expect(wrong).toBeInstanceOf(AutomatedLoginError);
    const wrongErr = wrong as AutomatedLoginError;
    expect(wrongErr.page).toBe('login');
    expect(wrongErr.shownError).toBe('Wrong email or password.');
    expect(wrongErr.html).toContain('name="password"');
    expect(wrongErr.html).toContain('DEVELOPMENT IDENTITY PROVIDER — not for production use');

    const unknown = await automatedLogin((await rp.begin()).url, {
      email: 'nobody@example.org',
      password: 'x',
    }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(AutomatedLoginError);
    expect((unknown as AutomatedLoginError).status).toBe(wrongErr.status);
    expect((unknown as AutomatedLoginError).shownError).toBe(wrongErr.shownError);
  });

  it('shows the code form again after a wrong TOTP code', async () => {
    const { url } = await rp.begin();
    const err = await automatedLogin(url, { ...MFA_USER, totpSecret: new Secret().base32 }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AutomatedLoginError);
    expect((err as AutomatedLoginError).page).toBe('code');
    expect((err as AutomatedLoginError).shownError).toBe('Wrong or expired code.');
  });

  it('escapes what it shows on the login page', async () => {
    const { url } = await rp.begin();
    const err = (await automatedLogin(url, { email: '"><script>x</script>', password: 'x' }).catch(
      (e: unknown) => e,
    )) as AutomatedLoginError;
    expect(err.html).not.toContain('<script>');
    // Back in the email field, as typed: the quote cannot close the attribute.
    expect(err.html).toContain(
      'name="email" autocomplete="username" required autofocus value="&quot;>&lt;script>x&lt;/script>"',
    );
  });

  it('reports a cancelled login (error=access_denied) as idp_error', async () => {
    const { url, transaction } = await rp.begin();
    const callback = await automatedLogin(url, MFA_USER, { cancel: true });
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.has('code')).toBe(false);
    const err = await expectStepUpError(rp.finish(callback, transaction), 'idp_error');
    expect(err.message).toContain('access_denied');
  });

  it('allows plain http only for a loopback issuer', async () => {
    await expect(
      StepUpClient.discover({ ...settings, issuer: 'http://idp.example.org' }, { allowInsecureHttp: true }),
    ).rejects.toThrow(/must use https/);
    await expect(StepUpClient.discover(settings)).rejects.toThrow(/must use https/);
  });

  describe('when the e-mail address may not stand for the person (M2)', () => {
    const twoFactors = () => ({ amr: ['pwd', 'otp'] });

    it('when the ID token has no email_verified claim, then the login does not count', async () => {
      idp.setLoginHook(twoFactors);
      const { callback, transaction } = await loginWith(rp, NO_VERIFIED_CLAIM);
      const err = await expectStepUpError(rp.finish(callback, transaction), 'unverified_email');
      expect(err.message).toContain('email_verified');
    });

    it('when email_verified is false, then the login does not count', async () => {
      idp.setLoginHook(twoFactors);
      const { callback, transaction } = await loginWith(rp, NOT_VERIFIED);
      await expectStepUpError(rp.finish(callback, transaction), 'unverified_email');
    });

    it('when the address holds a KELVIN SIGN that folds to kate@, then the login does not count', async () => {
      idp.setLoginHook(twoFactors);
      expect(KELVIN.email.toLowerCase()).toBe('kate@example.org'); // what the old comparison saw
      const { callback, transaction } = await loginWith(rp, KELVIN);
      await expectStepUpError(rp.finish(callback, transaction), 'non_ascii_address');
    });

    it('when the address starts with a Cyrillic look-alike of ada@, then the login does not count', async () => {
      idp.setLoginHook(twoFactors);
      const { callback, transaction } = await loginWith(rp, CYRILLIC);
      await expectStepUpError(rp.finish(callback, transaction), 'non_ascii_address');
    });

    it('when the address is in another claim that is not declared trusted, then discovery refuses the settings', async () => {
      await expect(
        StepUpClient.discover({ ...settings, emailClaim: 'upn' }, { allowInsecureHttp: true }),
      ).rejects.toThrow(/OIDC_EMAIL_CLAIM_TRUSTED/);
    });

    it('when a directory join claim is configured, then the evidence carries it, and a login without it does not count', async () => {
      const joined = await StepUpClient.discover(
        { ...settings, joinClaim: 'preferred_username' },
        { allowInsecureHttp: true },
      );
      idp.setLoginHook(twoFactors);
      const ok = await loginWith(joined, WITH_UID);
      expect((await joined.finish(ok.callback, ok.transaction)).joinValue).toBe('uma');
      const without = await loginWith(joined, PWD_USER);
      await expectStepUpError(joined.finish(without.callback, without.transaction), 'missing_identity_claim');
    });
  });

  describe('when the login shows a single factor (L1)', () => {
    it.each([
      [['otp']],
      [['sms']],
      [['swk']],
      [['pwd', 'pin']],
      [['constructor', 'toString']],
      [['mca', 'user']],
    ])('when amr is %j, then the login does not count as MFA', async (amr) => {
      idp.setLoginHook(() => ({ amr }));
      const { callback, transaction } = await loginWith(rp, PWD_USER);
      await expectStepUpError(rp.finish(callback, transaction), 'insufficient_user_authentication');
    });

    it.each([
      [['swk', 'pin'], 'swk'],
      [['pwd', 'sms'], 'sms'],
      [['hwk'], 'hwk'],
      [['fido'], 'fido'],
      [['mfa'], 'mfa'],
      [['face', 'pwd'], 'face'],
    ])('when amr is %j, then the login counts, as %s', async (amr, method) => {
      idp.setLoginHook(() => ({ amr }));
      const { callback, transaction } = await loginWith(rp, PWD_USER);
      expect((await rp.finish(callback, transaction)).mfaMethod).toBe(method);
    });

    it('when OIDC_MFA_METHODS names otp, then a single otp counts again (the operator chose it)', async () => {
      const lax = await StepUpClient.discover(
        { ...settings, mfaMethods: ['otp'] },
        { allowInsecureHttp: true },
      );
      idp.setLoginHook(() => ({ amr: ['otp'] }));
      const { callback, transaction } = await loginWith(lax, PWD_USER);
      expect((await lax.finish(callback, transaction)).mfaMethod).toBe('otp');
    });
  });

  it('refuses to start when NODE_ENV=production', async () => {
    await expect(
      startDevIdentityProvider({
        clients: [],
        accounts: [],
        logger: pino({ level: 'silent' }),
        env: { NODE_ENV: 'production' },
      }),
    ).rejects.toBeInstanceOf(DevProviderRefusedError);
  });
});
