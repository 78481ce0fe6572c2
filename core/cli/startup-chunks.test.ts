/**
 * What the CLI's `watch` loads before it attaches (issue 24: attach to a busy process within
 * about a second). On a loaded machine every module costs several times its quiet-machine
 * time, so the watch path (dist/cli-watch-*.mjs, dist/cli-watch-group-*.mjs and every chunk
 * they import statically) must not load zod (~80 ms of parsing when quiet: the protocol's
 * schemas are for the app's host and recordings, not for a watch on the command line).
 * Reads the build vitest's global setup made.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../../scripts/build.mjs';

const DIST = path.join(ROOT, 'dist');

/** The chunk `name` and every chunk it imports statically (a dynamic import() loads later). */
function staticClosure(name: string): string[] {
  const seen = new Set<string>();
  const walk = (file: string): void => {
    if (seen.has(file)) return;
    seen.add(file);
    const text = fs.readFileSync(path.join(DIST, file), 'utf8');
    for (const m of text.matchAll(/^(?:import|\} from) .*?"\.\/([^"]+)";$/gm)) walk(m[1]);
  };
  walk(name);
  return [...seen];
}

const chunk = (prefix: string): string => {
  const found = fs
    .readdirSync(DIST)
    .filter((f) => new RegExp(`^${prefix}-[A-Z0-9]+\\.mjs$`).test(f));
  expect(found).toHaveLength(1);
  return found[0];
};

describe("the CLI's watch start-up", () => {
  it.each(['cli-watch', 'cli-watch-group'])('%s loads no zod before attaching', (prefix) => {
    const files = staticClosure(chunk(prefix));
    expect(files.length).toBeGreaterThan(1);
    const withZod = files.filter((f) =>
      fs.readFileSync(path.join(DIST, f), 'utf8').includes('node_modules/zod/'),
    );
    expect(withZod).toEqual([]);
  });

  it('the walk sees zod where it is loaded (serve)', () => {
    const files = staticClosure(chunk('cli-serve'));
    expect(
      files.some((f) => fs.readFileSync(path.join(DIST, f), 'utf8').includes('node_modules/zod/')),
    ).toBe(true);
  });
});
