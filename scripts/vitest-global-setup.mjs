// Vitest's global setup: rebuild the Node bundles (esbuild, about a second) before any test, so
// tests that run the real CLI (bin/pagescope.mjs -> dist/cli.mjs) or Electron's main bundle run
// the code as it is now, not a stale build; and the UI (dist/renderer) when it is older than its
// sources, here once rather than in the first e2e file that needs it: system files run in
// parallel, and two of them building it at once would each serve the other a half-written folder.
import { ensureRendererBuilt } from '../e2e/helpers.ts';
import { buildNode } from './build.mjs';

export default async function setup() {
  await buildNode();
  ensureRendererBuilt();
}
