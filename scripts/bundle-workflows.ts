/**
 * Build step: bundle the workflow code once, so workers start without webpack and every
 * worker of a release runs byte-identical workflow code.
 *
 * Bundling takes seconds, so it is skipped when nothing the bundle is made of changed: the
 * compiled workflow modules (everything `workflows/index.js` reaches through relative imports)
 * and the installed packages (the SDK and the libraries the workflows import, and webpack).
 * Their digest is kept next to the bundle (`workflow-bundle.js.inputs`), written after the
 * bundle and removed before bundling starts, so a bundle is only kept for exactly the inputs it
 * was made from.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { packageRoot } from '../config/package-root.js';
import { MISSING, digestOf, fileDigest, installedPackagesDigest, localImportGraph } from './build-inputs.js';

export interface BundleOptions {
  /** The workflows' entry module (compiled JavaScript). */
  workflowsPath: string;
  /** The bundle to write. */
  out: string;
  /** The package whose node_modules the bundler resolves packages from. */
  root: string;
}

/** Bundle the workflows unless the bundle at `out` was made from exactly the current inputs. */
export async function bundleWorkflows(opts: BundleOptions): Promise<{ bundled: boolean }> {
  const installed = installedPackagesDigest(opts.root);
  const inputs = digestOf([
    ['installed', installed ?? MISSING],
    ...localImportGraph(opts.workflowsPath).map(
      (file) => [path.relative(opts.root, file).split(path.sep).join('/'), fileDigest(file)] as const,
    ),
  ]);
  const record = `${opts.out}.inputs`;
  // Without a record of the installed packages, a changed dependency could not be told: bundle.
  if (installed && existsSync(opts.out) && readRecord(record) === inputs) return { bundled: false };

  rmSync(record, { force: true });
  // Loaded only when needed: the SDK's worker package takes a while to load.
  const { bundleWorkflowCode } = await import('@temporalio/worker');
  const { code } = await bundleWorkflowCode({
    workflowsPath: opts.workflowsPath,
    logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
  });
  const partial = `${opts.out}.partial`;
  writeFileSync(partial, code);
  renameSync(partial, opts.out);
  writeFileSync(record, `${inputs}\n`);
  return { bundled: true };
}

function readRecord(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const out = path.resolve(here, '..', 'workflow-bundle.js');
  const { bundled } = await bundleWorkflows({
    workflowsPath: path.resolve(here, '..', 'workflows', 'index.js'),
    out,
    root: packageRoot(),
  });
  const shown = path.relative(process.cwd(), out);
  console.log(
    bundled ? `workflow bundle written to ${shown}` : `workflow bundle: skipped, ${shown} is up to date`,
  );
}
