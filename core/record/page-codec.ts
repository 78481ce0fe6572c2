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

/** Writes the runs that turn `ref` (zeros when null) into `cur`; returns how many there are. */
export function encodePages(cur: Uint16Array, ref: Uint16Array | null, w: ByteWriter): number {
  if (ref && ref.length !== cur.length) throw new RangeError('reference of another size');
  const cb = bytesOf(cur);
  const rb = ref ? bytesOf(ref) : null;
  const runs: number[] = [];
  const n = cur.length;
  let last = 0; // first page after the previous run
  for (let c = 0; c < n; c += CHUNK) {
    const ce = Math.min(n, c + CHUNK);
    const equal = rb
      ? cb.compare(rb, c * 2, ce * 2, c * 2, ce * 2) === 0
      : cb.compare(ZERO, 0, (ce - c) * 2, c * 2, ce * 2) === 0;
    if (equal) continue;
    let p = Math.max(c, last);
    while (p < ce) {
      const r = ref ? ref[p] : 0;
      const v = cur[p];
      if (v === r) {
        p++;
        continue;
      }
      let q = p + 1;
      while (q < n && cur[q] === v && cur[q] !== (ref ? ref[q] : 0)) q++;
      runs.push(p - last, q - p, v);
      last = q;
      p = q;
    }
  }
  w.varint(runs.length / 3);
  for (const x of runs) w.varint(x);
  return runs.length / 3;
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
 */
export function remapPages(
  prev: Uint16Array,
  prevVmas: readonly VmaInfo[],
  nextVmas: readonly VmaInfo[],
  nextTotal: number,
): Uint16Array {
  const out = new Uint16Array(nextTotal);
  let i = 0;
  for (const v of nextVmas) {
    while (i < prevVmas.length && prevVmas[i].endPage <= v.startPage) i++;
    for (let k = i; k < prevVmas.length && prevVmas[k].startPage < v.endPage; k++) {
      const u = prevVmas[k];
      const s = Math.max(u.startPage, v.startPage);
      const e = Math.min(u.endPage, v.endPage);
      if (s >= e) continue;
      const from = u.offset + (s - u.startPage);
      if (from + (e - s) > prev.length) continue;
      out.set(prev.subarray(from, from + (e - s)), v.offset + (s - v.startPage));
    }
  }
  return out;
}
