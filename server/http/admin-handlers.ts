/**
 * The admin API's handlers (`ADMIN_ROUTES`): every elevation, its audit events and evidence,
 * the audit chain, bots at runtime, and the least-privilege report. The admin's guard and the parsing of every input ran
 * before (`routes.ts`).
 */
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import type { Actor } from '../../core/model/elevation.js';
import { isFinal } from '../../core/rules/elevation-view.js';
import type { AuditService } from '../../domain/audit/audit-service.js';
import type { BotAdminService } from '../../domain/bots/bot-admin-service.js';
import type { LeastPrivilegeReporter } from '../../domain/bots/least-privilege.js';
import type { RequestService } from '../../domain/elevations/request-service.js';
import { contentTypeOf } from '../../integrations/audit/export.js';
import { elevationQuery } from '../elevation-filters.js';
import type { ADMIN_ROUTES } from '../openapi/routes/admins.js';
import { adminOf, callerOf } from './request-context.js';
import type { RouteHandlers } from './routes.js';

export interface AdminHandlersDeps {
  requests: Pick<RequestService, 'revoke' | 'extend'>;
  bots: Pick<
    BotAdminService,
    'listBots' | 'getBot' | 'lockBot' | 'unlockBot' | 'setBotDisabled' | 'rotateBotKey'
  >;
  audit: Pick<AuditService, 'list' | 'timeline' | 'evidencePack' | 'verifyAudit' | 'exportAudit'>;
  leastPrivilege: Pick<LeastPrivilegeReporter, 'report'>;
}

export function adminHandlers({
  requests,
  bots,
  audit,
  leastPrivilege,
}: AdminHandlersDeps): RouteHandlers<typeof ADMIN_ROUTES> {
  const adminActor = (res: Response): Actor => ({ kind: 'admin', id: adminOf(res).id });

  return {
    listElevations: async ({ query: q }, _req, res) => {
      const page = await audit.list(elevationQuery(q, q.limit, (at) => new Date(at).toISOString()));
      res.json(page);
    },

    getElevationTimeline: async ({ params: { id } }, _req, res) => {
      res.json(await audit.timeline(id));
    },

    // The evidence pack: also for a signed-in console user (a download link on the console's page).
    getElevationEvidence: async ({ params: { id } }, _req, res) => {
      const { consoleUser } = callerOf(res);
      const pack = consoleUser
        ? await audit.evidencePack(id, { kind: 'admin', id: consoleUser }, 'console')
        : await audit.evidencePack(id, { kind: 'admin', id: adminOf(res).id }, 'api');
      res.setHeader('content-disposition', `attachment; filename="elevate-evidence-${id}.json"`);
      res.json(pack);
    },

    // The body's schema requires `reason`: an admin revocation must say why.
    adminRevokeElevation: async ({ params: { id }, body }, _req, res) => {
      const admin = adminOf(res);
      const view = await requests.revoke(id, { kind: 'admin', id: admin.id }, { kind: 'admin' }, body.reason);
      res.status(isFinal(view) ? 200 : 202).json(view);
    },

    adminExtendElevation: async ({ params: { id }, body }, _req, res) => {
      const view = await requests.extend(id, adminActor(res), { kind: 'admin' }, body);
      res.status(view.pendingExtension ? 202 : 200).json(view);
    },

    verifyAuditChain: async ({ query: { anchor } }, _req, res) => {
      res.json(await audit.verifyAudit(anchor ? [anchor] : []));
    },

    // Streamed page by page with backpressure: a slow reader holds one page, not the whole log.
    exportAudit: async ({ query: q }, req, res) => {
      const chunks = await audit.exportAudit(
        {
          format: q.format,
          ...(q.since ? { since: new Date(q.since).toISOString() } : {}),
          ...(q.until ? { until: new Date(q.until).toISOString() } : {}),
        },
        { kind: 'admin', id: adminOf(res).id },
      );
      const ext = q.format === 'csv' ? 'csv' : 'jsonl';
      res.setHeader('content-type', contentTypeOf(q.format));
      res.setHeader(
        'content-disposition',
        `attachment; filename="elevate-audit-${q.format}-${new Date().toISOString().replace(/[:.]/g, '-')}.${ext}"`,
      );
      try {
        await pipeline(Readable.from(chunks), res);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ERR_STREAM_PREMATURE_CLOSE') {
          // The client closed the connection first: nothing failed on this side.
          req.log.warn('audit export: the client closed the connection before the end');
          return;
        }
        // Past the headers an error cannot become a JSON answer: cut the connection, so the
        // client sees a truncated transfer instead of a complete-looking file.
        req.log.error({ err }, 'audit export failed part-way');
        res.destroy(err as Error);
      }
    },

    // Bots at runtime: lockdown, disable/enable, key rotation. Each change is audited with the
    // admin as actor; the policy file stays the source of which bots exist and what they may do.
    listBots: async (_input, _req, res) => {
      res.json({ items: await bots.listBots() });
    },

    getBot: async ({ params: { id } }, _req, res) => {
      res.json(await bots.getBot(id));
    },

    lockBot: async ({ params: { id }, body: { reason } }, _req, res) => {
      res.json(await bots.lockBot(id, adminActor(res), reason));
    },

    unlockBot: async ({ params: { id }, body: { reason } }, _req, res) => {
      res.json(await bots.unlockBot(id, adminActor(res), reason));
    },

    disableBot: async ({ params: { id }, body: { reason } }, _req, res) => {
      res.json(await bots.setBotDisabled(id, true, adminActor(res), reason));
    },

    enableBot: async ({ params: { id }, body: { reason } }, _req, res) => {
      res.json(await bots.setBotDisabled(id, false, adminActor(res), reason));
    },

    // The new key is in this answer and nowhere else: `cache-control: no-store` (set for every
    // answer) and `pragma: no-cache` keep it out of caches.
    rotateBotKey: async ({ params: { id }, body: { reason } }, _req, res) => {
      const rotation = await bots.rotateBotKey(id, adminActor(res), reason);
      res.setHeader('pragma', 'no-cache');
      res.json(rotation);
    },

    leastPrivilegeReport: async ({ query: { botId, quickReturnSeconds } }, _req, res) => {
      res.json(
        await leastPrivilege.report({
          ...(botId !== undefined ? { botId } : {}),
          ...(quickReturnSeconds !== undefined ? { quickReturnSeconds } : {}),
        }),
      );
    },
  };
}
