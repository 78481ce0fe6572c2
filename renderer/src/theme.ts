/** The system colour scheme, for the canvases (CSS follows it through prefers-color-scheme). */
import { formatBytes as formatByteCount } from '../../core/protocol/format.ts';
import { PALETTE, type ThemeColours, type ThemeName } from './heatmap/colour.ts';

const query = typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: light)') : null;

export function currentTheme(): ThemeName {
  return query?.matches ? 'light' : 'dark';
}

export function themeColours(): ThemeColours {
  return PALETTE[currentTheme()];
}

export function onThemeChange(listener: () => void): () => void {
  if (!query) return () => {};
  query.addEventListener('change', listener);
  return () => query.removeEventListener('change', listener);
}

/** Canvas backing size for a CSS size, honouring the device pixel ratio. */
export function sizeCanvas(canvas: HTMLCanvasElement, width: number, height: number): number {
  const dpr = Math.max(1, Math.min(3, globalThis.devicePixelRatio || 1));
  const w = Math.max(1, Math.round(width * dpr));
  const h = Math.max(1, Math.round(height * dpr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  canvas.style.width = `${width}px`;
  canvas.style.height = `${height}px`;
  return dpr;
}

export const fmt = new Intl.NumberFormat('en-US');

export function formatBytes(pages: number): string {
  return formatByteCount(pages * 4096);
}
