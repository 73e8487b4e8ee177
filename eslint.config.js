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
  { files: ['**/*.cjs'], languageOptions: { sourceType: 'commonjs' } },
);
