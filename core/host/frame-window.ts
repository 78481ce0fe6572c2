/**
 * Frame flow control, one window per UI connection (a WebSocket of the web host, a window of
 * Electron): both hosts use this one module, so they pace frames the same way.
 *
 * Per session, at most `limit` frames (FRAMES_IN_FLIGHT) are sent and not yet acknowledged by the
 * UI (`{"ack": sessionId}`, protocol/messages.ts). A newer frame while the window is full is held
 * back, and replaces the one already held (latest wins; the replaced one counts as dropped): it
 * goes out when an ack frees a place. A UI that takes frames in slower than the ticks come gets
 * fewer frames, never a queue of stale ones that every reply and event would wait behind
 * (measured: a click answered 170-600 s late at load 40). Replies and events do not pass through
 * here at all. A session's end (`end`, at its sessionEnded event) lets its held frame go.
 *
 * Pure: no timers, no I/O; the host passes the function that sends.
 */

/**
 * Frames of one session a UI may have unacknowledged at once: two, so the next frame is already
 * on its way while the UI takes in the last one, and no more.
 */
export const FRAMES_IN_FLIGHT = 2;

interface Stream<T> {
  inFlight: number;
  held: T | null;
}

export class FrameWindow<T> {
  private readonly streams = new Map<number, Stream<T>>();
  private replacedCount = 0;

  /**
   * @param send sends one frame now; false when the transport could not take it (closed, or
   *   over a backstop), which then does not count as in flight.
   * @param limit frames of a session unacknowledged at once (FRAMES_IN_FLIGHT; tests vary it).
   */
  constructor(
    private readonly send: (frame: T) => boolean,
    private readonly limit = FRAMES_IN_FLIGHT,
  ) {
    if (!Number.isInteger(limit) || limit < 1)
      throw new RangeError(`A frame window holds at least one frame, not ${limit}.`);
  }

  /**
   * A new frame of `sessionId`: sent now when the session's window has room, else held back in
   * place of the one held before. `keep` makes the copy to hold (a host whose frames may be
   * reused once this call returns copies; one that holds its own encoding passes nothing).
   */
  offer(sessionId: number, frame: T, keep: (frame: T) => T = (f) => f): 'sent' | 'held' {
    let s = this.streams.get(sessionId);
    if (!s) this.streams.set(sessionId, (s = { inFlight: 0, held: null }));
    if (s.inFlight >= this.limit) {
      if (s.held !== null) this.replacedCount++; // replaced unseen by a newer one
      s.held = keep(frame);
      return 'held';
    }
    if (this.send(frame)) s.inFlight++;
    else if (s.inFlight === 0) this.streams.delete(sessionId);
    return 'sent';
  }

  /**
   * The UI took in one whole frame of `sessionId`: the held one, if any, goes out. False (and
   * nothing changes) when no frame of that session is unacknowledged: an ack for nothing sent
   * is harmless and cannot buy room ahead of time.
   */
  ack(sessionId: number): boolean {
    const s = this.streams.get(sessionId);
    if (!s || s.inFlight === 0) return false;
    s.inFlight--;
    if (s.held !== null) {
      const next = s.held;
      s.held = null;
      if (this.send(next)) s.inFlight++;
    }
    if (s.inFlight === 0 && s.held === null) this.streams.delete(sessionId);
    return true;
  }

  /** The session ended: forget it, and let its held frame go (never sent). */
  end(sessionId: number): void {
    this.streams.delete(sessionId);
  }

  /** Frames replaced while held back, never sent. */
  get replaced(): number {
    return this.replacedCount;
  }

  /** Sessions with a frame unacknowledged or held (what this window keeps state for). */
  get sessions(): number {
    return this.streams.size;
  }

  /** Frames of `sessionId` sent and unacknowledged, and whether one is held back. */
  state(sessionId: number): { inFlight: number; held: boolean } {
    const s = this.streams.get(sessionId);
    return { inFlight: s?.inFlight ?? 0, held: s !== undefined && s.held !== null };
  }
}
