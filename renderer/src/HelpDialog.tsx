/**
 * The keyboard help overlay ("?"): a modal <dialog> (the browser traps focus and closes it on
 * Escape) listing the shortcuts from shortcuts.ts and the heatmap's own keys, with the switch
 * that turns single-key shortcuts off (WCAG 2.1.4). Focus returns where it was on close.
 */
import { useEffect, useRef, useState } from 'react';
import { HEATMAP_KEYS, SHORTCUTS, setShortcutsEnabled, shortcutsEnabled } from './shortcuts.ts';
import { useApp } from './store.ts';

function keyName(k: string): string {
  return k === ' ' ? 'Space' : k;
}

export function HelpDialog() {
  const open = useApp((s) => s.helpOpen);
  const [enabled, setEnabled] = useState(shortcutsEnabled);
  const ref = useRef<HTMLDialogElement>(null);
  const returnTo = useRef<HTMLElement | null>(null);

  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    if (open && !d.open) {
      returnTo.current = document.activeElement as HTMLElement | null;
      d.showModal();
    } else if (!open && d.open) {
      d.close();
    }
  }, [open]);

  const onClose = () => {
    useApp.setState({ helpOpen: false });
    returnTo.current?.focus();
    returnTo.current = null;
  };

  return (
    <dialog ref={ref} className="help" aria-labelledby="help-title" onClose={onClose}>
      <div className="help-head">
        <h2 id="help-title">Keyboard</h2>
        <button type="button" onClick={() => ref.current?.close()}>
          Close
        </button>
      </div>
      <p className="muted">
        Tab moves between areas; inside a list, the arrow keys move and Enter picks.
      </p>
      <label className="check">
        <input
          type="checkbox"
          checked={enabled}
          onChange={(e) => {
            setShortcutsEnabled(e.target.checked);
            setEnabled(e.target.checked);
          }}
        />
        Single-key shortcuts
      </label>
      <div className="help-cols">
        <table>
          <caption>Anywhere (not while typing)</caption>
          <tbody>
            {SHORTCUTS.map((s) => (
              <tr key={s.keys[0]}>
                <th scope="row">
                  <kbd>{keyName(s.keys[0])}</kbd>
                </th>
                <td>{s.label}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <table>
          <caption>On the heatmap</caption>
          <tbody>
            {HEATMAP_KEYS.map(([k, what]) => (
              <tr key={k}>
                <th scope="row">
                  <kbd>{k}</kbd>
                </th>
                <td>{what}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </dialog>
  );
}
