// The page codec's run coding at its edges: nothing to code, runs across the 2048-page chunks it
// compares by, and a keyframe of a big process (~1M runs) coded without a JS value per run.
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter } from './format.ts';
import { decodePages, encodePages } from './page-codec.ts';

/** The runs as (skip, length, value) triples, read back from the bytes. */
function runsOf(w: ByteWriter): number[] {
  const r = new ByteReader(w.view(), 'test');
  const n = r.varint();
  const out: number[] = [];
  for (let i = 0; i < 3 * n; i++) out.push(r.varint());
  r.end();
  return out;
}

function roundTrip(cur: Uint16Array, ref: Uint16Array | null, mask = 0xffff): void {
  const w = new ByteWriter();
  encodePages(cur, ref, w, { mask });
  const state = ref ? ref.slice() : new Uint16Array(cur.length);
  decodePages(new ByteReader(w.view(), 'test'), state);
  expect(state).toEqual(cur.map((x) => x & mask));
}

describe('encodePages', () => {
  it('codes nothing as zero runs', () => {
    for (const [cur, ref] of [
      [new Uint16Array(0), null],
      [new Uint16Array(0), new Uint16Array(0)],
      [new Uint16Array(5000), null],
      [Uint16Array.from([1, 2, 3]), Uint16Array.from([1, 2, 3])],
    ] as const) {
      const w = new ByteWriter();
      expect(encodePages(cur, ref, w)).toBe(0);
      expect([...w.view()]).toEqual([0]);
    }
  });

  it('codes a run across a chunk boundary (2048 pages) as one run', () => {
    const cur = new Uint16Array(4096 + 10);
    cur.fill(5, 2040, 2056);
    const w = new ByteWriter();
    expect(encodePages(cur, null, w)).toBe(1);
    expect(runsOf(w)).toEqual([2040, 16, 5]);
    // Against a reference too, and a run that fills chunks exactly.
    const ref = new Uint16Array(cur.length);
    const full = new Uint16Array(cur.length);
    full.fill(7, 2048, 4096);
    const w2 = new ByteWriter();
    expect(encodePages(full, ref, w2)).toBe(1);
    expect(runsOf(w2)).toEqual([2048, 2048, 7]);
    roundTrip(cur, ref);
    roundTrip(full, cur);
  });

  it('keeps two runs that meet at a chunk boundary apart when their values differ', () => {
    const cur = new Uint16Array(4096);
    cur.fill(3, 2000, 2048);
    cur.fill(4, 2048, 2100);
    const w = new ByteWriter();
    expect(encodePages(cur, null, w)).toBe(2);
    expect(runsOf(w)).toEqual([2000, 48, 3, 0, 52, 4]);
  });

  it('clears pages of a chunk known empty, as one run across the boundary', () => {
    const ref = new Uint16Array(4096);
    ref.fill(9, 2000, 2100);
    const cur = new Uint16Array(4096);
    const w = new ByteWriter();
    const n = encodePages(cur, ref, w, { knownEmpty: () => true, update: true });
    expect(n).toBe(1);
    expect(runsOf(w)).toEqual([2000, 100, 0]);
    expect(ref.every((x) => x === 0)).toBe(true);
  });

  it('codes a keyframe of ~1M runs exactly, without growing the JS heap per run', () => {
    const n = 1 << 21; // 8 GiB of pages, every other one set: 1,048,576 runs
    const cur = new Uint16Array(n);
    for (let i = 0; i < n; i += 2) cur[i] = i % 6 === 0 ? 0x0109 : 0x0009;
    const w = new ByteWriter(1 << 23);
    const heap0 = process.memoryUsage().heapUsed;
    const runs = encodePages(cur, null, w, { mask: 0xfffd });
    const grew = process.memoryUsage().heapUsed - heap0;
    expect(runs).toBe(n / 2);
    // A number[] of the runs held ~12 MiB of heap (3 values per run) at this point.
    expect(grew).toBeLessThan(4 << 20);
    const state = new Uint16Array(n);
    decodePages(new ByteReader(w.view(), 'test'), state);
    const want = cur.map((x) => x & 0xfffd);
    // (memcmp: toEqual on 2M elements takes most of a minute)
    expect(Buffer.from(state.buffer).equals(Buffer.from(want.buffer))).toBe(true);
    // A small tick after the huge one is coded from scratch (nothing left over from it).
    const small = new ByteWriter();
    expect(encodePages(Uint16Array.from([0, 2, 2, 0]), null, small)).toBe(1);
    expect(runsOf(small)).toEqual([1, 2, 2]);
  });
});
