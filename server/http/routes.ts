/**
 * Registers routes of the route table (`server/openapi/routes/`) on Express, so that a route is
 * declared once: what the reference says of it is what the server reads. For each route, in
 * this order:
 *
 * 1. the guards its `security` names (authentication: each area supplies its own);
 * 2. its body, read as its `contentType` says: JSON (`application/json` only, else 415; at most
 *    16 KiB after decompression) or a form (at most 2 KiB and 5 fields);
 * 3. its path parameters, query and body, parsed with its own schemas (a failure is a 400 naming
 *    the field: `parse-input.ts`);
 * 4. the handler registered under its `operationId`, given what was parsed, typed from those
 *    schemas.
 *
 * Whatever a guard, a body reader or a handler throws goes to Express's error handler, which
 * answers `{error: {code, message, field?}}` (`errors.ts`), unless the area reads invalid input
 * its own way (the approval pages answer with a page that says why).
 */
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { z } from 'zod';
import { ApiError } from '../../domain/errors.js';
import type { ApiRoute } from '../openapi/route-spec.js';
import { toApiError } from '../request-errors.js';
import { parseInput } from './parse-input.js';

/** The path parameters a route declares, parsed. */
type ParamsOf<R> = R extends { params: infer P extends Record<string, z.ZodType> }
  ? { [K in keyof P]: z.output<P[K]> }
  : Record<string, never>;
/** The route's query, parsed; `undefined` when it declares none (the query is not read). */
type QueryOf<R> = R extends { query: infer Q extends z.ZodType } ? z.output<Q> : undefined;
/** The route's body, parsed; `undefined` when it declares none (no body is read). */
type BodyOf<R> = R extends { body: { schema: infer B extends z.ZodType } } ? z.output<B> : undefined;

/** What a route's handler is given: its inputs, parsed with the route's own schemas. */
export interface RouteInput<R extends ApiRoute> {
  params: ParamsOf<R>;
  query: QueryOf<R>;
  body: BodyOf<R>;
}

/** Answers one route; what it throws is answered by the error handler. */
export type RouteHandler<R extends ApiRoute> = (
  input: RouteInput<R>,
  req: Request,
  res: Response,
) => Promise<void> | void;

/** The operationIds of a table of routes. */
export type OperationIdOf<Routes extends readonly ApiRoute[]> = Routes[number]['operationId'];

/**
 * One handler per route of the table, by operationId. `null` says the process does not serve the
 * route (`/metrics` without metrics): it answers 404 like any unknown path.
 */
export type RouteHandlers<Routes extends readonly ApiRoute[]> = {
  [Id in OperationIdOf<Routes>]: RouteHandler<Extract<Routes[number], { operationId: Id }>> | null;
};

/** The guards that run before a route's body is read, for each `security` the routes name. */
export type RouteGuards<Routes extends readonly ApiRoute[]> = {
  [S in Routes[number]['security']]: readonly RequestHandler[];
};

/** An input a route's schemas (or its body reader) refused. */
export interface InvalidInput<Routes extends readonly ApiRoute[]> {
  operationId: OperationIdOf<Routes>;
  /** `unreadable body`: the body reader refused the bytes (too large, too many fields, …). */
  part: 'unreadable body' | 'params' | 'query' | 'body';
  error: ApiError;
}

export interface ServeOptions<Routes extends readonly ApiRoute[]> {
  guards: RouteGuards<Routes>;
  /**
   * Answer an invalid input here instead of throwing it to the error handler (the approval pages
   * answer with a page that says why, and audit it).
   */
  invalidInput?: (invalid: InvalidInput<Routes>, req: Request, res: Response) => Promise<void>;
}

/** JSON bodies: at most 16 KiB (after decompression), objects and arrays only. */
const JSON_BODY = express.json({ limit: '16kb', strict: true });
/** Form bodies (the approval confirmation): small, and few fields. */
const FORM_BODY = express.urlencoded({ extended: false, limit: '2kb', parameterLimit: 5 });

/** A body that is not `application/json` is refused before it is read. */
function requireJson(req: Request, _res: Response, next: NextFunction): void {
  const hasBody = Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  if (hasBody && !req.is('application/json')) {
    next(new ApiError('unsupported_media_type', 'content-type must be application/json', 'content-type'));
    return;
  }
  next();
}

/** `/v1/elevations/{id}` → `/v1/elevations/:id` (in Express 5, braces mark an optional part). */
export function expressPath(openApiPath: string): string {
  return openApiPath.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, ':$1');
}

/** What the adapter keeps in `res.locals` for the error handler. */
interface RouteLocals {
  /** The route that answered, once its guards let the request through. */
  servedRoute?: ApiRoute;
  /** Its path parameters, once they parsed. */
  servedParams?: Record<string, unknown>;
}

/** The route that answered `res`'s request and its parsed path parameters, as far as known. */
export function servedRouteOf(res: Response): RouteLocals {
  const { servedRoute, servedParams } = res.locals as RouteLocals;
  return { ...(servedRoute ? { servedRoute } : {}), ...(servedParams ? { servedParams } : {}) };
}

/**
 * Register `routes` on `router` with `handlers` (one per operationId, no other) and the `guards`
 * each route's `security` names. Registered in the table's order.
 */
export function serveRoutes<const Routes extends readonly ApiRoute[], Handlers extends RouteHandlers<Routes>>(
  router: express.IRouter,
  routes: Routes,
  handlers: Handlers & { [Unknown in Exclude<keyof Handlers, OperationIdOf<Routes>>]: never },
  options: ServeOptions<Routes>,
): void {
  const byId = handlers as unknown as Record<string, RouteHandler<ApiRoute> | null | undefined>;
  // The types say the same; these hold for callers the compiler does not see.
  const ids = new Set(routes.map((r) => r.operationId));
  for (const id of Object.keys(byId))
    if (!ids.has(id)) throw new Error(`a handler for ${id}, which is not a route of the table`);
  const guardsOf = options.guards as Record<string, readonly RequestHandler[] | undefined>;
  for (const route of routes) {
    const handler = byId[route.operationId];
    if (handler === undefined) throw new Error(`no handler for ${route.operationId}`);
    if (handler === null) continue;
    const guards = guardsOf[route.security];
    if (!guards) throw new Error(`no guard for security ${route.security} (${route.operationId})`);
    const chain: RequestHandler[] = [
      ...guards,
      ...bodyReaders(route, options),
      answer(route, handler, options),
    ];
    router[route.method](expressPath(route.path), chain);
  }
}

/** The middleware that reads the route's body, if it takes one. */
function bodyReaders<Routes extends readonly ApiRoute[]>(
  route: ApiRoute,
  options: ServeOptions<Routes>,
): RequestHandler[] {
  if (!route.body) return [];
  const { maxFields } = route.body;
  const read =
    route.body.contentType === 'application/json'
      ? JSON_BODY
      : maxFields !== undefined
        ? express.urlencoded({ extended: false, limit: '16kb', parameterLimit: maxFields })
        : FORM_BODY;
  const { invalidInput } = options;
  const reader: RequestHandler = invalidInput
    ? (req, res, next) => {
        read(req, res, (err?: unknown) => {
          if (!err) {
            next();
            return;
          }
          const invalid = { operationId: route.operationId, part: 'unreadable body', error: toApiError(err) };
          invalidInput(invalid as InvalidInput<Routes>, req, res).catch(next);
        });
      }
    : read;
  return route.body.contentType === 'application/json' ? [requireJson, reader] : [reader];
}

/** Parse the route's inputs with its schemas, then run its handler. */
function answer<Routes extends readonly ApiRoute[]>(
  route: ApiRoute,
  handler: RouteHandler<ApiRoute>,
  options: ServeOptions<Routes>,
): RequestHandler {
  return async (req, res) => {
    const locals = res.locals as RouteLocals;
    locals.servedRoute = route;
    let part: InvalidInput<Routes>['part'] = 'params';
    let input: RouteInput<ApiRoute>;
    try {
      const params: Record<string, unknown> = {};
      for (const [name, schema] of Object.entries(route.params ?? {}))
        params[name] = parseInput(schema, req.params[name], name);
      locals.servedParams = params;
      part = 'query';
      const query = route.query ? parseInput(route.query, req.query, 'query') : undefined;
      part = 'body';
      input = {
        params,
        query,
        body: route.body ? parseInput(route.body.schema, bodyOf(route, req), 'body') : undefined,
      } as RouteInput<ApiRoute>;
    } catch (err) {
      if (!(err instanceof ApiError) || !options.invalidInput) throw err;
      const invalid = { operationId: route.operationId, part, error: err };
      await options.invalidInput(invalid, req, res);
      return;
    }
    await handler(input, req, res);
  };
}

/** The body as read; a request without one is `{}` or refused, as the route says. */
function bodyOf(route: ApiRoute, req: Request): unknown {
  if (req.body !== undefined) return req.body as unknown;
  if (route.body?.ifAbsent === 'refuse') {
    const what = route.body.contentType === 'application/json' ? 'a JSON body' : 'a body';
    throw new ApiError(
      'unsupported_media_type',
      `send ${what} with content-type ${route.body.contentType}`,
      'content-type',
    );
  }
  return {};
}
