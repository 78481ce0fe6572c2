/**
 * A host's refusal as a test sees it: not ok, the expected code, one sentence (a capital, a full
 * stop, no stack). Returns the message for further checks.
 */
import { expect } from 'vitest';
import type { ErrorCode } from '../core/protocol/errors.ts';
import type { Response } from '../core/protocol/messages.ts';

export function failed(r: Response, code: ErrorCode): string {
  expect(r.ok, JSON.stringify(r)).toBe(false);
  if (r.ok) return '';
  expect(r.error.code).toBe(code);
  expect(r.error.message).toMatch(/^[A-Z"].*\.$/);
  expect(r.error.message).not.toMatch(/\n|at .*\.ts/);
  return r.error.message;
}
