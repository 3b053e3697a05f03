/** The console's bots: one bot's page with its history, and its lockdown and unlock (confirm, then act). */
import type { z } from 'zod';
import { ApiError } from '../../../domain/errors.js';
import type { ConsoleHandler, FormRefusal } from '../console-handler.js';
import type { consoleHistoryQuerySchema, consoleReasonFormSchema } from '../console-schemas.js';
import { formReason, pagerQuery } from '../forms.js';
import { html } from '../respond.js';
import { adminOf, sessionIn, userOf, type ConsoleSessions } from '../session.js';
import { botPage, lockConfirmPage } from '../views/bot.js';

/** A bot's page, its lockdown and its unlock, by operationId. */
export function botHandlers(sessions: ConsoleSessions, pageSize: number) {
  const { deps } = sessions;

  const consoleBot: ConsoleHandler = async (input, req, res) => {
    const id = input.params.id!;
    // A malformed pager is the first page (its query is then `{}`).
    const { cursor } = input.query as z.output<typeof consoleHistoryQuerySchema>;
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
        user: userOf(sessionIn(res)),
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
  };

  const confirmation =
    (act: 'lock' | 'unlock'): ConsoleHandler =>
    async (input, _req, res) => {
      const id = input.params.id!;
      await deps.bots.getBot(id); // 404 for a bot the policy does not have
      html(res, 200, lockConfirmPage({ user: userOf(sessionIn(res)), botId: id, action: act }));
    };

  const perform =
    (act: 'lock' | 'unlock'): ConsoleHandler =>
    async (input, _req, res) => {
      const id = input.params.id!;
      const s = sessionIn(res);
      await deps.bots.getBot(id);
      const { reason } = input.body as z.output<typeof consoleReasonFormSchema>;
      if (act === 'lock') await deps.bots.lockBot(id, adminOf(s), reason, { via: 'console' });
      else await deps.bots.unlockBot(id, adminOf(s), reason, { via: 'console' });
      res.redirect(303, `/admin/bots/${id}?notice=${act === 'lock' ? 'locked' : 'unlocked'}`);
    };

  /** A lockdown or unlock without a valid reason: the form again, saying why. */
  const refused =
    (act: 'lock' | 'unlock'): FormRefusal =>
    async (params, req, res) => {
      const id = params.id!;
      await deps.bots.getBot(id);
      const given = formReason(req);
      const error = 'problem' in given ? given.problem : 'Give a reason.';
      html(res, 400, lockConfirmPage({ user: userOf(sessionIn(res)), botId: id, action: act, error }));
    };

  return {
    handlers: {
      consoleBot,
      consoleLockConfirmation: confirmation('lock'),
      consoleLock: perform('lock'),
      consoleUnlockConfirmation: confirmation('unlock'),
      consoleUnlock: perform('unlock'),
    },
    refusedForms: { consoleLock: refused('lock'), consoleUnlock: refused('unlock') },
  };
}
