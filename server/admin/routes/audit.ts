/** The console's verification of the audit chain: a confirmation form, then the result. */
import type { Router } from 'express';
import { consoleVerifyFormSchema } from '../console-schemas.js';
import { html } from '../respond.js';
import { adminOf, userOf, type ConsoleSessions } from '../session.js';
import { verifyConfirmPage, verifyResultPage } from '../views/audit-verify.js';

/** The verification's form and its action, on `router`. */
export function auditRoutes(router: Router, sessions: ConsoleSessions): void {
  const { deps, page, action } = sessions;

  router.get(
    '/admin/audit/verify',
    page((_req, res, s) => {
      html(res, 200, verifyConfirmPage({ user: userOf(s) }));
      return Promise.resolve();
    }),
  );

  router.post(
    '/admin/audit/verify',
    ...action(async (req, res, s) => {
      const given = consoleVerifyFormSchema.shape.anchor.safeParse(
        (req.body as Record<string, unknown>).anchor,
      );
      if (!given.success) {
        return html(
          res,
          400,
          verifyConfirmPage({ user: userOf(s), error: given.error.issues[0]?.message ?? 'Bad anchor.' }),
        );
      }
      let anchors: { position: number; hash: string }[] = [];
      if (given.data !== undefined) {
        const [position, hash] = given.data.split(':') as [string, string];
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
    }),
  );
}
