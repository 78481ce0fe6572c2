/**
 * The group view (issue 24): a process tree, a cgroup or several pids, as one scan refreshed
 * while the view is open (actions.ts). Two plain tables with captions and column headers, like
 * the other panels: the members (pid, name, resident, swapped; "Written" once group watching
 * gives it), and each shared object once, with its label, size, resident and swapped pages
 * (each saying which source it came from) and every member's share.
 *
 * The heading takes focus when a group opens (a screen reader hears which group); Escape or the
 * Close button closes it and focus goes back to the process list. A group recording opened for
 * replay shows in GroupReplay.tsx instead. Refreshes are not announced
 * (they would talk over everything every 2 s); a failed one is, once, as a status.
 */
import { useEffect, useRef } from 'react';
import { focusFirst } from '../shortcuts.ts';
import { fmt } from '../theme.ts';
import { closeGroup } from './actions.ts';
import { GroupReplay } from './GroupReplay.tsx';
import {
  groupTitle,
  hasWritten,
  memberRows,
  objectRows,
  pagesText,
  summaryText,
} from './group-rows.ts';
import { useGroup } from './store.ts';

function close(): void {
  closeGroup();
  // The picker's list is where the next step is.
  requestAnimationFrame(() =>
    focusFirst('.proc-list [tabindex="0"]', '.picker input[type="search"]'),
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
  const heading = useRef<HTMLHeadingElement>(null);
  const key = spec ? JSON.stringify(spec) : '';
  useEffect(() => {
    if (key) heading.current?.focus();
  }, [key]);
  if (!spec) return null;
  const written = scan ? hasWritten(scan) : false;
  const members = scan ? memberRows(scan) : [];
  const objects = scan ? objectRows(scan) : [];
  return (
    <section
      className="group-view"
      aria-labelledby="group-title"
      data-testid="group-view"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          close();
        }
      }}
    >
      <div className="group-head">
        <h2 id="group-title" tabIndex={-1} ref={heading}>
          {groupTitle(spec)}
        </h2>
        <button type="button" className="ghost" onClick={close} aria-keyshortcuts="Escape">
          Close group
        </button>
      </div>
      {error && (
        <p role="status" className="group-error" data-testid="group-error">
          {error}
        </p>
      )}
      {!scan && !error && <p className="muted">Scanning the group…</p>}
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
                {/* Group watching (written pages per member) fills this column when it exists. */}
                {written && <th scope="col">Written</th>}
              </tr>
            </thead>
            <tbody>
              {members.map(({ member: m, depth }) => (
                <tr key={m.pid}>
                  <th scope="row">{m.pid}</th>
                  <td
                    style={
                      depth ? { paddingInlineStart: `${Math.min(depth, 16) * 8 + 6}px` } : undefined
                    }
                  >
                    {depth > 0 && <span aria-hidden="true">└ </span>}
                    {m.name}
                    {depth > 0 && <span className="sr-only">, child of {m.ppid}</span>}
                  </td>
                  <td>{pagesText(m.resident, scan.pageSize)}</td>
                  <td>{pagesText(m.privateResident, scan.pageSize)}</td>
                  <td>{pagesText(m.swapped, scan.pageSize)}</td>
                  {written && (
                    <td>{m.written === undefined ? '—' : pagesText(m.written, scan.pageSize)}</td>
                  )}
                </tr>
              ))}
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
          <table className="data-table group-objects" data-testid="group-objects">
            <caption>Shared objects, each once</caption>
            <thead>
              <tr>
                <th scope="col">Object</th>
                <th scope="col">Size mapped</th>
                <th scope="col">Resident</th>
                <th scope="col">Swapped</th>
                <th scope="col">Each member’s share</th>
              </tr>
            </thead>
            <tbody>
              {objects.map((o) => (
                <tr key={o.key} data-object={o.label}>
                  <th scope="row">
                    {o.label}
                    <span className="muted small"> ({o.what})</span>
                  </th>
                  <td>{o.size}</td>
                  <td>{o.resident}</td>
                  <td>{o.swapped}</td>
                  <td>
                    <ul className="group-shares">
                      {o.shares.map((s) => (
                        <li key={s.pid} data-pid={s.pid}>
                          {s.name} (pid {s.pid}): {s.text}
                        </li>
                      ))}
                      {o.zero && (
                        <li className="muted" data-zero={o.zero.pids.join(' ')}>
                          {o.zero.text}
                        </li>
                      )}
                    </ul>
                  </td>
                </tr>
              ))}
              {objects.length === 0 && (
                <tr>
                  <td colSpan={5} className="muted">
                    No memory shared between members (no MAP_SHARED mapping of an object).
                  </td>
                </tr>
              )}
            </tbody>
          </table>
          {scan.moreObjects > 0 && (
            <p className="muted">{fmt.format(scan.moreObjects)} more shared objects not listed.</p>
          )}
          <p className="muted small">
            A share: the object’s pages in that member’s page tables, a page in k members counting
            1/k to each, so the shares add up to the pages resident in page tables. Swapped shared
            memory is in no page table: it is read from the object (map_files, SEEK_DATA/SEEK_HOLE
            and mincore) or, where that cannot be opened, from smaps’ per-mapping Swap.
          </p>
        </>
      )}
    </section>
  );
}
