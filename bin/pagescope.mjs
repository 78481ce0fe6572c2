#!/usr/bin/env node
// The `pagescope` command: the bundled CLI (dist/cli.mjs, made by `npm install` / `npm run build`;
// shipped built in the npm package). No TypeScript at run time. The compile cache first: every
// module loaded after it is compiled from V8's cache of the last run (bin/compile-cache.mjs).
import { enableCompileCache } from './compile-cache.mjs';

enableCompileCache();
try {
  await import('../dist/cli.mjs');
} catch (err) {
  if (err?.code !== 'ERR_MODULE_NOT_FOUND' || !String(err.message).includes('dist/cli.mjs'))
    throw err;
  console.error('pagescope: dist/cli.mjs is missing: run `npm run build` in the project first.');
  process.exitCode = 2;
}
