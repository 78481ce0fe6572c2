// Vitest's global setup: rebuild the Node bundles (esbuild, about a second) before any test, so
// tests that run the real CLI (bin/pagescope.mjs -> dist/cli.mjs) or Electron's main bundle run
// the code as it is now, not a stale build.
import { buildNode } from './build.mjs';

export default async function setup() {
  await buildNode();
}
