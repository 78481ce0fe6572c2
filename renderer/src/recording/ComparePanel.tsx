/**
 * Compare two ticks: positions in a replay (or the live session's snapshots), the counts of
 * what changed between them (pages that became present, swapped, not present, written in
 * between), the per-VMA deltas as a table (exported as CSV), and the diff colour mode on the
 * heatmap.
 */
import { useState } from 'react';
import { labelledName } from '../../../core/protocol/vma-name.ts';
import { useApp } from '../store.ts';
import { fmt } from '../theme.ts';
import { clearDiff, compare } from './actions.ts';
import { downloadCsv, fileStem, toCsv } from './csv.ts';
import { useRecording } from './store.ts';

export function ComparePanel() {
  const replay = useRecording((s) => s.replay);
  const live = useRecording((s) => s.live);
  const diff = useRecording((s) => s.diff);
  const busy = useRecording((s) => s.busy);
  const session = useApp((s) => s.session);
  const [a, setA] = useState<number | null>(null);
  const [b, setB] = useState<number | null>(null);
  if (!session) return null;
  const snapshots = live?.snapshots ?? [];
  if (!replay && snapshots.length === 0 && !diff) return null;
  const max = replay ? replay.state.ticks - 1 : 0;
  // Live: positions are snapshots; until picked, the first and the last.
  const has = (i: number) => snapshots.some((x) => x.index === i);
  const av = replay ? (a ?? 0) : a !== null && has(a) ? a : (snapshots[0]?.index ?? 0);
  const bv = replay
    ? (b ?? Math.min(1, max))
    : b !== null && has(b)
      ? b
      : (snapshots[snapshots.length - 1]?.index ?? 0);
  const stem = fileStem(replay?.summary.file ?? `${session.name}-${session.pid}`);
  const pick = (label: string, value: number, set: (n: number) => void, current: boolean) =>
    replay ? (
      <label>
        {label}
        <input
          type="number"
          min={0}
          max={max}
          value={value}
          aria-label={`${label} (position in the recording, 0 to ${max})`}
          onChange={(e) => set(Math.max(0, Math.min(max, Number(e.target.value) || 0)))}
        />
        {current && (
          <button type="button" onClick={() => set(replay.state.index)}>
            Use current
          </button>
        )}
      </label>
    ) : (
      <label>
        {label}
        <select value={value} onChange={(e) => set(Number(e.target.value))} aria-label={label}>
          {snapshots.map((s, i) => (
            <option key={s.index} value={s.index}>
              Snapshot {i + 1} (tick {s.tick})
            </option>
          ))}
        </select>
      </label>
    );
  const exportCsv = () => {
    if (!diff) return;
    downloadCsv(
      `${stem}-compare-${diff.tickA}-${diff.tickB}.csv`,
      toCsv(
        [
          'vma',
          'start',
          'end',
          'path',
          'label',
          'present_a',
          'present_b',
          'swapped_a',
          'swapped_b',
          'written_between',
        ],
        diff.perVma.map((v) => [
          v.index,
          v.start,
          v.end,
          v.path,
          labelledName(v),
          v.presentA,
          v.presentB,
          v.swappedA,
          v.swappedB,
          v.writtenBetween,
        ]),
      ),
    );
  };
  const changed = diff?.perVma.filter(
    (v) => v.presentA !== v.presentB || v.swappedA !== v.swappedB || v.writtenBetween > 0,
  );
  return (
    <section className="compare-panel" aria-labelledby="compare-title">
      <h2 id="compare-title">Compare two ticks</h2>
      <div className="group">
        {pick('Tick A', av, setA, true)}
        {pick('Tick B', bv, setB, true)}
        <button
          type="button"
          className="primary"
          disabled={busy !== null || av === bv}
          onClick={() => void compare(av, bv)}
        >
          Compare
        </button>
        {diff && (
          <button type="button" onClick={clearDiff}>
            Clear comparison
          </button>
        )}
      </div>
      {diff && (
        <>
          <p data-testid="compare-summary">
            From tick {diff.tickA} to tick {diff.tickB}: {fmt.format(diff.becamePresent)} pages
            became present, {fmt.format(diff.becameSwapped)} swapped,{' '}
            {fmt.format(diff.becameNotPresent)} not present; {fmt.format(diff.writtenBetween)}{' '}
            written in between
            {diff.unmapped.pages > 0 ? `; ${fmt.format(diff.unmapped.pages)} unmapped` : ''}.
          </p>
          <div className="group">
            <button type="button" onClick={exportCsv}>
              Export CSV
            </button>
          </div>
          <table className="data-table" aria-label="Per-VMA changes">
            <thead>
              <tr>
                <th scope="col">VMA</th>
                <th scope="col">Present A → B</th>
                <th scope="col">Swapped A → B</th>
                <th scope="col">Written between</th>
              </tr>
            </thead>
            <tbody>
              {(changed ?? []).slice(0, 200).map((v) => (
                <tr key={v.index}>
                  <th scope="row">{labelledName(v) || v.start}</th>
                  <td>
                    {fmt.format(v.presentA)} → {fmt.format(v.presentB)}
                  </td>
                  <td>
                    {fmt.format(v.swappedA)} → {fmt.format(v.swappedB)}
                  </td>
                  <td>{fmt.format(v.writtenBetween)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
