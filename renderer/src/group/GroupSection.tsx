/**
 * The frame of both group views (live and replay): a section labelled by its heading, which
 * takes focus whenever what is shown changes (`focusKey`: a screen reader hears which group or
 * recording opened), and a close button that Escape anywhere inside presses; closing sends
 * focus back to the process list, where the next step is.
 */
import { useEffect, useRef, type ReactNode } from 'react';
import { focusFirst } from '../shortcuts.ts';
import { closeGroup } from './actions.ts';

function close(): void {
  closeGroup();
  requestAnimationFrame(() =>
    focusFirst('.proc-list [tabindex="0"]', '.picker input[type="search"]'),
  );
}

export function GroupSection(props: {
  title: ReactNode;
  closeLabel: string;
  focusKey: unknown;
  children: ReactNode;
}) {
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
  }, [props.focusKey]);
  return (
    <section
      className="group-view"
      aria-labelledby="group-title"
      data-testid="group-view"
      onKeyDown={(e) => {
        if (e.key === 'Escape') {
          e.stopPropagation();
          close();
        }
      }}
    >
      <div className="group-head">
        <h2 id="group-title" tabIndex={-1} ref={heading}>
          {props.title}
        </h2>
        <button type="button" className="ghost" onClick={close} aria-keyshortcuts="Escape">
          {props.closeLabel}
        </button>
      </div>
      {props.children}
    </section>
  );
}
