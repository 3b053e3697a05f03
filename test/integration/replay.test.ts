/**
 * Determinism: every saved history (test/histories, recorded by earlier code with
 * `npm run histories:record`) must replay against today's workflow code. A change that would
 * break running elevations fails here instead of in production.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils.js';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
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

/** The paths signing brought. */
const SIGNED_PATHS = ['keys-reloaded', 'request-unverified'];

/** A revocation that continued as new: the run that handed it over, and the run that finished it. */
const CONTINUED_PATHS = ['revoke-continued-as-new', 'revoke-carried-on'];

/** Every path once the request lifecycle grew (extend, schedule, reminders, break-glass, bundles). */
const LIFECYCLE_PATHS = [
  ...PATHS,
  ...SIGNED_PATHS,
  ...CONTINUED_PATHS,
  'risk-escalated',
  'risk-denied',
  'extended-expired',
  'scheduled-granted',
  'scheduled-withdrawn',
  'reminded-escalated-approved',
  'break-glass-reviewed-expired',
  'break-glass-review-confirmed',
  'break-glass-review-missed',
  'bundle-granted-expired',
  'bundle-partial-failed',
];

/**
 * The generations: histories recorded before requests and decisions were signed (still running
 * somewhere when the new code arrives), after (which adds the paths signing brought), and after
 * the workflow's state moved into a class (`workflows/elevation-state.ts`), which must not have
 * changed a command. The `signed` generation's continue-as-new runs were recorded later from the
 * same code (commit 426ab8d, before that move), so that path is pinned from both sides too.
 */
const GENERATIONS: Record<string, string[]> = {
  unsigned: PATHS,
  signed: [...PATHS, ...SIGNED_PATHS, ...CONTINUED_PATHS],
  'state-class': [...PATHS, ...SIGNED_PATHS, ...CONTINUED_PATHS],
  // The reconciliation workflow (drift alerted and reverted), recorded before it searched for
  // orphaned leases and after (an orphan released).
  reconcile: ['before-orphaned-leases', 'orphaned-leases'],
  // After requests were scored before routing: every path again, and the two the score brought
  // (an automatic role escalated to the security group; a critical request denied, with a lockdown).
  'risk-scored': [...PATHS, ...SIGNED_PATHS, ...CONTINUED_PATHS, 'risk-escalated', 'risk-denied'],
  // After the worker's expiry revoker: the window ends at the grant receipt's `expiresAt`, and
  // `revoke.started` is stored with the revocation's outcome (or its first failure).
  'expiry-revoker': [...PATHS, ...SIGNED_PATHS, ...CONTINUED_PATHS, 'risk-escalated', 'risk-denied'],
  // After the request lifecycle grew: an elevation extended (twice) and expiring at its new end,
  // scheduled for a later start (granted then, or withdrawn before), approvers reminded and the
  // escalation group asked, and break-glass (reviewed in time, with the review workflow's own
  // history, or the review missed and the window cut short), and a bundle of roles (granted and
  // expired together, or one grant failed and the one before it revoked).
  'request-lifecycle': LIFECYCLE_PATHS,
  // After extensions could go back to the approvers: one approved, one denied and the next
  // closed at its deadline, one still waiting when the window ended.
  'extension-approval': [
    ...LIFECYCLE_PATHS,
    'extension-approved-expired',
    'extension-denied-lapsed',
    'extension-lapsed-at-end',
  ],
};

const files = Object.keys(GENERATIONS).flatMap((generation) =>
  readdirSync(path.join(root, generation))
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => path.join(generation, f)),
);

/** The workflow bundle, built once for every replay (webpack takes seconds). */
let code: string;

beforeAll(async () => {
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  installTemporalLogging(logger);
  ({ code } = await bundleWorkflowCode({
    workflowsPath: path.resolve(import.meta.dirname, '../../workflows/index.ts'),
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error: console.error, log() {} },
  }));
}, 120_000);

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
      const history = historyFromJSON(JSON.parse(readFileSync(path.join(root, file), 'utf8')));
      await expect(
        Worker.runReplayHistory({ workflowBundle: { code } }, history, file),
      ).resolves.toBeUndefined();
    },
  );
});
