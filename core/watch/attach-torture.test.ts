/**
 * Never harm the target, even when pagescope is killed mid-attach (issue: the tracer's death is
 * not a clean detach). `pagescope watch` is started on a C and a python3 target and killed at
 * random instants of its attach with SIGKILL (the process, then its whole group), SIGHUP,
 * SIGQUIT, SIGTERM and SIGINT; after each kill the target must be unharmed (see
 * testing/attach-torture.ts). `npm run stress:attach` runs the same with hundreds of kills.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KILLS,
  killDuringAttach,
  measureAttach,
  TortureTargets,
  type KillResult,
  type TargetKind,
} from '../../testing/attach-torture.ts';
import { prng } from '../../testing/watch-support.ts';

const KILLS_IN_CI = 40;
let targets: TortureTargets;

beforeAll(() => {
  targets = new TortureTargets({ niceCompute: true });
});

afterAll(() => {
  targets?.dispose();
});

describe('pagescope killed during an attach', () => {
  it(`harms no target over ${KILLS_IN_CI} kills with every signal, aimed and at random`, async () => {
    const random = prng(Number(process.env.PAGESCOPE_TORTURE_SEED ?? 9));
    const attachMs = await measureAttach(await targets.running('c'));
    const results: KillResult[] = [];
    for (let i = 0; i < KILLS_IN_CI; i++) {
      const kind: TargetKind = i % 2 === 0 ? 'c' : 'python';
      const kill = KILLS[Math.floor(i / 2) % KILLS.length];
      const aim = Math.floor(i / (2 * KILLS.length)) % 2 === 0 ? 'held' : 'random';
      const r = await killDuringAttach(
        await targets.running(kind),
        kind,
        kill,
        aim,
        random,
        attachMs,
      );
      results.push(r);
      if (r.harm) targets.retire(kind); // a fresh target for the next kill
    }
    const harmed = results.filter((r) => r.harm);
    expect(harmed, JSON.stringify(harmed)).toEqual([]);
    // The aimed kills must have hit the held thread often enough to mean something.
    expect(results.filter((r) => r.landedWhileHeld).length).toBeGreaterThanOrEqual(5);
  });
});
