/**
 * How every Elevate process reaches Temporal: Temporal's standard client environment
 * configuration (`@temporalio/envconfig`, the same settings as the `temporal` CLI and every
 * SDK), so one build runs against the dev server, a self-hosted cluster with mutual TLS, and
 * Temporal Cloud with an API key or mTLS.
 *
 * Precedence, as Temporal documents it: a profile from the TOML file (`TEMPORAL_CONFIG_FILE`,
 * or `$XDG_CONFIG_HOME/temporalio/temporal.toml` / `~/.config/temporalio/temporal.toml`;
 * profile `TEMPORAL_PROFILE`, else `default`), then each `TEMPORAL_*` variable overrides the
 * profile's value. An API key turns TLS on unless `TEMPORAL_TLS=false`.
 *
 * Elevate adds `TEMPORAL_API_KEY_FILE`: the key read from a file (and read again when the file
 * changes, so a rotated key is used without a restart).
 */
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';
import {
  loadClientConfigProfile,
  type ClientConfigProfile,
  type ConfigDataSource,
} from '@temporalio/envconfig';
import { ConfigError } from '../core/errors/config-error.js';

/** Where Elevate's processes connect, and how they prove who they are. */
export interface TemporalSettings {
  /** `host:port` of the frontend; unset: the embedded default starts its own dev server. */
  address?: string;
  namespace: string;
  taskQueue: string;
  /** Plain TLS (`{}`), TLS with a CA / server name / client certificate, or none. */
  tls?: TLSConfig;
  /** The API key, when one is given in the environment or the profile. */
  apiKey?: string;
  /** `TEMPORAL_API_KEY_FILE`: read at start and again whenever the file changes. */
  apiKeyFile?: string;
  /** Extra gRPC metadata from the profile or `TEMPORAL_GRPC_META_*`. */
  metadata?: Record<string, string>;
  /** Which settings chose each part, for messages that say what to fix (absent: the variables). */
  source?: TemporalSettingsSource;
}

/** The names an error message points at. */
export interface TemporalSettingsSource {
  /** The profile and file the values came from, when a file was read. */
  profile?: { name: string; file?: string };
  address: string;
  tls: string;
  clientCert: string;
  serverCa: string;
  serverName: string;
  apiKey: string;
  namespace: string;
}

const TRUE = new Set(['1', 'true']);

/** A `*_PATH` / `*_DATA` pair's name in an error: the one that was set. */
function pairName(env: Record<string, string | undefined>, base: string): string {
  if (env[`${base}_PATH`] !== undefined) return `${base}_PATH`;
  if (env[`${base}_DATA`] !== undefined) return `${base}_DATA`;
  return `${base}_PATH`;
}

function readSource(src: ConfigDataSource | undefined, name: string, what: string): Uint8Array | undefined {
  if (!src) return undefined;
  if ('data' in src) return typeof src.data === 'string' ? Buffer.from(src.data) : src.data;
  try {
    return readFileSync(src.path);
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : 'cannot read it';
    throw new ConfigError(`${name}: ${what} ${src.path}: ${reason}`, name);
  }
}

/** Throws unless `pem` holds at least one PEM block of one of `labels` (never echoes it). */
function requirePem(pem: Uint8Array, labels: string[], name: string, what: string): void {
  const text = Buffer.from(pem).toString('utf8');
  if (!labels.some((l) => text.includes(`-----BEGIN ${l}-----`))) {
    throw new ConfigError(`${name}: the ${what} is not PEM (expected -----BEGIN ${labels[0]}-----)`, name);
  }
}

/**
 * The Temporal connection from an environment (and the TOML profile it names). Throws
 * {@link ConfigError} naming the setting at fault; key material never appears in a message.
 */
export function loadTemporalSettings(
  env: Record<string, string | undefined>,
  taskQueue: string,
): TemporalSettings {
  const defined = Object.fromEntries(
    Object.entries(env).filter((kv): kv is [string, string] => kv[1] !== undefined && kv[1] !== ''),
  );
  const profileName = defined.TEMPORAL_PROFILE ?? 'default';
  let profile: ClientConfigProfile;
  try {
    profile = loadClientConfigProfile({ overrideEnvVars: defined });
  } catch (err) {
    const message = (err as Error).message;
    if (/Profile '.*' not found/.test(message)) {
      throw new ConfigError(
        `TEMPORAL_PROFILE: profile "${profileName}" is not in ${defined.TEMPORAL_CONFIG_FILE ?? 'the Temporal config file'}`,
        'TEMPORAL_PROFILE',
      );
    }
    // A TOML parser's message may quote the line it stopped at, which may hold a key: not shown.
    const at = err as { line?: number; column?: number };
    const where =
      at.line !== undefined
        ? ` (line ${at.line}${at.column !== undefined ? `, column ${at.column}` : ''})`
        : '';
    throw new ConfigError(
      `TEMPORAL_CONFIG_FILE: cannot read the Temporal config file ${defined.TEMPORAL_CONFIG_FILE ?? '(default location)'}${where}`,
      'TEMPORAL_CONFIG_FILE',
    );
  }
  const fromFile = (name: string, value: unknown) =>
    defined[name] === undefined && value !== undefined
      ? `profile "${profileName}" of ${defined.TEMPORAL_CONFIG_FILE ?? 'the Temporal config file'}`
      : name;
  const source: TemporalSettingsSource = {
    address: fromFile('TEMPORAL_ADDRESS', profile.address),
    tls: fromFile('TEMPORAL_TLS', profile.tls),
    clientCert:
      defined.TEMPORAL_TLS_CLIENT_CERT_PATH || defined.TEMPORAL_TLS_CLIENT_CERT_DATA
        ? pairName(defined, 'TEMPORAL_TLS_CLIENT_CERT')
        : fromFile('TEMPORAL_TLS_CLIENT_CERT_PATH', profile.tls?.clientCert),
    serverCa:
      defined.TEMPORAL_TLS_SERVER_CA_CERT_PATH || defined.TEMPORAL_TLS_SERVER_CA_CERT_DATA
        ? pairName(defined, 'TEMPORAL_TLS_SERVER_CA_CERT')
        : fromFile('TEMPORAL_TLS_SERVER_CA_CERT_PATH', profile.tls?.serverCACert),
    serverName: fromFile('TEMPORAL_TLS_SERVER_NAME', profile.tls?.serverName),
    apiKey: defined.TEMPORAL_API_KEY_FILE
      ? 'TEMPORAL_API_KEY_FILE'
      : fromFile('TEMPORAL_API_KEY', profile.apiKey),
    namespace: fromFile('TEMPORAL_NAMESPACE', profile.namespace),
  };
  if (
    defined.TEMPORAL_CONFIG_FILE ||
    defined.TEMPORAL_PROFILE ||
    Object.values(source).some((v) => typeof v === 'string' && v.startsWith('profile "'))
  ) {
    source.profile = {
      name: profileName,
      ...(defined.TEMPORAL_CONFIG_FILE ? { file: defined.TEMPORAL_CONFIG_FILE } : {}),
    };
  }

  if (
    defined.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION !== undefined &&
    TRUE.has(defined.TEMPORAL_TLS_DISABLE_HOST_VERIFICATION)
  ) {
    throw new ConfigError(
      "TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: not supported by Temporal's TypeScript SDK, and not needed: set TEMPORAL_TLS_SERVER_NAME to the name in the server's certificate (and TEMPORAL_TLS_SERVER_CA_CERT_PATH to its CA)",
      'TEMPORAL_TLS_DISABLE_HOST_VERIFICATION',
    );
  }
  if (defined.TEMPORAL_TLS !== undefined && !['0', '1', 'true', 'false'].includes(defined.TEMPORAL_TLS)) {
    throw new ConfigError('TEMPORAL_TLS: must be true or false', 'TEMPORAL_TLS');
  }

  let apiKey = profile.apiKey;
  if (defined.TEMPORAL_API_KEY_FILE) {
    if (defined.TEMPORAL_API_KEY) {
      throw new ConfigError(
        'TEMPORAL_API_KEY_FILE: set it or TEMPORAL_API_KEY, not both',
        'TEMPORAL_API_KEY_FILE',
      );
    }
    apiKey = readApiKeyFile(defined.TEMPORAL_API_KEY_FILE);
  }
  if (apiKey !== undefined && !/^[\x21-\x7e]{1,8192}$/.test(apiKey)) {
    throw new ConfigError(
      `${source.apiKey}: the API key must be printable characters without spaces`,
      source.apiKey,
    );
  }

  // TLS: explicit settings, or on by default with an API key (Temporal's rule).
  const tlsSettings = profile.tls;
  let tls: TLSConfig | undefined;
  if (tlsSettings?.disabled === true) {
    const given = tlsSettings.clientCert ?? tlsSettings.serverCACert;
    if (given) {
      throw new ConfigError(
        `${source.tls}: TLS is off but certificates are configured (${source.clientCert !== 'TEMPORAL_TLS_CLIENT_CERT_PATH' ? source.clientCert : source.serverCa}); remove TEMPORAL_TLS=false or the certificates`,
        'TEMPORAL_TLS',
      );
    }
    tls = undefined;
  } else if (tlsSettings || apiKey !== undefined) {
    const crt = readSource(tlsSettings?.clientCert, source.clientCert, 'client certificate');
    const keyName = pairName(defined, 'TEMPORAL_TLS_CLIENT_KEY');
    const key = readSource(tlsSettings?.clientKey, keyName, 'client key');
    const ca = readSource(tlsSettings?.serverCACert, source.serverCa, 'server CA certificate');
    if ((crt === undefined) !== (key === undefined)) {
      const missing = crt === undefined ? 'TEMPORAL_TLS_CLIENT_CERT_PATH' : keyName;
      throw new ConfigError(
        `${missing}: mutual TLS needs both the client certificate and its key (TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH, or their _DATA forms)`,
        missing,
      );
    }
    if (crt) requirePem(crt, ['CERTIFICATE'], source.clientCert, 'client certificate');
    if (key) requirePem(key, ['PRIVATE KEY', 'EC PRIVATE KEY', 'RSA PRIVATE KEY'], keyName, 'client key');
    if (ca) requirePem(ca, ['CERTIFICATE'], source.serverCa, 'server CA certificate');
    tls = {
      ...(tlsSettings?.serverName ? { serverNameOverride: tlsSettings.serverName } : {}),
      ...(ca ? { serverRootCACertificate: ca } : {}),
      ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    };
  }

  return {
    ...(profile.address ? { address: profile.address } : {}),
    namespace: profile.namespace || 'default',
    taskQueue,
    ...(tls ? { tls } : {}),
    ...(apiKey !== undefined ? { apiKey } : {}),
    ...(defined.TEMPORAL_API_KEY_FILE ? { apiKeyFile: defined.TEMPORAL_API_KEY_FILE } : {}),
    ...(profile.grpcMeta && Object.keys(profile.grpcMeta).length > 0 ? { metadata: profile.grpcMeta } : {}),
    source,
  };
}

/** The API key in `file` (trimmed); a {@link ConfigError} naming `TEMPORAL_API_KEY_FILE` otherwise. */
export function readApiKeyFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch {
    throw new ConfigError(`TEMPORAL_API_KEY_FILE: cannot read ${file}`, 'TEMPORAL_API_KEY_FILE');
  }
  if (text === '') throw new ConfigError(`TEMPORAL_API_KEY_FILE: ${file} is empty`, 'TEMPORAL_API_KEY_FILE');
  return text;
}

/** A one-line description of the connection for the start-up log (no secrets). */
export function describeTemporal(t: TemporalSettings): Record<string, unknown> {
  return {
    address: t.address ?? null,
    namespace: t.namespace,
    taskQueue: t.taskQueue,
    tls: t.tls ? (t.tls.clientCertPair ? 'mutual' : 'server') : 'off',
    auth: t.apiKeyFile
      ? 'api key (file)'
      : t.apiKey !== undefined
        ? 'api key'
        : t.tls?.clientCertPair
          ? 'client certificate'
          : 'none',
    ...(t.source?.profile ? { profile: t.source.profile.name } : {}),
  };
}
