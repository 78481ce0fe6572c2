/**
 * While a live session is being recorded, the recorder holds the session's view at a
 * full-resolution window over every page (core/record/recorder.ts); the UI must still get the
 * view it asked for. `shapeFrame` cuts such a frame down to a view: the overview recounted from
 * the window's page bits by the session's bucket rule (aggregate.ts: the same counts it would
 * have sent), the window sliced. A frame whose window does not cover the whole space (an address
 * space above what is recorded page by page) keeps its overview and sends no window the UI did
 * not get a full cover of.
 */
import type { Frame } from '../protocol/frame.ts';
import { histogramOf } from '../record/reader.ts';
import type { ViewSpec } from '../session/aggregate.ts';

export function shapeFrame(f: Frame, view: ViewSpec): Frame {
  const w = f.window;
  const total = f.totalPages;
  const whole = w !== null && w.startIndex === 0 && w.endIndex >= total;
  let overview = f.overview;
  if (whole) {
    // aggregate.ts's rule: as many buckets as asked, at most one per page, whole pages each.
    const minBuckets = Math.ceil(total / 0xffffffff);
    const want = Math.max(1, minBuckets, Math.min(view.buckets, Math.max(1, total)));
    const ppb = Math.max(1, Math.ceil(total / want));
    const buckets = total === 0 ? 0 : Math.ceil(total / ppb);
    if (ppb !== f.overview.pagesPerBucket || buckets !== f.overview.buckets)
      overview = { buckets, pagesPerBucket: ppb, histogram: histogramOf(w.bits, ppb, buckets) };
  }
  let window: Frame['window'] = null;
  if (view.window && w) {
    const ws = Math.min(view.window.startIndex, total);
    const we = Math.min(view.window.endIndex, total);
    if (ws >= w.startIndex && we <= w.endIndex)
      window = {
        startIndex: ws,
        endIndex: Math.max(ws, we),
        bits: w.bits.slice(ws - w.startIndex, Math.max(ws, we) - w.startIndex),
      };
  }
  return { ...f, overview, window, written: f.written.slice() };
}
