/** The who event from a WhoRecord: top writers by pages, shares of all writers, bounds kept. */
import { describe, expect, it } from 'vitest';
import { WHO_EVENT_VMA_WRITERS, WHO_EVENT_WRITERS, whoTickSchema } from '../protocol/who.ts';
import type { WhoRecord } from '../who/who-record.ts';
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
});
