/**
 * `npm run build` (scripts/build.ts and scripts/bundle-workflows.ts) on small projects made in
 * a temporary folder, with the real tsc and the real workflow bundler: a second build with
 * nothing changed does no work; any change to what an output is made of (even one that keeps
 * an old modification time), a new file or a deleted output builds again; the package's bin is
 * executable, as `npx` needs it.
 */
import { execFileSync } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_RECORD, CompileError, build } from '../../scripts/build.js';
import { localImportGraph } from '../../scripts/build-inputs.js';
import { bundleWorkflows } from '../../scripts/bundle-workflows.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const dirs: string[] = [];

afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function tempProject(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'elevate-build-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) write(dir, name, text);
  return dir;
}

function write(dir: string, name: string, text: string): void {
  mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
  writeFileSync(path.join(dir, name), text);
}

/** Rewrite a file and give it a modification time long past, as an archive or `cp -p` would. */
function rewriteWithOldTime(dir: string, name: string, text: string): void {
  write(dir, name, text);
  const past = new Date('2001-02-03T04:05:06Z');
  utimesSync(path.join(dir, name), past, past);
}

describe('the build (tsc, only when needed) and the bin', () => {
  let dir: string;
  const bin = () => path.join(dir, 'dist', 'bin', 'greet.js');
  /** The bin run as npx runs it: the file itself, through the link npm puts in node_modules/.bin. */
  const runBin = () =>
    execFileSync(path.join(dir, 'node_modules', '.bin', 'greet'), { encoding: 'utf8' }).trim();

  beforeAll(() => {
    dir = tempProject({
      'package.json': JSON.stringify({ name: 'greet', type: 'module', bin: { greet: 'dist/bin/greet.js' } }),
      'package-lock.json': JSON.stringify({ name: 'greet', lockfileVersion: 3, packages: {} }),
      'tsconfig.json': JSON.stringify({
        compilerOptions: {
          target: 'ES2022',
          lib: ['ES5'],
          types: [],
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          outDir: 'dist',
          rootDir: '.',
          strict: true,
        },
        include: ['bin', 'lib'],
      }),
      'lib/console.d.ts': 'declare const console: { log(...args: unknown[]): void };\n',
      'lib/greeting.ts':
        "import { punctuation } from '../extra/punctuation.js';\nexport const greeting = `hello${punctuation}`;\n",
      // Not included by tsconfig.json: compiled only because it is imported.
      'extra/punctuation.ts': "export const punctuation = '.';\n",
      'bin/greet.ts':
        "#!/usr/bin/env node\nimport { greeting } from '../lib/greeting.js';\nconsole.log(greeting);\n",
    });
    mkdirSync(path.join(dir, 'node_modules', '.bin'), { recursive: true });
    symlinkSync('../../dist/bin/greet.js', path.join(dir, 'node_modules', '.bin', 'greet'));
  });

  it('when built the first time, then it compiles and the bin is executable (mode 0755) and runs through its link', () => {
    const result = build({ root: dir });
    expect(result).toMatchObject({ compiled: true, reason: 'no record of an earlier build', bins: [bin()] });
    expect(statSync(bin()).mode & 0o777).toBe(0o755);
    expect(runBin()).toBe('hello.');
  });

  it('when built again with nothing changed, then tsc does not run and the outputs are left as they are', () => {
    const before = statSync(bin()).mtimeMs;
    expect(build({ root: dir })).toMatchObject({ compiled: false, reason: 'up to date' });
    expect(statSync(bin()).mtimeMs).toBe(before);
    expect(runBin()).toBe('hello.');
  });

  it('when an included file changes but keeps an older modification time, then it compiles again', () => {
    rewriteWithOldTime(dir, 'lib/greeting.ts', "export const greeting = 'good morning';\n");
    expect(build({ root: dir })).toMatchObject({ compiled: true, reason: 'lib/greeting.ts changed' });
    expect(runBin()).toBe('good morning');
  });

  it('when a file that is only imported changes, then it compiles again', () => {
    write(
      dir,
      'lib/greeting.ts',
      "import { punctuation } from '../extra/punctuation.js';\nexport const greeting = `hi${punctuation}`;\n",
    );
    build({ root: dir });
    expect(runBin()).toBe('hi.');
    rewriteWithOldTime(dir, 'extra/punctuation.ts', "export const punctuation = '!';\n");
    expect(build({ root: dir })).toMatchObject({ compiled: true, reason: 'extra/punctuation.ts changed' });
    expect(runBin()).toBe('hi!');
  });

  it('when an output was deleted, then it is written again', () => {
    rmSync(path.join(dir, 'dist', 'lib', 'greeting.js'));
    expect(build({ root: dir })).toMatchObject({
      compiled: true,
      reason: 'the output of lib/greeting.ts is missing',
    });
    expect(runBin()).toBe('hi!');
  });

  it('when a file is added, then it compiles it', () => {
    write(dir, 'lib/farewell.ts', "export const farewell = 'bye';\n");
    expect(build({ root: dir })).toMatchObject({ compiled: true, reason: 'lib/farewell.ts is new' });
    expect(existsSync(path.join(dir, 'dist', 'lib', 'farewell.js'))).toBe(true);
  });

  it('when tsc fails, then the build fails, keeps no record, and the next build compiles again', () => {
    write(dir, 'lib/farewell.ts', "export const farewell: number = 'bye';\n");
    expect(() => build({ root: dir })).toThrow(CompileError);
    expect(existsSync(path.join(dir, 'dist', BUILD_RECORD))).toBe(false);
    write(dir, 'lib/farewell.ts', "export const farewell = 'bye';\n");
    expect(build({ root: dir })).toMatchObject({ compiled: true, reason: 'no record of an earlier build' });
    expect(build({ root: dir })).toMatchObject({ compiled: false });
  });

  it('when a bin in package.json was not built, then the build says so', () => {
    write(
      dir,
      'package.json',
      JSON.stringify({ name: 'greet', type: 'module', bin: { greet: 'dist/bin/nope.js' } }),
    );
    expect(() => build({ root: dir })).toThrow('package.json bin dist/bin/nope.js was not built');
  });

  it("Elevate's own bin is built from a source that starts with a shebang, so that it can run by itself", () => {
    const { bin: bins } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      bin: Record<string, string>;
    };
    expect(bins.elevate).toBe('dist/bin/elevate.js');
    expect(readFileSync(path.join(repoRoot, 'bin', 'elevate.ts'), 'utf8')).toMatch(
      /^#!\/usr\/bin\/env node\n/,
    );
  });
});

describe('the workflow bundle (only when its inputs changed)', () => {
  let dir: string;
  const out = () => path.join(dir, 'workflow-bundle.js');
  const bundle = () =>
    bundleWorkflows({ workflowsPath: path.join(dir, 'workflows', 'index.js'), out: out(), root: dir });

  beforeAll(() => {
    dir = tempProject({
      'workflows/index.js': "export * from './greet-workflow.js';\n",
      'workflows/greet-workflow.js':
        "import { log } from '@temporalio/workflow';\nimport { word } from '../shared/word.js';\nexport async function greet() { log.info(word); return word; }\n",
      'shared/word.js': "export const word = 'first-word';\n",
      'shared/unrelated.js': "export const other = 'not imported by any workflow';\n",
    });
    // The bundler resolves the SDK from here; its digest is Elevate's installed packages.
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
  });

  it('when asked for the modules a workflow entry is made of, then it follows relative imports only', () => {
    expect(localImportGraph(path.join(dir, 'workflows', 'index.js'))).toEqual(
      ['shared/word.js', 'workflows/greet-workflow.js', 'workflows/index.js'].map((f) => path.join(dir, f)),
    );
  });

  it('when nothing it is made of changed, then it is not bundled again; when a module changed, then it is', async () => {
    expect(await bundle()).toEqual({ bundled: true });
    expect(readFileSync(out(), 'utf8')).toContain('first-word');
    const made = statSync(out()).mtimeMs;

    write(dir, 'shared/unrelated.js', "export const other = 'changed';\n");
    expect(await bundle()).toEqual({ bundled: false });
    expect(statSync(out()).mtimeMs).toBe(made);

    rewriteWithOldTime(dir, 'shared/word.js', "export const word = 'second-word';\n");
    expect(await bundle()).toEqual({ bundled: true });
    const code = readFileSync(out(), 'utf8');
    expect(code).toContain('second-word');
    expect(code).not.toContain('first-word');
  });

  it('when the bundle was deleted, then it is made again', async () => {
    rmSync(out());
    expect(await bundle()).toEqual({ bundled: true });
    expect(existsSync(out())).toBe(true);
  });
});
