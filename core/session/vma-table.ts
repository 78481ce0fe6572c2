/**
 * The session's VMA table: the target's maps as the UI sees them.
 *
 * Strategy: `VmaTable.read()` reads /proc/PID/maps each tick but parses it only when the text
 * changed, and bumps `version` (a new collapsed layout) only when the VMAs' bounds, permissions
 * or paths changed. `vmaInfos` is pure: it joins the VMAs with what the watch driver says
 * (watched ranges, refusals by code) and with the labels pagescope knows for unnamed memory.
 */
import fs from 'node:fs';
import { fromNodeError } from '../kernel/errors.ts';
import { parseMaps, type Vma } from '../proc/maps.ts';
import type { VmaInfo } from '../protocol/messages.ts';
import type { PageRange } from '../scan/scanner.ts';
import { isShownAsRefused, refusalSentence, type Refusal } from '../watch/refusal.ts';
import { layoutOf, type Layout } from './aggregate.ts';

/** Unnamed memory pagescope knows (the demo's regions): a VMA inside one gets its label. */
export interface LabelRegion {
  startPage: number;
  endPage: number;
  label: string;
}

export class VmaTable {
  vmas: Vma[] = [];
  layout: Layout = layoutOf([]);
  /** Bumped whenever the layout changes. */
  version = 0;
  private text: string | null = null;
  private sig = '';

  constructor(readonly pid: number) {}

  /** Reads the maps; true when the table changed (a new version). Throws if unreadable. */
  read(): boolean {
    const path = `/proc/${this.pid}/maps`;
    let text: string;
    try {
      text = fs.readFileSync(path, 'latin1');
    } catch (err) {
      throw fromNodeError(err, `read ${path}`, { pid: this.pid, path });
    }
    // Most ticks the layout has not changed: the same text needs no parsing, no new layout.
    if (text === this.text) return false;
    const vmas = parseMaps(text);
    this.text = text;
    let sig = '';
    for (const v of vmas) sig += `${v.startHex}-${v.endHex} ${v.perms} ${v.path}\n`;
    this.vmas = vmas;
    if (sig === this.sig) return false;
    this.sig = sig;
    this.layout = layoutOf(vmas);
    this.version++;
    return true;
  }
}

export function labelOf(v: Vma, labels: readonly LabelRegion[]): string | undefined {
  if (v.path && !v.path.startsWith('[anon')) return undefined;
  return labels.find((r) => v.startPage >= r.startPage && v.startPage < r.endPage)?.label;
}

/**
 * The UI's rows. `watched`: the really watched ranges, sorted and merged; `refusalAt`: the
 * refusal of a whole VMA's piece. A VMA is 'refused' only when nothing of it is watched and its
 * refusal is one the UI shows as such (not no-access, see refusal.ts).
 */
export function vmaInfos(
  vmas: readonly Vma[],
  layout: Layout,
  watched: readonly PageRange[],
  refusalAt: (startPage: number, endPage: number) => Refusal | undefined,
  labels: readonly LabelRegion[] = [],
): VmaInfo[] {
  return vmas.map((v) => {
    let covered = 0;
    for (const r of watched)
      covered += Math.max(0, Math.min(r.endPage, v.endPage) - Math.max(r.startPage, v.startPage));
    const refusal = refusalAt(v.startPage, v.endPage);
    const info: VmaInfo = {
      index: v.index,
      start: '0x' + v.startHex,
      end: '0x' + v.endHex,
      startPage: v.startPage,
      endPage: v.endPage,
      offset: layout.offsets[v.index],
      perms: v.perms,
      path: v.path,
      kind: v.kind,
      watched:
        covered === 0
          ? refusal && isShownAsRefused(refusal)
            ? 'refused'
            : 'no'
          : covered >= v.endPage - v.startPage
            ? 'yes'
            : 'partial',
    };
    if (refusal) info.watchNote = refusalSentence(refusal);
    const label = labelOf(v, labels);
    if (label) info.label = label;
    return info;
  });
}
