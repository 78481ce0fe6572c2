/** The who event from a WhoRecord: top writers by pages, shares of all writers, bounds kept. */
import { describe, expect, it } from 'vitest';
import {
  WHO_EVENT_VMA_WRITERS,
  WHO_EVENT_WRITERS,
  WHO_WRITER_RANGES,
  whoTickSchema,
} from '../protocol/who.ts';
import { whoRecordSchema, type WhoRecord } from '../who/who-record.ts';
import { whoTickInfo } from './who-event.ts';

const writer = (i: number) => ({
  fn: `f${i}`,
  module: 'm',
  tid: i,
  thread: `t${i}`,
  pages: i + 1,
  partial: false,
});

describe('whoTickInfo', () => {
  it('keeps the top writers, with shares of every writer, and each VMA top few', () => {
    const writers = Array.from({ length: 30 }, (_, i) => writer(i));
    const r: WhoRecord = {
      period: 1,
      estimated: false,
      writeSamples: 0,
      otherSamples: 0,
      faults: 0,
      lost: 2,
      attributedPages: 465,
      writers,
      stacks: [],
      vmas: [
        {
          startHex: 'abc000',
          label: 'anon',
          writers: writers.map((w) => ({ fn: w.fn, tid: w.tid, thread: w.thread, pages: w.pages })),
        },
      ],
    };
    const info = whoTickInfo(r);
    expect(whoTickSchema.safeParse(info).success).toBe(true);
    expect(info.writers).toHaveLength(WHO_EVENT_WRITERS);
    expect(info.writers[0]).toMatchObject({ fn: 'f29', pages: 30 });
    expect(info.writers[0].share).toBeCloseTo(30 / 465);
    expect(info.vmas[0].start).toBe('0xabc000');
    expect(info.vmas[0].writers).toHaveLength(WHO_EVENT_VMA_WRITERS);
    expect(info.vmas[0].writers[0].fn).toBe('f29');
    expect(info.lost).toBe(2);
  });

  it('carries each writer page ranges, and the schemas bound them', () => {
    const ranges: Array<[number, number]> = [
      [0x1000, 0x1010],
      [0x2000, 0x2001],
    ];
    const r: WhoRecord = {
      period: 1,
      estimated: false,
      writeSamples: 17,
      otherSamples: 0,
      faults: 17,
      lost: 0,
      attributedPages: 17,
      writers: [{ ...writer(0), pages: 17, ranges, moreRanges: 3 }, writer(1)],
      stacks: [],
      vmas: [],
    };
    expect(whoRecordSchema.safeParse(r).success).toBe(true);
    const info = whoTickInfo(r);
    expect(whoTickSchema.safeParse(info).success).toBe(true);
    expect(info.writers[0]).toMatchObject({ fn: 'f0', ranges, moreRanges: 3 });
    // A writer without ranges (an older recording) has none in the event.
    expect(info.writers[1].ranges).toBeUndefined();
    const tooMany = Array.from(
      { length: WHO_WRITER_RANGES + 1 },
      (_, i) => [2 * i, 2 * i + 1] as [number, number],
    );
    const big = { ...info, writers: [{ ...info.writers[0], ranges: tooMany }] };
    expect(whoTickSchema.safeParse(big).success).toBe(false);
    const empty = { ...info, writers: [{ ...info.writers[0], ranges: [[5, 5]] }] };
    expect(whoTickSchema.safeParse(empty).success).toBe(false);
    const rec = { ...r, writers: [{ ...r.writers[0], ranges: tooMany }] };
    expect(whoRecordSchema.safeParse(rec).success).toBe(false);
  });
});
