/**
 * The status line (role="status"): "N written pages" for the last tick while watching (an
 * estimate said as one while sampling) and the estimated overhead with the range it may be in, else the tick's totals; next
 * to it the tick rate, with the actual rate and a warning when ticks come slower than asked. Updated from the FrameHub by writing its text, not by React state. It changes
 * every tick, so it is not announced (aria-live="off"): a screen reader reads it on demand, and
 * what must be heard goes through the notices and the heatmap's live region.
 */
import { useEffect, useRef } from 'react';
import { frameHub } from './frames.ts';
import type { TickCounters } from '../../core/protocol/messages.ts';
import { OVERHEAD_IS, overheadText } from '../../core/protocol/overhead-text.ts';
import { useApp } from './store.ts';
import { fmt } from './theme.ts';

type StatusCounters = Pick<
  TickCounters,
  | 'tick'
  | 'present'
  | 'swapped'
  | 'written'
  | 'watched'
  | 'scanMs'
  | 'estOverheadPct'
  | 'estOverheadLowPct'
  | 'estOverheadHighPct'
  | 'sampleFraction'
  | 'writtenEst'
  | 'writtenErr'
>;

/** What "est. overhead" means, said on hover (core/watch/overhead.ts). */
export const OVERHEAD_MEANING = `est. overhead: the estimated ${OVERHEAD_IS} in the last tick (its faults x the fault cost measured on this kernel, over the CPU time its threads ran); in brackets the range it may be in (a program's own fault cost is 0.65-1.55x the measured one).`;

/** The status line's text for a tick: exact counts as counts, estimates said as estimates. */
export function statusText(c: StatusCounters, watching: boolean): string {
  const scan = `scan ${c.scanMs.toFixed(1)} ms`;
  if (watching) {
    const written =
      c.sampleFraction < 1
        ? `≈ ${fmt.format(Math.round(c.writtenEst))}${c.writtenErr >= 0 ? ` ± ${fmt.format(Math.round(c.writtenErr))}` : ''} written pages (est., ${+(c.sampleFraction * 100).toFixed(1)}% sample)`
        : `${fmt.format(c.written)} written pages`;
    const overhead = `est. overhead ${overheadText(c.estOverheadPct, c.estOverheadLowPct, c.estOverheadHighPct)}`;
    return `${written} in tick ${c.tick} · ${overhead} · ${fmt.format(c.watched)} watched · ${scan}`;
  }
  return `Tick ${c.tick} · ${fmt.format(c.present)} present · ${fmt.format(c.swapped)} swapped · ${scan}`;
}

const msText = (ms: number): string =>
  ms < 1000 ? `${Math.round(ms)} ms` : `${+(ms / 1000).toFixed(1)} s`;

/** Ticks over which the actual rate is measured. */
const RATE_WINDOW = 10;

/**
 * "every 100 ms", or, when the ticks come slower than asked (late by over half an interval on
 * average over the last ticks): the actual rate and a warning saying why and what to do.
 */
export function rateText(
  recent: readonly Pick<TickCounters, 't' | 'scanMs' | 'intervalMs'>[],
  intervalMs: number,
): { text: string; warning: string | null } {
  const set = `every ${msText(intervalMs)}`;
  const last = recent.slice(-RATE_WINDOW);
  // The overhead bound lengthened the interval on purpose: say so, it is not lateness.
  const grid = last.length ? last[last.length - 1].intervalMs : 0;
  const expected = grid > intervalMs ? grid : intervalMs;
  const bounded = grid > intervalMs ? ` · lengthened to ${msText(grid)} by Max overhead` : '';
  if (last.length < 3) return { text: set + bounded, warning: null };
  const actual = (last[last.length - 1].t - last[0].t) / (last.length - 1);
  if (actual <= expected * 1.5) return { text: set + bounded, warning: null };
  const scanMs = last.reduce((m, c) => m + c.scanMs, 0) / last.length;
  const why =
    scanMs > expected * 0.5
      ? `each tick's scan takes ${msText(scanMs)}`
      : 'the host is busy (its CPU, or drawing)';
  return {
    text: `${set}${bounded} · running at ${msText(actual)}`,
    warning: `Ticks are late: ${why}. Choose a longer interval, or watch less memory.`,
  };
}

export function StatusLine() {
  const ref = useRef<HTMLSpanElement>(null);
  const rateRef = useRef<HTMLSpanElement>(null);
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
      const watching = st.watching || f.counters.watched > 0;
      el.textContent = statusText(f.counters, watching);
      el.title = watching ? OVERHEAD_MEANING : '';
      const rate = rateRef.current;
      if (rate) {
        const r = rateText(
          frameHub.history.slice(-RATE_WINDOW).map((h) => h.counters),
          st.intervalMs,
        );
        rate.textContent = r.text;
        rate.title = r.warning ?? '';
        rate.dataset.late = r.warning ? 'true' : 'false';
      }
    };
    update();
    const u1 = frameHub.subscribe(update);
    const u2 = useApp.subscribe((s, p) =>
      s.watching !== p.watching ||
      s.session !== p.session ||
      s.lost !== p.lost ||
      s.intervalMs !== p.intervalMs ||
      s.paused !== p.paused
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
          {paused ? 'Paused' : <span ref={rateRef} data-testid="rate" />}
        </span>
      )}
    </footer>
  );
}
