/**
 * Vitest setup file of the system projects: with PAGESCOPE_TEST_CPU_LOG=FILE set, each test
 * file appends one JSON line to FILE: its path, its wall time and the CPU time its process and
 * its children (targets, CLIs, browsers) used from its first hook to its last, and
 * the load average then. On a shared machine the wall times of two runs say little; the CPU a
 * file costs, and the sum of wall times beside the run's own, say whether a change made the
 * suite cheaper or only ran it at a quieter moment. Without the variable it does nothing.
 */
import fs from 'node:fs';
import os from 'node:os';
import { afterAll, beforeAll, expect } from 'vitest';
import { readStatFile, statNumber } from '../core/proc/stat.ts';

const LOG = process.env.PAGESCOPE_TEST_CPU_LOG;

/** utime + cutime and stime + cstime of /proc/PID/stat, in ms (clock ticks of 10 ms). */
function statMs(pid: number | 'self'): { user: number; sys: number } {
  const s = readStatFile(`/proc/${pid}/stat`);
  // utime, stime, cutime, cstime: fields 14-17.
  return {
    user: (statNumber(s, 14) + statNumber(s, 16)) * 10,
    sys: (statNumber(s, 15) + statNumber(s, 17)) * 10,
  };
}

/**
 * This process's CPU time and its children's, in ms, user and system apart: the reaped ones'
 * (cutime, cstime) and those not reaped yet, living or not (/proc/PID/stat of each child in
 * /proc/self/task/TID/children). A child killed in a last hook (the CPU hogs of a test, a
 * target) is reaped only when the event loop next turns, after this file's last hook: its time
 * was missing from the log (record.test.ts' hogs: ~9 s). Read without yielding, so no child is
 * reaped, and counted twice, in between.
 */
function cpuMs(): { user: number; sys: number } {
  const sum = { user: 0, sys: 0 };
  let tasks: string[] = [];
  try {
    tasks = fs.readdirSync('/proc/self/task');
  } catch {
    // no /proc/self/task: reaped children only
  }
  for (const tid of tasks) {
    let kids: string[] = [];
    try {
      kids = fs.readFileSync(`/proc/self/task/${tid}/children`, 'latin1').split(' ');
    } catch {
      continue; // the thread ended, or a kernel without CONFIG_PROC_CHILDREN
    }
    for (const kid of kids.filter(Boolean)) {
      try {
        const t = statMs(Number(kid));
        sum.user += t.user;
        sum.sys += t.sys;
      } catch {
        // gone (reaped by a worker thread's loop): its time is in cutime below
      }
    }
  }
  const self = statMs('self');
  return { user: sum.user + self.user, sys: sum.sys + self.sys };
}

if (LOG) {
  let wall0 = 0;
  let cpu0 = { user: 0, sys: 0 };
  beforeAll(() => {
    wall0 = performance.now();
    cpu0 = cpuMs();
  });
  afterAll(() => {
    const file = expect.getState().testPath ?? '';
    const cpu = cpuMs();
    const line = {
      file: file.replace(`${process.cwd()}/`, ''),
      wallMs: Math.round(performance.now() - wall0),
      cpuMs: cpu.user + cpu.sys - cpu0.user - cpu0.sys,
      sysMs: cpu.sys - cpu0.sys,
      // When it ended (ms since the epoch): the files' ends place them in the run's phases.
      endMs: Date.now(),
      load1: os.loadavg()[0],
    };
    fs.appendFileSync(LOG, JSON.stringify(line) + '\n');
  });
}
