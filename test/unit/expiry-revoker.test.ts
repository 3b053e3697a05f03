/**
 * The expiry revoker's own rules, with a release that records what it was asked and a fake
 * clock: it removes at the window's end and not before, batches what ends together (bounded),
 * hands each receipt over once, and leaves failures (and timers it never fired) to the workflow.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExpiryRevoker } from '../../domain/expiry-revoker.js';
import type { ReleaseRequest } from '../../core/ports/activities.js';
import type { RevokeReceipt } from '../../core/model/elevation.js';
import { releaseRequestOf, removedReceipt } from '../support/revoker-fixtures.js';

const requestOf = (id: string) => releaseRequestOf(id);
const receiptOf = removedReceipt;

// The clock and timers are fake; `setImmediate` stays real (the revoker starts a batch once the
// timers of one turn have fired), so `tick` lets it run after moving the clock. Fake timers fire
// one by one with the event loop turning between them, so in these tests windows that end at
// the same instant gather only behind a batch under way, as they do in a loaded worker.
beforeEach(() => {
  vi.useFakeTimers({
    now: Date.parse('2026-12-07T04:00:00Z'),
    toFake: ['setTimeout', 'clearTimeout', 'Date'],
  });
});
const tick = async (ms: number) => {
  await vi.advanceTimersByTimeAsync(ms);
  await new Promise((resolve) => setImmediate(resolve));
  await vi.advanceTimersByTimeAsync(0);
};
afterEach(() => {
  vi.useRealTimers();
});

/** Batches answered one request at a time (the revoker's `releaseMany` from a single release). */
const eachOf =
  (release: (req: ReleaseRequest) => Promise<RevokeReceipt>) =>
  (reqs: ReleaseRequest[]): Promise<(RevokeReceipt | Error)[]> =>
    Promise.all(reqs.map((req) => release(req).catch((err: Error) => err)));

/**
 * A release that answers each batch when the test says (by the batch's first elevation id), and
 * remembers the batches it was asked, in order.
 */
function controlledRelease() {
  const batches: string[][] = [];
  const waiting = new Map<string, { resolve: () => void; reject: (err: Error) => void }>();
  const releaseMany = (reqs: ReleaseRequest[]) =>
    new Promise<(RevokeReceipt | Error)[]>((resolve, reject) => {
      batches.push(reqs.map((r) => r.elevationId));
      waiting.set(reqs[0]!.elevationId, {
        resolve: () => resolve(reqs.map((req) => receiptOf(req, Date.now()))),
        reject,
      });
    });
  return { batches, asked: () => batches.flat(), waiting, releaseMany };
}

describe('expiry revoker', () => {
  it('when a window ends, then its grant is released in that turn of the event loop and not a millisecond before', async () => {
    const released: string[] = [];
    const revoker = new ExpiryRevoker({
      releaseMany: eachOf((req) => {
        released.push(req.elevationId);
        return Promise.resolve(receiptOf(req, Date.now()));
      }),
    });
    revoker.schedule(requestOf('e1'), Date.now() + 5_000);
    await tick(4_999);
    expect(released).toEqual([]);
    expect(revoker.pending).toBe(1);
    await tick(1);
    expect(released).toEqual(['e1']);
    expect(revoker.pending).toBe(0);
  });

  it('when windows end while a batch is under way, then they wait and go together, at most `maxBatch` at a time', async () => {
    const { batches, waiting, releaseMany } = controlledRelease();
    const revoker = new ExpiryRevoker({ releaseMany, concurrency: 1, maxBatch: 3 });
    revoker.schedule(requestOf('a'), Date.now() + 1_000);
    for (const id of ['b', 'c', 'd', 'e']) revoker.schedule(requestOf(id), Date.now() + 1_200);
    await tick(1_000);
    expect(batches).toEqual([['a']]);
    await tick(500);
    expect(batches).toEqual([['a']]);
    waiting.get('a')!.resolve();
    await tick(0);
    expect(batches).toEqual([['a'], ['b', 'c', 'd']]);
    waiting.get('b')!.resolve();
    await tick(0);
    expect(batches).toEqual([['a'], ['b', 'c', 'd'], ['e']]);
  });

  it('when one removal of a batch fails, then only that one is left to the workflow', async () => {
    const failed: string[] = [];
    const revoker = new ExpiryRevoker({
      releaseMany: (reqs) =>
        Promise.resolve(
          reqs.map((req) => (req.elevationId === 'bad' ? new Error('refused') : receiptOf(req, Date.now()))),
        ),
      onFailed: (req) => failed.push(req.elevationId),
    });
    for (const id of ['good', 'bad']) revoker.schedule(requestOf(id), Date.now() + 10);
    await tick(10);
    expect(failed).toEqual(['bad']);
    expect(await revoker.settled('bad')).toBeUndefined();
    expect(await revoker.settled('good')).toMatchObject({ removed: true });
  });

  it('when the workflow revokes while the removal is in flight, then it waits for it and gets its receipt once', async () => {
    const { waiting, releaseMany } = controlledRelease();
    const revoker = new ExpiryRevoker({ releaseMany });
    revoker.schedule(requestOf('e1'), Date.now() + 10);
    await tick(10);
    let settled: RevokeReceipt | undefined | 'waiting' = 'waiting';
    const asking = revoker.settled('e1').then((r) => (settled = r));
    await tick(0);
    expect(settled).toBe('waiting');
    waiting.get('e1')!.resolve();
    await asking;
    expect(settled).toMatchObject({ removed: true, principal: requestOf('e1').principal });
    expect(await revoker.settled('e1')).toBeUndefined();
  });

  it('when the workflow revokes before the window ends, then the timer is dropped and nothing is released here', async () => {
    const { asked, releaseMany } = controlledRelease();
    const revoker = new ExpiryRevoker({ releaseMany });
    revoker.schedule(requestOf('e1'), Date.now() + 1_000);
    expect(await revoker.settled('e1')).toBeUndefined();
    await tick(5_000);
    expect(asked()).toEqual([]);
  });

  it('when a removal fails, then it is reported, tried again within a second until it succeeds, and the receipt kept', async () => {
    const failed: string[] = [];
    const tries: number[] = [];
    let down = true;
    const revoker = new ExpiryRevoker({
      releaseMany: eachOf((req) => {
        tries.push(Date.now());
        return down ? Promise.reject(new Error('LDAP is down')) : Promise.resolve(receiptOf(req, Date.now()));
      }),
      onFailed: (req, err) => failed.push(`${req.elevationId}: ${(err as Error).message}`),
    });
    const end = Date.now() + 10;
    revoker.schedule(requestOf('e1'), end);
    await tick(10);
    expect(failed).toEqual(['e1: LDAP is down']);
    await tick(5_000);
    // 250 ms, 500 ms, then every second: never a longer pause, however long it is down.
    expect(tries.slice(0, 4).map((t) => t - end)).toEqual([0, 250, 750, 1_750]);
    expect(tries.at(-1)! - tries.at(-2)!).toBe(1_000);
    down = false;
    await tick(1_000);
    expect(await revoker.settled('e1')).toMatchObject({ removed: true });
  });

  it('when the workflow asks while a removal keeps failing, then the revoker goes on trying until the workflow says it is done', async () => {
    let tries = 0;
    const revoker = new ExpiryRevoker({
      releaseMany: () => {
        tries += 1;
        return Promise.reject(new Error('LDAP is down'));
      },
    });
    revoker.schedule(requestOf('e1'), Date.now() + 10);
    await tick(10);
    expect(await revoker.settled('e1')).toBeUndefined();
    const asked = tries;
    await tick(3_000);
    expect(tries).toBeGreaterThan(asked);
    revoker.forget('e1');
    const forgotten = tries;
    await tick(10_000);
    expect(tries).toBe(forgotten);
    expect(revoker.pending).toBe(0);
  });

  it('when a grant is scheduled again (a retried grant), then only the latest expiry counts', async () => {
    const released: number[] = [];
    const revoker = new ExpiryRevoker({
      releaseMany: eachOf((req) => {
        released.push(Date.now());
        return Promise.resolve(receiptOf(req, Date.now()));
      }),
    });
    const start = Date.now();
    revoker.schedule(requestOf('e1'), start + 1_000);
    revoker.schedule(requestOf('e1'), start + 3_000);
    await tick(5_000);
    expect(released).toEqual([start + 3_000]);
  });

  it('when an expiry lies beyond what one Node.js timer can wait, then it is re-armed and still fires on time', async () => {
    const released: number[] = [];
    const revoker = new ExpiryRevoker({
      releaseMany: eachOf((req) => {
        released.push(Date.now());
        return Promise.resolve(receiptOf(req, Date.now()));
      }),
    });
    const due = Date.now() + 30 * 24 * 3600_000; // 30 days: more than 2^31-1 ms
    revoker.schedule(requestOf('e1'), due);
    await tick(2 ** 31 - 1);
    expect(released).toEqual([]);
    await tick(due - Date.now());
    expect(released).toEqual([due]);
  });

  it('when a receipt is never asked for, then it is dropped after the keep time', async () => {
    const revoker = new ExpiryRevoker({
      releaseMany: eachOf((req) => Promise.resolve(receiptOf(req, Date.now()))),
      keepReceiptsMs: 60_000,
    });
    revoker.schedule(requestOf('old'), Date.now() + 10);
    await tick(10);
    await tick(61_000);
    revoker.schedule(requestOf('new'), Date.now() + 10);
    await tick(10);
    expect(await revoker.settled('old')).toBeUndefined();
    expect(await revoker.settled('new')).toMatchObject({ removed: true });
  });

  it('when stopped, then no timer fires afterwards and a removal in flight finishes first', async () => {
    const { asked, waiting, releaseMany } = controlledRelease();
    const revoker = new ExpiryRevoker({ releaseMany });
    revoker.schedule(requestOf('running'), Date.now() + 10);
    revoker.schedule(requestOf('later'), Date.now() + 1_000);
    await tick(10);
    let stopped = false;
    const stopping = revoker.stop().then(() => (stopped = true));
    await tick(0);
    expect(stopped).toBe(false);
    waiting.get('running')!.resolve();
    await stopping;
    await tick(5_000);
    expect(asked()).toEqual(['running']);
  });
});
