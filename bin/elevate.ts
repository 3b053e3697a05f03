#!/usr/bin/env node
/**
 * The `elevate` command.
 *
 *   elevate start [--dev]         the embedded default: Temporal, slapd, worker and API
 *                                 (--dev: with the development identity provider, loopback only)
 *   elevate api                   the HTTP API only (production: several behind a balancer)
 *   elevate worker                the Temporal worker only
 *   elevate keygen [--admin]      a new bot API key (or admin token) and the hash to configure
 *   elevate keygen --decision-keys <folder>   the API's decision signing key pair
 *   elevate keygen --checkpoint-key <folder>  the audit checkpoint key pair
 *   elevate config check <file>   validate a policy file
 *   elevate config schema         print the policy file's JSON Schema (for editors)
 *   elevate dev-totp <email>      the current TOTP code of a development approver (embedded only)
 *   elevate bots …                list, lock, unlock, disable, enable, rotate keys; create (offline)
 *   elevate elevations …          list, show and revoke elevations
 *   elevate audit …               verify the audit chain, export the audit trail
 *   elevate report …              reports: least privilege
 *   elevate exec --role R --for 15m -- <command…>   run a command while holding a role (bots)
 *
 * The last four talk to a running API's admin routes; see bin/cli/admin-commands.ts.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TOTP } from 'otpauth';
import { ConfigError } from '../core/errors/config-error.js';
import { loadPolicy } from '../config/load-policy.js';
import { policyJsonSchemaText } from '../config/policy-json-schema.js';
import { loadSettings } from '../config/settings.js';
import { generateSecret, hashSecret } from '../core/crypto/credentials.js';
import { newDecisionKeyPair, parseSigningKey } from '../core/crypto/decision-keys.js';
import type { DevIdentityFile } from '../runtime/embedded.js';
import { installLastResort } from '../runtime/last-resort.js';
import { runAdminCommand } from './cli/admin-commands.js';

const USAGE = `usage: elevate <command>

commands:
  start [--dev]          run everything on this machine (the embedded default); --dev adds the
                         development identity provider (demo approvers, loopback only)
  api                    run the HTTP API (needs TEMPORAL_ADDRESS, ELEVATE_CONFIG; LDAP_URL for LDAP roles)
  worker                 run the Temporal worker (same settings)
  keygen [--admin]       make a bot API key (or an admin token) and print it with its hash
  keygen --decision-keys <folder>
                         make the API's decision signing key and its public key (for the workers)
  keygen --checkpoint-key <folder>
                         make the audit checkpoint key (API and worker) and its public key
  config check <file>    validate a policy file and exit 0 if it is valid
  config schema          print the policy file's JSON Schema (docs/policy.schema.json)
  dev-totp <email>       print the current TOTP code of a development approver (embedded default only)
  bots <command>         bots at runtime: list, show, lock, unlock, disable, enable, rotate-key;
                         create adds one to a policy file (see \`elevate bots --help\`)
  elevations <command>   list, show, revoke (see \`elevate elevations --help\`)
  audit <command>        verify the chain, export the trail (see \`elevate audit --help\`)
  report <command>       least-privilege (see \`elevate report --help\`)
  exec --role <role> --for <duration> [--justification <text>] [--ticket <t>] -- <command…>
                         for bots: request the role, wait for it, run the command with the
                         elevation in its environment, give it back when it ends; exits with
                         the command's status, or when it did not run: 4 refused, 5 Elevate
                         unreachable, 6 denied, 7 expired, 8 timed out, 9 grant failed,
                         10 ended before active (see \`elevate exec --help\`)
  help                   show this text

Settings come from the environment; see docs/configuration.md.`;

/**
 * Exit codes: 0 ok, 1 runtime failure, 2 usage error, 3 invalid configuration. The admin
 * commands (`bots`, `elevations`, `audit`, `report`) add 4 (the server refused) and 5 (the server is
 * unreachable or failed), and use 1 for a failed check (a broken audit chain). `exec` uses the same
 * and adds 6-10 (denied, expired, timed out, grant failed, ended before active; see
 * bin/cli/exec-command.ts), and otherwise exits with its command's status.
 */
const EXIT = { ok: 0, failure: 1, usage: 2, config: 3 } as const;

/**
 * Stop cleanly on SIGINT/SIGTERM (exit 0, or 1 when `failed()` says something had to be
 * abandoned); a second signal exits at once.
 */
function stopOnSignal(stop: () => Promise<void>, failed: () => boolean = () => false): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`\n${signal} again: exiting now\n`);
      process.exit(EXIT.failure);
    }
    stopping = true;
    process.stderr.write(`\n${signal}: stopping (press Ctrl-C again to force)\n`);
    stop().then(
      () => process.exit(failed() ? EXIT.failure : EXIT.ok),
      (err: unknown) => {
        process.stderr.write(`error while stopping: ${(err as Error).message}\n`);
        process.exit(EXIT.failure);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

/** `stop`, run at most once: a signal and a fault (see runtime/last-resort.ts) share one stop. */
function once(stop: () => Promise<void>): () => Promise<void> {
  let stopping: Promise<void> | undefined;
  return () => (stopping ??= stop());
}

async function runProcess(kind: 'api' | 'worker'): Promise<void> {
  // First: a fault from here on stops the process in order instead of killing it.
  const lastResort = installLastResort();
  const settings = loadSettings();
  const missing = (
    [
      ['ELEVATE_CONFIG', settings.configPath],
      ['TEMPORAL_ADDRESS', settings.temporal.address],
    ] as const
  ).find(([, v]) => v === undefined);
  if (missing?.[0] === 'TEMPORAL_ADDRESS') {
    throw new ConfigError(
      `TEMPORAL_ADDRESS: must be set for \`elevate ${kind}\` (or an address in the profile of TEMPORAL_CONFIG_FILE / TEMPORAL_PROFILE)`,
      'TEMPORAL_ADDRESS',
    );
  }
  if (missing) throw new ConfigError(`${missing[0]}: must be set for \`elevate ${kind}\``, missing[0]);
  if (!settings.auditExplicit) {
    // Separate API and worker processes must share one audit store and grant ledger.
    throw new ConfigError(
      `DATABASE_URL: must be set for \`elevate ${kind}\` (or ELEVATE_SQLITE_PATH, for a single machine)`,
      'DATABASE_URL',
    );
  }
  const policy = loadPolicy(settings.configPath!);
  const needsApprovals = policy.roles.filter((r) => r.approval.mode === 'approvers').map((r) => r.id);
  if (kind === 'api' && !settings.oidc && needsApprovals.length > 0) {
    // Without an identity provider nobody could approve: refuse now rather than answer 503 later.
    throw new ConfigError(
      `OIDC_ISSUER: must be set for \`elevate api\`: roles ${needsApprovals.join(', ')} need approvals, and approvers prove who they are at the OpenID Connect provider`,
      'OIDC_ISSUER',
    );
  }
  const [{ createLogger }, start] = await Promise.all([
    import('../runtime/logger.js'),
    kind === 'api'
      ? import('../runtime/api.js').then((m) => m.startApi)
      : import('../runtime/worker.js').then((m) => m.startWorker),
  ]);
  const logger = createLogger(settings.logLevel);
  const services = await start({
    settings: {
      ...settings,
      temporal: { ...settings.temporal, address: settings.temporal.address! },
    },
    policy,
    logger,
  });
  logger.info({ url: services.url, taskQueue: settings.temporal.taskQueue }, `elevate ${kind} started`);
  const stop = once(() => services.close());
  lastResort.stopWith(stop);
  stopOnSignal(stop, () => services.forcedStop);
}

/** An Ed25519 key pair `elevate keygen` writes: file names, and what to tell the operator of each. */
interface KeyPairFiles {
  privateFile: string;
  publicFile: string;
  privateUse: string;
  publicUse: string;
}

/** The API's decision signing key; workers get the public half. */
const DECISION_KEY_FILES: KeyPairFiles = {
  privateFile: 'decision-signing.pem',
  publicFile: 'decision-public.pem',
  privateUse: 'decision signing key (API only: ELEVATE_DECISION_SIGNING_KEY_FILE)',
  publicUse: 'public key (workers: ELEVATE_DECISION_PUBLIC_KEYS_FILE)',
};

/**
 * The audit checkpoint key: the private key goes to every process that appends (API and
 * worker); the public key to anything that only verifies, and to webhook receivers.
 */
const CHECKPOINT_KEY_FILES: KeyPairFiles = {
  privateFile: 'audit-checkpoint.pem',
  publicFile: 'audit-checkpoint-public.pem',
  privateUse: 'audit checkpoint key (API and worker: ELEVATE_AUDIT_CHECKPOINT_KEY_FILE)',
  publicUse: 'public key (verifiers, webhook receivers: ELEVATE_AUDIT_CHECKPOINT_PUBLIC_KEYS_FILE)',
};

/**
 * Write a new Ed25519 key (0600) and its public key into `folder`; never overwrites, so an
 * existing key is not lost by running it twice.
 */
function writeKeyPair(folder: string, files: KeyPairFiles): number {
  const signing = path.join(folder, files.privateFile);
  const pub = path.join(folder, files.publicFile);
  const existing = [signing, pub].filter((f) => existsSync(f));
  if (existing.length > 0) {
    process.stderr.write(`${existing.join(' and ')} already exist: remove them or choose another folder\n`);
    return EXIT.failure;
  }
  mkdirSync(folder, { recursive: true });
  const { privatePem, publicPem } = newDecisionKeyPair();
  writeFileSync(signing, privatePem, { mode: 0o600, flag: 'wx' });
  writeFileSync(pub, publicPem, { mode: 0o644, flag: 'wx' });
  process.stdout.write(
    `${files.privateUse}: ${signing}\n` +
      `${files.publicUse}, id ${parseSigningKey(privatePem).kid}: ${pub}\n`,
  );
  return EXIT.ok;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'start': {
      // Loaded here, not at the top: the admin commands should not load Temporal's worker.
      const lastResort = installLastResort();
      const { values } = parseArgs({ args: rest, options: { dev: { type: 'boolean', default: false } } });
      const { startEmbedded } = await import('../runtime/embedded.js');
      const { DEV_IDENTITY_PROVIDER_VARIABLE } = await import('../runtime/dev-identity-guard.js');
      // --dev is the explicit opt-in, the same as the variable (see runtime/dev-identity-guard.ts).
      const embedded = await startEmbedded(
        values.dev ? { ...process.env, [DEV_IDENTITY_PROVIDER_VARIABLE]: '1' } : process.env,
      );
      const stop = once(() => embedded.stop());
      lastResort.stopWith(stop);
      stopOnSignal(stop);
      return EXIT.ok;
    }
    case 'api':
    case 'worker':
      await runProcess(command);
      return EXIT.ok;
    case 'keygen': {
      const { values } = parseArgs({
        args: rest,
        options: {
          admin: { type: 'boolean', default: false },
          'decision-keys': { type: 'string' },
          'checkpoint-key': { type: 'string' },
        },
      });
      if (values['decision-keys'] !== undefined)
        return writeKeyPair(values['decision-keys'], DECISION_KEY_FILES);
      if (values['checkpoint-key'] !== undefined)
        return writeKeyPair(values['checkpoint-key'], CHECKPOINT_KEY_FILES);
      const secret = generateSecret(values.admin ? 'admin' : 'bot');
      process.stdout.write(
        `${values.admin ? 'admin token' : 'bot API key'} (shown once, give it to its holder): ${secret}\n` +
          `hash for the policy file (${values.admin ? 'admins[].tokenHash' : 'bots[].apiKeyHash'}): ${hashSecret(secret)}\n`,
      );
      return EXIT.ok;
    }
    case 'config': {
      const [sub, file] = rest;
      if (sub === 'schema' && !file) {
        process.stdout.write(policyJsonSchemaText());
        return EXIT.ok;
      }
      if (sub !== 'check' || !file) {
        process.stderr.write('usage: elevate config check <file> | elevate config schema\n');
        return EXIT.usage;
      }
      const policy = loadPolicy(file);
      process.stdout.write(
        `${file}: valid (${policy.bots.length} bot(s), ${policy.roles.length} role(s), ${policy.admins.length} admin(s))\n`,
      );
      return EXIT.ok;
    }
    case 'dev-totp': {
      const [email] = rest;
      if (!email) {
        process.stderr.write('usage: elevate dev-totp <email>\n');
        return EXIT.usage;
      }
      const file = path.join(loadSettings().dataDir, 'dev-identity-provider.json');
      if (!existsSync(file)) {
        process.stderr.write(
          `${file} does not exist: run \`elevate start --dev\` (without OIDC_ISSUER) first\n`,
        );
        return EXIT.failure;
      }
      const { accounts } = JSON.parse(readFileSync(file, 'utf8')) as DevIdentityFile;
      const account = accounts.find((a) => a.email === email.toLowerCase());
      if (!account?.totpSecret) {
        process.stderr.write(
          `no development approver ${email}; they are ${accounts.map((a) => a.email).join(', ')}\n`,
        );
        return EXIT.failure;
      }
      process.stdout.write(
        `${account.email}: password ${account.password}, current code ${new TOTP({ secret: account.totpSecret }).generate()}\n`,
      );
      return EXIT.ok;
    }
    case 'bots':
    case 'elevations':
    case 'audit':
    case 'report':
      return runAdminCommand(command, rest);
    case 'exec': {
      // Loaded here: a bot's exec needs none of the server's modules.
      const { runExec } = await import('./cli/exec-command.js');
      return runExec(rest);
    }
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
      return command === undefined ? EXIT.usage : EXIT.ok;
    default:
      process.stderr.write(`unknown command "${command}"\n\n${USAGE}\n`);
      return EXIT.usage;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== EXIT.ok) process.exit(code);
  },
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`invalid configuration:\n${err.message}\n`);
      process.exit(EXIT.config);
    }
    if ((err as Error).name === 'TemporalConnectError') {
      process.stderr.write(`cannot connect to Temporal:\n${(err as Error).message}\n`);
      process.exit(EXIT.failure);
    }
    process.stderr.write(`elevate: ${(err as Error).message}\n`);
    process.exit(EXIT.failure);
  },
);
