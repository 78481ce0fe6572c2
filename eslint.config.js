// ESLint flat config. Besides the usual TypeScript rules it enforces DESIGN.md's layering:
// core knows nothing of Electron or React; core/protocol imports nothing but itself; the renderer
// reaches the engine only through core/protocol; nothing that ships imports test support
// (testing/): only tests, e2e/, bench/, testing/ itself and the stress script may.
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

/** Test files sit next to the code they test: same layering, but they may use testing/. */
const TESTS = ['**/*.test.ts', '**/*.test.tsx'];

/** Test support is for tests (a regex: group patterns do not match paths that start '../'). */
const NO_TEST_SUPPORT = {
  regex: '(^|/)testing/',
  message: 'testing/ is test support: production code must not import it.',
};

/**
 * One no-restricted-imports rule for `files` as config blocks: production files (but `skip`) get
 * NO_TEST_SUPPORT on top of the layer's own restrictions, the layer's tests only the latter.
 */
function restrictImports(files, { paths = [], patterns = [] } = {}, skip = []) {
  const rule = (more) => ['error', { paths, patterns: [...patterns, ...more] }];
  const tests = files.flatMap((f) => TESTS.map((t) => f.replace(/\*\*\/\*\.[^/]*$/, t)));
  return [
    {
      files,
      ignores: [...TESTS, ...skip],
      rules: { 'no-restricted-imports': rule([NO_TEST_SUPPORT]) },
    },
    ...(paths.length || patterns.length
      ? [{ files: tests, rules: { 'no-restricted-imports': rule([]) } }]
      : []),
  ];
}

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
  ...restrictImports(['core/**/*.ts'], {
    paths: ['electron', 'react', 'react-dom', 'zustand'],
    patterns: [
      {
        group: ['**/electron/**', '**/renderer/**'],
        message: 'core must not depend on the UI or Electron layers.',
      },
    ],
  }),
  // '../*' already keeps testing/ out of core/protocol, its tests included.
  ...restrictImports(['core/protocol/**/*.ts'], {
    patterns: [
      {
        group: ['../*'],
        message: 'core/protocol is shared with the renderer: it imports only itself.',
      },
      { group: NODE_BUILTINS, message: 'core/protocol must not use Node APIs.' },
      { group: ['koffi'], message: 'core/protocol must not use native code.' },
    ],
  }),
  { files: ['renderer/**/*.{ts,tsx}'], languageOptions: { globals: { ...globals.browser } } },
  ...restrictImports(['renderer/**/*.{ts,tsx}'], {
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
  }),
  // The other shipped code: Electron's main and preload, the launcher, the build and install
  // scripts (the stress script is a test tool).
  ...restrictImports(['electron/**/*.{ts,mjs}', 'bin/**/*.mjs', 'scripts/**/*.{ts,mjs}'], {}, [
    'scripts/stress-attach.ts',
  ]),
  // The protocol's zod schemas stay out of the page's bundle: from the files that define them,
  // the renderer takes types only.
  {
    files: ['renderer/**/*.{ts,tsx}'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)core/protocol/(messages|frame|schemas|recording|shapes)\\.ts$',
              allowTypeImports: true,
              message:
                'Import only types from the protocol schemas (zod stays out of the renderer).',
            },
          ],
        },
      ],
    },
  },
  // A test names no timeout of its own: vitest fixes `it(name, fn, 120_000)` when the file is
  // collected, so it would not scale with the machine; the projects' timeouts are scaled
  // (testing/scaled-timeouts.ts, which scales vi.waitFor's and expect.poll's limits too).
  {
    files: TESTS,
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: [
            'CallExpression[callee.name=/^(it|test|beforeAll|afterAll|beforeEach|afterEach)$/]',
            'CallExpression[callee.object.name=/^(it|test|describe)$/]',
            'CallExpression[callee.callee.object.name=/^(it|test|describe)$/]',
          ]
            .map((call) => `${call} > Literal[raw=/^[0-9][0-9_]*$/]`)
            .join(', '),
          message:
            'No literal test timeout: the project timeout is scaled (testing/scaled-timeouts.ts).',
        },
      ],
    },
  },
);
