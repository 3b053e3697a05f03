/**
 * Determinism: every saved history (test/histories, recorded by earlier code with
 * `npm run histories:record`) must replay against today's workflow code. A change that would
 * break running elevations fails here instead of in production.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { testLogger, workflowBundle } from '../support/stack.js';
import { installTemporalLogging } from '../../worker/create-worker.js';

const dir = path.resolve(import.meta.dirname, '..', 'histories');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .sort();

describe('workflow replay', () => {
  it('when the saved histories are listed, then every path of the workflow is covered', () => {
    expect(files.map((f) => f.replace(/\.json$/, ''))).toEqual([
      'admin-revoked',
      'approval-expired',
      'auto-expired',
      'denied',
      'grant-failed',
      'quorum-approved-given-back',
      'revoke-retried',
      'withdrawn',
    ]);
  });

  it.each(files)(
    'when %s is replayed against the current workflow code, then it is deterministic',
    async (file) => {
      installTemporalLogging(testLogger());
      const history = historyFromJSON(JSON.parse(readFileSync(path.join(dir, file), 'utf8')));
      await expect(
        Worker.runReplayHistory({ workflowBundle: { codePath: await workflowBundle() } }, history, file),
      ).resolves.toBeUndefined();
    },
  );
});
