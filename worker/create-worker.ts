/**
 * The Temporal worker that runs elevation workflows and their activities.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime, Worker, type NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Activities } from '../activities/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Workflow code for the worker: the bundle `npm run build` made (fast start, same code every
 * start), or, when running from source (tests), the workflows folder bundled on the fly.
 */
export function workflowSource(): { workflowBundle: { codePath: string } } | { workflowsPath: string } {
  const bundle = path.resolve(here, '..', 'workflow-bundle.js');
  if (existsSync(bundle)) return { workflowBundle: { codePath: bundle } };
  const js = path.resolve(here, '..', 'workflows', 'index.js');
  return { workflowsPath: existsSync(js) ? js : path.resolve(here, '..', 'workflows', 'index.ts') };
}

let loggingInstalled = false;

/** Route the Temporal SDK's own log lines (including workflow `log.*`) into pino. Once per process. */
export function installTemporalLogging(logger: Logger): void {
  if (loggingInstalled) return;
  loggingInstalled = true;
  const temporal = logger.child({ component: 'temporal' });
  Runtime.install({
    logger: new DefaultLogger('INFO', ({ level, message, meta }) => {
      const fields = meta ?? {};
      switch (level) {
        case 'ERROR':
          temporal.error(fields, message);
          break;
        case 'WARN':
          temporal.warn(fields, message);
          break;
        case 'INFO':
          temporal.info(fields, message);
          break;
        default:
          temporal.debug(fields, message);
      }
    }),
  });
}

export interface ElevationWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  activities: Activities;
  /** Overrides {@link workflowSource} (tests share one bundle). */
  workflowBundlePath?: string;
}

export function createElevationWorker(opts: ElevationWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    activities: opts.activities,
    // Every new elevation's first task arrives on the non-sticky queue, which by default gets
    // only 2 of 10 pollers, so a burst of requests waited seconds before anything happened.
    // 10 of 20 pollers there measured best (docs/benchmarks.md).
    maxConcurrentWorkflowTaskPolls: 20,
    nonStickyToStickyPollRatio: 0.5,
    maxConcurrentWorkflowTaskExecutions: 100,
    ...(opts.workflowBundlePath
      ? { workflowBundle: { codePath: opts.workflowBundlePath } }
      : workflowSource()),
  });
}
