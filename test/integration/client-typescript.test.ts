/**
 * The TypeScript client (`clients/typescript`, `@elevate/client`) against a running Elevate: the
 * stack's API served on a loopback port and reached over `fetch`, as a bot reaches it.
 * request → wait → use → give back in one call, and every way it can fail as its own error
 * class: refused, denied, expired, timed out, unreachable.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ElevateClient,
  ElevateUnreachableError,
  ElevationDeniedError,
  ElevationExpiredError,
  ElevationRefusedError,
  ElevationWaitTimeoutError,
  EXIT_CODES,
  withElevation,
  type BotElevation,
} from '../../clients/typescript/src/index.js';
import { createApp } from '../../server/app.js';
import { startStack, type Stack } from '../support/stack.js';

let stack: Stack;
let server: Server;
let base: string;
let client: ElevateClient;
/** An elevation left to expire in its 10 s approval window while the other tests run. */
let expiring: BotElevation;

beforeAll(async () => {
  stack = await startStack({
    bots: [{ id: 'ts-bot', roles: ['ts-auto', 'ts-approved', 'ts-expiring', 'ts-extendable'] }],
    roles: [
      { id: 'ts-auto', maxDurationSeconds: 600 },
      {
        id: 'ts-extendable',
        maxDurationSeconds: 300,
        extend: { maxTotalSeconds: 600, maxExtensions: 1, approval: 'none' },
      },
      {
        id: 'ts-approved',
        approval: { mode: 'approvers', approvers: ['ann@example.org'], windowSeconds: 300 },
      },
      // The shortest approval window the policy allows.
      {
        id: 'ts-expiring',
        approval: { mode: 'approvers', approvers: ['ann@example.org'], windowSeconds: 10 },
      },
    ],
  });
  const app = createApp({ services: stack.services, healthChecks: {}, logger: stack.logger });
  server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  client = new ElevateClient({
    baseUrl: base,
    token: stack.keys['ts-bot']!,
    retryDelayMs: 50,
  });
  expiring = await client.request({
    role: 'ts-expiring',
    durationSeconds: 60,
    justification: 'left to expire',
  });
}, 120_000);

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await stack?.close();
});

describe('withElevation', () => {
  it('when the role is auto-approved, then fn runs while it is held, with its environment, and it is given back after', async () => {
    const progress: string[] = [];
    let inside: { id: string; member: boolean; env: Record<string, string | undefined> } | undefined;
    const result = await withElevation(
      client,
      { role: 'ts-auto', durationSeconds: 120, justification: 'nightly load', ticket: 'CHG-1' },
      async (elevation, env) => {
        inside = { id: elevation.id, member: await stack.isMember('ts-bot', 'ts-auto'), env: { ...env } };
        return 'done';
      },
      { onProgress: (view) => progress.push(view.status) },
    );
    expect(result).toBe('done');
    expect(inside?.member).toBe(true);
    expect(inside?.env).toMatchObject({ ELEVATE_ELEVATION_ID: inside?.id, ELEVATE_ROLE: 'ts-auto' });
    expect(inside?.env.ELEVATE_EXPIRES_AT).toMatch(/^\d{4}-\d\d-\d\dT/);
    // Not a credentials-mode role: no AWS variables (and Elevate said so rather than the client guessing).
    expect(inside?.env.AWS_ACCESS_KEY_ID).toBeUndefined();
    expect(progress.at(-1)).toBe('active');

    const ended = await stack.waitFor(inside!.id, (v) => v.status === 'revoked');
    expect(ended.endReason).toBe('given_back');
    expect(ended.ticket).toBe('CHG-1');
    expect(await stack.isMember('ts-bot', 'ts-auto')).toBe(false);
  });

  it('when fn throws, then its error is rethrown and the role is given back', async () => {
    let id: string | undefined;
    const failure = new Error('the job broke');
    await expect(
      withElevation(client, { role: 'ts-auto', durationSeconds: 60, justification: 'will fail' }, (e) => {
        id = e.id;
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect((await stack.waitFor(id!, (v) => v.status === 'revoked')).endReason).toBe('given_back');
  });

  it('when an approver denies the request, then ElevationDeniedError, and fn never runs', async () => {
    let ran = false;
    const pending: BotElevation[] = [];
    const outcome = withElevation(
      client,
      { role: 'ts-approved', durationSeconds: 60, justification: 'needs a human' },
      () => {
        ran = true;
      },
      {
        onProgress: (view) => {
          if (view.status !== 'pending_approval') return;
          pending.push(view);
          void stack.services.approvals.deny(view.id, {
            by: { kind: 'admin', id: 'test-admin' },
            reason: 'not today',
          });
        },
      },
    );
    const error = await outcome.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ElevationDeniedError);
    expect(error).toMatchObject({ kind: 'denied', exitCode: EXIT_CODES.denied });
    expect((error as ElevationDeniedError).elevation).toMatchObject({ id: pending[0]?.id, status: 'denied' });
    expect(ran).toBe(false);
  });

  it('when nobody decides before the client stops waiting, then ElevationWaitTimeoutError, and the request is withdrawn', async () => {
    let ran = false;
    const error = await withElevation(
      client,
      { role: 'ts-approved', durationSeconds: 60, justification: 'nobody looks' },
      () => {
        ran = true;
      },
      { timeoutMs: 1_500 },
    ).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ElevationWaitTimeoutError);
    const timedOut = error as ElevationWaitTimeoutError;
    expect(timedOut).toMatchObject({ kind: 'timed_out', exitCode: EXIT_CODES.timedOut });
    expect(timedOut.elevation.status).toBe('pending_approval');
    expect(ran).toBe(false);
    const after = await client.get(timedOut.elevation.id);
    expect(after).toMatchObject({ status: 'revoked', endReason: 'withdrawn' });
  });
});

describe('ElevateClient', () => {
  it('when the role does not exist, then ElevationRefusedError with the API code and field, and nothing starts', async () => {
    const error = await client
      .request({ role: 'no-such-role', durationSeconds: 60, justification: 'typo' })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(ElevationRefusedError);
    expect(error).toMatchObject({
      kind: 'refused',
      status: 422,
      code: 'unknown_role',
      field: 'role',
      exitCode: EXIT_CODES.refused,
    });
  });

  it('when a request is sent twice with the same requestId, then both answers are the same elevation', async () => {
    const request = { role: 'ts-auto', durationSeconds: 30, justification: 'retry', requestId: 'ts-retry-1' };
    const [a, b] = [await client.request(request), await client.request(request)];
    expect(b.id).toBe(a.id);
    await client.wait(a.id);
    expect((await client.giveBack(a.id)).status).toMatch(/^revok/);
  });

  it("when an active elevation is extended, then its expiry moves; past the role's limit, an API error with its code", async () => {
    const requested = await client.request({
      role: 'ts-extendable',
      durationSeconds: 60,
      justification: 'long job',
    });
    const active = await client.wait(requested.id);
    const extended = await client.extend(active.id, {
      durationSeconds: 120,
      justification: 'the job runs long',
    });
    expect(Date.parse(extended.expiresAt!) - Date.parse(active.expiresAt!)).toBe(120_000);
    expect(extended).toMatchObject({ extensions: 1, extendedSeconds: 120 });
    await expect(
      client.extend(active.id, { durationSeconds: 60, justification: 'once more' }),
    ).rejects.toMatchObject({ name: 'ElevateApiError', status: 409, code: 'too_many_extensions' });
    await client.giveBack(active.id);
  });

  it('when Elevate cannot be reached, then ElevateUnreachableError after the retries', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createApp({ services: stack.services, healthChecks: {}, logger: stack.logger }).listen(
        0,
        '127.0.0.1',
        () => {
          const port = (s.address() as AddressInfo).port;
          s.close(() => resolve(port));
        },
      );
    });
    const offline = new ElevateClient({
      baseUrl: `http://127.0.0.1:${closed}`,
      token: stack.keys['ts-bot']!,
      retries: 2,
      retryDelayMs: 10,
    });
    const error = await offline.request({ role: 'ts-auto', durationSeconds: 30, justification: 'x' }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ElevateUnreachableError);
    expect(error).toMatchObject({ kind: 'unreachable', exitCode: EXIT_CODES.unreachable });
    expect((error as Error).message).toContain(`127.0.0.1:${closed}`);
  });

  it('when the key is wrong, then an API error naming authorization (not a refusal of a valid request)', async () => {
    const wrong = new ElevateClient({ baseUrl: base, token: 'elv_bot_not-a-key' });
    await expect(wrong.get(expiring.id)).rejects.toMatchObject({
      name: 'ElevateApiError',
      status: 401,
      code: 'unauthenticated',
    });
  });

  it('when nobody approves within the approval window, then waiting ends in ElevationExpiredError', async () => {
    // Requested in beforeAll with a 10 s window: by now most of it has passed.
    const error = await client.wait(expiring.id, { timeoutMs: 30_000 }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ElevationExpiredError);
    expect(error).toMatchObject({ kind: 'expired', exitCode: EXIT_CODES.expired });
    expect((error as ElevationExpiredError).elevation.status).toBe('expired');
  }, 30_000);
});
