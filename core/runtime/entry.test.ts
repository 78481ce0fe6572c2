/**
 * core/runtime/entry.ts both ways: from the sources (this test imports the .ts) an entry runs
 * through tsx-boot.mjs, or from dist/NAME.mjs when PAGESCOPE_ENTRIES=dist (as vitest.config.ts
 * sets for every test); from a bundle made with scripts/build.mjs's options it is dist/NAME.mjs.
 * And the one list of spawned entries (scripts/build.mjs) matches files on both sides.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NODE_BUNDLES, nodeBundleOptions, ROOT, SPAWNED_ENTRIES } from '../../scripts/build.mjs';
import { BUNDLED, distDir, entryCommand, entryFile } from './entry.ts';

const temps: string[] = [];
/** A temp folder prefix in dist/test-tmp (left out of the npm package and the app). */
function testDir(prefix: string): string {
  fs.mkdirSync(path.join(ROOT, 'dist/test-tmp'), { recursive: true });
  return path.join(ROOT, 'dist/test-tmp', prefix);
}
afterAll(() => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

describe('entries from the sources', () => {
  const given = process.env.PAGESCOPE_ENTRIES;
  beforeEach(() => {
    delete process.env.PAGESCOPE_ENTRIES;
  });
  afterEach(() => {
    if (given === undefined) delete process.env.PAGESCOPE_ENTRIES;
    else process.env.PAGESCOPE_ENTRIES = given;
  });

  it('knows it runs from source and finds core/NAME.ts', () => {
    expect(BUNDLED).toBe(false);
    expect(distDir()).toBe(path.join(ROOT, 'dist'));
    expect(entryFile('demo/workload')).toBe(path.join(ROOT, 'core/demo/workload.ts'));
    expect(entryCommand('demo/workload')).toEqual({
      command: process.execPath,
      args: [
        path.join(ROOT, 'core/runtime/tsx-boot.mjs'),
        path.join(ROOT, 'core/demo/workload.ts'),
      ],
    });
  });

  it('with PAGESCOPE_ENTRIES=dist (the tests), starts dist/NAME.mjs with plain node', () => {
    process.env.PAGESCOPE_ENTRIES = 'dist';
    expect(BUNDLED).toBe(false);
    expect(entryFile('session/worker')).toBe(path.join(ROOT, 'dist/session/worker.mjs'));
    expect(entryCommand('demo/workload')).toEqual({
      command: process.execPath,
      args: [path.join(ROOT, 'dist/demo/workload.mjs')],
    });
    // Any other value is the sources.
    process.env.PAGESCOPE_ENTRIES = 'source';
    expect(entryFile('session/worker')).toBe(path.join(ROOT, 'core/session/worker.ts'));
  });

  it('vitest.config.ts gives every test PAGESCOPE_ENTRIES=dist', () => {
    expect(given).toBe('dist');
  });

  it('refuses names that are not folder/file under core/', () => {
    for (const bad of ['workload', '../x/y', 'demo/workload.ts', 'a/b/c', ''])
      expect(() => entryFile(bad), bad).toThrow(/Bad entry name/);
  });

  it('tsx-boot.mjs runs a .ts file with its own argv, as if started directly', () => {
    // Inside the project, like every real entry (tsx leaves a stray /tmp file untransformed).
    const dir = fs.mkdtempSync(testDir('boot-'));
    temps.push(dir);
    const file = path.join(dir, 'probe.ts');
    fs.writeFileSync(
      file,
      'const n: number = 1;\nconsole.log(JSON.stringify([n, ...process.argv.slice(1)]));\n',
    );
    const out = execFileSync(
      process.execPath,
      [path.join(ROOT, 'core/runtime/tsx-boot.mjs'), file, 'a', 'b'],
      { encoding: 'utf8' },
    );
    expect(JSON.parse(out)).toEqual([1, file, 'a', 'b']);
  });
});

describe('entries from a bundle', () => {
  it('finds dist/NAME.mjs, started by plain node', async () => {
    const dir = fs.mkdtempSync(testDir('entry-'));
    temps.push(dir);
    const probe = path.join(dir, 'probe.ts');
    fs.writeFileSync(
      probe,
      `import { BUNDLED, distDir, entryCommand } from '${path.join(ROOT, 'core/runtime/entry.ts')}';\n` +
        `console.log(JSON.stringify({ BUNDLED, dist: distDir(), cmd: entryCommand('demo/workload') }));\n`,
    );
    const outfile = path.join(dir, 'nested', 'probe.mjs');
    await build({ ...nodeBundleOptions(probe, outfile), sourcemap: false });
    const out = JSON.parse(execFileSync(process.execPath, [outfile], { encoding: 'utf8' }));
    expect(out).toEqual({
      BUNDLED: true,
      dist: path.join(ROOT, 'dist'),
      cmd: { command: process.execPath, args: [path.join(ROOT, 'dist/demo/workload.mjs')] },
    });
  });
});

describe('the list of spawned entries (scripts/build.mjs)', () => {
  it('names sources that exist, each bundled to dist/NAME.mjs by the build', () => {
    expect(SPAWNED_ENTRIES).toEqual(expect.arrayContaining(['session/worker', 'demo/workload']));
    for (const name of SPAWNED_ENTRIES) {
      expect(fs.existsSync(path.join(ROOT, 'core', `${name}.ts`)), name).toBe(true);
      expect(NODE_BUNDLES).toContainEqual([`core/${name}.ts`, `${name}.mjs`, 'esm']);
      // vitest's global setup ran the Node build.
      expect(fs.existsSync(path.join(ROOT, 'dist', `${name}.mjs`)), name).toBe(true);
    }
  });

  it('keeps only koffi out of the CLI bundle and its chunks', () => {
    const dist = path.join(ROOT, 'dist');
    const files = fs.readdirSync(dist).filter((f) => /^cli(-.*)?\.mjs$/.test(f));
    expect(files.length).toBeGreaterThan(1);
    const external = new Set<string>();
    for (const f of files) {
      const js = fs.readFileSync(path.join(dist, f), 'utf8');
      for (const m of js.matchAll(/(?:^import .* from|\bimport\()\s*["']([^"'.][^"']*)["']/gm))
        if (!m[1].startsWith('node:')) external.add(m[1]);
      expect(js, f).not.toMatch(/["']tsx(\/|["'])/);
    }
    expect(external).toEqual(new Set(['koffi']));
  });
});
