/**
 * Launches testing/fixture-target.py: a child process with a known memory layout (see the
 * script's docstring for the regions) and returns where everything lies, in pages.
 *
 * The child serves commands on stdin; `selfPagemap()` asks it to read /proc/self/pagemap for its
 * own regions, which is the ground truth "what the kernel reports to the process itself".
 * `kill()` ends it (SIGKILL) and is safe to call twice; every launched child is also killed when
 * this process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PAGE_SHIFT } from '../core/kernel/pagemap-abi.ts';
import { pythonExecutable } from './targets.ts';

const SCRIPT = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixture-target.py');

export interface FixtureRegion {
  /** First page number (address >> 12). */
  startPage: number;
  /** Number of pages. */
  pages: number;
  /** Start address. */
  start: bigint;
}

export type StandardRegionName =
  | 'anon_written'
  | 'anon_untouched'
  | 'anon_zero'
  | 'anon_mixed'
  | 'file_shared'
  | 'file_private'
  | 'memfd'
  | 'thp'
  | 'guard'
  | 'swapped'
  | 'sparse';

export interface Fixture {
  pid: number;
  regions: Record<string, FixtureRegion>;
  /** Things the child could not set up as asked (e.g. no swap), in words. */
  notes: string[];
  /** High 32 bits of each /proc/self/pagemap entry of each region, read by the child itself. */
  selfPagemap(): Promise<Record<string, number[]>>;
  /** The child's smaps fields (kB) per region. */
  smaps(): Promise<Record<string, Record<string, number>>>;
  kill(): void;
}

export interface FixtureOptions {
  /** Page out the `swapped` region (needs active swap: see zram.ts). */
  swap?: boolean;
  /** Instead of the standard layout: anon regions, one action letter per page (w r u p g G). */
  layout?: Record<string, string>;
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export async function launchFixture(options: FixtureOptions = {}): Promise<Fixture> {
  const args = options.layout
    ? [SCRIPT, 'layout', JSON.stringify({ regions: options.layout })]
    : [SCRIPT, 'standard', ...(options.swap ? ['--swap'] : [])];
  const child = spawn(pythonExecutable(), args, { stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const lines = readline.createInterface({ input: child.stdout! });
  const pending: Array<(line: string) => void> = [];
  const queued: string[] = [];
  let ended = false;
  lines.on('line', (l) => {
    const waiter = pending.shift();
    if (waiter) waiter(l);
    else queued.push(l);
  });
  const nextLine = (): Promise<string> =>
    new Promise((resolve, reject) => {
      if (queued.length) return resolve(queued.shift()!);
      if (ended) return reject(new Error(`fixture exited: ${stderr.trim()}`));
      pending.push(resolve);
    });
  const exited = new Promise<never>((_, reject) => {
    child.on('exit', (code, signal) => {
      ended = true;
      live.delete(child);
      reject(new Error(`fixture exited (${code ?? signal}): ${stderr.trim()}`));
    });
  });
  exited.catch(() => {}); // only observed through the races below

  const first = JSON.parse(await Promise.race([nextLine(), exited])) as {
    pid: number;
    regions: Record<string, { start: string; pages: number }>;
    notes: string[];
  };
  const regions: Record<string, FixtureRegion> = {};
  for (const [name, r] of Object.entries(first.regions)) {
    const start = BigInt(r.start);
    regions[name] = { start, startPage: Number(start >> BigInt(PAGE_SHIFT)), pages: r.pages };
  }
  const ask = async <T>(cmd: string, key: string): Promise<T> => {
    child.stdin!.write(cmd + '\n');
    const reply = JSON.parse(await Promise.race([nextLine(), exited])) as Record<string, unknown>;
    if (!(key in reply)) throw new Error(`fixture answered ${JSON.stringify(reply)}`);
    return reply[key] as T;
  };
  return {
    pid: first.pid,
    regions,
    notes: first.notes,
    selfPagemap: () => ask('pagemap', 'pagemap'),
    smaps: () => ask('smaps', 'smaps'),
    kill() {
      if (live.has(child)) child.kill('SIGKILL');
      live.delete(child);
    },
  };
}
