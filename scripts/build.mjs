#!/usr/bin/env node
// The build: TypeScript is compiled here, once, never at run time.
//
//   node scripts/build.mjs            everything (what `npm run build` and postinstall run)
//   node scripts/build.mjs --node     only the Node bundles (esbuild, ~1 s; vitest's global setup)
//   node scripts/build.mjs --renderer only the UI (Vite)
//
// Node bundles (esbuild): the CLI (dist/cli.mjs), Electron's main and preload (dist/electron/),
// and every program pagescope starts on its own (SPAWNED_ENTRIES). Everything is bundled except
// koffi (native code, loaded from node_modules) and electron (provided by the Electron binary).
// The UI (Vite): renderer/ -> dist/renderer, served by `pagescope serve` and loaded by Electron.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * Programs pagescope starts as worker threads or child processes, by name: source core/NAME.ts,
 * bundle dist/NAME.mjs. THE list: to add one, add its name here and start it with entryCommand()
 * or startWorker() from core/runtime/entry.ts (which finds the bundle or, from source, the .ts).
 */
export const SPAWNED_ENTRIES = [
  'session/worker',
  'demo/workload',
  'watch/attach-helper',
  'host/heavy-worker',
  'host/group-worker',
];

/** Every Node bundle: [source, output under dist/, format]. */
export const NODE_BUNDLES = [
  // Split: `pagescope --help` and `ps` load neither the web host (ws, zod) nor the watcher, whose
  // chunks (dist/cli-*.mjs) load with their subcommand; this halves the CLI's own start-up cost.
  ['core/cli/bin.ts', 'cli.mjs', 'esm'],
  ['electron/main.ts', 'electron/main.mjs', 'esm'],
  // Sandboxed preloads cannot be ES modules.
  ['electron/preload.ts', 'electron/preload.cjs', 'cjs'],
  ...SPAWNED_ENTRIES.map((name) => [`core/${name}.ts`, `${name}.mjs`, 'esm']),
];

/** Native or host-provided: loaded at run time, never bundled. */
export const EXTERNAL = ['koffi', 'electron'];

/**
 * esbuild options for one Node bundle written to `outfile` (absolute). Exported for tests that
 * bundle electron/main.ts with a stand-in electron module.
 */
export function nodeBundleOptions(source, outfile, format = 'esm') {
  const toDist = path.relative(path.dirname(outfile), path.join(ROOT, 'dist')) || '.';
  return {
    absWorkingDir: ROOT,
    entryPoints: [source],
    outfile,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format,
    external: EXTERNAL,
    // core/runtime/entry.ts: where dist/ is, seen from this bundle's file.
    define: { __PAGESCOPE_DIST__: JSON.stringify(toDist) },
    // Bundled CommonJS dependencies (commander, ws...) call require().
    banner:
      format === 'esm'
        ? {
            js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
          }
        : {},
    sourcemap: true,
    legalComments: 'linked',
    logLevel: 'warning',
  };
}

/**
 * Writes esbuild's output files, each only when its bytes changed and then whole (a temporary
 * file renamed over it): a CLI started while the build runs (a second test run in the same clone,
 * a test that rebuilds) never loads a half-written or missing bundle. Returns the paths written
 * or kept.
 */
function writeOutputs(outputFiles) {
  for (const f of outputFiles) {
    fs.mkdirSync(path.dirname(f.path), { recursive: true });
    let same = false;
    try {
      same = Buffer.compare(fs.readFileSync(f.path), f.contents) === 0;
    } catch {
      // not there yet
    }
    if (same) continue;
    const tmp = `${f.path}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, f.contents);
    fs.renameSync(tmp, f.path);
  }
  return new Set(outputFiles.map((f) => f.path));
}

/** The CLI with its subcommands in chunks next to it (dist/cli-*.mjs; old ones removed after). */
async function buildCli(source, out) {
  const dist = path.join(ROOT, 'dist');
  const { outfile, ...options } = nodeBundleOptions(source, path.join(dist, out));
  const { outputFiles } = await build({
    ...options,
    entryPoints: { [path.basename(outfile, '.mjs')]: source },
    outdir: dist,
    splitting: true,
    chunkNames: 'cli-[name]-[hash]',
    outExtension: { '.js': '.mjs' },
    write: false,
  });
  const kept = writeOutputs(outputFiles);
  for (const f of fs.readdirSync(dist))
    if (/^cli-.*\.mjs(\.map)?$/.test(f) && !kept.has(path.join(dist, f)))
      fs.rmSync(path.join(dist, f), { force: true });
}

export async function buildNode() {
  await Promise.all(
    NODE_BUNDLES.map(async ([source, out, format]) => {
      if (out === 'cli.mjs') return buildCli(source, out);
      const options = nodeBundleOptions(source, path.join(ROOT, 'dist', out), format);
      writeOutputs((await build({ ...options, write: false })).outputFiles);
    }),
  );
}

export function buildRenderer() {
  const vite = path.join(ROOT, 'node_modules/vite/bin/vite.js');
  const r = spawnSync(
    process.execPath,
    [vite, 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn'],
    // Always a production build: Vite takes NODE_ENV as it finds it, and under vitest (NODE_ENV
    // =test) it would build React's development code and keep the ?fake development bridge.
    { cwd: ROOT, stdio: 'inherit', env: { ...process.env, NODE_ENV: 'production' } },
  );
  if (r.status !== 0) throw new Error('the UI build (vite) failed: see above.');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const only = process.argv[2];
  if (only && only !== '--node' && only !== '--renderer') {
    console.error(`build.mjs: unknown option ${only} (use --node or --renderer)`);
    process.exit(2);
  }
  const t0 = performance.now();
  try {
    if (only !== '--renderer') {
      fs.rmSync(path.join(ROOT, 'dist/electron'), { recursive: true, force: true });
      await buildNode();
    }
    if (only !== '--node') buildRenderer();
  } catch (err) {
    console.error(`pagescope build: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }
  const what = only === '--node' ? 'Node bundles' : only === '--renderer' ? 'UI' : 'everything';
  console.log(`pagescope: built ${what} in dist/ (${Math.round(performance.now() - t0)} ms)`);
}
