/**
 * Entry point: pick the Bridge (Electron's preload exposes a HostLink as `window.pagescope`,
 * made into a Bridge here like the WebSocket's, see core/protocol/bridge.ts; in a browser the
 * WebSocket of `pagescope serve`; `?fake` loads a synthetic host for UI development only, under
 * Vite's dev server: production builds drop it, import.meta.env.DEV being false there) and render
 * the app.
 *
 * The web host's token arrives in the URL fragment (`#token=…`); it is taken out of the address
 * bar first thing, before anything renders or loads, so it is in no screenshot, history entry or
 * Referer.
 */
import { createRoot } from 'react-dom/client';
import { bridgeOver, type Bridge, type HostLink } from '../../core/protocol/bridge.ts';
import { connectWebSocketBridge, takePageToken } from '../../core/protocol/ws-bridge.ts';
import { connect } from './actions.ts';
import { App } from './App.tsx';
import { frameHub } from './frames.ts';
import { notify, useApp } from './store.ts';
import './styles.css';

declare global {
  interface Window {
    /** Electron's preload (electron/preload.ts). */
    pagescope?: HostLink;
    /** Read-only handles for end-to-end tests and debugging from the console. */
    __pagescope?: { useApp: typeof useApp; frameHub: typeof frameHub };
  }
}

const pageToken = window.pagescope ? null : takePageToken();
window.__pagescope = { useApp, frameHub };

async function chooseBridge(): Promise<Bridge> {
  if (window.pagescope) return bridgeOver(window.pagescope);
  if (import.meta.env.DEV && new URLSearchParams(location.search).has('fake')) {
    const { createFakeBridge } = await import('./dev/fake-bridge.ts');
    return createFakeBridge();
  }
  const ws = connectWebSocketBridge(undefined, undefined, pageToken);
  await ws.ready;
  return ws;
}

createRoot(document.getElementById('root')!).render(<App />);
chooseBridge()
  .then((bridge) => connect(bridge, chooseBridge))
  .catch((err: unknown) =>
    notify(
      'error',
      `${err instanceof Error ? err.message : String(err)} Start \`pagescope serve\` and open the address it prints, whole (its #token=… part is the access key).`,
    ),
  );
