/**
 * What a console route's handler is: the route's inputs, parsed with its schemas (the table in
 * `openapi/routes/console.ts`) by `server/http/routes.ts`, and the session its guard let through.
 */
import type { Request, Response } from 'express';

/** A console route's inputs, as parsed; each handler names the schema's type it reads. */
export interface ConsoleInput {
  params: Record<string, string>;
  query: unknown;
  body: unknown;
}

/** Answers one console route. */
export type ConsoleHandler = (input: ConsoleInput, req: Request, res: Response) => Promise<void>;

/**
 * Answers a form whose fields its schema refused (the CSRF token has been checked): the form
 * again, with what is wrong. `params` are the route's, parsed.
 */
export type FormRefusal = (params: Record<string, string>, req: Request, res: Response) => Promise<void>;
