/**
 * Whether the Electron binary exists, and the one sentence both Electron test files skip with
 * when it does not (build machines without network cannot download it at install time).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ELECTRON_DIST = path.join(ROOT, 'node_modules/electron/dist');

/** Why the real Electron window cannot be tested here, or null when it can. */
export function electronMissingReason(): string | null {
  if (!fs.existsSync(ELECTRON_DIST))
    return "the Electron binary is not installed (node_modules/electron/dist is missing: npm's postinstall could not download it; that needs the network)";
  if (!fs.existsSync(path.join(ROOT, 'electron/build.mjs')))
    return 'electron/build.mjs (the Electron main and preload build) is missing';
  return null;
}
