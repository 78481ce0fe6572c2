/**
 * Swap for tests (KERNEL-NOTES "Swap for tests"): when no swap is active and we are root, make a
 * small zram device, mkswap it and swapon it, so MADV_PAGEOUT really moves pages to swap.
 *
 * `release()` undoes exactly what `ensureSwap()` did and nothing else: swapoff and hot_remove of
 * the device it created (never a device or swap area that was there before), and is safe to call
 * twice. When swap is already active it uses that swap and release() does nothing, so other
 * processes' swap is never touched. The device is also released when this process exits.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export type SwapResult =
  | {
      ok: true;
      /** The zram device we created (e.g. /dev/zram1), or null when swap was already active. */
      device: string | null;
      release(): void;
    }
  | { ok: false; reason: string };

const CONTROL = '/sys/class/zram-control';

export function activeSwapAreas(): string[] {
  try {
    return fs
      .readFileSync('/proc/swaps', 'utf8')
      .trim()
      .split('\n')
      .slice(1)
      .map((l) => l.split(/\s+/)[0])
      .filter(Boolean);
  } catch {
    return [];
  }
}

function run(cmd: string, args: string[]): void {
  execFileSync(cmd, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/sbin` },
  });
}

export function ensureSwap(sizeMiB = 64): SwapResult {
  if (activeSwapAreas().length > 0) return { ok: true, device: null, release: () => {} };
  if (process.getuid?.() !== 0)
    return { ok: false, reason: 'no swap is active and we are not root' };
  if (!fs.existsSync(`${CONTROL}/hot_add`)) {
    try {
      run('modprobe', ['zram', 'num_devices=0']);
    } catch {
      // Reported below when the control files are still missing.
    }
  }
  if (!fs.existsSync(`${CONTROL}/hot_add`))
    return { ok: false, reason: 'no swap is active and this kernel has no zram (CONFIG_ZRAM)' };

  // Reading hot_add creates a new device and returns its number.
  const id = Number(fs.readFileSync(`${CONTROL}/hot_add`, 'utf8').trim());
  const device = `/dev/zram${id}`;
  let swappedOn = false;
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    process.removeListener('exit', release);
    try {
      if (swappedOn) run('swapoff', [device]);
    } finally {
      try {
        fs.writeFileSync(`${CONTROL}/hot_remove`, String(id));
      } catch {
        // Already removed, or busy because swapoff failed: nothing more we can safely do.
      }
    }
  };
  process.on('exit', release);
  try {
    fs.writeFileSync(`/sys/block/zram${id}/disksize`, `${sizeMiB}M`);
    for (let i = 0; i < 50 && !fs.existsSync(device); i++) execFileSync('sleep', ['0.02']);
    run('mkswap', [device]);
    run('swapon', [device]);
    swappedOn = true;
  } catch (err) {
    release();
    const e = err as { stderr?: Buffer; message: string };
    return {
      ok: false,
      reason: `could not set up zram swap: ${(e.stderr?.toString() || e.message).trim()}`,
    };
  }
  return { ok: true, device, release };
}
