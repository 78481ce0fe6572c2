/**
 * Records a Session into a file, through the Session's public API only (onFrame, onEvent,
 * setView): what is recorded is exactly what the session sends a live viewer.
 *
 * The recorder asks the session for a full-resolution window over the whole collapsed space
 * (clamped by the session to the pages that exist), so each frame carries every page's bits and
 * any later view (any bucket count, any window) can be rebuilt exactly from the file. An address
 * space larger than MAX_RECORD_PAGES does not fit a window: those ticks keep the overview
 * histogram instead (exact counts per bucket, no per-page states). The header is written when
 * the session's first VMA table arrives; every later table goes out with the next tick.
 */
import { capabilityWarnings, probeCapabilities } from '../kernel/capabilities.ts';
import { readProcess } from '../proc/processes.ts';
import type { Frame } from '../protocol/frame.ts';
import type { HostEvent, VmaInfo } from '../protocol/messages.ts';
import type { Session } from '../session/session.ts';
import { MAX_RECORD_PAGES } from './format.ts';
import { RecordingWriter } from './writer.ts';

/**
 * The view the recorder asks for: every page (the window, clamped by the session to the pages
 * that exist) and an overview fine enough (at most 2048 pages a bucket) that the encoder can skip
 * the empty parts of the window without reading them.
 */
export const RECORD_VIEW = {
  buckets: MAX_RECORD_PAGES / 2048,
  window: { startIndex: 0, endIndex: MAX_RECORD_PAGES },
};

export interface RecorderOptions {
  path: string;
  /** What is watched for writes, in words, for the header. */
  watching: string;
  intervalMs: number;
  /** pagescope's version, for the header. */
  version: string;
  /** Called after each recorded tick (ms spent encoding and writing it). */
  onTick?: (frame: Frame, costMs: number) => void;
  /** Called with each VMA table the session sends (e.g. to follow new mappings). */
  onVmas?: (vmas: VmaInfo[]) => void;
  /** A keyframe at least every this many ticks (default KEYFRAME_EVERY; the benchmark's). */
  keyframeEvery?: number;
}

export class SessionRecorder {
  private writer: RecordingWriter | null = null;
  private readonly off: Array<() => void> = [];
  private closed = false;
  ticks = 0;
  dropped = 0;
  costMs = 0;

  constructor(
    private readonly session: Session,
    private readonly opts: RecorderOptions,
  ) {
    session.setView(RECORD_VIEW);
    this.off.push(session.onEvent((e) => this.onEvent(e)));
    this.off.push(session.onFrame((f) => this.onFrame(f)));
    this.off.push(
      session.onWho((tick, who) => {
        // The writers of the tick just recorded (never of a dropped one).
        if (!this.closed && this.writer && tick === this.lastTick) this.writer.who(who);
      }),
    );
    if (session.vmas.length > 0) this.open(session.vmas);
  }

  get bytesWritten(): number {
    return this.writer?.bytesWritten ?? 0;
  }

  private open(vmas: VmaInfo[]): void {
    const caps = probeCapabilities();
    const proc = readProcess(this.session.pid);
    this.writer = new RecordingWriter(
      this.opts.path,
      {
        createdAt: new Date().toISOString(),
        pagescope: this.opts.version,
        process: {
          pid: this.session.pid,
          name: proc?.name ?? String(this.session.pid),
          cmdline: proc?.cmdline ?? '',
          launched: this.session.info.launched,
        },
        kernel: caps.kernel,
        capabilities: { ...caps },
        warnings: capabilityWarnings(caps),
        intervalMs: this.opts.intervalMs,
        watching: this.opts.watching,
      },
      vmas,
      this.opts.keyframeEvery,
    );
  }

  private onEvent(e: HostEvent): void {
    if (this.closed) return;
    switch (e.event) {
      case 'vmas':
        if (this.writer) this.writer.setVmas(e.vmas);
        else this.open(e.vmas);
        this.opts.onVmas?.(e.vmas);
        break;
      case 'warning':
        this.writer?.note('warning', this.lastT, e.message);
        break;
      case 'sessionEnded':
        this.writer?.note('ended', this.lastT, e.reason);
        break;
    }
  }

  private lastT = 0;
  /** The tick number of the last frame recorded (-1 after a dropped one). */
  private lastTick = -1;

  private onFrame(f: Frame): void {
    if (this.closed || !this.writer) return;
    // A frame built for the view before ours (in flight when the recorder set RECORD_VIEW: no
    // window) holds no page states, though the space fits: not this recording's tick. Before the
    // first tick it is left out (the recording starts with our view); after, it counts as dropped.
    if (f.window === null && f.totalPages <= MAX_RECORD_PAGES) {
      if (this.ticks > 0) this.dropped++;
      return;
    }
    const t0 = performance.now();
    const ok = this.writer.tick(f, this.session.skippedTicks);
    const cost = performance.now() - t0;
    this.lastT = f.counters.t;
    this.lastTick = ok ? f.counters.tick : -1;
    if (!ok) {
      this.dropped++;
      return;
    }
    this.ticks++;
    this.costMs += cost;
    this.opts.onTick?.(f, cost);
  }

  /** Stops listening and closes the file with an END record saying why. Idempotent. */
  stop(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const off of this.off) off();
    this.writer?.close(reason);
  }
}
