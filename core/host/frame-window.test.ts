/**
 * The frame window both hosts pace frames with (frame-window.ts), alone: a recorded `send`,
 * frames numbered by tick. Each case fails with the window off (every frame sent), with the
 * oldest held frame kept instead of the newest, or with an ended session's frame kept.
 */
import { describe, expect, it } from 'vitest';
import { FRAMES_IN_FLIGHT, FrameWindow } from './frame-window.ts';

interface F {
  sessionId: number;
  tick: number;
}

function rig(limit = FRAMES_IN_FLIGHT) {
  const sent: F[] = [];
  let open = true;
  const w = new FrameWindow<F>((f) => {
    if (!open) return false;
    sent.push(f);
    return true;
  }, limit);
  const offer = (sessionId: number, tick: number) => w.offer(sessionId, { sessionId, tick });
  const ticks = (sessionId?: number) =>
    sent.filter((f) => sessionId === undefined || f.sessionId === sessionId).map((f) => f.tick);
  return { w, sent, offer, ticks, close: () => (open = false) };
}

describe('FrameWindow', () => {
  it('sends FRAMES_IN_FLIGHT frames of a session, then holds the rest back', () => {
    expect(FRAMES_IN_FLIGHT).toBe(2);
    const r = rig();
    expect([1, 2, 3, 4, 5].map((t) => r.offer(7, t))).toEqual([
      'sent',
      'sent',
      'held',
      'held',
      'held',
    ]);
    expect(r.ticks()).toEqual([1, 2]);
    expect(r.w.state(7)).toEqual({ inFlight: 2, held: true });
  });

  it('sends the NEWEST held frame on an ack, counting the ones it replaced as dropped', () => {
    const r = rig();
    for (let t = 1; t <= 6; t++) r.offer(7, t);
    expect(r.w.ack(7)).toBe(true);
    expect(r.ticks()).toEqual([1, 2, 6]);
    expect(r.w.replaced).toBe(3); // 3, 4 and 5: never sent
    // Nothing is held now: the next ack frees a place and sends nothing, the one after that too.
    expect(r.w.ack(7)).toBe(true);
    expect(r.w.ack(7)).toBe(true);
    expect(r.ticks()).toEqual([1, 2, 6]);
    expect(r.w.state(7)).toEqual({ inFlight: 0, held: false });
    expect(r.w.sessions, 'a session with nothing in flight is forgotten').toBe(0);
    r.offer(7, 7);
    expect(r.ticks()).toEqual([1, 2, 6, 7]);
  });

  it('ignores an ack for nothing in flight: it cannot buy room ahead of time', () => {
    const r = rig();
    expect(r.w.ack(7)).toBe(false);
    expect(r.w.ack(7)).toBe(false);
    for (let t = 1; t <= 4; t++) r.offer(7, t);
    expect(r.ticks()).toEqual([1, 2]);
  });

  it('keeps one window per session: a slow session never holds back another', () => {
    const r = rig();
    for (let t = 1; t <= 4; t++) r.offer(1, t);
    r.offer(2, 100);
    r.offer(2, 101);
    r.offer(2, 102);
    expect(r.ticks(1)).toEqual([1, 2]);
    expect(r.ticks(2)).toEqual([100, 101]);
    r.w.ack(2);
    expect(r.ticks(1)).toEqual([1, 2]);
    expect(r.ticks(2)).toEqual([100, 101, 102]);
    r.w.ack(1);
    expect(r.ticks(1)).toEqual([1, 2, 4]);
  });

  it('lets an ended session’s held frame go: a later ack of it sends nothing', () => {
    const r = rig();
    for (let t = 1; t <= 4; t++) r.offer(7, t);
    r.offer(8, 1);
    r.w.end(7);
    expect(r.w.state(7)).toEqual({ inFlight: 0, held: false });
    expect(r.w.sessions).toBe(1);
    expect(r.w.ack(7)).toBe(false);
    expect(r.ticks(7)).toEqual([1, 2]);
    expect(r.w.state(8)).toEqual({ inFlight: 1, held: false }); // another session untouched
  });

  it('does not count a frame the transport refused as in flight', () => {
    const r = rig();
    r.close();
    r.offer(7, 1);
    r.offer(7, 2);
    r.offer(7, 3);
    expect(r.sent).toEqual([]);
    expect(r.w.state(7)).toEqual({ inFlight: 0, held: false });
    expect(r.w.sessions).toBe(0);
  });

  it('holds what `keep` makes of a frame, and sends that', () => {
    const sent: number[][] = [];
    const w = new FrameWindow<number[]>((f) => {
      sent.push(f);
      return true;
    });
    const reused = [1];
    w.offer(1, reused, (f) => f.slice());
    w.offer(1, reused, (f) => f.slice());
    reused[0] = 3;
    w.offer(1, reused, (f) => f.slice());
    reused[0] = 99; // the engine reuses its arrays after the call returned
    w.ack(1);
    expect(sent[2]).toEqual([3]);
  });

  it('follows the limit it is given, and refuses one below 1', () => {
    const r = rig(1);
    r.offer(7, 1);
    r.offer(7, 2);
    expect(r.ticks()).toEqual([1]);
    expect(() => new FrameWindow(() => true, 0)).toThrow(/at least one frame/);
  });

  it('never has more than the limit in flight, and always sends the newest, over a random run', () => {
    // A seeded walk of offers, acks and ends over three sessions, checked against a model; the
    // first step where the two differ is reported.
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) / 65536;
    const r = rig();
    const model = new Map<number, { inFlight: number; newest: number | null }>();
    let tick = 0;
    const mismatch = (): string | null => {
      for (const [id, st] of model) {
        const got = r.w.state(id);
        if (got.inFlight !== st.inFlight || got.held !== (st.newest !== null))
          return `session ${id}: ${JSON.stringify(got)}, model ${JSON.stringify(st)}`;
      }
      return null;
    };
    for (let i = 0; i < 3000; i++) {
      const s = Math.floor(rand() * 3);
      const m = model.get(s) ?? { inFlight: 0, newest: null };
      model.set(s, m);
      const x = rand();
      const before = r.sent.length;
      let want: F[] = [];
      let wrong: string | null = null;
      if (x < 0.6) {
        tick++;
        r.offer(s, tick);
        if (m.inFlight < FRAMES_IN_FLIGHT) {
          want = [{ sessionId: s, tick }];
          m.inFlight++;
        } else m.newest = tick;
      } else if (x < 0.95) {
        const had = m.inFlight > 0;
        if (r.w.ack(s) !== had) wrong = `ack(${s}) answered ${!had}`;
        if (had) {
          m.inFlight--;
          if (m.newest !== null) {
            want = [{ sessionId: s, tick: m.newest }];
            m.newest = null;
            m.inFlight++;
          }
        }
      } else {
        r.w.end(s);
        model.delete(s);
      }
      const got = r.sent.slice(before);
      if (JSON.stringify(got) !== JSON.stringify(want))
        wrong = `sent ${JSON.stringify(got)}, model ${JSON.stringify(want)}`;
      wrong ??= mismatch();
      if (wrong) expect.fail(`step ${i}: ${wrong}`);
    }
  });
});
