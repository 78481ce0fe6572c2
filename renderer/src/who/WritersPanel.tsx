/**
 * The Writers panel (issue 23): a "Who writes" toggle for the live session, and the functions
 * and threads that wrote pages, by pages written and share, over the last tick and over every
 * tick since the toggle was turned on (in a replay: the ticks played so far, from the recording's
 * WHO records). Plain tables with captions and column headers, so a screen reader reads them
 * like the other panels'; the refusal (perf not allowed) is the host's one sentence.
 *
 * Each row's name is a toggle button (aria-pressed): picking a function or a thread highlights on
 * the heatmap the pages it wrote in the latest tick with writes (the "by writer" colour mode,
 * from the page ranges the top writers carry); picking it again, or Escape in the panel, clears
 * it. At period 1 those are the exact pages it wrote first in the tick; at period N the pages
 * its samples hit, said as "sampled pages". The tooltip names a VMA's writers.
 */
import { useRecording } from '../recording/store.ts';
import { useApp } from '../store.ts';
import { fmt } from '../theme.ts';
import { setWhoEnabled } from './actions.ts';
import {
  pickedRanges,
  ranked,
  tickRows,
  togglePicked,
  useWho,
  type PickedWriter,
  type WriterTotal,
} from './store.ts';

const ROWS = 10;

const pct = (part: number, whole: number): string =>
  whole > 0 ? `${Math.round((100 * part) / whole)}%` : '—';

const pick = (p: PickedWriter): void => useWho.setState((s) => togglePicked(s, p));

function WriterTable({
  title,
  id,
  by,
  picked,
  total,
  rows,
  lastRows,
  lastTotal,
}: {
  title: string;
  id: string;
  by: PickedWriter['by'];
  picked: PickedWriter | null;
  total: number;
  rows: WriterTotal[];
  lastRows: WriterTotal[];
  lastTotal: number;
}) {
  const last = new Map(lastRows.map((r) => [r.key, r]));
  return (
    <table className="data-table" data-testid={id}>
      <caption className="sr-only">{title}</caption>
      <thead>
        <tr>
          <th scope="col">{title}</th>
          <th scope="col">Pages, latest tick</th>
          <th scope="col">Share, latest tick</th>
          <th scope="col">Pages, since on</th>
          <th scope="col">Share, since on</th>
        </tr>
      </thead>
      <tbody>
        {rows.slice(0, ROWS).map((r) => {
          const l = last.get(r.key);
          return (
            <tr key={r.key}>
              <th scope="row">
                <button
                  type="button"
                  className="writer-pick"
                  aria-pressed={picked?.by === by && picked.key === r.key}
                  title="Highlight its pages of the latest tick on the heatmap"
                  onClick={() => pick({ by, key: r.key, label: r.label })}
                >
                  {r.label}
                </button>
                {r.partial && (
                  <abbr title="some call stacks were cut (no frame pointers): the leaf function only">
                    {' '}
                    (partial)
                  </abbr>
                )}
              </th>
              <td>{l ? fmt.format(l.pages) : '0'}</td>
              <td>{l ? pct(l.pages, lastTotal) : '—'}</td>
              <td>{fmt.format(r.pages)}</td>
              <td>{pct(r.pages, total)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

export function WritersPanel() {
  const session = useApp((s) => s.session);
  const watching = useApp((s) => s.watching);
  const replaying = useRecording((s) => s.replay !== null);
  const who = useWho();
  if (!session) return null;
  const mine = who.sessionId === session.sessionId;
  const enabled = mine && who.enabled;
  const last = mine ? who.last : null;
  const totals = mine ? who.totals : null;
  const hasData = totals !== null && totals.ticks.size > 0;
  if (replaying && !hasData) return null; // a recording made without --who has no writers
  const lastTotal = last ? Math.max(last.who.attributedPages, 1) : 0;
  const allPages = totals ? Math.max(totals.pages, 1) : 0;
  const picked = mine ? who.picked : null;
  const lit = mine ? pickedRanges(who) : null;
  return (
    <section
      className="writers-panel"
      aria-labelledby="writers-title"
      data-testid="writers-panel"
      onKeyDown={(e) => {
        if (e.key === 'Escape' && picked) {
          e.stopPropagation();
          useWho.setState({ picked: null });
        }
      }}
    >
      <h2 id="writers-title">Writers</h2>
      <div className="group">
        {replaying ? (
          <span>From the recording (made with --who).</span>
        ) : (
          <button
            type="button"
            aria-pressed={enabled}
            disabled={mine && who.pending}
            onClick={() => void setWhoEnabled(!enabled)}
            data-testid="who-toggle"
          >
            Who writes
          </button>
        )}
        {!replaying && !watching && !hasData && (
          <span className="muted">Writers are named for watched pages: watch some writes too.</span>
        )}
      </div>
      {mine && who.refused && (
        <p role="status" data-testid="who-refused">
          {who.refused}
        </p>
      )}
      {hasData && totals && (
        <>
          <p data-testid="who-summary">
            {fmt.format(totals.pages)} pages written over {fmt.format(totals.ticks.size)}{' '}
            {totals.ticks.size === 1 ? 'tick' : 'ticks'}
            {last
              ? `; the latest tick with writes (${last.tick}): ${fmt.format(last.who.attributedPages)}`
              : ''}
            .{totals.estimated ? ' Pages are estimated (samples × period).' : ''}
            {last && last.who.lost > 0 ? ` ${fmt.format(last.who.lost)} samples lost in it.` : ''}
          </p>
          {picked && (
            <p data-testid="who-picked">
              {lit?.missing && lit.ranges.length === 0
                ? `${picked.label}: this ${replaying ? 'recording' : 'host'} has no page ranges per writer, so nothing is highlighted.`
                : `Highlighted on the heatmap: the ${lit?.sampled ? 'sampled pages (one write in ' + String(who.lastWriters?.who.period) + ')' : 'pages'} ${picked.label} wrote in the latest tick${lit && lit.moreRanges > 0 ? ` (${fmt.format(lit.moreRanges)} more ranges not shown)` : ''}. Pick it again or press Escape to clear.`}
            </p>
          )}
          <WriterTable
            title="Function"
            id="writers-functions"
            by="function"
            picked={picked}
            total={allPages}
            rows={ranked(totals.functions)}
            lastRows={last ? tickRows(last.who, 'function') : []}
            lastTotal={lastTotal}
          />
          <WriterTable
            title="Thread"
            id="writers-threads"
            by="thread"
            picked={picked}
            total={allPages}
            rows={ranked(totals.threads)}
            lastRows={last ? tickRows(last.who, 'thread') : []}
            lastTotal={lastTotal}
          />
        </>
      )}
      {enabled && !hasData && <p className="muted">No written page sampled yet.</p>}
    </section>
  );
}
