/** Break-glass's pure rules, its policy checks, the reviewers' signed verdicts and its Slack alert. */
import { describe, expect, it } from 'vitest';
import { policySchema } from '../../config/policy.js';
import { newDecisionKeyPair, parseSigningKey } from '../../core/crypto/decision-keys.js';
import type { BreakGlassAlert } from '../../core/model/break-glass.js';
import {
  breakGlassRefusal,
  breakGlassRequestOf,
  breakGlassRiskDecision,
  reviewerRefusal,
  verifyBreakGlassReview,
} from '../../core/rules/break-glass.js';
import { DecisionRefusal } from '../../core/rules/signed-decision.js';
import { DecisionSigner } from '../../domain/decision-signer.js';
import { renderBreakGlassAlert } from '../../integrations/slack/break-glass-messages.js';

const NOW = new Date('2026-12-10T09:00:00.000Z');
const RULE = {
  bots: ['pager-bot'],
  maxSeconds: 900,
  reviewers: ['ann@example.org'],
  reviewDeadlineSeconds: 3600,
};

/** A policy with one bot and one role whose `breakGlass` is `bg` (and the bot's roles). */
function policyWith(bg: Record<string, unknown>, botRoles = ['db']) {
  return policySchema.safeParse({
    version: 1,
    admins: [{ id: 'admin', tokenHash: `sha256:${'b'.repeat(64)}` }],
    bots: [
      {
        id: 'pager-bot',
        owner: 'olive@example.org',
        team: 't',
        purpose: 'p',
        environment: 'prod',
        ldapDn: 'uid=pager-bot,ou=bots,dc=example,dc=org',
        apiKeyHash: `sha256:${'a'.repeat(64)}`,
        roles: botRoles,
      },
    ],
    roles: [
      {
        id: 'db',
        environment: 'prod',
        target: { type: 'ldap', groupDn: 'cn=db,ou=groups,dc=example,dc=org' },
        maxDurationSeconds: 1800,
        approval: {
          mode: 'approvers',
          groups: [{ name: 'leads', members: ['ann@example.org', 'olive@example.org'] }],
        },
        breakGlass: bg,
      },
      {
        id: 'other',
        environment: 'prod',
        target: { type: 'ldap', groupDn: 'cn=o,dc=example,dc=org' },
        maxDurationSeconds: 60,
        approval: { mode: 'auto' },
      },
    ],
  });
}

/** The policy's problems as `path: message`. */
function problems(bg: Record<string, unknown>, botRoles?: string[]): string[] {
  const parsed = policyWith(bg, botRoles);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('the breakGlass policy', () => {
  it('when the rule is sound, then the policy loads with the defaults filled in', () => {
    const parsed = policyWith({ bots: ['pager-bot'], reviewers: { group: 'leads' } });
    if (!parsed.success) throw new Error(parsed.error.message);
    expect(parsed.data.roles[0]!.breakGlass).toMatchObject({ reviewDeadlineSeconds: 86_400 });
  });
  it('when a bot is unknown or may not request the role, then the field is named', () => {
    expect(problems({ bots: ['ghost'], reviewers: ['ann@example.org'] })).toEqual([
      'roles.0.breakGlass.bots.0: unknown bot "ghost"',
    ]);
    expect(problems({ bots: ['pager-bot'], reviewers: ['ann@example.org'] }, ['other'])).toEqual([
      'roles.0.breakGlass.bots.0: bot "pager-bot" may not request role "db"',
    ]);
  });
  it('when the cap passes the role, the group is not the role’s, or only the owner could review, then each is named', () => {
    expect(problems({ bots: ['pager-bot'], maxSeconds: 3600, reviewers: ['ann@example.org'] })).toEqual([
      "roles.0.breakGlass.maxSeconds: is 3600 but the role's maxDurationSeconds is 1800",
    ]);
    expect(problems({ bots: ['pager-bot'], reviewers: { group: 'nobody' } })).toEqual([
      "roles.0.breakGlass.reviewers.group: must name one of the role's approver groups that lists its members",
    ]);
    expect(problems({ bots: ['pager-bot'], reviewers: ['Olive@example.org'] })).toEqual([
      'roles.0.breakGlass.reviewers: must name someone other than olive@example.org, the owner of bot "pager-bot"',
    ]);
    expect(problems({ bots: ['pager-bot'], reviewers: ['not-an-address'] })[0]).toContain('e-mail');
  });
});

describe('breakGlassRefusal', () => {
  it('when the role has no rule, or the bot is not listed, then it is not allowed, naming breakGlass', () => {
    expect(breakGlassRefusal('db', undefined, 'pager-bot', 60)).toMatchObject({
      code: 'break_glass_not_allowed',
      field: 'breakGlass',
    });
    expect(breakGlassRefusal('db', RULE, 'calm-bot', 60)?.message).toContain('calm-bot is not listed');
  });
  it('when the duration passes the cap, then it is too long; at the cap it is allowed', () => {
    expect(breakGlassRefusal('db', RULE, 'pager-bot', 901)).toMatchObject({
      code: 'duration_too_long',
      field: 'durationSeconds',
    });
    expect(breakGlassRefusal('db', RULE, 'pager-bot', 900)).toBeUndefined();
  });
  it('when a request is accepted, then its review is due the deadline after the request', () => {
    expect(breakGlassRequestOf(RULE, NOW).reviewDeadline).toBe('2026-12-10T10:00:00.000Z');
  });
});

describe('reviewerRefusal and the risk score', () => {
  it('when the person is not named, or owns the bot, then each is refused; case does not matter', () => {
    expect(reviewerRefusal('sam@example.org', ['ann@example.org'], 'olive@example.org')).toBe('not_reviewer');
    expect(reviewerRefusal('Olive@Example.org', ['olive@example.org'], 'olive@example.org')).toBe(
      'self_review',
    );
    expect(reviewerRefusal('ANN@example.org', ['ann@example.org'], 'olive@example.org')).toBeUndefined();
  });
  it('when the score would have denied the request, then it is recorded as such but routed auto', () => {
    const d = breakGlassRiskDecision({
      score: 90,
      level: 'critical',
      route: 'denied',
      routeReason: 'critical',
      reasons: [],
    } as never);
    expect(d.route).toBe('auto');
    expect(d.routeReason).toContain('would have routed it denied');
  });
});

describe('verifyBreakGlassReview', () => {
  const key = parseSigningKey(newDecisionKeyPair().privatePem);
  const signer = new DecisionSigner(key, () => NOW);
  const keys = [{ kid: key.kid, x: key.publicKey.x }];
  const answer = { reviewer: 'ann@example.org', outcome: 'confirmed' as const, evidence: {} };
  const opts = { keys, reviewId: 'breakglass-review-el_1', now: NOW.getTime(), used: new Set<string>() };

  it('when the API signed the verdict for this review, then its claims come back', async () => {
    const claims = verifyBreakGlassReview(await signer.breakGlassReview(opts.reviewId, answer), opts);
    expect(claims.input).toEqual(answer);
  });
  it('when it is for another review, stale, or replayed, then it is refused', async () => {
    const other = await signer.breakGlassReview('breakglass-review-el_2', answer);
    expect(() => verifyBreakGlassReview(other, opts)).toThrow(DecisionRefusal);
    const token = await signer.breakGlassReview(opts.reviewId, answer);
    expect(() => verifyBreakGlassReview(token, { ...opts, now: NOW.getTime() + 10 * 60_000 })).toThrow(
      /minutes/,
    );
    const nonce = verifyBreakGlassReview(token, opts).nonce;
    expect(() => verifyBreakGlassReview(token, { ...opts, used: new Set([nonce]) })).toThrow(
      /already been used/,
    );
  });
  it('when an attestation or an approval is sent as a review, then it is refused by its type', async () => {
    const attestation = await signer.attestation(opts.reviewId, {
      owner: 'o',
      kept: [],
      trimmed: [],
      evidence: {},
    });
    expect(() => verifyBreakGlassReview(attestation, opts)).toThrow(/not an Elevate break-glass review/);
    const other = parseSigningKey(newDecisionKeyPair().privatePem);
    const forged = await new DecisionSigner(other, () => NOW).breakGlassReview(opts.reviewId, answer);
    expect(() => verifyBreakGlassReview(forged, opts)).toThrow(DecisionRefusal);
  });
});

describe('renderBreakGlassAlert', () => {
  const alert = {
    elevation: { id: 'el_1', durationSeconds: 600, justification: 'primary down *now* <@U1>' },
    bot: { id: 'pager-bot', owner: 'olive@example.org' },
    role: { id: 'db' },
    breakGlass: { ...RULE, reviewDeadline: '2026-12-10T10:00:00.000Z' },
    reviewUrl: 'https://elevate.example.org/approvals/breakglass/el_1',
  } as unknown as BreakGlassAlert;

  it('when sent to a reviewer, then it carries the Review button; the channel and the owner get none', () => {
    const buttons = (audience: 'channel' | 'owner' | 'reviewer') =>
      JSON.stringify(renderBreakGlassAlert(alert, audience).blocks).includes(
        '"action_id":"breakglass_review"',
      );
    expect(buttons('reviewer')).toBe(true);
    expect(buttons('channel')).toBe(false);
    expect(buttons('owner')).toBe(false);
  });
  it('when the justification has mentions or markup, then they are escaped', () => {
    const text = JSON.stringify(renderBreakGlassAlert(alert, 'channel').blocks);
    expect(text).not.toContain('<@U1>');
    expect(text).toContain('Review due');
  });
});
