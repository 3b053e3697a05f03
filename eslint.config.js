// @ts-check
import tseslint from 'typescript-eslint';
import { importX } from 'eslint-plugin-import-x';
import { builtinModules } from 'node:module';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', '.tmp/**', 'test/histories/**'] },
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
              // Besides the SDK: pure, deterministic libraries for checking decision signatures.
              regex: '^(?!@temporalio/workflow$|@noble/curves/ed25519\\.js$|@scure/base$|\\./)',
              allowTypeImports: true,
              message:
                'Workflows import values only from @temporalio/workflow, the signature libraries (@noble/curves, @scure/base) and workflows/; use `import type` for the rest.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.js'],
    ...tseslint.configs.disableTypeChecked,
  },
);
