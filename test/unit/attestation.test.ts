/** The pure rules of owner attestation, its signed answers, and its part of a bot's runtime state. */
import { describe, expect, it } from 'vitest';
import { newDecisionKeyPair, parseSigningKey } from '../../core/crypto/decision-keys.js';
import type { BotAttestation } from '../../core/model/attestation.js';
import {
  attestationBlock,
  attestationDeadline,
  attestationDue,
  attestationIdFor,
  isAttestationId,
  splitAttestedRoles,
} from '../../core/rules/attestation.js';
import { verifyAttestation } from '../../core/rules/signed-attestation.js';
import { DecisionRefusal } from '../../core/rules/signed-decision.js';
import { DecisionSigner } from '../../domain/decision-signer.js';
import { applyBotStateChange, type BotState } from '../../store/bot-state.js';
import { policySchema } from '../../config/policy.js';

const SETTINGS = { everyDays: 90, answerWithinDays: 7 };
const NOW = new Date('2026-12-10T09:00:00.000Z');
const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000).toISOString();
const state = (over: Partial<BotAttestation>): BotAttestation => ({
  attestedAt: null,
  attestedBy: null,
  requested: null,
  trimmedRoles: [],
  overdue: null,
  ...over,
});

describe('attestationDue', () => {
  it('when a bot was never asked, then it is due', () => {
    expect(attestationDue(undefined, SETTINGS, NOW)).toBe(true);
  });
  it('when the owner attested within everyDays, then it is not due; at everyDays it is', () => {
    expect(attestationDue(state({ attestedAt: daysAgo(89) }), SETTINGS, NOW)).toBe(false);
    expect(attestationDue(state({ attestedAt: daysAgo(90) }), SETTINGS, NOW)).toBe(true);
  });
  it('when the owner was asked within answerWithinDays, then it is not due again until the window passes', () => {
    const asked = (d: number) => state({ requested: { id: 'x', at: daysAgo(d) } });
    expect(attestationDue(asked(6), SETTINGS, NOW)).toBe(false);
    expect(attestationDue(asked(7), SETTINGS, NOW)).toBe(true);
  });
});

describe('attestation ids and deadlines', () => {
  it('when a bot is asked, then the id names the bot and the UTC day, and has the shape the pages accept', () => {
    const id = attestationIdFor('etl-bot', NOW);
    expect(id).toBe('attestation-etl-bot-2026-12-10');
    expect(isAttestationId(id)).toBe(true);
    expect(isAttestationId('attestation-../x-2026-12-10')).toBe(false);
    expect(attestationDeadline(NOW, SETTINGS).toISOString()).toBe('2026-12-17T09:00:00.000Z');
  });
});

describe('splitAttestedRoles', () => {
  it('when the owner unticks a role, then it is trimmed, in the order asked', () => {
    expect(splitAttestedRoles(['a', 'b', 'c'], ['c', 'a'])).toEqual({ kept: ['a', 'c'], trimmed: ['b'] });
  });
  it('when the answer names a role not asked about, or one twice, then it is a problem', () => {
    expect(splitAttestedRoles(['a'], ['z'])).toEqual({ problem: "role z is not one of the bot's roles" });
    expect(splitAttestedRoles(['a'], ['a', 'a'])).toEqual({ problem: 'a role is named twice' });
  });
});

describe('attestationBlock', () => {
  it('when an attestation expired unanswered, then every role is refused with attestation_overdue', () => {
    const block = attestationBlock('b', state({ overdue: { at: daysAgo(1), attestationId: 'x' } }), 'a');
    expect(block?.code).toBe('attestation_overdue');
  });
  it('when the owner trimmed a role, then only that role is refused, naming it', () => {
    const s = state({ attestedAt: daysAgo(1), trimmedRoles: ['reports'] });
    expect(attestationBlock('b', s, 'reports')).toMatchObject({ code: 'role_suspended' });
    expect(attestationBlock('b', s, 'reports')?.message).toContain('role reports');
    expect(attestationBlock('b', s, 'ops')).toBeUndefined();
    expect(attestationBlock('b', undefined, 'ops')).toBeUndefined();
  });
});

describe('verifyAttestation', () => {
  const key = parseSigningKey(newDecisionKeyPair().privatePem);
  const signer = new DecisionSigner(key, () => NOW);
  const keys = [{ kid: key.kid, x: key.publicKey.x }];
  const answer = { owner: 'o@example.org', kept: ['a'], trimmed: ['b'], evidence: {} };
  const opts = {
    keys,
    attestationId: 'attestation-b-2026-12-10',
    now: NOW.getTime(),
    used: new Set<string>(),
  };

  it('when the API signed the answer for this attestation, then its claims come back', async () => {
    const claims = verifyAttestation(await signer.attestation(opts.attestationId, answer), opts);
    expect(claims.input).toEqual(answer);
  });
  it('when the answer is for another attestation, stale, or replayed, then it is refused', async () => {
    const other = await signer.attestation('attestation-c-2026-12-10', answer);
    expect(() => verifyAttestation(other, opts)).toThrow(DecisionRefusal);
    const token = await signer.attestation(opts.attestationId, answer);
    expect(() => verifyAttestation(token, { ...opts, now: NOW.getTime() + 10 * 60_000 })).toThrow(/minutes/);
    const nonce = verifyAttestation(token, opts).nonce;
    expect(() => verifyAttestation(token, { ...opts, used: new Set([nonce]) })).toThrow(/already been used/);
  });
  it('when an approval decision is sent as an attestation, then it is refused by its type', async () => {
    const decision = await signer.decision(opts.attestationId, 'approve', {
      approver: { id: 'o' },
      groups: [],
    });
    expect(() => verifyAttestation(decision, opts)).toThrow(/not an Elevate attestation/);
  });
});

describe('bot state', () => {
  const at = NOW.toISOString();
  it('when a bot never took part in attestation, then its state has no attestation field (its MAC is as before)', () => {
    const s = applyBotStateChange(undefined, 'b', { lock: { by: 'a', reason: 'r' } }, at);
    expect('attestation' in s).toBe(false);
    expect('attestation' in applyBotStateChange(s, 'b', { attestationOverdue: null }, at)).toBe(false);
  });
  it('when the owner attests after a suspension, then the trimmed roles are stored and the suspension lifted', () => {
    let s: BotState = applyBotStateChange(undefined, 'b', { attestationRequested: { id: 'x' } }, at);
    s = applyBotStateChange(s, 'b', { attestationOverdue: { attestationId: 'x' } }, at);
    expect(s.attestation?.overdue).toEqual({ at, attestationId: 'x' });
    s = applyBotStateChange(s, 'b', { attested: { by: 'o', trimmedRoles: ['r'] } }, at);
    expect(s.attestation).toMatchObject({ attestedBy: 'o', trimmedRoles: ['r'], overdue: null });
  });
});

describe('policy', () => {
  const base = {
    version: 1,
    admins: [{ id: 'admin', tokenHash: `sha256:${'0'.repeat(64)}` }],
    bots: [],
    roles: [],
  };
  it('when answerWithinDays exceeds everyDays, then the policy is refused naming the field', () => {
    const r = policySchema.safeParse({
      ...base,
      detection: { attestation: { everyDays: 5, answerWithinDays: 7 } },
    });
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('answerWithinDays');
  });
});
