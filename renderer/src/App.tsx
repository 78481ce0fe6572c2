/** The app shell: header, sidebar (process picker or memory map), heatmap, legend, timeline. */
import { detach } from './actions.ts';
import { Controls } from './Controls.tsx';
import { Heatmap } from './heatmap/Heatmap.tsx';
import { Legend } from './Legend.tsx';
import { MemoryMap } from './MemoryMap.tsx';
import { Notices } from './Notices.tsx';
import { ProcessPicker } from './ProcessPicker.tsx';
import { StatusLine } from './StatusLine.tsx';
import { useApp } from './store.ts';
import { Timeline } from './timeline/Timeline.tsx';

function Welcome() {
  const ended = useApp((s) => s.ended);
  return (
    <div className="welcome">
      <h1>See a process's memory, page by page.</h1>
      <p>
        pagescope samples the page tables of a live process many times a second and draws every
        page: present, swapped, file-backed, zero, huge, guard — and, when you ask it to watch,
        exactly which pages the process writes.
      </p>
      <ol>
        <li>
          Click <b>Launch demo</b> for a built-in program whose memory changes in recognisable
          phases, or pick a process on the left.
        </li>
        <li>
          Click a VMA in the memory map, then <b>Watch writes</b>.
        </li>
        <li>Scroll to zoom, drag to pan, Shift-drag to select a range.</li>
      </ol>
      {ended && <p className="ended">Last session: {ended}</p>}
    </div>
  );
}

export function App() {
  const session = useApp((s) => s.session);
  const connected = useApp((s) => s.connected);
  return (
    <div className="app">
      <header className="topbar">
        <div className="brand">
          <svg width="22" height="22" viewBox="0 0 22 22" aria-hidden="true">
            <rect x="1" y="1" width="6" height="6" rx="1" fill="#56b4e9" />
            <rect x="8" y="1" width="6" height="6" rx="1" fill="#e69f00" />
            <rect x="15" y="1" width="6" height="6" rx="1" fill="#56b4e9" />
            <rect x="1" y="8" width="6" height="6" rx="1" fill="#009e73" />
            <rect x="8" y="8" width="6" height="6" rx="1" fill="#fde725" />
            <rect x="15" y="8" width="6" height="6" rx="1" fill="#56b4e9" />
            <rect x="1" y="15" width="6" height="6" rx="1" fill="#cc79a7" />
            <rect x="8" y="15" width="6" height="6" rx="1" fill="#56b4e9" />
            <rect x="15" y="15" width="6" height="6" rx="1" fill="#2a313b" />
          </svg>
          <span>pagescope</span>
        </div>
        {session ? (
          <div className="session">
            <span className="session-name">{session.name}</span>
            <span className="muted">pid {session.pid}</span>
            {session.launched && <span className="badge">launched by pagescope</span>}
            <button type="button" className="ghost" onClick={() => void detach()}>
              {session.launched ? 'End and detach' : 'Detach'}
            </button>
          </div>
        ) : (
          <div className="session muted">
            {connected ? 'Not attached' : 'Connecting to the host…'}
          </div>
        )}
      </header>
      <Notices />
      <div className="body">
        <aside className="sidebar">{session ? <MemoryMap /> : <ProcessPicker />}</aside>
        <main className="main">
          {session ? (
            <>
              <Controls />
              <Heatmap />
              <Legend />
              <Timeline />
            </>
          ) : (
            <Welcome />
          )}
        </main>
      </div>
      <StatusLine />
    </div>
  );
}
