/**
 * The last resort of a long-running `elevate` process: a promise rejected with nobody
 * listening, or an exception nothing caught, is a bug somewhere (ours or a library's). Node's
 * default is to exit on the spot, which in `elevate start` also leaves the Temporal dev
 * server and slapd running and stops revocations until someone notices. Instead the fault is
 * logged and the process stops in order, the way SIGTERM stops it (the API drains, the worker
 * lets running activities finish, children are stopped), then exits 1 so a supervisor
 * restarts it.
 */

/** Options of {@link installLastResort}; the defaults are the real process's. */
export interface LastResortOptions {
  /** Where the fault is told (default: standard error). */
  write?: (text: string) => void;
  /** How the process ends (default: `process.exit`). */
  exit?: (code: number) => void;
  /** Longest the orderly stop may take before the process exits anyway (default 120 000 ms). */
  forceAfterMs?: number;
}

/** The installed handlers. */
export interface LastResort {
  /** What stops the process in order, once there is something to stop (the same as SIGTERM's). */
  stopWith(stop: () => Promise<void>): void;
  /** Removes the handlers (tests). */
  uninstall(): void;
}

/** Installs the handlers for `unhandledRejection` and `uncaughtException`. */
export function installLastResort(opts: LastResortOptions = {}): LastResort {
  const write = opts.write ?? ((text: string) => void process.stderr.write(text));
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  const forceAfterMs = opts.forceAfterMs ?? 120_000;
  let stop: (() => Promise<void>) | undefined;
  let faulted = false;

  const onFault = (kind: string) => (err: unknown) => {
    write(`elevate: ${kind}: ${describe(err)}\n`);
    if (faulted) return; // already stopping because of an earlier fault
    faulted = true;
    if (!stop) {
      write('elevate: exiting (nothing was running yet)\n');
      exit(1);
      return;
    }
    write('elevate: stopping in order, then exiting 1\n');
    const force = setTimeout(() => {
      write(`elevate: did not stop within ${Math.round(forceAfterMs / 1000)} s: exiting now\n`);
      exit(1);
    }, forceAfterMs);
    force.unref();
    stop().then(
      () => {
        clearTimeout(force);
        write('elevate: stopped after the fault above\n');
        exit(1);
      },
      (stopErr: unknown) => {
        clearTimeout(force);
        write(`elevate: error while stopping: ${describe(stopErr)}\n`);
        exit(1);
      },
    );
  };
  const onRejection = onFault('unhandled promise rejection');
  const onException = onFault('uncaught exception');
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return {
    stopWith(s) {
      stop = s;
    },
    uninstall() {
      process.off('unhandledRejection', onRejection);
      process.off('uncaughtException', onException);
    },
  };
}

/** The error's stack (or message), on one line per frame; never the whole object. */
function describe(err: unknown): string {
  if (err instanceof Error) return err.stack ?? `${err.name}: ${err.message}`;
  return String(err);
}
