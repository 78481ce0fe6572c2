/**
 * The CLI's compile cache (bin/compile-cache.mjs): used, shared by CLIs started at once, never
 * run stale after a rebuild, and never taken from a folder another user could write. The real
 * `pagescope` command (bin/pagescope.mjs), its cache folder given by XDG_CACHE_HOME.
 *
 * Three cases at a time (describe.concurrent, vi.setConfig's maxConcurrency), each with folders
 * of its own: a CLI start here is a quarter second of CPU but seconds of waiting for a CPU on a
 * busy machine, so the cases' waits overlap. CLIs run without blocking (runAsync); the folders
 * are removed after the last case (an afterEach would remove those of a case still running).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { CLI, REPO, runAsync } from '../testing/watch-support.ts';

vi.setConfig({ maxConcurrency: 3 });

/** Why no cache is written here: Node before 22.1 has no module.enableCompileCache. */
const NO_CACHE =
  typeof (module as { enableCompileCache?: unknown }).enableCompileCache === 'function'
    ? null
    : `Node ${process.version} has no module.enableCompileCache (22.1+): nothing is cached`;

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});
const tmp = (): string => {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-cc-'));
  dirs.push(d);
  return d;
};

const VERSION = `pagescope ${(JSON.parse(fs.readFileSync(path.join(REPO, 'package.json'), 'utf8')) as { version: string }).version}`;

/** Every file under `dir` (the cache's entries sit in a folder Node names per version). */
function files(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .flatMap((e) => (e.isFile() ? [path.join(e.parentPath, e.name)] : []));
}

/** This environment without Node's own compile cache settings, plus `env`. */
function envWith(env: Record<string, string>): NodeJS.ProcessEnv {
  const out = { ...process.env, ...env };
  delete out.NODE_COMPILE_CACHE;
  delete out.NODE_DISABLE_COMPILE_CACHE;
  return out;
}

async function run(
  cli: string,
  env: Record<string, string>,
  args = ['--version'],
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const r = await runAsync(process.execPath, [cli, ...args], {
    env: envWith(env),
    timeoutMs: 60_000,
  });
  return { status: r.code, stdout: r.out, stderr: r.err };
}

const cacheOf = (xdg: string): string => path.join(xdg, 'pagescope', 'compile-cache');

describe.concurrent("the CLI's compile cache", () => {
  it('is written on the first run and used by the next, with the same output', async (ctx) => {
    if (NO_CACHE) ctx.skip(NO_CACHE);
    const xdg = tmp();
    const env = { XDG_CACHE_HOME: xdg, TMPDIR: tmp() };
    expect(await run(CLI, env)).toEqual({ status: 0, stdout: `${VERSION}\n`, stderr: '' });
    const written = files(cacheOf(xdg));
    expect(written.length, 'cache entries after the first run').toBeGreaterThan(0);
    expect(fs.statSync(path.join(xdg, 'pagescope')).mode & 0o077).toBe(0);
    expect(await run(CLI, env)).toEqual({ status: 0, stdout: `${VERSION}\n`, stderr: '' });
  });

  it('is shared by 8 CLIs started at once, cold and then warm', async () => {
    const xdg = tmp();
    const env = envWith({ XDG_CACHE_HOME: xdg, TMPDIR: tmp() });
    for (const round of ['cold', 'warm']) {
      const runs = await Promise.all(
        Array.from(
          { length: 8 },
          () =>
            new Promise<string>((resolve) => {
              const c = spawn(process.execPath, [CLI, '--version'], { env });
              let out = '';
              c.stdout.on('data', (d: Buffer) => (out += d.toString()));
              c.stderr.on('data', (d: Buffer) => (out += d.toString()));
              c.on('close', (code) => resolve(`${code} ${out}`));
            }),
        ),
      );
      expect(runs, `${round} cache`).toEqual(Array(8).fill(`0 ${VERSION}\n`));
    }
    expect(files(cacheOf(xdg)).filter((f) => !/\/[0-9a-f]+$/.test(f))).toEqual([]); // no temporaries left
  });

  it('never runs a rebuilt bundle from the old one’s cache (same path, size and time)', async (ctx) => {
    if (NO_CACHE) ctx.skip(NO_CACHE);
    // A package of its own: the real launcher, a stand-in dist/cli.mjs rewritten in place.
    const pkg = tmp();
    fs.mkdirSync(path.join(pkg, 'bin'));
    fs.mkdirSync(path.join(pkg, 'dist'));
    for (const f of ['pagescope.mjs', 'compile-cache.mjs'])
      fs.copyFileSync(path.join(REPO, 'bin', f), path.join(pkg, 'bin', f));
    const bundle = path.join(pkg, 'dist/cli.mjs');
    const when = new Date('2026-01-01T00:00:00Z');
    const env = { XDG_CACHE_HOME: tmp(), TMPDIR: tmp() };
    const cli = path.join(pkg, 'bin/pagescope.mjs');
    for (const word of ['one', 'two', 'one']) {
      fs.writeFileSync(bundle, `export const w = '${word}';\nconsole.log(w);\n`);
      fs.utimesSync(bundle, when, when);
      expect(await run(cli, env)).toEqual({ status: 0, stdout: `${word}\n`, stderr: '' });
      expect(files(cacheOf(env.XDG_CACHE_HOME)).length).toBeGreaterThan(0);
    }
  });

  it('is not used from a folder others may write, and no usable folder means no cache and nothing left', async () => {
    const xdg = tmp();
    fs.mkdirSync(path.join(xdg, 'pagescope'), { mode: 0o777 });
    fs.chmodSync(path.join(xdg, 'pagescope'), 0o777);
    const tmpdir = tmp();
    expect(await run(CLI, { XDG_CACHE_HOME: xdg, TMPDIR: tmpdir })).toEqual({
      status: 0,
      stdout: `${VERSION}\n`,
      stderr: '',
    });
    expect(files(xdg)).toEqual([]);
    expect(fs.readdirSync(tmpdir)).toEqual([]);

    // Unusable (a file where the folder would be): no cache, same output, nothing said or left.
    const file = path.join(tmp(), 'not-a-folder');
    fs.writeFileSync(file, '');
    expect(await run(CLI, { XDG_CACHE_HOME: file, TMPDIR: tmpdir })).toEqual({
      status: 0,
      stdout: `${VERSION}\n`,
      stderr: '',
    });
    expect(fs.readdirSync(tmpdir)).toEqual([]);
  });

  it('is not used from a folder owned by another user (as root)', async (ctx) => {
    if (process.getuid!() !== 0) ctx.skip('needs root to make a folder owned by another user');
    const xdg = tmp();
    const theirs = path.join(xdg, 'pagescope', 'compile-cache');
    fs.mkdirSync(theirs, { recursive: true, mode: 0o700 });
    fs.chownSync(path.join(xdg, 'pagescope'), 65534, 65534);
    fs.chownSync(theirs, 65534, 65534);
    expect((await run(CLI, { XDG_CACHE_HOME: xdg, TMPDIR: tmp() })).stdout).toBe(`${VERSION}\n`);
    expect(files(theirs)).toEqual([]);
  });
});
