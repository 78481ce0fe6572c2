/**
 * RegionList: the result of a scan as parallel typed arrays, not one object per region.
 *
 * A worst-case process yields hundreds of thousands of regions per scan, many times a second;
 * objects would cost ~100 bytes each and GC pressure every tick. Here a region is 22 bytes in
 * four arrays that grow by doubling and are reused across scans (`clear()` keeps capacity).
 * Adjacent regions of the same VMA with equal categories are merged on `push`, so a walk that
 * the kernel split into chunks (walk_end) reads the same as one uninterrupted walk.
 */
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

  clear(): void {
    this.length = 0;
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
    if (n === this.startPage.length) this.grow();
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
    while (this.startPage.length < capacity) this.grow();
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

  private grow(): void {
    const cap = Math.max(16, this.startPage.length * 2); // a list made with capacity 0 grows too
    const s = new Float64Array(cap);
    s.set(this.startPage);
    this.startPage = s;
    const e = new Float64Array(cap);
    e.set(this.endPage);
    this.endPage = e;
    const c = new Uint16Array(cap);
    c.set(this.categories);
    this.categories = c;
    const v = new Int32Array(cap);
    v.set(this.vmaIndex);
    this.vmaIndex = v;
  }
}
