/**
 * The app shell: header (banner, with the page's h1), notices, sidebar (process picker or memory
 * map), main (heatmap, legend, timeline), status line (contentinfo) — every part in a landmark.
 * It installs the keyboard shortcuts and moves focus where the next step is when a session
 * starts or ends, so the keyboard never falls back to the top of the page.
 */
import { useEffect, useRef } from 'react';
import { detach } from './actions.ts';
import { closeGroup } from './group/actions.ts';
import { Controls } from './Controls.tsx';
import { DemoGuide } from './DemoGuide.tsx';
import { GroupView } from './group/GroupView.tsx';
import { useGroup } from './group/store.ts';
import { Heatmap } from './heatmap/Heatmap.tsx';
import { HelpDialog } from './HelpDialog.tsx';
import { Legend } from './Legend.tsx';
import { MemoryMap } from './MemoryMap.tsx';
import { Notices } from './Notices.tsx';
import { ProcessPicker } from './ProcessPicker.tsx';
import { closeRecording, initRecordings, installReplaySync } from './recording/actions.ts';
import { AnalyticsPanel } from './recording/AnalyticsPanel.tsx';
import { ComparePanel } from './recording/ComparePanel.tsx';
import { LiveRecordBar, OpenRecording, ReplayBar } from './recording/RecordingBar.tsx';
import { useRecording } from './recording/store.ts';
import { focusFirst, installShortcuts, toggleHelp } from './shortcuts.ts';
import { StatusLine } from './StatusLine.tsx';
import { useApp } from './store.ts';
import { Timeline } from './timeline/Timeline.tsx';
import { WritersPanel } from './who/WritersPanel.tsx';

function Welcome() {
  const ended = useApp((s) => s.ended);
  return (
    <div className="welcome">
      <h2 className="welcome-title">See a process's memory, page by page.</h2>
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
          Pick a region in the memory map, then <b>Watch writes</b>.
        </li>
        <li>Scroll to zoom, drag to pan, Shift-drag to select a range.</li>
        <li>
          Or use the keyboard: <kbd>Tab</kbd> between areas, arrows inside them, <kbd>?</kbd> for
          every shortcut.
        </li>
      </ol>
      {ended && <p className="ended">Last session: {ended}</p>}
      <OpenRecording />
    </div>
  );
}

/** After a session starts, focus its first step (the demo's regions, else the memory map). */
function useFocusManagement() {
  const sessionId = useApp((s) => s.session?.sessionId ?? null);
  const hasVmas = useApp((s) => s.vmas.length > 0);
  const moved = useRef<number | null>(null);
  useEffect(() => {
    const idle = () => document.activeElement === document.body || !document.activeElement;
    if (sessionId === null) {
      if (moved.current !== null && idle()) focusFirst('.picker-actions button.primary');
      moved.current = null;
      return;
    }
    if (moved.current === sessionId || !hasVmas) return;
    moved.current = sessionId;
    if (idle())
      focusFirst(
        '[data-testid="demo-regions"] [tabindex="0"]',
        '[data-testid="memory-map"] [tabindex="0"]',
      );
  }, [sessionId, hasVmas]);
}

export function App() {
  const session = useApp((s) => s.session);
  const connected = useApp((s) => s.connected);
  const lost = useApp((s) => s.lost);
  const replaying = useRecording((s) => s.replay !== null);
  const group = useGroup((s) => s.spec !== null || s.replay !== null);
  const sessionId = session?.sessionId ?? null;
  useEffect(() => {
    // A session takes the main area: the group view closes (and stops scanning).
    if (sessionId !== null) closeGroup();
  }, [sessionId]);
  useEffect(() => installShortcuts(), []);
  useEffect(() => installReplaySync(), []);
  useEffect(() => {
    if (connected) void initRecordings();
  }, [connected]);
  useFocusManagement();
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
          <h1>pagescope</h1>
        </div>
        {session ? (
          <div className="session">
            <span className="session-name">{session.name}</span>
            <span className="muted">pid {session.pid}</span>
            {replaying ? (
              // A recording is attached to nothing: there is nothing to detach from.
              <>
                <span className="badge">recording</span>
                <button type="button" className="ghost" onClick={() => void closeRecording()}>
                  Close recording
                </button>
              </>
            ) : (
              <>
                {session.launched && <span className="badge">launched by pagescope</span>}
                <button type="button" className="ghost" onClick={() => void detach()}>
                  {session.launched ? 'End and detach' : 'Detach'}
                </button>
              </>
            )}
          </div>
        ) : (
          <div className="session muted">
            {lost ? 'Disconnected' : connected ? 'Not attached' : 'Connecting to the host…'}
          </div>
        )}
        <button
          type="button"
          className="ghost help-button"
          onClick={toggleHelp}
          aria-keyshortcuts="?"
        >
          Keyboard <kbd>?</kbd>
        </button>
      </header>
      <Notices />
      <HelpDialog />
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
              <div className="main-top">
                {replaying ? <ReplayBar /> : <LiveRecordBar />}
                <Controls />
              </div>
              <Heatmap />
              <Legend />
              <Timeline />
              <div className="recording-panels">
                <ComparePanel />
                <AnalyticsPanel />
                {/* Last: its tables grow and shrink each tick, and must not move the others. */}
                <WritersPanel />
              </div>
            </>
          ) : group ? (
            <GroupView />
          ) : (
            <Welcome />
          )}
        </main>
      </div>
      <StatusLine />
    </div>
  );
}
