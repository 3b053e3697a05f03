/**
 * How a Temporal connection failure is named at start (`classifyConnectError`), fed the errors
 * the two SDK connections really produce for a gRPC status: the client (grpc-js) wraps a
 * status error with its `code` in a `ServiceError`; the worker's connection (Temporal's Rust
 * core) throws a `TransportError` whose message carries only the status's description. The
 * texts below are those of @temporalio/client and core-bridge 1.24 (test/integration/
 * temporal-tls.test.ts makes nginx answer with these statuses and checks the same outcome).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ServiceError } from '@temporalio/client';
import { describe, expect, it } from 'vitest';
import { loadSettings } from '../../config/settings.js';
import { classifyConnectError } from '../../runtime/temporal-connection.js';

const API_KEY = 'unit-test-temporal-api-key-0123456789';
const ADDRESS = 'ns.acct.tmprl.cloud:7233';

function temporal(vars: Record<string, string>) {
  const settings = loadSettings({ TEMPORAL_ADDRESS: ADDRESS, TEMPORAL_NAMESPACE: 'prod', ...vars });
  return { ...settings.temporal, address: settings.temporal.address! };
}

/** What grpc-js's `callErrorFromStatus` builds, wrapped as `Connection.connect` wraps it. */
function clientError(code: number, name: string, details: string): ServiceError {
  const cause = Object.assign(new Error(`${code} ${name}: ${details}`), { code, details });
  return new ServiceError('Failed to connect to Temporal server', { cause });
}

/**
 * What `NativeConnection.connect` throws: a `TransportError` (an internal class of the SDK, so
 * built here by name) whose message is tonic's `Code` description, then the server's message.
 */
function workerError(message: string): Error {
  return Object.assign(new Error(message), { name: 'TransportError' });
}

/** The worker's error for a gRPC status given by its description. */
function workerStatus(description: string, details: string): Error {
  return workerError(`Failed to call GetSystemInfo: code: '${description}', message: "${details}"`);
}

const PERMISSION_DENIED = [
  ['the client', clientError(7, 'PERMISSION_DENIED', 'Request unauthorized.')],
  [
    'the worker',
    workerStatus(
      'The caller does not have permission to execute the specified operation',
      'Request unauthorized.',
    ),
  ],
  ['a bare code', Object.assign(new Error('denied'), { code: 7 })],
  ['a bridge error naming the code', new Error('status: PermissionDenied, message: "namespace access"')],
] as const;

describe('credentials Temporal knows but that may not use the namespace (PERMISSION_DENIED)', () => {
  it.each(PERMISSION_DENIED)(
    'when %s is refused with code 7 and an API key is set, then TEMPORAL_API_KEY, permission denied, naming the namespace',
    (_who, err) => {
      const e = classifyConnectError(err, temporal({ TEMPORAL_API_KEY: API_KEY }));
      expect(e.cause_kind, e.message).toBe('permission_denied');
      expect(e.setting).toBe('TEMPORAL_API_KEY');
      expect(e.message).toMatch(
        /^TEMPORAL_API_KEY: Temporal at ns\.acct\.tmprl\.cloud:7233 denied access \(permission denied\): these credentials may not use namespace prod \[/,
      );
      expect(e.message).not.toContain(API_KEY);
    },
  );

  it('when the key comes from TEMPORAL_API_KEY_FILE, then that is the setting named', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'elevate-connect-errors-'));
    try {
      const file = path.join(dir, 'api-key');
      writeFileSync(file, `${API_KEY}\n`);
      for (const [, err] of PERMISSION_DENIED) {
        const e = classifyConnectError(err, temporal({ TEMPORAL_API_KEY_FILE: file }));
        expect(e.cause_kind, e.message).toBe('permission_denied');
        expect(e.setting).toBe('TEMPORAL_API_KEY_FILE');
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('when the credential is a client certificate, then TEMPORAL_TLS_CLIENT_CERT_PATH', () => {
    const t = temporal({ TEMPORAL_TLS: 'true' });
    const mutual = {
      ...t,
      tls: { ...t.tls, clientCertPair: { crt: Buffer.from('c'), key: Buffer.from('k') } },
    };
    for (const [, err] of PERMISSION_DENIED) {
      const e = classifyConnectError(err, mutual);
      expect(e.cause_kind, e.message).toBe('permission_denied');
      expect(e.setting).toBe('TEMPORAL_TLS_CLIENT_CERT_PATH');
    }
  });
});

describe('credentials Temporal does not accept (UNAUTHENTICATED), as the worker reports them', () => {
  it('when the worker is refused with code 16, then TEMPORAL_API_KEY, unauthenticated (not an unreachable address)', () => {
    for (const err of [
      clientError(16, 'UNAUTHENTICATED', 'Request unauthorized.'),
      workerStatus('The request does not have valid authentication credentials', 'Request unauthorized.'),
    ]) {
      const e = classifyConnectError(err, temporal({ TEMPORAL_API_KEY: API_KEY }));
      expect(e.cause_kind, e.message).toBe('unauthenticated');
      expect(e.setting).toBe('TEMPORAL_API_KEY');
    }
  });
});

describe('a failure that is neither', () => {
  it('when the worker cannot reach the address, then TEMPORAL_ADDRESS, unreachable', () => {
    const e = classifyConnectError(
      workerError('Failed to call GetSystemInfo: transport error: tcp connect error: Connection refused'),
      temporal({ TEMPORAL_API_KEY: API_KEY }),
    );
    expect(e.cause_kind).toBe('unreachable');
    expect(e.setting).toBe('TEMPORAL_ADDRESS');
  });
});
