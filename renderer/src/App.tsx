/** The app shell: header, sidebar (process picker or memory map), heatmap, legend, timeline. */
import { detach } from './actions.ts';
import { Controls } from './Controls.tsx';
import { Heatmap } from './heatmap/Heatmap.tsx';
import { Legend } from './Legend.tsx';
import { focusVma, MemoryMap } from './MemoryMap.tsx';
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

/** A demo region's name that focuses its (first) VMA, labelled by the host "demo: NAME". */
function DemoRegion({ name }: { name: string }) {
  const vma = useApp((s) => s.vmas.find((v) => v.label === `demo: ${name}`));
  if (!vma) return <b>{name}</b>;
  return (
    <button type="button" className="linklike" onClick={() => focusVma(vma)}>
      <b>{name}</b>
    </button>
  );
}

/** What the built-in demo does, for the first minute of a newcomer (see core/demo/regions.ts). */
function DemoGuide() {
  return (
    <details className="demo-guide" open>
      <summary>What the demo is doing</summary>
      <p>
        Each region is its own VMA and changes in phases. Click one, then <b>Watch writes</b>:
      </p>
      <ul>
        <li>
          <DemoRegion name="sweep" /> (16 MiB): a 4 MiB band of written pages sliding through it
        </li>
        <li>
          <DemoRegion name="hot" />: the same 8 pages written every tick
        </li>
        <li>
          <DemoRegion name="random" /> (16 MiB): 8 random pages written per tick, dropped every 10 s
        </li>
        <li>
          <DemoRegion name="zero" />: pages only read — the shared zero page
        </li>
        <li>
          <DemoRegion name="file" />: a private file mapping; written pages turn anonymous
        </li>
        <li>
          <DemoRegion name="thp" />: transparent huge pages; <DemoRegion name="guard" />: guard-page
          stripes
        </li>
        <li>
          <DemoRegion name="swap" />: paged out every 10 s when swap exists;{' '}
          <DemoRegion name="growth" />: a heap-like region
        </li>
      </ul>
      <p className="muted small">
        Click a region name to focus it; the memory map and heatmap label them “demo: …”.
      </p>
    </details>
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
        <aside className="sidebar">
          {session ? (
            <section className="side-stack">
              {session.launched && /demo/.test(session.name) && <DemoGuide />}
              <MemoryMap />
            </section>
          ) : (
            <ProcessPicker />
          )}
        </aside>
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
