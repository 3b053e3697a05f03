/**
 * A development OpenID Connect provider (`oidc-provider`) on loopback, so that step-up MFA for
 * approvals works out of the box with `npm start` and in tests, without an organisation's
 * identity provider. It must never stand in for one: it refuses to start when
 * `NODE_ENV=production`, keeps everything (keys, sessions, codes) in memory, serves plain HTTP,
 * and says "not for production use" on every page and in the log.
 *
 * Accounts are a fixed list with a password and, optionally, a TOTP secret. A login with the
 * TOTP code yields `amr ["pwd","otp"]` and acr {@link DEV_ACR_MFA}; without a secret it yields
 * `amr ["pwd"]` and {@link DEV_ACR_PASSWORD}, which Elevate's step-up check rejects — as it
 * should. Tests can decide the outcome of a login themselves with
 * {@link DevIdentityProvider.setLoginHook}.
 *
 * Consent is granted automatically for the requested OpenID scopes and claims: the only client
 * is Elevate itself, registered by whoever starts the provider.
 */
import { createHash, generateKeyPair, randomBytes, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';
import type { Adapter, AdapterPayload, Configuration, Interaction, InteractionResults } from 'oidc-provider';
import { Secret, TOTP } from 'otpauth';
import type { Logger } from 'pino';
import { devCodePage, devErrorPage, devLoginPage, devMessagePage } from './dev-identity-pages.js';

/** `acr` of a development login with password and TOTP code. */
export const DEV_ACR_MFA = 'urn:elevate:dev:mfa';
/** `acr` of a development login with a password only. */
export const DEV_ACR_PASSWORD = 'urn:elevate:dev:pwd';

/** A user of the development identity provider. */
export interface DevAccount {
  email: string;
  name?: string;
  password: string;
  /** Base32 TOTP secret (SHA-1, 6 digits, 30 s, as authenticator apps use); when set, a login also needs the current code. */
  totpSecret?: string;
  /** Groups reported in the `groups` claim, when the relying party asks for it (the admin console does). */
  groups?: string[];
  /**
   * What the `email_verified` claim says (default `true`); `null` leaves the claim out, as some
   * providers do. For tests of Elevate's refusal of unverified addresses.
   */
  emailVerified?: boolean | null;
  /** Reported as `preferred_username` (e.g. the person's LDAP `uid`), when set. */
  username?: string;
}

/** How a login went, as the ID token will report it. */
export interface LoginOutcome {
  /** Authentication methods (`amr`); an empty list leaves `amr` out of the ID token. */
  amr: string[];
  acr?: string;
  /** `auth_time`, in seconds since the epoch; now when omitted. */
  authTime?: number;
}

/** A running development identity provider. */
export interface DevIdentityProvider {
  /** `http://<host>:<port>`, the issuer identifier to configure as Elevate's OIDC issuer. */
  issuer: string;
  /** Stops listening and closes open connections. Safe to call twice. */
  stop(): Promise<void>;
  /**
   * For tests: after the password has been checked, the hook decides the outcome of the login
   * instead of the account's factors (no TOTP code is asked for). Call without a hook to go
   * back to the account's factors.
   */
  setLoginHook(hook?: (account: DevAccount) => LoginOutcome): void;
}

/** Options of {@link startDevIdentityProvider}. */
export interface StartDevIdentityProviderOptions {
  /** Address to listen on (default `127.0.0.1`); keep it a loopback address. */
  host?: string;
  /** Port to listen on (default 0: a free port). */
  port?: number;
  /** Relying parties allowed to log users in: Elevate's client id, secret and callback URLs. */
  clients: { clientId: string; clientSecret: string; redirectUris: string[] }[];
  accounts: DevAccount[];
  logger: Logger;
  /** Environment to check for `NODE_ENV=production` (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/** The development identity provider was asked to start in production. */
export class DevProviderRefusedError extends Error {
  override readonly name = 'DevProviderRefusedError';
}

const LOGIN_FAILED = 'Wrong email or password.';
const CODE_FAILED = 'Wrong or expired code.';
/** Wrong TOTP codes allowed per login before the password has to be entered again. */
const MAX_CODE_ATTEMPTS = 5;
/** How long a password-checked login waits for its TOTP code. */
const PENDING_CODE_MS = 5 * 60_000;
const MAX_FORM_BYTES = 8 * 1024;
const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]+)(?:\/(login|code|cancel))?$/;

function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** The subject (`sub`) of an account: stable, and not the email address itself. */
function accountIdFor(email: string): string {
  return `dev-${sha256(email.toLowerCase()).toString('hex').slice(0, 24)}`;
}

function totpFor(secret: string): TOTP {
  return new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
}

function epochSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

/**
 * In-memory storage for the provider's artefacts. oidc-provider has one too, but it warns on the
 * console and shares its storage between providers in the same process; this one belongs to
 * one provider and is dropped with it.
 */
function memoryAdapter(): (model: string) => Adapter {
  const entries = new Map<string, { payload: AdapterPayload; expiresAt: number }>();
  const sessionsByUid = new Map<string, string>();
  const keysByGrant = new Map<string, Set<string>>();

  const live = (key: string): AdapterPayload | undefined => {
    const entry = entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= Date.now()) {
      entries.delete(key);
      return undefined;
    }
    return entry.payload;
  };
  const sweep = (): void => {
    for (const key of entries.keys()) live(key);
    for (const [uid, id] of sessionsByUid) if (!entries.has(`Session:${id}`)) sessionsByUid.delete(uid);
    for (const [grantId, keys] of keysByGrant) {
      for (const key of keys) if (!entries.has(key)) keys.delete(key);
      if (keys.size === 0) keysByGrant.delete(grantId);
    }
  };

  return (model) => ({
    upsert(id, payload, expiresIn) {
      const key = `${model}:${id}`;
      if (entries.size > 5_000) sweep();
      entries.set(key, {
        payload,
        expiresAt: typeof expiresIn === 'number' ? Date.now() + expiresIn * 1000 : Infinity,
      });
      if (model === 'Session' && typeof payload.uid === 'string') sessionsByUid.set(payload.uid, id);
      if (typeof payload.grantId === 'string') {
        const keys = keysByGrant.get(payload.grantId) ?? new Set<string>();
        keys.add(key);
        keysByGrant.set(payload.grantId, keys);
      }
      return Promise.resolve();
    },
    find(id) {
      return Promise.resolve(live(`${model}:${id}`));
    },
    findByUid(uid) {
      const id = sessionsByUid.get(uid);
      return Promise.resolve(id === undefined ? undefined : live(`${model}:${id}`));
    },
    findByUserCode() {
      return Promise.resolve(undefined); // the device flow is not enabled
    },
    consume(id) {
      const payload = live(`${model}:${id}`);
      if (payload) payload.consumed = epochSeconds();
      return Promise.resolve();
    },
    destroy(id) {
      entries.delete(`${model}:${id}`);
      return Promise.resolve();
    },
    revokeByGrantId(grantId) {
      for (const key of keysByGrant.get(grantId) ?? []) entries.delete(key);
      keysByGrant.delete(grantId);
      return Promise.resolve();
    },
  });
}

function sendHtml(res: ServerResponse, status: number, html: string): void {
  res.statusCode = status;
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  // No form-action: browsers apply it to the redirect chain that ends at the relying party.
  res.setHeader(
    'Content-Security-Policy',
    "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
  );
  res.end(html);
}

async function readForm(req: IncomingMessage): Promise<URLSearchParams> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw new Error('form too large');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/**
 * Starts the development identity provider and returns once it accepts connections.
 * Throws {@link DevProviderRefusedError} when `NODE_ENV` is `production` or `host` is not a
 * loopback address.
 */
export async function startDevIdentityProvider(
  opts: StartDevIdentityProviderOptions,
): Promise<DevIdentityProvider> {
  const env = opts.env ?? process.env;
  if (env['NODE_ENV'] === 'production') {
    throw new DevProviderRefusedError(
      'The development identity provider does not start when NODE_ENV=production: configure your organisation’s OpenID Connect provider as the step-up issuer instead.',
    );
  }
  const { logger } = opts;
  const host = opts.host ?? '127.0.0.1';
  // Anyone who reaches it can log in as a demo approver: this machine only, whoever calls.
  if (!/^(127(\.\d{1,3}){3}|::1|\[::1\]|localhost)$/i.test(host)) {
    throw new DevProviderRefusedError(
      `The development identity provider listens on loopback only, not on ${host}: configure your organisation’s OpenID Connect provider instead.`,
    );
  }

  const accounts = new Map<string, DevAccount>();
  for (const account of opts.accounts) {
    const id = accountIdFor(account.email);
    if (accounts.has(id)) throw new Error(`development account ${account.email} is listed twice`);
    if (account.totpSecret !== undefined) totpFor(account.totpSecret); // throws on a malformed secret
    accounts.set(id, account);
  }
  const byEmail = new Map([...accounts].map(([id, a]) => [a.email.toLowerCase(), id]));
  let loginHook: ((account: DevAccount) => LoginOutcome) | undefined;
  /** Logins whose password was right and that wait for a TOTP code, by interaction uid. */
  const pendingCodes = new Map<string, { accountId: string; expiresAt: number; attempts: number }>();
  /** Compared against when the email is unknown, so that the answer takes as long either way. */
  const decoyPassword = sha256(randomBytes(32).toString('hex'));

  // Imported here rather than at the top so that merely loading this module (as the embedded
  // runtime does) does not load oidc-provider and its start-up notices.
  const { default: Provider } = await import('oidc-provider');

  const server = createServer();
  await listen(server, opts.port ?? 0, host);
  const { port } = server.address() as AddressInfo;
  const issuer = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const { privateKey } = await promisify(generateKeyPair)('rsa', { modulusLength: 2048 });
  const signingKey = {
    ...privateKey.export({ format: 'jwk' }),
    kid: randomBytes(8).toString('hex'),
    alg: 'RS256',
    use: 'sig',
  };

  const configuration: Configuration = {
    adapter: memoryAdapter(),
    clients: opts.clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.clientSecret,
      redirect_uris: c.redirectUris,
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    })),
    findAccount: (_ctx, sub) => {
      const account = accounts.get(sub);
      if (account === undefined) return Promise.resolve(undefined);
      return Promise.resolve({
        accountId: sub,
        claims: () => ({
          sub,
          email: account.email,
          ...(account.emailVerified === null ? {} : { email_verified: account.emailVerified ?? true }),
          ...(account.username === undefined ? {} : { preferred_username: account.username }),
          ...(account.name === undefined ? {} : { name: account.name }),
          ...(account.groups === undefined ? {} : { groups: account.groups }),
        }),
      });
    },
    // amr and acr are standalone claims: they reach the ID token only when the relying party
    // asks for them with the claims parameter, as Elevate's step-up client does.
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name', 'preferred_username'],
      acr: null,
      amr: null,
      auth_time: null,
      groups: null,
      sid: null,
      iss: null,
    },
    scopes: ['openid', 'email', 'profile'],
    acrValues: [DEV_ACR_MFA, DEV_ACR_PASSWORD],
    responseTypes: ['code'],
    features: {
      devInteractions: { enabled: false },
      claimsParameter: { enabled: true },
      userinfo: { enabled: true },
    },
    pkce: { required: () => true },
    // Plain HTTP on loopback: oidc-provider marks cookies `secure` only on HTTPS requests, so
    // nothing to change there; the signing keys are new on every start.
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
    jwks: { keys: [signingKey] },
    ttl: {
      AccessToken: 300,
      AuthorizationCode: 60,
      IdToken: 300,
      Interaction: 600,
      Session: 600,
      Grant: 600,
    },
    clientBasedCORS: () => false,
    renderError: (ctx, out) => {
      ctx.type = 'html';
      ctx.body = devErrorPage(out.error, out.error_description);
    },
  };

  const provider = new Provider(issuer, configuration);
  provider.on('server_error', (_ctx, err) =>
    logger.error({ err }, 'development identity provider: server error'),
  );
  const providerCallback = provider.callback();

  const finishLogin = async (
    req: IncomingMessage,
    res: ServerResponse,
    accountId: string,
    outcome: LoginOutcome,
  ): Promise<void> => {
    const login: NonNullable<InteractionResults['login']> = {
      accountId,
      ts: outcome.authTime ?? epochSeconds(),
      remember: false,
      ...(outcome.amr.length ? { amr: outcome.amr } : {}),
      ...(outcome.acr === undefined ? {} : { acr: outcome.acr }),
    };
    await provider.interactionFinished(req, res, { login }, { mergeWithLastSubmission: false });
  };

  /** Grants the scopes and claims the consent prompt found missing; there is no consent page. */
  const grantConsent = async (
    req: IncomingMessage,
    res: ServerResponse,
    interaction: Interaction,
  ): Promise<void> => {
    const { details } = interaction.prompt;
    const accountId = interaction.session?.accountId;
    if (accountId === undefined) throw new Error('consent prompt without a logged-in account');
    const grant =
      (interaction.grantId === undefined ? undefined : await provider.Grant.find(interaction.grantId)) ??
      new provider.Grant({ accountId, clientId: String(interaction.params['client_id']) });
    // Only openid, email and profile exist as scopes here, so these are all the missing ones.
    if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
    if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
  };

  const checkPassword = (email: string, password: string): string | undefined => {
    const accountId = byEmail.get(email.trim().toLowerCase());
    const account = accountId === undefined ? undefined : accounts.get(accountId);
    const expected = account === undefined ? decoyPassword : sha256(account.password);
    const matches = timingSafeEqual(sha256(password), expected);
    return matches && account !== undefined ? accountId : undefined;
  };

  const handleInteraction = async (
    req: IncomingMessage,
    res: ServerResponse,
    uid: string,
    action: string | undefined,
  ): Promise<void> => {
    let interaction: Interaction;
    try {
      interaction = await provider.interactionDetails(req, res);
    } catch {
      sendHtml(
        res,
        400,
        devMessagePage('Login expired', 'This login has expired. Start again from the link you were given.'),
      );
      return;
    }
    if (interaction.uid !== uid) {
      sendHtml(
        res,
        400,
        devMessagePage(
          'Login expired',
          'This login does not match. Start again from the link you were given.',
        ),
      );
      return;
    }
    const clientId = String(interaction.params['client_id']);
    const prompt = interaction.prompt.name;

    if (action === undefined && req.method === 'GET') {
      if (prompt === 'consent') return grantConsent(req, res, interaction);
      if (prompt === 'login') {
        const pending = pendingCodes.get(uid);
        return sendHtml(res, 200, pending ? devCodePage(uid) : devLoginPage(uid, clientId));
      }
      return sendHtml(res, 400, devMessagePage('Login error', `Unsupported step: ${prompt}.`));
    }
    if (req.method !== 'POST' || prompt !== 'login') {
      return sendHtml(
        res,
        400,
        devMessagePage('Login error', 'Unexpected request. Start again from the link you were given.'),
      );
    }

    const form = await readForm(req);
    if (action === 'cancel') {
      pendingCodes.delete(uid);
      await provider.interactionFinished(
        req,
        res,
        { error: 'access_denied', error_description: 'the user cancelled the login' },
        { mergeWithLastSubmission: false },
      );
      return;
    }

    if (action === 'login') {
      pendingCodes.delete(uid);
      const email = form.get('email') ?? '';
      const accountId = checkPassword(email, form.get('password') ?? '');
      const account = accountId === undefined ? undefined : accounts.get(accountId);
      if (accountId === undefined || account === undefined) {
        logger.info({ uid }, 'development identity provider: login refused');
        return sendHtml(res, 401, devLoginPage(uid, clientId, LOGIN_FAILED, email));
      }
      if (loginHook) return finishLogin(req, res, accountId, loginHook(account));
      if (account.totpSecret !== undefined) {
        pendingCodes.set(uid, { accountId, expiresAt: Date.now() + PENDING_CODE_MS, attempts: 0 });
        return sendHtml(res, 200, devCodePage(uid));
      }
      return finishLogin(req, res, accountId, { amr: ['pwd'], acr: DEV_ACR_PASSWORD });
    }

    // action === 'code'
    const pending = pendingCodes.get(uid);
    const account = pending === undefined ? undefined : accounts.get(pending.accountId);
    if (pending === undefined || account?.totpSecret === undefined || pending.expiresAt <= Date.now()) {
      pendingCodes.delete(uid);
      return sendHtml(res, 401, devLoginPage(uid, clientId, 'Please log in again.'));
    }
    const code = (form.get('otp') ?? '').trim();
    const valid =
      /^\d{6}$/.test(code) && totpFor(account.totpSecret).validate({ token: code, window: 1 }) !== null;
    if (!valid) {
      pending.attempts += 1;
      if (pending.attempts >= MAX_CODE_ATTEMPTS) {
        pendingCodes.delete(uid);
        return sendHtml(res, 401, devLoginPage(uid, clientId, 'Too many wrong codes. Please log in again.'));
      }
      return sendHtml(res, 401, devCodePage(uid, CODE_FAILED));
    }
    pendingCodes.delete(uid);
    return finishLogin(req, res, pending.accountId, { amr: ['pwd', 'otp'], acr: DEV_ACR_MFA });
  };

  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const match = INTERACTION_PATH.exec(path);
    if (match === null) {
      void providerCallback(req, res);
      return;
    }
    handleInteraction(req, res, match[1] ?? '', match[2]).catch((err: unknown) => {
      logger.error({ err }, 'development identity provider: login page failed');
      if (!res.headersSent)
        sendHtml(res, 500, devMessagePage('Login error', 'Something went wrong. Start again.'));
      else res.destroy();
    });
  });

  logger.warn(
    { issuer },
    'development identity provider started: for development and tests only, not for production use',
  );

  let stopped: Promise<void> | undefined;
  return {
    issuer,
    setLoginHook(hook) {
      loginHook = hook;
    },
    stop() {
      stopped ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
