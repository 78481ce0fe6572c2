/**
 * The refusal sentence names the capability actually missing. As root's uid with CAP_SYS_PTRACE
 * but without CAP_DAC_READ_SEARCH / CAP_DAC_OVERRIDE (setpriv drops them, as a unit granting only
 * CAP_SYS_PTRACE would), opening another user's /proc/PID/pagemap (a 0400 file) is refused: the
 * CLI must say CAP_DAC_READ_SEARCH is missing, not that it "already has root's ptrace privilege".
 * A system test: it runs a real process as nobody and the real CLI against it.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { have } from '../../testing/exporter-support.ts';
import { until } from '../../testing/wait.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/pagescope.mjs');
const cleanups: (() => void)[] = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

describe('a refusal for want of CAP_DAC_READ_SEARCH', () => {
  it('says CAP_DAC_READ_SEARCH is missing, not that root privilege is there', async (ctx) => {
    if (process.getuid?.() !== 0) ctx.skip('needs root (to drop to CAP_SYS_PTRACE alone)');
    if (!have('setpriv')) ctx.skip('setpriv is not installed');
    const target = spawn(
      'setpriv',
      ['--reuid=65534', '--regid=65534', '--clear-groups', 'sleep', '120'],
      {
        stdio: 'ignore',
      },
    );
    cleanups.push(() => target.kill('SIGKILL'));
    const pid = target.pid!;
    await until('the target running as nobody', () =>
      /^Uid:\s+65534\b/m.test(fs.readFileSync(`/proc/${pid}/status`, 'utf8')),
    );
    const caps = '-dac_read_search,-dac_override';
    const r = spawnSync(
      'setpriv',
      [
        `--inh-caps=${caps}`,
        `--bounding-set=${caps}`,
        process.execPath,
        BIN,
        'scan',
        '--pid',
        String(pid),
      ],
      { encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.status, r.stderr).not.toBe(0);
    expect(r.stderr).toMatch(/Permission denied/);
    expect(r.stderr).toMatch(/has CAP_SYS_PTRACE but not CAP_DAC_READ_SEARCH/);
    expect(r.stderr).not.toMatch(/already has root's ptrace/);
  });
});
