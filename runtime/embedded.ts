/**
 * The embedded default (`npm start`): everything Elevate needs on one machine, in one process
 * group, with state under the data directory so a restart resumes where it stopped.
 *
 * - Temporal: the CLI's dev server with a SQLite file, unless TEMPORAL_ADDRESS is set;
 * - LDAP: a local slapd seeded with the demo directory, unless LDAP_URL is set;
 * - audit store: SQLite under the data directory, unless DATABASE_URL is set;
 * - worker and API in this process.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Logger } from 'pino';
import { ConfigError } from '../config/config-error.js';
import { loadPolicy } from '../config/load-policy.js';
import { loadSettings, type Settings } from '../config/settings.js';
import { generateSecret, hashSecret, type SecretKind } from '../domain/credentials.js';
import { startSlapd, type SlapdServer } from '../integrations/ldap/slapd-server.js';
import { createLogger } from './logger.js';
import { packageRoot } from './package-root.js';
import { portIsFree } from './processes.js';
import { startServices, type Services } from './services.js';
import { startTemporalDevServer, type DevServer } from './temporal-cli.js';

const DEMO_SUFFIX = 'dc=example,dc=org';

/** A secret for the demo policy: from the environment, or generated once and shown once. */
function demoSecret(
  env: NodeJS.ProcessEnv,
  variable: string,
  hashFile: string,
  kind: SecretKind,
): { hash: string; shown?: string } {
  const given = env[variable];
  if (given !== undefined && given !== '') {
    if (given.length < 32) throw new ConfigError(`${variable}: must be at least 32 characters`, variable);
    return { hash: hashSecret(given) };
  }
  // Only the hash is kept, so a restart accepts the same secret without storing it.
  if (existsSync(hashFile)) return { hash: readFileSync(hashFile, 'utf8').trim() };
  const secret = generateSecret(kind);
  const hash = hashSecret(secret);
  writeFileSync(hashFile, `${hash}\n`, { mode: 0o600 });
  return { hash, shown: secret };
}

/** The LDAP root password of the embedded slapd, generated on first start, kept 0600. */
function localSecret(file: string): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  const secret = randomBytes(24).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}

async function preferredPort(port: number): Promise<number | undefined> {
  return (await portIsFree(port)) ? port : undefined;
}

export interface Embedded {
  services: Services;
  settings: Settings;
  stop(): Promise<void>;
}

/** Start the whole embedded stack; `stop()` stops everything it started. */
export async function startEmbedded(
  env: NodeJS.ProcessEnv = process.env,
  logger?: Logger,
): Promise<Embedded> {
  const settings = loadSettings(env);
  const log = logger ?? createLogger(settings.logLevel);
  mkdirSync(settings.dataDir, { recursive: true, mode: 0o700 });
  // Temporal's state, the audit store and the LDAP data live here: keep it private.
  chmodSync(settings.dataDir, 0o700);

  const examplePolicy = path.join(packageRoot(), 'examples', 'policy.yaml');
  const configPath = settings.configPath ?? examplePolicy;
  const policyEnv: NodeJS.ProcessEnv = { ...env };
  const shown: string[] = [];
  // The demo secrets exist for the example policy only; a real policy brings its own hashes.
  const demo = configPath === examplePolicy;
  if (demo && !policyEnv.ELEVATE_DEMO_BOT_KEY_HASH) {
    const s = demoSecret(
      env,
      'ELEVATE_DEMO_BOT_KEY',
      path.join(settings.dataDir, 'demo-bot-key.sha256'),
      'bot',
    );
    policyEnv.ELEVATE_DEMO_BOT_KEY_HASH = s.hash;
    if (s.shown) shown.push(`  demo-bot API key:   ${s.shown}`);
  }
  if (demo && !policyEnv.ELEVATE_ADMIN_TOKEN_HASH) {
    const s = demoSecret(
      env,
      'ELEVATE_ADMIN_TOKEN',
      path.join(settings.dataDir, 'admin-token.sha256'),
      'admin',
    );
    policyEnv.ELEVATE_ADMIN_TOKEN_HASH = s.hash;
    if (s.shown) shown.push(`  demo-admin token:   ${s.shown}`);
  }
  const policy = loadPolicy(configPath, policyEnv);

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

    const services = await startServices({
      settings: { ...settings, ldap, temporal: { ...settings.temporal, address: temporalAddress } },
      policy,
      logger: log,
      run: { api: true, worker: true },
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
    ];
    if (shown.length > 0) {
      lines.push('', 'Secrets, shown only this once (only their hashes are kept):', ...shown);
    }
    lines.push(
      '',
      'Try it:',
      `  curl -s -X POST ${services.url}/v1/elevations -H "authorization: Bearer $ELEVATE_DEMO_BOT_KEY" \\`,
      `    -H 'content-type: application/json' -d '{"role":"demo-auto","durationSeconds":60,"justification":"try Elevate"}'`,
      '',
      'Press Ctrl-C to stop.',
      '',
    );
    process.stdout.write(lines.join('\n'));
    return { services, settings, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
