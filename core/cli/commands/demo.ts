/**
 * `pagescope demo [--seconds N]`: runs the demo workload in the foreground, says what it does
 * and how to look at it, and ends on Ctrl-C or after N seconds.
 */
import { PagescopeError } from '../../kernel/errors.ts';
import { spawnDemo, stopDemo } from '../../demo/launch.ts';
import { DEMO_REGIONS } from '../../demo/regions.ts';
import { table } from '../format.ts';
import { STOP_SIGNALS } from '../signals.ts';

export interface DemoCommandOptions {
  seconds?: string;
}

export function parseSeconds(text: string | undefined): number | null {
  if (text === undefined) return null;
  const n = Number(text);
  if (!/^\s*\d+(\.\d+)?\s*$/.test(text) || !(n > 0) || n > 7 * 24 * 3600) {
    throw new PagescopeError(
      `--seconds "${text}" is not a duration: give a positive number of seconds, e.g. --seconds 30.`,
      'bad-seconds',
    );
  }
  return n;
}

export async function demoCommand(options: DemoCommandOptions): Promise<number> {
  const seconds = parseSeconds(options.seconds);
  const out = process.stdout;
  const demo = await spawnDemo({ stdio: 'inherit' });
  const { pid, features, child } = demo;
  // Handlers before the first line: a signal sent as soon as the pid is printed must stop the
  // workload, not kill pagescope. Ctrl-C reaches the workload too (same process group); either
  // way we wait for its exit. SIGHUP (a closed terminal) and SIGQUIT end it like SIGTERM.
  let stopping = false;
  const stop = (): void => {
    if (stopping) return;
    stopping = true;
    void stopDemo(child);
  };
  for (const sig of STOP_SIGNALS) process.on(sig, stop);
  const timer = seconds === null ? null : setTimeout(stop, seconds * 1000);
  const ended = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => {
      if (timer) clearTimeout(timer);
      for (const sig of STOP_SIGNALS) process.off(sig, stop);
      if (stopping || code === 0) {
        out.write(`pagescope demo: pid ${pid} stopped.\n`);
        resolve(0);
      } else {
        process.stderr.write(
          `pagescope: the demo workload ${signal ? `was killed by ${signal}` : `exited with code ${code}`}.\n`,
        );
        resolve(1);
      }
    });
  });
  const notes: string[] = [];
  if (!features.swap) notes.push('no swap is configured, so the swap region is never paged out');
  if (!features.thp) notes.push('transparent huge pages are off, so the thp region stays 4 KiB');
  if (!features.guard) notes.push('this kernel has no guard pages (Linux 6.13+)');
  if (!features.named) {
    notes.push(
      'this kernel cannot name anonymous mappings (CONFIG_ANON_VMA_NAME), so find the regions by address',
    );
  }
  out.write(`pagescope demo workload running as pid ${pid}\n\n`);
  out.write(
    `Its memory is split into regions that each show one thing and change in phases every few seconds: ` +
      `a band of written pages sweeping through a region, a hot set written every tick, random writes, ` +
      `read-only pages backed by the zero page, a private file mapping whose written pages turn anonymous, ` +
      `transparent huge pages, pages pushed to swap and read back, shifting guard-page stripes, and a ` +
      `region that grows and shrinks like a heap. ` +
      `Look at it live with "pagescope serve" and attach to pid ${pid} ` +
      `(use "Watch writes" on a region to see which pages it writes each tick), ` +
      `or take a snapshot with "pagescope scan --pid ${pid}". ` +
      (seconds === null ? 'Ctrl-C ends it.' : `It ends after ${seconds} s, or on Ctrl-C.`) +
      '\n\n',
  );
  const rows = DEMO_REGIONS.map((r) => {
    const range = demo.regions[r.name];
    return [r.name, range ? `${range.start}-${range.end}` : '?', r.shows];
  });
  out.write(table(['REGION', 'RANGE', 'SHOWS'], rows) + '\n');
  if (notes.length) out.write(`\nnote: ${notes.join('; ')}.\n`);

  return ended;
}
