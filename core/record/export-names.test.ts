/**
 * The exports name VMAs as what they are (protocol/vma-name.ts): a made-up recording whose VMAs
 * are shared anonymous memory, a memfd, a SysV segment, a file and a demo region goes through the
 * CSV, JSON and trace writers; the trace's track names and the CSV/JSON `label` say what each is,
 * and the raw `path` is kept beside it.
 */
import { describe, expect, it } from 'vitest';
import type { Frame } from '../protocol/frame.ts';
import type { VmaInfo } from '../protocol/messages.ts';
import { PageBit } from '../protocol/page-bits.ts';
import { exportCsv, exportJson, exportTrace } from './export.ts';
import { tickCounters } from '../../testing/counters.ts';
import { CRAFTED_HEADER } from '../../testing/crafted-recordings.ts';
import { histogramOf, parseRecording } from './reader.ts';
import { encodePreamble, RecordingEncoder } from './writer.ts';

const VMAS: Array<[string, string?]> = [
  ['/dev/zero (deleted)'],
  ['/memfd:jit-code (deleted)'],
  ['/SYSV0000abcd (deleted)'],
  ['/usr/lib/libc.so.6'],
  ['', 'demo: sweep'],
];
const PAGES = 8;

function recording(ticks: number): Buffer {
  const vmas: VmaInfo[] = VMAS.map(([path, label], index) => {
    const s = 0x1000 + index * 0x100;
    const v: VmaInfo = {
      index,
      start: '0x' + (s * 4096).toString(16),
      end: '0x' + ((s + PAGES) * 4096).toString(16),
      startPage: s,
      endPage: s + PAGES,
      offset: index * PAGES,
      perms: 'rw-s',
      path,
      kind: path.startsWith('/usr') ? 'file' : 'shmem',
      watched: 'yes',
    };
    if (label) v.label = label;
    return v;
  });
  const enc = new RecordingEncoder(vmas);
  const chunks = [
    encodePreamble({
      ...CRAFTED_HEADER,
      process: { pid: 42, name: 'made-up', cmdline: 'made-up', launched: false },
      vmas: enc.entriesAtStart,
    }),
  ];
  const total = vmas.length * PAGES;
  for (let tick = 1; tick <= ticks; tick++) {
    // Every page present, one page of each VMA written.
    const bits = new Uint16Array(total).fill(PageBit.PRESENT | PageBit.MAPPED | PageBit.WATCHED);
    const written: number[] = [];
    for (let k = 0; k < vmas.length; k++) written.push(k * PAGES, k * PAGES + 1);
    const f: Frame = {
      sessionId: 1,
      tick,
      vmaVersion: 1,
      totalPages: total,
      counters: tickCounters({
        tick,
        present: total,
        written: vmas.length,
        watched: total,
        writtenEst: 0,
        writtenErr: -1,
      }),
      vmaCounts: new Uint32Array(0),
      overview: { buckets: 1, pagesPerBucket: total, histogram: histogramOf(bits, total, 1) },
      window: { startIndex: 0, endIndex: total, bits },
      written: Float64Array.from(written),
    };
    chunks.push(enc.encodeTick(f, 0) as Buffer);
  }
  chunks.push(enc.encodeEnd('done'));
  return Buffer.concat(chunks);
}

function run(fn: typeof exportCsv): string {
  let s = '';
  fn(parseRecording(recording(4), 'made-up.pgsrec'), (x) => (s += x));
  return s;
}

const NAMES: Array<[path: string, label: string]> = [
  ['/dev/zero (deleted)', 'shared anonymous'],
  ['/memfd:jit-code (deleted)', 'memfd:jit-code'],
  ['/SYSV0000abcd (deleted)', 'SysV shm key 0x0000abcd'],
  ['/usr/lib/libc.so.6', 'libc.so.6'],
  ['', 'demo: sweep'],
];

describe('VMA names in the exports', () => {
  it('the trace names each track as what the VMA is', () => {
    const trace = JSON.parse(run(exportTrace)) as { traceEvents: Array<{ name: string }> };
    const tracks = new Set(
      trace.traceEvents.map((e) => e.name).filter((n) => n.startsWith('vma ')),
    );
    expect([...tracks].map((n) => n.replace(/^vma \S+ /, ''))).toEqual(NAMES.map(([, l]) => l));
    for (const n of tracks) expect(n).not.toMatch(/zero \(deleted\)/);
  });

  it('CSV and JSON keep the path and give the label', () => {
    const json = JSON.parse(run(exportJson)) as {
      vmaTicks: Array<{ path: string; label: string; tick: number }>;
    };
    const pairs = (rows: Array<{ path: string; label: string }>) => [
      ...new Map(rows.map((r) => [r.path, r.label])).entries(),
    ];
    expect(pairs(json.vmaTicks)).toEqual(NAMES);
    const lines = run(exportCsv).trim().split('\n');
    const header = lines[0].split(',');
    const rows = lines.slice(1).map((l) => {
      const cells = l.split(',');
      return { path: cells[header.indexOf('path')], label: cells[header.indexOf('label')] };
    });
    expect(pairs(rows)).toEqual(NAMES);
  });
});
