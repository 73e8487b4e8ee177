// Lint: ESLint's and typescript-eslint's recommended rules, type-checked for the
// TypeScript (no-floating-promises and no-misused-promises see every Promise).
// Formatting is Prettier's (.prettierrc.json); no rule here is about layout.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'test/server/', 'fixtures/'] },
  js.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      globals: globals.node,
      parserOptions: { projectService: { allowDefaultProject: ['vitest.config.ts'] }, tsconfigRootDir: import.meta.dirname },
    },
  },
  // Plain JavaScript (bin/, bench/, scripts/, test/support/) is outside tsconfig: no type information.
  { files: ['**/*.js', '**/*.cjs', '**/*.mjs'], extends: [tseslint.configs.disableTypeChecked] },
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs' }, rules: { '@typescript-eslint/no-require-imports': 'off' } },
  // The page's modules run in the browser (bundled by scripts/page.js): its globals, not Node's.
  {
    files: ['src/serve/page/**/*.js'],
    languageOptions: { globals: { ...Object.fromEntries(Object.keys(globals.node).map((g) => [g, 'off'])), ...globals.browser } },
  },
  // Rules that fight the project's deliberate style, each with its reason:
  {
    rules: {
      // A leading _ marks a value left out on purpose (a field dropped by destructuring, an unused parameter).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', ignoreRestSiblings: true }],
      // Control characters in a regex are the point: terminal text is cleaned of them, tests look for ANSI escapes.
      'no-control-regex': 'off',
      // A `let` that a closure declared above it reads once it is set (a test's hook that needs the object made after it).
      'prefer-const': ['error', { ignoreReadBeforeAssign: true }],
    },
  },
  // yargs types option values loosely ({}); String(argv.x) is the deliberate conversion to text.
  { files: ['src/cli.ts', 'src/commands/**', 'src/pipeline/wait.ts'], rules: { '@typescript-eslint/no-base-to-string': 'off' } },
  {
    files: ['test/**'],
    rules: {
      // Tests read JSON answers (JSON.parse, the API, bench results) and check them with expect; typing each answer first adds nothing.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // Fakes of the kitchen implement its async interface without having anything to await.
      '@typescript-eslint/require-await': 'off',
    },
  },
  // The bench's waits run inside chromium (page.waitForFunction), where document is defined.
  { files: ['bench/run.js'], languageOptions: { globals: { document: 'readonly' } } },
);
