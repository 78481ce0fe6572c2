/**
 * A label that changes without changing its box: every text it can show is laid out in the same
 * grid cell and only the current one is visible (styles.css .fixed-label), so a button that says
 * "Record" and then "Stop recording", or "Play" and then "Pause", keeps one width and nothing
 * beside it moves (issue 21: a click must land the first time). The others are hidden from
 * assistive technology too: the accessible name is the visible text alone.
 */
export function FixedLabel({ text, options }: { text: string; options: readonly string[] }) {
  const all = options.includes(text) ? options : [...options, text];
  return (
    <span className="fixed-label">
      {all.map((o) =>
        o === text ? (
          <span key={o}>{o}</span>
        ) : (
          <span key={o} className="fixed-label-alt" aria-hidden="true">
            {o}
          </span>
        ),
      )}
    </span>
  );
}
