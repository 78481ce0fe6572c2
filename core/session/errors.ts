/** Any thrown value -> the protocol's ErrorInfo (a stable code and one sentence). */
import { KernelError, PagescopeError, userMessage } from '../kernel/errors.ts';
import type { ErrorInfo } from '../protocol/messages.ts';

export function errorInfo(err: unknown): ErrorInfo {
  let code = 'error';
  if (err instanceof PagescopeError) code = err.code;
  else if (err instanceof KernelError) {
    if (err.errnoName === 'ESRCH' || err.errnoName === 'ENOENT') code = 'no-process';
    else if (err.errnoName === 'EPERM' || err.errnoName === 'EACCES') code = 'permission';
    else code = err.errnoName.toLowerCase();
  }
  return { code, message: userMessage(err) };
}
