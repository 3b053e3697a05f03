/**
 * Idempotent replay: a reused requestId is answered with the elevation it started only for the
 * same bot and the same request. Two bots' ids cannot be made to collide on purpose (96 bits
 * of SHA-256), so the collision is staged here by handing the function another bot's elevation.
 */
import { httpStatusOf } from '../../server/http-status.js';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../domain/errors.js';
import { replayOf } from '../../domain/elevations/idempotent-replay.js';
import type { ElevationView } from '../../core/model/elevation.js';

const existing: ElevationView = {
  id: 'el_0123456789abcdef01234567',
  workflowId: 'elevation-el_0123456789abcdef01234567',
  status: 'active',
  botId: 'victim-bot',
  roleId: 'db-admin',
  owner: 'owner@example.com',
  environment: 'prod',
  durationSeconds: 600,
  justification: 'rotate the replica',
  requestId: 'req-1',
  requestedAt: '2026-01-01T00:00:00.000Z',
  approval: { mode: 'auto' },
  approvals: [],
  revokeAttempts: 0,
};

const same = {
  role: 'db-admin',
  durationSeconds: 600,
  justification: 'rotate the replica',
  requestId: 'req-1',
};

function refusal(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('replayOf', () => {
  it('when the same bot repeats the same request, then it gets its elevation back', () => {
    expect(replayOf(existing, 'victim-bot', same)).toBe(existing);
  });

  it("when another bot's request lands on this elevation's id (a derivation collision), then it is refused without the elevation", () => {
    const error = refusal(() => replayOf(existing, 'attacker-bot', same));

    expect(error).toMatchObject({ code: 'idempotency_conflict', field: 'requestId' });
    expect(httpStatusOf(error)).toBe(409);
    expect(error.message).not.toContain('victim-bot');
    expect(error.message).not.toContain(existing.id);
  });

  it('when the stored elevation carries another requestId, then it is refused', () => {
    const error = refusal(() => replayOf(existing, 'victim-bot', { ...same, requestId: 'req-2' }));

    expect(error).toMatchObject({ code: 'idempotency_conflict', field: 'requestId' });
  });

  it('when the same bot reuses a requestId for a different request, then the differing field is named', () => {
    const error = refusal(() => replayOf(existing, 'victim-bot', { ...same, durationSeconds: 60 }));

    expect(error).toMatchObject({ code: 'idempotency_conflict', field: 'durationSeconds' });
  });
});
