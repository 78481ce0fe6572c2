/**
 * Packaging the desktop app (electron-builder.json, `npm run dist`) where Electron's binary cannot
 * be downloaded: the config passes electron-builder's own schema (offline), keeps what the app
 * needs, `npm run dist` says in one line that the binary is missing, and electron-builder's `dir`
 * target (no downloads) run against a stand-in Electron lays the app out as the AppImage and the
 * .deb would: the UI and main inside app.asar, koffi's native code and the spawned entries
 * unpacked where core/runtime/entry.ts looks for them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureRendererBuilt } from '../e2e/helpers.ts';
import { ROOT, SPAWNED_ENTRIES } from './build.mjs';
import { limit } from '../testing/wait.ts';

const require = createRequire(import.meta.url);
const CONFIG = JSON.parse(fs.readFileSync(path.join(ROOT, 'electron-builder.json'), 'utf8'));
const temps: string[] = [];
afterAll(() => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

/** electron-builder's own validation (app-builder-lib), as `electron-builder` runs it first. */
async function validate(config: unknown): Promise<void> {
  const { validateConfiguration } = require('app-builder-lib/out/util/config/config.js') as {
    validateConfiguration(c: unknown, logger: unknown): Promise<void>;
  };
  const { DebugLogger } = require('builder-util') as { DebugLogger: new (on: boolean) => unknown };
  await validateConfiguration(config, new DebugLogger(false));
}

describe('electron-builder.json', () => {
  it("passes electron-builder's schema, which refuses a misspelt key", async () => {
    await expect(validate(CONFIG)).resolves.toBeUndefined();
    const broken = { ...CONFIG, linux: { ...CONFIG.linux, targets: CONFIG.linux.target } };
    await expect(validate(broken)).rejects.toThrow(/configuration\.linux/);
  });

  it('builds an AppImage and a .deb outside dist/, with koffi and the spawned entries unpacked', () => {
    expect(CONFIG.linux.target).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    // electron-builder's default output folder is dist/, which is our build.
    expect(CONFIG.directories.output).not.toMatch(/^dist\b/);
    expect(CONFIG.asarUnpack).toEqual(
      expect.arrayContaining([
        'node_modules/koffi/**',
        ...SPAWNED_ENTRIES.map((n) => `dist/${n.split('/')[0]}/**`),
      ]),
    );
    expect(CONFIG.files).toEqual(expect.arrayContaining(['package.json', 'dist/**/*']));
    // koffi's binaries are N-API (ABI-stable): no rebuild against Electron's headers (a download).
    expect(CONFIG.npmRebuild).toBe(false);
    const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
    expect(pkg.main).toBe('dist/electron/main.mjs');
    expect(pkg.scripts.dist).toBe('node scripts/dist.mjs');
  });
});

describe('npm run dist', () => {
  it("says in one line that Electron's binary is missing, and fails", () => {
    const r = spawnSync(process.execPath, [path.join(ROOT, 'scripts/dist.mjs')], {
      cwd: ROOT,
      encoding: 'utf8',
      env: { ...process.env, ELECTRON_OVERRIDE_DIST_PATH: '/nonexistent/electron-dist' },
    });
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^pagescope: npm run dist needs Electron's binary, which is missing/);
  });

  it('lays the app out (electron-builder --linux dir, a stand-in Electron binary)', () => {
    ensureRendererBuilt();
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-dist-'));
    temps.push(tmp);
    const fakeElectron = path.join(tmp, 'electron-dist');
    fs.mkdirSync(fakeElectron);
    fs.writeFileSync(path.join(fakeElectron, 'electron'), '#!/bin/sh\n', { mode: 0o755 });
    const out = path.join(tmp, 'out');
    execFileSync(
      process.execPath,
      [
        path.join(ROOT, 'node_modules/electron-builder/cli.js'),
        '--config',
        'electron-builder.json',
        `-c.electronDist=${fakeElectron}`,
        `-c.directories.output=${out}`,
        '--linux',
        'dir',
      ],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'], timeout: limit(90_000) },
    );
    const resources = path.join(out, 'linux-unpacked/resources');
    expect(fs.existsSync(path.join(out, 'linux-unpacked/pagescope'))).toBe(true);
    const { listPackage } = require('@electron/asar') as { listPackage(p: string): string[] };
    const inAsar = listPackage(path.join(resources, 'app.asar')).map((p) => p.replace(/^\//, ''));
    for (const f of [
      'package.json',
      'dist/electron/main.mjs',
      'dist/electron/preload.cjs',
      'dist/renderer/index.html',
    ])
      expect(inAsar, f).toContain(f);
    expect(inAsar.filter((f) => f.endsWith('.map') || f.includes('test-tmp'))).toEqual([]);
    const unpacked = path.join(resources, 'app.asar.unpacked');
    for (const name of SPAWNED_ENTRIES)
      expect(fs.existsSync(path.join(unpacked, 'dist', `${name}.mjs`)), name).toBe(true);
    const native = execFileSync('find', [path.join(unpacked, 'node_modules'), '-name', '*.node'], {
      encoding: 'utf8',
    });
    expect(native).toMatch(new RegExp(`linux_${process.arch}/koffi\\.node`));
  });
});
