/**
 * What "who wrote it" costs (issue 23): the C fixture's two threads write 256 watched pages each
 * per round (one write-protect fault per page), timed by their own thread CPU clocks; rounds
 * alternate between the watch alone, the watch with fault sampling every fault (--who) and 1 in
 * 16 (--who-period 16), so drift on a busy machine hits all three alike. Also: pagescope's own
 * time per tick for draining, matching and naming (cold, the first tick, and warm).
 *
 *   npx tsx bench/who-cost.ts [ROUNDS]
 */
import fs from 'node:fs';
import { WatchDriver } from '../core/watch/driver.ts';
import { WhoAttributor } from '../core/who/attribution.ts';
import { buildWhoWriter, PAGES, WhoWriter } from '../testing/who-target.ts';

const rounds = Number(process.argv[2] ?? 60);
const build = buildWhoWriter();
const w = await WhoWriter.start(build.exe);
const d = new WatchDriver({ pid: w.pid, intervalMs: 100 });
const range = (s: number): { startPage: number; endPage: number } => ({
  startPage: s / 4096,
  endPage: s / 4096 + PAGES,
});
d.arm([range(w.rangeA), range(w.rangeB)]);
let who: WhoAttributor | null = null;
const tickMs: Record<string, number[]> = { '1': [], '16': [] };
let cold: number | null = null;
let prepare: number | null = null;
d.onCollect((s) => {
  if (!who) return;
  const t = who.tick(s.written);
  if (t.writeSamples > 0) {
    if (cold === null) cold = t.costMs;
    else tickMs[String(who.period)].push(t.costMs);
  }
});
d.collect();
const modes = ['none', '1', '16'] as const;
const usPerWrite: Record<string, number[]> = { none: [], '1': [], '16': [] };
for (let r = 0; r < rounds * 3; r++) {
  const mode = modes[r % 3];
  who?.close();
  who = mode === 'none' ? null : WhoAttributor.open(w.pid, { period: Number(mode) });
  if (who && prepare === null) prepare = who.prepareMs;
  d.collect(); // protected again, samples of this mode from here
  const [a, b] = await w.run('go');
  d.collect();
  usPerWrite[mode].push((a + b) / (2 * PAGES) / 1000);
}
who?.close();
d.close();
w.kill();
fs.rmSync(build.dir, { recursive: true, force: true });
const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
};
const base = median(usPerWrite.none);
for (const m of modes)
  console.log(
    `${m === 'none' ? 'watch only      ' : `--who period ${m.padEnd(3)}`} ${median(usPerWrite[m]).toFixed(2)} us per first write ` +
      `(${(median(usPerWrite[m]) / base).toFixed(2)}x; best ${Math.min(...usPerWrite[m]).toFixed(2)})`,
  );
console.log(
  `symbol tables read at start: ${prepare!.toFixed(1)} ms; attribution per tick of ${2 * PAGES} written pages: first ${cold!.toFixed(2)} ms; ` +
    `then median ${median(tickMs['1']).toFixed(2)} ms at period 1, ${median(tickMs['16']).toFixed(2)} ms at period 16`,
);
