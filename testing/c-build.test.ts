/**
 * testing/c-build.ts: a fixture is compiled once per source, flags and compiler, the next ask
 * gets the same file without compiling again, an edit of the source gives a new build, and a
 * copy is the caller's own. Runs gcc: a system test.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { buildC, copyBuilt } from './c-build.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-c-build-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

it('compiles once per source, flags and compiler; an edit rebuilds; a copy is its own', () => {
  const src = path.join(dir, 'answer.c');
  // A source of this run's own, so the first build really compiles.
  const stamp = `${process.pid}${Date.now()}`;
  fs.writeFileSync(src, `int main(void) { return ${stamp} % 100 ? 42 : 42; }\n`);
  const first = buildC(src);
  expect(path.basename(first)).toBe('answer');
  const made = fs.statSync(first);
  expect(made.mode & 0o111).not.toBe(0);
  // Asked again (another test file would ask the same): the same file, not compiled again.
  expect(buildC(src)).toBe(first);
  expect(fs.statSync(first).mtimeMs).toBe(made.mtimeMs);
  // Other flags, or an edited source: another build.
  const o2 = buildC(src, ['-O2']);
  expect(o2).not.toBe(first);
  fs.writeFileSync(src, `int main(void) { return ${stamp} % 100 ? 7 : 7; }\n`);
  const edited = buildC(src);
  expect(edited).not.toBe(first);
  expect(fs.existsSync(first)).toBe(true);
  // A copy under a name of the caller's, in its folder.
  const mine = copyBuilt(edited, dir, 'mine');
  expect(mine).toBe(path.join(dir, 'mine'));
  expect(fs.readFileSync(mine).equals(fs.readFileSync(edited))).toBe(true);
  for (const p of [first, o2, edited]) fs.rmSync(path.dirname(p), { recursive: true });
});

it('says what the compiler said when a source does not compile', () => {
  const src = path.join(dir, 'broken.c');
  fs.writeFileSync(src, `int main(void) { return ${process.pid} +; }\n`);
  expect(() => buildC(src)).toThrow(/broken\.c/);
});
