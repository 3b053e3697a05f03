/**
 * What a build step's output is made of, as digests of file contents: the build (`build.ts`)
 * and the workflow bundle (`bundle-workflows.ts`) each record the digests of their inputs and
 * skip their work when every input is unchanged.
 *
 * Contents, never modification times: a file restored with an older time (an archive, `cp -p`,
 * a checkout tool that keeps times) still counts as changed, so a stale output is never kept.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

/** The digest of an input that is not there (deleted since the last build). */
export const MISSING = 'missing';

/** SHA-256 of a file's bytes (hex), or {@link MISSING}. */
export function fileDigest(file: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return MISSING;
    throw err;
  }
  return createHash('sha256').update(bytes).digest('hex');
}

/** One digest over named parts, in the order given (callers sort what has no order). */
export function digestOf(parts: readonly (readonly [name: string, value: string])[]): string {
  const hash = createHash('sha256');
  for (const [name, value] of parts) hash.update(`${name}\u0000${value}\u0000`);
  return hash.digest('hex');
}

/**
 * The digest of the installed packages: npm's record of what is in node_modules
 * (`node_modules/.package-lock.json`, rewritten by every install), else package-lock.json.
 * Undefined when neither exists: then nothing can tell a changed dependency, and callers
 * must not skip.
 */
export function installedPackagesDigest(root: string): string | undefined {
  for (const file of [
    path.join(root, 'node_modules', '.package-lock.json'),
    path.join(root, 'package-lock.json'),
  ]) {
    const digest = fileDigest(file);
    if (digest !== MISSING) return digest;
  }
  return undefined;
}

/** Relative module specifiers in ES module code: `from './x.js'`, `import './x.js'`, `import('./x.js')`. */
const RELATIVE_IMPORT = /\b(?:from|import)\s*\(?\s*(['"])(\.\.?\/[^'"\n]+)\1/g;

/**
 * The files of an ES module graph reachable from `entry` through relative imports, `entry`
 * included, sorted. Packages (bare specifiers) are not followed: they are covered by
 * {@link installedPackagesDigest}. A specifier that resolves to no file is left out (the
 * bundler reports it); text that only looks like an import (in a comment or a string) can add
 * a file, which only makes the check stricter.
 */
export function localImportGraph(entry: string): string[] {
  const seen = new Set<string>();
  const pending = [path.resolve(entry)];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    const code = readFileSync(file, 'utf8');
    for (const match of code.matchAll(RELATIVE_IMPORT)) {
      const target = resolveRelative(path.dirname(file), match[2]!);
      if (target && !seen.has(target)) pending.push(target);
    }
  }
  return [...seen].sort();
}

/** A relative specifier as a file: as written, or as the bundler completes it (`.js`, `/index.js`). */
function resolveRelative(dir: string, specifier: string): string | undefined {
  const base = path.resolve(dir, specifier.split(/[?#]/)[0]!);
  for (const candidate of [base, `${base}.js`, path.join(base, 'index.js')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}
