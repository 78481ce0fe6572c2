/**
 * Entry point: pick the Bridge (Electron's preload exposes `window.pagescope`; in a browser the
 * WebSocket of `pagescope serve`; `?fake` loads a synthetic host for UI development only) and
 * render the app.
 */
import { createRoot } from 'react-dom/client';
import type { Bridge } from '../../core/protocol/bridge.ts';
import { connectWebSocketBridge } from '../../core/protocol/ws-bridge.ts';
import { connect } from './actions.ts';
import { App } from './App.tsx';
import { frameHub } from './frames.ts';
import { notify, useApp } from './store.ts';
import './styles.css';

declare global {
  interface Window {
    pagescope?: Bridge;
    /** Read-only handles for end-to-end tests and debugging from the console. */
    __pagescope?: { useApp: typeof useApp; frameHub: typeof frameHub };
  }
}

window.__pagescope = { useApp, frameHub };

async function chooseBridge(): Promise<Bridge> {
  if (window.pagescope) return window.pagescope;
  if (new URLSearchParams(location.search).has('fake')) {
    const { createFakeBridge } = await import('./dev/fake-bridge.ts');
    return createFakeBridge();
  }
  const ws = connectWebSocketBridge();
  await ws.ready;
  return ws;
}

createRoot(document.getElementById('root')!).render(<App />);
chooseBridge()
  .then((bridge) => connect(bridge, chooseBridge))
  .catch((err: unknown) =>
    notify(
      'error',
      `${err instanceof Error ? err.message : String(err)} Start \`pagescope serve\` and open the address it prints (it carries the access token).`,
    ),
  );
