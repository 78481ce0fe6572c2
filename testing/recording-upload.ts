/**
 * Test support: sends a file to a host the way the UI does (base64 chunks, in order, each answer
 * awaited), and opens it as a replay the way the UI does after an upload.
 */
import { expect } from 'vitest';
import type { Response } from '../core/protocol/messages.ts';
import { UPLOAD_CHUNK_BYTES } from '../core/protocol/recording.ts';
import type { HostConnection } from '../core/host/service.ts';
import type { Reply, WsClient } from './serve.ts';

export async function upload(
  c: HostConnection,
  name: string,
  bytes: Uint8Array,
): Promise<{ uploadId: number }> {
  let uploadId: number | undefined;
  let off = 0;
  do {
    const data = Buffer.from(bytes.subarray(off, off + UPLOAD_CHUNK_BYTES)).toString('base64');
    const r = await c.handle({
      id: 1,
      method: 'uploadRecording',
      params: { uploadId, name, size: bytes.length, offset: off, data },
    });
    if (!r.ok) throw Object.assign(new Error(r.error.message), { code: r.error.code });
    uploadId = (r.result as { uploadId: number }).uploadId;
    off += UPLOAD_CHUNK_BYTES;
  } while (off < bytes.length);
  return { uploadId };
}

/** Uploads `bytes` as `name` and asks the host to open it (request `id`): the host's answer. */
export async function openUpload(
  c: HostConnection,
  name: string,
  bytes: Uint8Array,
  id = 1,
): Promise<Response> {
  const { uploadId } = await upload(c, name, bytes);
  return c.handle({ id, method: 'openRecording', params: { source: { uploadId } } });
}

/** The same for a file that must open: the replay session's id (the answer fails the test otherwise). */
export async function openUploadSession(
  c: HostConnection,
  name: string,
  bytes: Uint8Array,
): Promise<number> {
  const opened = await openUpload(c, name, bytes);
  expect(opened.ok, JSON.stringify(opened)).toBe(true);
  return (opened as { result: { sessionId: number } }).result.sessionId;
}

/**
 * The same over a real socket (testing/serve.ts's client). `bytes` is the file, or its size
 * with every chunk the same `filler` bytes (a large upload without a large buffer here).
 * Resolves with the upload's id, or the first error reply.
 */
export async function uploadOverSocket(
  c: WsClient,
  name: string,
  bytes: Uint8Array | number,
  filler: Uint8Array = new Uint8Array(UPLOAD_CHUNK_BYTES),
): Promise<{ uploadId: number } | Reply> {
  const size = typeof bytes === 'number' ? bytes : bytes.length;
  const fillerB64 = Buffer.from(filler.subarray(0, UPLOAD_CHUNK_BYTES)).toString('base64');
  let uploadId: number | undefined;
  let off = 0;
  do {
    const n = Math.min(UPLOAD_CHUNK_BYTES, size - off);
    const data =
      typeof bytes === 'number'
        ? n === UPLOAD_CHUNK_BYTES
          ? fillerB64
          : Buffer.from(filler.subarray(0, n)).toString('base64')
        : Buffer.from(bytes.subarray(off, off + n)).toString('base64');
    const r = await c.request('uploadRecording', { uploadId, name, size, offset: off, data });
    if (!r.ok) return r;
    uploadId = (r.result as { uploadId: number }).uploadId;
    off += n;
  } while (off < size);
  return { uploadId: uploadId! };
}
