/**
 * The published policy JSON Schema (docs/policy.schema.json) matches the zod schema, compiles as
 * draft 2020-12, accepts every policy file the project ships, and refuses what the loader
 * refuses for the same field.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { policyJsonSchema } from '../../config/policy-json-schema.js';

const root = path.resolve(import.meta.dirname, '../..');
const published = path.join(root, 'docs', 'policy.schema.json');
const SHIPPED = ['examples/policy.yaml', 'deploy/compose/policy.yaml'];

function validator() {
  const ajv = new Ajv2020({ allErrors: true, strict: false });
  addFormats.default(ajv);
  return ajv.compile(policyJsonSchema());
}

describe('the policy JSON Schema', () => {
  it('is published as generated from the zod schema (npm run schema:policy)', () => {
    // Compared as JSON: Prettier formats the published file.
    const current = JSON.parse(readFileSync(published, 'utf8')) as unknown;
    expect(current, 'docs/policy.schema.json is stale: run npm run schema:policy').toEqual(
      policyJsonSchema(),
    );
  });

  it.each(SHIPPED)('accepts %s, which names it for editors', (file) => {
    const text = readFileSync(path.join(root, file), 'utf8');
    expect(text).toMatch(/^# yaml-language-server: \$schema=\S*policy\.schema\.json$/m);
    const validate = validator();
    const ok = validate(parse(text));
    expect(validate.errors ?? [], file).toEqual([]);
    expect(ok).toBe(true);
  });

  it('refuses an unknown key, a bad id and a missing field, pointing at them', () => {
    const validate = validator();
    const policy = parse(readFileSync(path.join(root, SHIPPED[0]!), 'utf8')) as {
      bots: Record<string, unknown>[];
      roles: Record<string, unknown>[];
    };
    const bad = structuredClone(policy);
    bad.bots[0]!.colour = 'blue';
    expect(validate(bad)).toBe(false);
    expect(
      validate.errors?.some((e) => e.instancePath === '/bots/0' && e.keyword === 'additionalProperties'),
    ).toBe(true);

    const badId = structuredClone(policy);
    badId.roles[0]!.id = 'Not An Id';
    expect(validate(badId)).toBe(false);
    expect(validate.errors?.some((e) => e.instancePath === '/roles/0/id')).toBe(true);

    const missing = structuredClone(policy);
    delete missing.roles[0]!.target;
    expect(validate(missing)).toBe(false);
    expect(validate.errors?.some((e) => e.instancePath === '/roles/0' && e.keyword === 'required')).toBe(
      true,
    );
  });

  it('lets a ${VAR} placeholder stand where a pattern is expected, and nothing else', () => {
    const validate = validator();
    const policy = parse(readFileSync(path.join(root, SHIPPED[0]!), 'utf8')) as {
      admins: { tokenHash: string }[];
    };
    policy.admins[0]!.tokenHash = '${SOME_HASH}';
    expect(validate(policy)).toBe(true);
    policy.admins[0]!.tokenHash = 'sha256:not-hex';
    expect(validate(policy)).toBe(false);
  });
});
