// ESLint for the whole repo (TypeScript via typescript-eslint). Layer rules live in
// .dependency-cruiser.cjs; both run in `npm run lint`, which CI runs.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', '**/dist/**', 'test-results/**', 'playwright-report/**', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-restricted-syntax': [
        'error',
        { selector: 'TSEnumDeclaration', message: 'enums are not erasable syntax; use a union of string literals' },
        { selector: 'TSParameterProperty', message: 'parameter properties are not erasable syntax' },
      ],
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      'no-console': 'off',
    },
  },
  {
    // Node's child_process with a shell interprets strings: never build shell commands from input.
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { paths: [{ name: 'node:child_process', importNames: ['exec', 'execSync'], message: 'use execFile/spawn with an argument array, never a shell string' }] },
      ],
    },
  },
);
