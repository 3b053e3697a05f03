/**
 * Which build of Elevate this process is: the package version and the commit it was built
 * from. The worker tells Temporal this build id (it appears on every workflow task it
 * completes, and names the worker deployment version when Worker Versioning is on).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../config/package-root.js';

/** The build id: `ELEVATE_BUILD_ID`, or `<version>+<commit>` (`+unknown` outside a git checkout). */
export function buildId(env: NodeJS.ProcessEnv = process.env): string {
  if (env.ELEVATE_BUILD_ID) return env.ELEVATE_BUILD_ID;
  const root = packageRoot();
  const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    version: string;
  };
  return `${version}+${env.ELEVATE_GIT_COMMIT || commitOf(root) || 'unknown'}`;
}

/** The checked-out commit (12 hex digits, `-dirty` with local changes), if `root` is a git work tree. */
function commitOf(root: string): string | undefined {
  if (!existsSync(path.join(root, '.git'))) return undefined;
  try {
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', root, ...args], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
        timeout: 5000,
      }).trim();
    const commit = git('rev-parse', '--short=12', 'HEAD');
    return git('status', '--porcelain', '--untracked-files=no') === '' ? commit : `${commit}-dirty`;
  } catch {
    return undefined;
  }
}
