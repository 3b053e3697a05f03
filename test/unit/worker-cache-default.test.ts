/**
 * The worker's sticky cache when `ELEVATE_WORKER_MAX_CACHED_WORKFLOWS` is unset: sized from the
 * heap limit, within bounds, so a worker holding tens of thousands of active elevations does not
 * keep them all in memory.
 */
import { describe, expect, it } from 'vitest';
import { defaultMaxCachedWorkflows } from '../../worker/create-worker.js';

const MiB = 2 ** 20;

describe('default workflow cache', () => {
  it('when the heap is small, then the cache gets one workflow per 2 MiB of it, at least 100', () => {
    expect(defaultMaxCachedWorkflows(512 * MiB)).toBe(256);
    expect(defaultMaxCachedWorkflows(64 * MiB)).toBe(100);
  });

  it('when the heap is large, then the cache stops at 1,000 workflows', () => {
    expect(defaultMaxCachedWorkflows(4144 * MiB)).toBe(1_000);
    expect(defaultMaxCachedWorkflows(64 * 1024 * MiB)).toBe(1_000);
  });
});
