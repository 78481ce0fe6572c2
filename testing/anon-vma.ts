/** Maps entries made up for pure tests: no process behind them. */
import type { Vma } from '../core/proc/maps.ts';

/** An anonymous rw-p VMA of pages [startPage, endPage), the `index`th of its maps. */
export function anonVma(index: number, startPage: number, endPage: number): Vma {
  return {
    index,
    startPage,
    endPage,
    startHex: startPage.toString(16) + '000',
    endHex: endPage.toString(16) + '000',
    perms: 'rw-p',
    offset: 0,
    dev: '00:00',
    inode: 0,
    path: '',
    label: '',
    kind: 'anon',
  };
}
