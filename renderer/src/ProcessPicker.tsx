/**
 * The process picker: search by name or pid, attach, launch the demo or a command. The process
 * list is a listbox and one tab stop (roving tabindex): arrows move, Enter attaches. Unfiltered,
 * it is the process tree (process-tree.ts): children indented under their parent, and each says
 * its parent to a screen reader; a search lists the matches flat.
 *
 * Groups (issue 24): with "Pick whole trees" checked, Enter (or a click) opens the process and
 * its descendants as a group (group/GroupView.tsx) instead of attaching; the Cgroups list below
 * (the cgroups of the listed processes, another one-tab-stop listbox) opens a cgroup as a group.
 */
import { useEffect, useMemo, useState } from 'react';
import { useRoving } from './a11y/roving.ts';
import { openGroup, refreshCgroups } from './group/actions.ts';
import { useGroup } from './group/store.ts';
import { processTree } from './process-tree.ts';
import { attach, launchCommand, launchDemo, refreshProcesses } from './actions.ts';
import { useApp } from './store.ts';
import { fmt } from './theme.ts';

/** Split a command line into words, honouring '…' and "…" quotes. */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

function formatRss(kib: number): string {
  if (kib >= 1024 * 1024) return `${(kib / 1024 / 1024).toFixed(1)} GiB`;
  if (kib >= 1024) return `${(kib / 1024).toFixed(kib >= 10240 ? 0 : 1)} MiB`;
  return `${kib} KiB`;
}

/** The cgroups of the listed processes; Enter opens one as a group. */
function CgroupList() {
  const cgroups = useGroup((s) => s.cgroups);
  const failed = useGroup((s) => s.cgroupsError);
  const open = useGroup((s) => (s.spec?.kind === 'cgroup' ? s.spec.path : null));
  const roving = useRoving<HTMLDivElement>(cgroups.length, '.cgroup-row[role="option"]');
  const pick = (dir: string): void => void openGroup({ kind: 'cgroup', path: dir });
  return (
    <details className="cgroups" data-testid="cgroups">
      <summary>Cgroups ({fmt.format(cgroups.length)})</summary>
      {failed && <p className="muted">{failed}</p>}
      <div
        className="proc-list cgroup-list"
        role="listbox"
        aria-label="Cgroups: Enter shows the cgroup as a group"
        ref={roving.ref}
        onKeyDown={roving.onKeyDown}
        onFocus={roving.onFocus}
      >
        {cgroups.map((c, i) => (
          <div
            role="option"
            aria-selected={open === c.dir}
            tabIndex={roving.tabIndex(i)}
            key={c.dir}
            className="proc-row cgroup-row"
            title={c.dir}
            onClick={() => pick(c.dir)}
            onKeyDown={(e) => {
              if (e.key === 'Enter' || e.key === ' ') {
                e.preventDefault();
                pick(c.dir);
              }
            }}
          >
            <span className="name">{c.path}</span>
            <span className="num">
              {fmt.format(c.pids.length)} {c.pids.length === 1 ? 'process' : 'processes'}
            </span>
          </div>
        ))}
        {cgroups.length === 0 && (
          <div role="option" aria-selected={false} aria-disabled="true" className="muted empty">
            No cgroups listed.
          </div>
        )}
      </div>
    </details>
  );
}

export function ProcessPicker() {
  const processes = useApp((s) => s.processes);
  const query = useApp((s) => s.processQuery);
  const busy = useApp((s) => s.busy);
  const loading = useApp((s) => s.loadingProcesses);
  const connected = useApp((s) => s.connected);
  const launchDisabled = useApp((s) => s.launchDisabled);
  const [commandOpen, setCommandOpen] = useState(false);
  const [command, setCommand] = useState('');
  const pickTree = useGroup((s) => s.pickTree);
  const openTree = useGroup((s) => (s.spec?.kind === 'tree' ? s.spec.root : null));
  useEffect(() => {
    if (connected) void refreshCgroups();
  }, [connected]);
  const choose = (pid: number): void =>
    void (pickTree ? openGroup({ kind: 'tree', root: pid }) : attach(pid));

  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    if (!q) return processTree(processes).slice(0, 200);
    return processes
      .filter(
        (p) =>
          String(p.pid) === q ||
          String(p.pid).startsWith(q) ||
          p.name.toLowerCase().includes(q) ||
          p.cmdline.toLowerCase().includes(q),
      )
      .slice(0, 200)
      .map((process) => ({ process, depth: 0 }));
  }, [processes, query]);
  const roving = useRoving<HTMLDivElement>(shown.length, '.proc-row[role="option"]');

  return (
    <section className="picker" aria-label="Processes">
      <div className="picker-actions">
        <button
          type="button"
          className="primary"
          onClick={() => void launchDemo()}
          disabled={!connected || busy !== null}
        >
          Launch demo
        </button>
        <button
          type="button"
          onClick={() => setCommandOpen((o) => !o)}
          disabled={!connected || busy !== null || launchDisabled !== null}
          aria-expanded={commandOpen}
          aria-describedby={launchDisabled ? 'launch-disabled' : undefined}
          title={launchDisabled ?? undefined}
        >
          Launch command…
        </button>
      </div>
      {launchDisabled && (
        <p id="launch-disabled" className="muted launch-disabled">
          {launchDisabled}
        </p>
      )}
      {commandOpen && !launchDisabled && (
        <form
          className="command-form"
          onSubmit={(e) => {
            e.preventDefault();
            const words = splitCommand(command);
            if (words.length === 0) return;
            setCommandOpen(false);
            void launchCommand(words);
          }}
        >
          <label>
            Command line
            <input
              value={command}
              onChange={(e) => setCommand(e.target.value)}
              placeholder="python3 -c 'import time; time.sleep(60)'"
              autoFocus
            />
          </label>
          <button type="submit" disabled={!command.trim()}>
            Launch
          </button>
        </form>
      )}
      <div className="search-row">
        <label className="search">
          <span>Find process</span>
          <input
            type="search"
            aria-label="Find process"
            placeholder="name or pid"
            value={query}
            onChange={(e) => useApp.setState({ processQuery: e.target.value })}
          />
        </label>
        <button
          type="button"
          className="ghost"
          onClick={() => {
            void refreshProcesses();
            void refreshCgroups();
          }}
          aria-label="Refresh the process list"
          title="Refresh"
        >
          ↻
        </button>
      </div>
      <label className="pick-tree">
        <input
          type="checkbox"
          checked={pickTree}
          onChange={(e) => useGroup.setState({ pickTree: e.target.checked })}
          data-testid="pick-tree"
        />
        Pick whole trees: a process and its descendants, as a group
      </label>
      {busy && <p className="busy">{busy}…</p>}
      <div className="proc-row proc-head" aria-hidden="true">
        <span>PID</span>
        <span>Name</span>
        <span>User</span>
        <span className="num">RSS</span>
      </div>
      <div
        className="proc-list"
        role="listbox"
        aria-label={
          pickTree
            ? 'Processes: Enter shows the process and its descendants as a group'
            : 'Processes: Enter attaches'
        }
        aria-busy={loading}
        ref={roving.ref}
        onKeyDown={roving.onKeyDown}
        onFocus={roving.onFocus}
      >
        {shown.map(({ process: p, depth }, i) => (
          <div
            role="option"
            aria-selected={pickTree && openTree === p.pid}
            aria-disabled={busy !== null}
            tabIndex={roving.tabIndex(i)}
            key={p.pid}
            className="proc-row"
            title={p.cmdline}
            onClick={() => busy === null && choose(p.pid)}
            onKeyDown={(e) => {
              if ((e.key === 'Enter' || e.key === ' ') && busy === null) {
                e.preventDefault();
                choose(p.pid);
              }
            }}
          >
            <span className="pid">{p.pid}</span>
            <span
              className="name"
              // Indented under its parent; deeper than 16 levels stays at 16 so names keep room.
              style={depth ? { paddingInlineStart: `${Math.min(depth, 16) * 8}px` } : undefined}
              data-depth={depth}
            >
              {depth > 0 && <span aria-hidden="true">└ </span>}
              {p.name}
              {depth > 0 && <span className="sr-only">, child of {p.ppid}</span>}
            </span>
            <span className="user">{p.user}</span>
            <span className="num">{formatRss(p.rssKiB)}</span>
          </div>
        ))}
        {shown.length === 0 && (
          <div role="option" aria-selected={false} aria-disabled="true" className="muted empty">
            {processes.length === 0 ? 'No processes listed yet.' : `No process matches “${query}”.`}
          </div>
        )}
      </div>
      <p className="muted small">{fmt.format(processes.length)} processes</p>
      <CgroupList />
    </section>
  );
}
