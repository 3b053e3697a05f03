/**
 * The API and the worker in one process (`elevate start`, the benchmark): one set of stores, one
 * Temporal connection, one logger and one set of metrics, with both halves added on top.
 */
import type { Worker } from '@temporalio/worker';
import { installTemporalLogging } from '../worker/create-worker.js';
import { addApi, apiFederation, checkApiSettings } from './api.js';
import {
  checkProcessSettings,
  openProcess,
  runningProcess,
  type ProcessOptions,
  type RunningProcess,
} from './process.js';
import { ldapUses } from './targets.js';
import { addWorker, checkWorkerSettings } from './worker.js';

export type ApiAndWorkerProcess = RunningProcess & { url: string; worker: Worker };

/** Start the API and the worker together; `close()` stops the API first, then the worker. */
export async function startApiAndWorker(options: ProcessOptions): Promise<ApiAndWorkerProcess> {
  const { settings, policy, logger } = options;
  checkProcessSettings(options, ldapUses(policy, settings.adminConsole, { api: true, worker: true }));
  checkApiSettings(settings);
  checkWorkerSettings(settings);
  // Before the first native connection: Temporal's runtime is set up once per process.
  installTemporalLogging(logger);
  const core = await openProcess(options, { nativeConnection: true, ...apiFederation(policy, logger) });
  return core.shutdown.guard(async () => {
    // The worker first: it stops after the API has drained (stopping runs in reverse).
    const worker = await addWorker(core);
    // The worker's checks are this process's own (and its LDAP is the target, not the directory).
    const url = await addApi(core, worker.healthChecks);
    return runningProcess(
      core,
      { url, worker: worker.worker, ...(worker.target ? { target: worker.target } : {}) },
      () => worker.forcedStop,
    );
  });
}
