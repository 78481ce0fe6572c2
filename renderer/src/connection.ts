/**
 * The link to the host. A heartbeat (a cheap `hello` every 2 s) notices when the host has gone:
 * both bridges reject every request with code 'closed' once the host cannot be reached. (A slow
 * answer is not taken for a lost host: the host can be busy for seconds launching a target, and
 * the next beat waits for the answer.) Then the UI says so (the banner in
 * Notices.tsx), drops what belonged to the host (the session ended with the connection), and
 * tries to reconnect with exponential backoff through the same bridge factory the page started
 * with. Nothing here knows how a bridge is made.
 */
import type { Bridge } from '../../core/protocol/bridge.ts';
import { PROTOCOL_VERSION } from '../../core/protocol/constants.ts';
import { errorCodeOf } from '../../core/protocol/errors.ts';
import { useApp } from './store.ts';

export const HEARTBEAT_MS = 2000;
export const ANSWER_MS = 6000;

/** Wait before reconnect attempt n (0-based): 1, 2, 4, 8, 16, then 30 s. */
export function backoffMs(attempt: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, attempt));
}

/** True for a failure that means the host is unreachable (not a refused or slow request). */
export function isGone(err: unknown): boolean {
  return errorCodeOf(err) === 'closed';
}

export interface LinkHooks {
  /** The host is gone: forget what belonged to it. */
  lost(): void;
  /** Open a new bridge; null where there is nothing to reopen. Rejects when the host is not back. */
  reopen: (() => Promise<Bridge>) | null;
  /** Start using a new bridge (it calls superviseLink again); rejects when it does not answer. */
  adopt(bridge: Bridge): Promise<void>;
}

let generation = 0;
let timer: ReturnType<typeof setTimeout> | null = null;
let attemptNow: (() => void) | null = null;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('The host did not answer.')), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

/** Watch a bridge until it fails, then reconnect. Replaces any earlier supervision. */
export function superviseLink(bridge: Bridge, hooks: LinkHooks): void {
  const gen = ++generation;
  if (timer) clearTimeout(timer);
  attemptNow = null;
  const current = () => gen === generation;

  const beat = async () => {
    let gone = false;
    try {
      await bridge.request('hello', { version: PROTOCOL_VERSION });
    } catch (err) {
      gone = isGone(err);
    }
    if (!current()) return;
    if (!gone) {
      timer = setTimeout(() => void beat(), HEARTBEAT_MS);
      return;
    }
    hooks.lost();
    schedule(0);
  };

  const attempt = async (n: number) => {
    if (!current() || !hooks.reopen) return;
    if (timer) clearTimeout(timer);
    attemptNow = null;
    useApp.setState({ lost: { retryAt: null, attempt: n } });
    try {
      const next = await withTimeout(hooks.reopen(), ANSWER_MS);
      if (!current()) return;
      await withTimeout(hooks.adopt(next), ANSWER_MS);
    } catch {
      if (current()) schedule(n + 1);
    }
  };

  const schedule = (n: number) => {
    if (!hooks.reopen) {
      useApp.setState({ lost: { retryAt: null, attempt: n } });
      return;
    }
    const wait = backoffMs(n);
    useApp.setState({ lost: { retryAt: Date.now() + wait, attempt: n } });
    attemptNow = () => void attempt(n);
    timer = setTimeout(() => void attempt(n), wait);
  };

  timer = setTimeout(() => void beat(), HEARTBEAT_MS);
}

/** "Retry now" on the banner: skip the rest of the wait. */
export function retryNow(): void {
  attemptNow?.();
}
