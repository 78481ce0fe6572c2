/**
 * Case 14: what "who wrote it" costs (issue 23). The C fixture's two threads write 256 watched
 * pages each per round (one write-protect fault per page), timed by their own thread CPU clocks;
 * rounds alternate between the watch alone (the reference), the watch with fault sampling of
 * every fault (`--who`) and of 1 in 16 (`--who-period 16`), so drift on a busy machine hits all
 * three alike. Ours and reference are microseconds per first write (not ms: the column's unit
 * is the case's own). Also noted: pagescope's own time per tick to drain, match and name the
 * samples, and the symbol tables' one-off read.
 */
import fs from 'node:fs';
import { probeCapabilities } from '../../core/kernel/capabilities.ts';
import { WatchDriver } from '../../core/watch/driver.ts';
import { WhoAttributor } from '../../core/who/attribution.ts';
import { buildWhoWriter, PAGES, WhoWriter } from '../../testing/who-target.ts';
import { infoGoal, makeCase, median, skippedCase, type CaseResult } from '../lib/stats.ts';
import type { BenchContext } from './context.ts';

export const WHO_COST_NAMES = [
  '14a who: first write, --who vs watch alone (us)',
  '14b who: first write, --who-period 16 vs watch alone (us)',
];

type Mode = 'none' | '1' | '16';

export async function whoCostCases(ctx: BenchContext): Promise<CaseResult[]> {
  const goal = infoGoal('info: sampling cost per first write (issue 23)');
  const caps = probeCapabilities();
  if (!caps.pagemapScan || !caps.uffdWpAsync)
    return WHO_COST_NAMES.map((n) =>
      skippedCase(n, goal, 'needs PAGEMAP_SCAN and userfaultfd async write-protect'),
    );
  let build: ReturnType<typeof buildWhoWriter>;
  try {
    build = buildWhoWriter();
  } catch (err) {
    return WHO_COST_NAMES.map((n) =>
      skippedCase(n, goal, `the C fixture did not build: ${(err as Error).message}`),
    );
  }
  const rounds = ctx.quick ? 10 : 60;
  const w = await WhoWriter.start(build.exe);
  const d = new WatchDriver({ pid: w.pid, intervalMs: 100 });
  let who: WhoAttributor | null = null;
  try {
    const range = (s: number) => ({ startPage: s / 4096, endPage: s / 4096 + PAGES });
    d.arm([range(w.rangeA), range(w.rangeB)]);
    const tickMs: Record<string, number[]> = { '1': [], '16': [] };
    d.onCollect((s) => {
      if (!who) return;
      const t = who.tick(s.written);
      if (t.writeSamples > 0) tickMs[String(who.period)].push(t.costMs);
    });
    d.collect();
    const modes: Mode[] = ['none', '1', '16'];
    const usPerWrite: Record<Mode, number[]> = { none: [], '1': [], '16': [] };
    let prepareMs: number | null = null;
    for (let r = 0; r < rounds * 3; r++) {
      const mode = modes[r % 3];
      who?.close();
      try {
        who = mode === 'none' ? null : WhoAttributor.open(w.pid, { period: Number(mode) });
      } catch (err) {
        return WHO_COST_NAMES.map((n) => skippedCase(n, goal, (err as Error).message));
      }
      if (who && prepareMs === null) prepareMs = who.prepareMs;
      d.collect(); // protected again: this mode's faults from here
      const [a, b] = await w.run('go');
      d.collect();
      usPerWrite[mode].push((a + b) / (2 * PAGES) / 1000);
    }
    const base = median(usPerWrite.none);
    const note = (m: '1' | '16') =>
      `microseconds of the writer's thread CPU per first write to a watched page, median of ${rounds} rounds each; ` +
      `pagescope's own time per tick of ${2 * PAGES} written pages ${tickMs[m].length ? `${median(tickMs[m]).toFixed(2)} ms` : 'not seen'}; ` +
      `symbol tables read once at start: ${(prepareMs ?? 0).toFixed(0)} ms`;
    return [
      makeCase(WHO_COST_NAMES[0], median(usPerWrite['1']), base, goal, { note: note('1') }),
      makeCase(WHO_COST_NAMES[1], median(usPerWrite['16']), base, goal, { note: note('16') }),
    ];
  } finally {
    who?.close();
    d.close();
    w.kill();
    fs.rmSync(build.dir, { recursive: true, force: true });
  }
}
