#!/usr/bin/env node
// `npm run check`: lint, format check and both typechecks, as many at a time as there are cores
// (each is one single-threaded process; in a row they were most of `npm test`'s first minutes).
// Each one's output is printed whole when it ends; the exit code is 1 when any failed.
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => path.join(ROOT, 'node_modules/.bin', name);

// Each keeps what it learnt under node_modules/.cache (eslint's and prettier's results per file,
// tsc's build info): a second run checks only what changed since (a fresh clone has none).
const CACHE = path.join(ROOT, 'node_modules/.cache/pagescope-check');
const CHECKS = [
  ['eslint', [bin('eslint'), '--cache', '--cache-location', `${CACHE}/eslint`, '.']],
  [
    'prettier',
    [bin('prettier'), '--check', '--cache', '--cache-location', `${CACHE}/prettier`, '.'],
  ],
  [
    'tsc',
    [bin('tsc'), '-p', 'tsconfig.json', '--incremental', '--tsBuildInfoFile', `${CACHE}/tsc-main`],
  ],
  [
    'tsc (renderer)',
    [
      bin('tsc'),
      '-p',
      'renderer/tsconfig.json',
      '--incremental',
      '--tsBuildInfoFile',
      `${CACHE}/tsc-renderer`,
    ],
  ],
];

function run([name, [cmd, ...args]]) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (err) => resolve({ name, ok: false, out: String(err) }));
    child.on('close', (code) => resolve({ name, ok: code === 0, out }));
  });
}

const queue = [...CHECKS];
let failed = 0;
async function worker() {
  for (let c = queue.shift(); c; c = queue.shift()) {
    const r = await run(c);
    process.stdout.write(`${r.ok ? 'ok' : 'FAILED'}: ${r.name}\n${r.ok ? '' : r.out}`);
    if (!r.ok) failed++;
  }
}
await Promise.all(
  Array.from({ length: Math.min(os.availableParallelism(), CHECKS.length) }, worker),
);
process.exit(failed ? 1 : 0);
