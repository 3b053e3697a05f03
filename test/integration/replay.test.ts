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

const root = path.resolve(import.meta.dirname, '..', 'histories');

/** Every path of the workflow, as each generation of histories recorded it. */
const PATHS = [
  'admin-revoked',
  'approval-expired',
  'auto-expired',
  'denied',
  'grant-failed',
  'quorum-approved-given-back',
  'revoke-retried',
  'withdrawn',
];

/**
 * The generations: histories recorded before requests and decisions were signed (still running
 * somewhere when the new code arrives), and after, which adds the paths signing brought.
 */
const GENERATIONS: Record<string, string[]> = {
  unsigned: PATHS,
  signed: [...PATHS, 'keys-reloaded', 'request-unverified'],
  // The reconciliation workflow (drift alerted and reverted), recorded before it searched for
  // orphaned leases and after (an orphan released).
  reconcile: ['before-orphaned-leases', 'orphaned-leases'],
};

const files = Object.keys(GENERATIONS).flatMap((generation) =>
  readdirSync(path.join(root, generation))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => path.join(generation, f)),
);

describe('workflow replay', () => {
  it('when the saved histories are listed, then every generation covers every path of the workflow', () => {
    expect(readdirSync(root).sort()).toEqual(Object.keys(GENERATIONS).sort());
    for (const [generation, paths] of Object.entries(GENERATIONS)) {
      const names = files.filter((f) => f.startsWith(`${generation}/`)).map((f) => path.basename(f, '.json'));
      expect(names, generation).toEqual([...paths].sort());
    }
  });

  it.each(files)(
    'when %s is replayed against the current workflow code, then it is deterministic',
    async (file) => {
      installTemporalLogging(testLogger());
      const history = historyFromJSON(JSON.parse(readFileSync(path.join(root, file), 'utf8')));
      await expect(
        Worker.runReplayHistory({ workflowBundle: { codePath: await workflowBundle() } }, history, file),
      ).resolves.toBeUndefined();
    },
  );
});
