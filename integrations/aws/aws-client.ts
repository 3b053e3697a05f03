/**
 * The AWS SDK clients both AWS targets call through, and how every call is made: refused once
 * closed, and any failure turned into a {@link TargetError} by {@link mapAwsError} alone.
 *
 * Every call goes through the AWS SDK (v3) with its standard retries (three attempts) and with
 * connect and request timeouts, so no call can hang.
 */
import { IAMClient, type IAMClientConfig } from '@aws-sdk/client-iam';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Logger } from 'pino';
import { TargetUnreachableError } from '../../core/errors/target-errors.js';
import { isCode, mapAwsError, type AwsErrorContext, type AwsOperation } from './aws-errors.js';

/**
 * AWS credentials for Elevate's own identity: fixed keys, or a provider the SDK calls (and
 * refreshes) itself. Left out, the SDK's default chain is used (environment, shared config,
 * container or instance role).
 */
export type AwsCredentials = NonNullable<IAMClientConfig['credentials']>;

/** How an AWS target reaches AWS (the options of both AWS targets). */
export interface AwsTargetOptions {
  /** Region for the SDK (IAM is global; STS is called in this region). Default `AWS_REGION`, else `us-east-1`. */
  region?: string;
  /** Endpoint for both IAM and STS instead of AWS's own, e.g. a moto server in tests. */
  endpoint?: string;
  /** Elevate's own credentials; never appear in an error message or log line. */
  credentials?: AwsCredentials;
  /** Receives one line per change made (never credentials). */
  logger?: Logger;
  /** The time expiry conditions count from (default: the system clock). */
  clock?: () => Date;
  /** How long to wait for a TCP (and TLS) connection (default 3000 ms). */
  connectTimeoutMs?: number;
  /** How long to wait for each response (default 10000 ms); each of the SDK's attempts gets this long. */
  timeoutMs?: number;
  /**
   * How many items to ask IAM for in each page of a list call (`MaxItems`, 1 to 1000; default
   * IAM's own, 100). Every list is read to its last page whatever the size; a small size only
   * means more calls.
   */
  listPageSize?: number;
}

/**
 * Added to the window in every expiry condition Elevate writes. The revocation runs when the
 * window ends and takes a moment; without slack the condition could cut the grant a few seconds
 * early, and clocks differ a little. A minute late is the worst case when Elevate cannot revoke.
 */
export const EXPIRY_SLACK_SECONDS = 60;

/** Orders strings by UTF-16 code units, as `Array.prototype.sort` does by default. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One AWS target's IAM and STS clients and the way each call is made. */
export class AwsConnection {
  readonly iam: IAMClient;
  readonly sts: STSClient;
  readonly logger: Logger | undefined;
  readonly clock: () => Date;
  /** What every paginator gets: the client, and the page size if one was set. */
  readonly pager: { client: IAMClient; pageSize?: number };
  private readonly secrets: string[];
  private closed = false;

  /** @throws {Error} for timeouts that are not positive or a page size out of range. */
  constructor(options: AwsTargetOptions = {}) {
    const connectionTimeout = options.connectTimeoutMs ?? 3_000;
    const requestTimeout = options.timeoutMs ?? 10_000;
    if (!(connectionTimeout > 0 && requestTimeout > 0)) throw new Error('AWS timeouts must be positive');
    const pageSize = options.listPageSize;
    if (pageSize !== undefined && !(Number.isInteger(pageSize) && pageSize >= 1 && pageSize <= 1000)) {
      throw new Error('AWS listPageSize must be an integer from 1 to 1000');
    }
    const config = {
      region: options.region ?? process.env['AWS_REGION'] ?? process.env['AWS_DEFAULT_REGION'] ?? 'us-east-1',
      ...(options.endpoint ? { endpoint: options.endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      requestHandler: { connectionTimeout, requestTimeout, throwOnRequestTimeout: true },
    };
    this.iam = new IAMClient(config);
    this.sts = new STSClient(config);
    this.pager = pageSize === undefined ? { client: this.iam } : { client: this.iam, pageSize };
    this.logger = options.logger;
    this.clock = options.clock ?? (() => new Date());
    const c = options.credentials;
    this.secrets =
      c && typeof c === 'object' ? [c.secretAccessKey, c.sessionToken ?? ''].filter((s) => s.length > 0) : [];
  }

  /** What {@link mapAwsError} is told about a call (with the secrets it must redact). */
  errorContext(operation: AwsOperation, principal?: string, policy?: string): AwsErrorContext {
    return { operation, principal, policy, secrets: this.secrets };
  }

  /** Runs `op`, refusing once closed; every failure becomes a typed target error. */
  async run<T>(ctx: AwsErrorContext, op: () => Promise<T>): Promise<T> {
    if (this.closed) throw new TargetUnreachableError('the AWS IAM target is closed');
    try {
      return await op();
    } catch (err) {
      throw mapAwsError(err, ctx);
    }
  }

  /** `undefined` instead of a `NoSuchEntity` failure. */
  async ignoreMissing<T>(call: Promise<T>): Promise<T | undefined> {
    try {
      return await call;
    } catch (err) {
      if (isCode(err, 'NoSuchEntity')) return undefined;
      throw err;
    }
  }

  /** Asks STS who Elevate is (`GetCallerIdentity`), proving both reachability and credentials. */
  async ping(): Promise<void> {
    await this.run(this.errorContext('ping'), async () => {
      await this.sts.send(new GetCallerIdentityCommand({}));
    });
  }

  /** Releases the SDK clients' connections; later calls fail with {@link TargetUnreachableError}. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      this.iam.destroy();
      this.sts.destroy();
    }
    return Promise.resolve();
  }
}
