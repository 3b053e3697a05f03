/**
 * The SQLite store's statement cache: the same SQL text gets the statement made last time, a
 * statement still being iterated is not handed out again, and the cache keeps the most recently
 * used texts only.
 */
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { withStatementCache } from '../../store/sqlite-statement-cache.js';

function db() {
  const raw = new Database(':memory:');
  raw.exec('CREATE TABLE t (n INTEGER)');
  raw.exec('INSERT INTO t VALUES (1), (2), (3)');
  return raw;
}

describe('withStatementCache', () => {
  it('when the same SQL is prepared twice, then the second gets the first statement and it runs again', () => {
    const cached = withStatementCache(db());
    const a = cached.prepare('SELECT n FROM t WHERE n >= ?');
    expect(a.all([2])).toEqual([{ n: 2 }, { n: 3 }]);
    const b = cached.prepare('SELECT n FROM t WHERE n >= ?');
    expect(b).toBe(a);
    expect(b.all([3])).toEqual([{ n: 3 }]);
    expect(cached.prepare('SELECT n FROM t WHERE n < ?')).not.toBe(a);
  });

  it('when a statement is still being iterated, then the same SQL gets another statement', () => {
    const cached = withStatementCache(db());
    const sql = 'SELECT n FROM t ORDER BY n';
    const iterating = cached.prepare(sql).iterate();
    expect(iterating.next().value).toEqual({ n: 1 });
    const other = cached.prepare(sql);
    expect(other.busy).toBe(false);
    expect(other.all()).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
    expect([...iterating]).toEqual([{ n: 2 }, { n: 3 }]);
  });

  it('when more texts than the limit are prepared, then the least recently used is made afresh', () => {
    const cached = withStatementCache(db(), 2);
    const one = cached.prepare('SELECT 1');
    const two = cached.prepare('SELECT 2');
    expect(cached.prepare('SELECT 1')).toBe(one);
    cached.prepare('SELECT 3');
    expect(cached.prepare('SELECT 1')).toBe(one);
    expect(cached.prepare('SELECT 2')).not.toBe(two);
  });

  it('when closed, then the database is closed', () => {
    const raw = db();
    withStatementCache(raw).close();
    expect(raw.open).toBe(false);
  });
});
