/**
 * The console's elevations: the filtered, paged list (`/admin`), one elevation's page, and its
 * revocation (confirm, then act).
 */
import type { Request, Response } from 'express';
import type { z } from 'zod';
import { ApiError } from '../../../domain/errors.js';
import { elevationQuery } from '../../elevation-filters.js';
import { httpStatusOf } from '../../http-status.js';
import type { ConsoleArea, InputRefusal, PageHandler } from '../console-handler.js';
import { consoleListQuerySchema } from '../console-schemas.js';
import { formReason, pagerQuery } from '../forms.js';
import { html } from '../respond.js';
import type { ConsoleSessions } from '../session.js';
import { elevationPage, revokeConfirmPage } from '../views/elevation.js';
import { listPage, type ListFilters } from '../views/list.js';
import type { PageUser } from '../views/layout.js';

/** A UTC instant from a form's day or minute; `to` of a bare day includes that whole day. */
function instantOf(value: string, end: boolean): string {
  if (value.length === 10) {
    const t = Date.parse(`${value}T00:00:00Z`) + (end ? 86_400_000 : 0);
    return new Date(t).toISOString();
  }
  return new Date(`${value}Z`).toISOString();
}

/** The first problem of a failed parse, as a sentence naming the field. */
function problemOf(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'The filters are not valid.';
  if (issue.code === 'unrecognized_keys') return `Unknown filter: ${issue.keys.join(', ')}.`;
  return `${String(issue.path[0] ?? 'filter')}: ${issue.message}.`;
}

/** The list, an elevation's page and its revocation, by operationId. */
export function elevationHandlers(
  sessions: ConsoleSessions,
  pageSize: number,
): ConsoleArea<'consoleElevations' | 'consoleElevation' | 'consoleRevokeConfirmation' | 'consoleRevoke'> {
  const { deps } = sessions;

  /** The form again, with no rows and what is wrong with the filters. */
  const invalidList = (user: PageUser, req: Request, res: Response, filters: ListFilters, error: string) =>
    html(
      res,
      400,
      listPage({
        user,
        policy: deps.policy,
        filters,
        query: pagerQuery(req),
        items: [],
        onFirst: true,
        error,
      }),
    );

  const consoleElevations: PageHandler<'consoleElevations'> = async ({ query }, { user }, req, res) => {
    // The form shows the filters as given; the cursor and notice belong to the pager.
    const { cursor: _cursor, notice: _notice, ...filters } = query;
    try {
      const result = await deps.audit.list(elevationQuery(query, pageSize, instantOf));
      html(
        res,
        200,
        listPage({
          user,
          policy: deps.policy,
          filters,
          query: pagerQuery(req),
          items: result.items,
          ...(result.nextCursor ? { nextCursor: result.nextCursor } : {}),
          onFirst: !query.cursor,
        }),
      );
    } catch (err) {
      if (!(err instanceof ApiError) || httpStatusOf(err) !== 400) throw err;
      invalidList(user, req, res, filters, err.message);
    }
  };

  const consoleElevation: PageHandler<'consoleElevation'> = async (
    { params: { id }, query: { notice } },
    { user },
    _req,
    res,
  ) => {
    const { elevation, events } = await deps.audit.timeline(id);
    // A notice that is not one of the page's fixed messages shows nothing.
    html(res, 200, elevationPage({ user, view: elevation, events, notice }));
  };

  const consoleRevokeConfirmation: PageHandler<'consoleRevokeConfirmation'> = async (
    { params: { id } },
    { user },
    _req,
    res,
  ) => {
    const view = await deps.requests.get(id, { kind: 'admin' });
    html(res, 200, revokeConfirmPage({ user, view }));
  };

  const consoleRevoke: PageHandler<'consoleRevoke'> = async (
    { params: { id }, body: { reason } },
    { actor },
    _req,
    res,
  ) => {
    await deps.requests.get(id, { kind: 'admin' });
    // The request is on record before it reaches the workflow (whose events name the admin too).
    await sessions.audit('admin.action', id, actor, { action: 'revoke_elevation', via: 'console', reason });
    const after = await deps.requests.revoke(id, actor, { kind: 'admin' }, reason);
    res.redirect(
      303,
      `/admin/elevations/${id}?notice=${after.status === 'revoked' ? 'revoked' : 'revoke_started'}`,
    );
  };

  /** A revocation without a valid reason: the form again, saying why. */
  const refusedRevoke: InputRefusal<'consoleRevoke'> = async ({ id }, { user }, req, res) => {
    const view = await deps.requests.get(id, { kind: 'admin' });
    const given = formReason(req);
    const error = 'problem' in given ? given.problem : 'Give a reason.';
    html(res, 400, revokeConfirmPage({ user, view, error }));
  };

  /** The list with filters its schema refused: the form again, saying which. */
  const refusedList: InputRefusal<'consoleElevations'> = (_params, { user }, req, res) => {
    const parsed = consoleListQuerySchema.safeParse(req.query);
    invalidList(user, req, res, {}, parsed.success ? 'The filters are not valid.' : problemOf(parsed.error));
    return Promise.resolve();
  };

  return {
    handlers: { consoleElevations, consoleElevation, consoleRevokeConfirmation, consoleRevoke },
    refused: { consoleRevoke: refusedRevoke, consoleElevations: refusedList },
  };
}
