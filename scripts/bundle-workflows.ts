/**
 * Build step: bundle the workflow code once, so workers start without webpack and every
 * worker of a release runs byte-identical workflow code.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

const here = path.dirname(fileURLToPath(import.meta.url));
const { code } = await bundleWorkflowCode({
  workflowsPath: path.resolve(here, '..', 'workflows', 'index.js'),
  logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
});
const out = path.resolve(here, '..', 'workflow-bundle.js');
writeFileSync(out, code);
console.log(`workflow bundle written to ${path.relative(process.cwd(), out)}`);
