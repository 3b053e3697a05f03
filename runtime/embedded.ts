/**
 * The embedded default (`npm start`): everything Elevate needs on one machine, in one process
 * group, with state under the data directory so a restart resumes where it stopped.
 *
 * - Temporal: the CLI's dev server with a SQLite file, unless TEMPORAL_ADDRESS is set;
 * - LDAP: a local slapd seeded with the demo directory, unless LDAP_URL is set;
 * - audit store: SQLite under the data directory, unless DATABASE_URL is set;
 * - approvals: the OpenID Connect provider at OIDC_ISSUER; or, only when asked for
 *   (`elevate start --dev`, ELEVATE_DEV_IDENTITY_PROVIDER=1) and only on loopback, a development
 *   identity provider with demo approvers (password + TOTP); or none, and then a policy with
 *   roles that need approvers is refused at start;
 * - Slack when SLACK_BOT_TOKEN is set, or else approval requests (with their link) in the log;
 * - worker and API in this process.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from '../core/errors/config-error.js';
import { loadPolicy } from '../config/load-policy.js';
import { loadSettings, type Settings } from '../config/settings.js';
import { newCredentialsKey, parseCredentialsKey } from '../core/crypto/credentials-key.js';
import { generateSecret, hashSecret, type SecretKind } from '../core/crypto/credentials.js';
import { newDecisionKeyPair, parseSigningKey } from '../core/crypto/decision-keys.js';
import {
  DEFAULT_CHECKPOINT_EVERY,
  DEFAULT_CHECKPOINT_INTERVAL_MS,
} from '../core/crypto/audit-checkpoints.js';
import { startSlapd, type SlapdServer } from '../dev/slapd-server.js';
import {
  startDevIdentityProvider,
  type DevAccount,
  type DevIdentityProvider,
} from '../dev/dev-identity-provider.js';
import { Secret } from 'otpauth';
import { createLogger } from './logger.js';
import { packageRoot } from '../config/package-root.js';
import { freePort, portIsFree } from '../dev/processes.js';
import { startApiAndWorker, type ApiAndWorkerProcess } from './api-and-worker.js';
import { identityProviderLine, tryItLines, type DemoBotKey } from './start-banner.js';
import { startTemporalDevServer, type DevServer } from '../dev/temporal-cli.js';
import {
  DEV_IDENTITY_PROVIDER_VARIABLE,
  devIdentityProviderAsked,
  refuseUnsafeDevIdentityProvider,
} from './dev-identity-guard.js';

const DEMO_SUFFIX = 'dc=example,dc=org';

/**
 * A secret for the demo policy: from the environment, or generated once and shown once. A
 * generated one's hash is kept by `keep()`, called once start-up is past its configuration
 * checks: a start refused before it showed the secret must not keep a hash nobody has the key to.
 */
function demoSecret(
  env: NodeJS.ProcessEnv,
  variable: string,
  hashFile: string,
  kind: SecretKind,
): { hash: string; shown?: string; keep?: () => void } {
  const given = env[variable];
  if (given !== undefined && given !== '') {
    if (given.length < 32) throw new ConfigError(`${variable}: must be at least 32 characters`, variable);
    return { hash: hashSecret(given) };
  }
  // Only the hash is kept, so a restart accepts the same secret without storing it.
  if (existsSync(hashFile)) return { hash: readFileSync(hashFile, 'utf8').trim() };
  const secret = generateSecret(kind);
  const hash = hashSecret(secret);
  return { hash, shown: secret, keep: () => writeFileSync(hashFile, `${hash}\n`, { mode: 0o600 }) };
}

/** The LDAP root password of the embedded slapd, generated on first start, kept 0600. */
function localSecret(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(24).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

/** The embedded default's key for AWS credentials hand-offs, made once and kept (mode 0600). */
function localCredentialsKey(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const key = newCredentialsKey();
  writeFileSync(file, `${key}\n`, { mode: 0o600 });
  return key;
}

/**
 * A signing key of the embedded default (API and worker share this process), made once, 0600:
 * the decision signing key, and the audit checkpoint key.
 */
function localDecisionKey(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8');
  const { privatePem } = newDecisionKeyPair();
  writeFileSync(file, privatePem, { mode: 0o600 });
  return privatePem;
}

async function preferredPort(port: number): Promise<number | undefined> {
  return (await portIsFree(port)) ? port : undefined;
}

/**
 * The admin console's group by default, with the demo directory and the development provider:
 * the demo approvers (alice and bob) are its members.
 */
export const DEMO_ADMIN_GROUP = `cn=approvers,ou=groups,${DEMO_SUFFIX}`;

/** The demo approvers of the development identity provider (they are in the demo directory too). */
const DEV_APPROVERS = ['alice@example.org', 'bob@example.org'];

/** What the development identity provider keeps between starts (in the data directory, 0600). */
export interface DevIdentityFile {
  clientSecret: string;
  accounts: DevAccount[];
}

/** The development provider's accounts and client secret: generated on first start, then kept. */
export function devIdentityFile(dataDir: string): {
  file: string;
  contents: DevIdentityFile;
  created: boolean;
} {
  const file = path.join(dataDir, 'dev-identity-provider.json');
  if (existsSync(file)) {
    return { file, contents: JSON.parse(readFileSync(file, 'utf8')) as DevIdentityFile, created: false };
  }
  const contents: DevIdentityFile = {
    clientSecret: randomBytes(24).toString('base64url'),
    accounts: DEV_APPROVERS.map((email) => ({
      email,
      password: randomBytes(9).toString('base64url'),
      totpSecret: new Secret({ size: 20 }).base32,
    })),
  };
  writeFileSync(file, `${JSON.stringify(contents, null, 2)}\n`, { mode: 0o600 });
  return { file, contents, created: true };
}

export interface Embedded {
  services: ApiAndWorkerProcess;
  settings: Settings;
  stop(): Promise<void>;
}

/** Start the whole embedded stack; `stop()` stops everything it started. */
export async function startEmbedded(
  env: NodeJS.ProcessEnv = process.env,
  logger?: Logger,
): Promise<Embedded> {
  const loaded = loadSettings(env);
  // A fixed port is needed up front: it is in the identity provider's redirect URI.
  const settings =
    loaded.port === 0
      ? ((port) => ({
          ...loaded,
          port,
          publicUrl: env.ELEVATE_PUBLIC_URL ? loaded.publicUrl : loaded.publicUrl.replace(/:0$/, `:${port}`),
        }))(await freePort())
      : loaded;
  const log = logger ?? createLogger(settings.logLevel);
  // The development provider only when asked for, and only where it is a local demo.
  const devAsked = devIdentityProviderAsked(env);
  const useDevIdp = devAsked && !settings.oidc;
  if (useDevIdp) refuseUnsafeDevIdentityProvider(settings, env);
  if (devAsked && settings.oidc) {
    log.warn(`${DEV_IDENTITY_PROVIDER_VARIABLE} is ignored: OIDC_ISSUER is set, approvers log in there`);
  }
  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  // Temporal's state, the audit store and the LDAP data live here: keep it private.
  chmodSync(settings.dataDir, 0o700);

  const examplePolicy = path.join(packageRoot(), 'examples', 'policy.yaml');
  const configPath = settings.configPath ?? examplePolicy;
  const policyEnv: NodeJS.ProcessEnv = { ...env };
  const shown: string[] = [];
  const keep: (() => void)[] = [];
  // The demo secrets exist for the example policy only; a real policy brings its own hashes.
  const demo = configPath === examplePolicy;
  // For the banner's "Try it": where the demo bot's key is (with the example policy only).
  let demoBotKey: DemoBotKey | undefined = demo ? { kind: 'hash-environment' } : undefined;
  if (demo && !policyEnv.ELEVATE_DEMO_BOT_KEY_HASH) {
    const hashFile = path.join(settings.dataDir, 'demo-bot-key.sha256');
    const s = demoSecret(env, 'ELEVATE_DEMO_BOT_KEY', hashFile, 'bot');
    policyEnv.ELEVATE_DEMO_BOT_KEY_HASH = s.hash;
    if (s.keep) keep.push(s.keep);
    if (s.shown) shown.push(`  demo-bot API key:   ${s.shown}`);
    demoBotKey = s.shown
      ? { kind: 'shown', key: s.shown }
      : env.ELEVATE_DEMO_BOT_KEY
        ? { kind: 'environment' }
        : { kind: 'kept', hashFile };
  }
  if (demo && !policyEnv.ELEVATE_ADMIN_TOKEN_HASH) {
    const s = demoSecret(
      env,
      'ELEVATE_ADMIN_TOKEN',
      path.join(settings.dataDir, 'admin-token.sha256'),
      'admin',
    );
    policyEnv.ELEVATE_ADMIN_TOKEN_HASH = s.hash;
    if (s.keep) keep.push(s.keep);
    if (s.shown) shown.push(`  demo-admin token:   ${s.shown}`);
  }
  const policy = loadPolicy(configPath, policyEnv);
  const needApprovers = policy.roles.filter((r) => r.approval.mode === 'approvers').map((r) => r.id);
  if (!settings.oidc && !useDevIdp && needApprovers.length > 0) {
    throw new ConfigError(
      `OIDC_ISSUER: must be set: roles ${needApprovers.join(', ')} need approvers, who log in with MFA at your OpenID Connect provider (for a local demo, \`elevate start --dev\` or ${DEV_IDENTITY_PROVIDER_VARIABLE}=1 runs a development one on loopback)`,
      'OIDC_ISSUER',
    );
  }
  for (const k of keep) k();

  const stops: (() => Promise<void>)[] = [];
  const stop = async () => {
    for (const s of stops.reverse()) {
      try {
        await s();
      } catch (err) {
        log.warn({ err: (err as Error).message }, 'error while stopping');
      }
    }
  };

  try {
    let temporal: DevServer | undefined;
    let temporalAddress = settings.temporal.address;
    if (!temporalAddress) {
      log.info('starting the Temporal dev server');
      temporal = await startTemporalDevServer({
        dbFile: path.join(settings.dataDir, 'temporal.db'),
        pidFile: path.join(settings.dataDir, 'temporal.pid'),
        ...(await preferredPort(7233).then((p) => (p ? { port: p } : {}))),
        ...(await preferredPort(8233).then((p) => (p ? { uiPort: p } : {}))),
        namespace: settings.temporal.namespace,
        log: (line) => log.debug({ component: 'temporal-server' }, line),
      });
      stops.push(() => temporal!.stop());
      temporalAddress = temporal.address;
    }

    let slapd: SlapdServer | undefined;
    let ldap = settings.ldap;
    if (!ldap) {
      log.info('starting the local OpenLDAP server (slapd)');
      const ldapDir = path.join(settings.dataDir, 'ldap');
      mkdirSync(ldapDir, { recursive: true, mode: 0o700 });
      chmodSync(ldapDir, 0o700);
      slapd = await startSlapd({
        dataDir: ldapDir,
        suffix: DEMO_SUFFIX,
        rootPassword: localSecret(path.join(settings.dataDir, 'ldap-root-password')),
        seedLdif: readFileSync(path.join(packageRoot(), 'examples', 'demo-directory.ldif'), 'utf8'),
        ...(await preferredPort(3389).then((p) => (p ? { port: p } : {}))),
        logger: (line) => log.debug({ component: 'slapd' }, line),
      });
      stops.push(() => slapd!.stop());
      ldap = { url: slapd.url, bindDn: slapd.rootDn, bindPassword: slapd.rootPassword };
    }

    let oidc = settings.oidc;
    let devIdp: DevIdentityProvider | undefined;
    let devFile: ReturnType<typeof devIdentityFile> | undefined;
    // The admin console: as configured, or else, with the demo directory and the development
    // provider, for the demo approvers (the members of the demo directory's approvers group).
    const adminConsole =
      settings.adminConsole ??
      (useDevIdp && !settings.ldap
        ? {
            groupsClaim: 'groups',
            groups: [],
            ldapGroupDn: DEMO_ADMIN_GROUP,
            idleMinutes: 30,
            maxHours: 8,
            recheckMinutes: 5,
          }
        : undefined);
    if (useDevIdp) {
      devFile = devIdentityFile(settings.dataDir);
      const redirectUri = `${settings.publicUrl}/approvals/callback`;
      devIdp = await startDevIdentityProvider({
        ...(await preferredPort(8089).then((p) => (p ? { port: p } : {}))),
        clients: [
          {
            clientId: 'elevate-embedded',
            clientSecret: devFile.contents.clientSecret,
            redirectUris: [redirectUri, `${settings.publicUrl}/admin/callback`],
          },
        ],
        accounts: devFile.contents.accounts,
        logger: log.child({ component: 'dev-identity-provider' }),
        env,
      });
      stops.push(() => devIdp!.stop());
      oidc = {
        issuer: devIdp.issuer,
        clientId: 'elevate-embedded',
        clientSecret: devFile.contents.clientSecret,
        redirectUri,
        mfaMethods: ['mfa', 'otp', 'hwk', 'swk'],
        mfaAcrValues: [],
        maxAgeSeconds: 300,
        emailClaim: 'email',
      };
    }

    const decisionSigningKey =
      settings.decisionSigningKey ??
      parseSigningKey(localDecisionKey(path.join(settings.dataDir, 'decision-signing-key.pem')));
    const services = await startApiAndWorker({
      settings: {
        ...settings,
        ldap,
        // The dev server started here speaks plain gRPC on loopback: no TLS or key applies to it.
        temporal: temporal
          ? {
              namespace: settings.temporal.namespace,
              taskQueue: settings.temporal.taskQueue,
              address: temporalAddress,
            }
          : { ...settings.temporal, address: temporalAddress },
        decisionSigningKey,
        decisionPublicKeys: settings.decisionPublicKeys ?? [decisionSigningKey.publicKey],
        // Checkpoints anchor the audit chain, and their key MACs the rows outside it: made once
        // in the data directory, as the decision key is (API and worker share this process).
        auditCheckpoints: {
          every: settings.auditCheckpoints?.every ?? DEFAULT_CHECKPOINT_EVERY,
          intervalSeconds:
            settings.auditCheckpoints?.intervalSeconds ?? DEFAULT_CHECKPOINT_INTERVAL_MS / 1000,
          ...settings.auditCheckpoints,
          signingKey:
            settings.auditCheckpoints?.signingKey ??
            parseSigningKey(localDecisionKey(path.join(settings.dataDir, 'audit-checkpoint-key.pem'))),
        },
        ...(oidc ? { oidc } : {}),
        ...(adminConsole ? { adminConsole } : {}),
        // API and worker share this process, so a key kept in the data directory serves both.
        credentialsKey:
          settings.credentialsKey ??
          parseCredentialsKey(localCredentialsKey(path.join(settings.dataDir, 'credentials-key'))),
      },
      policy,
      logger: log,
    });
    stops.push(() => services.close());

    const lines = [
      '',
      `Elevate is running (embedded default, data in ${settings.dataDir})`,
      `  API:               ${services.url}`,
      `  health:            ${services.url}/healthz`,
      temporal?.uiUrl ? `  Temporal UI:       ${temporal.uiUrl}` : `  Temporal:          ${temporalAddress}`,
      `  LDAP:              ${ldap.url}`,
      `  policy:            ${configPath}`,
      `  approvals:         ${settings.slack ? 'Slack' : 'the log (no SLACK_BOT_TOKEN): each request logs its approval URL'}`,
      identityProviderLine(
        devIdp
          ? { kind: 'development', issuer: devIdp.issuer }
          : oidc
            ? { kind: 'oidc', issuer: oidc.issuer }
            : { kind: 'none' },
      ),
      `  admin console:     ${
        adminConsole
          ? `${settings.publicUrl}/admin${settings.adminConsole ? '' : ` (for the members of ${DEMO_ADMIN_GROUP})`}`
          : 'off (set ADMIN_OIDC_GROUPS or ADMIN_LDAP_GROUP_DN)'
      }`,
    ];
    if (devFile) {
      lines.push(
        '',
        `Development approvers (${devFile.contents.accounts.map((a) => a.email).join(', ')}) log in with a password`,
        `and a TOTP code; both are in ${devFile.file}. A current code: npx elevate dev-totp <email>`,
      );
    }
    if (shown.length > 0) {
      lines.push('', 'Secrets, shown only this once (only their hashes are kept):', ...shown);
    }
    if (demoBotKey && services.url) lines.push('', ...tryItLines(services.url, demoBotKey));
    lines.push('', 'Press Ctrl-C to stop.', '');
    process.stdout.write(lines.join('\n'));
    return { services, settings, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
