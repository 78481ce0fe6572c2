/**
 * What the renderer can observe of a rejected Bridge request, as one comparable object. The
 * Electron preload test and the WebSocket bridge test both compare against it, so the two
 * bridges are held to the same error shape (no test-runner imports here).
 */
import { PagescopeProtocolError, type ErrorCode } from '../core/protocol/errors.ts';

export interface ObservedError {
  protocolError: boolean;
  isError: boolean;
  name: unknown;
  code: unknown;
  message: unknown;
  ownKeys: string[];
}

export function observeError(err: unknown): ObservedError {
  const e = (err ?? {}) as Record<string, unknown>;
  return {
    protocolError: err instanceof PagescopeProtocolError,
    isError: err instanceof Error,
    name: e.name,
    code: e.code,
    message: e.message,
    ownKeys: typeof err === 'object' && err ? Object.keys(err).sort() : [],
  };
}

/** What both bridges must deliver for a host's `{ code, message }`. */
export function expectedError(code: ErrorCode, message: string): ObservedError {
  return observeError(new PagescopeProtocolError(code, message));
}
