/**
 * The console's elevations: the filtered, paged list (`/admin`), one elevation's page, and its
 * revocation (confirm, then act).
 */
import type { Request, Router } from 'express';
import type { z } from 'zod';
import type { ElevationView } from '../../../core/model/elevation.js';
import { ApiError } from '../../../domain/errors.js';
import { elevationQuery } from '../../elevation-filters.js';
import { httpStatusOf } from '../../http-status.js';
import { elevationIdSchema } from '../../schemas.js';
import { consoleListQuerySchema, consoleNoticeQuerySchema } from '../console-schemas.js';
import { formReason, pagerQuery } from '../forms.js';
import { html } from '../respond.js';
import { adminOf, userOf, type ConsoleSessions } from '../session.js';
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

/** The elevation id of the path, or 404. */
function elevationId(req: Request): string {
  const parsed = elevationIdSchema.safeParse(req.params.id);
  if (!parsed.success) throw new ApiError('not_found', 'There is no such elevation.');
  return parsed.data;
}

/** The list, an elevation's page and its revocation, on `router`. */
export function elevationRoutes(router: Router, sessions: ConsoleSessions, pageSize: number): void {
  const { deps, page, action } = sessions;

  router.get(
    '/admin',
    page(async (req, res, s) => {
      const parsed = consoleListQuerySchema.safeParse(req.query);
      const query = pagerQuery(req);
      /** The form again, with no rows and what is wrong with the filters. */
      const invalid = (filters: ListFilters, error: string) =>
        html(
          res,
          400,
          listPage({ user: userOf(s), policy: deps.policy, filters, query, items: [], onFirst: true, error }),
        );
      if (!parsed.success) return invalid({}, problemOf(parsed.error));
      const q = parsed.data;
      // The form shows the filters as given; the cursor and notice belong to the pager.
      const { cursor: _cursor, notice: _notice, ...filters } = q;
      try {
        const result = await deps.audit.list(elevationQuery(q, pageSize, instantOf));
        html(
          res,
          200,
          listPage({
            user: userOf(s),
            policy: deps.policy,
            filters,
            query,
            items: result.items,
            ...(result.nextCursor ? { nextCursor: result.nextCursor } : {}),
            onFirst: !q.cursor,
          }),
        );
      } catch (err) {
        if (!(err instanceof ApiError) || httpStatusOf(err) !== 400) throw err;
        invalid(filters, err.message);
      }
    }),
  );

  router.get(
    '/admin/elevations/:id',
    page(async (req, res, s) => {
      const { elevation, events } = await deps.audit.timeline(elevationId(req));
      // A notice that is not one of the page's fixed messages shows nothing.
      const given = consoleNoticeQuerySchema.safeParse(req.query);
      const notice = given.success ? given.data.notice : undefined;
      html(res, 200, elevationPage({ user: userOf(s), view: elevation, events, notice }));
    }),
  );

  router.get(
    '/admin/elevations/:id/revoke',
    page(async (req, res, s) => {
      const view = await deps.requests.get(elevationId(req), { kind: 'admin' });
      html(res, 200, revokeConfirmPage({ user: userOf(s), view }));
    }),
  );

  router.post(
    '/admin/elevations/:id/revoke',
    ...action(async (req, res, s) => {
      const id = elevationId(req);
      const view = await deps.requests.get(id, { kind: 'admin' });
      const given = formReason(req);
      if ('problem' in given) {
        return html(res, 400, revokeConfirmPage({ user: userOf(s), view, error: given.problem }));
      }
      const { reason } = given;
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
    }),
  );
}
