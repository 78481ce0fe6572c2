/** The legend: one toggle per category of the current colour mode, with live page counts. */
import { useEffect, useRef } from 'react';
import type { Frame } from '../../core/protocol/frame.ts';
import { frameHub } from './frames.ts';
import {
  BIT,
  CATEGORY_LABELS,
  MODE_CATEGORIES,
  type CategoryKey,
  type ColourMode,
} from './heatmap/colour.ts';
import { totalsFromHistogram } from './heatmap/raster.ts';
import { useApp } from './store.ts';
import { fmt } from './theme.ts';

/** Page counts per legend category of a mode, for one frame. */
export function legendCounts(frame: Frame, mode: ColourMode): Partial<Record<CategoryKey, number>> {
  const t = totalsFromHistogram(frame.overview);
  const total = frame.totalPages;
  const present = t[BIT.PRESENT];
  const swapped = t[BIT.SWAPPED];
  const mapped = t[BIT.MAPPED];
  if (mode === 'residency') {
    return {
      present,
      swapped,
      notPresent: Math.max(0, mapped - present - swapped),
      unmapped: Math.max(0, total - Math.max(mapped, present + swapped)),
    };
  }
  if (mode === 'type') {
    const guard = t[BIT.GUARD];
    const huge = t[BIT.HUGE];
    const zero = t[BIT.ZERO];
    const file = t[BIT.FILE];
    const anon = Math.max(0, present + swapped - huge - zero - file);
    return {
      anon,
      file,
      zero,
      huge,
      guard,
      notPresent: Math.max(0, total - anon - file - zero - huge - guard),
    };
  }
  const watched = frame.counters.watched;
  const written = frame.counters.written;
  return { written, watched: Math.max(0, watched - written), idle: Math.max(0, total - watched) };
}

export function Legend() {
  const mode = useApp((s) => s.mode);
  const hidden = useApp((s) => s.hidden);
  const compact = useApp((s) => s.compact);
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const update = () => {
      const f = frameHub.latest;
      if (!f || !ref.current) return;
      const counts = legendCounts(f, useApp.getState().mode);
      ref.current.querySelectorAll<HTMLElement>('[data-count]').forEach((el) => {
        const v = counts[el.dataset.count as CategoryKey];
        el.textContent = v === undefined ? '' : fmt.format(Math.round(v));
      });
    };
    update();
    const u1 = frameHub.subscribe(update);
    const u2 = useApp.subscribe((s, p) => s.mode !== p.mode && requestAnimationFrame(update));
    return () => {
      u1();
      u2();
    };
  }, []);

  const toggle = (key: CategoryKey) => {
    const next = new Set(hidden);
    if (next.has(key)) next.delete(key);
    else next.add(key);
    useApp.setState({ hidden: next });
  };

  return (
    <div className="legend" ref={ref} role="group" aria-label="Legend (click to show or hide)">
      {MODE_CATEGORIES[mode].map((key) => (
        <button
          type="button"
          key={key}
          className={`legend-item${hidden.has(key) ? ' off' : ''}`}
          aria-pressed={!hidden.has(key)}
          onClick={() => toggle(key)}
          title={hidden.has(key) ? 'Show' : 'Hide'}
        >
          <i className={`sw sw-${key}`} />
          <span>{CATEGORY_LABELS[key]}</span>
          <span className="count" data-count={key} />
        </button>
      ))}
      {mode === 'writes' && <span className="ramp" title="Write heat: older → newer/more often" />}
      <label
        className="check legend-right"
        title="Draw long stretches with no page table (untouched reservations) as a thin strip"
      >
        <input
          type="checkbox"
          checked={compact}
          onChange={(e) => useApp.setState({ compact: e.target.checked })}
        />
        Squeeze empty
      </label>
    </div>
  );
}
