/** The console's verification of the audit chain: a confirmation form, then the result. */
import type { ConsoleArea, InputRefusal, PageHandler } from '../console-handler.js';
import { consoleVerifyFormSchema } from '../console-schemas.js';
import { html } from '../respond.js';
import type { ConsoleSessions } from '../session.js';
import { verifyConfirmPage, verifyResultPage } from '../views/audit-verify.js';

/** The verification's form and its action, by operationId. */
export function auditHandlers(
  sessions: ConsoleSessions,
): ConsoleArea<'consoleVerifyConfirmation' | 'consoleVerify'> {
  const { deps } = sessions;

  const consoleVerifyConfirmation: PageHandler<'consoleVerifyConfirmation'> = (
    _input,
    { user },
    _req,
    res,
  ) => {
    html(res, 200, verifyConfirmPage({ user }));
    return Promise.resolve();
  };

  const consoleVerify: PageHandler<'consoleVerify'> = async (
    { body: { anchor } },
    { user, actor },
    _req,
    res,
  ) => {
    let anchors: { position: number; hash: string }[] = [];
    if (anchor !== undefined) {
      // The schema's pattern is `<position>:<hash>`.
      const [position = '', hash = ''] = anchor.split(':');
      anchors = [{ position: Number(position), hash }];
    }
    const result = await deps.audit.verifyAudit(anchors);
    await sessions.audit('admin.action', null, actor, {
      action: 'verify_audit',
      via: 'console',
      anchors,
      ok: result.ok,
      checked: result.checked,
      head: result.head ?? null,
      firstBroken: result.firstBroken ?? null,
    });
    html(res, 200, verifyResultPage({ user, result }));
  };

  /** An anchor that is not one: the form again, saying why. */
  const refusedVerify: InputRefusal<'consoleVerify'> = (_params, { user }, req, res) => {
    const given = consoleVerifyFormSchema.shape.anchor.safeParse(
      (req.body as Record<string, unknown>).anchor,
    );
    const error = given.success ? 'Bad anchor.' : (given.error.issues[0]?.message ?? 'Bad anchor.');
    html(res, 400, verifyConfirmPage({ user, error }));
    return Promise.resolve();
  };

  return {
    handlers: { consoleVerifyConfirmation, consoleVerify },
    refused: { consoleVerify: refusedVerify },
  };
}
