/**
 * A group recording in the group view (issue 24): the recording's ticks one at a time, with a
 * slider and Previous/Next buttons to step through them (all of it is in the store: stepping
 * asks the host nothing). Two tables like the live view's: the members with what each wrote in
 * the tick (own and shared pages), and each shared object written in it once, with the pages
 * written (the union of the members' writes), the distinct pages written up to this tick and
 * each member's pages and share (replay-rows.ts).
 *
 * The heading takes focus when a recording opens; Escape or "Close recording" closes it and
 * focus goes back to the process list. The tick shown is announced politely (a status), once
 * per step, not the tables.
 */
import { stepGroupReplay } from './actions.ts';
import { GroupSection } from './GroupSection.tsx';
import {
  changesText,
  replayMemberRows,
  replayObjectRows,
  replaySummary,
  tickText,
  type ReplayObjectRow,
} from './replay-rows.ts';
import { SharedObjectsTable, SharesList, type ObjectColumn } from './SharedObjectsTable.tsx';
import { useGroup } from './store.ts';

const REPLAY_OBJECT_COLUMNS: ReadonlyArray<ObjectColumn<ReplayObjectRow>> = [
  { header: 'Written in this tick', cell: (o) => o.writtenText },
  { header: 'Written up to this tick', cell: (o) => o.soFarText },
  { header: 'Each member’s share', cell: (o) => <SharesList shares={o.shares} /> },
];

export function GroupReplay() {
  const replay = useGroup((s) => s.replay);
  if (!replay) return null;
  const { index } = replay;
  const last = replay.info.ticks.length - 1;
  const members = replayMemberRows(replay.info, index);
  const objects = replayObjectRows(replay.info, index);
  const changes = changesText(replay.info, index);
  const exact = replay.info.ticks[index].exact;
  return (
    <GroupSection
      title={`Group recording: ${replay.info.file}`}
      closeLabel="Close recording"
      focusKey={replay.info}
    >
      <p data-testid="group-replay-summary">{replaySummary(replay.info)}</p>
      <div className="group-replay-bar">
        <button
          type="button"
          onClick={() => stepGroupReplay(index - 1)}
          disabled={index === 0}
          data-testid="group-replay-prev"
        >
          Previous tick
        </button>
        <label>
          Tick{' '}
          <input
            type="range"
            min={0}
            max={last}
            step={1}
            value={index}
            aria-valuetext={tickText(replay.info, index)}
            onChange={(e) => stepGroupReplay(Number(e.currentTarget.value))}
            data-testid="group-replay-slider"
          />
        </label>
        <button
          type="button"
          onClick={() => stepGroupReplay(index + 1)}
          disabled={index === last}
          data-testid="group-replay-next"
        >
          Next tick
        </button>
        <span role="status" data-testid="group-replay-position">
          {tickText(replay.info, index)}
        </span>
      </div>
      {!exact && (
        <p className="muted small">
          This tick is not exact: some writes were sampled, not all caught.
        </p>
      )}
      {changes && (
        <p className="muted" data-testid="group-replay-changes">
          {changes}
        </p>
      )}
      <table className="data-table group-members" data-testid="group-members">
        <caption>Members in this tick</caption>
        <thead>
          <tr>
            <th scope="col">PID</th>
            <th scope="col">Name</th>
            <th scope="col">Written</th>
            <th scope="col">Own (not shared)</th>
            <th scope="col">In shared objects</th>
          </tr>
        </thead>
        <tbody>
          {members.map((m) => (
            <tr key={m.pid} data-pid={m.pid}>
              <th scope="row">{m.pid}</th>
              <td
                style={
                  m.depth ? { paddingInlineStart: `${Math.min(m.depth, 16) * 8 + 6}px` } : undefined
                }
              >
                {m.depth > 0 && <span aria-hidden="true">└ </span>}
                {m.name}
                {m.depth > 0 && <span className="sr-only">, child of {m.ppid}</span>}
              </td>
              <td>{m.written}</td>
              <td>{m.own}</td>
              <td>{m.shared}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <SharedObjectsTable
        caption="Shared objects written in this tick, each once"
        columns={REPLAY_OBJECT_COLUMNS}
        rows={objects}
        empty="No shared object was written in this tick."
      />
      <p className="muted small">
        Written pages of an object are the union of every member’s writes (a page two members wrote
        counts once); a member’s share counts a page k members wrote as 1/k, so the shares add up to
        the pages written.
      </p>
    </GroupSection>
  );
}
