/**
 * Group recordings (format version 3) opened through the host as the UI opens any recording
 * (an upload, then openRecording): a good one comes back whole as `group` (members, each tick's
 * objects with their written ranges and members' shares), a cut-short one is marked, and each
 * damaged one gets ONE 'bad-recording' sentence naming the user's file; the host keeps answering.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { methods, type GroupRecordingInfo } from '../protocol/messages.ts';
import { crc32, PREAMBLE_BYTES } from '../record/format.ts';
import {
  GROUP_TICK,
  GroupRecordingWriter,
  type GroupTickRecord,
} from '../record/group-recording.ts';
import { upload } from '../../testing/recording-upload.ts';
import { CLI } from '../../testing/watch-support.ts';
import { HostService, type HostConnection } from './service.ts';

let dir: string;
let good: Buffer;
let service: HostService;
let conn: HostConnection;

const tick = (t: number, pages: number): GroupTickRecord => ({
  t,
  exact: true,
  members: [
    { pid: 10, name: 'parent', writtenPages: pages, privatePages: 0, sharedPages: pages },
    { pid: 11, name: 'child', writtenPages: pages, privatePages: 0, sharedPages: pages },
  ],
  objects: [
    {
      key: '0:77',
      kind: 'shared anonymous',
      label: 'shared anonymous',
      identity: 'inode 77',
      ranges: [[0, pages]],
      shares: [
        { pid: 10, pages, share: pages / 2 },
        { pid: 11, pages, share: pages / 2 },
      ],
    },
  ],
  joined: [],
  left: [],
  execd: [],
});

function write(file: string, ticks: number, end = true): Buffer {
  const w = new GroupRecordingWriter(file, {
    pagescope: 'test',
    group: { describe: 'tree of pid 10', kind: 'tree' },
    intervalMs: 200,
    watching: 'every writable mapping',
    members: [
      { pid: 10, ppid: 1, name: 'parent' },
      { pid: 11, ppid: 10, name: 'child' },
    ],
  });
  for (let i = 1; i <= ticks; i++) w.tick(tick(i * 200, i));
  if (end) w.end('test');
  return fs.readFileSync(file);
}

let id = 1;
async function open(name: string, bytes: Uint8Array) {
  const { uploadId } = await upload(conn, name, bytes);
  return conn.handle({ id: id++, method: 'openRecording', params: { source: { uploadId } } });
}

async function expectOneError(name: string, bytes: Uint8Array, re: RegExp): Promise<void> {
  const r = await open(name, bytes);
  expect(r.ok).toBe(false);
  if (r.ok) return;
  expect(r.error.code).toBe('bad-recording');
  expect(r.error.message).toContain(name);
  expect(r.error.message).not.toContain(dir); // the user's name, never the host's temp file
  expect(r.error.message.split(/\.\s/)).toHaveLength(1);
  expect(r.error.message).toMatch(re);
  // Still answering, and a good file opens right after.
  expect((await open('good.pgsrec', good)).ok).toBe(true);
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-group-replay-'));
  good = write(path.join(dir, 'good.pgsrec'), 3);
  service = new HostService({ recordings: { recordingsDir: dir } });
  conn = service.connect({ frame: () => {}, event: () => {} });
});

afterAll(async () => {
  await service.closeAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

it('opens an uploaded group recording whole, as a group, without a replay session', async () => {
  const r = await open('tree.pgsrec', good);
  expect(r.ok, r.ok ? '' : r.error.message).toBe(true);
  if (!r.ok) return;
  // The answer is what the protocol says openRecording answers.
  expect(methods.openRecording.result.safeParse(r.result).success).toBe(true);
  const { group } = r.result as { group: GroupRecordingInfo };
  expect(group.file).toBe('tree.pgsrec');
  expect(group.describe).toBe('tree of pid 10');
  expect(group.members.map((m) => [m.pid, m.ppid])).toEqual([
    [10, 1],
    [11, 10],
  ]);
  expect(group.ticks.map((t) => t.t)).toEqual([200, 400, 600]);
  expect(group.ticks[2].objects[0].ranges).toEqual([[0, 3]]);
  expect(group.ticks[2].objects[0].shares).toEqual([
    { pid: 10, pages: 3, share: 1.5 },
    { pid: 11, pages: 3, share: 1.5 },
  ]);
  expect(group.truncated).toBeNull();
  expect(group.endedCleanly).toBe(true);
  expect(group.moreTicks).toBe(0);
  // The upload's file is released once read: nothing left in the recordings folder but ours.
  expect(fs.readdirSync(dir).sort()).toEqual(['good.pgsrec']);
});

it('a recorder killed mid-record: readable up to its last whole tick, marked', async () => {
  const b = write(path.join(dir, 'killed.pgsrec'), 2, false);
  fs.rmSync(path.join(dir, 'killed.pgsrec'));
  const r = await open('killed.pgsrec', b.subarray(0, b.length - 7));
  expect(r.ok).toBe(true);
  if (!r.ok) return;
  const { group } = r.result as { group: GroupRecordingInfo };
  expect(group.ticks).toHaveLength(1);
  expect(group.truncated).toMatch(/cut short/);
  expect(group.endedCleanly).toBe(false);
});

it('damaged group recordings: one sentence each, naming the file', async () => {
  const hl = good.readUInt32LE(12);
  const firstRecord = PREAMBLE_BYTES + hl + 4;
  const flip = (at: number) => {
    const b = Buffer.from(good);
    b[at] ^= 0x20;
    return b;
  };
  await expectOneError('header.pgsrec', flip(PREAMBLE_BYTES + 5), /header fails its checksum/);
  await expectOneError('cut.pgsrec', good.subarray(0, PREAMBLE_BYTES + 10), /cut short/);
  await expectOneError('tick.pgsrec', flip(firstRecord + 12), /fails its checksum/);
  // A record with a good checksum whose JSON is not a group tick.
  const payload = Buffer.from(JSON.stringify({ t: 1, members: 'no' }));
  const head = Buffer.from([GROUP_TICK, 0, 0, 0, 0]);
  head.writeUInt32LE(payload.length, 1);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32(head, payload));
  await expectOneError(
    'notatick.pgsrec',
    Buffer.concat([good.subarray(0, firstRecord), head, payload, crc]),
    /is not a group tick/,
  );
  await expectOneError('empty.pgsrec', write(path.join(dir, 'e'), 0), /holds no tick/);
  fs.rmSync(path.join(dir, 'e'));
});

it('`serve FILE` of a damaged group recording says what is wrong with it, exit 2', () => {
  const bad = path.join(dir, 'served-damaged.pgsrec');
  const b = Buffer.from(good);
  b[PREAMBLE_BYTES + 5] ^= 0x20;
  fs.writeFileSync(bad, b);
  const r = spawnSync(process.execPath, [CLI, 'serve', '--no-open', '--port', '0', bad], {
    encoding: 'utf8',
    timeout: 60_000,
  });
  fs.rmSync(bad);
  expect(r.status, r.stderr).toBe(2);
  expect(r.stderr.trim()).toMatch(
    /served-damaged\.pgsrec is damaged: its header fails its checksum\.$/,
  );
});
