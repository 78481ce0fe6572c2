/**
 * The controls over the heatmap: colour mode (a radio group: one tab stop, arrows change the
 * mode), write watching, sampling. Each main action names its shortcut (aria-keyshortcuts, and
 * the help overlay). Nothing here changes its box while the app ticks: Pause/Resume keeps one
 * width (FixedLabel), the watch target's name has a fixed box (cut with an ellipsis).
 */
import type { KeyboardEvent } from 'react';
import { vmaShortName } from '../../core/protocol/vma-name.ts';
import { nextIndex } from './a11y/roving.ts';
import { FixedLabel } from './FixedLabel.tsx';
import {
  resetWritten,
  setIntervalMs,
  setMaxOverhead,
  setPaused,
  stopWatching,
  watchWrites,
} from './actions.ts';
import type { ColourMode } from './heatmap/colour.ts';
import { useRecording } from './recording/store.ts';
import { useApp } from './store.ts';
import { fmt } from './theme.ts';

const BASE_MODES: Array<{ mode: ColourMode; label: string }> = [
  { mode: 'residency', label: 'Residency' },
  { mode: 'type', label: 'Type' },
  { mode: 'writes', label: 'Writes' },
];
/** Shown once two ticks have been compared. */
const DIFF_MODE: { mode: ColourMode; label: string } = { mode: 'diff', label: 'Compare' };

/** Overhead bounds offered, percent of the target's time. */
const MAX_OVERHEADS = [1, 2, 5, 10];
const INTERVALS = [50, 100, 200, 500, 1000, 2000];

export function Controls() {
  const mode = useApp((s) => s.mode);
  const replaying = useRecording((s) => s.replay !== null);
  const MODES = useRecording((s) => s.diff !== null) ? [...BASE_MODES, DIFF_MODE] : BASE_MODES;
  const watching = useApp((s) => s.watching);
  const paused = useApp((s) => s.paused);
  const intervalMs = useApp((s) => s.intervalMs);
  const maxOverheadPct = useApp((s) => s.maxOverheadPct);
  const selection = useApp((s) => s.selection);
  const focused = useApp((s) => s.focusedVma);
  const vmas = useApp((s) => s.vmas);
  const focusedVma = focused !== null ? vmas.find((v) => v.start === focused) : undefined;
  const target = selection
    ? `selection (${fmt.format(selection.end - selection.start)} pages)`
    : focusedVma
      ? vmaShortName(focusedVma.path) || focusedVma.label || `[${focusedVma.kind}]`
      : null;

  const onModeKey = (e: KeyboardEvent<HTMLDivElement>) => {
    const from = MODES.findIndex((m) => m.mode === mode);
    const key = e.key === 'ArrowDown' ? 'ArrowRight' : e.key === 'ArrowUp' ? 'ArrowLeft' : e.key;
    const to = nextIndex(key, from, MODES.length, 'horizontal');
    if (to === null) return;
    e.preventDefault();
    useApp.setState({ mode: MODES[to].mode });
    e.currentTarget.querySelectorAll<HTMLElement>('[role="radio"]')[to]?.focus();
  };

  return (
    <div className="controls" role="group" aria-label="Heatmap controls">
      <div className="segmented" role="radiogroup" aria-label="Colour mode" onKeyDown={onModeKey}>
        {MODES.map((m, i) => (
          <button
            type="button"
            key={m.mode}
            role="radio"
            aria-checked={mode === m.mode}
            tabIndex={mode === m.mode ? 0 : -1}
            aria-keyshortcuts={String(i + 1)}
            className={mode === m.mode ? 'on' : ''}
            onClick={() => useApp.setState({ mode: m.mode })}
          >
            {m.label}
          </button>
        ))}
      </div>
      {!replaying && (
        <div className="group">
          <button
            type="button"
            className="primary"
            onClick={() => void watchWrites()}
            disabled={!target}
            aria-keyshortcuts="w"
            title={
              target ? `Watch writes on ${target} (W)` : 'Pick a region or Shift-drag a range first'
            }
          >
            Watch writes
          </button>
          <button
            type="button"
            onClick={() => void resetWritten()}
            disabled={!watching}
            aria-keyshortcuts="r"
          >
            Reset written
          </button>
          <button
            type="button"
            onClick={() => void stopWatching()}
            disabled={!watching}
            aria-keyshortcuts="s"
          >
            Stop watching
          </button>
          <span className="target muted small" title={target ? `on ${target}` : undefined}>
            {target ? `on ${target}` : 'pick a region or Shift-drag'}
          </span>
        </div>
      )}
      {!replaying && (
        <div className="group right">
          <button
            type="button"
            onClick={() => void setPaused(!paused)}
            aria-pressed={paused}
            aria-keyshortcuts="p"
          >
            <FixedLabel text={paused ? 'Resume' : 'Pause'} options={['Pause', 'Resume']} />
          </button>
          <label className="interval">
            Interval
            <select
              value={intervalMs}
              onChange={(e) => void setIntervalMs(Number(e.target.value))}
              aria-label="Interval"
            >
              {[...new Set([...INTERVALS, intervalMs])]
                .sort((a, b) => a - b)
                .map((ms) => (
                  <option key={ms} value={ms}>
                    {ms < 1000 ? `${ms} ms` : `${ms / 1000} s`}
                  </option>
                ))}
            </select>
          </label>
          <label
            className="interval"
            title="Watching makes the target fault once per page it writes per tick. A bound keeps the estimated slowdown under it, with room for the estimate’s own error, by watching a sample of the pages and, if need be, a longer interval; counts are then estimates."
          >
            Max overhead
            <select
              value={maxOverheadPct ?? ''}
              onChange={(e) =>
                void setMaxOverhead(e.target.value === '' ? null : Number(e.target.value))
              }
              aria-label="Max overhead"
            >
              <option value="">none (exact)</option>
              {MAX_OVERHEADS.map((pct) => (
                <option key={pct} value={pct}>
                  {pct}% (sampled)
                </option>
              ))}
            </select>
          </label>
        </div>
      )}
    </div>
  );
}
