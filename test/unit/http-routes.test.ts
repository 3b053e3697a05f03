/**
 * The adapter that registers routes of the route table on Express (`server/http/routes.ts`):
 * a handler per operationId and no other (checked by the compiler, and at start for callers it
 * does not see), guards by `security`, bodies read as the route says, inputs parsed with the
 * route's own schemas, and invalid inputs either thrown to the error handler or answered by the
 * area.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiError } from '../../domain/errors.js';
import { httpStatusOf } from '../../server/http-status.js';
import { expressPath, serveRoutes, type InvalidInput, type RouteHandlers } from '../../server/http/routes.js';
import { route } from '../../server/openapi/route-spec.js';
import { toApiError } from '../../server/request-errors.js';
import {
  elevationIdSchema,
  elevationRequestSchema,
  revokeBodySchema,
  waitQuerySchema,
} from '../../server/schemas.js';

const ok = { 200: { description: 'ok' } };
const ROUTES = [
  route({
    method: 'get',
    path: '/things/{id}',
    operationId: 'getThing',
    tag: 'bots',
    summary: '',
    description: '',
    security: 'bot',
    params: { id: elevationIdSchema },
    query: waitQuerySchema,
    responses: ok,
  }),
  route({
    method: 'post',
    path: '/things/{id}/revoke',
    operationId: 'revokeThing',
    tag: 'bots',
    summary: '',
    description: '',
    security: 'bot',
    params: { id: elevationIdSchema },
    body: { schema: revokeBodySchema, contentType: 'application/json', required: false },
    responses: ok,
  }),
  route({
    method: 'post',
    path: '/things',
    operationId: 'makeThing',
    tag: 'bots',
    summary: '',
    description: '',
    security: 'none',
    body: {
      schema: elevationRequestSchema,
      contentType: 'application/json',
      required: true,
      ifAbsent: 'refuse',
    },
    responses: ok,
  }),
  route({
    method: 'get',
    path: '/off',
    operationId: 'notServed',
    tag: 'operations',
    summary: '',
    description: '',
    security: 'none',
    responses: ok,
  }),
] as const;

const ID = 'el_0123456789abcdef01234567';

const handlers: RouteHandlers<typeof ROUTES> = {
  getThing: ({ params, query }, _req, res) => {
    res.json({ id: params.id, waitSeconds: query.waitSeconds ?? null, until: query.until ?? null });
  },
  revokeThing: ({ params, body }, _req, res) => {
    res.json({ id: params.id, reason: body.reason ?? null });
  },
  makeThing: ({ body }, _req, res) => {
    res.status(201).json({ role: body.role, durationSeconds: body.durationSeconds });
  },
  notServed: null,
};

/** A guard that lets through only `x-caller: bot`, and says it ran. */
const botGuard = (req: Request, res: Response, next: NextFunction) => {
  res.setHeader('x-guarded', 'yes');
  if (req.get('x-caller') !== 'bot') throw new ApiError('unauthenticated', 'no', 'authorization');
  next();
};

describe('the route adapter', () => {
  let server: Server;
  let base: string;
  const invalid: string[] = [];

  beforeAll(async () => {
    const app = express();
    serveRoutes(app, ROUTES, handlers, { guards: { bot: [botGuard], none: [] } });
    // A second table on a router whose area answers invalid input itself.
    const area = express.Router();
    const AREA = [ROUTES[1]] as const;
    serveRoutes(
      area,
      AREA,
      {
        revokeThing: (_input, _req, res) => {
          res.json({ served: true });
        },
      },
      {
        guards: { bot: [] },
        invalidInput: ({ operationId, part, error }: InvalidInput<typeof AREA>, _req, res) => {
          invalid.push(`${operationId} ${part} ${error.code}`);
          res.status(418).send('refused by the area');
          return Promise.resolve();
        },
      },
    );
    app.use('/area', area);
    app.use((err: unknown, _req: Request, res: Response, _next: NextFunction) => {
      const error = toApiError(err);
      res.status(httpStatusOf(error)).json({ error: { code: error.code, field: error.field } });
    });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  });

  const call = async (
    method: string,
    path: string,
    init: { body?: string; headers?: Record<string, string> } = {},
  ) => {
    const res = await fetch(base + path, {
      method,
      headers: { 'x-caller': 'bot', ...init.headers },
      ...(init.body !== undefined ? { body: init.body } : {}),
    });
    const text = await res.text();
    return {
      status: res.status,
      guarded: res.headers.get('x-guarded'),
      body: text.startsWith('{') ? (JSON.parse(text) as unknown) : text,
    };
  };
  const json = { 'content-type': 'application/json' };

  it('when an OpenAPI path has a parameter, then Express serves it as a parameter', () => {
    expect(expressPath('/v1/elevations/{id}/revoke')).toBe('/v1/elevations/:id/revoke');
    expect(expressPath('/livez')).toBe('/livez');
  });

  it('when inputs are valid, then the handler gets them parsed with the route’s schemas, after the guard', async () => {
    expect(await call('GET', `/things/${ID}?waitSeconds=5&until=active,revoked`)).toEqual({
      status: 200,
      guarded: 'yes',
      body: { id: ID, waitSeconds: 5, until: ['active', 'revoked'] },
    });
    expect(
      await call('POST', `/things/${ID}/revoke`, { body: '{"reason":"  done  "}', headers: json }),
    ).toMatchObject({ status: 200, body: { id: ID, reason: 'done' } });
  });

  it('when the guard refuses, then nothing is parsed and the handler does not run', async () => {
    const res = await call('GET', '/things/not-an-id', { headers: { 'x-caller': 'someone' } });
    expect(res).toMatchObject({ status: 401, body: { error: { code: 'unauthenticated' } } });
  });

  it('when a parameter, the query or the body is invalid, then it is a 400 naming the field', async () => {
    expect(await call('GET', '/things/not-an-id')).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request', field: 'id' } },
    });
    expect(await call('GET', `/things/${ID}?waitSeconds=99`)).toMatchObject({
      status: 400,
      body: { error: { field: 'waitSeconds' } },
    });
    expect(await call('GET', `/things/${ID}?extra=1`)).toMatchObject({
      status: 400,
      body: { error: { field: 'extra' } },
    });
    expect(
      await call('POST', `/things/${ID}/revoke`, { body: '{"reason":"x","more":1}', headers: json }),
    ).toMatchObject({ status: 400, body: { error: { field: 'more' } } });
  });

  it('when a body is absent, then it is read as {} unless the route refuses it; a body that is not JSON is 415', async () => {
    expect(await call('POST', `/things/${ID}/revoke`)).toMatchObject({ status: 200, body: { reason: null } });
    expect(await call('POST', '/things')).toMatchObject({
      status: 415,
      body: { error: { code: 'unsupported_media_type', field: 'content-type' } },
    });
    expect(
      await call('POST', `/things/${ID}/revoke`, {
        body: 'reason=x',
        headers: { 'content-type': 'text/plain' },
      }),
    ).toMatchObject({ status: 415, body: { error: { field: 'content-type' } } });
    expect(await call('POST', `/things/${ID}/revoke`, { body: '{"reason":', headers: json })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_json' } },
    });
    expect(
      await call('POST', '/things', {
        body: JSON.stringify({ role: 'r', durationSeconds: 60, justification: 'j' }),
        headers: json,
      }),
    ).toMatchObject({ status: 201, body: { role: 'r', durationSeconds: 60 } });
  });

  it('when a handler is null, then the route is not served', async () => {
    expect((await call('GET', '/off')).status).toBe(404);
  });

  it('when the area reads invalid input itself, then it gets the operation and the part, for schemas and unreadable bodies alike', async () => {
    expect(await call('POST', '/area/things/nope/revoke')).toEqual({
      status: 418,
      guarded: null,
      body: 'refused by the area',
    });
    expect((await call('POST', `/area/things/${ID}/revoke`, { body: '{"x":1}', headers: json })).status).toBe(
      418,
    );
    expect((await call('POST', `/area/things/${ID}/revoke`, { body: '{', headers: json })).status).toBe(418);
    expect(invalid).toEqual([
      'revokeThing params invalid_request',
      'revokeThing body invalid_request',
      'revokeThing unreadable body invalid_json',
    ]);
    expect((await call('POST', `/area/things/${ID}/revoke`, { body: '{}', headers: json })).body).toEqual({
      served: true,
    });
  });

  it('when a handler is missing or unknown, or a security has no guard, then registering fails at once', () => {
    const router = express.Router();
    const [getThing] = ROUTES;
    const one = [getThing] as const;
    const handle: RouteHandlers<typeof one>['getThing'] = (_input, _req, res) => {
      res.end();
    };
    // @ts-expect-error: no handler for getThing
    expect(() => serveRoutes(router, one, {}, { guards: { bot: [] } })).toThrow('no handler for getThing');
    expect(() =>
      // @ts-expect-error: a handler for an operation the table does not have
      serveRoutes(router, one, { getThing: handle, getOther: handle }, { guards: { bot: [] } }),
    ).toThrow('a handler for getOther');
    // @ts-expect-error: the routes name `bot`, which has no guard
    expect(() => serveRoutes(router, one, { getThing: handle }, { guards: {} })).toThrow(
      'no guard for security bot',
    );
  });

  it('types each handler’s input from its route’s schemas', () => {
    const typed: RouteHandlers<typeof ROUTES> = {
      getThing: ({ params, query }) => {
        const id: string = params.id;
        const wait: number | undefined = query.waitSeconds;
        // @ts-expect-error: the query's `until` is parsed into a list of statuses
        const until: string | undefined = query.until;
        void [id, wait, until];
      },
      revokeThing: ({ body }) => {
        // @ts-expect-error: the body's reason may be absent
        const reason: string = body.reason;
        void reason;
      },
      makeThing: ({ body, query }) => {
        const seconds: number = body.durationSeconds;
        const none: undefined = query;
        void [seconds, none];
      },
      notServed: null,
    };
    expect(Object.keys(typed).sort()).toEqual(['getThing', 'makeThing', 'notServed', 'revokeThing']);
  });
});
