/**
 * The demo workload: a process whose memory makes every page category visible and changes in
 * phases a viewer can recognise on the heatmap. Started as entry 'demo/workload' (see
 * core/runtime/entry.ts), normally by spawnDemo() in launch.ts; see regions.ts for what each region shows.
 *
 * It is deliberately a plain Node process driving mmap/madvise through koffi: no compiler at run
 * time and no dependency beyond the project's own. All the memory it touches is outside the V8
 * heap (raw mmaps), written with memset and read with memchr, once per DEMO_TICK_MS tick, so the
 * CPU cost is a few percent of a core and resident memory stays below ~80 MiB.
 *
 * Protocol with its parent: one JSON line on stdout when everything is mapped (DemoReady), then
 * silence. It exits, removing its temp file, on SIGTERM, SIGINT, SIGHUP, or when its stdin
 * reaches end-of-file (a parent that dies closes the pipe, so the demo never outlives it). When
 * stdin is a terminal it is not watched (Ctrl-C is the way out there).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { errno } from '../kernel/libc.ts';
import {
  HUGE_PAGE_SIZE,
  MADV_DONTNEED,
  MADV_GUARD_INSTALL,
  MADV_GUARD_REMOVE,
  MADV_HUGEPAGE,
  MADV_PAGEOUT,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_NORESERVE,
  MAP_PRIVATE,
  madvise,
  memchr,
  memset,
  mmap,
  mprotect,
  munmap,
  nameAnonVma,
  PROT_NONE,
  PROT_RW,
} from '../kernel/mm.ts';
import {
  DEMO_NAME_PREFIX,
  DEMO_REGIONS,
  DEMO_TICK_MS,
  type DemoReady,
  type DemoRegionName,
} from './regions.ts';

const PAGE = 4096;

function fail(op: string): never {
  throw new Error(`${op} failed: errno ${errno()}`);
}

function mapOrThrow(addr: number, len: number, prot: number, flags: number, fd = -1): number {
  const r = mmap(addr, len, prot, flags, fd);
  if (r === -1) fail('mmap');
  return r;
}

function check(r: number, op: string): void {
  if (r !== 0) fail(op);
}

class Region {
  constructor(
    readonly name: DemoRegionName,
    readonly start: number,
    readonly pages: number,
  ) {}
  addr(page: number): number {
    return this.start + page * PAGE;
  }
  write(page: number, count: number, value: number): void {
    memset(this.addr(page), value & 0xff || 1, count * PAGE);
  }
  /** Reads every byte of the pages (faults them in without writing: zero page or page cache). */
  read(page: number, count: number): void {
    memchr(this.addr(page), 0x5a, count * PAGE);
  }
  advise(page: number, count: number, advice: number): number {
    return madvise(this.addr(page), count * PAGE, advice);
  }
  get end(): number {
    return this.start + this.pages * PAGE;
  }
}

const state = { named: false };

/**
 * Maps `pages` pages (aligned to `align` bytes) with one PROT_NONE page on each side, so no
 * neighbouring mapping can merge with the region, and names it when the kernel allows.
 */
function reserve(
  name: DemoRegionName,
  pages: number,
  opts: { align?: number; prot?: number; fd?: number } = {},
): Region {
  const size = pages * PAGE;
  const align = opts.align ?? PAGE;
  const total = size + 2 * PAGE + (align - PAGE);
  const base = mapOrThrow(0, total, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE);
  const start = Math.ceil((base + PAGE) / align) * align;
  const lo = start - PAGE;
  const hi = start + size + PAGE;
  if (lo > base) check(munmap(base, lo - base), 'munmap');
  if (base + total > hi) check(munmap(hi, base + total - hi), 'munmap');
  if (opts.fd !== undefined) {
    mapOrThrow(start, size, opts.prot ?? PROT_RW, MAP_PRIVATE | MAP_FIXED, opts.fd);
  } else if ((opts.prot ?? PROT_RW) !== PROT_NONE) {
    check(mprotect(start, size, opts.prot ?? PROT_RW), 'mprotect');
  }
  if (opts.fd === undefined) {
    // Fails with EINVAL on kernels without CONFIG_ANON_VMA_NAME: the regions are then told apart
    // by address (the ready line) and the PROT_NONE separators.
    const r = nameAnonVma(start, size, DEMO_NAME_PREFIX + name);
    if (r === 0) state.named = true;
  }
  return new Region(name, start, pages);
}

function pagesOf(name: DemoRegionName): number {
  const spec = DEMO_REGIONS.find((r) => r.name === name);
  if (!spec) throw new Error(`no demo region ${name}`);
  return spec.pages;
}

function swapExists(): boolean {
  try {
    return fs.readFileSync('/proc/swaps', 'utf8').trim().split('\n').length > 1;
  } catch {
    return false;
  }
}

/** Removes temp files left by demos that were killed (SIGKILL leaves no chance to clean up). */
function removeStaleFiles(dir: string): void {
  let names: string[] = [];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    const m = /^pagescope-demo-(\d+)\.dat$/.exec(n);
    if (m && !fs.existsSync(`/proc/${m[1]}`)) fs.rmSync(path.join(dir, n), { force: true });
  }
}

function randomPage(pages: number): number {
  return Math.floor(Math.random() * pages);
}

function main(): void {
  process.title = 'pagescope-demo';
  const tmp = os.tmpdir();
  removeStaleFiles(tmp);
  const filePath = path.join(tmp, `pagescope-demo-${process.pid}.dat`);
  const loop: { timer?: NodeJS.Timeout } = {};
  let stopping = false;
  const stop = (code: number): void => {
    if (stopping) return;
    stopping = true;
    clearInterval(loop.timer);
    fs.rmSync(filePath, { force: true });
    process.exit(code);
  };
  process.on('SIGTERM', () => stop(0));
  process.on('SIGINT', () => stop(0));
  process.on('SIGHUP', () => stop(0));
  process.on('uncaughtException', (err) => {
    process.stderr.write(`pagescope-demo: ${err.message}\n`);
    stop(1);
  });
  if (!process.stdin.isTTY) {
    process.stdin.on('end', () => stop(0));
    process.stdin.on('error', () => stop(0));
    process.stdin.on('data', () => {});
    process.stdin.resume();
  }

  // --- set up every region, then print the ready line ---
  const sweep = reserve('sweep', pagesOf('sweep'));
  const hot = reserve('hot', pagesOf('hot'));
  const random = reserve('random', pagesOf('random'));
  const zero = reserve('zero', pagesOf('zero'));

  const filePages = pagesOf('file');
  fs.writeFileSync(filePath, Buffer.alloc(filePages * PAGE, 0xa5));
  const fd = fs.openSync(filePath, 'r');
  let file: Region;
  try {
    file = reserve('file', filePages, { fd, prot: PROT_RW });
  } finally {
    fs.closeSync(fd);
  }

  const thp = reserve('thp', pagesOf('thp'), { align: HUGE_PAGE_SIZE });
  const thpAdvised = thp.advise(0, thp.pages, MADV_HUGEPAGE) === 0;
  let thpMode = 'never';
  try {
    thpMode = /\[(\w+)\]/.exec(
      fs.readFileSync('/sys/kernel/mm/transparent_hugepage/enabled', 'utf8'),
    )![1];
  } catch {
    // no THP support at all
  }
  const swap = reserve('swap', pagesOf('swap'));
  const guard = reserve('guard', pagesOf('guard'));
  const growth = reserve('growth', pagesOf('growth'), { prot: PROT_NONE });

  const SWEEP_STEP = 16;
  const SWEEP_WINDOW = 1024;
  sweep.write(0, SWEEP_WINDOW, 1);
  let sweepCursor = SWEEP_WINDOW;

  const hotPages = Array.from({ length: 8 }, (_, i) => i * 4);
  for (const p of hotPages) hot.write(p, 1, 1);

  zero.read(0, zero.pages);
  let zeroRefill = zero.pages;

  file.read(0, file.pages);

  thp.write(0, thp.pages, 1);

  swap.write(0, swap.pages, 1);
  // MADV_PAGEOUT is Linux 5.4+; without it (EINVAL) the region simply stays resident.
  let hasSwap = swapExists() && swap.advise(0, swap.pages, MADV_PAGEOUT) === 0;

  const GUARD_PERIOD = 64;
  const GUARD_WIDTH = 8;
  guard.write(0, guard.pages, 1);
  const guardStripes = (offset: number, advice: number): number => {
    let r = 0;
    for (let p = offset; p < guard.pages; p += GUARD_PERIOD) {
      r |= guard.advise(p, Math.min(GUARD_WIDTH, guard.pages - p), advice);
    }
    return r;
  };
  let guardOffset = 0;
  const hasGuard = guardStripes(guardOffset, MADV_GUARD_INSTALL) === 0;

  const GROWTH_MIN = 256;
  const GROWTH_STEP = 32;
  let growthPages = GROWTH_MIN;
  let growing = true;
  check(mprotect(growth.start, GROWTH_MIN * PAGE, PROT_RW), 'mprotect');
  growth.write(0, GROWTH_MIN, 1);

  const hex = (n: number): string => '0x' + n.toString(16);
  const regions: DemoReady['regions'] = {};
  for (const r of [sweep, hot, random, zero, file, thp, swap, guard, growth]) {
    regions[r.name] = { start: hex(r.start), end: hex(r.end) };
  }
  const ready: DemoReady = {
    ready: true,
    pid: process.pid,
    regions,
    file: filePath,
    features: {
      named: state.named,
      swap: hasSwap,
      guard: hasGuard,
      thp: thpAdvised && thpMode !== 'never',
    },
  };
  process.stdout.write(JSON.stringify(ready) + '\n');

  // --- the phases, one step per tick ---
  let tick = 0;
  const step = (): void => {
    tick++;
    const value = tick & 0xff;

    // sweep: write ahead of the cursor, drop behind the window.
    sweep.write(sweepCursor, SWEEP_STEP, value);
    const tail = (sweepCursor - SWEEP_WINDOW + sweep.pages) % sweep.pages;
    sweep.advise(tail, SWEEP_STEP, MADV_DONTNEED);
    sweepCursor = (sweepCursor + SWEEP_STEP) % sweep.pages;

    // hot set: the same pages every tick.
    for (const p of hotPages) hot.write(p, 1, value);

    // random speckle, cleared every 10 s.
    if (tick % 400 === 0) random.advise(0, random.pages, MADV_DONTNEED);
    for (let i = 0; i < 8; i++) random.write(randomPage(random.pages), 1, value);

    // zero page: dropped every 15 s, then read back 64 pages a tick.
    if (tick % 600 === 0) {
      zero.advise(0, zero.pages, MADV_DONTNEED);
      zeroRefill = 0;
    }
    if (zeroRefill < zero.pages) {
      zero.read(zeroRefill, 64);
      zeroRefill += 64;
    }

    // file: private copies made by writes; reset to clean file pages every 15 s.
    if (tick % 600 === 300) {
      file.advise(0, file.pages, MADV_DONTNEED);
      file.read(0, file.pages);
    }
    for (let i = 0; i < 2; i++) file.write(randomPage(file.pages), 1, value);

    // THP: the second huge page dropped every 20 s and refaulted 2 s later.
    if (tick % 800 === 400) thp.advise(thp.pages / 2, thp.pages / 2, MADV_DONTNEED);
    if (tick % 800 === 480) thp.write(thp.pages / 2, thp.pages / 2, value);

    // swap: paged out every 10 s (when swap exists), then written back 16 pages a tick.
    const swapPhase = tick % 400;
    if (swapPhase === 0) {
      hasSwap = swapExists();
      if (hasSwap) swap.advise(0, swap.pages, MADV_PAGEOUT);
    } else if (swapPhase >= 80 && (swapPhase - 80) * 16 < swap.pages) {
      swap.write((swapPhase - 80) * 16, 16, value);
    }

    // guard stripes shift by their width every 2 s.
    if (hasGuard && tick % 80 === 0) {
      guardStripes(guardOffset, MADV_GUARD_REMOVE);
      for (let p = guardOffset; p < guard.pages; p += GUARD_PERIOD) {
        guard.write(p, GUARD_WIDTH, value);
      }
      guardOffset = (guardOffset + GUARD_WIDTH) % GUARD_PERIOD;
      guardStripes(guardOffset, MADV_GUARD_INSTALL);
    }

    // growth: up to the whole reservation, then back down to the minimum.
    if (growing) {
      check(mprotect(growth.addr(growthPages), GROWTH_STEP * PAGE, PROT_RW), 'mprotect');
      growth.write(growthPages, GROWTH_STEP, value);
      growthPages += GROWTH_STEP;
      if (growthPages >= growth.pages) growing = false;
    } else {
      growthPages -= GROWTH_STEP;
      growth.advise(growthPages, GROWTH_STEP, MADV_DONTNEED);
      check(mprotect(growth.addr(growthPages), GROWTH_STEP * PAGE, PROT_NONE), 'mprotect');
      if (growthPages <= GROWTH_MIN) growing = true;
    }
  };
  loop.timer = setInterval(step, DEMO_TICK_MS);
}

main();
