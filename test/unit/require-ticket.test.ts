/**
 * A role's `requireTicket`: the policy accepts `true`, `false` or `{pattern}`, refuses a pattern
 * that is not a regular expression naming the role; a request's ticket is refused when missing
 * or when it does not match the whole pattern, with a message that says what is expected.
 */
import { describe, expect, it } from 'vitest';
import { parsePolicy } from '../../config/load-policy.js';
import { ticketPatternProblem, ticketRefusal, wholeTicketPattern } from '../../config/require-ticket.js';
import { ConfigError } from '../../core/errors/config-error.js';

const HASH_A = `sha256:${'a'.repeat(64)}`;
const HASH_B = `sha256:${'b'.repeat(64)}`;

/** A policy whose second role has `requireTicket: <rule>` (YAML), or none when `rule` is undefined. */
function policyText(rule: string | undefined): string {
  return `version: 1
admins:
  - { id: ops, tokenHash: "${HASH_B}" }
bots:
  - id: ci-bot
    owner: owner@example.org
    team: platform
    purpose: deploys
    environment: prod
    ldapDn: uid=ci-bot,ou=bots,dc=example,dc=org
    apiKeyHash: "${HASH_A}"
    roles: [deploy, change]
roles:
  - id: deploy
    environment: prod
    target: { type: ldap, groupDn: "cn=deploy,ou=groups,dc=example,dc=org" }
    maxDurationSeconds: 900
    approval: { mode: auto }
  - id: change
    environment: prod
    target: { type: ldap, groupDn: "cn=change,ou=groups,dc=example,dc=org" }
    maxDurationSeconds: 900
    approval: { mode: auto }
${rule === undefined ? '' : `    requireTicket: ${rule}\n`}`;
}

function refusal(rule: string): ConfigError {
  try {
    parsePolicy(policyText(rule), 'policy.yaml', {});
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected the policy to be refused');
}

describe('requireTicket in the policy', () => {
  it.each([
    ['left out', undefined, undefined],
    ['true', 'true', true],
    ['false', 'false', false],
    ['a pattern', '{ pattern: "^(CHG|INC)-[0-9]+$" }', { pattern: '^(CHG|INC)-[0-9]+$' }],
  ])('when requireTicket is %s, then the role keeps it as written', (_l, rule, expected) => {
    const policy = parsePolicy(policyText(rule), 'policy.yaml', {});
    expect(policy.roles[1]!.requireTicket).toEqual(expected);
    expect(policy.roles[0]!.requireTicket).toBeUndefined();
  });

  it('when the pattern is not a regular expression, then start-up stops naming the role, the field and why', () => {
    const err = refusal('{ pattern: "(CHG|INC-[0-9]+" }');
    expect(err.field).toBe('roles[1].requireTicket.pattern');
    expect(err.message).toMatch(/^policy\.yaml:\d+:\d+ roles\[1\]\.requireTicket\.pattern: /);
    expect(err.message).toContain(
      'role "change"\'s ticket pattern "(CHG|INC-[0-9]+" is not a valid regular expression (Unterminated group)',
    );
  });

  it.each([
    ['an empty pattern', '{ pattern: "" }', 'roles[1].requireTicket.pattern'],
    ['a string instead of true or an object', '"yes"', 'roles[1].requireTicket'],
    ['an unknown field beside pattern', '{ pattern: "CHG-1", flags: i }', 'roles[1].requireTicket'],
  ])('when requireTicket is %s, then start-up stops naming the field', (_l, rule, field) => {
    expect(refusal(rule).message).toContain(field);
  });

  it('when a pattern is valid only outside Unicode mode, then it is refused (patterns are Unicode regular expressions)', () => {
    expect(ticketPatternProblem('r', { pattern: 'CHG\\-[0-9]+' })).toContain(
      'is not a valid regular expression',
    );
    expect(ticketPatternProblem('r', { pattern: 'CHG-[0-9]+' })).toBeUndefined();
    expect(ticketPatternProblem('r', true)).toBeUndefined();
  });
});

describe('a ticket against the role rule', () => {
  const PATTERN = { pattern: '^(CHG|INC)-[0-9]+$' };

  it.each([
    ['no rule', undefined, undefined],
    ['requireTicket false', false, undefined],
    ['any ticket required, and one sent', true, 'anything at all'],
    ['a matching ticket', PATTERN, 'CHG-1234'],
    ['the other alternative', PATTERN, 'INC-7'],
  ])('when %s, then the request is accepted', (_l, rule, ticket) => {
    expect(ticketRefusal('change', rule, ticket)).toBeUndefined();
  });

  it('when a ticket is required and none (or an empty one) is sent, then it is refused saying what is expected', () => {
    expect(ticketRefusal('change', true, undefined)).toBe('role change requires a ticket');
    expect(ticketRefusal('change', PATTERN, undefined)).toBe(
      'role change requires a ticket matching ^(CHG|INC)-[0-9]+$ (the whole ticket must match)',
    );
    expect(ticketRefusal('change', true, '')).toBe('role change requires a ticket');
  });

  it.each([
    ['another prefix', 'OPS-12'],
    ['a ticket with text after it', 'CHG-12 and more'],
    ['a ticket with text before it', 'see CHG-12'],
    ['a lower-case prefix', 'chg-12'],
  ])('when the ticket has %s, then it is refused naming the pattern', (_l, ticket) => {
    expect(ticketRefusal('change', PATTERN, ticket)).toBe(
      'ticket does not match the pattern role change requires: ^(CHG|INC)-[0-9]+$ (the whole ticket must match)',
    );
  });

  it('when the pattern has no anchors, then the whole ticket must still match it, alternatives included', () => {
    const rule = { pattern: 'CHG-[0-9]+|INC-[0-9]+' };
    expect(ticketRefusal('change', rule, 'CHG-1')).toBeUndefined();
    expect(ticketRefusal('change', rule, 'INC-2')).toBeUndefined();
    expect(ticketRefusal('change', rule, 'CHG-1x')).toContain('does not match');
    expect(ticketRefusal('change', rule, 'xINC-2')).toContain('does not match');
    expect(wholeTicketPattern('CHG-[0-9]+|INC-[0-9]+').source).toBe('^(?:CHG-[0-9]+|INC-[0-9]+)$');
  });
});
