/**
 * Runtime settings: where things run (ports, addresses, data directory, credentials for the
 * outside systems). They come from the environment, as containers expect; the policy (who may
 * do what) comes from the YAML file. Both are validated at start.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { type ElevationTiming } from '../core/model/elevation.js';
import { parseCredentialsKey } from '../core/crypto/credentials-key.js';
import { hashSecret } from '../core/crypto/credentials.js';
import { isValidDn } from '../core/rules/dn.js';
import type { HttpServerLimits } from './http-limits.js';
import { envSchema, type Env } from './env-schema.js';
import { onCallSettings, type OnCallSettings } from './oncall-settings.js';
import { ConfigError } from '../core/errors/config-error.js';
import { loadTemporalSettings, type TemporalSettings } from './temporal-settings.js';
import {
  DecisionKeyError,
  parsePublicKeys,
  parseSigningKey,
  type DecisionSigningKey,
  type PublicDecisionKey,
} from '../core/crypto/decision-keys.js';

/** Everything a process needs to know about its surroundings. */
export interface Settings {
  /** Path of the policy file, if given. */
  configPath?: string;
  dataDir: string;
  host: string;
  port: number;
  logLevel: Env['LOG_LEVEL'];
  /** Where Temporal is and how to reach it (Temporal's standard environment configuration). */
  temporal: TemporalSettings;
  /**
   * How long a stopping process lets in-flight work finish (`ELEVATE_SHUTDOWN_GRACE_SECONDS`):
   * the worker's running activities, the API's open requests.
   */
  shutdownGraceSeconds: number;
  /**
   * Limits of the HTTP servers (API and worker metrics) on slow and numerous clients
   * (`ELEVATE_HTTP_*`); unset, the defaults.
   */
  http?: HttpServerLimits;
  /**
   * How long a `/healthz` (`/readyz`) result is reused (`ELEVATE_HEALTH_CACHE_MS`), so a flood
   * of probes costs one round of checks a period; unset, 1000.
   */
  healthCacheMs?: number;
  /** The worker's concurrency, cache and versioning (`ELEVATE_WORKER_*`). */
  worker: WorkerSettings;
  audit: { databaseUrl?: string; sqlitePath: string };
  /**
   * Signed checkpoints of the audit chain, and the MAC key of the rows outside it
   * (`ELEVATE_AUDIT_CHECKPOINT_*`, see `core/crypto/audit-checkpoints.ts`).
   */
  auditCheckpoints?: AuditCheckpointSettings;
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
  /**
   * Failed authentications a source network (IPv4 /24, IPv6 /64) may make at once (`burst`,
   * `ELEVATE_AUTH_FAILURE_BURST`, 0 = no limit) and per minute after that (`perMinute`,
   * `ELEVATE_AUTH_FAILURE_PER_MINUTE`); beyond them its requests get 429 before any lookup.
   */
  authFailureLimit: { burst: number; perMinute: number };
  /** Where approvers find people in LDAP by `mail` (default: the `dc=` suffix of each group). */
  ldapPeopleBaseDn?: string;
  /**
   * The LDAP attribute that joins an approver or admin to their entry when the identity provider
   * asserts it (`LDAP_APPROVER_JOIN_ATTRIBUTE`, default `mail`); see `OidcSettings.joinClaim`.
   */
  ldapApproverJoinAttribute?: string;
  /** Slack, when configured; without it approval requests go to the log. */
  slack?: SlackSettings;
  /** On-call providers, when configured (`oncall-settings.ts`). */
  oncall?: OnCallSettings;
  /** The OpenID Connect provider approvers prove themselves at; without it only the embedded default runs its development provider. */
  oidc?: OidcSettings;
  /**
   * Encrypts AWS credentials-mode sessions while they wait for their bot (32 bytes). The API
   * and the worker must have the same key.
   */
  credentialsKey?: Buffer;
  /** Keys being rotated out (`ELEVATE_CREDENTIALS_KEY_PREVIOUS`): they still decrypt, never encrypt. */
  credentialsPreviousKeys?: Buffer[];
  /** The API's key for signing requests and decisions (`ELEVATE_DECISION_SIGNING_KEY`). */
  decisionSigningKey?: DecisionSigningKey;
  /** The public keys workers accept requests and decisions under (`ELEVATE_DECISION_PUBLIC_KEYS`). */
  decisionPublicKeys?: PublicDecisionKey[];
  /**
   * Hash (`sha256:…`) of `ELEVATE_METRICS_TOKEN`: the bearer token Prometheus scrapes `/metrics`
   * with (admin tokens work too). Only the hash is kept in memory.
   */
  metricsTokenHash?: string;
  /** Where a worker process without the API serves `/metrics` (on `HOST`). */
  metricsPort?: number;
  /** Streams every audit event to an HTTP endpoint, when configured (the worker delivers). */
  webhook?: WebhookSettings;
  /** The admin console, when admin groups are configured (else `/admin` says how to turn it on). */
  adminConsole?: AdminConsoleSettings;
}

/** The audit chain's signed checkpoints. */
export interface AuditCheckpointSettings {
  /** Signs checkpoints and keys the row MACs; the same in every process that appends. */
  signingKey?: DecisionSigningKey;
  /** More public keys checkpoints verify under (retired signing keys). */
  publicKeys?: PublicDecisionKey[];
  /** Retired signing keys while rotating: their checkpoints and row MACs still hold. */
  previousKeys?: DecisionSigningKey[];
  /** A checkpoint every this many events... */
  every: number;
  /** ...or at the first append this long after the last one. */
  intervalSeconds: number;
}

/** How a worker runs: its slots, its cache, and the build it tells Temporal it is. */
export interface WorkerSettings {
  maxConcurrentActivities: number;
  maxConcurrentLocalActivities: number;
  maxConcurrentWorkflowTasks: number;
  workflowTaskPollers: number;
  /** Workflows kept in memory between tasks; unset: the SDK's default (from the heap size). */
  maxCachedWorkflows?: number;
  /** `ELEVATE_BUILD_ID`; unset: `<package version>+<commit>`. */
  buildId?: string;
  /** Temporal Worker Versioning (worker deployments); off by default. */
  versioning: boolean;
  deploymentName: string;
  /**
   * Batches of removals the expiry revoker (`domain/expiry-revoker.ts`) runs at once when
   * windows end; 0 turns it off and leaves every revocation to the workflows.
   */
  expiryRevokerConcurrency: number;
}

/** The audit webhook sink: where to deliver, how to sign, how hard to push. */
export interface WebhookSettings {
  url: string;
  /**
   * Signing secrets: each signs every delivery (several only while rotating). A `whsec_`
   * secret is base64 after the prefix (the Standard Webhooks form); any other is used as text.
   */
  secrets: string[];
  /** CloudEvents `source` of every event. */
  source: string;
  /** Elevations delivered in parallel. */
  concurrency: number;
  timeoutSeconds: number;
  /** How often the audit trail is polled for new events when there is nothing to deliver. */
  pollIntervalMs: number;
  /** What a permanent refusal (a 4xx other than 408 and 429) does: skip the event, or stop at it. */
  onReject: 'skip' | 'stop';
}

/** Shortest webhook secret accepted, in characters. */
export const WEBHOOK_SECRET_MIN_LENGTH = 32;

/**
 * The admin console (`/admin`): who may sign in (a group claim in the ID token, a group in
 * LDAP, or either), and how long a session lasts. On when at least one of the two is set.
 */
export interface AdminConsoleSettings {
  /** ID token claim that lists the person's groups (`ADMIN_OIDC_GROUPS_CLAIM`). */
  groupsClaim: string;
  /** Any of these in the claim makes the person an admin (`ADMIN_OIDC_GROUPS`). */
  groups: string[];
  /** Members of this LDAP group (matched by `mail`, as approvers are) are admins. */
  ldapGroupDn?: string;
  /** A session unused this long ends. */
  idleMinutes: number;
  /** A session ends this long after sign-in, however busy. */
  maxHours: number;
  /** How often a session's admin rights are checked again. */
  recheckMinutes: number;
  /**
   * Signing in needs a login at the provider at most this many seconds old (`max_age`,
   * `prompt=login`, `auth_time` checked), as approvals do (`ADMIN_SIGN_IN_MAX_AGE_SECONDS`,
   * default {@link DEFAULT_ADMIN_SIGN_IN_MAX_AGE_SECONDS}). Optional for callers that build
   * settings by hand: without it the provider's existing session may be reused.
   */
  signInMaxAgeSeconds?: number;
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
  /** A non-`email` {@link emailClaim} is trusted as verified (`OIDC_EMAIL_CLAIM_TRUSTED`). */
  emailClaimTrusted?: boolean;
  /** ID-token claim holding the value of `LDAP_APPROVER_JOIN_ATTRIBUTE` (`OIDC_APPROVER_JOIN_CLAIM`). */
  joinClaim?: string;
}

/** A secret from VAR or from the file VAR_FILE names (trimmed); never echoed in errors. */
/** `oncall` of the settings, when a provider is configured. */
function onCallSettingsOf(raw: Record<string, string | undefined>, e: Env): { oncall?: OnCallSettings } {
  const oncall = onCallSettings((name) => secret(raw, name), e);
  return oncall ? { oncall } : {};
}

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

/**
 * A decision key from VAR or VAR_FILE, parsed; a {@link ConfigError} naming whichever was set
 * when it is not a usable key (the message never holds the key).
 */
function decisionKey<T>(
  e: Record<string, string | undefined>,
  name:
    | 'ELEVATE_DECISION_SIGNING_KEY'
    | 'ELEVATE_DECISION_PUBLIC_KEYS'
    | 'ELEVATE_AUDIT_CHECKPOINT_KEY'
    | 'ELEVATE_AUDIT_CHECKPOINT_KEY_PREVIOUS'
    | 'ELEVATE_AUDIT_CHECKPOINT_PUBLIC_KEYS',
  parse: (pem: string) => T,
): T | undefined {
  const pem = secret(e, name);
  if (!pem) return undefined;
  try {
    return parse(pem);
  } catch (err) {
    if (!(err instanceof DecisionKeyError)) throw err;
    const given = e[`${name}_FILE`] ? `${name}_FILE` : name;
    throw new ConfigError(`${given}: ${err.message}`, given);
  }
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
  const previousText = secret(raw, 'ELEVATE_CREDENTIALS_KEY_PREVIOUS');
  let credentialsPreviousKeys: Buffer[] | undefined;
  if (previousText) {
    try {
      credentialsPreviousKeys = previousText.split(',').map((k) => parseCredentialsKey(k));
    } catch (err) {
      throw new ConfigError(
        `ELEVATE_CREDENTIALS_KEY_PREVIOUS: each comma-separated key ${(err as Error).message}`,
        'ELEVATE_CREDENTIALS_KEY_PREVIOUS',
      );
    }
  }

  const decisionSigningKey = decisionKey(raw, 'ELEVATE_DECISION_SIGNING_KEY', parseSigningKey);
  const decisionPublicKeys = decisionKey(raw, 'ELEVATE_DECISION_PUBLIC_KEYS', parsePublicKeys);
  const checkpointKey = decisionKey(raw, 'ELEVATE_AUDIT_CHECKPOINT_KEY', parseSigningKey);
  const checkpointPublicKeys = decisionKey(raw, 'ELEVATE_AUDIT_CHECKPOINT_PUBLIC_KEYS', parsePublicKeys);
  // Retired checkpoint keys, while rotating: PEM blocks one after the other.
  const checkpointPreviousKeys = decisionKey(raw, 'ELEVATE_AUDIT_CHECKPOINT_KEY_PREVIOUS', (pem) =>
    (pem.match(/-----BEGIN PRIVATE KEY-----[\s\S]*?-----END PRIVATE KEY-----/g) ?? [pem]).map(
      parseSigningKey,
    ),
  );

  const databaseUrl = secret(raw, 'DATABASE_URL');
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    const name = raw.DATABASE_URL_FILE ? 'DATABASE_URL_FILE' : 'DATABASE_URL';
    throw new ConfigError(`${name}: must start with postgres:// or postgresql://`, name);
  }

  let metricsTokenHash: string | undefined;
  const metricsToken = secret(raw, 'ELEVATE_METRICS_TOKEN');
  if (metricsToken !== undefined) {
    // Presented as "Authorization: Bearer <token>": printable ASCII without spaces.
    if (!/^[\x21-\x7e]{32,8192}$/.test(metricsToken)) {
      throw new ConfigError(
        'ELEVATE_METRICS_TOKEN: must be 32 or more printable characters without spaces (make one with: openssl rand -base64 32)',
        'ELEVATE_METRICS_TOKEN',
      );
    }
    metricsTokenHash = hashSecret(metricsToken);
  }

  let oidc: OidcSettings | undefined;
  if (e.OIDC_ISSUER) {
    if (!e.OIDC_CLIENT_ID)
      throw new ConfigError('OIDC_CLIENT_ID: must be set when OIDC_ISSUER is', 'OIDC_CLIENT_ID');
    const clientSecret = secret(raw, 'OIDC_CLIENT_SECRET');
    const mfaMethods = list(e.OIDC_MFA_METHODS);
    if (e.OIDC_EMAIL_CLAIM !== 'email' && e.OIDC_EMAIL_CLAIM_TRUSTED !== 'true') {
      throw new ConfigError(
        `OIDC_EMAIL_CLAIM_TRUSTED: the claim ${e.OIDC_EMAIL_CLAIM} comes without email_verified; set OIDC_EMAIL_CLAIM_TRUSTED=true only if the provider fills it with verified addresses users cannot change, or use OIDC_EMAIL_CLAIM=email`,
        'OIDC_EMAIL_CLAIM_TRUSTED',
      );
    }
    const joinByMail = e.LDAP_APPROVER_JOIN_ATTRIBUTE.toLowerCase() === 'mail';
    if (!joinByMail && !e.OIDC_APPROVER_JOIN_CLAIM) {
      throw new ConfigError(
        `OIDC_APPROVER_JOIN_CLAIM: must name the ID token claim that holds LDAP ${e.LDAP_APPROVER_JOIN_ATTRIBUTE} when LDAP_APPROVER_JOIN_ATTRIBUTE is set`,
        'OIDC_APPROVER_JOIN_CLAIM',
      );
    }
    if (joinByMail && e.OIDC_APPROVER_JOIN_CLAIM) {
      throw new ConfigError(
        'OIDC_APPROVER_JOIN_CLAIM: set LDAP_APPROVER_JOIN_ATTRIBUTE too (the directory attribute that holds the same value)',
        'OIDC_APPROVER_JOIN_CLAIM',
      );
    }
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
      emailClaimTrusted: e.OIDC_EMAIL_CLAIM_TRUSTED === 'true',
      ...(e.OIDC_APPROVER_JOIN_CLAIM ? { joinClaim: e.OIDC_APPROVER_JOIN_CLAIM } : {}),
    };
  }
  refuseInsecurePublicUrl(
    publicUrl,
    Boolean(oidc ?? slack),
    e.ELEVATE_ALLOW_INSECURE_HTTP,
    !e.ELEVATE_PUBLIC_URL,
  );
  const webhook = webhookSettings(e, raw, publicUrl);
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
    temporal: loadTemporalSettings(env, e.ELEVATE_TASK_QUEUE),
    shutdownGraceSeconds: e.ELEVATE_SHUTDOWN_GRACE_SECONDS,
    http: httpLimits(e),
    healthCacheMs: e.ELEVATE_HEALTH_CACHE_MS,
    worker: {
      maxConcurrentActivities: e.ELEVATE_WORKER_MAX_CONCURRENT_ACTIVITIES,
      maxConcurrentLocalActivities: e.ELEVATE_WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES,
      maxConcurrentWorkflowTasks: e.ELEVATE_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS,
      workflowTaskPollers: e.ELEVATE_WORKER_WORKFLOW_TASK_POLLERS,
      ...(e.ELEVATE_WORKER_MAX_CACHED_WORKFLOWS !== undefined
        ? { maxCachedWorkflows: e.ELEVATE_WORKER_MAX_CACHED_WORKFLOWS }
        : {}),
      ...(e.ELEVATE_BUILD_ID ? { buildId: e.ELEVATE_BUILD_ID } : {}),
      versioning: e.ELEVATE_WORKER_VERSIONING === 'true',
      deploymentName: e.ELEVATE_WORKER_DEPLOYMENT_NAME,
      expiryRevokerConcurrency: e.ELEVATE_EXPIRY_REVOKER_CONCURRENCY,
    },
    audit: {
      ...(databaseUrl ? { databaseUrl } : {}),
      sqlitePath: path.resolve(e.ELEVATE_SQLITE_PATH ?? path.join(dataDir, 'audit.db')),
    },
    ...(ldap ? { ldap } : {}),
    timing: {
      grantTimeoutSeconds: e.ELEVATE_GRANT_TIMEOUT_SECONDS,
      revokeRetryMaxSeconds: e.ELEVATE_REVOKE_RETRY_MAX_SECONDS,
    },
    reconcile: { intervalSeconds: e.ELEVATE_RECONCILE_INTERVAL_SECONDS },
    trustProxy: parseTrustProxy(e.ELEVATE_TRUST_PROXY),
    auditExplicit: Boolean(databaseUrl ?? e.ELEVATE_SQLITE_PATH),
    publicUrl,
    authFailureLimit: { burst: e.ELEVATE_AUTH_FAILURE_BURST, perMinute: e.ELEVATE_AUTH_FAILURE_PER_MINUTE },
    ...(e.LDAP_PEOPLE_BASE_DN ? { ldapPeopleBaseDn: e.LDAP_PEOPLE_BASE_DN } : {}),
    ldapApproverJoinAttribute: e.LDAP_APPROVER_JOIN_ATTRIBUTE,
    ...(slack ? { slack } : {}),
    ...onCallSettingsOf(raw, e),
    ...(oidc ? { oidc } : {}),
    ...(credentialsKey ? { credentialsKey } : {}),
    ...(credentialsPreviousKeys ? { credentialsPreviousKeys } : {}),
    ...(decisionSigningKey ? { decisionSigningKey } : {}),
    ...(decisionPublicKeys ? { decisionPublicKeys } : {}),
    auditCheckpoints: {
      ...(checkpointKey ? { signingKey: checkpointKey } : {}),
      ...(checkpointPublicKeys ? { publicKeys: checkpointPublicKeys } : {}),
      ...(checkpointPreviousKeys ? { previousKeys: checkpointPreviousKeys } : {}),
      every: e.ELEVATE_AUDIT_CHECKPOINT_EVERY,
      intervalSeconds: e.ELEVATE_AUDIT_CHECKPOINT_SECONDS,
    },
    ...(metricsTokenHash ? { metricsTokenHash } : {}),
    ...(e.ELEVATE_METRICS_PORT ? { metricsPort: e.ELEVATE_METRICS_PORT } : {}),
    ...(webhook ? { webhook } : {}),
    ...adminConsoleSettings(e),
  };
}

/**
 * Approval tickets, confirmation tokens and console cookies travel to and from the public URL:
 * over plain http to anything but this machine they can be read on the way. With OIDC or Slack
 * configured (people's browsers use it), refuse that unless it is explicitly allowed.
 */
function refuseInsecurePublicUrl(
  publicUrl: string,
  browsersUseIt: boolean,
  allow: 'true' | 'false' | '1' | '0',
  derived: boolean,
): void {
  if (!browsersUseIt || allow === 'true' || allow === '1' || !publicUrl.startsWith('http://')) return;
  const host = new URL(publicUrl).hostname;
  if (host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host)) return;
  const name = derived ? 'HOST' : 'ELEVATE_PUBLIC_URL';
  throw new ConfigError(
    `${name}: ${derived ? `the public URL derived from it (${publicUrl})` : publicUrl} is plain http:// to another machine, so approval links, confirmation tokens and console cookies would travel unencrypted; set ELEVATE_PUBLIC_URL to the https:// address browsers reach Elevate at (a TLS proxy in front), or set ELEVATE_ALLOW_INSECURE_HTTP=1 to accept the risk`,
    name,
  );
}

/** The HTTP servers' limits; the headers must be due no later than the whole request. */
function httpLimits(e: Env): HttpServerLimits {
  if (e.ELEVATE_HTTP_HEADERS_TIMEOUT_SECONDS > e.ELEVATE_HTTP_REQUEST_TIMEOUT_SECONDS) {
    throw new ConfigError(
      `ELEVATE_HTTP_HEADERS_TIMEOUT_SECONDS: must be at most ELEVATE_HTTP_REQUEST_TIMEOUT_SECONDS (${e.ELEVATE_HTTP_REQUEST_TIMEOUT_SECONDS})`,
      'ELEVATE_HTTP_HEADERS_TIMEOUT_SECONDS',
    );
  }
  return {
    headersTimeoutSeconds: e.ELEVATE_HTTP_HEADERS_TIMEOUT_SECONDS,
    requestTimeoutSeconds: e.ELEVATE_HTTP_REQUEST_TIMEOUT_SECONDS,
    keepAliveTimeoutSeconds: e.ELEVATE_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS,
    maxConnections: e.ELEVATE_HTTP_MAX_CONNECTIONS,
  };
}

/**
 * How old, in seconds, the login behind a console sign-in may be unless configured: a stolen or
 * forgotten session at the provider, or an `amr` from hours ago, does not open the console.
 */
export const DEFAULT_ADMIN_SIGN_IN_MAX_AGE_SECONDS = 900;

/** The admin console's settings, when `ADMIN_OIDC_GROUPS` or `ADMIN_LDAP_GROUP_DN` is set. */
function adminConsoleSettings(e: Env): { adminConsole?: AdminConsoleSettings } {
  const groups = list(e.ADMIN_OIDC_GROUPS);
  if (groups.length === 0 && !e.ADMIN_LDAP_GROUP_DN) {
    // A sign-in rule for a console nobody configured: most likely a deployment that meant to turn
    // the console on, and would otherwise run without it (or with the demo console) unawares.
    if (e.ADMIN_SIGN_IN_MAX_AGE_SECONDS !== undefined) {
      throw new ConfigError(
        'ADMIN_SIGN_IN_MAX_AGE_SECONDS: set ADMIN_OIDC_GROUPS or ADMIN_LDAP_GROUP_DN with it (it applies to a configured admin console)',
        'ADMIN_SIGN_IN_MAX_AGE_SECONDS',
      );
    }
    return {};
  }
  if (e.ADMIN_LDAP_GROUP_DN && !isValidDn(e.ADMIN_LDAP_GROUP_DN)) {
    throw new ConfigError(
      'ADMIN_LDAP_GROUP_DN: must be an LDAP DN, e.g. cn=elevate-admins,ou=groups,dc=example,dc=org',
      'ADMIN_LDAP_GROUP_DN',
    );
  }
  if (e.ADMIN_SESSION_IDLE_MINUTES > e.ADMIN_SESSION_MAX_HOURS * 60) {
    throw new ConfigError(
      'ADMIN_SESSION_IDLE_MINUTES: must not be longer than ADMIN_SESSION_MAX_HOURS',
      'ADMIN_SESSION_IDLE_MINUTES',
    );
  }
  return {
    adminConsole: {
      groupsClaim: e.ADMIN_OIDC_GROUPS_CLAIM,
      groups,
      ...(e.ADMIN_LDAP_GROUP_DN ? { ldapGroupDn: e.ADMIN_LDAP_GROUP_DN } : {}),
      idleMinutes: e.ADMIN_SESSION_IDLE_MINUTES,
      maxHours: e.ADMIN_SESSION_MAX_HOURS,
      recheckMinutes: e.ADMIN_RECHECK_MINUTES,
      signInMaxAgeSeconds: e.ADMIN_SIGN_IN_MAX_AGE_SECONDS ?? DEFAULT_ADMIN_SIGN_IN_MAX_AGE_SECONDS,
    },
  };
}

/**
 * The webhook settings, when `ELEVATE_WEBHOOK_URL` is set. A secret without a URL is refused
 * too: it is most likely a deployment that meant to stream its audit trail and would not.
 */
function webhookSettings(
  e: Env,
  raw: Record<string, string | undefined>,
  publicUrl: string,
): WebhookSettings | undefined {
  const text = secret(raw, 'ELEVATE_WEBHOOK_SECRET');
  if (!e.ELEVATE_WEBHOOK_URL) {
    if (text) {
      throw new ConfigError(
        'ELEVATE_WEBHOOK_URL: must be set when ELEVATE_WEBHOOK_SECRET is',
        'ELEVATE_WEBHOOK_URL',
      );
    }
    return undefined;
  }
  if (!text) {
    throw new ConfigError(
      'ELEVATE_WEBHOOK_SECRET: must be set (or ELEVATE_WEBHOOK_SECRET_FILE) when ELEVATE_WEBHOOK_URL is (make one with: echo "whsec_$(openssl rand -base64 32)")',
      'ELEVATE_WEBHOOK_SECRET',
    );
  }
  const secrets = text.split(/\s+/).filter(Boolean);
  for (const [index, s] of secrets.entries()) {
    const which = secrets.length > 1 ? `secret ${index + 1} ` : '';
    if (s.length < WEBHOOK_SECRET_MIN_LENGTH) {
      throw new ConfigError(
        `ELEVATE_WEBHOOK_SECRET: ${which}must be at least ${WEBHOOK_SECRET_MIN_LENGTH} characters`,
        'ELEVATE_WEBHOOK_SECRET',
      );
    }
    if (s.startsWith('whsec_')) {
      const body = s.slice('whsec_'.length);
      const bytes = Buffer.from(body, 'base64');
      // Buffer skips characters that are not base64: re-encoding shows whether all were.
      if (
        !/^[A-Za-z0-9+/]+={0,2}$/.test(body) ||
        bytes.toString('base64').replace(/=+$/, '') !== body.replace(/=+$/, '')
      ) {
        throw new ConfigError(
          `ELEVATE_WEBHOOK_SECRET: ${which}starts with whsec_ but the rest is not base64`,
          'ELEVATE_WEBHOOK_SECRET',
        );
      }
      if (bytes.length < 24 || bytes.length > 64) {
        throw new ConfigError(
          `ELEVATE_WEBHOOK_SECRET: ${which}must decode to 24 to 64 bytes after whsec_ (got ${bytes.length})`,
          'ELEVATE_WEBHOOK_SECRET',
        );
      }
    }
  }
  return {
    url: e.ELEVATE_WEBHOOK_URL,
    secrets,
    source: e.ELEVATE_WEBHOOK_SOURCE ?? publicUrl,
    concurrency: e.ELEVATE_WEBHOOK_CONCURRENCY,
    timeoutSeconds: e.ELEVATE_WEBHOOK_TIMEOUT_SECONDS,
    pollIntervalMs: e.ELEVATE_WEBHOOK_POLL_INTERVAL_MS,
    onReject: e.ELEVATE_WEBHOOK_ON_REJECT,
  };
}

function parseTrustProxy(value: string | undefined): boolean | number | string {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  if (/^\d+$/.test(value)) return Number(value);
  return value;
}
