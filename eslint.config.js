// Lint the TypeScript sources; the compiled output and the example backend's scripts are not ours to lint here.
import js from '@eslint/js';
import stylistic from '@stylistic/eslint-plugin';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.demo/**', 'example/**', 'bin/**', 'test/*.cjs', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    plugins: { '@stylistic': stylistic },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      // Prettier breaks code at 120 but not strings, template literals, comments or regexes: break those by
      // hand ('a ' + 'b', or new RegExp(/a/.source + /b/.source)), so no line of ours is wider than 120.
      '@stylistic/max-len': ['error', { code: 120 }],
    },
  },
  // Tool configs that their tools load with require() (dependency-cruiser).
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { module: 'writable', require: 'readonly' } },
  },
);
