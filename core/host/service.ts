/**
 * The host service: the one implementation of the protocol, used by both hosts (Electron main
 * and `pagescope serve`). A host makes one HostConnection per UI (a window, a WebSocket), feeds
 * it every message the UI sends, and sends back the Response it returns. Frames and events go
 * to the connection's sink.
 *
 * Every message is validated (protocol/schemas.ts) before it reaches the engine; anything
 * malformed gets `{ ok: false, error: { code: 'bad-request' } }`, and a request naming a session
 * this connection does not own (or no longer has) 'unknown-session'. Every error code is one of
 * protocol/errors.ts's. `handle` never throws. Sessions belong to their
 * connection: when the UI goes away (`close()`), each is detached and launched children die.
 */
import { capabilityWarnings, probeCapabilities } from '../kernel/capabilities.ts';
import { PagescopeError } from '../kernel/errors.ts';
import { listProcesses } from '../proc/processes.ts';
import { checkTarget } from '../proc/target-check.ts';
import type { Frame } from '../protocol/frame.ts';
import {
  PROTOCOL_VERSION,
  type HostEvent,
  type Method,
  type Params,
  type Request,
  type Response,
} from '../protocol/messages.ts';
import { recordingMethods } from '../protocol/recording.ts';
import { parseRequest } from '../protocol/schemas.ts';
import { errorInfo } from '../session/errors.ts';
import { Session, type SessionOptions } from '../session/session.ts';
import { hostGroupSpec, hostListCgroups, hostScanGroup } from './group-host.ts';
import { HostGroupWatch } from './group-watch-host.ts';
import { RecordingDesk, type HostedSession, type RecordingHostOptions } from './recording-desk.ts';
import { UploadBudget, uploadQuotaFromEnv } from './uploads.ts';
import { whoTickInfo } from './who-event.ts';

export interface ClientSink {
  frame(frame: Frame): void;
  event(event: HostEvent): void;
}

/** Sessions one connection (a window, a socket) may hold, counting those still starting. */
export const DEFAULT_MAX_SESSIONS_PER_CONNECTION = 8;
/**
 * Sessions the whole host may hold. Each is a worker thread (plus the target's sampling buffers)
 * and a history ring of up to DEFAULT_HISTORY_BYTES (64 MiB), so this bounds threads and memory.
 */
export const DEFAULT_MAX_SESSIONS = 16;

export interface HostServiceOptions {
  /** Passed to every session (worker module, history budget...). */
  session?: Omit<SessionOptions, 'sessionId' | 'force'>;
  maxSessionsPerConnection?: number;
  maxSessions?: number;
  /**
   * Whether `launch` (run any command as this user) is allowed; false makes it fail with
   * 'launch-disabled' and `launchDisabledReason`, which hello also reports to the UI.
   */
  allowLaunch?: boolean;
  launchDisabledReason?: string;
  /** Recording and replay (recording-desk.ts): served file, dialogs, recordings folder. */
  recordings?: RecordingHostOptions;
}

export class HostService {
  private nextSessionId = 1;
  private readonly connections = new Set<HostConnection>();
  /** Sessions open or starting, host-wide; reserved before any await (see HostConnection.adopt). */
  private slots = 0;
  /** Bytes of uploads on disk, host-wide (uploads.ts). */
  readonly uploads: UploadBudget;

  constructor(readonly options: HostServiceOptions = {}) {
    this.uploads = new UploadBudget(options.recordings?.uploadQuotaBytes ?? uploadQuotaFromEnv());
  }

  connect(sink: ClientSink): HostConnection {
    const c = new HostConnection(this, sink);
    this.connections.add(c);
    return c;
  }

  /** @internal */
  allocateSessionId(): number {
    return this.nextSessionId++;
  }

  /** @internal */
  forget(c: HostConnection): void {
    this.connections.delete(c);
  }

  get sessionCount(): number {
    let n = 0;
    for (const c of this.connections) n += c.sessionCount;
    return n;
  }

  /** Sessions open or still starting, host-wide. */
  get reservedSessions(): number {
    return this.slots;
  }

  /** @internal Takes a host-wide session slot, or says why not. Synchronous: no await between check and take. */
  reserveSlot(): void {
    const max = this.options.maxSessions ?? DEFAULT_MAX_SESSIONS;
    if (this.slots >= max)
      throw new PagescopeError(
        `This pagescope host already has ${max} sessions open (its limit): detach one, in this window or another.`,
        'too-many-sessions',
      );
    this.slots++;
  }

  /** @internal */
  releaseSlot(): void {
    this.slots = Math.max(0, this.slots - 1);
  }

  /** Detaches every session of every connection (quitting). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.connections].map((c) => c.close()));
  }
}

type Handler<M extends Method> = (params: Params<M>) => Promise<unknown> | unknown;
type AnyHandler = (params: never) => Promise<unknown> | unknown;

export class HostConnection {
  private readonly sessions = new Map<number, HostedSession>();
  /** Gives a session's host-wide slot back, once. */
  private readonly slotReleasers = new Map<number, () => void>();
  /** Attaches and launches under way: they count against the caps before they finish. */
  private starting = 0;
  private closed = false;
  /** The scanGroup under way, to end when a newer one comes or the connection closes. */
  private groupScan: AbortController | null = null;
  /** The group write watch of this connection (one at a time), or the one starting. */
  private groupWatch: HostGroupWatch | null = null;
  private groupWatchStarting = 0;
  private readonly desk: RecordingDesk;

  constructor(
    private readonly service: HostService,
    private readonly sink: ClientSink,
  ) {
    this.desk = new RecordingDesk({
      options: service.options.recordings ?? {},
      allocateSessionId: () => service.allocateSessionId(),
      adopt: (start) => this.adopt(start),
      session: (id) => this.session(id),
      uploads: service.uploads,
    });
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Answers one message from the UI. Never throws, whatever `raw` is. */
  async handle(raw: unknown): Promise<Response> {
    const parsed = parseRequest(raw);
    if (!parsed.ok)
      return { id: parsed.id, ok: false, error: { code: 'bad-request', message: parsed.message } };
    const req = parsed.request;
    try {
      if (this.closed) throw new PagescopeError('This connection is closed.', 'closed');
      const result = await this.dispatch(req);
      return { id: req.id, ok: true, result } as Response;
    } catch (err) {
      return { id: req.id, ok: false, error: errorInfo(err) };
    }
  }

  private session(sessionId: number): HostedSession {
    const s = this.sessions.get(sessionId);
    if (!s || s.isClosed)
      throw new PagescopeError(
        `There is no session ${sessionId} on this connection (it may have ended).`,
        'unknown-session',
      );
    return s;
  }

  private readonly handlers: { [M in Method]: Handler<M> } = {
    ...(this.recordingHandlers() as unknown as {
      [M in keyof RecordingDesk['handlers']]: Handler<M>;
    }),
    hello: (p) => {
      if (p.version !== PROTOCOL_VERSION)
        throw new PagescopeError(
          `This host speaks protocol version ${PROTOCOL_VERSION}, not ${p.version}: reload the page.`,
          'version',
        );
      const caps = probeCapabilities();
      const launchAllowed = this.service.options.allowLaunch !== false;
      return {
        version: PROTOCOL_VERSION,
        capabilities: { ...caps },
        warnings: capabilityWarnings(caps),
        launch: launchAllowed
          ? { enabled: true }
          : { enabled: false, reason: this.launchDisabledReason() },
      };
    },
    listProcesses: () => ({
      processes: listProcesses().map((p) => ({
        pid: p.pid,
        ppid: p.ppid,
        name: p.name,
        cmdline: p.cmdline,
        user: p.user,
        uid: p.uid,
        rssKiB: p.rssKiB,
        state: p.state,
      })),
    }),
    attach: (p) =>
      this.adopt(() => {
        // Gone, zombie, kernel thread, or a thread of this very host: say so in words.
        checkTarget(p.pid, { watch: true });
        return Session.attach(p.pid, this.sessionOptions(p.force));
      }),
    launch: (p) => {
      if (this.service.options.allowLaunch === false)
        throw new PagescopeError(this.launchDisabledReason(), 'launch-disabled');
      return this.adopt(() => Session.launch(p.command, this.sessionOptions()));
    },
    launchDemo: () => this.adopt(() => Session.launchDemo(this.sessionOptions())),
    detach: async (p) => {
      const s = this.session(p.sessionId);
      // The slot is given back once the worker is gone, not before: it bounds threads.
      await this.forgetSession(p.sessionId, () => s.close());
      this.sink.event({ event: 'sessionEnded', sessionId: p.sessionId, reason: 'Detached.' });
      return {};
    },
    setView: (p) => {
      const s = this.session(p.sessionId);
      const view = { buckets: p.buckets, window: p.window };
      if (!this.desk.setView(p.sessionId, view)) s.setView(view);
      return {};
    },
    setMaxOverhead: (p) => {
      this.session(p.sessionId).setMaxOverhead(p.maxOverheadPct);
      return {};
    },
    setInterval: (p) => {
      this.session(p.sessionId).setInterval(p.intervalMs);
      return {};
    },
    pause: (p) => {
      this.session(p.sessionId).pause();
      return {};
    },
    resume: (p) => {
      this.session(p.sessionId).resume();
      return {};
    },
    watch: (p) => this.session(p.sessionId).watch(p.ranges ?? [], p.vmaIndices ?? []),
    unwatch: async (p) => {
      await this.session(p.sessionId).unwatch();
      return {};
    },
    resetWritten: async (p) => {
      await this.session(p.sessionId).resetWritten();
      return {};
    },
    getHistory: (p) => this.session(p.sessionId).getHistory(),
    setWho: (p) => {
      const s = this.session(p.sessionId);
      if (!(s instanceof Session))
        throw new PagescopeError(
          'This is a recording: its writers are those it recorded (record --who), shown as it plays.',
          'unsupported',
        );
      return s.setWho(p.period);
    },
    listCgroups: () => ({ cgroups: hostListCgroups() }),
    scanGroup: async (p) => {
      // One at a time per connection: each scan is a thread reading many page tables, and the
      // UI wants the group it shows now. A newer scan ends the older's thread.
      this.groupScan?.abort('a newer group scan replaced it');
      const mine = new AbortController();
      this.groupScan = mine;
      try {
        return await hostScanGroup(p.group, mine.signal);
      } finally {
        if (this.groupScan === mine) this.groupScan = null;
      }
    },
    watchGroup: (p) => this.startGroupWatch(p),
    stopGroupWatch: async (p) => {
      const w = this.groupWatch;
      if (!w || w.watchId !== p.watchId)
        throw new PagescopeError(
          `There is no group watch ${p.watchId} on this connection (it may have ended).`,
          'unknown-session',
        );
      this.groupWatch = null;
      await w.stop();
      return {};
    },
  };

  /**
   * Starts this connection's group watch (group-watch-host.ts), stopping its earlier one first.
   * Ticks and the end go to the sink as groupTick and groupWatchEnded events; the watch counts as a
   * session against the host-wide cap. A start overtaken
   * by a newer one, or by the connection closing, is stopped and answered 'cancelled'.
   */
  private async startGroupWatch(p: Params<'watchGroup'>): Promise<unknown> {
    const spec = hostGroupSpec(p.group);
    const watchId = this.service.allocateSessionId();
    const mine = ++this.groupWatchStarting;
    const old = this.groupWatch;
    this.groupWatch = null;
    await old?.stop();
    // A watch holds a thread and every member's watcher: it takes a host-wide session slot,
    // given back when its thread has gone (whatever ended it).
    this.service.reserveSlot();
    const { watch, start } = await HostGroupWatch.start(
      spec,
      { watchId, intervalMs: p.intervalMs, onGone: () => this.service.releaseSlot() },
      {
        tick: (tick) => this.sink.event({ event: 'groupTick', watchId, tick }),
        ended: (reason) => {
          if (this.groupWatch?.watchId === watchId) this.groupWatch = null;
          this.sink.event({ event: 'groupWatchEnded', watchId, reason });
        },
      },
    );
    if (this.closed || mine !== this.groupWatchStarting) {
      await watch.stop();
      throw new PagescopeError(
        this.closed ? 'This connection is closed.' : 'A newer group watch replaced this one.',
        this.closed ? 'closed' : 'cancelled',
      );
    }
    this.groupWatch = watch;
    return start;
  }

  /** The desk's handlers, looked up when called (the desk is made in the constructor). */
  private recordingHandlers(): Record<string, AnyHandler> {
    const out: Record<string, AnyHandler> = {};
    for (const m of Object.keys(recordingMethods) as Array<keyof RecordingDesk['handlers']>)
      out[m] = (p: never) => (this.desk.handlers[m] as (p: unknown) => unknown)(p);
    return out;
  }

  private dispatch(req: Request): Promise<unknown> | unknown {
    const h = this.handlers[req.method] as Handler<Method>;
    return h(req.params);
  }

  private launchDisabledReason(): string {
    return (
      this.service.options.launchDisabledReason ?? 'This host does not allow launching commands.'
    );
  }

  private sessionOptions(force?: boolean): SessionOptions {
    return {
      ...this.service.options.session,
      sessionId: this.service.allocateSessionId(),
      force: force ?? false,
    };
  }

  /**
   * Starts a session under both caps. The slots (this connection's and the host's) are taken
   * synchronously, before the first await, and given back when the start fails: checking the
   * count and only then awaiting the start would let any number of concurrent requests pass.
   */
  private async adopt(start: () => Promise<HostedSession>): Promise<unknown> {
    const max =
      this.service.options.maxSessionsPerConnection ?? DEFAULT_MAX_SESSIONS_PER_CONNECTION;
    if (this.sessions.size + this.starting >= max)
      throw new PagescopeError(
        `At most ${max} sessions can be open at once in one window: detach one first.`,
        'too-many-sessions',
      );
    this.service.reserveSlot();
    this.starting++;
    let s: HostedSession;
    try {
      s = await start();
    } catch (err) {
      this.service.releaseSlot();
      throw err;
    } finally {
      this.starting--;
    }
    if (this.closed) {
      try {
        await s.close();
      } finally {
        this.service.releaseSlot();
      }
      throw new PagescopeError('This connection is closed.', 'closed');
    }
    this.slotReleasers.set(s.sessionId, () => this.service.releaseSlot());
    this.sessions.set(s.sessionId, s);
    s.onFrame((f) => this.sink.frame(this.desk.shape(s.sessionId, f)));
    s.onEvent((e) => {
      if (e.event === 'sessionEnded') void this.forgetSession(s.sessionId);
      this.sink.event(e);
    });
    if (s instanceof Session)
      s.onWho((tick, who) =>
        this.sink.event({ event: 'who', sessionId: s.sessionId, tick, who: whoTickInfo(who) }),
      );
    // The first 'vmas' event was posted before anyone listened: replay it.
    if (s.vmas.length)
      this.sink.event({
        event: 'vmas',
        sessionId: s.sessionId,
        vmas: s.vmas,
        totalPages: s.totalPages,
      });
    return s.info;
  }

  /** Drops a session from this connection; its host-wide slot is released after `closing`. */
  private async forgetSession(sessionId: number, closing?: () => Promise<void>): Promise<void> {
    this.desk.sessionGone(sessionId);
    this.sessions.delete(sessionId);
    const release = this.slotReleasers.get(sessionId);
    this.slotReleasers.delete(sessionId);
    try {
      await closing?.();
    } finally {
      release?.();
    }
  }

  /** The UI went away: detach every session (watchers closed, launched children killed). */
  async close(): Promise<void> {
    this.closed = true;
    this.groupScan?.abort('the window closed');
    this.desk.closeAll();
    const watch = this.groupWatch;
    this.groupWatch = null;
    this.groupWatchStarting++; // a start under way is stopped when it answers
    const all = [...this.sessions.values()];
    await Promise.all([
      watch?.stop(),
      ...all.map((s) => this.forgetSession(s.sessionId, () => s.close())),
    ]);
    this.service.forget(this);
  }
}
