/**
 * What a console route's handler is, typed from the route table (`openapi/routes/console.ts`):
 * its inputs are what the route's own schemas parse to (`server/http/routes.ts` parses them
 * first), so a handler that reads a field its schema does not have, or reads it as another type,
 * does not compile.
 *
 * A page or form behind the sign-in (`CONSOLE_PAGES`) starts with its real work: the guard has
 * checked the session, the admin rights and, for a form, its origin and CSRF token, and the
 * handler is given who is signed in ({@link SignedIn}). What it throws is shown inside the console
 * to that person. The routes that read the request themselves (`CONSOLE_OPEN_ROUTES`: signing in
 * and out, the stylesheet) are given only their inputs.
 */
import type { Request, Response } from 'express';
import type { OperationIdOf, RouteHandler, RouteInput } from '../http/routes.js';
import type { CONSOLE_OPEN_ROUTES, CONSOLE_PAGES } from '../openapi/routes/console.js';
import type { SignedIn } from './session.js';

export type { SignedIn } from './session.js';

type ConsoleRoutes = typeof CONSOLE_OPEN_ROUTES | typeof CONSOLE_PAGES;

/** The operationIds of the pages and forms behind the sign-in. */
export type ConsolePageId = OperationIdOf<typeof CONSOLE_PAGES>;
/** The operationIds of the routes that read the request themselves. */
export type ConsoleOpenId = OperationIdOf<typeof CONSOLE_OPEN_ROUTES>;

/** The console's route `Id`, as the table declares it. */
export type ConsoleRoute<Id extends ConsolePageId | ConsoleOpenId> = Extract<
  ConsoleRoutes[number],
  { operationId: Id }
>;

/** Route `Id`'s inputs, parsed with its schemas: `params`, `query` and `body`. */
export type ConsoleInput<Id extends ConsolePageId | ConsoleOpenId> = RouteInput<ConsoleRoute<Id>>;

/** Answers page or form `Id` for the person signed in. */
export type PageHandler<Id extends ConsolePageId> = (
  input: ConsoleInput<Id>,
  who: SignedIn,
  req: Request,
  res: Response,
) => Promise<void>;

/** One handler for each page and form, by operationId. */
export type PageHandlers<Ids extends ConsolePageId = ConsolePageId> = { [Id in Ids]: PageHandler<Id> };

/**
 * Answers page or form `Id` when its schemas refused its query or its form (the path parameters
 * parsed; a bad one is a page not found): the form again saying why, the list's filters saying
 * which. Without one, a refused query is read as if none was given, and a refused form is a 400.
 */
export type InputRefusal<Id extends ConsolePageId> = (
  params: ConsoleInput<Id>['params'],
  who: SignedIn,
  req: Request,
  res: Response,
) => Promise<void>;

/** The refusals some pages and forms answer their own way, by operationId. */
export type InputRefusals<Ids extends ConsolePageId = ConsolePageId> = { [Id in Ids]?: InputRefusal<Id> };

/** What an area of the console (`routes/*.ts`) gives for its pages and forms. */
export interface ConsoleArea<Ids extends ConsolePageId> {
  handlers: PageHandlers<Ids>;
  refused?: InputRefusals<Ids>;
}

/** Answers open route `Id` (signing in and out, the stylesheet). */
export type OpenHandler<Id extends ConsoleOpenId> = RouteHandler<ConsoleRoute<Id>>;

/** One handler for each open route, by operationId. */
export type OpenHandlers<Ids extends ConsoleOpenId = ConsoleOpenId> = { [Id in Ids]: OpenHandler<Id> };

/**
 * Answers an open route when its schemas refused its query or its form: the routes that read
 * the request themselves answer it as they read it. Without one, as for a page.
 */
export type OpenRefusal = (req: Request, res: Response) => Promise<void>;

/** The refusals some open routes answer their own way, by operationId. */
export type OpenRefusals<Ids extends ConsoleOpenId = ConsoleOpenId> = { [Id in Ids]?: OpenRefusal };
