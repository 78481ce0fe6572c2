/**
 * Recordings of a group (`pagescope record --tree/--cgroup/--pids`): each tick's writes per member
 * and per shared object, as `watch --tree` shows them, for `report` to sum up later.
 *
 * Strategy: the same container as a process recording (format.ts: the signature, a CRC'd JSON
 * header, CRC'd records appended one tick per write(), so a killed recorder leaves a file readable
 * up to its last whole record), at format version 3, which only group recordings use: the process
 * recordings stay at version 2, so an older pagescope refuses a group file with its "a newer
 * pagescope wrote it" sentence and reads every process recording as before, and this one reads
 * both (report looks at the preamble's version first). The header says which group and what was
 * watched; each GROUP_TICK record (type 6) is one tick as JSON: members' written pages (own and
 * shared), and each shared object written with its written object-page ranges and each member's
 * pages and share; END closes it. The report is per member (ticks watched, pages written in all,
 * per tick and at the peak) and per shared object (distinct object pages written over the whole
 * recording, each page once whoever wrote it and however often, page-writes summed over ticks,
 * and each member's page-writes and share).
 */
import fs from 'node:fs';
import os from 'node:os';
import { z } from 'zod';
import type { Member } from '../proc/group.ts';
import type { GroupTick } from '../watch/group-watch.ts';
import { crc32, MAGIC, PREAMBLE_BYTES, RecordingError, RecordType } from './format.ts';
import { MAX_FILE_BYTES } from './reader.ts';

export const GROUP_FORMAT_VERSION = 3;
/** Record type of one group tick (JSON); only in version 3 files. */
export const GROUP_TICK = 6;
const MAX_GROUP_RECORD = 64 * 1024 * 1024;

export interface GroupRecordingHeader {
  format: 'pagescope-recording';
  version: 3;
  createdAt: string;
  pagescope: string;
  kernel: string;
  group: { describe: string; kind: string };
  intervalMs: number;
  watching: string;
  pageSize: 4096;
  members: Array<{ pid: number; ppid: number; name: string }>;
}

export interface GroupTickRecord {
  t: number;
  exact: boolean;
  members: Array<{
    pid: number;
    name: string;
    writtenPages: number;
    privatePages: number;
    sharedPages: number;
  }>;
  objects: Array<{
    key: string;
    kind: string;
    label: string;
    identity: string;
    ranges: Array<[number, number]>;
    shares: Array<{ pid: number; pages: number; share: number }>;
  }>;
  joined: Array<{ pid: number; name: string }>;
  left: Array<{ pid: number; name: string }>;
  execd: Array<{ pid: number; name: string }>;
}

function frame(type: number, payload: Buffer): Buffer {
  const head = Buffer.allocUnsafe(5);
  head[0] = type;
  head.writeUInt32LE(payload.length, 1);
  const crc = Buffer.allocUnsafe(4);
  crc.writeUInt32LE(crc32(head, payload));
  return Buffer.concat([head, payload, crc]);
}

const brief = (m: Pick<Member, 'pid' | 'name'>): { pid: number; name: string } => ({
  pid: m.pid,
  name: m.name,
});

/** The record of one tick (what `report` needs of a GroupTick). */
export function groupTickRecord(t: number, k: GroupTick): GroupTickRecord {
  return {
    t,
    exact: k.exact,
    members: k.members.map((m) => ({
      pid: m.pid,
      name: m.name,
      writtenPages: m.writtenPages,
      privatePages: m.privatePages,
      sharedPages: m.sharedPages,
    })),
    objects: k.writes.objects.map((o) => ({
      key: o.key,
      kind: o.kind,
      label: o.label,
      identity: o.identity,
      ranges: o.ranges,
      shares: o.shares.map((s) => ({ pid: s.pid, pages: s.pages, share: s.share })),
    })),
    joined: k.joined.map(brief),
    left: k.left.map(brief),
    execd: k.execd.map(brief),
  };
}

/** Appends a group recording to `file`, one whole record per write. */
export class GroupRecordingWriter {
  private fd: number;
  ticks = 0;

  constructor(
    file: string,
    header: Omit<GroupRecordingHeader, 'format' | 'version' | 'createdAt' | 'kernel' | 'pageSize'>,
  ) {
    const full: GroupRecordingHeader = {
      format: 'pagescope-recording',
      version: GROUP_FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      kernel: os.release(),
      pageSize: 4096,
      ...header,
    };
    const json = Buffer.from(JSON.stringify(full), 'utf8');
    const pre = Buffer.alloc(PREAMBLE_BYTES);
    MAGIC.copy(pre, 0);
    pre.writeUInt16LE(GROUP_FORMAT_VERSION, 8);
    pre.writeUInt16LE(0, 10);
    pre.writeUInt32LE(json.length, 12);
    const crc = Buffer.allocUnsafe(4);
    crc.writeUInt32LE(crc32(json));
    this.fd = fs.openSync(file, 'w');
    fs.writeSync(this.fd, Buffer.concat([pre, json, crc]));
  }

  tick(record: GroupTickRecord): void {
    fs.writeSync(this.fd, frame(GROUP_TICK, Buffer.from(JSON.stringify(record), 'utf8')));
    this.ticks++;
  }

  end(reason: string): void {
    if (this.fd < 0) return;
    const payload = Buffer.from(JSON.stringify({ reason, ticks: this.ticks }), 'utf8');
    fs.writeSync(this.fd, frame(RecordType.END, payload));
    fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/** Whether `file` is a group recording (version 3 in its preamble); false for anything else. */
export function isGroupRecording(file: string): boolean {
  const b = Buffer.alloc(PREAMBLE_BYTES);
  let fd = -1;
  try {
    if (!fs.statSync(file).isFile()) return false; // never open a FIFO or a device here
    fd = fs.openSync(file, 'r');
    if (fs.readSync(fd, b, 0, PREAMBLE_BYTES, 0) < PREAMBLE_BYTES) return false;
  } catch {
    return false; // the process-recording reader says what is wrong with it
  } finally {
    if (fd >= 0) fs.closeSync(fd);
  }
  return b.subarray(0, MAGIC.length).equals(MAGIC) && b.readUInt16LE(8) === GROUP_FORMAT_VERSION;
}

const pidName = z.object({ pid: z.number().int().min(0), name: z.string().max(4096) }).strict();
const tickSchema = z
  .object({
    t: z.number(),
    exact: z.boolean(),
    members: z.array(
      pidName.extend({
        writtenPages: z.number().int().min(0),
        privatePages: z.number().int().min(0),
        sharedPages: z.number().int().min(0),
      }),
    ),
    objects: z.array(
      z
        .object({
          key: z.string().max(256),
          kind: z.string().max(64),
          label: z.string().max(4096),
          identity: z.string().max(256),
          ranges: z.array(z.tuple([z.number().int().min(0), z.number().int().min(0)])),
          shares: z.array(
            z
              .object({
                pid: z.number().int().min(0),
                pages: z.number().int().min(0),
                share: z.number().min(0),
              })
              .strict(),
          ),
        })
        .strict(),
    ),
    joined: z.array(pidName),
    left: z.array(pidName),
    execd: z.array(pidName),
  })
  .strict();

export interface GroupRecording {
  header: GroupRecordingHeader;
  ticks: GroupTickRecord[];
  /** Why the reading stopped early (a record cut short: the recorder was killed), or null. */
  truncated: string | null;
  end: { reason: string; ticks: number } | null;
}

/** Reads a group recording; a damaged one gets one sentence naming the file and the offset. */
export function readGroupRecording(file: string, name = file): GroupRecording {
  const sizeNow = fs.statSync(file).size;
  if (sizeNow > MAX_FILE_BYTES)
    throw new RecordingError(
      `${name} is ${sizeNow} bytes, more than the ${MAX_FILE_BYTES} this reader loads.`,
      'too-large',
    );
  const b = fs.readFileSync(file);
  const bad = (why: string): never => {
    throw new RecordingError(`${name} is damaged: ${why}.`, 'corrupt');
  };
  if (b.length < PREAMBLE_BYTES || b.readUInt16LE(8) !== GROUP_FORMAT_VERSION)
    bad('it is not a group recording');
  const hl = b.readUInt32LE(12);
  if (PREAMBLE_BYTES + hl + 4 > b.length) bad('it is cut short inside its header');
  const hb = b.subarray(PREAMBLE_BYTES, PREAMBLE_BYTES + hl);
  if (crc32(hb) !== b.readUInt32LE(PREAMBLE_BYTES + hl)) bad('its header fails its checksum');
  let header: GroupRecordingHeader;
  try {
    header = JSON.parse(hb.toString('utf8')) as GroupRecordingHeader;
  } catch {
    return bad('its header is not JSON');
  }
  if (header.format !== 'pagescope-recording' || !header.group) bad('its header names no group');
  const rec: GroupRecording = { header, ticks: [], truncated: null, end: null };
  let pos = PREAMBLE_BYTES + hl + 4;
  while (pos < b.length) {
    if (pos + 9 > b.length) {
      rec.truncated = `a record at byte ${pos} is cut short`;
      break;
    }
    const type = b[pos];
    const len = b.readUInt32LE(pos + 1);
    if (len > MAX_GROUP_RECORD) bad(`the record at byte ${pos} is larger than a record may be`);
    if (pos + 9 + len > b.length) {
      rec.truncated = `a record at byte ${pos} is cut short`;
      break;
    }
    const payload = b.subarray(pos + 5, pos + 5 + len);
    if (crc32(b.subarray(pos, pos + 5), payload) !== b.readUInt32LE(pos + 5 + len))
      bad(`the record at byte ${pos} fails its checksum`);
    let value: unknown;
    try {
      value = JSON.parse(payload.toString('utf8'));
    } catch {
      bad(`the record at byte ${pos} is not JSON`);
    }
    if (type === GROUP_TICK) {
      const r = tickSchema.safeParse(value);
      if (!r.success) bad(`the tick at byte ${pos} is not a group tick`);
      rec.ticks.push(r.data as GroupTickRecord);
    } else if (type === RecordType.END) rec.end = value as GroupRecording['end'];
    else bad(`the record at byte ${pos} has a type (${type}) a group recording does not hold`);
    pos += 9 + len;
  }
  return rec;
}

export interface GroupReport {
  group: string;
  watching: string;
  intervalMs: number;
  ticks: number;
  exact: boolean;
  members: Array<{
    pid: number;
    name: string;
    ticks: number;
    writtenPages: number;
    privatePages: number;
    sharedPages: number;
    peakPages: number;
  }>;
  objects: Array<{
    key: string;
    kind: string;
    label: string;
    identity: string;
    /** Object pages written at least once over the recording (each page once). */
    distinctPages: number;
    /** Written pages summed over the ticks (a page written in 3 ticks counts 3). */
    pageWrites: number;
    peakPages: number;
    members: Array<{ pid: number; pageWrites: number; share: number }>;
  }>;
  joined: number;
  left: number;
  execd: number;
}

/** The value of `key` in `map`, made by `make` and added the first time. */
function entry<K, V>(map: Map<K, V>, key: K, make: () => V): V {
  let v = map.get(key);
  if (v === undefined) map.set(key, (v = make()));
  return v;
}

export function buildGroupReport(rec: GroupRecording): GroupReport {
  const members = new Map<number, GroupReport['members'][number]>();
  const objects = new Map<
    string,
    GroupReport['objects'][number] & { pages: Set<number>; by: Map<number, [number, number]> }
  >();
  let exact = true;
  let joined = 0;
  let left = 0;
  let execd = 0;
  for (const t of rec.ticks) {
    exact &&= t.exact;
    joined += t.joined.length;
    left += t.left.length;
    execd += t.execd.length;
    for (const m of t.members) {
      const r = entry(members, m.pid, () => ({
        pid: m.pid,
        name: m.name,
        ticks: 0,
        writtenPages: 0,
        privatePages: 0,
        sharedPages: 0,
        peakPages: 0,
      }));
      r.ticks++;
      r.writtenPages += m.writtenPages;
      r.privatePages += m.privatePages;
      r.sharedPages += m.sharedPages;
      r.peakPages = Math.max(r.peakPages, m.writtenPages);
    }
    for (const o of t.objects) {
      const r = entry(objects, o.key, () => ({
        key: o.key,
        kind: o.kind,
        label: o.label,
        identity: o.identity,
        distinctPages: 0,
        pageWrites: 0,
        peakPages: 0,
        members: [],
        pages: new Set<number>(),
        by: new Map<number, [number, number]>(),
      }));
      let n = 0;
      for (const [a, b] of o.ranges) {
        n += b - a;
        for (let p = a; p < b; p++) r.pages.add(p);
      }
      r.pageWrites += n;
      r.peakPages = Math.max(r.peakPages, n);
      for (const s of o.shares) {
        const v = entry(r.by, s.pid, (): [number, number] => [0, 0]);
        v[0] += s.pages;
        v[1] += s.share;
      }
    }
  }
  return {
    group: rec.header.group.describe,
    watching: rec.header.watching,
    intervalMs: rec.header.intervalMs,
    ticks: rec.ticks.length,
    exact,
    members: [...members.values()].sort((a, b) => b.writtenPages - a.writtenPages || a.pid - b.pid),
    objects: [...objects.values()]
      .map(({ pages, by, ...o }) => ({
        ...o,
        distinctPages: pages.size,
        members: [...by]
          .map(([pid, [w, s]]) => ({ pid, pageWrites: w, share: Math.round(s * 100) / 100 }))
          .sort((a, b) => b.pageWrites - a.pageWrites || a.pid - b.pid),
      }))
      .sort((a, b) => b.pageWrites - a.pageWrites || a.label.localeCompare(b.label)),
    joined,
    left,
    execd,
  };
}
