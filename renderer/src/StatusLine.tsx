/**
 * The status line (role="status"): "N written pages" for the last tick while watching, else the
 * tick's totals. Updated from the FrameHub by writing its text, not by React state. It changes
 * every tick, so it is not announced (aria-live="off"): a screen reader reads it on demand, and
 * what must be heard goes through the notices and the heatmap's live region.
 */
import { useEffect, useRef } from 'react';
import { frameHub } from './frames.ts';
import { useApp } from './store.ts';
import { fmt } from './theme.ts';

export function statusText(
  c: {
    tick: number;
    present: number;
    swapped: number;
    written: number;
    watched: number;
    scanMs: number;
  },
  watching: boolean,
): string {
  const scan = `scan ${c.scanMs.toFixed(1)} ms`;
  if (watching) {
    return `${fmt.format(c.written)} written pages in tick ${c.tick} · ${fmt.format(c.watched)} watched · ${scan}`;
  }
  return `Tick ${c.tick} · ${fmt.format(c.present)} present · ${fmt.format(c.swapped)} swapped · ${scan}`;
}

export function StatusLine() {
  const ref = useRef<HTMLSpanElement>(null);
  const paused = useApp((s) => s.paused);
  const session = useApp((s) => s.session);
  useEffect(() => {
    const update = () => {
      const f = frameHub.latest;
      const el = ref.current;
      if (!el) return;
      const st = useApp.getState();
      if (!f) {
        el.textContent = st.lost
          ? 'Disconnected from the host.'
          : st.session
            ? 'Waiting for the first scan…'
            : 'Not attached.';
        return;
      }
      el.textContent = statusText(f.counters, st.watching || f.counters.watched > 0);
    };
    update();
    const u1 = frameHub.subscribe(update);
    const u2 = useApp.subscribe((s, p) =>
      s.watching !== p.watching || s.session !== p.session || s.lost !== p.lost
        ? update()
        : undefined,
    );
    return () => {
      u1();
      u2();
    };
  }, []);
  return (
    <footer className="statusbar">
      <span role="status" aria-live="off" ref={ref} data-testid="status" />
      {session && (
        <span className="muted small">
          {paused ? 'Paused' : `every ${session ? useApp.getState().intervalMs : 0} ms`}
        </span>
      )}
    </footer>
  );
}
