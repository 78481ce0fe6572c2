/**
 * `pagescope scan`: one scan of a process, as a table per VMA or as JSON. Table cells count pages;
 * the last line gives the sizes. A reader that closes the pipe early ends it quietly (output.ts).
 * Shared memory (shmem, memfd, SysV) that is swapped out leaves no swap entry in the page tables,
 * so its swapped pages are read from the object (proc/shared-swap.ts) and shown apart, each
 * figure with its source ("SHM SWAPPED", JSON `sharedObject`).
 */
import { capabilityWarnings, probeCapabilities } from '../../kernel/capabilities.ts';
import { categoryNames, PAGE_SIZE } from '../../kernel/pagemap-abi.ts';
import { PagescopeError } from '../../kernel/errors.ts';
import { groupSpec, GroupReader } from '../../proc/group.ts';
import { scanGroup } from '../../proc/group-scan.ts';
import { pageToHex } from '../../proc/maps.ts';
import { sharedObjectPages, SWAP_SOURCES, type ObjectPages } from '../../proc/shared-swap.ts';
import type { BackendName } from '../../scan/backend.ts';
import { chooseBackend, Scanner, type PageRange } from '../../scan/scanner.ts';
import { addCounts, emptyCounts, type PageCounts } from '../../scan/summary.ts';
import { parsePid, parseRange } from '../args.ts';
import { count, formatBytes, pagesToKiB, table } from '../format.ts';
import { out } from '../output.ts';

/** Lines of the table stay within this many characters: long names are cut in the middle. */
export const TABLE_WIDTH = 120;

export interface ScanCommandOptions {
  pid?: string;
  tree?: string;
  cgroup?: string;
  /** Several pids as one group: "12,34,56". */
  pids?: string;
  range?: string[];
  backend?: BackendName;
  json?: boolean;
  regions?: boolean;
}

export async function scanCommand(options: ScanCommandOptions): Promise<number> {
  const group =
    options.tree !== undefined || options.cgroup !== undefined || options.pids !== undefined;
  if (group && options.pid !== undefined)
    throw new PagescopeError(
      'Give --pid for one process, or --tree/--cgroup for a group, not both.',
      'bad-input',
    );
  if (group) return groupScanCommand(options);
  if (options.pid === undefined)
    throw new PagescopeError(
      'scan needs a process: --pid PID, --tree PID or --cgroup PATH.',
      'bad-input',
    );
  const pid = parsePid(options.pid);
  const ranges: PageRange[] = (options.range ?? []).map(parseRange);
  const choice = chooseBackend(options.backend ?? 'auto');
  if (choice.note) process.stderr.write(`pagescope: ${choice.note}\n`);
  const scanner = new Scanner(pid, { backend: choice.name });
  try {
    // The kernel's walk beside the decoding: a big process's cold scan (scanner.ts scanAsync).
    const result = await scanner.scanAsync(ranges);
    const scanned = result.vmas.filter((v) => result.scannedPages.has(v.index));
    const totals = emptyCounts();
    for (const v of scanned) addCounts(totals, result.summaries[v.index]);
    // Whole VMAs: the object's figures are not cut to a --range.
    const shared = sharedObjectPages(pid, scanned);
    const sharedTotal = sharedTotals(shared);
    const withShared = shared.size > 0;
    if (options.json) {
      const json: Record<string, unknown> = {
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
          // What it is ("shared anonymous", "memfd:NAME", the file): protocol/vma-name.ts.
          label: v.label,
          kind: v.kind,
          pages: result.summaries[v.index],
          ...(shared.has(v.index) ? { sharedObject: shared.get(v.index) } : {}),
        })),
        totals,
        // Swapped pages of shared objects, which `totals.swapped` (page tables) cannot see.
        sharedSwapped: sharedTotal,
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
        json.regions = regions;
      }
      out(JSON.stringify(json) + '\n');
      return 0;
    }
    // /proc/PID/pagemap cannot tell the zero page, huge pages or write-protect state apart.
    const pagemap = result.backend !== 'scan';
    const row = (c: PageCounts): Array<string | number> => [
      c.pages,
      c.present,
      c.swapped,
      c.file,
      pagemap ? 'n/a' : c.zero,
      pagemap ? 'n/a' : c.huge,
      c.guard,
      pagemap ? 'n/a' : c.wpallowed ? c.written : '-',
    ];
    const rows = scanned.map((v) => [
      `${v.startHex}-${v.endHex}`,
      v.perms,
      v.label || `[${v.kind}]`,
      ...row(result.summaries[v.index]),
    ]);
    rows.push(['total', '', count(scanned.length, 'VMA'), ...row(totals)]);
    out(
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
        { maxWidth: TABLE_WIDTH, shrink: 2 },
      ) + '\n',
    );
    const size = (pages: number): string => formatBytes(pagesToKiB(pages) * 1024);
    out(
      `pid ${pid}: ${count(result.regions.length, 'region')} scanned with ${pagemap ? '/proc/PID/pagemap' : 'PAGEMAP_SCAN'} in ${result.scanMs.toFixed(1)} ms; ` +
        `mapped ${size(totals.pages)}, resident ${size(totals.present)}, swapped ${size(totals.swapped)}` +
        (withShared
          ? `, and swapped in shared objects ${size(sharedTotal.pages)} (${sharedSources(sharedTotal)}).\n`
          : '.\n'),
    );
    if (withShared) {
      // A table of its own below, so the main one keeps its width for names.
      out(
        '\nShared objects (their swapped pages leave no swap entry in the page tables: read from the object):\n',
      );
      const sharedRows = scanned
        .filter((v) => shared.has(v.index))
        .map((v) => {
          const o = shared.get(v.index)!;
          return [
            `${v.startHex}-${v.endHex}`,
            v.label,
            o.allocated ?? 'n/a',
            o.resident ?? 'n/a',
            o.swapped,
            o.source,
          ];
        });
      out(
        table(['RANGE', 'NAME', 'ALLOCATED', 'RESIDENT', 'SWAPPED', 'SOURCE'], sharedRows, {
          maxWidth: TABLE_WIDTH,
          shrink: 1,
        }) + '\n',
      );
      out(
        'Sources: ' +
          Object.entries(SWAP_SOURCES)
            .map(([k, v]) => `${k} = ${v}`)
            .join('; ') +
          '. Figures are the object pages in the whole VMA.\n',
      );
    }
    if (pagemap)
      out('n/a: /proc/PID/pagemap cannot tell zero-page, huge and write-protected pages apart.\n');
    for (const w of capabilityWarnings(probeCapabilities())) process.stderr.write(`note: ${w}\n`);
    return 0;
  } finally {
    scanner.close();
  }
}

/** The swapped pages of every shared-object VMA, and how many VMAs each source gave. */
function sharedTotals(shared: Map<number, ObjectPages>): {
  pages: number;
  vmasBySource: Record<string, number>;
} {
  let pages = 0;
  const vmasBySource: Record<string, number> = {};
  for (const o of shared.values()) {
    pages += o.swapped;
    vmasBySource[o.source] = (vmasBySource[o.source] ?? 0) + 1;
  }
  return { pages, vmasBySource };
}

function sharedSources(t: { vmasBySource: Record<string, number> }): string {
  return Object.entries(t.vmasBySource)
    .map(([s, n]) => `${count(n, 'VMA')} from ${SWAP_SOURCES[s as keyof typeof SWAP_SOURCES]}`)
    .join(', ');
}

/** `scan --tree PID` / `--cgroup PATH`: every member, and the shared objects once. */
function groupScanCommand(options: ScanCommandOptions): number {
  if (options.range?.length || options.regions)
    throw new PagescopeError(
      '--range and --regions are for one process (--pid), not a group.',
      'bad-input',
    );
  const reader = new GroupReader(
    groupSpec({ tree: options.tree, cgroup: options.cgroup, pids: parsePids(options.pids) }),
  );
  const choice = chooseBackend(options.backend ?? 'auto');
  if (choice.note) process.stderr.write(`pagescope: ${choice.note}\n`);
  const g = scanGroup(reader, choice.name);
  if (g.members.length === 0)
    throw new PagescopeError(
      `The ${g.describe} has no process whose memory can be read.`,
      'bad-input',
    );
  const size = (pages: number): string => formatBytes(pagesToKiB(pages) * 1024);
  const ms = (n: number): number => Number(n.toFixed(3));
  if (options.json) {
    const json = {
      group: g.describe,
      pageSize: PAGE_SIZE,
      backend: choice.name,
      readMs: ms(g.readMs),
      scanMs: ms(g.scanMs),
      members: g.members.map((m) => ({
        pid: m.member.pid,
        ppid: m.member.ppid,
        name: m.member.name,
        vmas: m.vmas,
        pages: m.totals,
        privatePresent: m.privatePresent,
      })),
      skipped: g.skipped,
      objects: g.objects.map((o) => ({
        key: o.object.key,
        kind: o.object.kind,
        label: o.object.label,
        identity: o.object.identity,
        path: o.object.path,
        members: o.object.members,
        pagesMapped: o.object.pagesMapped,
        presentUnion: o.presentUnion,
        shares: o.shares.map((s) => ({ ...s, share: Number(s.share.toFixed(3)) })),
        object: o.fromObject,
      })),
      residentOnce: g.residentOnce,
      residentSum: g.residentSum,
      sharedSwapped: g.sharedSwapped,
    };
    out(JSON.stringify(json) + '\n');
    return 0;
  }
  out(
    `${g.describe}: ${count(g.members.length, 'member')} read in ${g.readMs.toFixed(1)} ms, scanned in ${g.scanMs.toFixed(0)} ms\n\n`,
  );
  out(
    table(
      ['PID', 'PPID', 'NAME', 'VMAS', 'PAGES', 'PRESENT', 'PRIVATE', 'SWAPPED'],
      g.members.map((m) => [
        m.member.pid,
        m.member.ppid,
        m.member.name,
        m.vmas,
        m.totals.pages,
        m.totals.present,
        m.privatePresent,
        m.totals.swapped,
      ]),
      { maxWidth: TABLE_WIDTH, shrink: 2 },
    ) + '\n',
  );
  for (const s of g.skipped) out(`skipped pid ${s.pid} (${s.name}): ${s.why}\n`);
  if (g.objects.length) {
    out(
      "\nShared objects, each once (IN PTES: object pages present in some member's page tables):\n",
    );
    out(
      table(
        [
          'NAME',
          'ID',
          'MEMBERS',
          'MAPPED',
          'IN PTES',
          'ALLOCATED',
          'RESIDENT',
          'SWAPPED',
          'SOURCE',
        ],
        g.objects.map((o) => [
          o.object.label,
          o.object.identity,
          o.object.members.length,
          o.object.pagesMapped,
          o.presentUnion,
          o.fromObject?.allocated ?? 'n/a',
          o.fromObject?.resident ?? 'n/a',
          o.fromObject?.swapped ?? 'n/a',
          o.fromObject?.source ?? '-',
        ]),
        { maxWidth: TABLE_WIDTH, shrink: 0 },
      ) + '\n',
    );
    out(
      "\nEach member's share (pages present in its page tables, and its share when a page counts 1/k in each of k members):\n",
    );
    for (const o of g.objects) {
      if (o.presentUnion === 0) continue;
      const shares = o.shares
        .filter((s) => s.present > 0)
        .map((s) => `${s.pid} ${s.present} (${s.share.toFixed(1)})`)
        .join(', ');
      out(`  ${o.object.label} [${o.object.identity}]: ${shares}\n`);
    }
  }
  out(
    `\nresident ${size(g.residentOnce)} with each shared object once (the members' resident add up to ${size(g.residentSum)}); ` +
      `swapped in shared objects ${size(g.sharedSwapped)}, read from the objects (no page table shows it).\n`,
  );
  return 0;
}

/** "12,34,56" into pids; each must be a number (whether it runs is groupSpec's to say). */
export function parsePids(text: string | undefined): number[] | undefined {
  if (text === undefined) return undefined;
  const words = text.split(',').map((w) => w.trim());
  const pids = words.map(Number);
  if (words.some((w) => !/^\d+$/.test(w)) || pids.some((p) => p < 1))
    throw new PagescopeError(
      `"${text}" is not a list of process ids (numbers separated by commas, such as 12,34).`,
      'bad-pid',
    );
  return [...new Set(pids)];
}
