/**
 * Write working-set analytics of a recording (or of the live session's recording so far), as
 * core/record/report.ts computes them on the host: the rate the ticks really came at and their
 * gaps, distinct pages written over 1 s, 10 s, 60 s and the whole run (with the curves; a window
 * longer than the run n/a, one spanning a gap marked), the dirty rate per second of wall time,
 * the pre-copy estimate (labelled as an estimate), hot/warm/cold pages, and the per-VMA table,
 * sortable and exported as CSV.
 */
import { useState } from 'react';
import type { AnalyticsReport } from '../../../core/protocol/recording.ts';
import { labelledName } from '../../../core/protocol/vma-name.ts';
import { useApp } from '../store.ts';
import { fmt } from '../theme.ts';
import { loadAnalytics } from './actions.ts';
import { downloadCsv, fileStem, toCsv } from './csv.ts';
import { useRecording } from './store.ts';

type SortKey = 'writeMiBps' | 'distinctPages' | 'share';
const COLUMNS: Array<{ key: SortKey; label: string }> = [
  { key: 'writeMiBps', label: 'Write rate (MiB/s)' },
  { key: 'distinctPages', label: 'Distinct pages' },
  { key: 'share', label: 'Share of writes' },
];

const sec = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const msText = (ms: number): string => `${ms >= 100 ? ms.toFixed(0) : ms.toFixed(1)} ms`;

/** A count, n/a for a window longer than the run, marked * when its window spans a gap. */
function Cell({ value, gap }: { value: number | null; gap?: boolean }) {
  if (value === null) return <td>n/a</td>;
  return (
    <td>
      {fmt.format(Math.round(value))}
      {gap ? <abbr title="this window spans a gap in the ticks">*</abbr> : null}
    </td>
  );
}

/** How the ticks came: asked against real, skipped, and the gaps (issue 22: no hidden lag). */
function Timing({ r }: { r: AnalyticsReport }) {
  const tm = r.timing;
  if (!tm) return null;
  const longest = tm.gaps.list.reduce<(typeof tm.gaps.list)[number] | null>(
    (a, g) => (a && a.ms >= g.ms ? a : g),
    null,
  );
  return (
    <p data-testid="analytics-timing">
      {r.ticks !== undefined ? `${fmt.format(r.ticks)} ticks, asked every ` : 'Asked every '}
      {tm.askedIntervalMs} ms
      {tm.meanIntervalMs === null
        ? '.'
        : `, came every ${msText(tm.meanIntervalMs)} (mean; median ${msText(tm.medianIntervalMs ?? 0)}).`}{' '}
      {fmt.format(tm.skipped)} skipped.{' '}
      {tm.gaps.count === 0
        ? `No gap over ${tm.gapFactor}x the interval.`
        : `${fmt.format(tm.gaps.count)} ${tm.gaps.count === 1 ? 'gap' : 'gaps'} over ${tm.gapFactor}x the interval, the longest ${sec(tm.gaps.longestMs)}` +
          (longest ? ` (before tick ${longest.tick}).` : '.')}
    </p>
  );
}

function Sparkline({ values, label }: { values: number[]; label: string }) {
  const max = Math.max(1, ...values);
  const w = 160;
  const h = 28;
  const pts = values
    .map(
      (v, i) =>
        `${((i / Math.max(1, values.length - 1)) * w).toFixed(1)},${(h - (v / max) * h).toFixed(1)}`,
    )
    .join(' ');
  return (
    <svg width={w} height={h} role="img" aria-label={label} className="sparkline">
      <polyline points={pts} fill="none" stroke="currentColor" strokeWidth="1.5" />
    </svg>
  );
}

export function AnalyticsPanel() {
  const analytics = useRecording((s) => s.analytics);
  const replay = useRecording((s) => s.replay);
  const live = useRecording((s) => s.live);
  const busy = useRecording((s) => s.busy);
  const session = useApp((s) => s.session);
  const [sort, setSort] = useState<SortKey>('writeMiBps');
  if (!session || (!replay && !live)) return null;
  const r = analytics?.report;
  const stem = fileStem(replay?.summary.file ?? `${session.name}-${session.pid}`);
  const rows = r ? [...r.perVma].sort((x, y) => y[sort] - x[sort] || x.start - y.start) : [];
  const name = (v: AnalyticsReport['perVma'][number]) =>
    labelledName(v) || '0x' + (v.start * 4096).toString(16);
  const exportCsv = () =>
    downloadCsv(
      `${stem}-vma-writes.csv`,
      toCsv(
        [
          'start',
          'end',
          'path',
          'label',
          'page_writes',
          'distinct_pages',
          'write_mib_per_s',
          'share',
        ],
        rows.map((v) => [
          '0x' + (v.start * 4096).toString(16),
          '0x' + (v.end * 4096).toString(16),
          v.path,
          labelledName(v),
          v.pageWrites,
          v.distinctPages,
          v.writeMiBps,
          v.share,
        ]),
      ),
    );
  return (
    <section className="analytics-panel" aria-labelledby="analytics-title">
      <h2 id="analytics-title">Write working set</h2>
      <div className="group">
        <button type="button" onClick={() => void loadAnalytics()} disabled={busy !== null}>
          {analytics ? 'Refresh analytics' : 'Compute analytics'}
        </button>
        {r && (
          <button type="button" onClick={exportCsv}>
            Export CSV
          </button>
        )}
      </div>
      {r && analytics && (
        <>
          <Timing r={r} />
          <table className="data-table" aria-label="Distinct pages written per window">
            <thead>
              <tr>
                <th scope="col">Window</th>
                <th scope="col">Last</th>
                <th scope="col">Mean</th>
                <th scope="col">Peak</th>
                <th scope="col">Spanning a gap</th>
                <th scope="col">Curve</th>
              </tr>
            </thead>
            <tbody>
              {r.workingSet.map((w, i) => (
                <tr key={w.window}>
                  <th scope="row">{w.window}</th>
                  <Cell value={w.last} gap={w.lastSpansGap} />
                  <Cell value={w.mean} />
                  <Cell value={w.peak} gap={w.peakSpansGap} />
                  <td>
                    {w.peak === null
                      ? 'n/a (longer than the run)'
                      : w.positions === undefined
                        ? ''
                        : `${fmt.format(w.spanningGap ?? 0)} of ${fmt.format(w.positions)}`}
                  </td>
                  <td>
                    <Sparkline
                      values={analytics.curves[i]?.values ?? []}
                      label={`Distinct pages written over ${w.window}, per tick`}
                    />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {r.workingSet.some((w) => w.lastSpansGap || w.peakSpansGap) && (
            <p>* that window spans a gap in the ticks: its writes cover more time than it says.</p>
          )}
          <p data-testid="analytics-summary">
            Dirty rate (bytes written per second of wall time): mean{' '}
            {r.dirtyRate.meanMiBps.toFixed(2)} MiB/s, peak {r.dirtyRate.peakMiBps.toFixed(2)} MiB/s
            over {r.dirtyRate.windowMs / 1000} s windows. Hot {fmt.format(r.writeFrequency.hot)},
            warm {fmt.format(r.writeFrequency.warm)}, cold {fmt.format(r.writeFrequency.cold)}{' '}
            pages. Pre-copy estimate at {((r.precopy.linkBytesPerSecond * 8) / 1e9).toFixed(0)}{' '}
            Gbit/s (an estimate from the measured curve per second of wall time):{' '}
            {r.precopy.iterations} rounds, about {(r.precopy.totalMs / 1000).toFixed(2)} s, downtime
            about {r.precopy.downtimeMs.toFixed(0)} ms
            {r.precopy.converged ? '' : ` (does not converge: ${r.precopy.stopped})`}.
          </p>
          <table className="data-table" aria-label="Writes per VMA">
            <thead>
              <tr>
                <th scope="col">VMA</th>
                {COLUMNS.map((c) => (
                  <th scope="col" key={c.key} aria-sort={sort === c.key ? 'descending' : 'none'}>
                    <button type="button" className="ghost" onClick={() => setSort(c.key)}>
                      {c.label}
                    </button>
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {rows.slice(0, 200).map((v) => (
                <tr key={`${v.start}:${v.path}`}>
                  <th scope="row">{name(v)}</th>
                  <td>{v.writeMiBps.toFixed(3)}</td>
                  <td>{fmt.format(v.distinctPages)}</td>
                  <td>{(v.share * 100).toFixed(1)} %</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
