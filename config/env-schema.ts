/**
 * The environment variables of `api`, `worker` and `start`: each one's check and default, as a
 * zod schema. `settings.ts` turns the checked environment into the settings.
 */
import { z } from 'zod';
import { DEFAULT_RECONCILE_INTERVAL_SECONDS } from '../core/model/reconcile.js';

const port = z.coerce.number().int().min(0).max(65535);
const optionalString = z
  .string()
  .optional()
  .transform((s) => (s === '' ? undefined : s));

const httpUrl = z
  .string()
  .regex(/^https?:\/\/[^\s]+$/, { message: 'must be an http:// or https:// URL' })
  .transform((s) => s.replace(/\/+$/, ''));

/** Every environment variable Elevate reads (besides Temporal's own), with its check and default. */
export const envSchema = z.object({
  ELEVATE_CONFIG: optionalString,
  ELEVATE_DATA_DIR: z.string().default('data'),
  HOST: z.string().default('127.0.0.1'),
  PORT: port.default(8080),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  ELEVATE_TASK_QUEUE: z.string().min(1).default('elevate'),
  ELEVATE_SHUTDOWN_GRACE_SECONDS: z.coerce.number().int().min(0).max(3600).default(30),
  ELEVATE_HTTP_HEADERS_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(20),
  ELEVATE_HTTP_REQUEST_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(3600).default(60),
  ELEVATE_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(600).default(5),
  ELEVATE_HTTP_MAX_CONNECTIONS: z.coerce.number().int().min(1).max(1_000_000).default(4096),
  ELEVATE_HEALTH_CACHE_MS: z.coerce.number().int().min(0).max(60_000).default(1000),
  ELEVATE_WORKER_MAX_CONCURRENT_ACTIVITIES: z.coerce.number().int().min(1).max(10_000).default(100),
  ELEVATE_WORKER_MAX_CONCURRENT_LOCAL_ACTIVITIES: z.coerce.number().int().min(1).max(10_000).default(100),
  ELEVATE_WORKER_MAX_CONCURRENT_WORKFLOW_TASKS: z.coerce.number().int().min(2).max(10_000).default(100),
  ELEVATE_WORKER_WORKFLOW_TASK_POLLERS: z.coerce.number().int().min(2).max(1000).default(20),
  ELEVATE_WORKER_MAX_CACHED_WORKFLOWS: optionalString.pipe(
    z.coerce.number<string>().int().min(0).max(1_000_000).optional(),
  ),
  ELEVATE_WORKER_VERSIONING: z.enum(['true', 'false']).default('false'),
  ELEVATE_EXPIRY_REVOKER_CONCURRENCY: z.coerce.number().int().min(0).max(64).default(4),
  ELEVATE_WORKER_DEPLOYMENT_NAME: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,100}$/, { message: 'must be 1 to 100 letters, digits, - or _' })
    .default('elevate'),
  ELEVATE_BUILD_ID: optionalString.pipe(
    z
      .string()
      .regex(/^[\x21-\x7e]{1,200}$/, { message: 'must be 1 to 200 printable characters without spaces' })
      .optional(),
  ),
  DATABASE_URL: optionalString,
  DATABASE_URL_FILE: optionalString,
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
  ELEVATE_CREDENTIALS_KEY_PREVIOUS: optionalString,
  ELEVATE_CREDENTIALS_KEY_PREVIOUS_FILE: optionalString,
  ELEVATE_DECISION_SIGNING_KEY: optionalString,
  ELEVATE_AUDIT_CHECKPOINT_KEY: optionalString,
  ELEVATE_AUDIT_CHECKPOINT_KEY_FILE: optionalString,
  ELEVATE_AUDIT_CHECKPOINT_KEY_PREVIOUS: optionalString,
  ELEVATE_AUDIT_CHECKPOINT_KEY_PREVIOUS_FILE: optionalString,
  ELEVATE_AUDIT_CHECKPOINT_PUBLIC_KEYS: optionalString,
  ELEVATE_AUDIT_CHECKPOINT_PUBLIC_KEYS_FILE: optionalString,
  ELEVATE_AUDIT_CHECKPOINT_EVERY: z.coerce.number().int().min(1).max(10_000).default(100),
  ELEVATE_AUDIT_CHECKPOINT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(60),
  ELEVATE_DECISION_SIGNING_KEY_FILE: optionalString,
  ELEVATE_DECISION_PUBLIC_KEYS: optionalString,
  ELEVATE_DECISION_PUBLIC_KEYS_FILE: optionalString,
  ELEVATE_GRANT_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(86_400).default(120),
  ELEVATE_REVOKE_RETRY_MAX_SECONDS: z.coerce.number().int().min(1).max(3600).default(30),
  ELEVATE_RECONCILE_INTERVAL_SECONDS: z.coerce
    .number()
    .int()
    .min(5)
    .max(86_400)
    .default(DEFAULT_RECONCILE_INTERVAL_SECONDS),
  ELEVATE_TRUST_PROXY: optionalString,
  ELEVATE_ALLOW_INSECURE_HTTP: z.enum(['true', 'false', '1', '0']).default('false'),
  ELEVATE_AUTH_FAILURE_BURST: z.coerce.number().int().min(0).max(100_000).default(20),
  ELEVATE_AUTH_FAILURE_PER_MINUTE: z.coerce.number().int().min(1).max(100_000).default(10),
  ELEVATE_METRICS_TOKEN: optionalString,
  ELEVATE_METRICS_TOKEN_FILE: optionalString,
  ELEVATE_METRICS_PORT: optionalString.pipe(z.coerce.number<string>().int().min(1).max(65535).optional()),
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
  // On-call providers of on-call approver groups (`oncall-settings.ts`).
  PAGERDUTY_API_TOKEN: optionalString,
  PAGERDUTY_API_TOKEN_FILE: optionalString,
  PAGERDUTY_API_URL: optionalString.pipe(httpUrl.optional()),
  OPSGENIE_API_KEY: optionalString,
  OPSGENIE_API_KEY_FILE: optionalString,
  OPSGENIE_API_URL: optionalString.pipe(httpUrl.optional()),
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
  OIDC_MFA_METHODS: z.string().default('mfa,hwk,fido'),
  OIDC_MFA_ACR_VALUES: z.string().default(''),
  OIDC_ACR_VALUES: optionalString,
  OIDC_MAX_AGE_SECONDS: z.coerce.number().int().min(30).max(3600).default(300),
  OIDC_EMAIL_CLAIM: z.string().min(1).default('email'),
  OIDC_EMAIL_CLAIM_TRUSTED: z.enum(['true', 'false']).default('false'),
  OIDC_APPROVER_JOIN_CLAIM: optionalString.pipe(
    z
      .string()
      .regex(/^[\x21-\x7e]{1,100}$/, { message: 'must be a claim name (printable, no spaces)' })
      .optional(),
  ),
  LDAP_PEOPLE_BASE_DN: optionalString,
  LDAP_APPROVER_JOIN_ATTRIBUTE: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9-]{0,63}$/, {
      message: 'must be an LDAP attribute name, e.g. uid or entryUUID',
    })
    .default('mail'),
  ADMIN_OIDC_GROUPS_CLAIM: z.string().min(1).default('groups'),
  ADMIN_OIDC_GROUPS: z.string().default(''),
  ADMIN_LDAP_GROUP_DN: optionalString,
  ADMIN_SESSION_IDLE_MINUTES: z.coerce.number().int().min(1).max(1440).default(30),
  ADMIN_SESSION_MAX_HOURS: z.coerce.number().int().min(1).max(168).default(8),
  ADMIN_RECHECK_MINUTES: z.coerce.number().int().min(1).max(1440).default(5),
  ADMIN_SIGN_IN_MAX_AGE_SECONDS: optionalString.pipe(
    z.coerce.number<string>().int().min(60).max(86_400).optional(),
  ),
  ELEVATE_WEBHOOK_URL: optionalString.pipe(
    z
      .string()
      .regex(/^https?:\/\/[^\s]+$/, { message: 'must be an http:// or https:// URL' })
      .optional(),
  ),
  ELEVATE_WEBHOOK_SECRET: optionalString,
  ELEVATE_WEBHOOK_SECRET_FILE: optionalString,
  ELEVATE_WEBHOOK_SOURCE: optionalString.pipe(
    z
      .string()
      .regex(/^\S{1,1024}$/, { message: 'must be a URI reference without spaces, e.g. urn:elevate:prod' })
      .optional(),
  ),
  ELEVATE_WEBHOOK_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(8),
  ELEVATE_WEBHOOK_TIMEOUT_SECONDS: z.coerce.number().int().min(1).max(300).default(10),
  ELEVATE_WEBHOOK_POLL_INTERVAL_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  ELEVATE_WEBHOOK_ON_REJECT: z.enum(['skip', 'stop']).default('stop'),
});

/** The environment after its check: every variable typed, defaults filled in. */
export type Env = z.output<typeof envSchema>;
