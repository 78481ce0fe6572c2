/**
 * A rebuild of the Node bundles that changes nothing writes nothing: every bundle and CLI chunk
 * keeps its file (same inode, same mtime), so a CLI started while a second test run or a test
 * rebuilds (vitest's global setup, `build.mjs --node`) never finds a chunk missing or half
 * written. Before, the CLI's chunks were deleted and written again on every build: a run's
 * signals.test.ts saw `pagescope serve` exit at start ("stdout ended") while another run in the
 * same clone built.
 */
import fs from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { buildNode, ROOT } from './build.mjs';

/** Every file under dist/ but the UI and test-tmp, with its inode and mtime. */
function bundles(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) {
        if (!['renderer', 'test-tmp'].includes(e.name)) walk(p);
      } else {
        const s = fs.statSync(p);
        out.set(path.relative(ROOT, p), `${s.ino} ${s.mtimeMs}`);
      }
    }
  };
  walk(path.join(ROOT, 'dist'));
  return out;
}

it('a rebuild with nothing changed leaves every bundle and chunk file as it was', async () => {
  await buildNode(); // whatever the global setup left, now current
  const before = bundles();
  expect([...before.keys()].filter((f) => /^dist\/cli-.*\.mjs$/.test(f)).length).toBeGreaterThan(3);
  await buildNode();
  expect(bundles()).toEqual(before);
});
