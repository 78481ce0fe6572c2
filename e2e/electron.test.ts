/**
 * The newcomer path in the Electron app (playwright-core's _electron), where Electron's binary
 * exists. Build machines without network have no node_modules/electron/dist: the test is skipped
 * there with the reason printed.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { _electron, type ElectronApplication } from 'playwright-core';
import { afterAll, describe, it } from 'vitest';
import { newcomerPath } from './flows.ts';
import { ensureRendererBuilt, ROOT } from './helpers.ts';

function electronMissing(): string | null {
  if (!fs.existsSync(path.join(ROOT, 'node_modules', 'electron', 'dist')))
    return 'skipped: the Electron binary is not installed (node_modules/electron/dist is missing; its download needs the network)';
  return null;
}

const missing = electronMissing();
if (missing) console.log(`e2e/electron.test.ts: ${missing}`);

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
  }, 120_000);
});
