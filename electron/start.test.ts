/**
 * `npm start` (scripts/start.mjs) both ways: with an Electron binary (a stand-in script at
 * ELECTRON_OVERRIDE_DIST_PATH that prints its arguments: the real binary cannot be downloaded
 * here) it builds the bundle and opens it; without one it says so in one line and starts the
 * web host, whose URL answers. Run through npm as a user does, a signal to npm ends everything it
 * started: scripts/start.mjs, the web host and the command the host launched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { connectClient } from '../testing/serve.ts';
import { alive, procRef, signalIfSame, type ProcRef } from '../testing/proc-facts.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const START = path.join(ROOT, 'scripts/start.mjs');
const children: ChildProcess[] = [];
/** Processes a failed test may have left behind (its whole tree), ended at the end. */
const leftovers: Array<ProcRef | null> = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
  for (const ref of leftovers) signalIfSame(ref);
});

describe('npm start', () => {
  it('opens the Electron bundle when a binary exists', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-fake-electron-'));
    fs.writeFileSync(path.join(dir, 'electron'), '#!/bin/sh\necho "ELECTRON-ARGS $*"\n', {
      mode: 0o755,
    });
    const child = spawn(process.execPath, [START], {
      cwd: ROOT,
      env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: dir },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const code = await new Promise((r) => child.on('exit', r));
    fs.rmSync(dir, { recursive: true });
    expect(code).toBe(0);
    expect(out).toMatch(/ELECTRON-ARGS .*dist\/electron\/main\.mjs/);
    if (process.getuid?.() === 0) expect(out).toMatch(/ELECTRON-ARGS --no-sandbox /);
    expect(fs.existsSync(path.join(ROOT, 'dist/electron/preload.cjs'))).toBe(true);
  });

  it('says the binary is missing in one line and serves the UI instead', async () => {
    const child = spawn(process.execPath, [START, '--no-open'], {
      cwd: ROOT,
      env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: '/nonexistent/electron-dist' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    const lines = readline.createInterface({ input: child.stdout! });
    const seen: string[] = [];
    const url = await new Promise<string>((resolve, reject) => {
      child.once('exit', (c) => reject(new Error(`start exited (${c}): ${seen.join('\n')}`)));
      lines.on('line', (l) => {
        seen.push(l);
        if (l.startsWith('http://')) resolve(l);
      });
    });
    expect(seen.filter((l) => /Electron binary is missing/.test(l))).toHaveLength(1);
    // The token rides in the fragment (never sent); the page is public, its data is not.
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]{40,}$/);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toBeNull();
    expect((await fetch(url.replace(/#token=.*/, 'ws'))).status).toBe(426);
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGINT');
    expect(await exited).toBe(0);
  });
});

/** Every live descendant of `pid` (zombies count as gone). */
function descendants(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number): void => {
    let tasks: string[];
    try {
      tasks = fs.readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let kids = '';
      try {
        kids = fs.readFileSync(`/proc/${p}/task/${t}/children`, 'latin1');
      } catch {
        continue;
      }
      for (const k of kids.split(' ').filter(Boolean).map(Number)) {
        out.push(k);
        walk(k);
      }
    }
  };
  walk(pid);
  return out;
}

describe('npm start, ended by a signal to npm', () => {
  it.each(['SIGTERM', 'SIGINT', 'SIGHUP'] as const)(
    '%s ends start.mjs, the web host and the command it launched, promptly',
    async (sig) => {
      const npm = spawn('npm', ['start', '--silent', '--', '--no-open'], {
        cwd: ROOT,
        env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: '/nonexistent/electron-dist' },
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true, // its own process group: nothing but our signal reaches it
      });
      children.push(npm);
      const seen: string[] = [];
      const url = await new Promise<string>((resolve, reject) => {
        npm.once('exit', (c) => reject(new Error(`npm start exited (${c}): ${seen.join('\n')}`)));
        readline.createInterface({ input: npm.stdout! }).on('line', (l) => {
          seen.push(l);
          if (l.startsWith('http://')) resolve(l);
        });
      });
      const u = new URL(url);
      const client = await connectClient(Number(u.port), u.hash.replace(/^#token=/, ''));
      const launched = (await client.request('launch', { command: ['sleep', '300'] })) as {
        ok: boolean;
        result?: { pid: number };
      };
      expect(launched.ok, JSON.stringify(launched)).toBe(true);
      const tree = descendants(npm.pid!);
      leftovers.push(...tree.map(procRef));
      expect(tree).toContain(launched.result!.pid);
      expect(tree.length).toBeGreaterThanOrEqual(3); // start.mjs, the host, the command

      process.kill(npm.pid!, sig);
      await expect
        .poll(() => [npm.pid!, ...tree].filter(alive), { timeout: 5_000, interval: 100 })
        .toEqual([]);
      await expect(fetch(url)).rejects.toThrow();
      client.ws.terminate();
    },
  );
});
