/**
 * The recording bars over the heatmap. For a replay: the banner "Recording: FILE — recorded DATE
 * from PID", play/pause, speed, the tick slider (the keyboard's scrub: arrows step one tick; the
 * timeline scrubs with the pointer) and a "Go to tick" field. Every one of them names a moment by
 * its tick number, as the recording, the status line, the timeline and `pagescope report` do
 * (recording/ticks.ts); Close recording is in the header, where Detach is for a live session.
 * For a live session: Record / Stop recording, Take snapshot, the download of the file the web
 * host wrote, and a line saying what is being recorded. Both: Export PNG of the heatmap as drawn.
 *
 * Nothing here moves while the app ticks (issue 21): a button that changes its words keeps one
 * box (FixedLabel), the download button's place is kept while it is hidden, the recording line
 * is one line that is always there (cut with an ellipsis, never wrapped), and numbers that
 * change are set in tabular figures in boxes as wide as their widest value.
 */
import { useState, type ChangeEvent, type KeyboardEvent } from 'react';
import { FixedLabel } from '../FixedLabel.tsx';
import { notify, useApp } from '../store.ts';
import { fmt } from '../theme.ts';
import {
  downloadRecording,
  openRecording,
  replayControl,
  seekIndex,
  seekTick,
  startRecording,
  stopRecording,
  takeSnapshot,
} from './actions.ts';
import { exportHeatmapPng, fileStem } from './csv.ts';
import { useRecording } from './store.ts';
import { stepToTick } from './ticks.ts';

const SPEEDS = [0.25, 0.5, 1, 2, 4, 8, 16];

function ExportPng({ stem }: { stem: string }) {
  const mode = useApp((s) => s.mode);
  return (
    <button
      type="button"
      onClick={() =>
        void exportHeatmapPng(`${stem}-${mode}.png`).catch((e: unknown) =>
          notify('error', e instanceof Error ? e.message : String(e)),
        )
      }
    >
      Export PNG
    </button>
  );
}

/** Typing a tick number and Enter shows that tick (Escape leaves the field as it was). */
function GoToTick({ first, last }: { first: number; last: number }) {
  const [text, setText] = useState('');
  const onKey = (e: KeyboardEvent<HTMLInputElement>) => {
    if (e.key === 'Escape') setText('');
    if (e.key !== 'Enter' || text.trim() === '') return;
    e.preventDefault();
    void seekTick(text).then((ok) => ok && setText(''));
  };
  return (
    <label className="go-to-tick">
      Go to tick
      <input
        type="number"
        inputMode="numeric"
        min={first}
        max={last}
        value={text}
        aria-description="Enter shows that tick"
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKey}
        style={{ width: `${String(last).length + 4}ch` }}
      />
    </label>
  );
}

export function ReplayBar() {
  const replay = useRecording((s) => s.replay);
  const ticks = useRecording((s) => s.replayTicks);
  if (!replay) return null;
  const { summary, state } = replay;
  const when = new Date(summary.createdAt);
  const date = Number.isNaN(when.getTime()) ? summary.createdAt : when.toLocaleString();
  const first = ticks[0] ?? 0;
  const last = ticks[ticks.length - 1] ?? 0;
  const known = ticks.length > 0 && state.tick >= 0;
  // Wide enough for the largest tick number: the text beside it never moves.
  const digits = `${String(last).length}ch`;
  return (
    <section className="recording-bar replay" aria-label="Recording playback">
      <p className="recording-banner" data-testid="recording-banner">
        <span className="badge">Recording</span> <b>{summary.file}</b> — recorded {date} from pid{' '}
        {summary.pid} ({summary.name}) · {fmt.format(summary.ticks)} ticks,{' '}
        {(summary.durationMs / 1000).toFixed(1)} s{summary.truncated ? ' · cut short' : ''}
      </p>
      <div className="group">
        <button
          type="button"
          className="primary"
          onClick={() => void replayControl({ playing: !state.playing })}
          aria-pressed={state.playing}
        >
          <FixedLabel text={state.playing ? 'Pause' : 'Play'} options={['Play', 'Pause']} />
        </button>
        <label className="interval">
          Speed
          <select
            aria-label="Playback speed"
            value={state.speed}
            onChange={(e) => void replayControl({ speed: Number(e.target.value) })}
          >
            {SPEEDS.map((s) => (
              <option key={s} value={s}>
                {s}×
              </option>
            ))}
          </select>
        </label>
        <label className="position">
          Tick
          <input
            type="range"
            min={first}
            max={last}
            step={1}
            value={known ? state.tick : first}
            disabled={!known}
            aria-label="Tick shown"
            aria-valuetext={known ? `tick ${state.tick} of ${first} to ${last}` : 'loading'}
            onChange={(e: ChangeEvent<HTMLInputElement>) =>
              void seekIndex(stepToTick(ticks, state.index, Number(e.target.value)))
            }
          />
        </label>
        <span className="muted small tick-readout" data-testid="replay-position">
          tick{' '}
          <span className="num" style={{ minWidth: digits }}>
            {known ? state.tick : ''}
          </span>{' '}
          of {first}–{last}
        </span>
        <GoToTick first={first} last={last} />
      </div>
      <div className="group right">
        <ExportPng stem={fileStem(summary.file)} />
      </div>
    </section>
  );
}

export function LiveRecordBar() {
  const live = useRecording((s) => s.live);
  const busy = useRecording((s) => s.busy);
  const session = useApp((s) => s.session);
  if (!session) return null;
  const recording = live?.recording ?? false;
  const downloadable = !!live && !recording && live.downloadable && !!live.name;
  return (
    <section className="recording-bar live" aria-label="Recording">
      <div className="group">
        {/* One button that changes its words, not two: one element, one box. */}
        <button
          type="button"
          className={recording ? 'recording-on' : undefined}
          onClick={() => void (recording ? stopRecording() : startRecording())}
          disabled={!recording && busy !== null}
        >
          <FixedLabel
            text={recording ? 'Stop recording' : 'Record'}
            options={['Record', 'Stop recording']}
          />
        </button>
        <button
          type="button"
          onClick={() => void takeSnapshot()}
          disabled={!recording}
          title={
            recording ? 'Mark this tick to compare later' : 'Start recording to take snapshots'
          }
        >
          Take snapshot
        </button>
        {/* Its place is kept while there is nothing to download: nothing moves when it comes. */}
        <button
          type="button"
          className={downloadable ? undefined : 'reserved'}
          onClick={() => downloadable && void downloadRecording(live.name!)}
          disabled={!downloadable}
          aria-hidden={downloadable ? undefined : true}
          tabIndex={downloadable ? undefined : -1}
        >
          Download recording
        </button>
      </div>
      <div className="group right">
        <ExportPng stem={fileStem(`${session.name}-${session.pid}`)} />
      </div>
      <p className="record-line muted small">
        {live ? (
          <span data-testid="live-recording" role="status" title={live.path ?? undefined}>
            {recording ? 'Recording' : 'Recorded'} {fmt.format(live.ticks)} ticks to {live.path}
            {live.snapshots.length > 0 ? ` · ${live.snapshots.length} snapshot(s)` : ''}
          </span>
        ) : (
          'Not recording: Record saves every tick to a file you can replay and compare.'
        )}
      </p>
    </section>
  );
}

/** Open a recording: the host's dialog (Electron) or a file input (web host). */
export function OpenRecording() {
  const host = useRecording((s) => s.host);
  const busy = useRecording((s) => s.busy);
  const connected = useApp((s) => s.connected);
  if (!connected) return null;
  return (
    <section className="open-recording" aria-label="Open a recording">
      <h2>Open a recording</h2>
      <p className="muted small">
        Replays a file made with <b>Record</b> or <code>pagescope record</code>, attached to
        nothing.
        {host?.recordingsDir && <> Recordings made here are saved in {host.recordingsDir}.</>}
      </p>
      {host?.dialogs ? (
        <button type="button" onClick={() => void openRecording('pick')} disabled={busy !== null}>
          Open recording…
        </button>
      ) : (
        <label className="file-input">
          Recording file
          <input
            type="file"
            accept=".pgsrec,.rec,application/octet-stream"
            disabled={busy !== null}
            onChange={(e) => {
              const f = e.target.files?.[0];
              e.target.value = '';
              if (f) void openRecording(f);
            }}
          />
        </label>
      )}
      {busy && <p className="muted small">{busy}…</p>}
    </section>
  );
}
