/** Any thrown value -> the protocol's ErrorInfo (a stable code and one sentence). */
import { errorCode, userMessage } from '../kernel/errors.ts';
import type { ErrorInfo } from '../protocol/messages.ts';

export function errorInfo(err: unknown): ErrorInfo {
  return { code: errorCode(err), message: userMessage(err) };
}
