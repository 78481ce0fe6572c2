/**
 * How pagescope finds its own programs: the one place that knows whether this code runs from the
 * build (dist/) or from the TypeScript sources.
 *
 * pagescope starts some of its code as separate programs: the session worker (a worker thread)
 * and the demo workload (a child process). Each such "entry" has a name, which is also its place
 * in the source tree and in the build:
 *
 *   name 'demo/workload'  ->  source core/demo/workload.ts  ->  bundle dist/demo/workload.mjs
 *
 * - From the build (the npm package, `npm start`, the CLI, Electron): every bundle is made by
 *   scripts/build.mjs, which defines `__PAGESCOPE_DIST__` as the path from that bundle's own file
 *   to dist/. An entry starts as plain `node dist/NAME.mjs`: no TypeScript at run time.
 * - From the sources (vitest importing core/** directly, `tsx bench/run.ts`): the constant is
 *   undefined, and an entry starts through core/runtime/tsx-boot.mjs, which registers tsx's loader
 *   and then imports core/NAME.ts.
 * - Tests: vitest imports the sources, but its global setup has just built dist/ from them, and
 *   it sets PAGESCOPE_ENTRIES=dist (vitest.config.ts): entries start from dist/NAME.mjs as in
 *   production. Through tsx each worker or child compiled its sources again (3-8 s of CPU).
 *
 * Adding an entry: add its name to SPAWNED_ENTRIES in scripts/build.mjs, then start it with
 * entryCommand(name) (a process) or startWorker(name, options) (a worker thread).
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';

/** Set by scripts/build.mjs in every bundle: the path from the bundle's file to dist/. */
declare const __PAGESCOPE_DIST__: string | undefined;

const FROM_BUNDLE = typeof __PAGESCOPE_DIST__ === 'string';

/**
 * Inside Electron's app.asar a path is readable by Electron's patched fs, but a worker or child
 * process needs a real file: electron-builder unpacks dist/ entries next to it (asarUnpack).
 */
const unpacked = (p: string): string =>
  p.replace(`${path.sep}app.asar${path.sep}`, `${path.sep}app.asar.unpacked${path.sep}`);

/** The project (or installed package) root: dist/'s parent, core/'s parent. */
const ROOT = FROM_BUNDLE
  ? path.resolve(path.dirname(fileURLToPath(import.meta.url)), __PAGESCOPE_DIST__!, '..')
  : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** True when this code runs from the build (dist/), false from the TypeScript sources. */
export const BUNDLED = FROM_BUNDLE;

/** dist/: the bundles and the built UI (dist/renderer). */
export function distDir(): string {
  return path.join(ROOT, 'dist');
}

/**
 * Whether entries start from dist/: always from a bundle; from the sources only when
 * PAGESCOPE_ENTRIES=dist says dist/ was built from these very sources (vitest's global setup).
 * Read at each start, so a test can look at both ways.
 */
function entriesFromDist(): boolean {
  return FROM_BUNDLE || process.env.PAGESCOPE_ENTRIES === 'dist';
}

/** The file that runs entry `name`: dist/NAME.mjs from the build, core/NAME.ts from source. */
export function entryFile(name: string): string {
  if (!/^[a-z][a-z0-9-]*\/[a-z][a-z0-9-]*$/.test(name))
    throw new Error(`Bad entry name "${name}": expected "folder/file" under core/.`);
  return entriesFromDist()
    ? unpacked(path.join(ROOT, 'dist', `${name}.mjs`))
    : path.join(ROOT, 'core', `${name}.ts`);
}

/** tsx-boot.mjs: registers tsx in a new process or thread, then imports the file in argv[2]. */
const TSX_BOOT = path.join(ROOT, 'core/runtime/tsx-boot.mjs');

/**
 * The command that starts entry `name` as its own process, to pass to spawn(command, [...args,
 * ...yours]). Inside Electron process.execPath is the Electron binary: the caller sets
 * ELECTRON_RUN_AS_NODE=1 in the child's environment to make it a plain Node.
 */
export function entryCommand(name: string): { command: string; args: string[] } {
  const file = entryFile(name);
  return { command: process.execPath, args: entriesFromDist() ? [file] : [TSX_BOOT, file] };
}

/** Starts entry `name` as a worker thread. */
export function startWorker(name: string, options: WorkerOptions = {}): Worker {
  const file = entryFile(name);
  if (entriesFromDist()) return new Worker(file, options);
  return new Worker(TSX_BOOT, { ...options, argv: [file, ...(options.argv ?? [])] });
}
