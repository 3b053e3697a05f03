/**
 * The one place where a failed request becomes an answer: `{error: {code, message, field?}}`
 * with the status of its code (`http-status.ts`), whatever threw it (a guard, a body reader,
 * the parsing of an input, a handler, Express itself: `request-errors.ts`). A path nobody serves
 * is 404; a path served with other methods 405 with `Allow`.
 */
import type express from 'express';
import type { NextFunction, Request, Response } from 'express';
import type { Actor } from '../../core/model/elevation.js';
import type { AuditService } from '../../domain/audit/audit-service.js';
import { ApiError, AuditedRefusal } from '../../domain/errors.js';
import type { Metrics } from '../../integrations/metrics/prometheus.js';
import { allowedMethods } from '../allowed-methods.js';
import { httpStatusOf } from '../http-status.js';
import { isClientAbort, toApiError } from '../request-errors.js';
import { elevationIdSchema } from '../schemas.js';
import { callerOf, routeLabel, sourceFields } from './request-context.js';
import { servedRouteOf } from './routes.js';

export interface ErrorAnswersDeps {
  /** Where refusals of known callers are recorded. */
  audit: Pick<AuditService, 'recordRefusal'>;
  metrics?: Metrics;
}

/** The elevation a request was about: its route's `{id}`, when that is an elevation id that parsed. */
function elevationIdOf(res: Response): string | null {
  const { servedRoute, servedParams } = servedRouteOf(res);
  const id = servedParams?.id;
  return servedRoute?.params?.id === elevationIdSchema && typeof id === 'string' ? id : null;
}

/** Register, after every route, the 404/405 for unmatched requests and the error handler. */
export function answerErrors(app: express.Express, { audit, metrics }: ErrorAnswersDeps): void {
  app.use((req, res, next) => {
    // A path served with other methods is 405 with `Allow`, not 404 (RFC 9110 §15.5.6).
    const allow = allowedMethods(app, req.path);
    if (allow.length > 0 && !allow.includes(req.method)) {
      res.setHeader('allow', allow.join(', '));
      next(new ApiError('method_not_allowed', `${req.method} is not allowed here; use ${allow.join(', ')}`));
      return;
    }
    next(new ApiError('not_found', `no route ${req.method} ${req.path}`));
  });

  // Express recognises an error handler by its four parameters.
  app.use(async (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const error = toApiError(err);
    if (req.method === 'POST' && routeLabel(req) === '/v1/elevations') {
      metrics?.elevationRequests.inc({ outcome: error.code });
    }
    if (isClientAbort(err)) {
      // The client went away mid-body: nothing failed here, and there is nobody to answer.
      req.log.info({ code: error.code }, 'client aborted the request body');
      return;
    }
    const status = httpStatusOf(error);
    if (status >= 500) {
      req.log.error({ err }, 'request failed');
    } else if (status !== 401 && error.code !== 'forbidden' && !(error instanceof AuditedRefusal)) {
      // Every refused attempt by a known caller is part of the audit trail, once: a refusal the
      // domain (or a guard) already recorded comes as an AuditedRefusal, made from its receipt.
      // (401 and `forbidden` are recorded by the guards as `auth.refused`.)
      const { bot, admin } = callerOf(res);
      const actor: Actor | undefined = bot
        ? { kind: 'bot', id: bot.id }
        : admin
          ? { kind: 'admin', id: admin.id }
          : undefined;
      if (actor) {
        await audit.recordRefusal('request.refused', elevationIdOf(res), actor, {
          method: req.method,
          path: req.route ? String((req.route as { path: unknown }).path) : req.path,
          code: error.code,
          field: error.field ?? null,
          message: error.message,
          ...sourceFields(req, res),
        });
      }
    }
    if (res.headersSent) return;
    if (error.retryAfterSeconds !== undefined) res.setHeader('retry-after', String(error.retryAfterSeconds));
    res.status(status).json({
      error: { code: error.code, message: error.message, ...(error.field ? { field: error.field } : {}) },
    });
  });
}
