/** `pagescope scan`: one scan of a process, as a table per VMA or as JSON. */
import { capabilityWarnings, probeCapabilities } from '../../kernel/capabilities.ts';
import { categoryNames, PAGE_SIZE } from '../../kernel/pagemap-abi.ts';
import { pageToHex } from '../../proc/maps.ts';
import type { BackendName } from '../../scan/backend.ts';
import { chooseBackend, Scanner, type PageRange } from '../../scan/scanner.ts';
import { addCounts, emptyCounts, type PageCounts } from '../../scan/summary.ts';
import { parsePid, parseRange } from '../args.ts';
import { formatBytes, pagesToKiB, table } from '../format.ts';

export interface ScanCommandOptions {
  pid: string;
  range?: string[];
  backend?: BackendName;
  json?: boolean;
  regions?: boolean;
}

export function scanCommand(options: ScanCommandOptions): number {
  const pid = parsePid(options.pid);
  const ranges: PageRange[] = (options.range ?? []).map(parseRange);
  const choice = chooseBackend(options.backend ?? 'auto');
  if (choice.note) process.stderr.write(`pagescope: ${choice.note}\n`);
  const scanner = new Scanner(pid, { backend: choice.name });
  try {
    const result = scanner.scan(ranges);
    const scanned = result.vmas.filter((v) => result.scannedPages.has(v.index));
    const totals = emptyCounts();
    for (const v of scanned) addCounts(totals, result.summaries[v.index]);
    if (options.json) {
      const out: Record<string, unknown> = {
        pid,
        pageSize: PAGE_SIZE,
        backend: result.backend,
        kernel: probeCapabilities().kernel,
        scanMs: Number(result.scanMs.toFixed(3)),
        vmas: scanned.map((v) => ({
          index: v.index,
          // As the regions below (maps pads low addresses with zeros: 0x0c51f000).
          start: '0x' + pageToHex(v.startPage),
          end: '0x' + pageToHex(v.endPage),
          perms: v.perms,
          path: v.path,
          kind: v.kind,
          pages: result.summaries[v.index],
        })),
        totals,
      };
      if (options.regions) {
        const r = result.regions;
        const regions = new Array(r.length);
        for (let i = 0; i < r.length; i++) {
          regions[i] = {
            start: '0x' + pageToHex(r.startPage[i]),
            end: '0x' + pageToHex(r.endPage[i]),
            categories: categoryNames(r.categories[i]),
          };
        }
        out.regions = regions;
      }
      process.stdout.write(JSON.stringify(out) + '\n');
      return 0;
    }
    const kib = (n: number): string => (n ? `${n} (${formatBytes(n * PAGE_SIZE)})` : '0');
    const row = (c: PageCounts): Array<string | number> => [
      kib(c.pages),
      kib(c.present),
      kib(c.swapped),
      c.file,
      c.zero,
      c.huge,
      c.guard,
      c.wpallowed ? c.written : '-',
    ];
    const rows = scanned.map((v) => [
      `${v.startHex}-${v.endHex}`,
      v.perms,
      v.path || `[${v.kind}]`,
      ...row(result.summaries[v.index]),
    ]);
    rows.push(['total', '', `${scanned.length} VMAs`, ...row(totals)]);
    process.stdout.write(
      table(
        [
          'RANGE',
          'PERMS',
          'NAME',
          'PAGES',
          'PRESENT',
          'SWAPPED',
          'FILE',
          'ZERO',
          'HUGE',
          'GUARD',
          'WRITTEN',
        ],
        rows,
      ) + '\n',
    );
    process.stdout.write(
      `pid ${pid}: ${result.regions.length} regions scanned with ${result.backend === 'scan' ? 'PAGEMAP_SCAN' : '/proc/PID/pagemap'} in ${result.scanMs.toFixed(1)} ms; ` +
        `resident ${formatBytes(pagesToKiB(totals.present) * 1024)}, swapped ${formatBytes(pagesToKiB(totals.swapped) * 1024)}.\n`,
    );
    for (const w of capabilityWarnings(probeCapabilities())) process.stderr.write(`note: ${w}\n`);
    return 0;
  } finally {
    scanner.close();
  }
}
