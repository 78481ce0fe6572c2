/** until() returns the condition's first truthy value and throws, naming what, when time runs out. */
import { expect, it } from 'vitest';
import { until } from './wait.ts';

it('returns the first truthy value the condition gives', async () => {
  let n = 0;
  await expect(until('n to reach 3', () => (++n >= 3 ? n : 0), 5000, 1)).resolves.toBe(3);
  await expect(until('an async value', async () => 'ok')).resolves.toBe('ok');
});

it('throws on timeout with what it waited for and the last value or error', async () => {
  await expect(until('never', () => false, 30, 5)).rejects.toThrow(
    /timed out after 30 ms waiting for never \(last: false\)/,
  );
  const thrower = (): boolean => {
    throw new Error('not yet');
  };
  await expect(until(() => 'a lazy name', thrower, 30, 5)).rejects.toThrow(
    /waiting for a lazy name \(last: not yet\)/,
  );
});
