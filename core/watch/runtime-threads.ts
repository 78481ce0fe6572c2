/**
 * The runtime's helper threads yield the CPU to the target: V8's platform workers (its optimizing
 * compiler, concurrent GC marking and sweeping), started with the process, run at nice 19.
 *
 * Why (measured, bench 11c): a watch armed right before a 0.5 s redis burst spent 20-50 ms of CPU
 * on these threads during the burst (perf: TurboFan compiling the tick's code, ~80% of their
 * samples), more than its ticks themselves. redis and its client fill the machine's two CPUs, so
 * that time was taken from redis: its run-queue wait per burst rose from 4 to 32 ms. At nice 19
 * they take what is idle (a weight of 15 against redis's 1024): the wait fell to 8 ms and the
 * throughput from 0.936x to 0.966x of unwatched (30 rounds each, interleaved, load ~3). The
 * ticks themselves run on the watching thread, whose priority is left alone: on a busy machine
 * the compiler is only later, and a lagging concurrent GC is finished by the watching thread.
 *
 * Which threads: the first ones the process started after its main thread (within START_TICKS
 * clock ticks of the first): Node starts V8's platform workers before any of its own code runs,
 * while a worker thread (a session's, that may be ticking a watch) starts far later (measured
 * here at load ~14: the platform workers within one tick of each other, a worker started as the
 * first thing the code does 80 ms after them). Not in
 * Electron, whose process-start threads are Chromium's (I/O, the UI's own work).
 */
import fs from 'node:fs';
import { libc } from '../kernel/libc.ts';
import { readStatFile, statNumber } from '../proc/stat.ts';

const PRIO_PROCESS = 0;
/** The nice value given: the lowest priority. */
export const HELPER_NICE = 19;
/** Clock ticks (10 ms) after the first helper thread within which a thread counts as one. */
const START_TICKS = 5;

const setpriority = libc.func('int setpriority(int which, unsigned int who, int prio)');

/** A thread's start time (clock ticks since boot) and nice value, or null when it is gone. */
export function threadStartAndNice(tid: number): { start: number; nice: number } | null {
  try {
    const s = readStatFile(`/proc/self/task/${tid}/stat`);
    return { nice: statNumber(s, 19), start: statNumber(s, 22) };
  } catch {
    return null;
  }
}

let done = false;

/**
 * Lowers the helper threads started with this process to nice 19 (see the top), once per
 * process; returns the threads lowered this call. Best effort: a thread it cannot change is left.
 */
export function yieldRuntimeThreads(): number[] {
  if (done || process.versions.electron) return [];
  done = true;
  const others: Array<{ tid: number; start: number; nice: number }> = [];
  for (const t of fs.readdirSync('/proc/self/task')) {
    const tid = Number(t);
    const th = tid === process.pid ? null : threadStartAndNice(tid);
    if (th) others.push({ tid, ...th });
  }
  // Node's first threads are V8's platform workers, started together: measured from them, not
  // from the process's start (its fork, which a loaded machine puts 100 ms and more earlier).
  const first = Math.min(...others.map((t) => t.start));
  const lowered: number[] = [];
  for (const th of others) {
    if (th.start - first > START_TICKS || th.nice >= HELPER_NICE) continue;
    if (setpriority(PRIO_PROCESS, th.tid, HELPER_NICE) === 0) lowered.push(th.tid);
  }
  return lowered;
}
