/**
 * What a process stops when it stops, in the reverse of the order it started them: the API
 * drains its requests before the worker lets its activities finish, and both before the
 * connections they use close.
 */
import type { Logger } from 'pino';

export class Shutdown {
  /** Aborted when the process starts to stop: the API drains, every probe says not ready. */
  readonly draining = new AbortController();
  private readonly steps: (() => Promise<void>)[] = [];

  constructor(private readonly logger: Logger) {}

  /** Run `step` when stopping, before every step added earlier. */
  add(step: () => Promise<void>): void {
    this.steps.push(step);
  }

  /** Stop everything added, newest first; a step that fails is logged and the rest still run. */
  async close(): Promise<void> {
    this.draining.abort();
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch (err) {
        this.logger.warn({ err: (err as Error).message }, 'error while stopping');
      }
    }
  }

  /** Run `start`; if it throws, stop what it had started before passing the error on. */
  async guard<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start();
    } catch (err) {
      await this.close();
      throw err;
    }
  }
}
