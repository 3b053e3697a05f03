/** The console's bots: one bot's page with its history, and its lockdown and unlock (confirm, then act). */
import type { Request, Router } from 'express';
import { ID_PATTERN } from '../../../config/policy.js';
import { ApiError } from '../../../domain/errors.js';
import { consoleHistoryQuerySchema } from '../console-schemas.js';
import { formReason, pagerQuery } from '../forms.js';
import { html } from '../respond.js';
import { adminOf, userOf, type ConsoleSessions } from '../session.js';
import { botPage, lockConfirmPage } from '../views/bot.js';

/** The bot id of the path, or 404. */
function botId(req: Request): string {
  const id = req.params.id;
  if (typeof id !== 'string' || !ID_PATTERN.test(id))
    throw new ApiError('not_found', 'There is no such bot.');
  return id;
}

/** A bot's page, its lockdown and its unlock, on `router`. */
export function botRoutes(router: Router, sessions: ConsoleSessions, pageSize: number): void {
  const { deps, page, action } = sessions;

  /** The page of the bot's elevations the pager asks for (a malformed pager: the first). */
  const botHistory = async (req: Request, id: string) => {
    const parsed = consoleHistoryQuerySchema.safeParse(req.query);
    const cursor = parsed.success ? parsed.data.cursor : undefined;
    return {
      cursor,
      page: await deps.audit.list({ botId: id, limit: pageSize, ...(cursor ? { cursor } : {}) }),
    };
  };

  router.get(
    '/admin/bots/:id',
    page(async (req, res, s) => {
      const id = botId(req);
      const inPolicy = deps.policy.bots.some((b) => b.id === id);
      const summary = inPolicy ? await deps.bots.getBot(id) : undefined;
      const { cursor, page: history } = await botHistory(req, id);
      if (!inPolicy && history.items.length === 0 && !cursor)
        throw new ApiError('not_found', `There is no bot ${id}.`);
      const lock = summary?.locked;
      html(
        res,
        200,
        botPage({
          user: userOf(s),
          botId: id,
          policy: deps.policy,
          ...(summary
            ? {
                state: {
                  locked: Boolean(lock),
                  ...(lock ? { detail: `by ${lock.by} at ${lock.at}: ${lock.reason}` } : {}),
                },
              }
            : {}),
          canLock: inPolicy,
          items: history.items,
          query: pagerQuery(req),
          ...(history.nextCursor ? { nextCursor: history.nextCursor } : {}),
          onFirst: !cursor,
          notice: req.query.notice,
        }),
      );
    }),
  );

  for (const act of ['lock', 'unlock'] as const) {
    router.get(
      `/admin/bots/:id/${act}`,
      page(async (req, res, s) => {
        const id = botId(req);
        await deps.bots.getBot(id); // 404 for a bot the policy does not have
        html(res, 200, lockConfirmPage({ user: userOf(s), botId: id, action: act }));
      }),
    );
    router.post(
      `/admin/bots/:id/${act}`,
      ...action(async (req, res, s) => {
        const id = botId(req);
        await deps.bots.getBot(id);
        const given = formReason(req);
        if ('problem' in given) {
          return html(
            res,
            400,
            lockConfirmPage({ user: userOf(s), botId: id, action: act, error: given.problem }),
          );
        }
        if (act === 'lock') await deps.bots.lockBot(id, adminOf(s), given.reason, { via: 'console' });
        else await deps.bots.unlockBot(id, adminOf(s), given.reason, { via: 'console' });
        res.redirect(303, `/admin/bots/${id}?notice=${act === 'lock' ? 'locked' : 'unlocked'}`);
      }),
    );
  }
}
