/**
 * The bot API's handlers (`BOT_ROUTES`): a bot requests, reads (or long-polls), extends and gives
 * back its own elevations, and takes the AWS credentials of one. The bot's guard and the parsing
 * of every input ran before (`routes.ts`).
 */
import type { ElevationView } from '../../core/model/elevation.js';
import { isFinal } from '../../core/rules/elevation-view.js';
import type { Request, Response } from 'express';
import type { DeliveryContext, RequestService } from '../../domain/elevations/request-service.js';
import type { Metrics } from '../../integrations/metrics/prometheus.js';
import type { BOT_ROUTES } from '../openapi/routes/bots.js';
import { botOf, callerOf, sourceFields } from './request-context.js';
import type { RouteHandlers } from './routes.js';

export interface BotHandlersDeps {
  requests: Pick<
    RequestService,
    'request' | 'get' | 'waitForChange' | 'revoke' | 'extend' | 'deliverCredentials'
  >;
  metrics?: Metrics;
  /** Aborted when the process starts to stop: waiting long-polls answer at once. */
  shutdown?: AbortSignal;
}

/** Where a bot's call came from, for the refusals its give-back or credentials fetch may record. */
function callContext(req: Request, res: Response): DeliveryContext {
  const { ip = req.ip ?? null, userAgent = null, authMethod } = sourceFields(req, res);
  return { ip, userAgent, ...(authMethod ? { authMethod } : {}) };
}

/** What a bot may see of its elevation: operator diagnostics (`lastError`) stay with admins. */
const forBot = ({ lastError: _hidden, ...view }: ElevationView): Omit<ElevationView, 'lastError'> => view;

export function botHandlers({
  requests,
  metrics,
  shutdown,
}: BotHandlersDeps): RouteHandlers<typeof BOT_ROUTES> {
  return {
    requestElevation: async ({ body }, _req, res) => {
      const { identity, botState, source } = callerOf(res);
      const { elevation, replayed } = await requests.request(botOf(res), body, {
        ...(identity ? { identity } : {}),
        ...(source ? { source } : {}),
        ...(botState !== undefined ? { state: botState } : {}),
      });
      metrics?.elevationRequests.inc({ outcome: replayed ? 'replayed' : 'accepted' });
      if (replayed) res.setHeader('idempotent-replayed', 'true');
      res.status(202).location(`/v1/elevations/${elevation.id}`).json(forBot(elevation));
    },

    getElevation: async ({ params: { id }, query: { waitSeconds, until } }, _req, res) => {
      const scope = { kind: 'bot', botId: botOf(res).id } as const;
      if (!waitSeconds) {
        res.json(forBot(await requests.get(id, scope)));
        return;
      }
      const gone = new AbortController();
      const stop = () => gone.abort();
      res.on('close', stop);
      shutdown?.addEventListener('abort', stop, { once: true });
      try {
        res.json(forBot(await requests.waitForChange(id, scope, waitSeconds, gone.signal, until)));
      } finally {
        // One listener per long-poll on a signal that lives as long as the process: take it off.
        shutdown?.removeEventListener('abort', stop);
      }
    },

    revokeElevation: async ({ params: { id }, body: { reason } }, req, res) => {
      const bot = botOf(res);
      const view = await requests.revoke(
        id,
        { kind: 'bot', id: bot.id },
        { kind: 'bot', botId: bot.id },
        reason,
        callContext(req, res),
      );
      res.status(isFinal(view) ? 200 : 202).json(forBot(view));
    },

    extendElevation: async ({ params: { id }, body }, req, res) => {
      const bot = botOf(res);
      const view = await requests.extend(
        id,
        { kind: 'bot', id: bot.id },
        { kind: 'bot', botId: bot.id },
        body,
        callContext(req, res),
      );
      // Put before the role's approvers: accepted, not yet in force.
      res.status(view.pendingExtension ? 202 : 200).json(forBot(view));
    },

    // AWS credentials mode: the session's temporary credentials, once. POST, not GET: it changes
    // state (a second call is refused), and no proxy or browser caches or prefetches a POST.
    takeElevationCredentials: async ({ params: { id } }, req, res) => {
      const credentials = await requests.deliverCredentials(id, botOf(res).id, callContext(req, res));
      res.setHeader('pragma', 'no-cache');
      res.json(credentials);
    },
  };
}
