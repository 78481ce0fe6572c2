/**
 * The group view (issue 24): a process tree, a cgroup or several pids, as one scan refreshed
 * while the view is open (actions.ts). Two plain tables with captions and column headers, like
 * the other panels: the members (pid, name, resident, swapped), and each shared object once
 * (SharedObjectsTable.tsx), with its label, size, resident and swapped pages (each saying which
 * source it came from) and every member's share. "Watch writes" watches the group in the host's
 * group thread: both tables then get "written" columns, this tick and since the start
 * (watch-rows.ts): per member its pages, per object the union of the members' writes with each
 * writer's pages and share. "Stop watching" (or closing the view) releases every member.
 *
 * The heading takes focus when a group opens (a screen reader hears which group); Escape or the
 * Close button closes it and focus goes back to the process list. A group recording opened for
 * replay shows in GroupReplay.tsx instead. Refreshes are not announced
 * (they would talk over everything every 2 s); a failed one is, once, as a status.
 */
import { fmt } from '../theme.ts';
import { startGroupWatch, stopGroupWatch } from './actions.ts';
import { GroupSection } from './GroupSection.tsx';
import { GroupReplay } from './GroupReplay.tsx';
import {
  groupTitle,
  memberRows,
  objectRows,
  pagesText,
  summaryText,
  type ObjectRow,
} from './group-rows.ts';
import { SharedObjectsTable, SharesList, type ObjectColumn } from './SharedObjectsTable.tsx';
import { useGroup } from './store.ts';
import {
  failedLines,
  memberWritten,
  objectWritten,
  unlistedObjects,
  watchSummary,
  type GroupWatchView,
  type ObjectWritten,
} from './watch-rows.ts';

/** A live object row: the scan's figures (none for an object only the watch saw) and the watch's. */
type LiveObjectRow = Pick<ObjectRow, 'key' | 'label' | 'what'> & {
  scan: ObjectRow | null;
  written: ObjectWritten | null;
};

const notScanned = <span className="muted">not in the last scan</span>;

const SCAN_COLUMNS: ReadonlyArray<ObjectColumn<LiveObjectRow>> = [
  { header: 'Size mapped', cell: (o) => o.scan?.size ?? notScanned },
  { header: 'Resident', cell: (o) => o.scan?.resident ?? notScanned },
  { header: 'Swapped', cell: (o) => o.scan?.swapped ?? notScanned },
  {
    header: 'Each member’s share',
    cell: (o) =>
      o.scan ? (
        <SharesList
          shares={o.scan.shares.map((s) => ({
            pid: s.pid,
            text: `${s.name} (pid ${s.pid}): ${s.text}`,
          }))}
          zero={o.scan.zero}
        />
      ) : (
        notScanned
      ),
  },
];

const WRITTEN_COLUMNS: ReadonlyArray<ObjectColumn<LiveObjectRow>> = [
  {
    header: 'Written this tick, each member’s share',
    cell: (o) => (
      <>
        <span data-testid="object-written">{o.written?.tick}</span>
        <SharesList shares={o.written?.shares ?? []} testId="object-writers" />
      </>
    ),
  },
  {
    header: 'Written since watching, each member’s share (ticks added up)',
    cell: (o) => (
      <>
        <span data-testid="object-written-so-far">{o.written?.soFar}</span>
        <SharesList shares={o.written?.sharesSoFar ?? []} testId="object-writers-so-far" />
      </>
    ),
  },
];

function WatchControls({ watch, pageSize }: { watch: GroupWatchView | null; pageSize: number }) {
  const state = watch?.state ?? 'stopped';
  const on = state === 'watching' || state === 'starting' || state === 'stopping';
  const failed = watch ? failedLines(watch) : [];
  return (
    <div className="group-watch" data-testid="group-watch">
      {on ? (
        <button
          type="button"
          onClick={() => void stopGroupWatch()}
          aria-disabled={state !== 'watching'}
          data-testid="group-watch-stop"
        >
          {state === 'stopping'
            ? 'Stopping…'
            : state === 'starting'
              ? 'Attaching to the members…'
              : 'Stop watching writes'}
        </button>
      ) : (
        <button
          type="button"
          onClick={() => void startGroupWatch()}
          data-testid="group-watch-start"
        >
          Watch writes
        </button>
      )}
      {watch && on && (
        <p className="small" data-testid="group-watch-summary">
          {watchSummary(watch, pageSize)}
        </p>
      )}
      {watch?.ended && (
        <p
          role="status"
          className={watch.start ? 'muted' : 'group-error'}
          data-testid="group-watch-ended"
        >
          {watch.ended}
        </p>
      )}
      {failed.length > 0 && (
        <ul className="group-error" data-testid="group-watch-failed">
          {failed.map((f) => (
            <li key={f}>{f}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function GroupView() {
  const replaying = useGroup((s) => s.replay !== null);
  return replaying ? <GroupReplay /> : <GroupScanView />;
}

function GroupScanView() {
  const spec = useGroup((s) => s.spec);
  const scan = useGroup((s) => s.scan);
  const error = useGroup((s) => s.error);
  const scannedAt = useGroup((s) => s.scannedAt);
  const watch = useGroup((s) => s.watch);
  const key = spec ? JSON.stringify(spec) : '';
  if (!spec) return null;
  const members = scan ? memberRows(scan) : [];
  const pageSize = scan?.pageSize ?? watch?.start?.pageSize ?? 4096;
  const names = new Map(scan?.members.map((m) => [m.pid, m.name]));
  const written = !!watch?.start;
  const scanned = scan ? objectRows(scan) : [];
  const objects: LiveObjectRow[] = [
    ...scanned.map((o) => ({
      key: o.key,
      label: o.label,
      what: o.what,
      scan: o,
      written: objectWritten(watch, o.key, pageSize, names),
    })),
    ...unlistedObjects(watch, new Set(scanned.map((o) => o.key))).map((o) => ({
      ...o,
      scan: null,
      written: objectWritten(watch, o.key, pageSize, names),
    })),
  ];
  return (
    <GroupSection title={groupTitle(spec)} closeLabel="Close group" focusKey={key}>
      {error && (
        <p role="status" className="group-error" data-testid="group-error">
          {error}
        </p>
      )}
      {!scan && !error && <p className="muted">Scanning the group…</p>}
      <WatchControls watch={watch} pageSize={pageSize} />
      {scan && (
        <>
          <p data-testid="group-summary">{summaryText(scan)}</p>
          <p className="muted small">
            One scan of every member, one after the other (they run on meanwhile), refreshed while
            this view is open
            {scannedAt ? `; last at ${new Date(scannedAt).toLocaleTimeString('en-GB')}` : ''} (it
            took {fmt.format(Math.round(scan.scanMs))} ms).
          </p>
          <table className="data-table group-members" data-testid="group-members">
            <caption>Members</caption>
            <thead>
              <tr>
                <th scope="col">PID</th>
                <th scope="col">Name</th>
                <th scope="col">Resident</th>
                <th scope="col">Own (not shared)</th>
                <th scope="col">Swapped (page tables)</th>
                {written && <th scope="col">Written this tick</th>}
                {written && <th scope="col">Written since watching (ticks added up)</th>}
              </tr>
            </thead>
            <tbody>
              {members.map(({ member: m, depth }) => {
                const w = memberWritten(watch, m.pid, scan.pageSize);
                return (
                  <tr key={m.pid} data-pid={m.pid}>
                    <th scope="row">{m.pid}</th>
                    <td
                      style={
                        depth
                          ? { paddingInlineStart: `${Math.min(depth, 16) * 8 + 6}px` }
                          : undefined
                      }
                    >
                      {depth > 0 && <span aria-hidden="true">└ </span>}
                      {m.name}
                      {depth > 0 && <span className="sr-only">, child of {m.ppid}</span>}
                    </td>
                    <td>{pagesText(m.resident, scan.pageSize)}</td>
                    <td>{pagesText(m.privateResident, scan.pageSize)}</td>
                    <td>{pagesText(m.swapped, scan.pageSize)}</td>
                    {written && <td data-testid="member-written">{w?.tick}</td>}
                    {written && <td>{w?.total}</td>}
                  </tr>
                );
              })}
            </tbody>
          </table>
          {scan.moreMembers > 0 && (
            <p className="muted">{fmt.format(scan.moreMembers)} more members not listed.</p>
          )}
          {scan.skipped.length > 0 && (
            <p className="muted" data-testid="group-skipped">
              Not scanned:{' '}
              {scan.skipped.map((s) => `${s.name} (pid ${s.pid}): ${s.why}`).join('; ')}
            </p>
          )}
          <SharedObjectsTable
            caption="Shared objects, each once"
            columns={written ? [...SCAN_COLUMNS, ...WRITTEN_COLUMNS] : SCAN_COLUMNS}
            rows={objects}
            empty="No memory shared between members (no MAP_SHARED mapping of an object)."
          />
          {scan.moreObjects > 0 && (
            <p className="muted">{fmt.format(scan.moreObjects)} more shared objects not listed.</p>
          )}
          <p className="muted small">
            A share: the object’s pages in that member’s page tables, a page in k members counting
            1/k to each, so the shares add up to the pages resident in page tables. Swapped shared
            memory is in no page table: it is read from the object (map_files, SEEK_DATA/SEEK_HOLE
            and mincore) or, where that cannot be opened, from smaps’ per-mapping Swap.
            {written &&
              ' Written pages of an object are the union of every member’s writes in the tick (a page two members wrote counts once); a writer’s share counts a page k members wrote as 1/k. An object’s pages “since watching” count each page once; the writers’ pages and shares beside them, and a member’s “since watching”, add the ticks up (a page written again counts again).'}
          </p>
        </>
      )}
    </GroupSection>
  );
}
