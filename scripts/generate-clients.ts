/**
 * `npm run clients:generate`: writes the client libraries' generated files (the TypeScript
 * client's `clients/typescript/src/generated.ts`, and every other emitter of
 * `scripts/clients/generate.ts`) from the OpenAPI document the server builds, in-process, with
 * no server running. Run it after changing a bot route or a schema it uses;
 * `test/unit/clients-in-sync.test.ts` fails until the committed files match.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../config/package-root.js';
import { generatedClientFiles } from './clients/generate.js';

for (const { file, text } of await generatedClientFiles()) {
  const target = path.join(packageRoot(), file);
  let current: string | undefined;
  try {
    current = readFileSync(target, 'utf8');
  } catch {
    current = undefined;
  }
  if (current === text) {
    console.log(`${file}: up to date`);
    continue;
  }
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, text);
  console.log(`${file}: written`);
}
