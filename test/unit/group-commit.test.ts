/** Group commit: what arrives together is committed together, in order, and failures stay with their unit. */
import { describe, expect, it } from 'vitest';
import { GroupCommit } from '../../store/group-commit.js';

/** A committer that records each transaction's units and fails any unit holding `'bad'`. */
function recorder() {
  const transactions: string[][][] = [];
  const commit = (units: readonly (readonly string[])[]) => {
    transactions.push(units.map((u) => [...u]));
    if (units.some((u) => u.includes('bad'))) return Promise.reject(new Error('refused'));
    return Promise.resolve(units.map((u) => u.map((item) => item.toUpperCase())));
  };
  return { transactions, commit };
}

describe('GroupCommit', () => {
  it('commits what is submitted in one turn as one transaction, each unit whole and in order', async () => {
    const { transactions, commit } = recorder();
    const group = new GroupCommit(commit);
    const results = await Promise.all([
      group.submit(['a', 'b']),
      group.submit(['c']),
      group.submit(['d', 'e']),
    ]);
    expect(results).toEqual([['A', 'B'], ['C'], ['D', 'E']]);
    expect(transactions).toEqual([[['a', 'b'], ['c'], ['d', 'e']]]);
  });

  it('gathers what arrives while a transaction runs into the next one', async () => {
    const transactions: string[][][] = [];
    let release: () => void = () => undefined;
    const group = new GroupCommit<string, string>(async (units) => {
      transactions.push(units.map((u) => [...u]));
      if (transactions.length === 1) await new Promise<void>((r) => (release = r));
      return units.map((u) => [...u]);
    });
    const first = group.submit(['1']);
    await new Promise((r) => setImmediate(r));
    const later = [group.submit(['2']), group.submit(['3'])];
    release();
    await Promise.all([first, ...later]);
    expect(transactions).toEqual([[['1']], [['2'], ['3']]]);
  });

  it('retries a failed batch unit by unit, so only the unit that cannot be stored fails', async () => {
    const { transactions, commit } = recorder();
    const group = new GroupCommit(commit);
    const outcomes = await Promise.allSettled([
      group.submit(['x']),
      group.submit(['bad']),
      group.submit(['y']),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(transactions).toEqual([[['x'], ['bad'], ['y']], [['x']], [['bad']], [['y']]]);
  });

  it('caps a transaction at maxBatchItems without splitting a unit', async () => {
    const { transactions, commit } = recorder();
    const group = new GroupCommit(commit, 3);
    await Promise.all([
      group.submit(['a', 'b']),
      group.submit(['c', 'd']),
      group.submit(['e']),
      group.submit(['f', 'g', 'h', 'i']),
    ]);
    expect(transactions.map((t) => t.map((u) => u.join('')))).toEqual([['ab'], ['cd', 'e'], ['fghi']]);
  });
});
