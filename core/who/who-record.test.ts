/**
 * The WHO record in recordings (format version 2) without a kernel: crafted files (the format's
 * own codecs) carry writers per tick; a version 1 file still opens and has none; a WHO record in
 * a version 1 file, before any tick, or with a bad field is one sentence.
 */
import { describe, expect, it } from 'vitest';
import { RecordingError, RecordType } from '../record/format.ts';
import { parseRecording } from '../record/reader.ts';
import {
  CRAFTED_HEADER,
  craftRecording,
  oneVma,
  record,
  tickRecord,
} from '../../testing/crafted-recordings.ts';
import { whoRecord, type WhoRecord } from './who-record.ts';
import type { WhoTick } from './attribution.ts';

const tick: WhoTick = {
  period: 1,
  estimated: false,
  writeSamples: 3,
  otherSamples: 1,
  faults: 4,
  lost: 0,
  throttled: 0,
  attributedPages: 3,
  writers: [
    {
      fn: 'fill_alpha',
      module: 'w',
      tid: 7,
      thread: 'writer-a',
      pages: 2,
      samples: 2,
      share: 2 / 3,
      partial: false,
      ranges: [[0x100000, 0x100002]],
      moreRanges: 0,
    },
    {
      fn: 'fill_beta',
      module: 'w',
      tid: 8,
      thread: 'writer-b',
      pages: 1,
      samples: 1,
      share: 1 / 3,
      partial: true,
    },
  ],
  stacks: [
    {
      frames: ['fill_alpha', 'thread_a'],
      tid: 7,
      thread: 'writer-a',
      pages: 2,
      samples: 2,
      partial: false,
    },
  ],
  vmas: [
    {
      startHex: '100000000',
      label: '',
      writers: [{ fn: 'fill_alpha', tid: 7, thread: 'writer-a', pages: 2 }],
    },
  ],
  costMs: 1,
};
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v), 'utf8');
const vma = oneVma(16);
const ticks = [0, 1].map((i) => tickRecord(i, 16, { runs: null, written: [0, 2] }));

describe('WHO records', () => {
  it('a version 2 file carries each tick its writers', () => {
    const who = whoRecord(tick);
    const b = craftRecording([vma], [ticks[0], record(RecordType.WHO, json(who)), ticks[1]], {
      ...CRAFTED_HEADER,
      version: 2,
    });
    const rec = parseRecording(b, 'w.pgsrec');
    expect(rec.ticks).toHaveLength(2);
    expect(rec.who.get(0)).toEqual(who);
    // The top writers' page ranges (the by-writer highlight in a replay) come back; a writer
    // stored without them (written before they were added) reads as having none.
    expect(rec.who.get(0)!.writers[0].ranges).toEqual([[0x100000, 0x100002]]);
    expect(rec.who.get(0)!.writers[1].ranges).toBeUndefined();
    expect(rec.who.has(1)).toBe(false);
  });

  it('a version 1 file still opens (no writers)', () => {
    const rec = parseRecording(craftRecording([vma], ticks), 'old.pgsrec');
    expect(rec.header.version).toBe(1);
    expect(rec.ticks).toHaveLength(2);
    expect(rec.who.size).toBe(0);
  });

  it('misplaced or malformed writers are one sentence naming the file', () => {
    const bad = (records: Buffer[], version = 2): RecordingError => {
      try {
        parseRecording(craftRecording([vma], records, { ...CRAFTED_HEADER, version }), 'x.pgsrec');
      } catch (err) {
        expect(err).toBeInstanceOf(RecordingError);
        return err as RecordingError;
      }
      throw new Error('it was read');
    };
    const who = json(whoRecord(tick));
    expect(bad([ticks[0], record(RecordType.WHO, who)], 1).message).toMatch(
      /^x\.pgsrec is damaged: the record at byte \d+ holds writers in a version 1 recording\.$/,
    );
    expect(bad([record(RecordType.WHO, who), ticks[0]]).message).toMatch(
      /holds writers before any tick/,
    );
    const wrong: WhoRecord = { ...whoRecord(tick), period: 0 };
    expect(bad([ticks[0], record(RecordType.WHO, json(wrong))]).message).toMatch(
      /^x\.pgsrec is damaged: its writers record at byte \d+ is malformed \(period: /,
    );
  });
});
