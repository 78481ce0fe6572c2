/** Test support: sends a file to a host connection the way the UI does (base64 chunks, in order). */
import { UPLOAD_CHUNK_BYTES } from '../core/protocol/recording.ts';
import type { HostConnection } from '../core/host/service.ts';

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
