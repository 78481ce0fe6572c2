/**
 * `npm start` (scripts/start.mjs) both ways: with an Electron binary (a stand-in script at
 * ELECTRON_OVERRIDE_DIST_PATH that prints its arguments: the real binary cannot be downloaded
 * here) it builds the bundle and opens it; without one it says so in one line and starts the
 * web host, whose URL answers.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const START = path.join(ROOT, 'scripts/start.mjs');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
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
