/**
 * Writes the policy file's JSON Schema to `docs/policy.schema.json` (`npm run schema:policy`),
 * formatted as the repository's Prettier formats it. Run it after changing `config/policy.ts`;
 * `test/unit/policy-json-schema.test.ts` fails until the published file matches.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { policyJsonSchemaText } from '../config/policy-json-schema.js';

const target = path.resolve(import.meta.dirname, '..', 'docs', 'policy.schema.json');
writeFileSync(target, policyJsonSchemaText());
execFileSync(
  process.execPath,
  [
    path.resolve(import.meta.dirname, '..', 'node_modules', 'prettier', 'bin', 'prettier.cjs'),
    '--write',
    target,
  ],
  { stdio: 'ignore' },
);
console.log(`wrote ${path.relative(process.cwd(), target)}`);
