import { describe, expect, it } from 'vitest';
import { isShownAsRefused, refusalSentence, registerRefusal, type RefusalCode } from './refusal.ts';

describe('refusals as codes', () => {
  it('maps each UFFDIO_REGISTER errno to its code, and any other errno to register-failed', () => {
    expect(registerRefusal('EBUSY', '[heap]')).toEqual({ code: 'own-userfaultfd' });
    expect(registerRefusal('EINVAL', '/dev/fb0')).toEqual({
      code: 'unsupported-mapping',
      detail: '/dev/fb0',
    });
    expect(registerRefusal('EPERM', 'x')).toEqual({ code: 'read-only-shared-file' });
    expect(registerRefusal('ENOMEM', 'x')).toEqual({ code: 'mapping-changed' });
    expect(registerRefusal('ESRCH', 'x')).toEqual({ code: 'register-failed', detail: 'ESRCH' });
  });

  it('derives one distinct sentence per code, naming its detail', () => {
    const codes: RefusalCode[] = [
      'no-access',
      'special-mapping',
      'own-userfaultfd',
      'other-userfaultfd',
      'unsupported-mapping',
      'read-only-shared-file',
      'mapping-changed',
      'protect-failed',
      'register-failed',
    ];
    const sentences = codes.map((code) => refusalSentence({ code, detail: 'DETAIL' }));
    expect(new Set(sentences).size).toBe(codes.length);
    for (const s of sentences) expect(s).not.toMatch(/\.$/);
    expect(refusalSentence({ code: 'special-mapping', detail: '[vdso]' })).toMatch(/^\[vdso\] is/);
    expect(refusalSentence({ code: 'register-failed', detail: 'ESRCH' })).toMatch(/ESRCH/);
  });

  it('shows every refusal but no-access as refused', () => {
    expect(isShownAsRefused({ code: 'no-access' })).toBe(false);
    expect(isShownAsRefused({ code: 'own-userfaultfd' })).toBe(true);
    expect(isShownAsRefused({ code: 'mapping-changed' })).toBe(true);
  });
});
