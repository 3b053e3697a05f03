/**
 * `npm run build`, first step: compile the project to dist/ with tsc, only when something it
 * compiles has changed, then make the package's bins executable (tsc does not, and `npx elevate`
 * runs `dist/bin/elevate.js` itself, through a link).
 *
 * A full tsc run type-checks the whole project, over a minute on a small machine, and
 * `npm start` builds first. So the last successful compile records, next to its output
 * (`dist/.build-inputs.json`), the digest of every project file it read (tsc's incremental
 * build info lists them) together with the compiler options, the TypeScript version,
 * package.json and the installed packages. The next build compares the same digests, for those
 * files and for every file tsconfig.json includes now (a new file counts): all equal and every
 * output present, tsc is not run. Anything else, and tsc runs with `--incremental`, re-checking
 * only what the change can affect. The record is removed before tsc starts and written only
 * after it succeeds, so an interrupted or failed build is never taken for a finished one.
 *
 * Run from source (`node --import tsx scripts/build.ts`): it has to run before anything is
 * compiled.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import ts from 'typescript';
import { packageRoot } from '../config/package-root.js';
import { MISSING, digestOf, fileDigest, installedPackagesDigest } from './build-inputs.js';

/** The record of the last successful compile, in the output directory. */
export const BUILD_RECORD = '.build-inputs.json';

interface BuildRecord {
  /** Digest of everything but the files: options, TypeScript, package.json, installed packages. */
  settings: string;
  /** Project file (relative to the project root, `/`-separated) → digest of its content. */
  files: Record<string, string>;
}

export interface BuildOptions {
  /** The project: the folder holding package.json. */
  root: string;
  /** Relative to `root`; default `tsconfig.json`. */
  tsconfig?: string;
  /** Progress lines; default none. */
  log?: (line: string) => void;
}

export interface BuildResult {
  /** Whether tsc ran. */
  compiled: boolean;
  /** Why it ran, or why not. */
  reason: string;
  /** The bins made executable (absolute paths). */
  bins: string[];
}

/** tsc failed: its diagnostics are already on stderr/stdout. */
export class CompileError extends Error {
  constructor(readonly exitCode: number) {
    super(`tsc exited with code ${exitCode}`);
    this.name = 'CompileError';
  }
}

/** Compile `root` if anything it compiles changed, then make its bins executable. */
export function build(options: BuildOptions): BuildResult {
  const root = path.resolve(options.root);
  const log = options.log ?? (() => {});
  const configFile = path.resolve(root, options.tsconfig ?? 'tsconfig.json');
  const config = readConfig(configFile);
  const { outDir, rootDir } = config.options;
  if (!outDir || !rootDir) throw new Error(`${configFile}: set outDir and rootDir`);
  const buildInfo = config.options.tsBuildInfoFile ?? path.join(outDir, '.tsbuildinfo');
  const tscArgs = ['-p', configFile, '--incremental', '--tsBuildInfoFile', buildInfo];
  const recordFile = path.join(outDir, BUILD_RECORD);
  const installed = installedPackagesDigest(root);
  const settings = digestOf([
    ['typescript', ts.version],
    ['tsc', JSON.stringify(tscArgs)],
    ['options', JSON.stringify(config.options)],
    ['package.json', fileDigest(path.join(root, 'package.json'))],
    ['installed', installed ?? MISSING],
  ]);

  const previous = readRecord(recordFile);
  const files = new Map<string, string>();
  for (const file of [
    ...config.fileNames,
    ...Object.keys(previous?.files ?? {}).map((f) => path.resolve(root, f)),
  ]) {
    const key = projectPath(root, file);
    if (key !== undefined && !files.has(key)) files.set(key, fileDigest(path.resolve(root, key)));
  }
  const missingOutput = [...files.keys()].find((f) => {
    const out = outputOf(path.resolve(root, f), rootDir, outDir);
    return out !== undefined && !existsSync(out);
  });
  const reason = whyCompile(previous, settings, files, missingOutput, installed);
  if (!reason) {
    log(`tsc: skipped, nothing it compiles changed since the last build`);
    return { compiled: false, reason: 'up to date', bins: makeBinsExecutable(root) };
  }

  log(`tsc: compiling (${reason})`);
  rmSync(recordFile, { force: true });
  // With --incremental, tsc trusts its build info and would not write an output that was deleted.
  if (missingOutput) rmSync(buildInfo, { force: true });
  const started = Date.now();
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const run = spawnSync(process.execPath, [tsc, ...tscArgs], { cwd: root, stdio: 'inherit' });
  if (run.error) throw run.error;
  if (run.status !== 0) throw new CompileError(run.status ?? 1);

  const record = recordAfterCompile(root, buildInfo, files, started, settings);
  if (record) writeFileSync(recordFile, `${JSON.stringify(record)}\n`);
  else log('tsc: compiled; the next build compiles again (could not tell which files this one read)');
  return { compiled: true, reason, bins: makeBinsExecutable(root) };
}

function readConfig(file: string): ts.ParsedCommandLine {
  const problems: string[] = [];
  const parsed = ts.getParsedCommandLineOfConfigFile(file, undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) =>
      problems.push(ts.flattenDiagnosticMessageText(d.messageText, '\n')),
  });
  problems.push(...(parsed?.errors ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')));
  if (!parsed || problems.length > 0) throw new Error(`${file}: ${problems.join('; ')}`);
  return parsed;
}

function readRecord(file: string): BuildRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(file, 'utf8')) as Partial<BuildRecord>;
    return typeof record.settings === 'string' && record.files && typeof record.files === 'object'
      ? (record as BuildRecord)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Why tsc must run, or undefined when the last compile's output is still right. */
function whyCompile(
  previous: BuildRecord | undefined,
  settings: string,
  files: Map<string, string>,
  missingOutput: string | undefined,
  installed: string | undefined,
): string | undefined {
  if (!previous) return 'no record of an earlier build';
  if (installed === undefined) return 'no package lock to tell installed packages apart';
  if (previous.settings !== settings) return 'compiler options, TypeScript, package.json or packages changed';
  for (const [file, digest] of files) {
    if (previous.files[file] === undefined) return `${file} is new`;
    if (previous.files[file] !== digest)
      return digest === MISSING ? `${file} was deleted` : `${file} changed`;
  }
  if (missingOutput) return `the output of ${missingOutput} is missing`;
  return undefined;
}

/**
 * The record of a compile that succeeded: the files it read, as tsc lists them in its build
 * info, with the digests taken before it started. A file tsc read that was not known before
 * (newly imported) is digested now, unless it changed after tsc started: then there is no
 * record, and the next build compiles again rather than trust a digest tsc may not have seen.
 */
function recordAfterCompile(
  root: string,
  buildInfo: string,
  before: Map<string, string>,
  started: number,
  settings: string,
): BuildRecord | undefined {
  const read = filesInBuildInfo(buildInfo);
  if (!read) return undefined;
  const files: Record<string, string> = {};
  for (const key of [
    ...new Set([...before.keys(), ...read.flatMap((f) => projectPath(root, f) ?? [])]),
  ].sort()) {
    let digest = before.get(key);
    if (digest === undefined) {
      const file = path.resolve(root, key);
      if (!existsSync(file) || statSync(file).mtimeMs >= started) return undefined;
      digest = fileDigest(file);
    }
    if (digest !== MISSING) files[key] = digest;
  }
  return { settings, files };
}

/** The files of the last program, from tsc's build info (absolute), or undefined if unreadable. */
function filesInBuildInfo(buildInfo: string): string[] | undefined {
  try {
    const { fileNames } = JSON.parse(readFileSync(buildInfo, 'utf8')) as { fileNames?: unknown };
    if (!Array.isArray(fileNames) || !fileNames.every((f) => typeof f === 'string')) return undefined;
    return fileNames.map((f) => path.resolve(path.dirname(buildInfo), f));
  } catch {
    return undefined;
  }
}

/** A file of the project itself (not a package's, not outside), as a `/`-separated relative path. */
function projectPath(root: string, file: string): string | undefined {
  const rel = path.relative(root, path.resolve(file));
  if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const parts = rel.split(path.sep);
  return parts.includes('node_modules') ? undefined : parts.join('/');
}

/** Where tsc writes a source file's JavaScript; undefined for files it writes nothing for. */
function outputOf(file: string, rootDir: string, outDir: string): string | undefined {
  if (/\.d\.[cm]?ts$/.test(file)) return undefined;
  const ext = { '.ts': '.js', '.tsx': '.js', '.mts': '.mjs', '.cts': '.cjs' }[path.extname(file)];
  if (!ext) return undefined;
  const rel = path.relative(rootDir, file);
  return path.join(outDir, rel.slice(0, -path.extname(rel).length) + ext);
}

/** Mode 0755 for every bin in package.json; a bin that was not built is an error. */
function makeBinsExecutable(root: string): string[] {
  const { bin } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    bin?: string | Record<string, string>;
  };
  const bins = (typeof bin === 'string' ? [bin] : Object.values(bin ?? {})).map((b) => path.resolve(root, b));
  for (const file of bins) {
    if (!existsSync(file)) throw new Error(`package.json bin ${path.relative(root, file)} was not built`);
    chmodSync(file, 0o755);
  }
  return bins;
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  try {
    build({ root: packageRoot(), log: console.log });
  } catch (err) {
    if (!(err instanceof CompileError)) console.error(err instanceof Error ? err.message : err);
    process.exitCode = err instanceof CompileError ? err.exitCode : 1;
  }
}
