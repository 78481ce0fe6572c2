/**
 * The shared-objects table of the group view, live (GroupView.tsx) and replayed
 * (GroupReplay.tsx): one row per object, its label and kind as the row header, then whatever
 * columns the caller defines (header and cell), and one line saying so when there is no object.
 * Each view keeps its own figures (group-rows.ts, replay-rows.ts, watch-rows.ts); the markup,
 * captions, headers and the members' share lists are the same everywhere (one place for the
 * accessibility of a table that screen readers walk cell by cell).
 */
import type { ReactNode } from 'react';

/** What every row has: the object, named once. */
export interface ObjectRowBase {
  key: string;
  label: string;
  /** "memfd, inode 1234" */
  what: string;
}

export interface ObjectColumn<R> {
  header: string;
  cell: (row: R) => ReactNode;
}

export interface ShareItem {
  pid: number;
  text: string;
}

/** A list of members' shares (`data-pid` each), and the members with none in one line. */
export function SharesList({
  shares,
  zero,
  testId,
}: {
  shares: ShareItem[];
  zero?: { pids: number[]; text: string } | null;
  testId?: string;
}) {
  if (shares.length === 0 && !zero) return null;
  return (
    <ul className="group-shares" data-testid={testId}>
      {shares.map((s) => (
        <li key={s.pid} data-pid={s.pid}>
          {s.text}
        </li>
      ))}
      {zero && (
        <li className="muted" data-zero={zero.pids.join(' ')}>
          {zero.text}
        </li>
      )}
    </ul>
  );
}

export function SharedObjectsTable<R extends ObjectRowBase>({
  caption,
  columns,
  rows,
  empty,
}: {
  caption: string;
  columns: ReadonlyArray<ObjectColumn<R>>;
  rows: readonly R[];
  /** The one line shown when there is no row. */
  empty: string;
}) {
  return (
    <table className="data-table group-objects" data-testid="group-objects">
      <caption>{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Object</th>
          {columns.map((c) => (
            <th scope="col" key={c.header}>
              {c.header}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((r) => (
          <tr key={r.key} data-object={r.label}>
            <th scope="row">
              {r.label}
              <span className="muted small"> ({r.what})</span>
            </th>
            {columns.map((c) => (
              <td key={c.header}>{c.cell(r)}</td>
            ))}
          </tr>
        ))}
        {rows.length === 0 && (
          <tr>
            <td colSpan={columns.length + 1} className="muted">
              {empty}
            </td>
          </tr>
        )}
      </tbody>
    </table>
  );
}
