/**
 * A frame over a WebSocket in pieces: the host sends one encoded frame (wire.ts) as consecutive
 * binary messages of at most FRAME_PIECE_BYTES; the page joins them back (FrameAssembler).
 *
 * Why: Chromium's main thread spends time in proportion to the bytes of one binary message
 * (measured ~35 ms per MB, all in a single task, none of it in our JavaScript), so one 1.3 MB
 * frame of a million-run target was a long task (> 50 ms) by itself on every tick. In pieces of
 * 64 KiB each costs a couple of milliseconds and the page stays responsive between them.
 *
 * No framing of our own: the first piece starts with the frame's header, which gives the whole
 * frame's length (frameByteLength); the pieces that follow fill it in order (a WebSocket keeps
 * its messages in order, and the host sends a frame's pieces back to back). A piece that does not
 * fit — bad header, too big, more bytes than the frame announced — drops the frame being joined
 * and says why; the next frame starts afresh.
 */
import { frameByteLength, FRAME_HEADER_BYTES } from './wire.ts';

/** Largest binary message the host sends (bytes). */
export const FRAME_PIECE_BYTES = 64 * 1024;

/** Largest frame a page accepts (bytes): far above any the protocol's limits allow. */
export const MAX_FRAME_BYTES = 256 * 1024 * 1024;

/** `frame` cut into views of at most `pieceBytes` bytes each, in order (no copies). */
export function framePieces(frame: ArrayBuffer, pieceBytes = FRAME_PIECE_BYTES): Uint8Array[] {
  if (!(pieceBytes >= FRAME_HEADER_BYTES))
    throw new Error(`A frame piece must hold the header (${FRAME_HEADER_BYTES} bytes).`);
  const pieces: Uint8Array[] = [];
  for (let at = 0; at < frame.byteLength; at += pieceBytes)
    pieces.push(new Uint8Array(frame, at, Math.min(pieceBytes, frame.byteLength - at)));
  return pieces;
}

export type PieceResult =
  | { kind: 'frame'; buffer: ArrayBuffer }
  | { kind: 'partial' }
  | { kind: 'dropped'; reason: string };

/** Joins the pieces of one frame at a time back into the frame's ArrayBuffer. */
export class FrameAssembler {
  private buffer: Uint8Array<ArrayBuffer> | null = null;
  private filled = 0;

  /** True while a frame has been started and not completed. */
  get joining(): boolean {
    return this.buffer !== null;
  }

  push(piece: ArrayBuffer): PieceResult {
    if (this.buffer === null) {
      let total: number;
      try {
        total = frameByteLength(piece);
      } catch (err) {
        return { kind: 'dropped', reason: (err as Error).message };
      }
      if (total > MAX_FRAME_BYTES)
        return {
          kind: 'dropped',
          reason: `Frame of ${total} bytes is larger than the ${MAX_FRAME_BYTES} accepted.`,
        };
      // A frame in one message: no copy.
      if (piece.byteLength === total) return { kind: 'frame', buffer: piece };
      if (piece.byteLength > total)
        return { kind: 'dropped', reason: 'Frame length does not match its header.' };
      this.buffer = new Uint8Array(new ArrayBuffer(total));
      this.filled = 0;
    }
    const buffer = this.buffer;
    if (this.filled + piece.byteLength > buffer.byteLength) {
      this.buffer = null;
      return { kind: 'dropped', reason: 'A frame piece runs past the frame it belongs to.' };
    }
    buffer.set(new Uint8Array(piece), this.filled);
    this.filled += piece.byteLength;
    if (this.filled < buffer.byteLength) return { kind: 'partial' };
    this.buffer = null;
    return { kind: 'frame', buffer: buffer.buffer };
  }

  /** Forget a frame half joined (the connection closed). */
  reset(): void {
    this.buffer = null;
    this.filled = 0;
  }
}
