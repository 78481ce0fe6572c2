/**
 * perf_event_open for "who wrote it" (issue 23): the target's page faults, sampled, and fault
 * counts per thread.
 *
 * Strategy (KERNEL-NOTES "Who wrote it"): every first write to a write-protected page is a user
 * page fault, and the software event PERF_COUNT_SW_PAGE_FAULTS sees it with the written address
 * (ADDR), the writing instruction (IP), the thread (TID), a time and the user call chain (frame
 * pointers, walked by the kernel). exclude_kernel: writes the kernel does into user memory
 * (read() into a buffer) are not user faults and are not seen.
 * - Threads, including those created later: one event per (existing thread, online CPU) with
 *   `inherit`, so every thread those threads create from then on is sampled from its first
 *   instruction (short-lived ones too), with its samples in the parent event's buffer. Per-CPU,
 *   because the kernel refuses to mmap an inherited per-thread event (perf_mmap: cpu == -1 with
 *   inherit is EINVAL; perf-event.test.ts checks it), and because events of one CPU may share one
 *   ring buffer (PERF_EVENT_IOC_SET_OUTPUT) while per-thread ones may not: one buffer per CPU.
 *   Threads created while we open are caught by listing /proc/PID/task again until it is stable.
 *   The cost is threads x CPUs descriptors; more than `maxEvents` is refused with a sentence.
 * - The ring buffers are read in place (a view over the mmap): only a record that wraps around
 *   the buffer's end is copied. data_tail is written after each drain; records the kernel could
 *   not store (buffer full) come back as LOST counts, and throttling as THROTTLE records: both
 *   are counted and said, never hidden.
 * - Counting mode (FaultCounter): one counting event per thread (no inherit: inherited counts
 *   would be added to the parent thread's), the thread list read again at each read, so a thread
 *   is counted from the first read after it appeared.
 * - Where perf is not allowed (EACCES/EPERM: perf_event_paranoid, no CAP_PERFMON, another user's
 *   process), PerfUnavailableError says so in one sentence; callers go on without attribution.
 * - close() unmaps and closes everything; closing an event frees its inherited children, so the
 *   target keeps nothing of us.
 */
import fs from 'node:fs';
import { PagescopeError, errnoName } from './errors.ts';
import { closeFd, errno, koffi, libc } from './libc.ts';

export const SYS_perf_event_open = 298;
export const PERF_TYPE_SOFTWARE = 1;
export const PERF_COUNT_SW_PAGE_FAULTS = 2;
export const PERF_ATTR_SIZE = 128; // PERF_ATTR_SIZE_VER7

export const PERF_SAMPLE_IP = 1 << 0;
export const PERF_SAMPLE_TID = 1 << 1;
export const PERF_SAMPLE_TIME = 1 << 2;
export const PERF_SAMPLE_ADDR = 1 << 3;
export const PERF_SAMPLE_CALLCHAIN = 1 << 5;

const PERF_RECORD_THROTTLE = 5;
const PERF_RECORD_SAMPLE = 9;

/** attr flag bits (the bitfield word at offset 40). */
const FLAG_INHERIT = 1 << 1;
/** read() also returns the samples this event could not store (Linux 6.0+). */
const PERF_FORMAT_LOST = 1 << 4;
const FLAG_EXCLUDE_KERNEL = 1 << 5;
const FLAG_EXCLUDE_HV = 1 << 6;
const FLAG_EXCLUDE_CALLCHAIN_KERNEL = 1 << 21;

const PERF_EVENT_IOC_SET_OUTPUT = 0x2405;
const PERF_FLAG_FD_CLOEXEC = 8;

/** Call-chain context markers are (u64)-N: their high word is all ones. */
const MARKER_HI = 0xffffffff;

const PAGE = 4096;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;

const c = {
  perfOpen: libc.func('syscall', 'long', ['long', 'void *', 'int', 'int', 'int', 'unsigned long']),
  mmap: libc.func('void *mmap(void *addr, size_t len, int prot, int flags, int fd, int64_t off)'),
  munmap: libc.func('int munmap(void *addr, size_t len)'),
  read: libc.func('long read(int fd, void *buf, unsigned long n)'),
  ioctlInt: libc.func('ioctl', 'int', ['int', 'unsigned long', 'int']),
};

/** perf is refused for this process (permission); the sentence says why, for the user. */
export class PerfUnavailableError extends PagescopeError {
  constructor(
    message: string,
    readonly errnoName: string,
  ) {
    super(message, 'error');
    this.name = 'PerfUnavailableError';
  }
}

export function perfParanoid(): number | null {
  try {
    return Number(fs.readFileSync('/proc/sys/kernel/perf_event_paranoid', 'latin1').trim());
  } catch {
    return null;
  }
}

/** The one sentence said where perf is not allowed (the rest of the watch goes on). */
export function perfRefusedSentence(pid: number, err: number): string {
  const p = perfParanoid();
  return (
    `perf is not allowed to sample process ${pid} (${errnoName(err)}; kernel.perf_event_paranoid = ${p ?? '?'}, ` +
    `it needs CAP_PERFMON or root, or the same user with paranoid <= 2), so writes are not attributed to threads or code; everything else works`
  );
}

export interface PerfAttrOptions {
  /** Sample one fault in `period` (1 = every fault); 0 = counting only. */
  period: number;
  inherit: boolean;
  callchain: boolean;
  /** Deepest call chain recorded (frames). */
  maxStack?: number;
}

/** struct perf_event_attr (VER7, 128 bytes) for the software page-fault event, user only. */
export function pageFaultAttr(o: PerfAttrOptions): Uint8Array {
  // Off-heap (>= 128 bytes) so the kernel reads it where it is.
  const buf = new Uint8Array(new ArrayBuffer(PERF_ATTR_SIZE));
  const dv = new DataView(buf.buffer);
  dv.setUint32(0, PERF_TYPE_SOFTWARE, true);
  dv.setUint32(4, PERF_ATTR_SIZE, true);
  dv.setBigUint64(8, BigInt(PERF_COUNT_SW_PAGE_FAULTS), true);
  dv.setBigUint64(16, BigInt(o.period), true);
  if (o.period > 0) {
    let st = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ADDR;
    if (o.callchain) st |= PERF_SAMPLE_CALLCHAIN;
    dv.setBigUint64(24, BigInt(st), true);
    dv.setBigUint64(32, BigInt(PERF_FORMAT_LOST), true);
  }
  let flags = FLAG_EXCLUDE_KERNEL | FLAG_EXCLUDE_HV | FLAG_EXCLUDE_CALLCHAIN_KERNEL;
  if (o.inherit) flags |= FLAG_INHERIT;
  dv.setUint32(40, flags >>> 0, true);
  if (o.callchain && o.maxStack) dv.setUint16(108, o.maxStack, true);
  return buf;
}

/** perf_event_open; returns the fd or -errno. */
export function perfEventOpen(attr: Uint8Array, tid: number, cpu: number, groupFd = -1): number {
  const fd = Number(c.perfOpen(SYS_perf_event_open, attr, tid, cpu, groupFd, PERF_FLAG_FD_CLOEXEC));
  return fd < 0 ? -errno() : fd;
}

export function threadIds(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .map(Number)
      .filter((n) => Number.isInteger(n) && n > 0);
  } catch {
    return [];
  }
}

/** Online CPU numbers (/sys/devices/system/cpu/online, e.g. "0-3,6"). */
export function onlineCpus(): number[] {
  let text = '0';
  try {
    text = fs.readFileSync('/sys/devices/system/cpu/online', 'latin1').trim();
  } catch {
    // a single CPU 0 then
  }
  const out: number[] = [];
  for (const part of text.split(',')) {
    const [a, b] = part.split('-').map(Number);
    for (let i = a; i <= (b ?? a); i++) out.push(i);
  }
  return out;
}

/** One page fault, sampled. Addresses are exact Numbers (user addresses are below 2^47). */
export interface FaultSample {
  pid: number;
  tid: number;
  /** perf clock (CLOCK_MONOTONIC-like), ns, as a float (exact to well under a microsecond). */
  timeNs: number;
  ip: number;
  addr: number;
  /** User call chain, leaf first (its first frame is `ip`); empty without CALLCHAIN. */
  stack: number[];
}

export interface DrainResult {
  samples: FaultSample[];
  /**
   * Samples the kernel could not store (a ring buffer was full): counted, not seen (read from
   * the events with PERF_FORMAT_LOST: the ring's own LOST records come late, only once that
   * ring takes a sample again).
   */
  lost: number;
  /** User page faults of all threads since the last drain (exact: the events' counts). */
  faults: number;
  /** Times the kernel throttled the event (perf_event_max_sample_rate) since the last drain. */
  throttled: number;
  /** Bytes of records read. */
  bytes: number;
}

/** One mmap'd ring buffer (one per CPU). */
class Ring {
  readonly base: unknown;
  readonly u32: Uint32Array;
  readonly ctl: BigUint64Array;
  readonly dataSize: number;
  readonly mapLen: number;
  private scratch = new Uint32Array(1024);

  constructor(
    readonly fd: number,
    dataPages: number,
  ) {
    this.mapLen = (1 + dataPages) * PAGE;
    const p = c.mmap(null, this.mapLen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p === null || BigInt(koffi.address(p)) === 0xffffffffffffffffn) {
      const e = errno();
      throw new PagescopeError(
        `Could not map perf's ring buffer (${errnoName(e)}; ${(this.mapLen / 1024) | 0} KiB; ` +
          `kernel.perf_event_mlock_kb may be too small): use a smaller --who-buffer.`,
      );
    }
    this.base = p;
    const ab = koffi.view(p, this.mapLen);
    this.ctl = new BigUint64Array(ab, 1024, 4); // data_head, data_tail, data_offset, data_size
    this.dataSize = Number(this.ctl[3]) || dataPages * PAGE;
    const offset = Number(this.ctl[2]) || PAGE;
    this.u32 = new Uint32Array(ab, offset, this.dataSize / 4);
  }

  drain(out: DrainResult, callchain: boolean): void {
    const head = Number(this.ctl[0]);
    let tail = Number(this.ctl[1]);
    const size = this.dataSize;
    const mask = size - 1;
    while (tail < head) {
      const pos = tail & mask;
      const type = this.u32[pos >> 2];
      const recSize = this.u32[(pos >> 2) + 1] >>> 16; // perf_event_header: u32 type, u16 misc, u16 size
      if (recSize < 8) break; // never: a corrupt header would loop forever
      let words: Uint32Array;
      let at: number;
      if (pos + recSize <= size) {
        words = this.u32;
        at = pos >> 2;
      } else {
        // The record wraps around the end: copy just it.
        const n = recSize >> 2;
        if (this.scratch.length < n) this.scratch = new Uint32Array(n);
        const first = (size - pos) >> 2;
        this.scratch.set(this.u32.subarray(pos >> 2), 0);
        this.scratch.set(this.u32.subarray(0, n - first), first);
        words = this.scratch;
        at = 0;
      }
      if (type === PERF_RECORD_SAMPLE) {
        let i = at + 2;
        const ip = words[i] + words[i + 1] * 0x100000000;
        const pid = words[i + 2];
        const tid = words[i + 3];
        const timeNs = words[i + 4] + words[i + 5] * 0x100000000;
        const addr = words[i + 6] + words[i + 7] * 0x100000000;
        i += 8;
        const stack: number[] = [];
        if (callchain) {
          const nr = words[i];
          i += 2;
          for (let k = 0; k < nr; k++, i += 2) {
            const hi = words[i + 1];
            if (hi === MARKER_HI) continue; // PERF_CONTEXT_USER and friends
            stack.push(words[i] + hi * 0x100000000);
          }
        }
        out.samples.push({ pid, tid, timeNs, ip, addr, stack });
      } else if (type === PERF_RECORD_THROTTLE) {
        out.throttled++;
      }
      out.bytes += recSize;
      tail += recSize;
    }
    this.ctl[1] = BigInt(tail);
  }

  close(): void {
    c.munmap(this.base, this.mapLen);
  }
}

export interface FaultSamplerOptions {
  /** Sample one fault in `period` (default 1: every fault). */
  period?: number;
  /** Record user call chains (frame pointers). Default true. */
  callchain?: boolean;
  /** Deepest call chain, frames (default 32). */
  maxStack?: number;
  /**
   * Data pages per CPU ring buffer, a power of two (default 512: 2 MiB, ~15,000 samples of
   * 16-frame stacks between two drains; more are counted as lost).
   */
  bufferPages?: number;
  /** Most events (threads x CPUs) to open (default 8192). */
  maxEvents?: number;
}

/**
 * Samples the user page faults of every thread of a process, present and future (see the top
 * of this file). `drain()` returns the samples since the last drain.
 */
export class FaultSampler {
  readonly pid: number;
  readonly period: number;
  readonly callchain: boolean;
  private readonly fds: number[] = [];
  private readonly rings: Ring[] = [];
  /** Threads we opened events for (the others are followed by inheritance). */
  readonly openedThreads = new Set<number>();
  private closed = false;
  private readonly readBuf = new BigUint64Array(new ArrayBuffer(128));
  private faultsSoFar = 0;
  private lostSoFar = 0;

  private constructor(pid: number, period: number, callchain: boolean) {
    this.pid = pid;
    this.period = period;
    this.callchain = callchain;
  }

  /** Opens the sampler; throws PerfUnavailableError where perf is refused. */
  static open(pid: number, options: FaultSamplerOptions = {}): FaultSampler {
    const period = options.period ?? 1;
    if (!Number.isInteger(period) || period < 1)
      throw new PagescopeError(
        `The sampling period must be a whole number >= 1, not ${period}.`,
        'bad-request',
      );
    const bufferPages = options.bufferPages ?? 512;
    if (bufferPages < 1 || (bufferPages & (bufferPages - 1)) !== 0)
      throw new PagescopeError(
        `The perf buffer must be a power of two pages, not ${bufferPages}.`,
        'bad-request',
      );
    const callchain = options.callchain ?? true;
    const attr = pageFaultAttr({
      period,
      inherit: true,
      callchain,
      maxStack: options.maxStack ?? 32,
    });
    const maxEvents = options.maxEvents ?? 8192;
    const s = new FaultSampler(pid, period, callchain);
    const cpus = onlineCpus();
    const leaderByCpu = new Map<number, number>();
    try {
      for (let round = 0; round < 50; round++) {
        const fresh = threadIds(pid).filter((t) => !s.openedThreads.has(t));
        if (fresh.length === 0) break;
        if ((s.openedThreads.size + fresh.length) * cpus.length > maxEvents)
          throw new PagescopeError(
            `Process ${pid} has too many threads to sample on ${cpus.length} CPUs (more than ${maxEvents} perf events); writes are not attributed.`,
          );
        for (const tid of fresh) {
          let gone = false;
          for (const cpu of cpus) {
            const fd = perfEventOpen(attr, tid, cpu);
            if (fd < 0) {
              if (-fd === 3 /* ESRCH */) {
                gone = true;
                break;
              }
              if (-fd === 13 /* EACCES */ || -fd === 1 /* EPERM */)
                throw new PerfUnavailableError(perfRefusedSentence(pid, -fd), errnoName(-fd));
              if (-fd === 19 /* ENODEV: CPU went offline */) continue;
              throw new PagescopeError(
                `perf_event_open failed for thread ${tid} of process ${pid} on CPU ${cpu} (${errnoName(-fd)}); writes are not attributed.`,
              );
            }
            s.fds.push(fd);
            const leader = leaderByCpu.get(cpu);
            if (leader === undefined) {
              leaderByCpu.set(cpu, fd);
              s.rings.push(new Ring(fd, bufferPages));
            } else if (c.ioctlInt(fd, PERF_EVENT_IOC_SET_OUTPUT, leader) < 0) {
              throw new PagescopeError(
                `perf could not share a ring buffer (${errnoName(errno())}); writes are not attributed.`,
              );
            }
          }
          // A thread that exited while we opened: nothing of it to follow.
          if (!gone) s.openedThreads.add(tid);
        }
      }
      s.drain(); // the counts start now
      if (s.openedThreads.size === 0)
        throw new PagescopeError(
          `Process ${pid} does not exist (no threads to sample).`,
          'no-process',
        );
    } catch (err) {
      s.close();
      throw err;
    }
    return s;
  }

  /** Samples (and lost/throttle counts) since the last drain, from every CPU's buffer. */
  drain(): DrainResult {
    const out: DrainResult = { samples: [], lost: 0, throttled: 0, bytes: 0, faults: 0 };
    if (this.closed) return out;
    for (const r of this.rings) r.drain(out, this.callchain);
    // Counts after the records: a sample counted here but stored after our read of data_head
    // is in the next drain, as is its count's share (never a sample without its count).
    let faults = 0;
    let lost = 0;
    for (const fd of this.fds) {
      if (Number(c.read(fd, this.readBuf, 16)) !== 16) continue;
      faults += Number(this.readBuf[0]);
      lost += Number(this.readBuf[1]);
    }
    out.faults = faults - this.faultsSoFar;
    out.lost = lost - this.lostSoFar;
    this.faultsSoFar = faults;
    this.lostSoFar = lost;
    return out;
  }

  /** Descriptors held (threads x CPUs). */
  get eventCount(): number {
    return this.fds.length;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const r of this.rings) r.close();
    for (const fd of this.fds) closeFd(fd);
    this.rings.length = 0;
    this.fds.length = 0;
  }
}

/**
 * Exact page-fault counts per thread (counting mode: no samples, ~no cost). The thread list is
 * read again at every read(); a thread is counted from the read after it appeared.
 */
export class FaultCounter {
  private readonly byTid = new Map<number, number>();
  private readonly attr = pageFaultAttr({ period: 0, inherit: false, callchain: false });
  private readonly buf = new BigUint64Array(new ArrayBuffer(128));

  private constructor(readonly pid: number) {}

  static open(pid: number): FaultCounter {
    const f = new FaultCounter(pid);
    f.follow();
    return f;
  }

  private follow(): void {
    const live = new Set(threadIds(this.pid));
    for (const tid of live) {
      if (this.byTid.has(tid)) continue;
      const fd = perfEventOpen(this.attr, tid, -1);
      if (fd >= 0) this.byTid.set(tid, fd);
      else if (-fd === 13 || -fd === 1) {
        this.close();
        throw new PerfUnavailableError(perfRefusedSentence(this.pid, -fd), errnoName(-fd));
      }
    }
  }

  /** User page faults per live thread since it was first seen (exact counts). */
  read(): Map<number, number> {
    this.follow();
    const out = new Map<number, number>();
    const live = new Set(threadIds(this.pid));
    for (const [tid, fd] of this.byTid) {
      if (Number(c.read(fd, this.buf, 8)) === 8) out.set(tid, Number(this.buf[0]));
      if (!live.has(tid)) {
        closeFd(fd);
        this.byTid.delete(tid);
      }
    }
    return out;
  }

  close(): void {
    for (const fd of this.byTid.values()) closeFd(fd);
    this.byTid.clear();
  }
}
