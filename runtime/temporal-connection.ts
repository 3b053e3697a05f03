/**
 * Connect to Temporal with the standard client configuration ({@link TemporalSettings}), the
 * same options for the client's `Connection` and the worker's `NativeConnection`, and fail at
 * start with a message that names the cause and the setting to fix: an unreachable address,
 * a TLS handshake that failed (the server's CA, its name, the client certificate), credentials
 * Temporal refused, a namespace that does not exist. Key material is never logged.
 */
import { unwatchFile, watchFile } from 'node:fs';
import { isIP } from 'node:net';
import { checkServerIdentity, connect as tlsConnect } from 'node:tls';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import { NativeConnection, type NativeConnectionOptions } from '@temporalio/worker';
import type { Logger } from 'pino';
import { readApiKeyFile, type TemporalSettings } from '../config/temporal-settings.js';

/** Why Elevate could not connect to Temporal; `setting` is what to fix. */
export class TemporalConnectError extends Error {
  override readonly name = 'TemporalConnectError';
  constructor(
    message: string,
    /** The environment variable (or profile entry) to look at. */
    readonly setting: string,
    /** A short word for the kind of failure (logs, tests). */
    readonly cause_kind:
      'unreachable' | 'tls' | 'unauthenticated' | 'permission_denied' | 'namespace_not_found',
  ) {
    super(message);
  }
}

/** The connections of one process, and how to close them. */
export interface TemporalConnections {
  /** The client's own connection (grpc-js), which checked the namespace and the credentials. */
  connection: Connection;
  /** On {@link native} when there is one (eager workflow start), else on {@link connection}. */
  client: Client;
  /** The worker's connection (Rust core), when this process runs a worker. */
  native?: NativeConnection;
  close(): Promise<void>;
}

/** How often a `TEMPORAL_API_KEY_FILE` is looked at for a new key. */
const API_KEY_POLL_MS = 10_000;

const GRPC = { PERMISSION_DENIED: 7, UNAUTHENTICATED: 16, NOT_FOUND: 5 } as const;

/** Everything an error says about itself, flattened (grpc-js and Rust core nest causes). */
function describe(err: unknown): { text: string; code?: number } {
  const parts: string[] = [];
  let code: number | undefined;
  let e: unknown = err;
  for (let depth = 0; e && depth < 6; depth++) {
    const x = e as { message?: unknown; details?: unknown; code?: unknown; cause?: unknown };
    if (typeof x.message === 'string') parts.push(x.message);
    if (typeof x.details === 'string') parts.push(x.details);
    if (code === undefined && typeof x.code === 'number') code = x.code;
    e = x.cause;
  }
  return { text: parts.join(' | '), ...(code !== undefined ? { code } : {}) };
}

/**
 * Turn a connection failure into a {@link TemporalConnectError} that says what to fix. The
 * texts matched are those of grpc-js (the client), Temporal's Rust core (the worker) and
 * Node's TLS (the probe).
 */
export async function diagnoseConnectError(
  err: unknown,
  t: TemporalSettings & { address: string },
): Promise<TemporalConnectError> {
  const first = classifyConnectError(err, t);
  if (first.cause_kind !== 'unreachable' || !t.tls) return first;
  const handshake = await probeTls(t);
  if (handshake === undefined || /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH/.test(handshake))
    return first;
  return classifyConnectError(new Error(`TLS handshake: ${handshake}`), t);
}

/**
 * Turn a connection failure into a {@link TemporalConnectError} from what the error says
 * (see {@link diagnoseConnectError}, which also asks the endpoint when that says too little).
 */
export function classifyConnectError(
  err: unknown,
  t: TemporalSettings & { address: string },
): TemporalConnectError {
  const { text, code } = describe(err);
  const src = t.source;
  const where = `Temporal at ${t.address}`;
  const mutual = Boolean(t.tls?.clientCertPair);
  const credential =
    t.apiKey !== undefined
      ? (src?.apiKey ?? 'TEMPORAL_API_KEY')
      : mutual
        ? (src?.clientCert ?? 'TEMPORAL_TLS_CLIENT_CERT_PATH')
        : 'TEMPORAL_API_KEY';
  const lower = text.toLowerCase();
  // The detail shown is the library's own wording, cut short; it never contains key material.
  const detail = text.replace(/\s+/g, ' ').slice(0, 300);

  // Temporal's Rust core reports a gRPC status by its description, not its name or number.
  if (
    code === GRPC.UNAUTHENTICATED ||
    /unauthenticated|does not have valid authentication credentials|http status code 401|status: 401|\b401 unauthorized/.test(
      lower,
    )
  ) {
    return new TemporalConnectError(
      `${credential}: ${where} refused the credentials (unauthenticated)${t.apiKey === undefined && !mutual ? '; it needs an API key (TEMPORAL_API_KEY) or a client certificate (TEMPORAL_TLS_CLIENT_CERT_PATH)' : ''} [${detail}]`,
      credential,
      'unauthenticated',
    );
  }
  if (
    code === GRPC.PERMISSION_DENIED ||
    /permission.?denied|does not have permission|http status code 403|status: 403/.test(lower)
  ) {
    return new TemporalConnectError(
      `${credential}: ${where} denied access (permission denied): these credentials may not use namespace ${t.namespace} [${detail}]`,
      credential,
      'permission_denied',
    );
  }
  const tls = /certificate|ssl|tls|handshake|x509|unknownissuer|notvalidforname|bad ?record ?mac|alert/.test(
    lower,
  );
  if (tls || /wrong version number|packet length too long|http status code 400|status: 400/.test(lower)) {
    if (
      /hostname|notvalidforname|not valid for name|altname|subject alternative|does not match certificate/.test(
        lower,
      )
    ) {
      const name = src?.serverName ?? 'TEMPORAL_TLS_SERVER_NAME';
      return new TemporalConnectError(
        `${name}: the TLS handshake with ${where} failed: the server's certificate is not for this name; set TEMPORAL_TLS_SERVER_NAME to the name it carries [${detail}]`,
        name,
        'tls',
      );
    }
    if (
      /unknownissuer|unknown issuer|self.signed|unable to get local issuer|unable to verify|certificate verify failed|invalid peer certificate|unknown ca(?!.*alert)/.test(
        lower,
      ) &&
      !/alert/.test(lower)
    ) {
      const name = src?.serverCa ?? 'TEMPORAL_TLS_SERVER_CA_CERT_PATH';
      return new TemporalConnectError(
        `${name}: the TLS handshake with ${where} failed: its certificate is not signed by a CA Elevate trusts; set TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it [${detail}]`,
        name,
        'tls',
      );
    }
    if (
      /wrong version number|packet length too long|first record does not look like a tls handshake|invalidcontenttype|corrupt message/.test(
        lower,
      )
    ) {
      const name = src?.tls ?? 'TEMPORAL_TLS';
      return new TemporalConnectError(
        `${name}: ${where} does not speak TLS the way Elevate tried (TLS ${t.tls ? 'on' : 'off'} here); check TEMPORAL_TLS and the port [${detail}]`,
        name,
        'tls',
      );
    }
    const name = src?.clientCert ?? 'TEMPORAL_TLS_CLIENT_CERT_PATH';
    return new TemporalConnectError(
      mutual
        ? `${name}: ${where} refused the client certificate (TLS handshake failed): is it signed by the CA the server trusts, and not expired? [${detail}]`
        : `${name}: the TLS handshake with ${where} failed; the server may require a client certificate (mutual TLS: set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH) [${detail}]`,
      name,
      'tls',
    );
  }
  const name = src?.address ?? 'TEMPORAL_ADDRESS';
  return new TemporalConnectError(`${name}: cannot reach ${where} [${detail}]`, name, 'unreachable');
}

/**
 * What a plain TLS handshake with the endpoint says, with the same CA, name and client
 * certificate: grpc-js reports a failed handshake only as "failed to connect before the
 * deadline", so this asks again to find out why. Undefined when the handshake succeeds.
 */
export function probeTls(
  t: TemporalSettings & { address: string },
  timeoutMs = 5000,
): Promise<string | undefined> {
  const tls = t.tls;
  if (!tls) return Promise.resolve(undefined);
  const at = t.address.lastIndexOf(':');
  const host = t.address.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(t.address.slice(at + 1));
  const name = tls.serverNameOverride ?? host;
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host,
      port,
      ...(isIP(name) ? {} : { servername: name }),
      ...(tls.serverRootCACertificate ? { ca: Buffer.from(tls.serverRootCACertificate) } : {}),
      ...(tls.clientCertPair
        ? { cert: Buffer.from(tls.clientCertPair.crt), key: Buffer.from(tls.clientCertPair.key) }
        : {}),
      ALPNProtocols: ['h2'],
      // Checked against the configured name, as gRPC does with a server name override.
      checkServerIdentity: (_host, cert) => checkServerIdentity(name, cert),
    });
    const done = (result: string | undefined) => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(undefined));
    socket.once('secureConnect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(`${err.code ?? ''} ${err.message}`));
  });
}

function connectionOptions(t: TemporalSettings & { address: string }, apiKey: string | undefined) {
  return {
    address: t.address,
    ...(t.tls ? { tls: t.tls } : {}),
    ...(t.metadata ? { metadata: t.metadata } : {}),
    ...(apiKey !== undefined ? { apiKey } : {}),
  };
}

/**
 * The client's connection (grpc-js), checked by asking for the namespace: it exists, and these
 * credentials may use it. `apiKey` is read on every call, so a reloaded key takes effect.
 */
export async function connectClient(
  t: TemporalSettings & { address: string },
  apiKey: () => string | undefined = () => t.apiKey,
  connectTimeoutMs = 10_000,
): Promise<Connection> {
  const key = apiKey();
  const options: ConnectionOptions = {
    ...connectionOptions(t, undefined),
    ...(key !== undefined ? { apiKey: () => apiKey() ?? '' } : {}),
    connectTimeout: connectTimeoutMs,
  };
  let connection: Connection;
  try {
    connection = await Connection.connect(options);
  } catch (err) {
    throw await diagnoseConnectError(err, t);
  }
  try {
    await connection.workflowService.describeNamespace({ namespace: t.namespace });
  } catch (err) {
    await connection.close().catch(() => undefined);
    const { code, text } = describe(err);
    if (code === GRPC.NOT_FOUND || /namespace .*not found/i.test(text)) {
      const name = t.source?.namespace ?? 'TEMPORAL_NAMESPACE';
      throw new TemporalConnectError(
        `${name}: namespace ${t.namespace} does not exist at Temporal ${t.address} (create it, e.g. temporal operator namespace create --namespace ${t.namespace}, or fix the name)`,
        name,
        'namespace_not_found',
      );
    }
    throw await diagnoseConnectError(err, t);
  }
  return connection;
}

/** The worker's connection (Temporal's Rust core), with the same options as the client's. */
export async function connectNative(
  t: TemporalSettings & { address: string },
  apiKey: string | undefined = t.apiKey,
): Promise<NativeConnection> {
  const options: NativeConnectionOptions = connectionOptions(t, apiKey);
  try {
    return await NativeConnection.connect(options);
  } catch (err) {
    throw await diagnoseConnectError(err, t);
  }
}

/**
 * Connect the client (always) and the worker's connection (when `worker`), check that the
 * namespace exists and these credentials may use it, and keep a `TEMPORAL_API_KEY_FILE` key
 * current on both connections.
 */
export async function connectTemporal(
  t: TemporalSettings & { address: string },
  opts: { worker: boolean; logger: Logger; apiKeyPollMs?: number },
): Promise<TemporalConnections> {
  let apiKey = t.apiKey;
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => undefined);
  };
  try {
    const connection = await connectClient(t, () => apiKey);
    closers.push(() => connection.close());
    let native: NativeConnection | undefined;
    if (opts.worker) {
      const n = await connectNative(t, apiKey);
      native = n;
      closers.push(() => n.close());
    }
    // With a worker here, the client goes through the worker's connection: Temporal can then
    // hand a started workflow's first task straight to that worker (eager start).
    const client = new Client({ connection: native ?? connection, namespace: t.namespace });
    if (t.apiKeyFile) {
      const file = t.apiKeyFile;
      const reload = () => {
        let next: string;
        try {
          next = readApiKeyFile(file);
        } catch (err) {
          opts.logger.error(
            { err: (err as Error).message },
            'cannot read the new Temporal API key; keeping the current one',
          );
          return;
        }
        if (next === apiKey) return;
        apiKey = next;
        const applied = native ? native.setApiKey(next) : Promise.resolve();
        applied.then(
          () => opts.logger.info({ file }, 'Temporal API key reloaded from TEMPORAL_API_KEY_FILE'),
          (err: unknown) =>
            opts.logger.error({ err: (err as Error).message }, 'could not apply the new Temporal API key'),
        );
      };
      watchFile(file, { interval: opts.apiKeyPollMs ?? API_KEY_POLL_MS }, reload);
      closers.push(() => {
        unwatchFile(file, reload);
        return Promise.resolve();
      });
    }
    return { connection, client, ...(native ? { native } : {}), close };
  } catch (err) {
    await close();
    throw err;
  }
}
