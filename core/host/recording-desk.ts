/**
 * The recording requests of one host connection (protocol/recording.ts): recording a live
 * session to a file through core/record's SessionRecorder, opening a recording as a replay
 * session (ReplaySession; a group recording is sent whole instead, group-replay.ts), uploads, downloads, tick comparison and analytics (core/record's
 * compare and report, unchanged).
 *
 * Where files go: Electron passes its save and open dialogs (`dialogs`); the web host writes into
 * `recordingsDir` (default: $PAGESCOPE_RECORDINGS, else $XDG_DATA_HOME/pagescope/recordings, else
 * ~/.local/share/pagescope/recordings) and hands a file back to the browser in chunks over the
 * same authenticated socket (downloadRecording), only files named as this host names them.
 *
 * Heavy work runs off the event loop (heavy.ts, heavy-worker.ts): opening a recording and
 * decoding its ticks happen in the replay session's own thread, and each compare, analytics or
 * page of a live recording's ticks in a thread of its own, bounded by `jobTimeoutMs`. A newer
 * request of the same kind on this connection cancels the one under way (its thread is
 * terminated), and so does the connection closing. Uploads stream to disk under a host-wide
 * quota (uploads.ts).
 *
 * While a session is being recorded its view belongs to the recorder (a window over every page);
 * the UI's view requests are kept here and its frames cut down to them (frame-shape.ts). A live
 * session's snapshots are positions in the file being written; comparing or analysing them reads
 * that file as it is (the reader reads a file up to its last complete tick).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PagescopeError } from '../kernel/errors.ts';
import type { Frame } from '../protocol/frame.ts';
import type { Params, Result, SessionInfo } from '../protocol/messages.ts';
import {
  MAX_UPLOAD_BYTES,
  UPLOAD_CHUNK_BYTES,
  type AnalyticsInfo,
  type LiveRecordingState,
  type RecordingMethod,
  type TickDiffInfo,
} from '../protocol/recording.ts';
import { isGroupRecording } from '../record/group-recording.ts';
import { SessionRecorder } from '../record/recorder.ts';
import type { ViewSpec } from '../session/aggregate.ts';
import { DEFAULT_BUCKETS, type Session } from '../session/session.ts';
import { shapeFrame } from './frame-shape.ts';
import { openGroupRecordingFile } from './group-replay.ts';
import type { HeavyJob } from './heavy-protocol.ts';
import { runJob } from './heavy.ts';
import type { RecordingSource } from './recording-jobs.ts';
import { ReplaySession } from './replay.ts';
import { Upload, type UploadBudget } from './uploads.ts';

export { ANALYTICS_LINK_BYTES_PER_SECOND } from './recording-jobs.ts';

export interface RecordingDialogs {
  /** The path of a recording to open, or null when the user cancelled. */
  openRecording(): Promise<string | null>;
  /** Where to save a new recording, or null when the user cancelled. */
  saveRecording(suggestedName: string): Promise<string | null>;
}

export interface RecordingHostOptions {
  /** The recording `pagescope serve FILE` opens. */
  servedRecording?: string;
  /** Where the web host writes recordings made from the UI. */
  recordingsDir?: string;
  /** Electron's file dialogs; without them files go to recordingsDir. */
  dialogs?: RecordingDialogs;
  /** pagescope's version, for recording headers. */
  version?: string;
  /** Limit for one heavy request: opening, a compare, the analytics (default 60 s). */
  jobTimeoutMs?: number;
  /** Bytes of uploads the host holds at once (default: $PAGESCOPE_UPLOAD_QUOTA_MIB or 4 GiB). */
  uploadQuotaBytes?: number;
}

/** A session the host serves: live or replayed. */
export type HostedSession = Session | ReplaySession;

const MAX_SNAPSHOTS = 64;
/** Heavy requests one connection may have running at once (each is a thread reading a file). */
export const MAX_JOBS_PER_CONNECTION = 4;
const DOWNLOAD_CHUNK_BYTES = 512 * 1024;
/** Names this host gives recordings; only these can be downloaded. */
const RECORDING_NAME = /^pagescope-[A-Za-z0-9._-]{1,200}\.pgsrec$/;

export function defaultRecordingsDir(): string {
  if (process.env.PAGESCOPE_RECORDINGS) return process.env.PAGESCOPE_RECORDINGS;
  const data = process.env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share');
  return path.join(data, 'pagescope', 'recordings');
}

/** "pagescope-demo-1234-20261129T021500Z.pgsrec" */
export function recordingName(name: string, pid: number, now = new Date()): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60) || 'process';
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  return `pagescope-${safe}-${pid}-${stamp}.pgsrec`;
}

interface LiveRecording {
  recorder: SessionRecorder;
  path: string;
  name: string;
  lastTick: number;
  snapshots: Array<{ index: number; tick: number }>;
}

export interface DeskHooks {
  options: RecordingHostOptions;
  allocateSessionId(): number;
  /** HostConnection.adopt: starts a session under the caps and wires it to the UI. */
  adopt(start: () => Promise<HostedSession>): Promise<unknown>;
  session(sessionId: number): HostedSession;
  /** The host-wide upload quota. */
  uploads: UploadBudget;
}

type Handlers = {
  [M in RecordingMethod]: (p: Params<M>) => Promise<Result<M>> | Result<M>;
};

export class RecordingDesk {
  private nextUpload = 1;
  private readonly uploads = new Map<number, Upload>();
  private readonly live = new Map<number, LiveRecording>();
  /** The last view the UI asked for, per session. */
  private readonly views = new Map<number, ViewSpec>();
  /** Heavy work under way, by kind: a newer request of the kind aborts the older one. */
  private readonly jobs = new Map<string, AbortController>();
  private nextJob = 1;
  private closed = false;

  constructor(private readonly hooks: DeskHooks) {}

  private get options(): RecordingHostOptions {
    return this.hooks.options;
  }

  private get dir(): string {
    return this.options.recordingsDir ?? defaultRecordingsDir();
  }

  /** Keeps the UI's view; true when it must not reach the session (the recorder holds it). */
  setView(sessionId: number, view: ViewSpec): boolean {
    this.views.set(sessionId, view);
    return this.live.has(sessionId);
  }

  /** The frame the UI gets for one the session sent. */
  shape(sessionId: number, f: Frame): Frame {
    if (!this.live.has(sessionId)) return f;
    return shapeFrame(f, this.views.get(sessionId) ?? { buckets: DEFAULT_BUCKETS });
  }

  /** A session ended or was detached: close its recording. */
  sessionGone(sessionId: number, reason = 'The session ended.'): void {
    this.live.get(sessionId)?.recorder.stop(reason);
    this.live.delete(sessionId);
    this.views.delete(sessionId);
  }

  closeAll(): void {
    this.closed = true;
    for (const id of [...this.live.keys()]) this.sessionGone(id, 'The window closed.');
    for (const j of this.jobs.values()) j.abort('the window closed');
    this.jobs.clear();
    for (const up of this.uploads.values()) up.discard();
    this.uploads.clear();
  }

  /**
   * Runs `work` as this connection's one request of `kind` (unique kinds are never cancelled):
   * an older one of the same kind is aborted first, and the connection closing aborts it too.
   */
  private async exclusive<T>(
    kind: string | null,
    work: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    if (this.closed) throw new PagescopeError('This connection is closed.', 'closed');
    const key = kind ?? `#${this.nextJob++}`;
    const older = this.jobs.get(key);
    if (!older && this.jobs.size >= MAX_JOBS_PER_CONNECTION)
      throw new PagescopeError(
        `At most ${MAX_JOBS_PER_CONNECTION} recording requests (compare, analytics, ticks, opening) can run at once in one window: wait for the answers.`,
        'busy',
      );
    older?.abort('a newer request of the same kind replaced it');
    const ctl = new AbortController();
    this.jobs.set(key, ctl);
    try {
      return await work(ctl.signal);
    } finally {
      if (this.jobs.get(key) === ctl) this.jobs.delete(key);
    }
  }

  private job<T>(kind: string | null, job: HeavyJob): Promise<T> {
    return this.exclusive(kind, (signal) =>
      runJob<T>(job, { signal, timeoutMs: this.options.jobTimeoutMs }),
    );
  }

  private liveState(sessionId: number): LiveRecordingState {
    const r = this.live.get(sessionId);
    return {
      sessionId,
      recording: r !== undefined,
      path: r?.path ?? null,
      name: r?.name ?? null,
      ticks: r?.recorder.ticks ?? 0,
      bytes: r?.recorder.bytesWritten ?? 0,
      snapshots: r ? [...r.snapshots] : [],
      downloadable: !this.options.dialogs,
    };
  }

  /** The file behind a session: the replayed one, or the file a live session is writing. */
  private recordingOf(sessionId: number): RecordingSource {
    const s = this.hooks.session(sessionId);
    if (s instanceof ReplaySession) return s.source;
    const r = this.live.get(sessionId);
    if (!r)
      throw new PagescopeError(
        'Start recording first: ticks are compared and analysed from a recording.',
        'not-recording',
      );
    return { file: r.path };
  }

  /**
   * Opens `source` as a replay session, in its own thread; `release` (an upload's file) runs
   * when the session closes, or at once when it cannot be opened.
   */
  private async openReplay(
    source: RecordingSource,
    display: string,
    release?: () => void,
  ): Promise<Result<'openRecording'>> {
    if (isGroupRecording(source.file)) {
      // A group recording has no replay session: the UI gets all of it (group-replay.ts).
      try {
        return { group: openGroupRecordingFile(source) };
      } finally {
        release?.();
      }
    }
    let replay: ReplaySession | null = null;
    let info: SessionInfo;
    try {
      info = (await this.exclusive('open', (signal) =>
        this.hooks.adopt(async () => {
          replay = await ReplaySession.open(this.hooks.allocateSessionId(), source, display, {
            timeoutMs: this.options.jobTimeoutMs,
            signal,
            onClose: release,
          });
          return replay;
        }),
      )) as SessionInfo;
    } catch (err) {
      if (!replay) release?.(); // else the session's close released it
      throw err;
    }
    const r = replay as unknown as ReplaySession;
    r.start();
    return { ...info, recording: r.summary };
  }

  readonly handlers: Handlers = {
    recordingHost: () => ({
      served: this.options.servedRecording ? path.basename(this.options.servedRecording) : null,
      dialogs: this.options.dialogs !== undefined,
      recordingsDir: this.options.dialogs ? null : this.dir,
    }),

    openRecording: async (p) => {
      if (p.source === 'served') {
        const file = this.options.servedRecording;
        if (!file)
          throw new PagescopeError(
            'This host was not started with a recording (pagescope serve FILE).',
            'no-recording',
          );
        return this.openReplay({ file }, path.basename(file));
      }
      if (p.source === 'pick') {
        const dialogs = this.options.dialogs;
        if (!dialogs)
          throw new PagescopeError(
            'This host has no file dialog: upload the file instead.',
            'unsupported',
          );
        const file = await dialogs.openRecording();
        if (!file) throw new PagescopeError('No file was chosen.', 'cancelled');
        return this.openReplay({ file }, path.basename(file));
      }
      const up = this.uploads.get(p.source.uploadId);
      if (!up)
        throw new PagescopeError(
          'That upload is unknown here: send the file again.',
          'bad-request',
        );
      if (up.busy)
        throw new PagescopeError(
          `${up.name} is still being written: wait for the answer to its last chunk.`,
          'busy',
        );
      this.uploads.delete(p.source.uploadId);
      if (up.received !== up.size) {
        up.discard();
        throw new PagescopeError(
          `${up.name} arrived incomplete (${up.received} of ${up.size} bytes): send it again.`,
          'bad-recording',
        );
      }
      // Read from disk by the replay thread, once; the file stays while the session is open.
      const { file, release } = up.finish();
      return this.openReplay({ file, name: up.name }, up.name, release);
    },

    uploadRecording: async (p) => {
      const data = Buffer.from(p.data, 'base64');
      if (data.length > UPLOAD_CHUNK_BYTES)
        throw new PagescopeError(
          `An upload chunk holds at most ${UPLOAD_CHUNK_BYTES} bytes.`,
          'bad-request',
        );
      let id = p.uploadId;
      let up: Upload | undefined;
      if (id === undefined) {
        if (p.offset !== 0)
          throw new PagescopeError('An upload starts at offset 0.', 'bad-request');
        if (p.size > MAX_UPLOAD_BYTES)
          throw new PagescopeError(
            `${p.name} is ${p.size} bytes, more than the ${MAX_UPLOAD_BYTES} a recording uploaded here may have: open it with "pagescope serve FILE" instead.`,
            'bad-recording',
          );
        if (this.closed) throw new PagescopeError('This connection is closed.', 'closed');
        // One upload at a time per window.
        for (const old of this.uploads.values()) old.discard();
        this.uploads.clear();
        up = Upload.begin(this.dir, p.name, p.size, this.hooks.uploads);
        id = this.nextUpload++;
        this.uploads.set(id, up);
      } else {
        up = this.uploads.get(id);
        if (!up)
          throw new PagescopeError(
            'That upload is unknown here: send the file again.',
            'bad-request',
          );
      }
      if (up.busy)
        throw new PagescopeError(
          `A chunk of ${up.name} is still being written: wait for its answer before sending the next.`,
          'busy',
        );
      if (p.name !== up.name || p.size !== up.size || p.offset !== up.received) {
        this.uploads.delete(id);
        up.discard();
        throw new PagescopeError(
          `The upload of ${up.name} went out of order: send the file again.`,
          'bad-request',
        );
      }
      if (up.received + data.length > up.size) {
        this.uploads.delete(id);
        up.discard();
        throw new PagescopeError(
          `${up.name} sent more bytes than the ${up.size} it announced: send it again.`,
          'bad-request',
        );
      }
      try {
        await up.write(data);
      } catch (err) {
        if (this.uploads.get(id) === up) this.uploads.delete(id);
        throw err;
      }
      return { uploadId: id, received: up.received };
    },

    replayControl: (p) => {
      const s = this.hooks.session(p.sessionId);
      if (!(s instanceof ReplaySession))
        throw new PagescopeError('This session is live, not a recording.', 'bad-request');
      return s.control(p);
    },

    recordingTicks: (p) => {
      const s = this.hooks.session(p.sessionId);
      if (s instanceof ReplaySession) return s.ticks(p.from, p.count);
      // Pages of ticks are asked for side by side: none cancels another.
      return this.job(null, {
        kind: 'ticks',
        source: this.recordingOf(p.sessionId),
        from: p.from,
        count: p.count,
      });
    },

    startRecording: async (p) => {
      const s = this.hooks.session(p.sessionId);
      if (s instanceof ReplaySession)
        throw new PagescopeError('This is a recording already.', 'unsupported');
      if (this.live.has(p.sessionId)) return this.liveState(p.sessionId);
      const suggested = recordingName(s.info.name, s.pid);
      let file: string;
      if (this.options.dialogs) {
        const chosen = await this.options.dialogs.saveRecording(suggested);
        if (!chosen)
          throw new PagescopeError('Recording cancelled: no file was chosen.', 'cancelled');
        file = chosen;
      } else {
        try {
          fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
        } catch (err) {
          throw new PagescopeError(
            `Cannot create ${this.dir} for recordings: ${(err as Error).message}.`,
            'error',
          );
        }
        file = path.join(this.dir, suggested);
      }
      if (s.isClosed || this.live.has(p.sessionId)) return this.liveState(p.sessionId);
      const watched = s.vmas.filter((v) => v.watched === 'yes' || v.watched === 'partial');
      const entry: LiveRecording = {
        path: file,
        name: path.basename(file),
        lastTick: -1,
        snapshots: [],
        recorder: null as unknown as SessionRecorder,
      };
      try {
        entry.recorder = new SessionRecorder(s, {
          path: file,
          watching:
            watched.length > 0
              ? `as chosen in the UI; at the start ${watched.length} VMA(s): ${watched.map((v) => v.path || v.label || v.start).join(', ')}`
              : 'as chosen in the UI; nothing at the start (page states only until a watch)',
          intervalMs: s.info.intervalMs,
          version: this.options.version ?? 'unknown',
          onTick: (f) => {
            entry.lastTick = f.counters.tick;
          },
        });
      } catch (err) {
        if (err instanceof PagescopeError) throw err;
        throw new PagescopeError(`Cannot record to ${file}: ${(err as Error).message}.`, 'error');
      }
      this.live.set(p.sessionId, entry);
      return this.liveState(p.sessionId);
    },

    stopRecording: (p) => {
      const s = this.hooks.session(p.sessionId);
      const r = this.live.get(p.sessionId);
      if (!r) return this.liveState(p.sessionId);
      r.recorder.stop('Stopped from the UI.');
      this.live.delete(p.sessionId);
      // The view is the UI's again.
      s.setView(this.views.get(p.sessionId) ?? { buckets: DEFAULT_BUCKETS });
      return {
        sessionId: p.sessionId,
        recording: false,
        path: r.path,
        name: r.name,
        ticks: r.recorder.ticks,
        bytes: r.recorder.bytesWritten,
        snapshots: r.snapshots,
        downloadable: !this.options.dialogs,
      };
    },

    takeSnapshot: (p) => {
      this.hooks.session(p.sessionId);
      const r = this.live.get(p.sessionId);
      if (!r)
        throw new PagescopeError(
          'Start recording first: a snapshot is a tick of the recording.',
          'not-recording',
        );
      if (r.recorder.ticks === 0)
        throw new PagescopeError(
          'No tick has been recorded yet: wait for the first scan.',
          'not-recording',
        );
      if (r.snapshots.length >= MAX_SNAPSHOTS) r.snapshots.shift();
      r.snapshots.push({ index: r.recorder.ticks - 1, tick: r.lastTick });
      return this.liveState(p.sessionId);
    },

    compareTicks: (p) =>
      this.job<TickDiffInfo>('compare', {
        kind: 'compare',
        source: this.recordingOf(p.sessionId),
        a: p.a,
        b: p.b,
      }),

    recordingAnalytics: (p) =>
      this.job<AnalyticsInfo>('analytics', {
        kind: 'analytics',
        source: this.recordingOf(p.sessionId),
      }),

    downloadRecording: (p) => {
      if (this.options.dialogs)
        throw new PagescopeError('Recordings here are saved where you chose.', 'unsupported');
      if (!RECORDING_NAME.test(p.name))
        throw new PagescopeError(`${p.name} is not a recording this host made.`, 'bad-request');
      const file = path.join(this.dir, p.name);
      let fd: number;
      try {
        fd = fs.openSync(file, 'r');
      } catch {
        throw new PagescopeError(`${p.name} is not in ${this.dir}.`, 'no-recording');
      }
      try {
        const size = fs.fstatSync(fd).size;
        const len = Math.max(0, Math.min(DOWNLOAD_CHUNK_BYTES, size - p.offset));
        const buf = Buffer.alloc(len);
        let got = 0;
        while (got < len) {
          const n = fs.readSync(fd, buf, got, len - got, p.offset + got);
          if (n === 0) break;
          got += n;
        }
        return { data: buf.subarray(0, got).toString('base64'), size, offset: p.offset };
      } finally {
        fs.closeSync(fd);
      }
    },
  };
}
