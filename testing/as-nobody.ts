/**
 * Whether a test can run pagescope as user nobody (uid 65534) from this checkout: it must be
 * root to switch, and nobody must be able to read the tree. A checkout under a private directory
 * (`mktemp -d` makes them 0700) cannot be read by nobody; such a test then skips with the reason
 * instead of failing on a module nobody may not load.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const NOBODY = 65534;

/** null when pagescope can run as nobody here, else why not. */
export function cannotRunAsNobody(): string | null {
  if (process.getuid?.() !== 0) return 'needs root to switch to user nobody';
  const probe = path.join(ROOT, 'package.json');
  const r = spawnSync(
    process.execPath,
    ['-e', `require('fs').accessSync(${JSON.stringify(probe)}, require('fs').constants.R_OK)`],
    { uid: NOBODY, gid: NOBODY, stdio: 'ignore' },
  );
  return r.status === 0
    ? null
    : `user nobody cannot read this checkout (${ROOT}: a parent directory is private)`;
}
