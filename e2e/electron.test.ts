/**
 * The newcomer path in the Electron app (playwright-core's _electron), where Electron's binary
 * exists. Build machines without network have no node_modules/electron/dist: the test is skipped
 * there with the reason (the same sentence as electron/electron.test.ts, see
 * testing/electron/electron-binary.ts).
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { _electron, type ElectronApplication } from 'playwright-core';
import { afterAll, describe, it } from 'vitest';
import { electronMissingReason } from '../testing/electron/electron-binary.ts';
import { newcomerPath } from './flows.ts';
import { ensureRendererBuilt, ROOT } from './helpers.ts';

const missing = electronMissingReason();

if (missing !== null) it('pagescope in Electron', (ctx) => ctx.skip(missing));

describe.skipIf(missing !== null)('pagescope in Electron', () => {
  let app: ElectronApplication | undefined;

  afterAll(async () => {
    await app?.close();
  });

  it('newcomer path in the Electron window', async () => {
    ensureRendererBuilt();
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build.mjs'), '--node'], {
      stdio: 'inherit',
    });
    const executablePath = createRequire(import.meta.url)('electron') as unknown as string;
    const args = [path.join(ROOT, 'dist', 'electron', 'main.mjs')];
    if (process.getuid?.() === 0) args.unshift('--no-sandbox');
    app = await _electron.launch({ executablePath, args, cwd: ROOT });
    const page = await app.firstWindow();
    await page.getByLabel('Find process').waitFor();
    await newcomerPath(page, 'electron');
  });
});
