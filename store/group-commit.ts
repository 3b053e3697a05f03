/**
 * Group commit: writes that arrive while others are being committed are committed together in
 * one transaction. A worker ending a burst of elevations
 * appends hundreds of audit events at once; one transaction each spends most of its time on
 * BEGIN/COMMIT (and on PostgreSQL, round trips under the chain-head lock), where one per batch
 * spends it once.
 *
 * Each caller's unit stays whole and in order: the units of a batch are committed in the order
 * they arrived, and a unit's items in its own order. If a batch fails, its units are committed
 * again one by one, so one unit that cannot be stored does not fail the others with it.
 */

/** Commits the items of several units, in order, in one transaction; returns each unit's results. */
export type CommitBatch<I, R> = (units: readonly (readonly I[])[]) => Promise<R[][]>;

interface Unit<I, R> {
  items: readonly I[];
  resolve: (results: R[]) => void;
  reject: (error: unknown) => void;
}

export class GroupCommit<I, R> {
  private queue: Unit<I, R>[] = [];
  private running = false;

  /**
   * @param commit        commits a batch in one transaction
   * @param maxBatchItems items in one transaction at most (a unit is never split)
   */
  constructor(
    private readonly commit: CommitBatch<I, R>,
    private readonly maxBatchItems = 500,
  ) {}

  /** Commits `items` as one unit (with whatever else is waiting) and returns their results. */
  submit(items: readonly I[]): Promise<R[]> {
    return new Promise<R[]>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      if (!this.running) {
        this.running = true;
        // Writes submitted in the same synchronous run join the first batch; what arrives while
        // it commits joins the next. No wait beyond that: a lone write is not held back.
        queueMicrotask(() => void this.drain());
      }
    });
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) await this.commitBatch(this.takeBatch());
    } finally {
      this.running = false;
    }
  }

  private takeBatch(): Unit<I, R>[] {
    let items = 0;
    let count = 0;
    while (count < this.queue.length) {
      const size = this.queue[count]!.items.length;
      if (count > 0 && items + size > this.maxBatchItems) break;
      items += size;
      count += 1;
    }
    return this.queue.splice(0, count);
  }

  private async commitBatch(batch: Unit<I, R>[]): Promise<void> {
    try {
      const results = await this.commit(batch.map((u) => u.items));
      batch.forEach((u, i) => u.resolve(results[i]!));
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error);
        return;
      }
      for (const unit of batch) await this.commitBatch([unit]);
    }
  }
}
