/**
 * "Who writes" requests and events: the toggle asks the host for writer sampling on the live
 * session (setWho); a refusal is kept as the host's one sentence and shown by the panel (not a
 * popup: the rest works on). `who` events go through the pure reducer (store.ts).
 */
import type { WhoEvent } from '../../../core/protocol/who.ts';
import { explain } from '../explain.ts';
import { useApp } from '../store.ts';
import { onWho, resetWho, useWho } from './store.ts';

/** Sample one write fault in this many (1: every one, exact pages). */
export const DEFAULT_WHO_PERIOD = 1;

export function handleWhoEvent(e: WhoEvent): void {
  useWho.setState((s) => onWho(s, e));
}

/** Turns writer sampling on or off for the current live session. */
export async function setWhoEnabled(on: boolean): Promise<void> {
  const { bridge, session } = useApp.getState();
  if (!bridge || !session) return;
  const sessionId = session.sessionId;
  if (useWho.getState().sessionId !== sessionId) resetWho(sessionId);
  useWho.setState({ pending: true });
  try {
    const r = await bridge.request('setWho', {
      sessionId,
      period: on ? DEFAULT_WHO_PERIOD : null,
    });
    if (useWho.getState().sessionId !== sessionId) return;
    // On again: the accumulated figures start from this moment.
    if (r.enabled && !useWho.getState().enabled) resetWho(sessionId);
    useWho.setState({ enabled: r.enabled, refused: null, pending: false });
  } catch (err) {
    if (useWho.getState().sessionId !== sessionId) return;
    useWho.setState({
      enabled: false,
      pending: false,
      refused: explain(err, on ? 'Turning on Who writes' : 'Turning off Who writes'),
    });
  }
}
