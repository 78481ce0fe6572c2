import { describe, expect, it } from 'vitest';
import { ERROR_CODE_LIST, PagescopeProtocolError } from '../../core/protocol/errors.ts';
import { ADVICE, explain } from './explain.ts';

describe('explain', () => {
  it('has a decision for exactly the codes a host sends', () => {
    expect(Object.keys(ADVICE).sort()).toEqual([...ERROR_CODE_LIST].sort());
  });

  it('turns every code into the host sentence, then its advice, as full sentences', () => {
    for (const code of ERROR_CODE_LIST) {
      const text = explain(new PagescopeProtocolError(code, 'Something happened'), 'Doing it');
      expect(text.startsWith('Something happened.'), code).toBe(true);
      expect(text, code).toMatch(/[.!?]$/);
      const advice = ADVICE[code];
      expect(text, code).toBe(advice ? `Something happened. ${advice}` : 'Something happened.');
    }
  });

  it('adds the advice the UI promises for the codes it acts on', () => {
    const e = (code: 'permission' | 'no-process' | 'exited' | 'closed') =>
      explain(new PagescopeProtocolError(code, 'It failed.'), 'x');
    expect(e('permission')).toMatch(/CAP_SYS_PTRACE/);
    expect(e('no-process')).toMatch(/refreshed/);
    expect(e('exited')).toMatch(/Pick another process/);
    expect(e('closed')).toMatch(/reload this page/);
  });

  it('says what failed when there is no message, and adds no advice to foreign errors', () => {
    expect(explain(undefined, 'Listing processes')).toBe('Listing processes failed.');
    const lookalike = Object.assign(new Error('Odd'), { code: 'permission' });
    expect(explain(lookalike, 'x')).toBe('Odd.');
  });
});
