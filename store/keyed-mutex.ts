/**
 * Runs async functions one at a time per key, in arrival order. Waiting in process first means
 * a process sends at most one waiter per key to the database lock, which keeps connections
 * (PostgreSQL) and polling (SQLite) proportional to keys, not callers.
 */
export class KeyedMutex {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `fn` once every earlier caller with the same key has settled. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let done!: () => void;
    const mine = new Promise<void>((resolve) => (done = resolve));
    // Tails only ever resolve, so a failed holder never poisons the queue behind it.
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    await previous;
    try {
      return await fn();
    } finally {
      done();
      // Forget idle keys so the map does not grow with every key ever locked.
      if (this.tails.get(key) === tail) this.tails.delete(key);
    }
  }

  /** Keys with a holder or waiters (for tests and diagnostics). */
  get activeKeys(): number {
    return this.tails.size;
  }
}
