// ESLint flat config. Besides the usual TypeScript rules it enforces DESIGN.md's layering:
// core knows nothing of Electron or React; core/protocol imports nothing but itself; the renderer
// reaches the engine only through core/protocol.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = [
  'node:*',
  'fs',
  'path',
  'os',
  'child_process',
  'worker_threads',
  'net',
  'http',
];

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'dist/**',
      'release/**',
      'test-results/**',
      'scratch/**',
      '**/*.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'off',
    },
  },
  {
    files: ['core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['electron', 'react', 'react-dom', 'zustand'],
          patterns: [
            {
              group: ['**/electron/**', '**/renderer/**'],
              message: 'core must not depend on the UI or Electron layers.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['core/protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*'],
              message: 'core/protocol is shared with the renderer: it imports only itself.',
            },
            { group: NODE_BUILTINS, message: 'core/protocol must not use Node APIs.' },
            { group: ['koffi'], message: 'core/protocol must not use native code.' },
          ],
        },
      ],
    },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: ['electron', 'koffi', 'ws'],
          patterns: [
            {
              // A regex: gitignore-style negation does not match paths that start with '../'.
              regex: '(^|/)core/(?!protocol/)',
              message: 'The renderer may import only core/protocol.',
            },
            {
              group: ['**/electron/**'],
              message: 'The renderer talks to a Bridge, not to Electron.',
            },
            { group: NODE_BUILTINS, message: 'The renderer runs in a browser: no Node APIs.' },
          ],
        },
      ],
      // The protocol's zod schemas stay out of the page's bundle: from the files that define
      // them, the renderer takes types only.
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)core/protocol/(messages|frame|schemas)\\.ts$',
              allowTypeImports: true,
              message:
                'Import only types from the protocol schemas (zod stays out of the renderer).',
            },
          ],
        },
      ],
    },
  },
);
