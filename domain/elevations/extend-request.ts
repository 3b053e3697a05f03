/**
 * Extending an active elevation, for the bot API and the admin API alike: the extension is sent,
 * signed, to the elevation's workflow as the `extend` Update, which decides by the role's rule
 * as the elevation started with it (`core/rules/extend.ts`). The API does not decide first: the
 * summary it could read may lag the workflow (an elevation granted a moment ago still reads
 * `approved`), and a refused Update never enters history, so asking costs one round trip.
 */
import type { Actor, ElevationView } from '../../core/model/elevation.js';
import { AuditedRefusal } from '../errors.js';
import type { Scope } from '../scope.js';
import type { AuditService } from '../audit/audit-service.js';
import { isGone, type DecisionSender } from './decision-sender.js';
import type { ElevationReader } from './elevation-reader.js';
import type { DeliveryContext } from './request-service.js';

/** What an extension asks for (the body of `POST …/extend`). */
export interface ExtendRequest {
  durationSeconds: number;
  justification: string;
}

export interface ExtendDeps {
  reader: Pick<ElevationReader, 'get' | 'find'>;
  decisions: Pick<DecisionSender, 'decide' | 'refusalOrUnavailable'>;
  refusals: Pick<AuditService, 'recordRefusal'>;
}

/**
 * Extend elevation `id`, if `scope` may see it (else `not_found`), for `by`. Answers with the
 * view once the new end is in force; a refusal is recorded as `extend.refused` and thrown with
 * its code (`not_active`, `already_ended`, `extension_not_allowed`, `extension_too_long`,
 * `too_many_extensions`, `extension_in_progress`).
 */
export async function extendElevation(
  deps: ExtendDeps,
  id: string,
  by: Actor,
  scope: Scope,
  req: ExtendRequest,
  context: DeliveryContext = {},
): Promise<ElevationView> {
  await deps.reader.get(id, scope);
  const asked = { durationSeconds: req.durationSeconds, justification: req.justification, ...context };
  try {
    return await deps.decisions.decide(id, 'extend', {
      by,
      durationSeconds: req.durationSeconds,
      justification: req.justification,
    });
  } catch (err) {
    if (isGone(err)) {
      const view = await deps.reader.find(id);
      const receipt = await deps.refusals.recordRefusal('extend.refused', id, by, {
        code: 'already_ended',
        status: view?.status ?? null,
        ...asked,
      });
      throw new AuditedRefusal(
        receipt,
        'already_ended',
        `elevation ${id} has already ended (${view?.status ?? 'unknown'})`,
      );
    }
    throw await deps.decisions.refusalOrUnavailable(err, 'extend.refused', id, by, asked);
  }
}
