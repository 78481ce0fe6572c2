/**
 * The `pagescope` command line, spawned as a user would run it (./bin/pagescope.mjs), on a
 * `node -e` process nobody wrote for pagescope. The target is stopped (SIGSTOP) while the CLI
 * scans it and its pagemap is read, so both see the same memory, then continued.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CATEGORY_NAMES } from '../kernel/pagemap-abi.ts';
import { categoriesFromPagemapHigh } from '../scan/pagemap-read-backend.ts';
import { COUNT_KEYS } from '../scan/summary.ts';
import { main } from './main.ts';
import { readPagemapHigh, spawnNodeTarget, type Target } from '../../testing/targets.ts';
import { cannotRunAsNobody } from '../../testing/as-nobody.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = path.join(ROOT, 'bin/pagescope.mjs');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(
  args: string[],
  opts: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, ...opts });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

interface ScanJson {
  pid: number;
  pageSize: number;
  backend: string;
  kernel: string;
  scanMs: number;
  vmas: Array<{
    start: string;
    end: string;
    perms: string;
    path: string;
    kind: string;
    pages: Record<string, number>;
  }>;
  totals: Record<string, number>;
  regions?: Array<{ start: string; end: string; categories: string[] }>;
}

let target: Target;
let scanJson: ScanJson | null = null;

beforeAll(async () => {
  target = await spawnNodeTarget();
});
afterAll(() => {
  target?.kill();
});

/** Runs `scan --json --regions` on the stopped target and reads its pagemap before continuing. */
async function scanStopped(extra: string[]): Promise<{ json: ScanJson; mismatches: string[] }> {
  process.kill(target.pid, 'SIGSTOP');
  try {
    const run = await cli(['scan', '--pid', String(target.pid), '--json', '--regions', ...extra]);
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout) as ScanJson;
    const mismatches: string[] = [];
    let covered = 0;
    for (const r of json.regions!) {
      const s = Number(BigInt(r.start) >> 12n);
      const e = Number(BigInt(r.end) >> 12n);
      const words = readPagemapHigh(target.pid, s, e);
      for (let i = 0; i < e - s; i++) {
        const k = categoriesFromPagemapHigh(words[i]);
        for (const name of ['present', 'swapped', 'file'] as const) {
          const bit = 1 << CATEGORY_NAMES.indexOf(name);
          if (Boolean(k & bit) !== r.categories.includes(name) && mismatches.length < 5)
            mismatches.push(
              `page 0x${(s + i).toString(16)}: ${name} kernel ${k} cli ${r.categories}`,
            );
        }
        covered++;
      }
    }
    expect(covered).toBeGreaterThan(10000);
    return { json, mismatches };
  } finally {
    process.kill(target.pid, 'SIGCONT');
  }
}

describe('pagescope scan', () => {
  it.each(['scan', 'pagemap'])(
    '--backend %s --json --regions: documented shape, and every region agrees page for page with /proc/PID/pagemap on present/swapped/file',
    async (backend) => {
      const { json, mismatches } = await scanStopped(['--backend', backend]);
      if (backend === 'scan') scanJson = json;
      expect(mismatches).toEqual([]);
      expect(json.pid).toBe(target.pid);
      expect(json.pageSize).toBe(4096);
      expect(json.backend).toBe(backend);
      expect(json.kernel).toBe(os.release());
      expect(typeof json.scanMs).toBe('number');
      expect(json.vmas.length).toBeGreaterThan(10);
      for (const v of json.vmas) {
        expect(v.start).toMatch(/^0x[0-9a-f]+000$/);
        expect(v.end).toMatch(/^0x[0-9a-f]+000$/);
        expect(BigInt(v.start) < BigInt(v.end)).toBe(true);
        expect(v.perms).toMatch(/^[r-][w-][x-][ps]$/);
        expect(typeof v.path).toBe('string');
        expect(v.kind).toMatch(/^(heap|stack|vdso|vvar|file|anon|shmem|hugetlb)$/);
        expect(Object.keys(v.pages).sort()).toEqual([...COUNT_KEYS].sort());
        expect(v.pages.pages).toBe(Number((BigInt(v.end) - BigInt(v.start)) / 4096n));
      }
      for (const k of COUNT_KEYS)
        expect(json.totals[k], k).toBe(json.vmas.reduce((n, v) => n + v.pages[k], 0));
      expect(json.totals.present).toBeGreaterThan(1000);
      expect(json.vmas.some((v) => v.kind === 'heap' || v.kind === 'stack')).toBe(true);
      for (const r of json.regions!) {
        for (const c of r.categories) expect(CATEGORY_NAMES).toContain(c);
        expect(BigInt(r.start) < BigInt(r.end)).toBe(true);
      }
      if (backend === 'scan') {
        expect(json.regions!.some((r) => r.categories.includes('present'))).toBe(true);
        expect(json.regions!.some((r) => r.categories.includes('file'))).toBe(true);
      } else {
        const hidden = ['wpallowed', 'pfnzero', 'huge'];
        expect(json.regions!.every((r) => r.categories.every((c) => !hidden.includes(c)))).toBe(
          true,
        );
      }
    },
  );

  it('--range limits the scan to that range and to the VMAs it touches', async () => {
    const whole =
      scanJson ??
      (JSON.parse((await cli(['scan', '--pid', String(target.pid), '--json'])).stdout) as ScanJson);
    const heap = whole.vmas.find((v) => v.kind === 'heap')!;
    const end = BigInt(heap.start) + 4096n * 2n;
    const run = await cli([
      'scan',
      '--pid',
      String(target.pid),
      '--range',
      `${heap.start}-0x${end.toString(16)}`,
      '--json',
      '--regions',
    ]);
    expect(run.code, run.stderr).toBe(0);
    const json = JSON.parse(run.stdout) as ScanJson;
    expect(json.vmas.map((v) => v.start)).toEqual([heap.start]);
    expect(json.vmas[0].pages.pages).toBe(2);
    expect(json.regions![0].start).toBe(heap.start);
    expect(json.regions!.at(-1)!.end).toBe('0x' + end.toString(16));
  });

  it('prints a table per VMA with totals', async () => {
    const run = await cli(['scan', '--pid', String(target.pid)]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stdout.trim().split('\n');
    expect(lines[0]).toMatch(
      /^RANGE\s+PERMS\s+NAME\s+PAGES\s+PRESENT\s+SWAPPED\s+FILE\s+ZERO\s+HUGE\s+GUARD\s+WRITTEN$/,
    );
    expect(lines.some((l) => /^[0-9a-f]+-[0-9a-f]+\s+r[w-]x?[-x]?[ps]?\s+.*\[heap\]/.test(l))).toBe(
      true,
    );
    expect(lines.find((l) => l.startsWith('total'))).toMatch(/\d+ VMAs/);
    expect(lines.at(-1)).toMatch(
      new RegExp(`^pid ${target.pid}: \\d+ regions scanned with PAGEMAP_SCAN in [\\d.]+ ms`),
    );
  });
});

describe('bad input: exit code 2, one line on stderr, no stack trace', () => {
  function expectOneLine(run: Run, pattern: RegExp): void {
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines, run.stderr).toHaveLength(1);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(lines[0]).toMatch(pattern);
  }

  function unusedPid(): number {
    for (let pid = 4_000_000; ; pid++) {
      try {
        process.kill(pid, 0);
      } catch {
        return pid;
      }
    }
  }

  it('spawned: unknown pid, malformed range, range outside any mapping', async () => {
    const pid = String(target.pid);
    const cases: Array<[string[], RegExp]> = [
      [['scan', '--pid', String(unusedPid())], /^pagescope: No process with pid \d+ exists/],
      [['scan', '--pid', pid, '--range', '7f00-8000'], /is not a range: write it as 0xSTART-0xEND/],
      [['scan', '--pid', pid, '--range', '0x1000-0x2000'], /No mapping of process \d+ lies inside/],
    ];
    const runs = await Promise.all(cases.map(([args]) => cli(args)));
    runs.forEach((run, i) => expectOneLine(run, cases[i][1]));
  });

  // The same main() the binary runs, in-process (a spawn costs ~0.6 s of CPU under tsx).
  it.each([
    [['scan', '--pid', 'abc'], /is not a process id/],
    [['scan', '--pid', 'PID', '--range', '0x1001-0x3000'], /is not page-aligned/],
    [['scan', '--pid', 'PID', '--range', '0x3000-0x1000'], /is empty/],
    [['scan', '--pid', 'PID', '--backend', 'nope'], /--backend/],
    [['scan'], /--pid/],
  ] as Array<[string[], RegExp]>)('in-process: %j', async (args, pattern) => {
    let stderr = '';
    let stdout = '';
    const err = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
      stderr += String(s);
      return true;
    });
    const out = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
      stdout += String(s);
      return true;
    });
    let code: number;
    try {
      code = await main(args.map((a) => (a === 'PID' ? String(target.pid) : a)));
    } finally {
      err.mockRestore();
      out.mockRestore();
    }
    expectOneLine({ code, stdout, stderr }, pattern);
  });

  it('permission denied (as user nobody, on a root process) names ptrace and root', async (ctx) => {
    const why = cannotRunAsNobody();
    if (why) ctx.skip(why);
    // tsx keeps a cache in $TMPDIR/tsx-UID: as nobody that would be a /tmp/tsx-65534 left behind.
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-nobody-'));
    fs.chmodSync(tmp, 0o777);
    try {
      const run = await cli(['scan', '--pid', String(target.pid)], {
        uid: 65534,
        gid: 65534,
        env: { ...process.env, TMPDIR: tmp, TSX_DISABLE_CACHE: '1' },
      });
      expectOneLine(run, /Permission denied .*ptrace.*root/);
      expect(fs.readdirSync(tmp)).toEqual([]);
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('pagescope ps', () => {
  it('--json lists our own process with its fields', async () => {
    const run = await cli(['ps', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const list = JSON.parse(run.stdout) as Array<Record<string, unknown>>;
    const me = list.find((p) => p.pid === process.pid);
    expect(me).toMatchObject({ pid: process.pid, uid: process.getuid!(), kernelThread: false });
    expect(me!.rssKiB).toBeGreaterThan(1000);
    expect(list.find((p) => p.pid === target.pid)?.cmdline).toMatch(/-e/);
  });

  it('prints a table', async () => {
    const run = await cli(['ps']);
    expect(run.code).toBe(0);
    expect(run.stdout.split('\n')[0]).toMatch(/^\s*PID\s+USER\s+RSS\s+S\s+NAME\s+COMMAND$/);
    expect(run.stdout).toMatch(new RegExp(`^\\s*${process.pid}\\s`, 'm'));
  });
});
