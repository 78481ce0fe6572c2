/**
 * The host service: the one implementation of the protocol, used by both hosts (Electron main
 * and `pagescope serve`). A host makes one HostConnection per UI (a window, a WebSocket), feeds
 * it every message the UI sends, and sends back the Response it returns. Frames and events go
 * to the connection's sink.
 *
 * Every message is validated (protocol/schemas.ts) before it reaches the engine; anything
 * malformed gets `{ ok: false, error: { code: 'bad-request' } }`, as does a request naming a
 * session this connection does not own. `handle` never throws. Sessions belong to their
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
import { parseRequest } from '../protocol/schemas.ts';
import { errorInfo } from '../session/errors.ts';
import { Session, type SessionOptions } from '../session/session.ts';

export interface ClientSink {
  frame(frame: Frame): void;
  event(event: HostEvent): void;
}

export interface HostServiceOptions {
  /** Passed to every session (worker module, history budget...). */
  session?: Omit<SessionOptions, 'sessionId' | 'force'>;
  maxSessionsPerConnection?: number;
}

export class HostService {
  private nextSessionId = 1;
  private readonly connections = new Set<HostConnection>();

  constructor(readonly options: HostServiceOptions = {}) {}

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

  /** Detaches every session of every connection (quitting). */
  async closeAll(): Promise<void> {
    await Promise.all([...this.connections].map((c) => c.close()));
  }
}

type Handler<M extends Method> = (params: Params<M>) => Promise<unknown> | unknown;

export class HostConnection {
  private readonly sessions = new Map<number, Session>();
  private closed = false;

  constructor(
    private readonly service: HostService,
    private readonly sink: ClientSink,
  ) {}

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

  private session(sessionId: number): Session {
    const s = this.sessions.get(sessionId);
    if (!s || s.isClosed)
      throw new PagescopeError(
        `There is no session ${sessionId} on this connection (it may have ended).`,
        'bad-request',
      );
    return s;
  }

  private readonly handlers: { [M in Method]: Handler<M> } = {
    hello: (p) => {
      if (p.version !== PROTOCOL_VERSION)
        throw new PagescopeError(
          `This host speaks protocol version ${PROTOCOL_VERSION}, not ${p.version}: reload the page.`,
          'version',
        );
      const caps = probeCapabilities();
      return {
        version: PROTOCOL_VERSION,
        capabilities: { ...caps },
        warnings: capabilityWarnings(caps),
      };
    },
    listProcesses: () => ({
      processes: listProcesses().map((p) => ({
        pid: p.pid,
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
    launch: (p) => this.adopt(() => Session.launch(p.command, this.sessionOptions())),
    launchDemo: () => this.adopt(() => Session.launchDemo(this.sessionOptions())),
    detach: async (p) => {
      const s = this.session(p.sessionId);
      this.sessions.delete(p.sessionId);
      await s.close();
      this.sink.event({ event: 'sessionEnded', sessionId: p.sessionId, reason: 'Detached.' });
      return {};
    },
    setView: (p) => {
      this.session(p.sessionId).setView({ buckets: p.buckets, window: p.window });
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
  };

  private dispatch(req: Request): Promise<unknown> | unknown {
    const h = this.handlers[req.method] as Handler<Method>;
    return h(req.params);
  }

  private sessionOptions(force?: boolean): SessionOptions {
    return {
      ...this.service.options.session,
      sessionId: this.service.allocateSessionId(),
      force: force ?? false,
    };
  }

  private async adopt(start: () => Promise<Session>): Promise<unknown> {
    const max = this.service.options.maxSessionsPerConnection ?? 8;
    if (this.sessions.size >= max)
      throw new PagescopeError(
        `At most ${max} sessions can be open at once: detach one first.`,
        'too-many-sessions',
      );
    const s = await start();
    if (this.closed) {
      await s.close();
      throw new PagescopeError('This connection is closed.', 'closed');
    }
    this.sessions.set(s.sessionId, s);
    s.onFrame((f) => this.sink.frame(f));
    s.onEvent((e) => {
      if (e.event === 'sessionEnded') this.sessions.delete(s.sessionId);
      this.sink.event(e);
    });
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

  /** The UI went away: detach every session (watchers closed, launched children killed). */
  async close(): Promise<void> {
    this.closed = true;
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.close()));
    this.service.forget(this);
  }
}
