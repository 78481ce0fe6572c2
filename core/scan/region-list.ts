/**
 * RegionList: the result of a scan as parallel typed arrays, not one object per region.
 *
 * A worst-case process yields hundreds of thousands of regions per scan, many times a second;
 * objects would cost ~100 bytes each and GC pressure every tick. Here a region is 22 bytes in
 * four arrays that are reused across scans (`clear()` keeps capacity).
 * Adjacent regions of the same VMA with equal categories are merged on `push`, so a walk that
 * the kernel split into chunks (walk_end) reads the same as one uninterrupted walk.
 *
 * Growing costs copies, and on these VMs every page of a new array costs a fault when first
 * written (tens of microseconds under load): a cold scan of ~1M regions that grew by doubling
 * from 4096 spent 135 of 345 ms copying (issue 22). So a scan that knows a bound on its regions
 * (each region covers at least one page: the pages it will walk) calls `prepare(bound)` first:
 * the arrays are allocated once at that size, nothing copied, and the kernel hands out only the
 * pages actually written (a fresh typed array is zero-filled lazily by the kernel, not by
 * memset). Past PREPARE_MAX regions (a reservation of terabytes) the arrays still double.
 */

/** Bytes per region: start and end (8 each), VMA index (4), categories (2). */
export const REGION_BYTES = 22;

/**
 * Regions after which a prepared list's arrays get huge pages (see `hugeAt`): 1.4 MiB of them in
 * 4 KiB pages first, so a scan of a few thousand regions (most processes, whose reservations
 * make `prepare`'s bound large) never pays for zeroing 2 MiB pages it does not use.
 */
export const HUGE_AFTER = 1 << 16;

/** Largest capacity `prepare` allocates at once: 2^22 regions, 88 MiB of address space. */
export const PREPARE_MAX = 1 << 22;

/**
 * Lays out a prepared list's arrays (start, end, VMA index, categories: `sizes` bytes each, in
 * that order, each at an offset its element size divides) in a buffer `slack` bytes larger than
 * their sum (huge-arrays.ts places them so that huge pages can begin right at HUGE_AFTER).
 */
export interface ArrayPlacer {
  slack: number;
  offsets(buffer: ArrayBuffer, sizes: readonly number[]): number[];
}

export class RegionList {
  startPage: Float64Array;
  endPage: Float64Array;
  categories: Uint16Array;
  /** Index (maps order) of the VMA the region lies in. */
  vmaIndex: Int32Array;
  length = 0;

  constructor(capacity = 1024) {
    this.startPage = new Float64Array(capacity);
    this.endPage = new Float64Array(capacity);
    this.categories = new Uint16Array(capacity);
    this.vmaIndex = new Int32Array(capacity);
  }

  /** Reallocations that copied the regions so far (how often `push`/`reserve` outgrew it). */
  grows = 0;

  /**
   * When the list reaches this many regions, the untouched rest of its arrays is worth
   * transparent huge pages (huge-arrays.ts; the scan backend asks). Set by `prepare` for a big
   * allocation, Infinity otherwise and once done: a scan that stays small never gets them.
   */
  hugeAt = Infinity;

  clear(): void {
    this.length = 0;
  }

  /**
   * Empties the list and makes room for `regions` (at most PREPARE_MAX) without copying: when
   * the arrays are too small, new ones of that size replace them (the old contents are not
   * needed). A bound too small costs growth later, never a wrong result. Returns true when it
   * allocated new arrays (whose pages the kernel has not handed out yet).
   */
  prepare(regions: number, place?: ArrayPlacer): boolean {
    this.length = 0;
    const want = Math.min(PREPARE_MAX, Math.max(0, Math.ceil(regions)));
    if (this.startPage.length >= want) return false;
    // One buffer for the four arrays (each at an offset its element size divides): measured in a
    // new Node process, four buffers of ~46 MiB in all set off a scavenge for "external memory
    // pressure" (0.5-3.5 ms), one buffer of the same size did not.
    const big = want >= HUGE_AFTER * 4;
    const sizes = [want * 8, want * 8, want * 4, want * 2];
    const buffer = new ArrayBuffer(want * REGION_BYTES + (big && place ? place.slack : 0));
    const at = big && place ? place.offsets(buffer, sizes) : [0, want * 8, want * 16, want * 20];
    this.startPage = new Float64Array(buffer, at[0], want);
    this.endPage = new Float64Array(buffer, at[1], want);
    this.vmaIndex = new Int32Array(buffer, at[2], want);
    this.categories = new Uint16Array(buffer, at[3], want);
    this.hugeAt = big ? HUGE_AFTER : Infinity;
    return true;
  }

  push(startPage: number, endPage: number, categories: number, vmaIndex: number): void {
    const n = this.length;
    if (
      n > 0 &&
      this.endPage[n - 1] === startPage &&
      this.categories[n - 1] === categories &&
      this.vmaIndex[n - 1] === vmaIndex
    ) {
      this.endPage[n - 1] = endPage;
      return;
    }
    if (n === this.startPage.length) this.grow(n + 1);
    this.startPage[n] = startPage;
    this.endPage[n] = endPage;
    this.categories[n] = categories;
    this.vmaIndex[n] = vmaIndex;
    this.length = n + 1;
  }

  /**
   * Makes room for at least `capacity` regions (doubling, contents kept). For writers that fill
   * the arrays directly with a local cursor (the scan backend's decode loop): after this, the
   * arrays may be new objects, so read them again.
   */
  reserve(capacity: number): void {
    if (this.startPage.length < capacity) this.grow(capacity);
  }

  /** Total pages covered. */
  pageCount(): number {
    let pages = 0;
    for (let i = 0; i < this.length; i++) pages += this.endPage[i] - this.startPage[i];
    return pages;
  }

  /** Pages covered by regions whose categories satisfy `(cats & mask) === mask`. */
  pagesWith(mask: number): number {
    let pages = 0;
    for (let i = 0; i < this.length; i++)
      if ((this.categories[i] & mask) === mask) pages += this.endPage[i] - this.startPage[i];
    return pages;
  }

  /** Categories of one page, or -1 when no region covers it. Binary search; regions are sorted. */
  categoriesAt(page: number): number {
    let lo = 0;
    let hi = this.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.endPage[mid] <= page) lo = mid + 1;
      else if (this.startPage[mid] > page) hi = mid - 1;
      else return this.categories[mid];
    }
    return -1;
  }

  /** A trimmed copy (for sending or keeping past the next scan). */
  snapshot(): RegionList {
    const copy = new RegionList(Math.max(1, this.length));
    copy.startPage.set(this.startPage.subarray(0, this.length));
    copy.endPage.set(this.endPage.subarray(0, this.length));
    copy.categories.set(this.categories.subarray(0, this.length));
    copy.vmaIndex.set(this.vmaIndex.subarray(0, this.length));
    copy.length = this.length;
    return copy;
  }

  /** One reallocation to the first doubling that holds `capacity` (at least 16). */
  private grow(capacity: number): void {
    let cap = Math.max(16, this.startPage.length * 2); // a list made with capacity 0 grows too
    while (cap < capacity) cap *= 2;
    const n = this.length; // only the regions are copied, not the unused tail
    const s = new Float64Array(cap);
    s.set(this.startPage.subarray(0, n));
    this.startPage = s;
    const e = new Float64Array(cap);
    e.set(this.endPage.subarray(0, n));
    this.endPage = e;
    const c = new Uint16Array(cap);
    c.set(this.categories.subarray(0, n));
    this.categories = c;
    const v = new Int32Array(cap);
    v.set(this.vmaIndex.subarray(0, n));
    this.vmaIndex = v;
    this.grows++;
  }
}
