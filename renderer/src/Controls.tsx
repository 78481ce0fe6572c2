/** The toolbar over the heatmap: colour mode, write watching, sampling, zoom. */
import { resetWritten, setIntervalMs, setPaused, stopWatching, watchWrites } from './actions.ts';
import type { ColourMode } from './heatmap/colour.ts';
import { useApp } from './store.ts';
import { fmt } from './theme.ts';

const MODES: Array<{ mode: ColourMode; label: string }> = [
  { mode: 'residency', label: 'Residency' },
  { mode: 'type', label: 'Type' },
  { mode: 'writes', label: 'Writes' },
];

const INTERVALS = [50, 100, 200, 500, 1000, 2000];

export function Controls() {
  const mode = useApp((s) => s.mode);
  const watching = useApp((s) => s.watching);
  const paused = useApp((s) => s.paused);
  const intervalMs = useApp((s) => s.intervalMs);
  const selection = useApp((s) => s.selection);
  const focused = useApp((s) => s.focusedVma);
  const vmas = useApp((s) => s.vmas);
  const focusedVma = focused !== null ? vmas.find((v) => v.start === focused) : undefined;
  const target = selection
    ? `selection (${fmt.format(selection.end - selection.start)} pages)`
    : focusedVma
      ? focusedVma.path.split('/').pop() || focusedVma.label || `[${focusedVma.kind}]`
      : null;

  return (
    <div className="controls" role="toolbar" aria-label="Heatmap controls">
      <div className="segmented" role="radiogroup" aria-label="Colour mode">
        {MODES.map((m) => (
          <button
            type="button"
            key={m.mode}
            role="radio"
            aria-checked={mode === m.mode}
            className={mode === m.mode ? 'on' : ''}
            onClick={() => useApp.setState({ mode: m.mode })}
          >
            {m.label}
          </button>
        ))}
      </div>
      <div className="group">
        <button
          type="button"
          className="primary"
          onClick={() => void watchWrites()}
          disabled={!target}
          title={target ? `Watch writes on ${target}` : 'Pick a VMA or Shift-drag a range first'}
        >
          Watch writes
        </button>
        <button type="button" onClick={() => void resetWritten()} disabled={!watching}>
          Reset written
        </button>
        <button type="button" onClick={() => void stopWatching()} disabled={!watching}>
          Stop watching
        </button>
        <span className="target muted small">
          {target ? `on ${target}` : 'pick a VMA or Shift-drag'}
        </span>
      </div>
      <div className="group right">
        <button type="button" onClick={() => void setPaused(!paused)} aria-pressed={paused}>
          {paused ? 'Resume' : 'Pause'}
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
      </div>
    </div>
  );
}
