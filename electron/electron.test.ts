/**
 * The Electron window end to end (Playwright's _electron): the window opens with the secure
 * defaults, the preload's Bridge answers, and frames of a python3 session arrive.
 * Runs only where the Electron binary exists (node_modules/electron/dist); elsewhere it is
 * skipped with the reason (the same sentence as e2e/electron.test.ts, testing/electron/electron-binary.ts).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { pythonExecutable } from '../testing/targets.ts';
import { electronMissingReason } from '../testing/electron/electron-binary.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const missing = electronMissingReason();

if (missing !== null) {
  it('Electron window', (ctx) => ctx.skip(missing));
} else {
  describe('Electron window', () => {
    let target: ChildProcess | null = null;
    let closeApp: (() => Promise<void>) | null = null;
    afterAll(async () => {
      await closeApp?.();
      target?.kill('SIGKILL');
    });

    it('opens a sandboxed window whose bridge attaches and streams frames', async () => {
      execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--node'], {
        stdio: 'inherit',
      });
      const { _electron } = await import('playwright-core');
      const require = createRequire(import.meta.url);
      const executablePath = require('electron') as unknown as string;
      const args = [path.join(ROOT, 'dist/electron/main.mjs')];
      if (process.getuid?.() === 0) args.unshift('--no-sandbox');
      const app = await _electron.launch({ executablePath, args, cwd: ROOT });
      closeApp = () => app.close();
      const page = await app.firstWindow();
      target = spawn(pythonExecutable(), ['-c', 'import time; time.sleep(120)'], {
        stdio: 'ignore',
      });
      const isolation = await page.evaluate(() => ({
        require: typeof (globalThis as { require?: unknown }).require,
        process: typeof (globalThis as { process?: unknown }).process,
        bridge: typeof (globalThis as { pagescope?: unknown }).pagescope,
      }));
      expect(isolation).toEqual({ require: 'undefined', process: 'undefined', bridge: 'object' });
      const result = await page.evaluate(async (pid) => {
        type B = {
          request(m: string, p: unknown): Promise<{ sessionId: number }>;
          onFrame(l: (f: { tick: number }) => void): () => void;
        };
        const b = (globalThis as unknown as { pagescope: B }).pagescope;
        let frames = 0;
        b.onFrame(() => frames++);
        const info = await b.request('attach', { pid });
        // Until frames flow (the test's own timeout bounds it).
        await new Promise<void>((r) => {
          const poll = setInterval(() => {
            if (frames > 5) {
              clearInterval(poll);
              r();
            }
          }, 50);
        });
        await b.request('detach', { sessionId: info.sessionId });
        return { frames };
      }, target.pid!);
      expect(result.frames).toBeGreaterThan(5);
      // Navigation away is blocked. The main process sees the attempt in 'will-navigate', where
      // the app's own handler (registered first) has already cancelled it: wait for that, then
      // the page must still be ours.
      await app.evaluate(({ BrowserWindow }) => {
        const seen: string[] = [];
        (globalThis as unknown as { navigationsSeen: string[] }).navigationsSeen = seen;
        for (const w of BrowserWindow.getAllWindows())
          w.webContents.on('will-navigate', (_e, url) => seen.push(url));
      });
      await page.evaluate(() => {
        (globalThis as unknown as { location: { href: string } }).location.href =
          'https://example.com/';
      });
      await expect
        .poll(() =>
          app.evaluate(
            () => (globalThis as unknown as { navigationsSeen: string[] }).navigationsSeen,
          ),
        )
        .toContain('https://example.com/');
      expect(page.url()).toMatch(/^app:\/\/pagescope\//);
    });
  });
}
