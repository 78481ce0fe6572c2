/**
 * The tests' C (and C++) fixtures, compiled once: a build is kept in dist/test-tmp/c/ under a
 * name keyed by a hash of the compiler, its flags and the source's bytes, so every test file
 * (and every later run) that asks for the same build reuses it, and an edit of the source
 * rebuilds it. Compiling each fixture in each file that used it cost about a second of CPU a
 * file (twelve files, two cores, other files running beside them).
 *
 * Concurrent test files may ask for the same build: each compiles into a name of its own and
 * renames it into place (atomic), so a reader never sees half a file. The cache sits inside the
 * clone (dist/ is the build's; test-tmp/ is left out of the npm package and the app), not in a
 * shared /tmp path another user could plant a binary in.
 *
 * `copyBuilt` gives a caller its own copy in a folder of its own: for a test that writes beside
 * the binary (debug files, objcopy output) or needs the binary under its own name (the exporter's
 * writers: the name is the process's comm).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const C_CACHE = path.join(here, '..', 'dist', 'test-tmp', 'c');

/**
 * The path of `name`, made by `make(out)` once per key: `make` writes the file at `out`; the
 * result is reused while the key (every input that decides the output) is the same.
 */
export function cachedBuild(
  name: string,
  key: Array<string | Buffer>,
  make: (out: string) => void,
): string {
  const hash = createHash('sha256');
  for (const k of key) hash.update(k).update('\0');
  const dir = path.join(C_CACHE, `${name}-${hash.digest('hex').slice(0, 16)}`);
  const out = path.join(dir, name);
  if (fs.existsSync(out)) return out;
  fs.mkdirSync(dir, { recursive: true });
  const tmp = `${out}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    make(tmp);
    fs.renameSync(tmp, out);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
  return out;
}

/**
 * `source` (a path) compiled with `compiler` and `flags` (-O1 and the like; not -o), cached as
 * above under `name` (by default the source's name without its extension). Throws the
 * compiler's error when it fails.
 */
export function buildC(
  source: string,
  flags: string[] = ['-O1'],
  { compiler = 'gcc', name }: { compiler?: string; name?: string } = {},
): string {
  const base = name ?? path.basename(source).replace(/\.[^.]+$/, '');
  return cachedBuild(base, [compiler, ...flags, fs.readFileSync(source)], (out) =>
    execFileSync(compiler, [...flags, '-o', out, source], { stdio: ['ignore', 'ignore', 'pipe'] }),
  );
}

/** A copy of a built file at DIR/NAME (executable), for a caller that needs its own. */
export function copyBuilt(built: string, dir: string, name = path.basename(built)): string {
  const to = path.join(dir, name);
  fs.copyFileSync(built, to);
  fs.chmodSync(to, 0o755);
  return to;
}
