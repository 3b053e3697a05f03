/**
 * Runtime settings: where things run (ports, addresses, data directory, credentials for the
 * outside systems). They come from the environment, as containers expect; the policy (who may
 * do what) comes from the YAML file. Both are validated at start.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_RECONCILE_INTERVAL_SECONDS, type ElevationTiming } from '../workflows/definitions.js';
import { parseCredentialsKey } from '../domain/credential-vault.js';
import { ConfigError } from './config-error.js';

const port = z.coerce.number().int().min(0).max(65535);
const optionalString = z
  .string()
  .optional()
  .transform((s) => (s === '' ? undefined : s));

const httpUrl = z
  .string()
  .regex(/^https?:\/\/[^\s]+$/, { message: 'must be an http:// or https:// URL' })
  .transform((s) => s.replace(/\/+$/, ''));

const envSchema = z.object({
  ELEVATE_CONFIG: optionalString,
  ELEVATE_DATA_DIR: z.string().default('data'),
  HOST: z.string().default('127.0.0.1'),
  PORT: port.default(8080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  TEMPORAL_ADDRESS: optionalString,
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  ELEVATE_TASK_QUEUE: z.string().min(1).default('elevate'),
  DATABASE_URL: optionalString.pipe(
    z
      .string()
      .regex(/^postgres(ql)?:\/\//, { message: 'must start with postgres:// or postgresql://' })
      .optional(),
  ),
  ELEVATE_SQLITE_PATH: optionalString,
  LDAP_URL: optionalString.pipe(
    z
      .string()
      .regex(/^ldaps?:\/\//, { message: 'must start with ldap:// or ldaps://' })
      .optional(),
  ),
  LDAP_BIND_DN: optionalString,
  LDAP_BIND_PASSWORD: optionalString,
  LDAP_BIND_PASSWORD_FILE: optionalString,
  ELEVATE_CREDENTIALS_KEY: optionalString,
  ELEVATE_CREDENTIALS_KEY_FILE: optionalString,
  ELEVATE_GRANT_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(120),
  ELEVATE_REVOKE_RETRY_MAX_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  ELEVATE_RECONCILE_INTERVAL_SECONDS: z.coerce
    .number()
    .int()
    .min(5)
    .max(86_400)
    .default(DEFAULT_RECONCILE_INTERVAL_SECONDS),
  ELEVATE_TRUST_PROXY: optionalString,
  ELEVATE_PUBLIC_URL: optionalString.pipe(
    z
      .string()
      .regex(/^https?:\/\/[^/\s?#]+\/?$/, {
        message: 'must be an http:// or https:// origin without a path, e.g. https://elevate.example.org',
      })
      .transform((s) => s.replace(/\/$/, ''))
      .optional(),
  ),
  SLACK_BOT_TOKEN: optionalString,
  SLACK_BOT_TOKEN_FILE: optionalString,
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_SIGNING_SECRET_FILE: optionalString,
  SLACK_APP_TOKEN: optionalString,
  SLACK_APP_TOKEN_FILE: optionalString,
  SLACK_SOCKET_MODE: z.enum(['true', 'false']).default('false'),
  SLACK_APPROVAL_CHANNEL: optionalString.pipe(
    z
      .string()
      .regex(/^[CGD][A-Z0-9]{2,}$/, { message: 'must be a Slack channel id such as C0123456789' })
      .optional(),
  ),
  SLACK_DRIFT_CHANNEL: optionalString.pipe(
    z
      .string()
      .regex(/^[CGD][A-Z0-9]{2,}$/, { message: 'must be a Slack channel id such as C0123456789' })
      .optional(),
  ),
  SLACK_API_URL: optionalString.pipe(httpUrl.optional()),
  // Kept exactly as given: an issuer identifier is compared character for character.
  OIDC_ISSUER: optionalString.pipe(
    z
      .string()
      .regex(/^https?:\/\/\S+$/, { message: 'must be an http:// or https:// URL' })
      .optional(),
  ),
  OIDC_CLIENT_ID: optionalString,
  OIDC_CLIENT_SECRET: optionalString,
  OIDC_CLIENT_SECRET_FILE: optionalString,
  OIDC_MFA_METHODS: z.string().default('mfa,otp,hwk,swk'),
  OIDC_MFA_ACR_VALUES: z.string().default(''),
  OIDC_ACR_VALUES: optionalString,
  OIDC_MAX_AGE_SECONDS: z.coerce.number().int().min(30).max(3600).default(300),
  OIDC_EMAIL_CLAIM: z.string().min(1).default('email'),
  LDAP_PEOPLE_BASE_DN: optionalString,
});

/** Everything a process needs to know about its surroundings. */
export interface Settings {
  /** Path of the policy file, if given. */
  configPath?: string;
  dataDir: string;
  host: string;
  port: number;
  logLevel: z.output<typeof envSchema>['LOG_LEVEL'];
  temporal: { address?: string; namespace: string; taskQueue: string };
  audit: { databaseUrl?: string; sqlitePath: string };
  ldap?: { url: string; bindDn: string; bindPassword: string };
  /** Grant and revocation timing handed to each elevation workflow. */
  timing: ElevationTiming;
  /** How often the worker's schedule compares the targets with the elevations (drift detection). */
  reconcile: { intervalSeconds: number };
  /**
   * Express `trust proxy`: hops (a number), addresses/subnets, or true. Unset: the socket's
   * peer is the caller. Set it when a reverse proxy terminates TLS in front of the API.
   */
  trustProxy: boolean | number | string;
  /** Whether the audit store location was chosen explicitly (DATABASE_URL or ELEVATE_SQLITE_PATH). */
  auditExplicit: boolean;
  /** Base URL approvers' browsers reach the server at (links in Slack, the OIDC redirect). */
  publicUrl: string;
  /** Where approvers find people in LDAP by `mail` (default: the `dc=` suffix of each group). */
  ldapPeopleBaseDn?: string;
  /** Slack, when configured; without it approval requests go to the log. */
  slack?: SlackSettings;
  /** The OpenID Connect provider approvers prove themselves at; without it only the embedded default runs its development provider. */
  oidc?: OidcSettings;
  /**
   * Encrypts AWS credentials-mode sessions while they wait for their bot (32 bytes). The API
   * and the worker must have the same key.
   */
  credentialsKey?: Buffer;
}

export interface SlackSettings {
  botToken: string;
  /** HTTP mode: verifies every request Slack sends. */
  signingSecret?: string;
  /** Socket Mode (no public URL needed): an app-level token `xapp-...`. */
  appToken?: string;
  socketMode: boolean;
  /** Post approval requests in this channel; unset: a direct message to each eligible approver. */
  approvalChannel?: string;
  /** Post drift found by reconciliation in this channel; unset: in the approval channel, if any. */
  driftChannel?: string;
  /** Web API base URL (tests point it at a local stand-in). */
  apiUrl?: string;
}

export interface OidcSettings {
  issuer: string;
  clientId: string;
  clientSecret?: string;
  redirectUri: string;
  /** amr values that count as MFA. */
  mfaMethods: string[];
  /** acr values that count as MFA. */
  mfaAcrValues: string[];
  /** Sent as acr_values with each login, when set. */
  acrValues?: string;
  /** A login older than this is refused (max_age). */
  maxAgeSeconds: number;
  /** ID-token claim compared with the Slack user's e-mail address. */
  emailClaim: string;
}

/** A secret from VAR or from the file VAR_FILE names (trimmed); never echoed in errors. */
function secret(e: Record<string, string | undefined>, name: string): string | undefined {
  const file = e[`${name}_FILE`];
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim() || undefined;
    } catch {
      throw new ConfigError(`${name}_FILE: cannot read ${file}`, `${name}_FILE`);
    }
  }
  return e[name];
}

const list = (s: string): string[] =>
  s
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);

/**
 * Reads and validates settings from an environment. Throws {@link ConfigError} naming the
 * variable at fault; secret values never appear in the message.
 */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const name = String(issue?.path[0] ?? 'environment');
    throw new ConfigError(`${name}: ${issue?.message ?? 'invalid'}`, name);
  }
  const e = parsed.data;
  const dataDir = path.resolve(e.ELEVATE_DATA_DIR);
  const publicUrl =
    e.ELEVATE_PUBLIC_URL ?? `http://${e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST}:${e.PORT}`;
  const raw = e as unknown as Record<string, string | undefined>;

  let slack: SlackSettings | undefined;
  const botToken = secret(raw, 'SLACK_BOT_TOKEN');
  if (botToken) {
    const socketMode = e.SLACK_SOCKET_MODE === 'true';
    const signingSecret = secret(raw, 'SLACK_SIGNING_SECRET');
    const appToken = secret(raw, 'SLACK_APP_TOKEN');
    if (socketMode && !appToken) {
      throw new ConfigError('SLACK_APP_TOKEN: must be set when SLACK_SOCKET_MODE is true', 'SLACK_APP_TOKEN');
    }
    if (!socketMode && !signingSecret) {
      throw new ConfigError(
        'SLACK_SIGNING_SECRET: must be set when SLACK_BOT_TOKEN is (HTTP mode verifies every request from Slack)',
        'SLACK_SIGNING_SECRET',
      );
    }
    slack = {
      botToken,
      socketMode,
      ...(signingSecret ? { signingSecret } : {}),
      ...(appToken ? { appToken } : {}),
      ...(e.SLACK_APPROVAL_CHANNEL ? { approvalChannel: e.SLACK_APPROVAL_CHANNEL } : {}),
      ...(e.SLACK_DRIFT_CHANNEL ? { driftChannel: e.SLACK_DRIFT_CHANNEL } : {}),
      ...(e.SLACK_API_URL ? { apiUrl: `${e.SLACK_API_URL}/` } : {}),
    };
  }

  let credentialsKey: Buffer | undefined;
  const keyText = secret(raw, 'ELEVATE_CREDENTIALS_KEY');
  if (keyText) {
    try {
      credentialsKey = parseCredentialsKey(keyText);
    } catch (err) {
      throw new ConfigError(`ELEVATE_CREDENTIALS_KEY: ${(err as Error).message}`, 'ELEVATE_CREDENTIALS_KEY');
    }
  }

  let oidc: OidcSettings | undefined;
  if (e.OIDC_ISSUER) {
    if (!e.OIDC_CLIENT_ID)
      throw new ConfigError('OIDC_CLIENT_ID: must be set when OIDC_ISSUER is', 'OIDC_CLIENT_ID');
    const clientSecret = secret(raw, 'OIDC_CLIENT_SECRET');
    const mfaMethods = list(e.OIDC_MFA_METHODS);
    const mfaAcrValues = list(e.OIDC_MFA_ACR_VALUES);
    if (mfaMethods.length === 0 && mfaAcrValues.length === 0) {
      throw new ConfigError(
        'OIDC_MFA_METHODS: must name at least one amr value (or set OIDC_MFA_ACR_VALUES)',
        'OIDC_MFA_METHODS',
      );
    }
    oidc = {
      issuer: e.OIDC_ISSUER,
      clientId: e.OIDC_CLIENT_ID,
      ...(clientSecret ? { clientSecret } : {}),
      redirectUri: `${publicUrl}/approvals/callback`,
      mfaMethods,
      mfaAcrValues,
      ...(e.OIDC_ACR_VALUES ? { acrValues: e.OIDC_ACR_VALUES } : {}),
      maxAgeSeconds: e.OIDC_MAX_AGE_SECONDS,
      emailClaim: e.OIDC_EMAIL_CLAIM,
    };
  }
  let ldap: Settings['ldap'];
  if (e.LDAP_URL) {
    if (!e.LDAP_BIND_DN) throw new ConfigError('LDAP_BIND_DN: must be set when LDAP_URL is', 'LDAP_BIND_DN');
    let password = e.LDAP_BIND_PASSWORD;
    if (e.LDAP_BIND_PASSWORD_FILE) {
      try {
        password = readFileSync(e.LDAP_BIND_PASSWORD_FILE, 'utf8').trim();
      } catch {
        throw new ConfigError(
          `LDAP_BIND_PASSWORD_FILE: cannot read ${e.LDAP_BIND_PASSWORD_FILE}`,
          'LDAP_BIND_PASSWORD_FILE',
        );
      }
    }
    if (!password) {
      throw new ConfigError(
        'LDAP_BIND_PASSWORD: set it or LDAP_BIND_PASSWORD_FILE when LDAP_URL is set',
        'LDAP_BIND_PASSWORD',
      );
    }
    ldap = { url: e.LDAP_URL, bindDn: e.LDAP_BIND_DN, bindPassword: password };
  }
  return {
    ...(e.ELEVATE_CONFIG ? { configPath: path.resolve(e.ELEVATE_CONFIG) } : {}),
    dataDir,
    host: e.HOST,
    port: e.PORT,
    logLevel: e.LOG_LEVEL,
    temporal: {
      ...(e.TEMPORAL_ADDRESS ? { address: e.TEMPORAL_ADDRESS } : {}),
      namespace: e.TEMPORAL_NAMESPACE,
      taskQueue: e.ELEVATE_TASK_QUEUE,
    },
    audit: {
      ...(e.DATABASE_URL ? { databaseUrl: e.DATABASE_URL } : {}),
      sqlitePath: path.resolve(e.ELEVATE_SQLITE_PATH ?? path.join(dataDir, 'audit.db')),
    },
    ...(ldap ? { ldap } : {}),
    timing: {
      grantTimeoutSeconds: e.ELEVATE_GRANT_TIMEOUT_SECONDS,
      revokeRetryMaxSeconds: e.ELEVATE_REVOKE_RETRY_MAX_SECONDS,
    },
    reconcile: { intervalSeconds: e.ELEVATE_RECONCILE_INTERVAL_SECONDS },
    trustProxy: parseTrustProxy(e.ELEVATE_TRUST_PROXY),
    auditExplicit: Boolean(e.DATABASE_URL ?? e.ELEVATE_SQLITE_PATH),
    publicUrl,
    ...(e.LDAP_PEOPLE_BASE_DN ? { ldapPeopleBaseDn: e.LDAP_PEOPLE_BASE_DN } : {}),
    ...(slack ? { slack } : {}),
    ...(oidc ? { oidc } : {}),
    ...(credentialsKey ? { credentialsKey } : {}),
  };
}

function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}
