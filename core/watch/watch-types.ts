/**
 * The shapes a write watch hands out (watcher.ts is the facade that produces them).
 *
 * Strategy: plain data only, in a file of its own, so the parts of the watcher (attach,
 * registration, sampling, the tick) can share them without importing each other.
 */
import type { Refusal } from './refusal.ts';

export interface VmaWatchState {
  vmaIndex: number;
  startPage: number;
  endPage: number;
  path: string;
  /**
   * 'pending': not registered yet, because the mapping changed while it was being registered
   * (the process mapped or unmapped meanwhile) or the registration's time ran out; the next tick
   * registers what is there then. Its writes until then are not seen.
   */
  status: 'watched' | 'refused' | 'pending';
  /** Why it is refused, as a code (decide by this); set exactly when status is 'refused'. */
  refusal?: Refusal;
  /** The refusal's (or the wait's) sentence for the user; never compare it. */
  reason?: string;
}

/**
 * A sampled tick's extrapolation (WriteWatcher.setSampleFraction): an ESTIMATE of the pages
 * written in all watched memory from the pages written in the sampled blocks.
 */
export interface WatchSample {
  /** The sample fraction asked for (0..1]. */
  fraction: number;
  /** Watched pages, and the pages of them in sampled blocks this tick. */
  watchedPages: number;
  sampledPages: number;
  /** Written pages seen (in sampled blocks, plus exact counts of memory new this tick). */
  observedPages: number;
  /** Extrapolated written pages of all watched memory (rounded). */
  estimatedPages: number;
  /**
   * Stated error, pages: the true count lies within estimatedPages +/- errorPages with about 95%
   * confidence (2 standard errors of the ratio estimator over blocks). null when it cannot be
   * stated (the sample widened during this tick: writes before the change were not seen).
   */
  errorPages: number | null;
}

export interface WatchTick {
  /** Pages listed in `out`: every written page when `exact`, else the sampled ones seen. */
  writtenPages: number;
  /** Whether writtenPages is every page written since the last tick (false while sampling). */
  exact: boolean;
  /**
   * Pages that took a write-protect fault in this interval (every written page re-protected by
   * the last tick): what the target paid for being watched (see overhead.ts estOverheadPct).
   */
  faultedPages: number;
  /** Set when the tick was sampled (not exact). */
  sample?: WatchSample;
  appeared: VmaWatchState[];
  disappeared: VmaWatchState[];
  /**
   * Pieces of the watched ranges still not registered after this tick (status 'pending'): their
   * mapping changed while it was being registered, or the time for registering ran out. The next
   * tick registers them; what they were written until then is not in this tick.
   */
  pending: VmaWatchState[];
  /** 'running' or 'stopped' (SIGSTOP / job control: it writes nothing until continued). */
  targetState?: 'running' | 'stopped';
  /** Set when the watch is over (the target exited or executed another program). */
  ended?: string;
  /** Why, as a code: 'exit', 'exec' or 'closed'. */
  endedBy?: 'exit' | 'exec' | 'closed';
}

/** A tick with nothing in it yet: what a tick fills. */
export function emptyTick(): WatchTick {
  return {
    writtenPages: 0,
    exact: true,
    faultedPages: 0,
    appeared: [],
    disappeared: [],
    pending: [],
  };
}

export interface AttachOptions {
  /** Attach even when the target runs under a seccomp filter. */
  force?: boolean;
  /** Internal: the caller already seized `tid` and holds it stopped (launch mode). */
  alreadyStoppedTid?: number;
  /**
   * The target is our own launched child, which ends with us (launch mode re-attaching after the
   * program executed another one): attach in this process, on this thread (the one that spawned
   * it), without the attach helper's start-up time.
   */
  ownChild?: boolean;
}
