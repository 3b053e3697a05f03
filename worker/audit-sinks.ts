/**
 * The worker's end of the workflow sinks ({@link ElevateSinks}): what an update validator
 * refused because its signature did not hold is written to the audit trail here, outside the
 * sandbox. Sinks are one-way and not retried by Temporal, so the write retries for a while by
 * itself and logs loudly if the store stays down.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { InjectedSinks } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { AuditLog } from '../store/audit-log.js';
import type { DecisionRefusalRecord } from '../core/model/decisions.js';
import type { ElevateSinks } from '../workflows/definitions.js';

/** Attempts to store one refused decision before it is given up (and logged as lost). */
const ATTEMPTS = 8;

export function auditSinks(
  store: Pick<AuditLog, 'append'>,
  logger: Logger,
  onRefused?: (refusal: DecisionRefusalRecord) => void,
): InjectedSinks<ElevateSinks> {
  return {
    audit: {
      decisionRefused: {
        // A refusal happens once, live; replaying history must not record it again.
        callDuringReplay: false,
        fn: (_info, elevationId, refusal) => {
          onRefused?.(refusal);
          const event = {
            id: randomUUID(),
            elevationId,
            type: 'decision.refused' as const,
            at: refusal.at,
            actor: { kind: 'anonymous' as const, id: 'temporal' },
            data: { ...refusal },
          };
          void (async () => {
            for (let attempt = 1; ; attempt++) {
              try {
                await store.append(event);
                return;
              } catch (err) {
                if (attempt >= ATTEMPTS) {
                  logger.error(
                    { elevationId, refusal, err: (err as Error).message },
                    'could not record a refused decision in the audit store',
                  );
                  return;
                }
                await sleep(Math.min(200 * 2 ** attempt, 10_000));
              }
            }
          })();
        },
      },
    },
  };
}
