/**
 * What the API process and the worker process are both made of: the stores, the metrics, the
 * Slack client, the Temporal connection, the read-only LDAP directory, the domain services and
 * the health checks they share. The composition roots (runtime/api.ts, runtime/worker.ts, and
 * runtime/api-and-worker.ts for `elevate start`) open this once and add their own half.
 */
import type { Client } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import type { Logger } from 'pino';
import { ConfigError } from '../core/errors/config-error.js';
import type { Policy } from '../config/policy.js';
import type { Settings } from '../config/settings.js';
import { describeTemporal } from '../config/temporal-settings.js';
import { CredentialVault } from '../domain/credential-vault.js';
import { DecisionSigner } from '../domain/decision-signer.js';
import { createDomainServices, type DomainServices } from '../domain/domain-services.js';
import type { WorkloadIdentityVerifier } from '../integrations/federation/workload-identity.js';
import { LdapApproverDirectory } from '../integrations/ldap/approver-directory.js';
import type { OnCallDirectory } from '../core/ports/oncall-directory.js';
import { onCallDirectoryOf } from '../integrations/oncall/oncall-directory.js';
import type { LdapTarget } from '../integrations/ldap/ldap-target.js';
import { createMetrics, preAuthReasonLabel, type Metrics } from '../integrations/metrics/prometheus.js';
import { SlackClient } from '../integrations/slack/slack-client.js';
import type { HealthCheck } from '../server/health.js';
import type { Stores } from '../store/stores.js';
import { openProcessStores } from './process-stores.js';
import { Shutdown } from './shutdown.js';
import { startSlackTokenCheck } from './slack-token-check.js';
import { usesCredentialsMode } from './targets.js';
import { connectTemporal, type TemporalConnections } from './temporal-connection.js';

/** The settings a process needs once its Temporal server and LDAP directory are known. */
export type ServiceSettings = Pick<Settings, 'host' | 'port' | 'audit' | 'timing'> &
  Partial<
    Pick<
      Settings,
      | 'trustProxy'
      | 'publicUrl'
      | 'slack'
      | 'oncall'
      | 'oidc'
      | 'ldapPeopleBaseDn'
      | 'ldapApproverJoinAttribute'
      | 'reconcile'
      | 'credentialsKey'
      | 'credentialsPreviousKeys'
      | 'metricsTokenHash'
      | 'metricsPort'
      | 'webhook'
      | 'adminConsole'
      | 'decisionSigningKey'
      | 'decisionPublicKeys'
      | 'auditCheckpoints'
      | 'shutdownGraceSeconds'
      | 'http'
      | 'healthCacheMs'
      | 'worker'
      | 'authFailureLimit'
    >
  > & {
    /** The LDAP directory; needed only if something uses it ({@link ldapUses}). */
    ldap?: Settings['ldap'];
    temporal: Settings['temporal'] & { address: string };
  };

export interface ProcessOptions {
  settings: ServiceSettings;
  policy: Policy;
  logger: Logger;
  /** Where target connections are read from (PostgreSQL server URLs, AWS); default process.env. */
  env?: NodeJS.ProcessEnv;
}

/** A started process, whichever halves it runs. */
export interface RunningProcess {
  /** The stores by concern, on the one database this process opened. */
  stores: Stores;
  client: Client;
  /** The capability services (authentication, requests, approvals, bots, audit). */
  services: DomainServices;
  /** This process's metrics (served at `/metrics`). */
  metrics: Metrics;
  /** The LDAP target, in a process that runs the worker with an LDAP directory configured. */
  target?: LdapTarget;
  worker?: Worker;
  /** The API's listening address, when the API runs. */
  url?: string;
  /**
   * Stop everything this process started, in order: the API drains its requests, the worker
   * lets running activities finish (both for `shutdownGraceSeconds`), then connections close.
   */
  close(): Promise<void>;
  /** After {@link close}: true when the worker had to be abandoned with an activity still running. */
  readonly forcedStop: boolean;
}

/** What the halves of a process build on (see the file comment). */
export interface ProcessCore extends ProcessOptions {
  shutdown: Shutdown;
  stores: Stores;
  metrics: Metrics;
  temporal: TemporalConnections;
  client: Client;
  services: DomainServices;
  vault?: CredentialVault;
  /** The read-only LDAP directory (approver groups, the console's admin group). */
  directory?: LdapApproverDirectory;
  slack?: SlackClient;
  /** Who is on call for on-call approver groups: policy rotations, and the providers configured. */
  oncall: OnCallDirectory;
  /** The API's public address; the log notifier's approval links point there too. */
  publicUrl: string;
  /** How long requests and activities may take to finish when the process stops. */
  graceSeconds: number;
  /** The checks both halves report: Temporal, the audit store, and the Slack token. */
  healthChecks: Record<string, HealthCheck>;
}

/**
 * The settings checks every process makes before it opens anything (a configuration error
 * needs no clean-up). `ldapUses` says what needs the LDAP directory in this process.
 */
export function checkProcessSettings(
  { settings, policy }: Pick<ProcessOptions, 'settings' | 'policy'>,
  ldapUses: string[],
): void {
  if (!settings.ldap && ldapUses.length > 0) {
    throw new ConfigError(
      `LDAP_URL: must be set (with LDAP_BIND_DN and LDAP_BIND_PASSWORD): ${ldapUses.join('; ')}`,
      'LDAP_URL',
    );
  }
  if (usesCredentialsMode(policy) && !settings.credentialsKey) {
    throw new ConfigError(
      'ELEVATE_CREDENTIALS_KEY: must be set (or ELEVATE_CREDENTIALS_KEY_FILE), the same in the API and the worker: roles hand out AWS credentials, which wait encrypted for their bot (make one with: openssl rand -base64 32)',
      'ELEVATE_CREDENTIALS_KEY',
    );
  }
}

export interface ProcessNeeds {
  /** A worker runs here: it needs Temporal's native connection. */
  nativeConnection: boolean;
  /** Workload identity tokens, verified by a process that runs the API. */
  federation?: WorkloadIdentityVerifier;
}

/** Open what both halves share; on failure, close what was opened and throw. */
export async function openProcess(options: ProcessOptions, needs: ProcessNeeds): Promise<ProcessCore> {
  const { settings, policy, logger } = options;
  const shutdown = new Shutdown(logger);
  return shutdown.guard(async () => {
    const stores = await openProcessStores(settings, logger);
    shutdown.add(() => stores.database.close());
    const metrics = createMetrics({
      statusCounts: () => stores.elevations.countByStatus(),
      onCollectError: (err) =>
        logger.warn({ err: (err as Error).message }, 'metrics: could not count the elevations by status'),
    });
    const vault = settings.credentialsKey
      ? new CredentialVault(
          stores.singleUse,
          settings.credentialsKey,
          undefined,
          settings.credentialsPreviousKeys,
        )
      : undefined;
    const directory = settings.ldap
      ? new LdapApproverDirectory({
          ...settings.ldap,
          ...(settings.ldapPeopleBaseDn ? { peopleBaseDn: settings.ldapPeopleBaseDn } : {}),
          ...(settings.ldapApproverJoinAttribute
            ? { joinAttribute: settings.ldapApproverJoinAttribute }
            : {}),
        })
      : undefined;
    // One client for both halves: every Slack call is one attempt, whoever makes it. The worker's
    // activities leave retries to Temporal, and the API's calls run inside Slack's 3-second
    // trigger (integrations/slack/slack-client.ts).
    const slack = settings.slack
      ? new SlackClient({
          token: settings.slack.botToken,
          ...(settings.slack.apiUrl ? { apiUrl: settings.slack.apiUrl } : {}),
          logger: logger.child({ component: 'slack' }),
          metrics,
        })
      : undefined;
    // The bot token is checked here, not by Bolt (whose unawaited check could kill the process):
    // refused is a configuration error, unreachable is a failing `slack` health check.
    const slackToken = slack ? await startSlackTokenCheck(slack, { logger }) : undefined;
    if (slackToken) shutdown.add(() => Promise.resolve(slackToken.stop()));
    const temporal = await connectTemporal(settings.temporal, { worker: needs.nativeConnection, logger });
    shutdown.add(() => temporal.close());
    const client = temporal.client;
    logger.info(describeTemporal(settings.temporal), 'connected to Temporal');
    const oncall = onCallDirectoryOf(settings.oncall);
    const services = createDomainServices({
      policy,
      temporal: client,
      // The client is on the worker's connection when this process runs one (temporal-connection.ts).
      eagerStart: temporal.native !== undefined,
      // Only the API signs; a worker-only process never sends decisions (its service only reads).
      signer: settings.decisionSigningKey ? new DecisionSigner(settings.decisionSigningKey) : refuseToSign,
      taskQueue: settings.temporal.taskQueue,
      auditLog: stores.auditLog,
      elevations: stores.elevations,
      botStates: stores.botStates,
      leases: stores.leases,
      singleUse: stores.singleUse,
      timing: settings.timing,
      ...(directory ? { directory } : {}),
      oncall,
      ...(vault ? { vault } : {}),
      ...(needs.federation ? { federation: needs.federation } : {}),
      logger: logger.child({ component: 'service' }),
      onPreAuthRefusal: (reason) => metrics.preAuthRefusals.inc({ reason: preAuthReasonLabel(reason) }),
    });
    // Runs after the halves have stopped and before the store closes: the last window's counts are kept.
    shutdown.add(() => services.audit.flushRefusals());
    return {
      ...options,
      shutdown,
      stores,
      metrics,
      temporal,
      client,
      services,
      ...(vault ? { vault } : {}),
      ...(directory ? { directory } : {}),
      ...(slack ? { slack } : {}),
      oncall,
      publicUrl: settings.publicUrl ?? `http://${settings.host}:${settings.port}`,
      graceSeconds: settings.shutdownGraceSeconds ?? 30,
      healthChecks: {
        temporal: async () => {
          await client.workflowService.getSystemInfo({});
        },
        auditStore: () => stores.database.ping(),
        ...(slackToken ? { slack: slackToken.check } : {}),
      },
    };
  });
}

/**
 * The process as its starter sees it: the shared parts, with `parts` (the API's address, the
 * worker and its target) added. `forcedStop` is the worker's (false without one).
 */
export function runningProcess<T extends Partial<Pick<RunningProcess, 'target' | 'worker' | 'url'>>>(
  core: ProcessCore,
  parts: T,
  forcedStop: () => boolean = () => false,
): RunningProcess & T {
  const running: RunningProcess = {
    stores: core.stores,
    client: core.client,
    services: core.services,
    metrics: core.metrics,
    close: () => core.shutdown.close(),
    get forcedStop() {
      return forcedStop();
    },
  };
  return Object.assign(running, parts);
}

/** The signer of a process without the signing key: it sends no decisions, and says why if asked. */
const refuseToSign = {
  kid: '',
  decision: () =>
    Promise.reject(
      new Error('this process has no ELEVATE_DECISION_SIGNING_KEY: only the API sends decisions'),
    ),
  request: () =>
    Promise.reject(
      new Error('this process has no ELEVATE_DECISION_SIGNING_KEY: only the API starts elevations'),
    ),
  attestation: () =>
    Promise.reject(
      new Error('this process has no ELEVATE_DECISION_SIGNING_KEY: only the API sends attestations'),
    ),
  breakGlassReview: () =>
    Promise.reject(
      new Error('this process has no ELEVATE_DECISION_SIGNING_KEY: only the API sends break-glass reviews'),
    ),
};
