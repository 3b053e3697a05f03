/**
 * What the admin console takes from its query strings and forms (`server/admin/console-schemas.ts`),
 * and that the API reference describes those very inputs.
 */
import { describe, expect, it } from 'vitest';
import {
  consoleListQuerySchema,
  consoleReasonFormSchema,
  consoleVerifyFormSchema,
} from '../../server/admin/console-schemas.js';
import { buildOpenApi } from '../../server/openapi/build-document.js';
import type { OpenApiParameter } from '../../server/openapi/document-types.js';

describe('the console’s inputs', () => {
  it('when the filter form is sent with every field empty, then nothing is filtered', () => {
    const empty = Object.fromEntries(Object.keys(consoleListQuerySchema.shape).map((k) => [k, '']));
    const { notice, ...filters } = consoleListQuerySchema.parse(empty);

    expect(Object.values(filters).every((v) => v === undefined)).toBe(true);
    expect(notice).toBe('');
  });

  it('when statuses are given once or repeated, then they are a list; an unknown filter is refused by name', () => {
    expect(consoleListQuerySchema.parse({ status: 'active' }).status).toEqual(['active']);
    expect(consoleListQuerySchema.parse({ status: ['active', 'revoking'] }).status).toEqual([
      'active',
      'revoking',
    ]);
    const unknown = consoleListQuerySchema.safeParse({ colour: 'red' });
    expect(unknown.error?.issues[0]).toMatchObject({ code: 'unrecognized_keys', keys: ['colour'] });
    const bad = consoleListQuerySchema.safeParse({ bot: 'Not An Id', from: '2026-13-40' });
    expect(bad.error?.issues.map((i) => [i.path[0], i.message])).toEqual([
      ['bot', 'is not a bot id'],
      ['from', 'is not a valid date'],
    ]);
  });

  it('when a reason is blank or hides text, then the message says what to fix', () => {
    const reason = consoleReasonFormSchema.shape.reason;
    expect(reason.safeParse('   ').error?.issues[0]?.message).toBe(
      'Give a reason: it is recorded in the audit trail.',
    );
    expect(reason.safeParse('routine \u202ederised').error?.issues[0]?.message).toContain('U+202E');
    expect(reason.parse('  rotating keys  ')).toBe('rotating keys');
  });

  it('when the anchor field is empty it is none, and a malformed one says its shape', () => {
    const anchor = consoleVerifyFormSchema.shape.anchor;
    expect(anchor.parse('  ')).toBeUndefined();
    expect(anchor.parse(`3:${'a'.repeat(64)} `)).toBe(`3:${'a'.repeat(64)}`);
    expect(anchor.safeParse('3:abc').error?.issues[0]?.message).toBe(
      'An anchor is <position>:<hash>, as a verification shows its head.',
    );
  });

  it('when the reference is built, then the list’s parameters are the console’s filters, with their patterns', () => {
    const doc = buildOpenApi({ version: 'test' });
    const params = (doc.paths['/admin']?.get?.parameters ?? []).filter(
      (p): p is OpenApiParameter => 'in' in p && p.in === 'query',
    );

    expect(params.map((p) => p.name)).toEqual(Object.keys(consoleListQuerySchema.shape));
    expect(params.find((p) => p.name === 'bot')?.schema.pattern).toBeDefined();
    expect(params.find((p) => p.name === 'status')?.schema).toMatchObject({ type: 'array', maxItems: 8 });
  });
});
