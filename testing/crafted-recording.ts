/**
 * Test support: the red team's small, costly recording (issue 21), written byte by byte: a
 * valid file of `ticks` ticks over one VMA of `pages` pages, each tick one run setting every
 * page (alternately present and swapped) and one written range over all of them. About 50 bytes
 * a tick, so 3000 ticks over 2^25 pages are ~150 KB that cost core/record's reader, compare and
 * analytics work per page, not per byte.
 */
import fs from 'node:fs';
import type { VmaInfo } from '../core/protocol/messages.ts';
import { PageBit } from '../core/protocol/page-bits.ts';
import { ByteWriter, crc32, RecordType } from '../core/record/format.ts';
import { encodeTickHead, TickFlag } from '../core/record/tick-codec.ts';
import { toEntry } from '../core/record/vma-codec.ts';
import { encodePreamble } from '../core/record/writer.ts';
import { tickCounters } from './counters.ts';

function record(type: number, payload: Uint8Array): Buffer {
  const head = Buffer.alloc(5);
  head[0] = type;
  head.writeUInt32LE(payload.length, 1);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32(head, payload));
  return Buffer.concat([head, payload, crc]);
}

export function craftedRecording(ticks = 3000, pages = 2 ** 25): Buffer {
  const start = 0x100000;
  const vma: VmaInfo = {
    index: 0,
    start: '0x' + (start * 4096).toString(16),
    end: '0x' + ((start + pages) * 4096).toString(16),
    startPage: start,
    endPage: start + pages,
    offset: 0,
    perms: 'rw-p',
    path: '',
    kind: 'anon',
    watched: 'yes',
  };
  const parts: Buffer[] = [
    encodePreamble({
      format: 'pagescope-recording',
      version: 1,
      createdAt: '2026-12-05T00:00:00.000Z',
      pagescope: 'test',
      process: { pid: 4242, name: 'crafted', cmdline: 'crafted', launched: false },
      kernel: 'test',
      capabilities: {},
      warnings: [],
      intervalMs: 100,
      watching: 'everything',
      pageSize: 4096,
      keyframeEvery: 100,
      vmas: [toEntry(vma)],
    }),
  ];
  for (let t = 1; t <= ticks; t++) {
    const w = new ByteWriter(128);
    const present = t % 2 === 1;
    encodeTickHead(
      {
        flags: TickFlag.PAGES | (t === 1 ? TickFlag.KEYFRAME : 0),
        vmaVersion: 1,
        totalPages: pages,
        counters: tickCounters({
          tick: t,
          present: present ? pages : 0,
          swapped: present ? 0 : pages,
          written: pages,
          watched: pages,
        }),
        skipped: 0,
        written: Float64Array.from([0, pages]),
      },
      w,
    );
    // One run: skip 0, `pages` pages, one value.
    w.varint(1);
    w.varint(0);
    w.varint(pages);
    w.varint(PageBit.MAPPED | (present ? PageBit.PRESENT : PageBit.SWAPPED));
    parts.push(record(RecordType.TICK, w.view()));
  }
  return Buffer.concat(parts);
}

/** Writes the crafted recording to `file`; returns its size. */
export function writeCraftedRecording(file: string, ticks?: number, pages?: number): number {
  const b = craftedRecording(ticks, pages);
  fs.writeFileSync(file, b);
  return b.length;
}
