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
  measureAttach,
  sendDuringAttach,
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
    await Promise.all([targets.running('c'), targets.running('python')]);
    const attachMs = await measureAttach(await targets.running('c'));
    const results: KillResult[] = [];
    // No idle time between kills: kill i+1 (on the other target) starts as soon as kill i's
    // signal is out, while pagescope i ends and its target is inspected. A target's next kill
    // waits for its previous one's inspection (a harmed target is replaced first).
    const inFlight = new Map<TargetKind, Promise<KillResult>>();
    const settle = async (kind: TargetKind): Promise<void> => {
      const pending = inFlight.get(kind);
      if (!pending) return;
      inFlight.delete(kind);
      const r = await pending;
      results.push(r);
      if (r.harm) targets.retire(kind); // a fresh target for the next kill
    };
    for (let i = 0; i < KILLS_IN_CI; i++) {
      const kind: TargetKind = i % 2 === 0 ? 'c' : 'python';
      const kill = KILLS[Math.floor(i / 2) % KILLS.length];
      const aim = Math.floor(i / (2 * KILLS.length)) % 2 === 0 ? 'held' : 'random';
      await settle(kind);
      const sent = await sendDuringAttach(
        await targets.running(kind),
        kind,
        kill,
        aim,
        random,
        attachMs,
      );
      inFlight.set(kind, sent.result);
    }
    await settle('c');
    await settle('python');
    expect(results).toHaveLength(KILLS_IN_CI);
    const harmed = results.filter((r) => r.harm);
    expect(harmed, JSON.stringify(harmed)).toEqual([]);
    const landed = results.filter((r) => r.aim === 'held' && r.landedWhileHeld).length;
    const aimed = results.filter((r) => r.aim === 'held').length;
    console.log(
      `attach ${Math.round(attachMs)} ms; ${landed} of ${aimed} aimed kills landed while held`,
    );
    // The aimed kills must have hit the held thread often enough to mean something.
    expect(results.filter((r) => r.landedWhileHeld).length).toBeGreaterThanOrEqual(5);
  });
});
