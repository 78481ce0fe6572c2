/**
 * Case 10: the attach window, how long pagescope holds a thread of the target (from its stop to
 * its release), the only moment the target depends on pagescope (README "What it leaves
 * behind"). Ours: a whole attach by pid through the attach helper, as measured by the helper,
 * on a busy multi-threaded C target whose main thread is blocked in read(). Reference: the bare
 * ptrace round trip on the same thread in this process (seize, interrupt, stop, detach, no call
 * injected). The goal is absolute: a median under 1 ms on this machine.
 */
import { withHeldThread } from '../../core/watch/injector.ts';
import { syscallSite } from '../../core/watch/syscall-site.ts';
import { WriteWatcher } from '../../core/watch/watcher.ts';
import { TortureTargets } from '../../testing/attach-torture.ts';
import { budgetCase, infoGoal, median, skippedCase, type CaseResult } from '../lib/stats.ts';
import type { BenchContext } from './context.ts';

export const ATTACH_NAME = '10 attach window (stop to release)';
const BUDGET_MS = 1;

function p90(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * 0.9))];
}

export async function attachCases(ctx: BenchContext): Promise<CaseResult[]> {
  if (!ctx.built.ok)
    return [skippedCase(ATTACH_NAME, infoGoal(`< ${BUDGET_MS} ms median`), ctx.built.reason)];
  const targets = new TortureTargets();
  const t = targets.start('c');
  try {
    if ((await t.line()) !== 'ready') throw new Error('the target did not start');
    const rounds = ctx.quick ? 15 : 40;
    const ours: number[] = [];
    const bare: number[] = [];
    const insn = syscallSite(t.pid);
    for (let i = 0; i < rounds; i++) {
      const w = WriteWatcher.attach(t.pid);
      ours.push(w.attachHeldMs);
      w.close();
      bare.push(withHeldThread(t.pid, t.pid, { syscallAddress: insn }, () => 0).heldMs);
    }
    await t.progress(); // the target still answers: its blocked read() completed normally
    ctx.log(`attach window: median ${median(ours).toFixed(3)} ms, p90 ${p90(ours).toFixed(3)} ms`);
    return [
      budgetCase(
        ATTACH_NAME,
        median(ours),
        median(bare),
        BUDGET_MS,
        `< ${BUDGET_MS} ms median (absolute)`,
        {
          note: `attach by pid through the helper (median, p90 ${p90(ours).toFixed(3)} ms over ${rounds}) vs a bare seize/interrupt/detach of the same thread`,
          p90_ms: Number(p90(ours).toPrecision(4)),
          rounds,
        },
      ),
    ];
  } finally {
    t.stop();
    targets.dispose();
  }
}
