/**
 * The console's elevations: the filtered, paged list (`/admin`), one elevation's page, and its
 * revocation (confirm, then act).
 */
import type { Request, Response } from 'express';
import type { z } from 'zod';
import type { ElevationView } from '../../../core/model/elevation.js';
import { ApiError } from '../../../domain/errors.js';
import { elevationQuery } from '../../elevation-filters.js';
import { httpStatusOf } from '../../http-status.js';
import type { ConsoleHandler, FormRefusal } from '../console-handler.js';
import {
  consoleListQuerySchema,
  type consoleNoticeQuerySchema,
  type consoleReasonFormSchema,
} from '../console-schemas.js';
import { formReason, pagerQuery } from '../forms.js';
import { html } from '../respond.js';
import { adminOf, sessionIn, userOf, type ConsoleSessions } from '../session.js';
import { elevationPage, revokeConfirmPage } from '../views/elevation.js';
import { listPage, type ListFilters } from '../views/list.js';

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
export function elevationHandlers(sessions: ConsoleSessions, pageSize: number) {
  const { deps } = sessions;

  /** The form again, with no rows and what is wrong with the filters. */
  const invalidList = (req: Request, res: Response, filters: ListFilters, error: string) =>
    html(
      res,
      400,
      listPage({
        user: userOf(sessionIn(res)),
        policy: deps.policy,
        filters,
        query: pagerQuery(req),
        items: [],
        onFirst: true,
        error,
      }),
    );

  const consoleElevations: ConsoleHandler = async (input, req, res) => {
    const q = input.query as z.output<typeof consoleListQuerySchema>;
    // The form shows the filters as given; the cursor and notice belong to the pager.
    const { cursor: _cursor, notice: _notice, ...filters } = q;
    try {
      const result = await deps.audit.list(elevationQuery(q, pageSize, instantOf));
      html(
        res,
        200,
        listPage({
          user: userOf(sessionIn(res)),
          policy: deps.policy,
          filters,
          query: pagerQuery(req),
          items: result.items,
          ...(result.nextCursor ? { nextCursor: result.nextCursor } : {}),
          onFirst: !q.cursor,
        }),
      );
    } catch (err) {
      if (!(err instanceof ApiError) || httpStatusOf(err) !== 400) throw err;
      invalidList(req, res, filters, err.message);
    }
  };

  const consoleElevation: ConsoleHandler = async (input, _req, res) => {
    const { elevation, events } = await deps.audit.timeline(input.params.id!);
    // A notice that is not one of the page's fixed messages shows nothing.
    const { notice } = input.query as z.output<typeof consoleNoticeQuerySchema>;
    html(res, 200, elevationPage({ user: userOf(sessionIn(res)), view: elevation, events, notice }));
  };

  const consoleRevokeConfirmation: ConsoleHandler = async (input, _req, res) => {
    const view = await deps.requests.get(input.params.id!, { kind: 'admin' });
    html(res, 200, revokeConfirmPage({ user: userOf(sessionIn(res)), view }));
  };

  const consoleRevoke: ConsoleHandler = async (input, _req, res) => {
    const id = input.params.id!;
    const s = sessionIn(res);
    await deps.requests.get(id, { kind: 'admin' });
    const { reason } = input.body as z.output<typeof consoleReasonFormSchema>;
    // The request is on record before it reaches the workflow (whose events name the admin too).
    await sessions.audit('admin.action', id, adminOf(s), {
      action: 'revoke_elevation',
      via: 'console',
      reason,
    });
    const after: ElevationView = await deps.requests.revoke(id, adminOf(s), { kind: 'admin' }, reason);
    res.redirect(
      303,
      `/admin/elevations/${id}?notice=${after.status === 'revoked' ? 'revoked' : 'revoke_started'}`,
    );
  };

  /** A revocation without a valid reason: the form again, saying why. */
  const refusedRevoke: FormRefusal = async (params, req, res) => {
    const view = await deps.requests.get(params.id!, { kind: 'admin' });
    const given = formReason(req);
    const error = 'problem' in given ? given.problem : 'Give a reason.';
    html(res, 400, revokeConfirmPage({ user: userOf(sessionIn(res)), view, error }));
  };

  /** The list with filters its schema refused: the form again, saying which. */
  const refusedList = (req: Request, res: Response): void => {
    const parsed = consoleListQuerySchema.safeParse(req.query);
    invalidList(req, res, {}, parsed.success ? 'The filters are not valid.' : problemOf(parsed.error));
  };

  return {
    handlers: { consoleElevations, consoleElevation, consoleRevokeConfirmation, consoleRevoke },
    refusedForms: { consoleRevoke: refusedRevoke },
    refusedList,
  };
}
