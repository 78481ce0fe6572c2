/**
 * Which Node versions the project promises, and which locked packages refuse one of them.
 *
 * Strategy: package.json states two promises. `engines.node` is what pagescope itself runs on
 * (the npm package: the CLI, the web host; its dependencies are the lock's non-dev packages).
 * `devEngines.runtime.version` is what working from a clone needs (`npm ci`: Electron and its
 * tooling among the devDependencies); without it, `engines.node` covers the whole lock. A promise
 * is checked at the versions it names (the lowest of each of its `||` alternatives) and at the
 * first release of each LTS line it takes in: a package whose `engines.node` refuses one of those
 * is what `npm ci` would warn about (EBADENGINE) on a machine the promise covers.
 *
 * The ranges are parsed here (the grammar engines fields use: `||`, comparators `>= > <= < = ^ ~`,
 * partial and x versions, `*`), so the check needs no package beyond those declared; anything else
 * throws, naming the range, rather than passing unread.
 */

export type Version = [number, number, number];
type Bound = { v: Version; inclusive: boolean };
/** One `||` alternative: every comparator's lower and upper bound, combined. */
interface Interval {
  lo: Bound;
  hi: Bound | null;
}

/** Node's LTS lines (even majors) a promise open upwards is checked at. */
export const LTS_LINES = [18, 20, 22, 24, 26];

const PART = /^(>=|<=|>|<|=|\^|~)?v?(\d+|[x*])(?:\.(\d+|[x*]))?(?:\.(\d+|[x*]))?$/i;

function cmp(a: Version, b: Version): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

export function format(v: Version): string {
  return v.join('.');
}

/** The interval of one comparator ("^20.19.0", ">= 14", "6.*", "20"). */
function comparator(text: string, range: string): Interval {
  const m = PART.exec(text);
  if (!m) throw new Error(`cannot read the Node range ${JSON.stringify(range)} (at "${text}")`);
  const op = m[1] ?? '';
  const nums = [m[2], m[3], m[4]].map((x) => (x === undefined || /[x*]/i.test(x) ? null : +x));
  // How many leading parts are given (the rest are wildcards).
  const given = nums.findIndex((x) => x === null) === -1 ? 3 : nums.findIndex((x) => x === null);
  const base: Version = [nums[0] ?? 0, given > 1 ? nums[1]! : 0, given > 2 ? nums[2]! : 0];
  /** The first version after the given parts ("20" -> 21.0.0, "20.1" -> 20.2.0). */
  const next = (): Version | null =>
    given === 0
      ? null
      : given === 1
        ? [base[0] + 1, 0, 0]
        : given === 2
          ? [base[0], base[1] + 1, 0]
          : [base[0], base[1], base[2] + 1];
  const any: Bound = { v: [0, 0, 0], inclusive: true };
  const upTo = (v: Version | null): Bound | null => (v ? { v, inclusive: false } : null);
  switch (op) {
    case '>=':
      return { lo: { v: base, inclusive: true }, hi: null };
    case '>':
      return given === 3
        ? { lo: { v: base, inclusive: false }, hi: null }
        : { lo: { v: next() ?? [Infinity, 0, 0], inclusive: true }, hi: null };
    case '<':
      return { lo: any, hi: { v: base, inclusive: false } };
    case '<=':
      return { lo: any, hi: given === 3 ? { v: base, inclusive: true } : upTo(next()) };
    case '^': {
      const hi: Version =
        base[0] > 0 || given === 1
          ? [base[0] + 1, 0, 0]
          : base[1] > 0 || given === 2
            ? [0, base[1] + 1, 0]
            : [0, 0, base[2] + 1];
      return { lo: { v: base, inclusive: true }, hi: { v: hi, inclusive: false } };
    }
    case '~':
      return {
        lo: { v: base, inclusive: true },
        hi: upTo(given === 1 ? [base[0] + 1, 0, 0] : [base[0], base[1] + 1, 0]),
      };
    default:
      // "=1.2.3", "1.2.3", "20", "6.*", "*"
      return given === 3
        ? { lo: { v: base, inclusive: true }, hi: { v: base, inclusive: true } }
        : { lo: { v: base, inclusive: true }, hi: upTo(next()) };
  }
}

/** A range as its `||` alternatives, each the intersection of its comparators. */
export function parseRange(range: string): Interval[] {
  const text = range.trim().replace(/(>=|<=|>|<|=|\^|~)\s+/g, '$1');
  if (text === '' || text === '*') return [{ lo: { v: [0, 0, 0], inclusive: true }, hi: null }];
  return text.split('||').map((alt) => {
    const parts = alt.trim().split(/\s+/);
    if (parts.includes('-')) throw new Error(`cannot read the Node range ${JSON.stringify(range)}`);
    let lo: Bound = { v: [0, 0, 0], inclusive: true };
    let hi: Bound | null = null;
    for (const p of parts) {
      const c = comparator(p, range);
      const d = cmp(c.lo.v, lo.v);
      if (d > 0 || (d === 0 && !c.lo.inclusive)) lo = c.lo;
      if (c.hi) {
        const e = hi ? cmp(c.hi.v, hi.v) : -1;
        if (e < 0 || (e === 0 && !c.hi.inclusive)) hi = c.hi;
      }
    }
    return { lo, hi };
  });
}

export function satisfies(version: Version, range: string): boolean {
  return parseRange(range).some(({ lo, hi }) => {
    const a = cmp(version, lo.v);
    if (a < 0 || (a === 0 && !lo.inclusive)) return false;
    if (!hi) return true;
    const b = cmp(version, hi.v);
    return b < 0 || (b === 0 && hi.inclusive);
  });
}

/**
 * The versions a promise names: the lowest of each alternative and the first release of each LTS
 * line it takes in (x.0.0, or its alternative's lowest within that line).
 */
export function promisedVersions(range: string): Version[] {
  const out = new Map<string, Version>();
  const add = (v: Version): void => {
    if (satisfies(v, range)) out.set(format(v), v);
  };
  const alts = parseRange(range);
  for (const { lo } of alts) add(lo.inclusive ? lo.v : [lo.v[0], lo.v[1], lo.v[2] + 1]);
  for (const major of LTS_LINES) {
    const lows = alts
      .map(({ lo }) => lo.v)
      .filter((v) => v[0] === major)
      .sort(cmp);
    add(lows[0] ?? [major, 0, 0]);
  }
  return [...out.values()].sort(cmp);
}

interface LockEntry {
  version?: string;
  dev?: boolean;
  engines?: { node?: string } | string[];
}

export interface Refusal {
  package: string;
  engines: string;
  refuses: string[];
  promise: 'engines' | 'devEngines';
}

/** The locked packages whose `engines.node` refuses a version package.json promises. */
export function refusals(
  pkg: { engines?: { node?: string }; devEngines?: { runtime?: { version?: string } } },
  lock: { packages: Record<string, LockEntry> },
): Refusal[] {
  const runtime = pkg.engines?.node ?? '*';
  const dev = pkg.devEngines?.runtime?.version ?? runtime;
  const out: Refusal[] = [];
  for (const [where, entry] of Object.entries(lock.packages)) {
    if (where === '') continue;
    const engines = Array.isArray(entry.engines) ? undefined : entry.engines?.node;
    if (!engines) continue;
    const name = `${where.replace(/^.*node_modules\//, '')}@${entry.version}`;
    // Non-dev packages are pagescope's own dependencies: both promises hold for them.
    const promises: Array<['engines' | 'devEngines', string]> = entry.dev
      ? [['devEngines', dev]]
      : [
          ['engines', runtime],
          ['devEngines', dev],
        ];
    for (const [promise, range] of promises) {
      const refuses = promisedVersions(range)
        .filter((v) => !satisfies(v, engines))
        .map(format);
      if (refuses.length) out.push({ package: name, engines, refuses, promise });
    }
  }
  return out;
}
