/**
 * Exports from the page: tables as CSV (RFC 4180 quoting), the heatmap canvas as PNG. Files go
 * through a download link (a browser saves them; Electron asks where).
 */
import { OLD_RECORDING_EXTENSION, RECORDING_EXTENSION } from '../../../core/protocol/constants.ts';

export function toCsv(
  header: string[],
  rows: Array<Array<string | number | null | undefined>>,
): string {
  const cell = (v: string | number | null | undefined) => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

export function downloadBlob(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function downloadCsv(name: string, csv: string): void {
  downloadBlob(new Blob([csv], { type: 'text/csv' }), name);
}

/** The heatmap as drawn now, as a PNG. */
export async function exportHeatmapPng(name: string): Promise<void> {
  const canvas = document.querySelector<HTMLCanvasElement>('canvas[data-testid="heatmap"]');
  if (!canvas) throw new Error('There is no heatmap to export.');
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  if (!blob) throw new Error('The heatmap could not be encoded as PNG.');
  downloadBlob(blob, name);
}

/** "heap-20261129-0215" style stem for exported files (a recording's extension dropped). */
export function fileStem(name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 60) || 'pagescope';
  for (const ext of [RECORDING_EXTENSION, OLD_RECORDING_EXTENSION])
    if (safe.endsWith(ext) && safe.length > ext.length) return safe.slice(0, -ext.length);
  return safe;
}
