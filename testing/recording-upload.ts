/** Test support: sends a file to a host the way the UI does (base64 chunks, in order, each answer awaited). */
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
