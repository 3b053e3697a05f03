// @ts-check
import tseslint from 'typescript-eslint';
import { createNodeResolver, importX } from 'eslint-plugin-import-x';
import { builtinModules } from 'node:module';

/** Every top-level folder of source code, bottom layer first. */
const FOLDERS = [
  // The client libraries ship on their own: they import nothing of Elevate's.
  'clients',
  'core',
  'config',
  'integrations',
  'store',
  'dev',
  'workflows',
  'domain',
  'activities',
  'server',
  'worker',
  'runtime',
  'bin',
  'scripts',
];

/**
 * The folders of ours each folder may import: only those below it (docs/architecture.md).
 * @type {Record<string, string[]>}
 */
const MAY_IMPORT = {
  clients: [],
  core: [],
  config: ['core'],
  integrations: ['core'],
  store: ['core'],
  dev: ['core'],
  workflows: ['core'],
  domain: ['core', 'config', 'integrations', 'store', 'workflows'],
  activities: ['core', 'config', 'integrations', 'store', 'domain'],
  server: ['core', 'config', 'integrations', 'store', 'domain'],
  worker: ['core', 'config', 'integrations', 'store', 'workflows', 'activities'],
  // The composition roots and the CLI: every folder below them.
  runtime: FOLDERS.slice(0, FOLDERS.indexOf('runtime')),
  bin: FOLDERS.slice(0, FOLDERS.indexOf('bin')),
  scripts: FOLDERS.filter((f) => f !== 'scripts'),
};

/** @typedef {{ target: string, from: string | string[], message: string }} Zone */

/** @type {Zone[]} */
const FOLDER_ZONES = FOLDERS.map((folder) => ({
  target: `./${folder}`,
  from: FOLDERS.filter((f) => f !== folder && !(MAY_IMPORT[folder] ?? []).includes(f)).map((f) => `./${f}`),
  message: `${folder}/ may import only ${(MAY_IMPORT[folder] ?? []).join(', ') || 'libraries, not other folders of Elevate'}`,
})).filter((zone) => zone.from.length > 0);

/** @type {Zone[]} */
const LAYER_ZONES = [
  ...FOLDER_ZONES,
  // Nothing that ships imports the tests: their servers and stand-ins live in dev/.
  { target: './!(test)/**', from: './test', message: 'only tests import test/' },
];

export default tseslint.config(
  { ignores: ['dist/**', 'clients/*/dist/**', 'node_modules/**', 'data/**', '.tmp/**', 'test/histories/**'] },
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { project: './tsconfig.check.json', tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
      // The layers (docs/architecture.md): each folder imports only the folders below it.
      'import-x/no-restricted-paths': ['error', { zones: LAYER_ZONES }],
    },
    settings: {
      // Imports name the compiled `.js`; resolve them to the `.ts` beside them.
      'import-x/resolver-next': [createNodeResolver({ extensionAlias: { '.js': ['.ts', '.tsx', '.js'] } })],
    },
  },
  {
    // Workflow code is replayed and must be deterministic: no Node built-ins, no I/O
    // libraries, nothing from outside workflows/ except as types.
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: builtinModules.map((name) => ({ name, message: 'Workflow code must not do I/O.' })),
          patterns: [
            { group: ['node:*'], message: 'Workflow code must not do I/O.' },
            {
              // Besides the SDK: pure, deterministic libraries for checking decision signatures,
              // and the core's model, rules and error names (checked for purity below).
              regex:
                '^(?!@temporalio/workflow$|@noble/curves/ed25519\\.js$|@scure/base$|\\./|\\.\\./core/(?:model|rules|errors)/)',
              allowTypeImports: true,
              message:
                'Workflows import values only from @temporalio/workflow, the signature libraries (@noble/curves, @scure/base), workflows/ and core/{model,rules,errors}; use `import type` for the rest.',
            },
          ],
        },
      ],
    },
  },
  {
    // What the workflows import from the core runs in their sandbox too, and the ports are
    // contracts only: no Node built-ins.
    files: ['core/model/**/*.ts', 'core/rules/**/*.ts', 'core/errors/**/*.ts', 'core/ports/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: builtinModules.map((name) => ({ name, message: 'Workflow code imports this: no I/O.' })),
          patterns: [{ group: ['node:*'], message: 'Workflow code imports this: no I/O.' }],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
