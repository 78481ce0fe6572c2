import { describe, expect, expectTypeOf, it } from 'vitest';
import { bridgeOver, resultOf, type HostLink } from './bridge.ts';
import {
  ERROR_CODE_LIST,
  ERROR_CODES,
  errorCodeOf,
  isErrorCode,
  PagescopeProtocolError,
  protocolError,
  type ErrorCode,
} from './errors.ts';
import { errorInfoSchema, type ErrorInfo, type Response } from './messages.ts';

describe('error codes', () => {
  it('are one closed list: the union, the list and the schema agree', () => {
    expectTypeOf<ErrorInfo['code']>().toEqualTypeOf<ErrorCode>();
    expectTypeOf<PagescopeProtocolError['code']>().toEqualTypeOf<ErrorCode>();
    expect(ERROR_CODE_LIST).toEqual(Object.keys(ERROR_CODES));
    for (const code of ERROR_CODE_LIST) {
      expect(isErrorCode(code)).toBe(true);
      expect(errorInfoSchema.safeParse({ code, message: 'm' }).success, code).toBe(true);
      expect(ERROR_CODES[code].length, code).toBeGreaterThan(10);
    }
    for (const stranger of ['ebusy', 'toString', '__proto__', 'Closed', '', 3, null])
      expect(isErrorCode(stranger), String(stranger)).toBe(false);
    expect(errorInfoSchema.safeParse({ code: 'ebusy', message: 'm' }).success).toBe(false);
  });
});

describe('PagescopeProtocolError', () => {
  it('carries the code, the message and its own name', () => {
    const e = protocolError({ code: 'permission', message: 'Denied.' });
    expect(e).toBeInstanceOf(PagescopeProtocolError);
    expect(e).toBeInstanceOf(Error);
    expect({ name: e.name, code: e.code, message: e.message }).toEqual({
      name: 'PagescopeProtocolError',
      code: 'permission',
      message: 'Denied.',
    });
    expect(errorCodeOf(e)).toBe('permission');
    expect(errorCodeOf(Object.assign(new Error('x'), { code: 'permission' }))).toBeUndefined();
  });

  it('keeps an error from a newer host readable', () => {
    expect(protocolError({ code: 'from-the-future', message: 'Hm.' })).toMatchObject({
      code: 'error',
      message: 'Hm.',
    });
    expect(protocolError({ code: 'busy' }).message).toMatch(/error/);
  });
});

describe('bridgeOver', () => {
  const link = (answer: (id: number) => Response | Promise<Response>): HostLink => ({
    exchange: (async () => answer(1)) as HostLink['exchange'],
    onFrame: () => () => {},
    onEvent: () => () => {},
  });

  it('resolves results and rejects failures with PagescopeProtocolError', async () => {
    const ok = bridgeOver(
      link((id) => ({ id, ok: true, result: { version: 1, capabilities: {}, warnings: [] } })),
    );
    await expect(ok.request('hello', { version: 1 })).resolves.toEqual({
      version: 1,
      capabilities: {},
      warnings: [],
    });
    const failing = bridgeOver(
      link((id) => ({ id, ok: false, error: { code: 'busy', message: 'Wait.' } })),
    );
    await expect(failing.request('pause', { sessionId: 1 })).rejects.toEqual(
      new PagescopeProtocolError('busy', 'Wait.'),
    );
    await expect(failing.request('pause', { sessionId: 1 })).rejects.toBeInstanceOf(
      PagescopeProtocolError,
    );
  });

  it("reports a link that cannot reach its host as 'closed'", async () => {
    const gone = bridgeOver(link(() => Promise.reject(new Error('No handler registered.'))));
    const err: unknown = await gone.request('hello', { version: 1 }).catch((e: unknown) => e);
    expect(errorCodeOf(err)).toBe('closed');
    expect((err as Error).message).toMatch(/closed \(No handler registered\.\)/);
  });

  it('resultOf unwraps one Response', () => {
    expect(resultOf<'pause'>({ id: 1, ok: true, result: {} })).toEqual({});
    expect(() =>
      resultOf({ id: 1, ok: false, error: { code: 'version', message: 'Reload.' } }),
    ).toThrow(PagescopeProtocolError);
  });
});
