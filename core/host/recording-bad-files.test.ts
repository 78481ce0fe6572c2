/**
 * Bad recordings at the host boundary: cut short, another format version, garbage, absurd
 * declared sizes (header, record, upload), out-of-order or oversized uploads, a recording with no
 * tick. Each gets ONE error with a stable code and a sentence naming the file; the host keeps
 * answering and opens a good recording right after. A file cut inside its records is readable up
 * to its last whole tick and says so.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Frame } from '../protocol/frame.ts';
import { PageBit } from '../protocol/page-bits.ts';
import { MAX_UPLOAD_BYTES } from '../protocol/recording.ts';
import { RecordingWriter } from '../record/writer.ts';
import { openUpload } from '../../testing/recording-upload.ts';
import { HostService, type HostConnection } from './service.ts';
import { tickCounters } from '../../testing/counters.ts';
import { ANON_64_VMAS, recordStarts } from '../../testing/crafted-recordings.ts';

let dir: string;
let good: Buffer;
let empty: Buffer;
let service: HostService;
let conn: HostConnection;

function frame(tick: number): Frame {
  const bits = new Uint16Array(64);
  for (let p = 0; p < 64; p++)
    bits[p] = p < tick * 4 ? PageBit.PRESENT | PageBit.MAPPED | PageBit.WATCHED : PageBit.WATCHED;
  return {
    sessionId: 1,
    tick,
    vmaVersion: 1,
    totalPages: 64,
    counters: tickCounters({ tick, present: tick * 4, written: 1, watched: 64 }),
    overview: { buckets: 1, pagesPerBucket: 64, histogram: new Uint32Array(9) },
    window: { startIndex: 0, endIndex: 64, bits },
    written: Float64Array.from([tick, tick + 1]),
    vmaCounts: new Uint32Array(0),
  };
}

function write(file: string, ticks: number): Buffer {
  const w = new RecordingWriter(
    file,
    {
      createdAt: '2026-11-29T02:00:00.000Z',
      pagescope: 'test',
      process: { pid: 4242, name: 'made-up', cmdline: 'made-up', launched: false },
      kernel: '6.8.0-test',
      capabilities: {},
      warnings: [],
      intervalMs: 100,
      watching: 'test',
    },
    ANON_64_VMAS,
  );
  for (let t = 1; t <= ticks; t++) w.tick(frame(t), 0);
  w.close('test');
  return fs.readFileSync(file);
}

let id = 1;
function open(name: string, bytes: Uint8Array) {
  return openUpload(conn, name, bytes, id++);
}

/** Opens a bad file: one error with `code`, in a sentence naming it; the host still answers. */
async function refused(name: string, bytes: Uint8Array, code: string): Promise<string> {
  const r = await open(name, bytes);
  expect(r.ok).toBe(false);
  if (r.ok) return '';
  expect(r.error.code).toBe(code);
  expect(r.error.message).toContain(name);
  expect(r.error.message.split(/\.\s/).length).toBeLessThanOrEqual(2);
  expect((await conn.handle({ id: id++, method: 'hello', params: { version: 1 } })).ok).toBe(true);
  return r.error.message;
}

/**
 * The host still opens a good file (a replay session: ~0.7 s of a loaded machine, so once per
 * test, after all its bad files: what a bad file broke stays broken for the next open).
 */
async function stillOpensGood(): Promise<void> {
  const ok = await open('good.pgsrec', good);
  expect(ok.ok).toBe(true);
  if (ok.ok)
    await conn.handle({
      id: id++,
      method: 'detach',
      params: { sessionId: (ok.result as { sessionId: number }).sessionId },
    });
}

async function expectOneError(name: string, bytes: Uint8Array, code: string): Promise<string> {
  const msg = await refused(name, bytes, code);
  await stillOpensGood();
  return msg;
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pagescope-badrec-'));
  good = write(path.join(dir, 'good.pgsrec'), 12);
  empty = write(path.join(dir, 'empty.pgsrec'), 0);
  service = new HostService({ recordings: { recordingsDir: dir } });
  conn = service.connect({ frame: () => {}, event: () => {} });
});

afterAll(async () => {
  await service.closeAll();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe('bad recordings get one clear error and never hurt the host', () => {
  it('garbage', async () => {
    const msg = await expectOneError(
      'junk.bin',
      Buffer.from('GIF89a, not a recording at all'),
      'bad-recording',
    );
    expect(msg).toMatch(/not a pagescope recording/);
  });

  it('another format version', async () => {
    const b = Buffer.from(good);
    b.writeUInt16LE(7, 8);
    expect(await expectOneError('v7.pgsrec', b, 'bad-recording')).toMatch(/version 7/);
  });

  it('cut short inside its header, at every length', async () => {
    for (const n of [8, 12, 16, 40, 100])
      await refused(`cut${n}.pgsrec`, good.subarray(0, n), 'bad-recording');
    await stillOpensGood();
  });

  it('cut short inside its records: readable up to its last whole tick, marked truncated', async () => {
    const r = await open('cut-tail.pgsrec', good.subarray(0, good.length - 30));
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const res = r.result as {
      sessionId: number;
      recording: { truncated: string | null; ticks: number; endedCleanly: boolean };
    };
    expect(res.recording.truncated).toMatch(/cut short|checksum/);
    expect(res.recording.endedCleanly).toBe(false);
    expect(res.recording.ticks).toBeGreaterThan(0);
    await conn.handle({ id: id++, method: 'detach', params: { sessionId: res.sessionId } });
  });

  it('a damaged length in the middle (past the end of the file) is damage, not a torn tail', async () => {
    const b = Buffer.from(good);
    const second = recordStarts(b)[1];
    b.writeUInt32LE(268435456, second + 1);
    expect(await expectOneError('midlength.pgsrec', b, 'bad-recording')).toMatch(
      new RegExp(`record at byte ${second} declares 268435456 bytes, past the end of the file`),
    );
  });

  it('bad header fields: unknown flags, version -1, createdAt "x", kernel "x"', async () => {
    const len = good.readUInt32LE(12);
    const header = JSON.parse(good.subarray(16, 16 + len).toString()) as Record<string, unknown>;
    const withHeader = (patch: Record<string, unknown>): Buffer => {
      const json = Buffer.from(JSON.stringify({ ...header, ...patch }));
      const pre = Buffer.alloc(16);
      good.copy(pre, 0, 0, 16);
      pre.writeUInt32LE(json.length, 12);
      const crc = Buffer.alloc(4);
      crc.writeUInt32LE(zlib.crc32(json));
      return Buffer.concat([pre, json, crc, good.subarray(16 + len + 4)]);
    };
    const flags = Buffer.from(good);
    flags.writeUInt16LE(0x8000, 10);
    expect(await refused('flags.pgsrec', flags, 'bad-recording')).toMatch(/flags 0x8000/);
    for (const [name, patch] of [
      ['version', { version: -1 }],
      ['createdAt', { createdAt: 'x' }],
      ['kernel', { kernel: 'x' }],
    ] as const)
      expect(await refused(`${name}.pgsrec`, withHeader(patch), 'bad-recording')).toMatch(
        new RegExp(`header at byte 16 is malformed \\(${name}: `),
      );
    await stillOpensGood();
  });

  it('a header that declares 4 GiB', async () => {
    const b = Buffer.from(good);
    b.writeUInt32LE(0xffffffff, 12);
    expect(await expectOneError('bighead.pgsrec', b, 'bad-recording')).toMatch(
      /header of 4294967295 bytes/,
    );
  });

  it('a record that declares 4 GiB', async () => {
    const b = Buffer.from(good);
    const headerLen = b.readUInt32LE(12);
    const first = 16 + headerLen + 4; // the first record: type, then its length
    b.writeUInt32LE(0xfffffff0, first + 1);
    await expectOneError('bigrecord.pgsrec', b, 'bad-recording');
  });

  it('a flipped bit in the middle', async () => {
    const b = Buffer.from(good);
    b[Math.floor(b.length / 2)] ^= 0x10;
    await expectOneError('flipped.pgsrec', b, 'bad-recording');
  });

  it('no tick at all', async () => {
    await expectOneError('empty.pgsrec', empty, 'bad-recording');
  });

  it('uploads: a huge declared size, more bytes than declared, out of order, incomplete', async () => {
    const req = (params: unknown) => conn.handle({ id: id++, method: 'uploadRecording', params });
    const huge = await req({
      name: 'huge.pgsrec',
      size: MAX_UPLOAD_BYTES + 1,
      offset: 0,
      data: '',
    });
    expect(huge.ok).toBe(false);
    if (!huge.ok) expect(huge.error.code).toBe('bad-recording');
    const big = await req({ name: 'x.pgsrec', size: 2 ** 52, offset: 0, data: '' });
    expect(big.ok).toBe(false);
    const first = await req({ name: 'x.pgsrec', size: 4, offset: 0, data: 'AAAA' });
    expect(first.ok).toBe(true);
    const uploadId = (first.ok && (first.result as { uploadId: number }).uploadId) as number;
    const over = await req({ uploadId, name: 'x.pgsrec', size: 4, offset: 3, data: 'AAAA' });
    expect(over.ok).toBe(false);
    if (!over.ok) expect(over.error.code).toBe('bad-request');
    const again = await req({ name: 'x.pgsrec', size: 10, offset: 0, data: 'AAAA' });
    const id2 = (again.ok && (again.result as { uploadId: number }).uploadId) as number;
    const opened = await conn.handle({
      id: id++,
      method: 'openRecording',
      params: { source: { uploadId: id2 } },
    });
    expect(opened.ok).toBe(false);
    if (!opened.ok) expect(opened.error.message).toMatch(/incomplete \(3 of 10 bytes\)/);
    const notB64 = await req({ name: 'x.pgsrec', size: 4, offset: 0, data: '!!!!' });
    expect(notB64.ok).toBe(false);
  });

  it('the file `serve FILE` names: garbage there is the same one error', async () => {
    fs.writeFileSync(path.join(dir, 'served.pgsrec'), 'garbage');
    const s = new HostService({ recordings: { servedRecording: path.join(dir, 'served.pgsrec') } });
    const c = s.connect({ frame: () => {}, event: () => {} });
    const r = await c.handle({ id: 1, method: 'openRecording', params: { source: 'served' } });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe('bad-recording');
    const gone = new HostService({
      recordings: { servedRecording: path.join(dir, 'nope.pgsrec') },
    });
    const r2 = await gone
      .connect({ frame: () => {}, event: () => {} })
      .handle({ id: 1, method: 'openRecording', params: { source: 'served' } });
    expect(r2.ok).toBe(false);
    if (!r2.ok)
      expect(r2.error).toMatchObject({
        code: 'bad-recording',
        message: expect.stringMatching(/no such file/),
      });
    await s.closeAll();
    await gone.closeAll();
  });
});
