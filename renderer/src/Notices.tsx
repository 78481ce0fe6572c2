/**
 * Messages in words, in their own landmark: the lost-connection banner (what happened, when the
 * next attempt is, what to do), then notices (dismissable; errors use role="alert"), then — when
 * not attached — the host's notes about this machine that no notice already says.
 */
import { useEffect, useState } from 'react';
import { retryNow } from './connection.ts';
import { dismissNotice, useApp, type LinkLost } from './store.ts';

function LostBanner({ lost }: { lost: LinkLost }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (lost.retryAt === null) return;
    const t = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(t);
  }, [lost.retryAt]);
  const when =
    lost.retryAt === null
      ? 'Reconnecting…'
      : `Trying again in ${Math.max(1, Math.ceil((lost.retryAt - now) / 1000))} s.`;
  return (
    <div className="notice notice-error lost" role="alert" data-testid="connection-lost">
      <span className="notice-icon" aria-hidden="true">
        !
      </span>
      <span className="notice-text">
        <b>Connection to the pagescope host lost.</b> {when} If you stopped{' '}
        <code>pagescope serve</code>, start it again and open the address it prints (a new start has
        a new token); over SSH, check the tunnel.
      </span>
      {lost.retryAt !== null && (
        <button type="button" onClick={retryNow}>
          Retry now
        </button>
      )}
    </div>
  );
}

export function Notices() {
  const notices = useApp((s) => s.notices);
  const hostWarnings = useApp((s) => s.hostWarnings);
  const session = useApp((s) => s.session);
  const lost = useApp((s) => s.lost);
  const notes = hostWarnings.filter((w) => !notices.some((n) => n.text === w));
  return (
    <section className="notices" aria-label="Messages">
      {lost && <LostBanner lost={lost} />}
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
      {!session && !lost && notes.length > 0 && (
        <details className="host-warnings">
          <summary>
            {notes.length === 1 ? '1 note' : `${notes.length} notes`} about this machine
          </summary>
          <ul>
            {notes.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </details>
      )}
    </section>
  );
}
