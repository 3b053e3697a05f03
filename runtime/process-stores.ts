/**
 * The stores of an API or worker process: one database, its rows checked against the audit
 * checkpoint key. Both processes open them the same way (they must share the database).
 */
import type { Logger } from 'pino';
import type { Settings } from '../config/settings.js';
import { storeIntegrity } from '../core/crypto/audit-checkpoints.js';
import { openStores, type Stores } from '../store/stores.js';

export async function openProcessStores(
  settings: Pick<Settings, 'audit'> & Partial<Pick<Settings, 'auditCheckpoints'>>,
  logger: Logger,
): Promise<Stores> {
  const checkpoints = settings.auditCheckpoints;
  if (!checkpoints?.signingKey) {
    logger.warn(
      checkpoints?.publicKeys?.length
        ? 'ELEVATE_AUDIT_CHECKPOINT_KEY is not set: this process verifies checkpoints but writes none, and its single-use records and bot state carry no MAC (set the same key in every process that appends)'
        : 'ELEVATE_AUDIT_CHECKPOINT_KEY is not set: the audit chain is not anchored (verify says "not anchored"), and single-use records and bot state are not MACed; anyone who can write the database can rewrite them undetected (make a key with: elevate keygen --checkpoint-key <folder>)',
    );
  }
  const tamperLog = logger.child({ component: 'audit-store' });
  return openStores({
    ...settings.audit,
    integrity: storeIntegrity({
      ...(checkpoints?.signingKey ? { signingKey: checkpoints.signingKey } : {}),
      ...(checkpoints?.publicKeys ? { publicKeys: checkpoints.publicKeys } : {}),
      ...(checkpoints?.previousKeys ? { previousKeys: checkpoints.previousKeys } : {}),
      ...(checkpoints ? { every: checkpoints.every, intervalSeconds: checkpoints.intervalSeconds } : {}),
      // The row is treated as absent (or its bot quarantined); this is the alarm.
      onTamper: (report) =>
        tamperLog.error(
          { event: 'store.tampered', ...report },
          `a ${report.table} row failed its integrity check and was refused: someone wrote the database without the key`,
        ),
    }),
  });
}
