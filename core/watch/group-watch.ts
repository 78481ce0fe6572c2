/**
 * A write watch over a group of processes (a tree, a cgroup, a list of pids): one watch per
 * member, the members followed as they start, exec and exit, and each tick's writes told per
 * member and per shared object (group-writes.ts).
 *
 * Strategy: the group is re-read from /proc at every tick (core/proc/group.ts GroupReader, a
 * diff of joined, exec'd and left members). Each member gets its own WatchDriver (driver.ts: the
 * same watcher, selection following and overhead budget as a single watch) attached through the
 * attach helper; nothing is ticked on the drivers' own grids: the group runs one grid and calls
 * every driver's collect() in turn; the maps each driver read for the tick (to follow its
 * selection; one read of /proc/PID/maps per member) place its written regions in shared
 * objects. A member that joins is attached at the tick that sees it and counts from then on (what it wrote between its fork and that tick is not seen); one that
 * exec'd is attached again (its old watch ended with its old memory); one that left is closed.
 * A member that cannot be attached (it exited meanwhile, a kernel thread, not ours) is listed as
 * failed with the one-sentence reason and not retried until it execs. pagescope itself is never
 * a member (its attach helpers run to completion inside an attach, so no reading sees them).
 * The members a reading finds new are attached together, through ONE attach helper run (a
 * helper's start is most of an attach's time on a loaded machine: postgres's 8 members took 8
 * starts), then armed one by one.
 * The cost: with --max-overhead PCT each member's driver keeps ITS estimated write-fault cost
 * under PCT of ITS OWN CPU time; the group's cost (the members' fault costs over the members'
 * CPU time) is then under PCT too, since a sum of costs each under PCT of its CPU time is under
 * PCT of the summed CPU time. The group's figure is stated per tick (estOverheadPct, weighted by
 * each member's CPU time). The grid runs at the longest interval any member's budget asks for.
 * The machine's busy CPU time, of which each member's estimate takes its target's share
 * (overhead.ts competingOwnMs), is read once per tick for all the members (SharedMachineReading),
 * and once more at each member's arm: a member counts from its own arm, as a single watch does.
 * Everything runs on one thread (the ptrace rule, watcher.ts).
 */
import { PagescopeError } from '../kernel/errors.ts';
import type { Vma } from '../proc/maps.ts';
import { GroupReader, type GroupSpec, type Member } from '../proc/group.ts';
import type { PageRange } from '../scan/scanner.ts';
import { WatchDriver, type WatchFigures } from './driver.ts';
import { groupWrites, type GroupWrites, type MemberWrites } from './group-writes.ts';
import { SharedMachineReading } from './overhead.ts';
import { Ticker, type TickTiming } from './ticker.ts';
import { WriteWatcher, type VmaWatchState } from './watcher.ts';

export interface GroupWatchOptions {
  spec: GroupSpec;
  /** What to watch in each member, as a function of its maps (followed every tick). */
  select: (vmas: Vma[]) => PageRange[];
  intervalMs: number;
  force?: boolean;
  /** Keep the estimated cost under this percent (per member, hence for the group). */
  maxOverheadPct?: number | null;
  /** Called when a member is attached (its armed pieces), for refusal notes. */
  onArmed?: (member: Member, states: VmaWatchState[]) => void;
  /**
   * Called at a tick with the pieces of a member that appeared (watched or refused): new
   * mappings, and refused EBUSY pieces whose retry registered them (registration.ts busyDue).
   */
  onAppeared?: (member: Member, states: VmaWatchState[]) => void;
  /** Where the machine's busy CPU time is read (tests count the reads): /proc/stat by default. */
  readMachineBusyMs?: () => number | null;
}

export interface MemberState {
  member: Member;
  /** Watched pages now (registered pieces). */
  watchedPages: number;
}

export interface MemberTick {
  pid: number;
  name: string;
  writtenPages: number;
  privatePages: number;
  sharedPages: number;
  figures: WatchFigures;
  targetState?: 'running' | 'stopped';
}

export interface GroupTick {
  /** Members watched this tick (their writes are in `writes`). */
  members: MemberTick[];
  writes: GroupWrites;
  /** Changes seen at this tick's reading of the group. */
  joined: Member[];
  execd: Member[];
  left: Member[];
  /** Members that could not be watched, with why (new this tick). */
  failed: Array<{ pid: number; name: string; why: string }>;
  /** Members whose watch ended this tick (exit, exec), with why. */
  ended: Array<{ pid: number; name: string; why: string }>;
  /** Whether every member's count is exact (no member sampling). */
  exact: boolean;
  /**
   * The group's ESTIMATED share of its members' CPU time spent on write faults, percent:
   * each member's estimate weighted by its CPU time this tick; -1 when unknown.
   */
  estOverheadPct: number;
  /** The members' CPU time this tick, ms (-1 when none was known). */
  groupCpuMs: number;
  /** How long reading the group and attaching new members took this tick, ms. */
  membershipMs: number;
}

interface Watched {
  member: Member;
  driver: WatchDriver;
}

const memberKey = (m: Member): string => `${m.pid}@${m.startTime}`;

export class GroupWatch {
  readonly reader: GroupReader;
  private readonly watched = new Map<string, Watched>();
  /** Members that could not be attached: not retried until they exec. */
  private readonly failedKeys = new Map<string, string>();
  private readonly ticker: Ticker;
  private onTick: ((t: TickTiming) => void) | null = null;
  private closed = false;
  /**
   * The machine's busy CPU time (each member's estimate takes the target's share of it,
   * overhead.ts competingOwnMs): read once per tick for all the members, not once per member
   * (and once at each member's arm, where its clocks start).
   */
  private readonly machine: SharedMachineReading;

  constructor(private readonly options: GroupWatchOptions) {
    this.reader = new GroupReader(options.spec);
    this.machine = new SharedMachineReading(options.readMachineBusyMs);
    this.ticker = new Ticker((t) => this.onTick?.(t), { intervalMs: options.intervalMs });
  }

  /** "tree of pid 1234", "cgroup …", "pids 1, 2". */
  describe(): string {
    return this.reader.describe();
  }

  /** The members watched now. */
  members(): MemberState[] {
    return [...this.watched.values()].map((w) => ({
      member: w.member,
      watchedPages: w.driver.watchedRanges().reduce((n, r) => n + r.endPage - r.startPage, 0),
    }));
  }

  /** Members that could not be watched, with why. */
  failedMembers(): Array<{ key: string; why: string }> {
    return [...this.failedKeys].map(([key, why]) => ({ key, why }));
  }

  /**
   * Reads the group and attaches every member (the first reading). Throws a PagescopeError
   * when the group has no member that could be watched.
   */
  start(): { failed: GroupTick['failed'] } {
    const failed: GroupTick['failed'] = [];
    const reading = this.reader.read();
    this.joinAll(reading.members, failed);
    if (this.watched.size === 0)
      throw new PagescopeError(
        `No member of the ${this.describe()} could be watched` +
          (failed.length ? ` (${failed[0].pid} ${failed[0].name}: ${failed[0].why})` : '') +
          '.',
        'bad-range',
      );
    return { failed };
  }

  /**
   * Attaches `members` together: one attach helper run for all of them (WriteWatcher.attachMany;
   * one process start instead of one per member, issue 24), then each armed in turn.
   */
  private joinAll(members: Member[], failed: GroupTick['failed']): void {
    // pagescope itself (its attach helpers are gone by now), and those not retried.
    const todo = members.filter((m) => m.pid !== process.pid && !this.failedKeys.has(memberKey(m)));
    if (todo.length === 0) return;
    const watchers = WriteWatcher.attachMany(
      todo.map((m) => m.pid),
      { force: this.options.force },
    );
    todo.forEach((m, i) => {
      const k = memberKey(m);
      const watcher = watchers[i];
      let driver: WatchDriver | null = null;
      try {
        if (watcher instanceof Error) throw watcher;
        driver = new WatchDriver({
          pid: m.pid,
          intervalMs: this.options.intervalMs,
          force: this.options.force,
          watcher,
          select: this.options.select,
          follow: true,
          maxOverheadPct: this.options.maxOverheadPct ?? null,
          readMachineBusyMs: () => this.machine.get(),
        });
        // Its clocks count from its own arm, as a single watch's do: the machine's busy time
        // is read again at this arm (members armed earlier took time the reading must not hold).
        this.machine.expire();
        const states = driver.arm();
        this.watched.set(k, { member: m, driver });
        this.options.onArmed?.(m, states);
      } catch (err) {
        if (driver) driver.close();
        else if (!(watcher instanceof Error)) watcher.close();
        const why = (err as Error).message.replace(/\.$/, '');
        this.failedKeys.set(k, why);
        failed.push({ pid: m.pid, name: m.name, why });
      }
    });
  }

  private drop(k: string): void {
    this.watched.get(k)?.driver.close();
    this.watched.delete(k);
  }

  /** The grid's interval now: the longest any member's budget asks for. */
  get gridIntervalMs(): number {
    let ms = this.options.intervalMs;
    for (const w of this.watched.values()) ms = Math.max(ms, w.driver.gridIntervalMs);
    return ms;
  }

  /** Starts the grid: `onTick` runs on it, the first point `firstInMs` from now. */
  run(onTick: (t: TickTiming) => void, firstInMs = this.gridIntervalMs): void {
    this.onTick = onTick;
    this.ticker.start(firstInMs);
  }

  pause(): void {
    this.ticker.stop();
  }

  elapsedMs(): number {
    return this.ticker.elapsedMs();
  }

  /**
   * One tick: every member's writes since the last tick (per member and per shared object),
   * then the group read again: new members attached (counted from the next tick), exec'd ones
   * attached again, departed ones closed.
   */
  tick(): GroupTick {
    if (this.closed) throw new PagescopeError('The group watch is closed.', 'watch-ended');
    const tick: GroupTick = {
      members: [],
      writes: { members: [], objects: [], writtenOnce: 0, writtenSum: 0 },
      joined: [],
      execd: [],
      left: [],
      failed: [],
      ended: [],
      exact: true,
      estOverheadPct: -1,
      groupCpuMs: -1,
      membershipMs: 0,
    };
    this.machine.expire(); // this tick's members share one reading
    const inputs: MemberWrites[] = [];
    let costWeighted = 0;
    let cpuSum = 0;
    let cpuKnown = false;
    for (const [k, w] of [...this.watched]) {
      // The maps the driver read this tick to follow the member (follow: true) serve the tick
      // and the shared objects both: one read of /proc/PID/maps per member per tick.
      const step = w.driver.collect();
      if (step.kind === 'ended') {
        tick.ended.push({ pid: w.member.pid, name: w.member.name, why: step.reason });
        this.drop(k);
        continue;
      }
      if (step.kind !== 'watching') continue;
      const maps = step.vmas;
      if (!maps) continue; // unreadable (exiting): the next tick says it ended
      if (step.appeared.length) this.options.onAppeared?.(w.member, step.appeared);
      const out = step.written;
      const regions: Array<[number, number, number]> = [];
      for (let i = 0; i < out.length; i++)
        regions.push([out.startPage[i], out.endPage[i], out.vmaIndex[i]]);
      inputs.push({ pid: w.member.pid, maps, regions });
      const f = step.figures;
      if (f.sampleFraction !== 1) tick.exact = false;
      if (f.targetCpuMs >= 0 && f.estOverheadPct >= 0) {
        cpuKnown = true;
        cpuSum += f.targetCpuMs;
        costWeighted += (f.estOverheadPct / 100) * f.targetCpuMs;
      }
      tick.members.push({
        pid: w.member.pid,
        name: w.member.name,
        writtenPages: step.writtenPages,
        privatePages: 0,
        sharedPages: 0,
        figures: f,
        targetState: step.targetState,
      });
    }
    tick.writes = groupWrites(inputs);
    for (let i = 0; i < tick.members.length; i++) {
      tick.members[i].privatePages = tick.writes.members[i].privatePages;
      tick.members[i].sharedPages = tick.writes.members[i].sharedPages;
    }
    if (cpuKnown) {
      tick.groupCpuMs = cpuSum;
      tick.estOverheadPct = cpuSum > 0 ? (100 * costWeighted) / cpuSum : 0;
    }
    this.followMembers(tick);
    if (this.ticker.running && this.ticker.intervalMs !== this.gridIntervalMs)
      this.ticker.setInterval(this.gridIntervalMs);
    return tick;
  }

  private followMembers(tick: GroupTick): void {
    const t0 = performance.now();
    const reading = this.reader.read();
    const { joined, execd, left } = reading.diff;
    tick.joined = joined;
    tick.execd = execd;
    tick.left = left;
    for (const m of left) {
      this.failedKeys.delete(memberKey(m));
      if (this.watched.has(memberKey(m))) {
        tick.ended.push({ pid: m.pid, name: m.name, why: `process ${m.pid} exited` });
        this.drop(memberKey(m));
      }
    }
    for (const m of execd) {
      const k = memberKey(m);
      this.failedKeys.delete(k);
      this.drop(k); // its old memory is gone: watch the new program
    }
    this.joinAll([...execd, ...joined], tick.failed);
    tick.membershipMs = performance.now() - t0;
  }

  /** Whether no member is watched any more. */
  get empty(): boolean {
    return this.watched.size === 0;
  }

  /** Stops the grid and releases every member (each target keeps nothing of us). Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.ticker.stop();
    this.onTick = null;
    for (const k of [...this.watched.keys()]) this.drop(k);
  }
}
