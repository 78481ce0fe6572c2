/**
 * The legend: one toggle per category of the current colour mode, saying in words which colour
 * it is (not only showing a swatch), with live page counts; in writes mode, the heat ramp with
 * its two ends named. The toggles are a toolbar and one tab stop (arrow keys move).
 *
 * Its height does not follow the mode: behind it, hidden and inert, sit copies of every live
 * mode's legend with the widest counts, and the legend takes the tallest one's height (one grid
 * cell for all). Else switching modes (one, two or three rows of toggles) resized the heatmap
 * above it each time — a jump on screen, and a canvas re-allocated and redrawn from scratch, a
 * long task on a large process (issue 11).
 *
 * With a writer picked in the Writers panel, a key says what its highlight is (the "by writer"
 * colour mode: the selection colour over the cells of the pages it wrote in the latest tick).
 */
import { useEffect, useRef, useSyncExternalStore } from 'react';
import { useRoving } from './a11y/roving.ts';
import type { Frame } from '../../core/protocol/frame.ts';
import { frameHub } from './frames.ts';
import {
  BIT,
  CATEGORY_LABELS,
  DIFF_BITS,
  MODE_CATEGORIES,
  type CategoryKey,
  type ColourMode,
} from './heatmap/colour.ts';
import { totalsFromHistogram } from './heatmap/raster.ts';
import { useApp } from './store.ts';
import { currentTheme, fmt, onThemeChange } from './theme.ts';
import { COLOUR_NAMES, HEAT_ENDS } from './heatmap/colour-names.ts';
import { pickedRanges, useWho } from './who/store.ts';

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
  if (mode === 'diff') {
    const out: Partial<Record<CategoryKey, number>> = {};
    const bitIndex = (bit: number) => Math.log2(bit);
    for (const [key, bit] of DIFF_BITS) out[key] = t[bitIndex(bit)];
    return out;
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
  const theme = useSyncExternalStore(onThemeChange, currentTheme);
  const keys = MODE_CATEGORIES[mode];
  const roving = useRoving<HTMLDivElement>(keys.length, 'button.legend-item', 'horizontal');

  useEffect(() => {
    const update = () => {
      const f = frameHub.frameFor(useApp.getState().mode);
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
    <div className="legend-stack">
      <LegendSizers theme={theme} />
      <div className="legend" ref={ref}>
        <div
          className="legend-items"
          role="toolbar"
          aria-label="Legend: each colour and its pages; press to show or hide"
          ref={roving.ref}
          onKeyDown={roving.onKeyDown}
          onFocus={roving.onFocus}
        >
          {keys.map((key, i) => (
            <button
              type="button"
              key={key}
              tabIndex={roving.tabIndex(i)}
              className={`legend-item${hidden.has(key) ? ' off' : ''}`}
              aria-pressed={!hidden.has(key)}
              onClick={() => toggle(key)}
              title={hidden.has(key) ? 'Show' : 'Hide'}
            >
              <i className={`sw sw-${key}`} aria-hidden="true" />
              <span>{CATEGORY_LABELS[key]}</span>
              <span className="colour-name">{COLOUR_NAMES[theme][key]}</span>
              <span className="count" data-count={key} />
            </button>
          ))}
        </div>
        {mode === 'writes' && (
          <span className="ramp-key">
            <span className="small">{HEAT_ENDS[theme][0]}: written long ago or once</span>
            <span className="ramp" aria-hidden="true" />
            <span className="small">{HEAT_ENDS[theme][1]}: written just now, often</span>
          </span>
        )}
        <WriterKey theme={theme} />
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
    </div>
  );
}

/** The "by writer" key: shown while a writer is picked in the Writers panel. */
function WriterKey({ theme }: { theme: ReturnType<typeof currentTheme> }) {
  const who = useWho();
  const sessionId = useApp((s) => s.session?.sessionId ?? null);
  const r = who.sessionId === sessionId ? pickedRanges(who) : null;
  if (!who.picked || !r) return null;
  return (
    <span className="ramp-key" data-testid="writer-key">
      <i className="sw sw-writer" aria-hidden="true" />
      <span className="small">
        {theme === 'light' ? 'Black' : 'White'}: {r.sampled ? 'sampled pages' : 'pages'} written by{' '}
        {who.picked.label} in the latest tick
      </span>
    </span>
  );
}

/** The modes whose legends the legend's height is reserved for (diff is shown only on demand). */
const SIZED_MODES: ColourMode[] = ['residency', 'type', 'writes'];

/**
 * Hidden copies of each live mode's legend, counts at their widest, in the legend's grid cell:
 * the cell is as tall as the tallest, whatever the mode and the counts (styles.css .legend-stack).
 */
function LegendSizers({ theme }: { theme: ReturnType<typeof currentTheme> }) {
  const widest = fmt.format(99_999_999);
  return SIZED_MODES.map((m) => (
    <div className="legend legend-sizer" key={m} aria-hidden="true" inert>
      <div className="legend-items">
        {MODE_CATEGORIES[m].map((key) => (
          <button type="button" tabIndex={-1} key={key} className="legend-item">
            <i className={`sw sw-${key}`} />
            <span>{CATEGORY_LABELS[key]}</span>
            <span className="colour-name">{COLOUR_NAMES[theme][key]}</span>
            <span className="count">{widest}</span>
          </button>
        ))}
      </div>
      {m === 'writes' && (
        <span className="ramp-key">
          <span className="small">{HEAT_ENDS[theme][0]}: written long ago or once</span>
          <span className="ramp" />
          <span className="small">{HEAT_ENDS[theme][1]}: written just now, often</span>
        </span>
      )}
      <label className="check legend-right">
        <input type="checkbox" tabIndex={-1} checked readOnly />
        Squeeze empty
      </label>
    </div>
  ));
}
