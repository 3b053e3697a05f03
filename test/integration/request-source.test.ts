/**
 * Where a bot's request came from is recorded: the source address (as Express sees it behind
 * `trust proxy`), the user agent (cleaned and bounded), how the bot authenticated, the workload
 * identity's claims, and whether the bot's `runsFrom` declaration matched (recorded, not
 * enforced) — with `elevation.requested` and with refusals.
 */
import type { Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../core/model/audit-record.js';
import type { ElevationView } from '../../core/model/elevation.js';
import { MAX_USER_AGENT_LENGTH } from '../../domain/elevations/request-source.js';
import { WorkloadIdentityVerifier } from '../../integrations/federation/workload-identity.js';
import { toOcsf } from '../../integrations/audit/ocsf.js';
import { createApp } from '../../server/app.js';
import { startJwksIssuer, type JwksIssuer } from '../support/jwks-issuer.js';
import { startStack, type Stack } from '../support/stack.js';

const AUDIENCE = 'elevate-test';
const SUBJECT = 'repo:acme/app:ref:refs/heads/main';

let s: Stack;
let issuer: JwksIssuer;
let http: Server;
let base: string;
let port: number;

beforeAll(async () => {
  issuer = await startJwksIssuer();
  s = await startStack({
    bots: [
      { id: 'batch-bot', roles: ['reader'], runsFrom: { networks: ['203.0.113.0/24'] } },
      {
        id: 'ci-bot',
        roles: ['reader'],
        federation: {
          issuer: issuer.issuer,
          audience: AUDIENCE,
          claims: { sub: SUBJECT },
          recordClaims: ['sub', 'repository', 'workflow', 'ref', 'runner_environment'],
        },
        runsFrom: { runners: ['self-hosted'] },
      },
    ],
    roles: [{ id: 'reader' }, { id: 'writer' }],
    federation: { issuers: [{ issuer: issuer.issuer, allowInsecureHttp: true }] },
  });
  const policy = s.policy;
  const app = createApp({
    services: s.servicesWith({
      federation: new WorkloadIdentityVerifier(
        policy.bots.flatMap((b) => (b.federation ? [{ botId: b.id, ...b.federation }] : [])),
        policy.federation?.issuers ?? [],
      ),
    }),
    healthChecks: {},
    logger: s.logger,
    // A reverse proxy on loopback fronts the API: the caller is the X-Forwarded-For address.
    trustProxy: 'loopback',
  });
  http = await new Promise<Server>((resolve) => {
    const h = app.listen(0, '127.0.0.1', () => resolve(h));
  });
  port = (http.address() as AddressInfo).port;
  base = `http://127.0.0.1:${port}`;
}, 180_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  await s?.close();
  await issuer?.stop();
});

function post(token: string, body: object, from: string, userAgent: string): Promise<Response> {
  return fetch(`${base}/v1/elevations`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'x-forwarded-for': from,
      'user-agent': userAgent,
    },
    body: JSON.stringify(body),
  });
}

const ask = { role: 'reader', durationSeconds: 60, justification: 'nightly report' };

async function requestedOf(id: string): Promise<AuditEvent> {
  await s.waitFor(id, (v) => v.status === 'active');
  const event = (await s.stores.auditLog.listEvents(id)).find((e) => e.type === 'elevation.requested');
  expect(event, 'elevation.requested recorded').toBeDefined();
  return event!;
}

async function lastOf(type: string, match: (e: AuditEvent) => boolean): Promise<AuditEvent> {
  const events = await s.stores.auditLog.readEvents(0, 100_000);
  const found = events.filter((e) => e.type === type && match(e)).at(-1);
  expect(found, `a ${type} event`).toBeDefined();
  return found!;
}

describe('a request with a bot key', () => {
  it('records source address, user agent and method, and that the source matched runsFrom', async () => {
    const res = await post(s.keys['batch-bot']!, ask, '203.0.113.7', 'batch-runner/2.1');
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as ElevationView;
    const requested = await requestedOf(id);
    expect(requested.data.source).toEqual({
      ip: '203.0.113.7',
      userAgent: 'batch-runner/2.1',
      authMethod: 'api_key',
      runsFrom: { matched: true, network: true },
    });
    // The OCSF export carries the address and the user agent where its class has them.
    const ocsf = toOcsf(requested) as { src_endpoint?: unknown; http_request?: { user_agent?: unknown } };
    expect(ocsf.src_endpoint).toEqual({ ip: '203.0.113.7' });
    expect(ocsf.http_request?.user_agent).toBe('batch-runner/2.1');
  });

  it('from outside its declared networks, is accepted and recorded as unmatched', async () => {
    const res = await post(s.keys['batch-bot']!, ask, '198.51.100.9', 'batch-runner/2.1');
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as ElevationView;
    const requested = await requestedOf(id);
    expect(requested.data.source).toMatchObject({
      ip: '198.51.100.9',
      runsFrom: { matched: false, network: false },
    });
  });
});

describe('a request with a workload identity token', () => {
  it('records the workload claims and the method', async () => {
    const token = await issuer.sign({
      sub: SUBJECT,
      aud: AUDIENCE,
      repository: 'acme/app',
      workflow: 'deploy',
      ref: 'refs/heads/main',
      runner_environment: 'self-hosted',
    });
    const res = await post(token, ask, '192.0.2.44', 'actions-runner/2.317');
    expect(res.status).toBe(202);
    const { id, botId } = (await res.json()) as ElevationView;
    expect(botId).toBe('ci-bot');
    const requested = await requestedOf(id);
    expect(requested.data.source).toEqual({
      ip: '192.0.2.44',
      userAgent: 'actions-runner/2.317',
      authMethod: 'workload_identity',
      workload: {
        issuer: issuer.issuer,
        subject: SUBJECT,
        repository: 'acme/app',
        workflow: 'deploy',
        ref: 'refs/heads/main',
        runnerEnvironment: 'self-hosted',
      },
      runsFrom: { matched: true, runner: true },
    });
  });
});

describe('a refused request', () => {
  it('records the source of a bot refused after authentication', async () => {
    const res = await post(
      s.keys['batch-bot']!,
      { ...ask, role: 'writer' },
      '198.51.100.10',
      'batch-runner/2.1',
    );
    expect(res.status).toBe(403);
    const refused = await lastOf(
      'request.refused',
      (e) => e.actor.id === 'batch-bot' && e.data.ip === '198.51.100.10',
    );
    expect(refused.data).toMatchObject({
      code: 'role_not_allowed',
      ip: '198.51.100.10',
      userAgent: 'batch-runner/2.1',
      authMethod: 'api_key',
      runsFrom: { matched: false, network: false },
    });
    const ocsf = toOcsf(refused) as { src_endpoint?: unknown; http_request?: { user_agent?: unknown } };
    expect(ocsf.src_endpoint).toEqual({ ip: '198.51.100.10' });
    expect(ocsf.http_request?.user_agent).toBe('batch-runner/2.1');
  });

  it('records the source of an unknown key, before authentication', async () => {
    const res = await post('bot_not-a-real-key-0123456789', ask, '198.51.100.77', 'scanner/0.1');
    expect(res.status).toBe(401);
    const refused = await lastOf('auth.refused', (e) => e.data.ip === '198.51.100.77');
    expect(refused.data).toMatchObject({
      reason: 'unknown_key',
      userAgent: 'scanner/0.1',
      authMethod: 'api_key',
    });
  });
});

describe('a refused credentials fetch or give-back', () => {
  it('records where the call came from, as a request does', async () => {
    const res = await post(s.keys['batch-bot']!, ask, '203.0.113.7', 'batch-runner/2.1');
    const { id } = (await res.json()) as ElevationView;
    await s.waitFor(id, (v) => v.status === 'active');
    const call = (path: string, from: string, userAgent: string) =>
      fetch(`${base}/v1/elevations/${id}/${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${s.keys['batch-bot']!}`,
          'content-type': 'application/json',
          'x-forwarded-for': from,
          'user-agent': userAgent,
        },
        body: '{}',
      });
    // An LDAP role hands out no credentials: refused, with the caller's source.
    expect((await call('credentials', '198.51.100.21', 'curl/8.4.0')).status).toBe(409);
    const credentials = await lastOf('credentials.refused', (e) => e.elevationId === id);
    expect(credentials.data).toMatchObject({
      reason: 'not_credentials_mode',
      ip: '198.51.100.21',
      userAgent: 'curl/8.4.0',
      authMethod: 'api_key',
    });
    expect((await call('revoke', '203.0.113.7', 'batch-runner/2.1')).status).toBeLessThan(300);
    await s.waitFor(id, (v) => v.status === 'revoked');
    // Giving back again answers the ended elevation (idempotent); a fetch now is refused too.
    expect((await call('revoke', '198.51.100.22', 'batch-runner/2.2')).status).toBe(200);
    const again = await call('credentials', '198.51.100.23', 'batch-runner/2.3');
    expect(again.status).toBe(409);
    const refusedAgain = await lastOf('credentials.refused', (e) => e.data.ip === '198.51.100.23');
    expect(refusedAgain.data).toMatchObject({ userAgent: 'batch-runner/2.3', authMethod: 'api_key' });
  });
});

/** A request sent byte for byte: fetch refuses the control characters a hostile client sends. */
function rawPost(headers: string, body: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk.toString('latin1')));
    socket.on('end', () => resolve(answer));
    socket.on('error', reject);
    socket.write(
      Buffer.from(
        `POST /v1/elevations HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n${headers}content-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
        'latin1',
      ),
    );
  });
}

describe('a hostile user agent', () => {
  it('is stored without control characters and bounded', async () => {
    // Node's parser itself refuses C0 controls but tab, and DEL; a tab and C1 controls (CSI,
    // NEL) as Latin-1 bytes reach the application.
    const hostile = `evil\t\x9b2J\x85\x80 ${'A'.repeat(10 * 1024)}`;
    const answer = await rawPost(
      `authorization: Bearer ${s.keys['batch-bot']!}\r\nx-forwarded-for: 203.0.113.8\r\nuser-agent: ${hostile}\r\n`,
      JSON.stringify(ask),
    );
    expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 202 Accepted');
    const id = /"id":"([^"]+)"/.exec(answer)?.[1];
    expect(id).toBeDefined();
    const requested = await requestedOf(id!);
    const { userAgent } = requested.data.source as { userAgent: string };
    expect(userAgent).toHaveLength(MAX_USER_AGENT_LENGTH);
    expect(userAgent).toBe(`evil2J ${'A'.repeat(MAX_USER_AGENT_LENGTH - 7)}`);
    expect(userAgent).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/);
  });
});
