/**
 * Page states of one tick (one Uint16 of PageBits per page of the collapsed space, WRITTEN
 * stripped: written ranges are stored on their own) coded against a reference: the tick before,
 * carried over to the new layout when the VMAs changed (remap), or all zeros for a keyframe.
 *
 * The code is a list of runs (skip, length, value): leave `skip` pages as the reference has them,
 * then set `length` pages to `value`. Unchanged stretches are found by comparing 2048-page chunks
 * with memcmp (Buffer.compare), so the cost of a tick follows the pages that changed (or, in a
 * keyframe, the pages that have any bit), not the size of the address space: a 22 GiB process
 * whose reservations stay empty codes like a small one.
 */
import type { VmaInfo } from '../protocol/messages.ts';
import type { ByteReader, ByteWriter } from './format.ts';
import { RecordingError } from './format.ts';

const CHUNK = 2048;
const ZERO = Buffer.alloc(CHUNK * 2);

const bytesOf = (a: Uint16Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

export interface EncodeOptions {
  /** Bits kept of `cur` (the writer drops WRITTEN, stored as ranges). */
  mask?: number;
  /**
   * True when `cur` is known to be all zero in [start, end) (from the frame's overview): such a
   * chunk is never read, so untouched (never faulted) parts of a fresh array stay untouched.
   */
  knownEmpty?: (start: number, end: number) => boolean;
  /** Make `ref` equal to `cur & mask` as it goes (ref must not be null). */
  update?: boolean;
}

/**
 * The runs of the tick being coded, as varint bytes, before their count is known. One instance,
 * reused by every call (coding is synchronous): a keyframe of a big process is ~1M runs, a few
 * MiB that are allocated and faulted in once, not per tick, and no JS number or closure per run
 * (the run list as a number[] cost ~0.5 s of GC and boxing per 1M-run keyframe, issue 22).
 * A run equal in value to the one before and touching it extends it (it is held back until the
 * next run shows it cannot grow any more).
 */
class RunSink {
  buf = new Uint8Array(1 << 16);
  len = 0;
  count = 0;
  /** First page after the last run emitted. */
  last = 0;
  private has = false;
  private skip = 0;
  private runLen = 0;
  private val = 0;

  reset(): void {
    this.len = 0;
    this.count = 0;
    this.last = 0;
    this.has = false;
  }

  emit(p: number, q: number, v: number): void {
    if (this.has && this.last === p && this.val === v) {
      this.runLen += q - p;
    } else {
      if (this.has) this.flush();
      this.has = true;
      this.skip = p - this.last;
      this.runLen = q - p;
      this.val = v;
    }
    this.last = q;
  }

  /** Writes the held run; after it, `buf[0, len)` holds `count` runs. */
  finish(): void {
    if (this.has) this.flush();
    this.has = false;
  }

  private flush(): void {
    if (this.len + 24 > this.buf.length) {
      const b = new Uint8Array(this.buf.length * 2);
      b.set(this.buf.subarray(0, this.len));
      this.buf = b;
    }
    this.len = putVarint(this.buf, this.len, this.skip);
    this.len = putVarint(this.buf, this.len, this.runLen);
    this.len = putVarint(this.buf, this.len, this.val);
    this.count++;
  }
}

/** ByteWriter.varint's encoding (unsigned LEB128, v a safe integer >= 0) at `pos`; returns the end. */
function putVarint(buf: Uint8Array, pos: number, v: number): number {
  while (v >= 0x80) {
    buf[pos++] = (v % 0x80) | 0x80;
    v = Math.floor(v / 0x80);
  }
  buf[pos++] = v;
  return pos;
}

const sink = new RunSink();

/** Writes the runs that turn `ref` (zeros when null) into `cur & mask`; returns how many. */
export function encodePages(
  cur: Uint16Array,
  ref: Uint16Array | null,
  w: ByteWriter,
  opts: EncodeOptions = {},
): number {
  const n = cur.length;
  if (ref && ref.length < n) throw new RangeError('reference smaller than the pages');
  const mask = opts.mask ?? 0xffff;
  const update = opts.update === true && ref !== null;
  const cb = bytesOf(cur);
  const rb = ref ? bytesOf(ref) : null;
  const out = sink;
  out.reset();
  for (let c = 0; c < n; c += CHUNK) {
    const ce = Math.min(n, c + CHUNK);
    const refZero = rb ? rb.compare(ZERO, 0, (ce - c) * 2, c * 2, ce * 2) === 0 : true;
    if (opts.knownEmpty?.(c, ce)) {
      if (refZero) continue;
      const r = ref as Uint16Array;
      for (let p = c; p < ce;) {
        if (r[p] === 0) {
          p++;
          continue;
        }
        let q = p + 1;
        while (q < ce && r[q] !== 0) q++;
        out.emit(p, q, 0);
        p = q;
      }
      if (update) r.fill(0, c, ce);
      continue;
    }
    const equal = rb
      ? cb.compare(rb, c * 2, ce * 2, c * 2, ce * 2) === 0
      : cb.compare(ZERO, 0, (ce - c) * 2, c * 2, ce * 2) === 0;
    if (equal) continue; // (ref never holds bits outside mask, so neither does cur here)
    if (ref === null || refZero) codeAgainstZero(cur, c, ce, mask, out);
    else codeAgainst(cur, ref, c, ce, mask, out);
    if (update) {
      const r = ref as Uint16Array;
      for (let p = c; p < ce; p++) r[p] = cur[p] & mask;
    }
  }
  out.finish();
  w.varint(out.count);
  w.bytes(out.buf.subarray(0, out.len));
  return out.count;
}

/** The runs of pages [c, ce) of `cur & mask` against zeros (a keyframe, or a reference chunk of zeros). */
function codeAgainstZero(
  cur: Uint16Array,
  c: number,
  ce: number,
  mask: number,
  out: RunSink,
): void {
  for (let p = c; p < ce;) {
    const v = cur[p] & mask;
    if (v === 0) {
      p++;
      continue;
    }
    let q = p + 1;
    while (q < ce && (cur[q] & mask) === v) q++;
    out.emit(p, q, v);
    p = q;
  }
}

/** The runs of pages [c, ce) of `cur & mask` where it differs from `ref`. */
function codeAgainst(
  cur: Uint16Array,
  ref: Uint16Array,
  c: number,
  ce: number,
  mask: number,
  out: RunSink,
): void {
  for (let p = c; p < ce;) {
    const v = cur[p] & mask;
    if (v === ref[p]) {
      p++;
      continue;
    }
    let q = p + 1;
    while (q < ce && (cur[q] & mask) === v && v !== ref[q]) q++;
    out.emit(p, q, v);
    p = q;
  }
}

/** Applies runs read from `r` onto `state` (which holds the reference). */
export function decodePages(r: ByteReader, state: Uint16Array): void {
  const count = r.varint(state.length);
  let p = 0;
  for (let i = 0; i < count; i++) {
    p += r.varint(state.length);
    const len = r.varint(state.length);
    const v = r.varint(0xffff);
    if (p + len > state.length)
      throw new RecordingError(
        'The recording is damaged: a tick sets pages beyond the end of its address space.',
        'corrupt',
      );
    state.fill(v, p, p + len);
    p += len;
  }
}

/**
 * The reference for a tick after a layout change: every page that is in both tables (same
 * address) keeps its previous state, new pages start at zero. Both tables are in address order.
 * Written into `out` (zeroed first) when given: reused buffers matter on kernels where touching
 * fresh memory is costly, since a large process's page-state array is megabytes.
 */
export function remapPages(
  prev: Uint16Array,
  prevVmas: readonly VmaInfo[],
  nextVmas: readonly VmaInfo[],
  nextTotal: number,
  out: Uint16Array = new Uint16Array(nextTotal),
): Uint16Array {
  if (out.length < nextTotal) throw new RangeError('remap target too small');
  out.fill(0, 0, nextTotal);
  forEachCarried(prevVmas, nextVmas, (from, to, n) => {
    if (from + n <= prev.length) out.set(prev.subarray(from, from + n), to);
  });
  return out;
}

/**
 * Where the pages of one layout go in another, by address: for each stretch of `n` pages mapped
 * in both, `from` is its collapsed index in the old layout and `to` in the new one (both lists
 * sorted by address).
 */
function forEachCarried(
  prevVmas: readonly VmaInfo[],
  nextVmas: readonly VmaInfo[],
  each: (from: number, to: number, n: number) => void,
): void {
  let i = 0;
  for (const v of nextVmas) {
    while (i < prevVmas.length && prevVmas[i].endPage <= v.startPage) i++;
    for (let k = i; k < prevVmas.length && prevVmas[k].startPage < v.endPage; k++) {
      const u = prevVmas[k];
      const s = Math.max(u.startPage, v.startPage);
      const e = Math.min(u.endPage, v.endPage);
      if (s < e) each(u.offset + (s - u.startPage), v.offset + (s - v.startPage), e - s);
    }
  }
}

/** A Uint16Array of at least `n` entries: `buf` when it is large enough, else a new one. */
export function ensureCapacity(buf: Uint16Array | null, n: number): Uint16Array {
  return buf && buf.length >= n ? buf : new Uint16Array(Math.max(n, 1024));
}

/**
 * Page states as runs instead of one value per page: the pages of [starts[k], ends[k]) hold
 * vals[k] (sorted, disjoint, never 0), every other page is 0. What a tick's runs do to it costs
 * the runs and the pieces, never the pages they cover (a run over 2^25 pages is one piece).
 */
export interface PageRuns {
  starts: Float64Array;
  ends: Float64Array;
  vals: Uint16Array;
  count: number;
}

export const emptyRuns = (): PageRuns => ({
  starts: new Float64Array(16),
  ends: new Float64Array(16),
  vals: new Uint16Array(16),
  count: 0,
});

/** Appends [s, e) = v (e > s, v != 0, after every piece), merging with an equal neighbour. */
function pushRun(o: PageRuns, s: number, e: number, v: number): void {
  const n = o.count;
  if (n > 0 && o.ends[n - 1] === s && o.vals[n - 1] === v) {
    o.ends[n - 1] = e;
    return;
  }
  if (n === o.starts.length) {
    const grow = <T extends Float64Array | Uint16Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(a.length * 2);
      b.set(a);
      return b;
    };
    o.starts = grow(o.starts);
    o.ends = grow(o.ends);
    o.vals = grow(o.vals);
  }
  o.starts[n] = s;
  o.ends[n] = e;
  o.vals[n] = v;
  o.count = n + 1;
}

/**
 * Applies runs read from `r` (as decodePages reads them, the same checks) to `ref` over a space
 * of `total` pages; returns the new runs (a new object: `ref` is left as it was).
 */
export function applyRuns(r: ByteReader, ref: PageRuns, total: number): PageRuns {
  const out = emptyRuns();
  const count = r.varint(total);
  let k = 0; // next piece of ref not yet copied (or cut)
  let from = 0; // ref is copied up to here
  const copyUpTo = (x: number): void => {
    while (k < ref.count && ref.starts[k] < x) {
      const s = Math.max(ref.starts[k], from);
      const e = Math.min(ref.ends[k], x);
      if (e > s) pushRun(out, s, e, ref.vals[k]);
      if (ref.ends[k] <= x) k++;
      else break;
    }
    from = Math.max(from, x);
  };
  let p = 0;
  for (let i = 0; i < count; i++) {
    p += r.varint(total);
    const len = r.varint(total);
    const v = r.varint(0xffff);
    if (p + len > total)
      throw new RecordingError(
        'The recording is damaged: a tick sets pages beyond the end of its address space.',
        'corrupt',
      );
    copyUpTo(p);
    if (len > 0 && v !== 0) pushRun(out, p, p + len, v);
    from = p + len;
    while (k < ref.count && ref.ends[k] <= from) k++;
    p += len;
  }
  copyUpTo(total);
  return out;
}

/** Runs carried to a new layout by address, as remapPages carries page states. */
export function remapRuns(
  prev: PageRuns,
  prevVmas: readonly VmaInfo[],
  nextVmas: readonly VmaInfo[],
): PageRuns {
  const out = emptyRuns();
  forEachCarried(prevVmas, nextVmas, (from, to, n) => {
    // The pieces of prev over [from, from + n), shifted to their new place.
    let lo = 0;
    let hi = prev.count;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (prev.ends[mid] <= from) lo = mid + 1;
      else hi = mid;
    }
    for (let q = lo; q < prev.count && prev.starts[q] < from + n; q++) {
      const ps = Math.max(prev.starts[q], from);
      const pe = Math.min(prev.ends[q], from + n);
      if (pe > ps) pushRun(out, ps - from + to, pe - from + to, prev.vals[q]);
    }
  });
  return out;
}
