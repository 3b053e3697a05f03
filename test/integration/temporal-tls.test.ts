/**
 * Elevate against secured Temporal endpoints, configured only through Temporal's standard
 * environment variables: nginx (`grpc_pass`) in front of the dev server once with mutual TLS
 * (`ssl_verify_client on`) and once checking an API key (`authorization: Bearer`), with
 * certificates made at test time. A whole elevation runs through each; each way of getting the
 * connection wrong fails at start with a message naming the cause and the setting to fix, for
 * the client (grpc-js) and for the worker's connection (Temporal's Rust core) alike.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../core/errors/config-error.js';
import { loadSettings } from '../../config/settings.js';
import {
  connectClient,
  connectNative,
  connectTemporal,
  TemporalConnectError,
} from '../../runtime/temporal-connection.js';
import { startApiAndWorker } from '../../runtime/api-and-worker.js';
import type { RunningProcess } from '../../runtime/process.js';
import { findNginx, startGrpcProxy, type GrpcProxy } from '../support/nginx-grpc-proxy.js';
import {
  stackServiceSettings,
  startStack,
  testDecisionSettings,
  testLogger,
  type Stack,
} from '../support/stack.js';
import { makeTestPki, pem, type TestPki } from '../support/test-pki.js';

const API_KEY = 'elevate-test-temporal-api-key-0123456789';

let stack: Stack;
let pki: TestPki;
let dir: string;
let mtls: GrpcProxy;
let keyed: GrpcProxy;
let wrongName: GrpcProxy;

beforeAll(async () => {
  if (!findNginx()) throw new Error('nginx is not installed: run scripts/setup');
  dir = mkdtempSync(path.join(tmpdir(), 'elevate-tls-'));
  pki = makeTestPki(path.join(dir, 'pki'));
  // The stack gives the dev server, slapd, the audit store and the policy; its own in-process
  // worker is not started: the processes under test connect through nginx.
  stack = await startStack({
    bots: [{ id: 'tls-bot', roles: ['deploy'] }],
    roles: [{ id: 'deploy', maxDurationSeconds: 600 }],
    worker: false,
  });
  const upstream = stack.env.address;
  mtls = await startGrpcProxy({ mode: 'mtls', upstream, pki, dir: path.join(dir, 'nginx-mtls') });
  keyed = await startGrpcProxy({
    mode: 'api-key',
    upstream,
    pki,
    apiKey: API_KEY,
    dir: path.join(dir, 'nginx-key'),
  });
  wrongName = await startGrpcProxy({
    mode: 'mtls',
    upstream,
    pki,
    dir: path.join(dir, 'nginx-wrong-name'),
    serverCert: { cert: pki.wrongNameCert, key: pki.wrongNameKey },
  });
}, 120_000);

afterAll(async () => {
  for (const p of [mtls, keyed, wrongName]) await p?.stop();
  await stack?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Settings exactly as a process would load them from these environment variables. */
function temporalFrom(vars: Record<string, string>, taskQueue = 'tls-test') {
  const settings = loadSettings({ ELEVATE_TASK_QUEUE: taskQueue, ...vars });
  return { ...settings.temporal, address: settings.temporal.address! };
}

const mtlsVars = () => ({
  TEMPORAL_ADDRESS: mtls.address,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
  TEMPORAL_TLS_CLIENT_CERT_PATH: pki.clientCert,
  TEMPORAL_TLS_CLIENT_KEY_PATH: pki.clientKey,
});
const keyVars = () => ({
  TEMPORAL_ADDRESS: keyed.address,
  TEMPORAL_API_KEY: API_KEY,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
});

/** Run one elevation through the API and the worker of `services`: granted, given back, revoked. */
async function lifecycle(services: RunningProcess): Promise<void> {
  const key = stack.keys['tls-bot']!;
  const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
  const created = await fetch(`${services.url}/v1/elevations`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ role: 'deploy', durationSeconds: 120, justification: 'over TLS' }),
  });
  expect(created.status).toBe(202);
  const { id } = (await created.json()) as { id: string };
  await stack.waitFor(id, (v) => v.status === 'active', 30_000);
  expect(await stack.isMember('tls-bot', 'deploy')).toBe(true);
  const revoked = await fetch(`${services.url}/v1/elevations/${id}/revoke`, { method: 'POST', headers });
  expect(revoked.status).toBe(202);
  await stack.waitFor(id, (v) => v.status === 'revoked', 30_000);
  expect(await stack.isMember('tls-bot', 'deploy')).toBe(false);
}

async function run(vars: Record<string, string>, taskQueue: string): Promise<void> {
  const settings = loadSettings({ ELEVATE_TASK_QUEUE: taskQueue, ...vars });
  const services = await startApiAndWorker({
    settings: stackServiceSettings(stack, {
      temporal: { ...settings.temporal, address: settings.temporal.address! },
    }),
    policy: stack.policy,
    logger: testLogger(),
  });
  try {
    await lifecycle(services);
  } finally {
    await services.close();
  }
}

describe('a whole elevation over a secured Temporal endpoint', () => {
  it('when the API and the worker connect with mutual TLS (TEMPORAL_TLS_* variables), then an elevation is granted and revoked', async () => {
    await run(mtlsVars(), 'tls-mtls');
  });

  it('when they connect with an API key over TLS (TEMPORAL_API_KEY), then an elevation is granted and revoked', async () => {
    await run(keyVars(), 'tls-api-key');
  });

  it('when the certificates are given inline (the _DATA forms) and the file names a profile, then the profile and the variables combine as Temporal documents', async () => {
    const profile = path.join(dir, 'temporal.toml');
    writeFileSync(
      profile,
      [
        '[profile.secured]',
        `address = "${mtls.address}"`,
        'namespace = "default"',
        '[profile.secured.tls]',
        `server_ca_cert_path = "${pki.caCert}"`,
        '',
      ].join('\n'),
    );
    await run(
      {
        TEMPORAL_CONFIG_FILE: profile,
        TEMPORAL_PROFILE: 'secured',
        TEMPORAL_TLS_CLIENT_CERT_DATA: pem(pki.clientCert),
        TEMPORAL_TLS_CLIENT_KEY_DATA: pem(pki.clientKey),
      },
      'tls-profile',
    );
  });
});

/** The error connecting the client, then the worker's connection, with `vars`. */
async function failures(vars: Record<string, string>): Promise<TemporalConnectError[]> {
  const t = temporalFrom(vars);
  const errors: TemporalConnectError[] = [];
  const client = await connectClient(t, () => t.apiKey, 2000).then(
    async (c) => {
      await c.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  const native = await connectNative(t).then(
    async (c) => {
      await c.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  for (const e of [client, native]) {
    expect(e, `expected a TemporalConnectError, got ${String(e)}`).toBeInstanceOf(TemporalConnectError);
    errors.push(e as TemporalConnectError);
  }
  for (const e of errors) {
    // Key material never appears, whatever went wrong.
    expect(e.message).not.toContain('PRIVATE KEY');
    expect(e.message).not.toContain(API_KEY);
  }
  return errors;
}

describe('a connection that is wrong fails at start, naming the setting to fix', () => {
  it('when the client certificate is from a CA the server does not trust, then TEMPORAL_TLS_CLIENT_CERT_PATH', async () => {
    const [client, worker] = await failures({
      ...mtlsVars(),
      TEMPORAL_TLS_CLIENT_CERT_PATH: pki.strangerCert,
      TEMPORAL_TLS_CLIENT_KEY_PATH: pki.strangerKey,
    });
    for (const e of [client!, worker!]) {
      expect(e.setting, e.message).toBe('TEMPORAL_TLS_CLIENT_CERT_PATH');
      expect(e.cause_kind).toBe('tls');
      expect(e.message).toMatch(/refused the client certificate/);
    }
  });

  it('when no client certificate is given to a mutual-TLS endpoint, then TEMPORAL_TLS_CLIENT_CERT_PATH', async () => {
    const { TEMPORAL_TLS_CLIENT_CERT_PATH: _c, TEMPORAL_TLS_CLIENT_KEY_PATH: _k, ...vars } = mtlsVars();
    for (const e of await failures(vars)) {
      expect(e.setting, e.message).toBe('TEMPORAL_TLS_CLIENT_CERT_PATH');
      expect(e.message).toMatch(/client certificate/);
    }
  });

  it("when the server's certificate is signed by a CA Elevate does not trust, then TEMPORAL_TLS_SERVER_CA_CERT_PATH", async () => {
    for (const vars of [
      { ...mtlsVars(), TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.otherCaCert },
      (({ TEMPORAL_TLS_SERVER_CA_CERT_PATH: _ca, ...rest }) => rest)(mtlsVars()),
    ]) {
      for (const e of await failures(vars)) {
        expect(e.setting, e.message).toBe('TEMPORAL_TLS_SERVER_CA_CERT_PATH');
        expect(e.cause_kind).toBe('tls');
      }
    }
  });

  it("when the server's certificate is for another name, then TEMPORAL_TLS_SERVER_NAME", async () => {
    for (const e of await failures({ ...mtlsVars(), TEMPORAL_ADDRESS: wrongName.address })) {
      expect(e.setting, e.message).toBe('TEMPORAL_TLS_SERVER_NAME');
    }
  });

  it('when the API key is missing or wrong, then TEMPORAL_API_KEY (unauthenticated)', async () => {
    const { TEMPORAL_API_KEY: _key, ...noKey } = keyVars();
    for (const vars of [
      { ...noKey, TEMPORAL_TLS: 'true' },
      { ...keyVars(), TEMPORAL_API_KEY: 'not-the-key' },
    ]) {
      for (const e of await failures(vars)) {
        expect(e.setting, e.message).toBe('TEMPORAL_API_KEY');
        expect(e.cause_kind).toBe('unauthenticated');
      }
    }
  });

  it('when the server answers PERMISSION_DENIED (code 7), then the credential, permission denied, for both connections', async () => {
    const proxies: GrpcProxy[] = [];
    try {
      // Every call refused: the client's and the worker's first call (GetSystemInfo).
      const every = await startGrpcProxy({
        mode: 'api-key',
        upstream: stack.env.address,
        pki,
        apiKey: API_KEY,
        dir: path.join(dir, 'nginx-denied-every'),
        permissionDenied: 'every-call',
      });
      proxies.push(every);
      for (const e of await failures({ ...keyVars(), TEMPORAL_ADDRESS: every.address })) {
        expect(e.setting, e.message).toBe('TEMPORAL_API_KEY');
        expect(e.cause_kind).toBe('permission_denied');
        expect(e.message).toMatch(
          /denied access \(permission denied\): these credentials may not use namespace default/,
        );
      }
      // Only the namespace refused, as Temporal Cloud refuses a key of another namespace: the
      // client finds out when it asks for the namespace.
      const ns = await startGrpcProxy({
        mode: 'mtls',
        upstream: stack.env.address,
        pki,
        dir: path.join(dir, 'nginx-denied-namespace'),
        permissionDenied: 'namespace',
      });
      proxies.push(ns);
      const err = await connectClient(temporalFrom({ ...mtlsVars(), TEMPORAL_ADDRESS: ns.address })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TemporalConnectError);
      expect((err as TemporalConnectError).setting).toBe('TEMPORAL_TLS_CLIENT_CERT_PATH');
      expect((err as TemporalConnectError).cause_kind).toBe('permission_denied');
    } finally {
      for (const p of proxies) await p.stop();
    }
  });

  it('when TLS is asked of a server that speaks plain gRPC, then TEMPORAL_TLS', async () => {
    for (const e of await failures({ TEMPORAL_ADDRESS: stack.env.address, TEMPORAL_TLS: 'true' })) {
      expect(e.setting, e.message).toBe('TEMPORAL_TLS');
    }
  });

  it('when the namespace does not exist, then TEMPORAL_NAMESPACE', async () => {
    const t = temporalFrom({ ...mtlsVars(), TEMPORAL_NAMESPACE: 'no-such-namespace' });
    const err = await connectClient(t).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TemporalConnectError);
    expect((err as TemporalConnectError).setting).toBe('TEMPORAL_NAMESPACE');
    expect((err as TemporalConnectError).cause_kind).toBe('namespace_not_found');
  });

  it('when a certificate file cannot be read or is not PEM, then the configuration is refused naming its variable', () => {
    expect(() =>
      temporalFrom({ ...mtlsVars(), TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(dir, 'missing.pem') }),
    ).toThrow(/TEMPORAL_TLS_CLIENT_CERT_PATH: client certificate .*missing\.pem: no such file/);
    const notPem = path.join(dir, 'not.pem');
    writeFileSync(notPem, 'this is not a key');
    const err = (() => {
      try {
        temporalFrom({ ...mtlsVars(), TEMPORAL_TLS_CLIENT_KEY_PATH: notPem });
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/^TEMPORAL_TLS_CLIENT_KEY_PATH: the client key is not PEM/);
    expect((err as ConfigError).message).not.toContain('this is not a key');
    expect(() => temporalFrom({ ...mtlsVars(), TEMPORAL_TLS_CLIENT_KEY_PATH: '' })).toThrow(
      /TEMPORAL_TLS_CLIENT_KEY_PATH: mutual TLS needs both/,
    );
    expect(() => temporalFrom({ ...mtlsVars(), TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: 'true' })).toThrow(
      /TEMPORAL_TLS_DISABLE_HOST_VERIFICATION: .*TEMPORAL_TLS_SERVER_NAME/,
    );
    expect(() =>
      temporalFrom({ TEMPORAL_PROFILE: 'nope', TEMPORAL_CONFIG_FILE: path.join(dir, 'temporal.toml') }),
    ).toThrow(/TEMPORAL_PROFILE: profile "nope"/);
  });

  it('when `elevate worker` cannot connect, then it exits non-zero with the cause and the setting on stderr', () => {
    const policy = path.join(dir, 'policy.yaml');
    const zeros = `sha256:${'0'.repeat(64)}`;
    const ones = `sha256:${'1'.repeat(64)}`;
    writeFileSync(
      policy,
      [
        'version: 1',
        `admins: [{ id: admin, tokenHash: "${zeros}" }]`,
        'bots:',
        `  - { id: b, owner: o@example.org, team: t, purpose: p, environment: test, apiKeyHash: "${ones}", ldapDn: "uid=b,dc=test,dc=example", roles: [r] }`,
        'roles:',
        '  - { id: r, environment: test, target: { type: ldap, groupDn: "cn=r,dc=test,dc=example" }, maxDurationSeconds: 60, approval: { mode: auto } }',
        '',
      ].join('\n'),
    );
    const keys = testDecisionSettings();
    const res = spawnSync(
      process.execPath,
      ['--import', 'tsx', path.resolve(import.meta.dirname, '../../bin/elevate.ts'), 'worker'],
      {
        encoding: 'utf8',
        timeout: 60_000,
        env: {
          PATH: process.env.PATH,
          HOME: dir,
          ELEVATE_CONFIG: policy,
          ELEVATE_SQLITE_PATH: path.join(dir, 'worker.db'),
          ELEVATE_DECISION_PUBLIC_KEYS: keys.decisionSigningKey.publicKey.pem,
          LDAP_URL: stack.slapd.url,
          LDAP_BIND_DN: stack.slapd.rootDn,
          LDAP_BIND_PASSWORD: stack.slapd.rootPassword,
          LOG_LEVEL: 'silent',
          ...mtlsVars(),
          TEMPORAL_TLS_CLIENT_CERT_PATH: pki.strangerCert,
          TEMPORAL_TLS_CLIENT_KEY_PATH: pki.strangerKey,
        },
      },
    );
    expect(res.status, res.stderr).toBe(1);
    expect(res.stderr).toMatch(
      /cannot connect to Temporal:\nTEMPORAL_TLS_CLIENT_CERT_PATH: .*refused the client certificate/,
    );
    expect(res.stderr).not.toContain('PRIVATE KEY');
  });
});

describe('a rotated API key', () => {
  it('when TEMPORAL_API_KEY_FILE changes, then both connections use the new key without a restart', async () => {
    const proxy = await startGrpcProxy({
      mode: 'api-key',
      upstream: stack.env.address,
      pki,
      apiKey: API_KEY,
      dir: path.join(dir, 'nginx-rotation'),
    });
    const keyFile = path.join(dir, 'api-key');
    writeFileSync(keyFile, `${API_KEY}\n`);
    const t = temporalFrom({
      TEMPORAL_ADDRESS: proxy.address,
      TEMPORAL_API_KEY_FILE: keyFile,
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: pki.caCert,
    });
    expect(t.apiKey).toBe(API_KEY);
    const conns = await connectTemporal(t, { worker: true, logger: testLogger(), apiKeyPollMs: 100 });
    const calls = () =>
      Promise.all([
        conns.connection.workflowService.getSystemInfo({}).then(
          () => true,
          () => false,
        ),
        conns.native!.workflowService.getSystemInfo({}).then(
          () => true,
          () => false,
        ),
      ]);
    const eventually = async (expected: boolean[]) => {
      const deadline = Date.now() + 15_000;
      let last: boolean[] = [];
      while (Date.now() < deadline) {
        last = await calls();
        if (last.every((ok, i) => ok === expected[i])) return;
        await new Promise((r) => setTimeout(r, 200));
      }
      throw new Error(
        `client/worker calls succeeded ${JSON.stringify(last)}, expected ${JSON.stringify(expected)}`,
      );
    };
    try {
      // The client goes through the worker's connection (eager workflow start).
      expect(conns.client.connection).toBe(conns.native);
      expect(await calls()).toEqual([true, true]);
      // The endpoint now wants the rotated key: the old one is refused...
      const rotated = 'elevate-test-temporal-api-key-rotated-9876';
      await proxy.setApiKey(rotated);
      await eventually([false, false]);
      // ...until the file holds the new key, which both connections pick up on their own.
      writeFileSync(keyFile, `${rotated}\n`);
      await eventually([true, true]);
    } finally {
      await conns.close();
      await proxy.stop();
    }
  });
});
