/**
 * until() returns the condition's first truthy value and throws, naming what, the last value seen
 * and the scaled limit, when time runs out; the slowness scale sees a loaded CPU.
 */
import { Worker } from 'node:worker_threads';
import { afterEach, expect, it, vi } from 'vitest';
import { eventually, limit, measureCpuShare, slowness, until } from './wait.ts';

const floor = process.env.PAGESCOPE_TEST_SLOWNESS;
afterEach(() => {
  if (floor === undefined) delete process.env.PAGESCOPE_TEST_SLOWNESS;
  else process.env.PAGESCOPE_TEST_SLOWNESS = floor;
});

it('returns the first truthy value the condition gives', async () => {
  let n = 0;
  await expect(until('n to reach 3', () => (++n >= 3 ? n : 0), 5000, 1)).resolves.toBe(3);
  await expect(until('an async value', async () => 'ok')).resolves.toBe('ok');
  let m = 0;
  await eventually('m past 2', () => expect(++m).toBeGreaterThan(2), 5000, 1);
  expect(m).toBe(3);
});

it('throws on timeout with what it waited for, the last value or error and the scaled limit', async () => {
  process.env.PAGESCOPE_TEST_SLOWNESS = '1';
  const s = slowness();
  await expect(until('never', () => false, 30, 5)).rejects.toThrow(
    new RegExp(
      `timed out after \\d+ ms \\(limit 30 ms × slowness ${s} = ${Math.round(30 * s)} ms\\) ` +
        `waiting for never \\(last: false\\)`,
    ),
  );
  const thrower = (): boolean => {
    throw new Error('not yet');
  };
  await expect(until(() => 'a lazy name', thrower, 30, 5)).rejects.toThrow(
    /waiting for a lazy name \(last: not yet\)/,
  );
});

it('scales every limit by the slowness, which PAGESCOPE_TEST_SLOWNESS can raise', async () => {
  process.env.PAGESCOPE_TEST_SLOWNESS = '4';
  expect(slowness()).toBeGreaterThanOrEqual(4);
  expect(limit(1000)).toBe(Math.round(1000 * slowness()));
  // A 40 ms limit at slowness 4 or more waits at least 160 ms before it gives up.
  const t0 = performance.now();
  await expect(until('never', () => false, 40, 5)).rejects.toThrow(/× slowness/);
  expect(performance.now() - t0).toBeGreaterThanOrEqual(160);
  process.env.PAGESCOPE_TEST_SLOWNESS = '1000';
  expect(slowness()).toBe(30); // bounded: a wait always ends
});

it('measures a CPU shared with busy threads as slower', async (ctx) => {
  if (!('threadCpuUsage' in process))
    ctx.skip('skipped: this Node has no process.threadCpuUsage (22.19+): busy threads would count');
  // Two busy threads per core compete with this one: it gets about a third of a core.
  const n = 2 * (await import('node:os')).availableParallelism();
  const spinners = Array.from(
    { length: n },
    () => new Worker('const e = Date.now() + 3000; while (Date.now() < e);', { eval: true }),
  );
  try {
    await new Promise((r) => setTimeout(r, 100)); // let them start spinning (a stimulus)
    expect(measureCpuShare(50)).toBeGreaterThan(1.5);
  } finally {
    await Promise.all(spinners.map((w) => w.terminate()));
  }
});

it("scales vi.waitFor's and expect.poll's limits too (testing/scaled-timeouts.ts)", async () => {
  process.env.PAGESCOPE_TEST_SLOWNESS = '4';
  const t0 = performance.now();
  await expect(vi.waitFor(() => expect(1).toBe(2), { timeout: 50 })).rejects.toThrow(
    /expected 1 to be 2.*\(vi.waitFor gave up after 50 ms × slowness/,
  );
  expect(performance.now() - t0).toBeGreaterThanOrEqual(190);
  const t1 = performance.now();
  await expect(expect.poll(() => 1, { timeout: 50, interval: 10 }).toBe(2)).rejects.toThrow();
  expect(performance.now() - t1).toBeGreaterThanOrEqual(190);
});
