/** Figures read from the output of pagescope's own commands (benchmark case 1d). */

/**
 * The region count and scan time from `pagescope scan`'s table output, whose last line reads
 * "pid P: N regions scanned with PAGEMAP_SCAN in X ms; mapped ...". Throws when it is missing.
 */
export function parseScanLine(text: string): { regions: number; ms: number } {
  const m = /^pid \d+: (\d+) regions? scanned with .* in (\d+(?:\.\d+)?) ms;/m.exec(text);
  if (!m) throw new Error(`pagescope scan printed no summary line: ${text.slice(-300)}`);
  return { regions: Number(m[1]), ms: Number(m[2]) };
}
