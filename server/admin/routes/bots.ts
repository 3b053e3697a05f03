/** The console's bots: one bot's page with its history, and its lockdown and unlock (confirm, then act). */
import type { Request, Response } from 'express';
import type { Actor } from '../../../core/model/elevation.js';
import { ApiError } from '../../../domain/errors.js';
import type { ConsoleArea, PageHandler } from '../console-handler.js';
import { formReason, pagerQuery } from '../forms.js';
import { html } from '../respond.js';
import type { ConsoleSessions } from '../session.js';
import { botPage, lockConfirmPage } from '../views/bot.js';
import type { PageUser } from '../views/layout.js';

type LockAct = 'lock' | 'unlock';

/** A bot's page, its lockdown and its unlock, by operationId. */
export function botHandlers(
  sessions: ConsoleSessions,
  pageSize: number,
): ConsoleArea<
  'consoleBot' | 'consoleLockConfirmation' | 'consoleLock' | 'consoleUnlockConfirmation' | 'consoleUnlock'
> {
  const { deps } = sessions;

  // A malformed pager is the first page (its query is then read as none).
  const consoleBot: PageHandler<'consoleBot'> = async (
    { params: { id }, query: { cursor, notice } },
    { user },
    req,
    res,
  ) => {
    const inPolicy = deps.policy.bots.some((b) => b.id === id);
    const summary = inPolicy ? await deps.bots.getBot(id) : undefined;
    const history = await deps.audit.list({ botId: id, limit: pageSize, ...(cursor ? { cursor } : {}) });
    if (!inPolicy && history.items.length === 0 && !cursor)
      throw new ApiError('not_found', `There is no bot ${id}.`);
    const lock = summary?.locked;
    html(
      res,
      200,
      botPage({
        user,
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
        notice,
      }),
    );
  };

  /** The form that locks or unlocks bot `id`. */
  const confirmation = async (act: LockAct, id: string, user: PageUser, res: Response) => {
    await deps.bots.getBot(id); // 404 for a bot the policy does not have
    html(res, 200, lockConfirmPage({ user, botId: id, action: act }));
  };

  const perform = async (act: LockAct, id: string, reason: string, actor: Actor, res: Response) => {
    await deps.bots.getBot(id);
    if (act === 'lock') await deps.bots.lockBot(id, actor, reason, { via: 'console' });
    else await deps.bots.unlockBot(id, actor, reason, { via: 'console' });
    res.redirect(303, `/admin/bots/${id}?notice=${act === 'lock' ? 'locked' : 'unlocked'}`);
  };

  /** A lockdown or unlock without a valid reason: the form again, saying why. */
  const refused = async (act: LockAct, id: string, user: PageUser, req: Request, res: Response) => {
    await deps.bots.getBot(id);
    const given = formReason(req);
    const error = 'problem' in given ? given.problem : 'Give a reason.';
    html(res, 400, lockConfirmPage({ user, botId: id, action: act, error }));
  };

  return {
    handlers: {
      consoleBot,
      consoleLockConfirmation: ({ params: { id } }, { user }, _req, res) =>
        confirmation('lock', id, user, res),
      consoleLock: ({ params: { id }, body: { reason } }, { actor }, _req, res) =>
        perform('lock', id, reason, actor, res),
      consoleUnlockConfirmation: ({ params: { id } }, { user }, _req, res) =>
        confirmation('unlock', id, user, res),
      consoleUnlock: ({ params: { id }, body: { reason } }, { actor }, _req, res) =>
        perform('unlock', id, reason, actor, res),
    },
    refused: {
      consoleLock: ({ id }, { user }, req, res) => refused('lock', id, user, req, res),
      consoleUnlock: ({ id }, { user }, req, res) => refused('unlock', id, user, req, res),
    },
  };
}
