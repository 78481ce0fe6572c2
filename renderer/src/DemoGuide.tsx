/**
 * What the built-in demo does, for the first minute of a newcomer (see core/demo/regions.ts).
 * Its region names pick the region (as the memory map does). The names are one tab stop: the
 * arrow keys move between them (roving tabindex), Enter picks.
 */
import { useRoving } from './a11y/roving.ts';
import { DEMO_LABEL } from './demo.ts';
import { focusVma } from './MemoryMap.tsx';
import { useApp } from './store.ts';

const REGIONS: Array<{ name: string; what: string }> = [
  { name: 'sweep', what: '16 MiB: a 4 MiB band of written pages sliding through it' },
  { name: 'hot', what: 'the same 8 pages written every tick' },
  { name: 'random', what: '16 MiB: 8 random pages written per tick, dropped every 10 s' },
  { name: 'zero', what: 'pages only read — the shared zero page' },
  { name: 'file', what: 'a private file mapping; written pages turn anonymous' },
  { name: 'thp', what: 'transparent huge pages' },
  { name: 'guard', what: 'guard-page stripes' },
  { name: 'swap', what: 'paged out every 10 s when swap exists' },
  { name: 'growth', what: 'a heap-like region' },
];

export function DemoGuide() {
  const vmas = useApp((s) => s.vmas);
  const available = REGIONS.map((r) => r.name).filter((name) =>
    vmas.some((v) => v.label === `${DEMO_LABEL}${name}`),
  );
  const roving = useRoving<HTMLUListElement>(available.length, 'button.region');
  return (
    <details className="demo-guide" open>
      <summary>What the demo is doing</summary>
      <p>
        Each region is its own VMA and changes in phases. Pick one, then <b>Watch writes</b>:
      </p>
      <ul
        ref={roving.ref}
        onKeyDown={roving.onKeyDown}
        onFocus={roving.onFocus}
        aria-label="Demo regions: arrow keys move, Enter picks"
        data-testid="demo-regions"
      >
        {REGIONS.map((r) => {
          const vma = vmas.find((v) => v.label === `${DEMO_LABEL}${r.name}`);
          const i = vma ? available.indexOf(r.name) : -1;
          return (
            <li key={r.name}>
              {vma ? (
                <button
                  type="button"
                  className="linklike region"
                  tabIndex={roving.tabIndex(i)}
                  onClick={() => focusVma(vma)}
                >
                  <b>{r.name}</b>
                </button>
              ) : (
                <b>{r.name}</b>
              )}
              : {r.what}
            </li>
          );
        })}
      </ul>
      <p className="muted small">
        The memory map and the heatmap label them “demo: …”. Press <kbd>?</kbd> for the keyboard.
      </p>
    </details>
  );
}
