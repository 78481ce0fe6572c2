// `npm run stress:attach [-- KILLS]`: the attach torture of core/watch/attach-torture.test.ts,
// with hundreds of kills (400 by default) across every signal, both targets and both aims.
// Prints one line per 40 kills and a summary; exits 1 if any target was harmed.
import {
  KILLS,
  killDuringAttach,
  measureAttach,
  TortureTargets,
  type KillResult,
  type TargetKind,
} from '../testing/attach-torture.ts';

const total = Number(process.argv[2] ?? 400);
const targets = new TortureTargets({ niceCompute: true });
let seed = Number(process.env.PAGESCOPE_TORTURE_SEED ?? Date.now() % 1e9);
const random = (): number => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};

const results: KillResult[] = [];
try {
  const attachMs = await measureAttach(await targets.running('c'));
  console.log(`attach takes ~${attachMs.toFixed(0)} ms here (start to first tick); seed ${seed}`);
  for (let i = 0; i < total; i++) {
    const kind: TargetKind = random() < 0.5 ? 'c' : 'python';
    const kill = KILLS[Math.floor(random() * KILLS.length)];
    const aim = random() < 0.5 ? 'held' : 'random';
    const r = await killDuringAttach(
      await targets.running(kind),
      kind,
      kill,
      aim,
      random,
      attachMs,
    );
    results.push(r);
    if (r.harm) {
      console.log(`HARM: ${JSON.stringify(r)}`);
      targets.retire(kind);
    }
    if ((i + 1) % 40 === 0)
      console.log(`${i + 1} kills, ${results.filter((x) => x.harm).length} harmed`);
  }
} finally {
  targets.dispose();
}
const by = (f: (r: KillResult) => string): string =>
  Object.entries(
    results.reduce<Record<string, [number, number]>>((acc, r) => {
      const k = f(r);
      acc[k] ??= [0, 0];
      acc[k][0]++;
      if (r.harm) acc[k][1]++;
      return acc;
    }, {}),
  )
    .map(([k, [n, h]]) => `${k} ${n} (harmed ${h})`)
    .join(', ');
console.log(
  `kills: ${results.length}; landed while the thread was held: ${results.filter((r) => r.landedWhileHeld).length}`,
);
console.log(`by signal: ${by((r) => r.kill)}`);
console.log(`by target: ${by((r) => r.target)}; by aim: ${by((r) => r.aim)}`);
const harmed = results.filter((r) => r.harm).length;
console.log(harmed ? `${harmed} targets harmed` : 'no target harmed');
process.exitCode = harmed ? 1 : 0;
