/**
 * Compare two ticks: tick numbers typed in a replay (the numbers the status line, the slider and
 * `pagescope report` show: typing 10 compares from tick 10) or the live session's snapshots; the
 * counts of what changed between them (pages that became present, swapped, not present, and
 * written in the ticks after A up to B, so comparing ticks 100 and 101 counts the writes of tick
 * 101, the memory map's `wr` at tick 101); the per-VMA deltas as a table (exported as CSV); and
 * the diff colour mode on the heatmap.
 */
import { useState } from 'react';
import { labelledName } from '../../../core/protocol/vma-name.ts';
import { useApp } from '../store.ts';
import { fmt } from '../theme.ts';
import { clearDiff, compare, compareTickNumbers } from './actions.ts';
import { downloadCsv, fileStem, toCsv } from './csv.ts';
import { useRecording } from './store.ts';
import { writtenTicks } from './ticks.ts';

export function ComparePanel() {
  const replay = useRecording((s) => s.replay);
  const live = useRecording((s) => s.live);
  const diff = useRecording((s) => s.diff);
  const busy = useRecording((s) => s.busy);
  const session = useApp((s) => s.session);
  const ticks = useRecording((s) => s.replayTicks);
  // Live: snapshot positions. Replay: the tick numbers as typed (checked on Compare, so typing
  // "45" is not cut to the first tick at "4").
  const [a, setA] = useState<number | null>(null);
  const [b, setB] = useState<number | null>(null);
  const [ta, setTa] = useState<string | null>(null);
  const [tb, setTb] = useState<string | null>(null);
  if (!session) return null;
  const snapshots = live?.snapshots ?? [];
  if (!replay && snapshots.length === 0 && !diff) return null;
  // Live: positions are snapshots; until picked, the first and the last.
  const has = (i: number) => snapshots.some((x) => x.index === i);
  const av = a !== null && has(a) ? a : (snapshots[0]?.index ?? 0);
  const bv = b !== null && has(b) ? b : (snapshots[snapshots.length - 1]?.index ?? 0);
  // Replay: until typed, the first two ticks.
  const first = ticks[0];
  const last = ticks[ticks.length - 1];
  const tav = ta ?? (first !== undefined ? String(first) : '');
  const tbv = tb ?? (ticks.length ? String(ticks[Math.min(1, ticks.length - 1)]) : '');
  const stem = fileStem(replay?.summary.file ?? `${session.name}-${session.pid}`);
  const typed = (label: string, value: string, set: (t: string) => void) =>
    replay && (
      <label>
        {label}
        <input
          type="number"
          inputMode="numeric"
          min={first}
          max={last}
          value={value}
          aria-label={`${label} (a tick number${ticks.length ? `, ${first} to ${last}` : ''})`}
          onChange={(e) => set(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === 'Enter') void compareTickNumbers(tav, tbv);
          }}
          style={{ width: `${String(last ?? 0).length + 4}ch` }}
        />
        <button
          type="button"
          onClick={() => set(String(replay.state.tick))}
          disabled={replay.state.tick < 0}
        >
          Use current
        </button>
      </label>
    );
  const picked = (label: string, value: number, set: (n: number) => void) => (
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
        {replay ? typed('Tick A', tav, setTa) : picked('Tick A', av, setA)}
        {replay ? typed('Tick B', tbv, setTb) : picked('Tick B', bv, setB)}
        <button
          type="button"
          className="primary"
          disabled={busy !== null || (replay ? tav.trim() === tbv.trim() : av === bv)}
          onClick={() => void (replay ? compareTickNumbers(tav, tbv) : compare(av, bv))}
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
            written in {writtenTicks(diff.tickA, diff.tickB)}
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
                <th scope="col">Written in {writtenTicks(diff.tickA, diff.tickB)}</th>
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
