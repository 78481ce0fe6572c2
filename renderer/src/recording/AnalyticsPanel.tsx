/**
 * Write working-set analytics of a recording (or of the live session's recording so far), as
 * core/record/report.ts computes them on the host: distinct pages written over 1 s, 10 s, 60 s
 * and the whole run (with the curves), dirty rate, the pre-copy estimate (labelled as an
 * estimate), hot/warm/cold pages, and the per-VMA table, sortable and exported as CSV.
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
          <table className="data-table" aria-label="Distinct pages written per window">
            <thead>
              <tr>
                <th scope="col">Window</th>
                <th scope="col">Last</th>
                <th scope="col">Mean</th>
                <th scope="col">Peak</th>
                <th scope="col">Curve</th>
              </tr>
            </thead>
            <tbody>
              {r.workingSet.map((w, i) => (
                <tr key={w.window}>
                  <th scope="row">{w.window}</th>
                  <td>{fmt.format(w.last)}</td>
                  <td>{fmt.format(Math.round(w.mean))}</td>
                  <td>{fmt.format(w.peak)}</td>
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
          <p data-testid="analytics-summary">
            Dirty rate ({r.dirtyRate.windowMs / 1000} s windows): mean{' '}
            {r.dirtyRate.meanMiBps.toFixed(2)} MiB/s, peak {r.dirtyRate.peakMiBps.toFixed(2)} MiB/s.
            Hot {fmt.format(r.writeFrequency.hot)}, warm {fmt.format(r.writeFrequency.warm)}, cold{' '}
            {fmt.format(r.writeFrequency.cold)} pages. Pre-copy estimate at{' '}
            {((r.precopy.linkBytesPerSecond * 8) / 1e9).toFixed(0)} Gbit/s (an estimate from the
            measured curve): {r.precopy.iterations} rounds, about{' '}
            {(r.precopy.totalMs / 1000).toFixed(2)} s, downtime about{' '}
            {r.precopy.downtimeMs.toFixed(0)} ms
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
