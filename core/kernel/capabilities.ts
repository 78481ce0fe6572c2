/**
 * The capability probe: what this kernel and this process can do, asked of the kernel itself
 * rather than guessed from version numbers. Cheap (a few syscalls on our own process); run once
 * per attach and shown to the user as warnings where something is missing.
 */
import fs from 'node:fs';
import os from 'node:os';
import { addressOf, closeFd, errno, ioctl, openFile, O_RDONLY, pread, syscall } from './libc.ts';
import { errnoName } from './errors.ts';
import { MAP_ANONYMOUS, MAP_PRIVATE, memchr, mmap, munmap, PROT_RW } from './mm.ts';
import {
  Category,
  CATEGORY_NAMES,
  PAGE_SIZE,
  PAGEMAP_SCAN,
  PagemapEntry,
  PM_SCAN_ARG_SIZE,
  PmScanArg,
} from './pagemap-abi.ts';
import {
  SYS_userfaultfd,
  UFFD_FEATURE_WP_ASYNC,
  UFFD_FEATURE_WP_UNPOPULATED,
  UFFD_USER_MODE_ONLY,
  UFFDIO_API,
  UFFD_API,
} from './userfaultfd-abi.ts';

export interface Capabilities {
  kernel: string;
  pagemapScan: boolean;
  /** Category bits PAGEMAP_SCAN accepts in return_mask (GUARD is 6.15+). */
  supportedCategories: number;
  supportedCategoryNames: string[];
  /** userfaultfd with WP_ASYNC and WP_UNPOPULATED: write watching is possible. */
  uffdWpAsync: boolean;
  /** Why write watching is unavailable, when it is. */
  uffdProblem: string | null;
  swapConfigured: boolean;
  swapTotalKiB: number;
  /** 'always' | 'madvise' | 'never' | 'unavailable'. */
  thpMode: string;
  /** Yama's ptrace_scope (0..3), or null when Yama is not in this kernel. */
  ptraceScope: number | null;
  /** Root, or CAP_SYS_PTRACE in the effective set. */
  privileged: boolean;
  unprivilegedUserfaultfd: number | null;
  /**
   * A read of untouched anonymous memory maps the shared zero page (PFNZERO). False on kernels
   * that give every read fault a private page (e.g. booted with pvm_no_zero_page=1): there a page
   * that was only read is indistinguishable from a written one until it is watched.
   */
  zeroPageOnRead: boolean;
}

const CAP_SYS_PTRACE = 19n;

function readText(path: string): string | null {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

function readInt(path: string): number | null {
  const t = readText(path);
  return t === null ? null : Number(t.trim());
}

/** Asks PAGEMAP_SCAN about an empty range of our own process: ENOTTY means no ioctl. */
function probePagemapScan(): { present: boolean; categories: number } {
  let fd: number;
  try {
    fd = openFile('/proc/self/pagemap', O_RDONLY);
  } catch {
    return { present: false, categories: 0 };
  }
  try {
    const arg = new BigUint64Array(new ArrayBuffer(PM_SCAN_ARG_SIZE));
    const call = (returnMask: number): number => {
      arg.fill(0n);
      arg[PmScanArg.size] = BigInt(PM_SCAN_ARG_SIZE);
      arg[PmScanArg.returnMask] = BigInt(returnMask);
      return ioctl(fd, PAGEMAP_SCAN, arg);
    };
    if (call(Category.PRESENT) < 0) return { present: false, categories: 0 };
    // Ask for each category alone, as CRIU does: EINVAL means this kernel does not know it.
    let categories = 0;
    for (let bit = 0; bit < CATEGORY_NAMES.length; bit++) {
      if (call(1 << bit) >= 0) categories |= 1 << bit;
    }
    return { present: true, categories };
  } finally {
    closeFd(fd);
  }
}

function probeUffd(): { ok: boolean; problem: string | null } {
  const fd = syscall(SYS_userfaultfd, 0o2000000 | 0o4000 | UFFD_USER_MODE_ONLY);
  if (fd < 0) {
    const name = errnoName(errno());
    return {
      ok: false,
      problem:
        name === 'ENOSYS'
          ? 'this kernel has no userfaultfd'
          : `userfaultfd() failed with ${name} (vm.unprivileged_userfaultfd or a security policy)`,
    };
  }
  try {
    const api = new BigUint64Array(new ArrayBuffer(24));
    api[0] = BigInt(UFFD_API);
    api[1] = 0n; // ask for no features: the kernel answers with all it supports
    if (ioctl(fd, UFFDIO_API, api) < 0)
      return { ok: false, problem: `UFFDIO_API failed with ${errnoName(errno())}` };
    const features = Number(api[1]);
    const want = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
    if ((features & want) !== want)
      return { ok: false, problem: 'this kernel lacks userfaultfd WP_ASYNC (needs Linux 6.7+)' };
    return { ok: true, problem: null };
  } finally {
    closeFd(fd);
  }
}

/**
 * Maps one anonymous page of our own process, reads one byte of it and asks the kernel what it
 * mapped: PAGEMAP_SCAN's PFNZERO where there is the ioctl, else /proc/self/pagemap (the zero page
 * is present but never exclusively mapped; a private page is). Assumes the usual zero page when
 * the kernel cannot be asked.
 */
export function probeZeroPageOnRead(pagemapScan: boolean): boolean {
  const addr = mmap(0, PAGE_SIZE, PROT_RW, MAP_PRIVATE | MAP_ANONYMOUS);
  if (addr === -1) return true;
  let fd = -1;
  try {
    memchr(addr, 1, 1); // one byte read: the read fault maps a page
    fd = openFile('/proc/self/pagemap', O_RDONLY);
    if (pagemapScan) {
      // 128 bytes: big enough to be off-heap, so its address stays put during the call.
      const vec = new BigUint64Array(new ArrayBuffer(128));
      const arg = new BigUint64Array(new ArrayBuffer(PM_SCAN_ARG_SIZE));
      arg[PmScanArg.size] = BigInt(PM_SCAN_ARG_SIZE);
      arg[PmScanArg.start] = BigInt(addr);
      arg[PmScanArg.end] = BigInt(addr + PAGE_SIZE);
      arg[PmScanArg.vec] = addressOf(vec);
      arg[PmScanArg.vecLen] = 1n;
      arg[PmScanArg.returnMask] = BigInt(Category.PRESENT | Category.PFNZERO);
      if (ioctl(fd, PAGEMAP_SCAN, arg) === 1 && Number(vec[2]) & Category.PRESENT)
        return (Number(vec[2]) & Category.PFNZERO) !== 0;
      return true;
    }
    const entry = new BigUint64Array(1);
    if (pread(fd, entry, (addr / PAGE_SIZE) * 8) !== 8 || !(entry[0] & PagemapEntry.PRESENT))
      return true;
    return (entry[0] & PagemapEntry.EXCLUSIVE) === 0n;
  } catch {
    return true;
  } finally {
    if (fd >= 0) closeFd(fd);
    munmap(addr, PAGE_SIZE);
  }
}

function thpMode(): string {
  const t = readText('/sys/kernel/mm/transparent_hugepage/enabled');
  return t ? (/\[(\w+)\]/.exec(t)?.[1] ?? 'unknown') : 'unavailable';
}

function swapTotalKiB(): number {
  const lines = (readText('/proc/swaps') ?? '').trim().split('\n').slice(1);
  return lines.reduce((sum, l) => sum + (Number(l.trim().split(/\s+/)[2]) || 0), 0);
}

function privileged(): boolean {
  if (process.getuid?.() === 0) return true;
  const capEff = /^CapEff:\s+([0-9a-f]+)/m.exec(readText('/proc/self/status') ?? '')?.[1];
  return capEff ? ((BigInt('0x' + capEff) >> CAP_SYS_PTRACE) & 1n) === 1n : false;
}

let cached: Capabilities | null = null;

export function probeCapabilities(refresh = false): Capabilities {
  if (cached && !refresh) return cached;
  const scan = probePagemapScan();
  const uffd = probeUffd();
  const swapKiB = swapTotalKiB();
  cached = {
    kernel: os.release(),
    pagemapScan: scan.present,
    supportedCategories: scan.categories,
    supportedCategoryNames: CATEGORY_NAMES.filter((_, bit) => scan.categories & (1 << bit)),
    uffdWpAsync: uffd.ok,
    uffdProblem: uffd.problem,
    swapConfigured: swapKiB > 0,
    swapTotalKiB: swapKiB,
    thpMode: thpMode(),
    ptraceScope: readInt('/proc/sys/kernel/yama/ptrace_scope'),
    privileged: privileged(),
    unprivilegedUserfaultfd: readInt('/proc/sys/vm/unprivileged_userfaultfd'),
    zeroPageOnRead: probeZeroPageOnRead(scan.present),
  };
  return cached;
}

/** Sentences for the user about what is missing or limited on this machine. */
export function capabilityWarnings(c: Capabilities): string[] {
  const w: string[] = [];
  if (!c.pagemapScan)
    w.push(
      `Kernel ${c.kernel} has no PAGEMAP_SCAN (Linux 6.7+): using the slower /proc/PID/pagemap reader, without zero-page, huge-page and write-protect information.`,
    );
  if (!c.uffdWpAsync) w.push(`Write watching is unavailable: ${c.uffdProblem}.`);
  if (!c.swapConfigured) w.push('No swap is configured, so no page can be swapped out.');
  if (!c.zeroPageOnRead)
    w.push(
      'This kernel maps a private page on every read of untouched memory (no shared zero page): pages that were only read look written to pagescope before they are watched, and the zero-page category stays empty.',
    );
  if (c.thpMode === 'never') w.push('Transparent huge pages are disabled (THP mode "never").');
  if (c.ptraceScope !== null && c.ptraceScope >= 1 && !c.privileged)
    w.push(
      `The ptrace policy (kernel.yama.ptrace_scope = ${c.ptraceScope}) lets pagescope inspect only its own child processes: launch the target from pagescope or run it with CAP_SYS_PTRACE.`,
    );
  return w;
}
