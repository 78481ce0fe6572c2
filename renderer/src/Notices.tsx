/** Errors and warnings in words, dismissable; errors use role="alert". */
import { dismissNotice, useApp } from './store.ts';

export function Notices() {
  const notices = useApp((s) => s.notices);
  const hostWarnings = useApp((s) => s.hostWarnings);
  const session = useApp((s) => s.session);
  return (
    <div className="notices">
      {notices.map((n) => (
        <div
          key={n.id}
          className={`notice notice-${n.kind}`}
          role={n.kind === 'error' ? 'alert' : 'note'}
        >
          <span className="notice-icon" aria-hidden="true">
            {n.kind === 'error' ? '!' : n.kind === 'warning' ? '▲' : 'i'}
          </span>
          <span className="notice-text">{n.text}</span>
          <button
            type="button"
            className="ghost"
            aria-label="Dismiss"
            onClick={() => dismissNotice(n.id)}
          >
            ×
          </button>
        </div>
      ))}
      {!session && hostWarnings.length > 0 && (
        <details className="host-warnings">
          <summary>{hostWarnings.length} note(s) about this machine</summary>
          <ul>
            {hostWarnings.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}
