/** The console's verification of the audit chain: a confirmation form, then the result. */
import type { z } from 'zod';
import type { ConsoleHandler, FormRefusal } from '../console-handler.js';
import { consoleVerifyFormSchema } from '../console-schemas.js';
import { html } from '../respond.js';
import { adminOf, sessionIn, userOf, type ConsoleSessions } from '../session.js';
import { verifyConfirmPage, verifyResultPage } from '../views/audit-verify.js';

/** The verification's form and its action, by operationId. */
export function auditHandlers(sessions: ConsoleSessions) {
  const { deps } = sessions;

  const consoleVerifyConfirmation: ConsoleHandler = (_input, _req, res) => {
    html(res, 200, verifyConfirmPage({ user: userOf(sessionIn(res)) }));
    return Promise.resolve();
  };

  const consoleVerify: ConsoleHandler = async (input, _req, res) => {
    const s = sessionIn(res);
    const given = (input.body as z.output<typeof consoleVerifyFormSchema>).anchor;
    let anchors: { position: number; hash: string }[] = [];
    if (given !== undefined) {
      const [position, hash] = given.split(':') as [string, string];
      anchors = [{ position: Number(position), hash }];
    }
    const result = await deps.audit.verifyAudit(anchors);
    await sessions.audit('admin.action', null, adminOf(s), {
      action: 'verify_audit',
      via: 'console',
      anchors,
      ok: result.ok,
      checked: result.checked,
      head: result.head ?? null,
      firstBroken: result.firstBroken ?? null,
    });
    html(res, 200, verifyResultPage({ user: userOf(s), result }));
  };

  /** An anchor that is not one: the form again, saying why. */
  const refusedVerify: FormRefusal = (_params, req, res) => {
    const given = consoleVerifyFormSchema.shape.anchor.safeParse(
      (req.body as Record<string, unknown>).anchor,
    );
    const error = given.success ? 'Bad anchor.' : (given.error.issues[0]?.message ?? 'Bad anchor.');
    html(res, 400, verifyConfirmPage({ user: userOf(sessionIn(res)), error }));
    return Promise.resolve();
  };

  return {
    handlers: { consoleVerifyConfirmation, consoleVerify },
    refusedForms: { consoleVerify: refusedVerify },
  };
}
