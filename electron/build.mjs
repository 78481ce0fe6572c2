// Bundles the Electron main process (ESM) and preload (CommonJS: sandboxed preloads cannot be
// ESM) into dist/electron with esbuild. koffi (native) and electron stay external; the session
// worker is not bundled: it runs from the source tree through tsx (core/session/worker-bootstrap.mjs).
import { build } from 'esbuild';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  absWorkingDir: root,
};

await Promise.all([
  build({
    ...common,
    entryPoints: ['electron/main.ts'],
    outfile: 'dist/electron/main.mjs',
    format: 'esm',
    external: ['electron', 'koffi', 'tsx', 'tsx/*'],
    // Bundled CommonJS dependencies (commander, zod...) may call require().
    banner: {
      js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
    },
  }),
  build({
    ...common,
    entryPoints: ['electron/preload.ts'],
    outfile: 'dist/electron/preload.cjs',
    format: 'cjs',
    external: ['electron'],
  }),
]);
console.log('built dist/electron/main.mjs and dist/electron/preload.cjs');
