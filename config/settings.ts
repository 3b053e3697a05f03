/**
 * Runtime settings: where things run (ports, addresses, data directory, credentials for the
 * outside systems). They come from the environment, as containers expect; the policy (who may
 * do what) comes from the YAML file. Both are validated at start.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { ElevationTiming } from '../workflows/definitions.js';
import { ConfigError } from './config-error.js';

const port = z.coerce.number().int().min(0).max(65535);
const optionalString = z
  .string()
  .optional()
  .transform((s) => (s === '' ? undefined : s));

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
  ELEVATE_GRANT_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(120),
  ELEVATE_REVOKE_RETRY_MAX_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  ELEVATE_TRUST_PROXY: optionalString,
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
  /**
   * Express `trust proxy`: hops (a number), addresses/subnets, or true. Unset: the socket's
   * peer is the caller. Set it when a reverse proxy terminates TLS in front of the API.
   */
  trustProxy: boolean | number | string;
  /** Whether the audit store location was chosen explicitly (DATABASE_URL or ELEVATE_SQLITE_PATH). */
  auditExplicit: boolean;
}

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
    trustProxy: parseTrustProxy(e.ELEVATE_TRUST_PROXY),
    auditExplicit: Boolean(e.DATABASE_URL ?? e.ELEVATE_SQLITE_PATH),
  };
}

function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}
