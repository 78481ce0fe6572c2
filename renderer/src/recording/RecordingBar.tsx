/**
 * The recording bars over the heatmap. For a replay: the banner "Recording: FILE — recorded DATE
 * from PID", play/pause, speed, a position slider (the keyboard's scrub: arrows step one tick;
 * the timeline scrubs with the pointer) and Close. For a live session: Record / Stop recording,
 * Take snapshot, and the download of the file the web host wrote. Both: Export PNG of the
 * heatmap as drawn.
 */
import type { ChangeEvent } from 'react';
import { notify, useApp } from '../store.ts';
import { fmt } from '../theme.ts';
import {
  closeRecording,
  downloadRecording,
  openRecording,
  replayControl,
  seekIndex,
  startRecording,
  stopRecording,
  takeSnapshot,
} from './actions.ts';
import { exportHeatmapPng, fileStem } from './csv.ts';
import { useRecording } from './store.ts';

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

export function ReplayBar() {
  const replay = useRecording((s) => s.replay);
  if (!replay) return null;
  const { summary, state } = replay;
  const when = new Date(summary.createdAt);
  const date = Number.isNaN(when.getTime()) ? summary.createdAt : when.toLocaleString();
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
          {state.playing ? 'Pause' : 'Play'}
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
          Position
          <input
            type="range"
            min={0}
            max={Math.max(0, state.ticks - 1)}
            value={state.index}
            aria-label="Position in the recording"
            aria-valuetext={`tick ${state.tick}, ${state.index + 1} of ${state.ticks}`}
            onChange={(e: ChangeEvent<HTMLInputElement>) => void seekIndex(Number(e.target.value))}
          />
        </label>
        <span className="muted small" data-testid="replay-position">
          {state.index + 1} / {state.ticks} · tick {state.tick}
        </span>
      </div>
      <div className="group right">
        <ExportPng stem={fileStem(summary.file)} />
        <button type="button" className="ghost" onClick={() => void closeRecording()}>
          Close recording
        </button>
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
  return (
    <section className="recording-bar live" aria-label="Recording">
      <div className="group">
        {recording ? (
          <button type="button" className="recording-on" onClick={() => void stopRecording()}>
            Stop recording
          </button>
        ) : (
          <button type="button" onClick={() => void startRecording()} disabled={busy !== null}>
            Record
          </button>
        )}
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
        {live && (
          <span className="muted small" data-testid="live-recording" role="status">
            {recording ? 'Recording' : 'Recorded'} {fmt.format(live.ticks)} ticks to {live.path}
            {live.snapshots.length > 0 ? ` · ${live.snapshots.length} snapshot(s)` : ''}
          </span>
        )}
        {live && !recording && live.downloadable && live.name && (
          <button type="button" onClick={() => void downloadRecording(live.name!)}>
            Download recording
          </button>
        )}
      </div>
      <div className="group right">
        <ExportPng stem={fileStem(`${session.name}-${session.pid}`)} />
      </div>
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
