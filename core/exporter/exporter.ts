/**
 * The exporter's engine: keeps one Session (core/session, the same sessions the UI and `record`
 * run) on every process its target specs match, and keeps what the metrics report of each.
 *
 * Strategy:
 * - A rescan (every `rescanMs`, and at once on reload) matches the specs against /proc
 *   (targets.ts). A matched process without a session gets one: Session.attach, the overhead
 *   bound (setMaxOverhead, before anything is watched, so the first watch starts sampled), then
 *   a write watch of its writable mappings, followed as they appear (as `record --writable`
 *   does). A process no spec matches any more is detached; one that exits ends its session by
 *   itself. A restarted service is a new pid (or a new start time on the same pid): the next
 *   rescan attaches to it. The processes are keyed by pid and start time, never pid alone.
 * - A refused attach is counted by reason and that process is not tried again for RETRY_MS (a
 *   seccomp filter or a ptrace policy does not change by the second); a refused write watch
 *   leaves the page-state metrics running and counts the reason too.
 * - Each session's frames are one more consumer of the tick stream: the page counts of the
 *   newest tick and a trailing minute of written pages (window.ts). Nothing is computed per
 *   scrape but the windows' unions.
 * - close() detaches everything: each session closes its watcher (the target keeps no trace)
 *   and its worker.
 */
import { PagescopeError, userMessage } from '../kernel/errors.ts';
import { PageBit, HISTOGRAM_WIDTH } from '../protocol/page-bits.ts';
import type { Frame } from '../protocol/frame.ts';
import type { HostEvent, VmaInfo } from '../protocol/messages.ts';
import { processAlive } from '../proc/processes.ts';
import { Session } from '../session/session.ts';
import { isWritableMapping } from '../cli/vma-choice.ts';
import { cgroupOf, matchTargets, procFacts, type ProcFacts, type TargetSpec } from './targets.ts';
import { FINE_UNIT_PAGES, pageSampled, sampledPagesOfAll } from '../watch/sampling.ts';
import { toAbsolute, vmaLabel, WriteWindow, type SampleModel } from './window.ts';

/** A process whose attach was refused is tried again after this long (if it still matches). */
export const RETRY_MS = 60_000;

export interface ExporterOptions {
  specs: TargetSpec[];
  /** ms between a session's ticks (the overhead bound may lengthen it). */
  intervalMs: number;
  /** Keep each target's estimated overhead under this percent (null: exact watching). */
  maxOverheadPct: number | null;
  /** ms between two looks for new matching processes. */
  rescanMs: number;
  /** At most this many processes at once (attaches beyond it wait and are said once). */
  maxProcesses: number;
  /** One line for the log (stderr). */
  log: (line: string) => void;
}

/** The newest tick's page counts of a process. */
export interface PageCounts {
  present: number;
  swapped: number;
  file: number;
  huge: number;
  watched: number;
  /** The last watching tick's figures; -1 before one. */
  estOverheadPct: number;
  sampleFraction: number;
  intervalMs: number;
}

/** One watched process. */
export class Watched {
  session: Session | null = null;
  /** A write watch is armed (false: page states only, or not yet). */
  watching = false;
  counts: PageCounts | null = null;
  readonly window = new WriteWindow();
  /** ms (session clock) of the last frame: the next frame's writes cover the time since. */
  lastT: number | null = null;
  closing = false;
  constructor(
    readonly key: string,
    readonly pid: number,
    public comm: string,
    readonly cgroup: string,
    public target: string,
  ) {}

  /** The watcher's sampling over this process's watched mappings (for the windows). */
  sampleModel(): SampleModel {
    const vmas = (this.session?.vmas ?? []).filter(
      (v) => v.watched === 'yes' || v.watched === 'partial',
    );
    const G = FINE_UNIT_PAGES;
    return {
      blockPages: G,
      inSample: (g, fraction) => pageSampled(g * G, fraction),
      pages: (...fractions) => {
        let watched = 0;
        for (const v of vmas) watched += v.endPage - v.startPage;
        return { watched, sampled: sampledPagesOfAll(vmas, fractions) };
      },
    };
  }
}

const keyOf = (p: ProcFacts): string => `${p.pid}@${p.startTime}`;

/** Sum of one page bit over an overview histogram's buckets: an exact page count. */
function bitTotal(histogram: Uint32Array, bit: number): number {
  const b = Math.log2(bit);
  let n = 0;
  for (let i = b; i < histogram.length; i += HISTOGRAM_WIDTH) n += histogram[i];
  return n;
}

export class Exporter {
  private specs: TargetSpec[];
  readonly procs = new Map<string, Watched>();
  /** Attaches that succeeded, by target spec. */
  readonly attaches = new Map<string, number>();
  /** Refused attaches and watches, by target spec and reason (an error code). */
  readonly attachErrors = new Map<string, Map<string, number>>();
  private readonly refusedAt = new Map<string, number>();
  private sessionIds = 0;
  private timer: NodeJS.Timeout | null = null;
  private scanning: Promise<void> | null = null;
  private stopped = false;
  private saidFull = false;

  constructor(private readonly opts: ExporterOptions) {
    this.specs = opts.specs;
  }

  get targets(): readonly TargetSpec[] {
    return this.specs;
  }

  /** Starts the rescans (the first at once); resolves when the first has attached what it found. */
  async start(): Promise<void> {
    await this.rescan();
    if (this.stopped) return;
    this.timer = setInterval(() => void this.rescan(), this.opts.rescanMs);
  }

  /** New target specs (a SIGHUP reload): processes no spec matches any more are detached. */
  async setTargets(specs: TargetSpec[]): Promise<void> {
    this.specs = specs;
    await this.rescan();
  }

  /** Attached processes of a target spec now. */
  attachedCount(target: string): number {
    let n = 0;
    for (const w of this.procs.values()) if (w.target === target && w.session) n++;
    return n;
  }

  /** One look at /proc: attach to what newly matches, detach what no longer does. */
  rescan(): Promise<void> {
    if (this.scanning) return this.scanning;
    this.scanning = this.doRescan().finally(() => (this.scanning = null));
    return this.scanning;
  }

  private async doRescan(): Promise<void> {
    if (this.stopped) return;
    let matched: Map<string, ProcFacts[]>;
    try {
      matched = matchTargets(this.specs);
    } catch (err) {
      this.opts.log(`could not list processes: ${userMessage(err)}`);
      return;
    }
    // A process matched by several specs is reported under the first.
    const want = new Map<string, { p: ProcFacts; target: string }>();
    for (const s of this.specs)
      for (const p of matched.get(s.text) ?? [])
        if (!want.has(keyOf(p))) want.set(keyOf(p), { p, target: s.text });
    for (const [key, w] of this.procs) {
      const m = want.get(key);
      if (!m)
        void this.detach(w, processAlive(w.pid) ? 'no target matches it any more' : 'it exited');
      // Still matched, by another spec after a reload: relabelled, not attached again.
      else w.target = m.target;
    }
    const now = Date.now();
    const fresh: Array<{ p: ProcFacts; target: string }> = [];
    for (const [key, m] of want) {
      if (this.procs.has(key)) continue;
      const refused = this.refusedAt.get(key);
      if (refused !== undefined && now - refused < RETRY_MS) continue;
      fresh.push(m);
    }
    for (const key of this.refusedAt.keys()) if (!want.has(key)) this.refusedAt.delete(key);
    const room = Math.max(0, this.opts.maxProcesses - this.procs.size);
    if (fresh.length > room && !this.saidFull) {
      this.saidFull = true;
      this.opts.log(
        `${fresh.length - room} matching processes are not watched: --max-processes ${this.opts.maxProcesses} reached.`,
      );
    }
    await Promise.all(fresh.slice(0, room).map((m) => this.attach(m.p, m.target)));
  }

  private countError(target: string, reason: string): void {
    let m = this.attachErrors.get(target);
    if (!m) this.attachErrors.set(target, (m = new Map()));
    m.set(reason, (m.get(reason) ?? 0) + 1);
  }

  private async attach(p: ProcFacts, target: string): Promise<void> {
    const key = keyOf(p);
    const w = new Watched(key, p.pid, p.comm, cgroupOf(p.pid), target);
    this.procs.set(key, w);
    let session: Session;
    try {
      session = await Session.attach(p.pid, {
        sessionId: ++this.sessionIds,
        intervalMs: this.opts.intervalMs,
        // The metrics need the totals only: a small overview, no window, a small history.
        view: { buckets: 16 },
        historyBytes: 64 * 1024,
      });
    } catch (err) {
      this.procs.delete(key);
      const reason = err instanceof PagescopeError ? err.code : 'error';
      if (reason !== 'no-process' && reason !== 'exited') {
        this.countError(target, reason);
        this.refusedAt.set(key, Date.now());
        this.opts.log(
          `cannot attach to process ${p.pid} (${p.comm}) for ${target}: ${userMessage(err)}`,
        );
      }
      return;
    }
    if (this.stopped || this.procs.get(key) !== w || w.closing) {
      await session.close();
      return;
    }
    w.session = session;
    this.attaches.set(target, (this.attaches.get(target) ?? 0) + 1);
    this.opts.log(`attached to process ${p.pid} (${p.comm}) for ${target}.`);
    session.onFrame((f) => this.onFrame(w, f));
    session.onEvent((e: HostEvent) => {
      if (e.event === 'sessionEnded') {
        if (this.procs.get(key) === w) this.procs.delete(key);
        if (!w.closing) this.opts.log(`process ${p.pid} (${p.comm}): ${e.reason}`);
      } else if (e.event === 'vmas') {
        // A new table may be a new program (exec): its name is the label from now on.
        w.comm = procFacts(p.pid)?.comm ?? w.comm;
        this.follow(w, e.vmas);
      }
    });
    if (this.opts.maxOverheadPct !== null) session.setMaxOverhead(this.opts.maxOverheadPct);
    this.follow(w, session.vmas);
  }

  /** Watch writes in the writable mappings not watched yet (one watch call at a time). */
  private readonly following = new Map<
    Watched,
    { busy: boolean; again: boolean; tried: Set<string>; failed: boolean }
  >();
  private follow(w: Watched, vmas: VmaInfo[]): void {
    const s = w.session;
    if (!s || w.closing || !vmas.length) return;
    let f = this.following.get(w);
    if (!f)
      this.following.set(w, (f = { busy: false, again: false, tried: new Set(), failed: false }));
    if (f.busy) {
      f.again = true;
      return;
    }
    const key = (v: VmaInfo): string => `${v.start}-${v.end} ${v.perms} ${v.path}`;
    const fresh = vmas.filter(
      (v) =>
        isWritableMapping(v) &&
        (v.watched === 'no' || v.watched === 'partial') &&
        !f.tried.has(key(v)),
    );
    if (!fresh.length) return;
    for (const v of fresh) f.tried.add(key(v));
    f.busy = true;
    const state = f;
    s.watch(
      fresh.map((v) => ({ start: v.start, end: v.end })),
      [],
    )
      .then((r) => {
        const asked = new Set(fresh.map(key));
        const mine = r.vmas.filter((v) => asked.has(key(v)));
        if (mine.some((v) => v.watched === 'yes' || v.watched === 'partial')) w.watching = true;
        else if (!w.watching && !state.failed && mine.some((v) => v.watched === 'refused')) {
          // Every mapping asked for was refused (another watcher holds them, a policy): said
          // and counted once, as a refused watch.
          state.failed = true;
          this.countError(w.target, 'watch-refused');
          const note = mine.find((v) => v.watchNote)?.watchNote ?? 'refused';
          this.opts.log(
            `process ${w.pid} (${w.comm}): writes not watched (${note}); page states only.`,
          );
        }
      })
      .catch((err: unknown) => {
        if (w.closing || s.isClosed || state.failed) return;
        // Said and counted once per process: later VMAs of a refused process are refused alike.
        state.failed = true;
        const reason = err instanceof Error && 'code' in err ? String(err.code) : 'error';
        this.countError(w.target, reason);
        this.opts.log(
          `process ${w.pid} (${w.comm}): writes not watched (${userMessage(err)}); page states only.`,
        );
      })
      .finally(() => {
        state.busy = false;
        if (state.again) {
          state.again = false;
          this.follow(w, s.vmas);
        }
      });
  }

  private onFrame(w: Watched, f: Frame): void {
    const c = f.counters;
    const h = f.overview.histogram;
    w.counts = {
      present: c.present,
      swapped: c.swapped,
      file: bitTotal(h, PageBit.FILE),
      huge: bitTotal(h, PageBit.HUGE),
      watched: c.watched,
      // The watch's figures are those of the last tick that watched something.
      estOverheadPct: c.watched > 0 ? c.estOverheadPct : (w.counts?.estOverheadPct ?? -1),
      sampleFraction: c.watched > 0 ? c.sampleFraction : (w.counts?.sampleFraction ?? -1),
      intervalMs: c.intervalMs,
    };
    const coverMs = w.lastT === null ? c.intervalMs : c.t - w.lastT;
    w.lastT = c.t;
    if (c.watched <= 0 || !w.session) {
      // Nothing watched any more (the process executed a new program, which ends a watch):
      // no write figures until the new program's mappings are watched (follow(), on its maps).
      w.watching = false;
      return;
    }
    w.watching = true;
    const vmas = w.session.vmas;
    const fraction = c.sampleFraction > 0 ? c.sampleFraction : 1;
    const byVma = new Map<string, number>();
    for (let i = 0; i < vmas.length; i++) {
      const n = f.vmaCounts[3 * i + 2];
      if (n) {
        const name = vmaLabel(vmas[i]);
        byVma.set(name, (byVma.get(name) ?? 0) + n / fraction);
      }
    }
    w.window.push({
      t: c.t,
      coverMs,
      written: toAbsolute(f.written, vmas),
      writtenEst: c.writtenEst,
      errPages: c.writtenErr,
      fraction,
      byVma,
    });
  }

  private async detach(w: Watched, why: string): Promise<void> {
    if (w.closing) return;
    w.closing = true;
    if (this.procs.get(w.key) === w) this.procs.delete(w.key);
    this.following.delete(w);
    if (w.session) {
      if (!this.stopped) this.opts.log(`detaching from process ${w.pid} (${w.comm}): ${why}.`);
      await w.session.close();
    }
  }

  /** Stops rescanning and detaches from every process (each target keeps no trace). */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    // An attach under way finds `stopped` when it returns and closes its own session.
    await this.scanning?.catch(() => {});
    await Promise.all([...this.procs.values()].map((w) => this.detach(w, 'stopping')));
  }
}
