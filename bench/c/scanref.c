/* The C reference for the scanner and the watch tick, on another process's memory.
 *   scanref scan PID START END ITERS VECLEN [RETMASK]
 *                                             PAGEMAP_SCAN over [START,END) (hex), chunked by
 *                                             walk_end, regions copied out; ITERS walks
 *   scanref read PID START END ITERS CHUNK    read /proc/PID/pagemap, 8 bytes per page, CHUNK
 *                                             pages per pread, decoded into regions
 *   scanref tick PID START END VECLEN         one get+reset of WRITTEN pages (write-protecting
 *                                             them again) per stdin line; answers "ns N pages P"
 * scan and read print "median_ns N regions R pages P" (median of the per-walk times).
 * The work per region matches pagescope's: the region's page numbers and categories are stored
 * in arrays and adjacent equal regions merged, as RegionList.push does. */
#include "common.h"

static uint64_t *rs, *re, *rc;
static size_t rcap, rlen;

static inline void push(uint64_t s, uint64_t e, uint64_t c) {
  if (rlen && re[rlen - 1] == s && rc[rlen - 1] == c) {
    re[rlen - 1] = e;
    return;
  }
  if (rlen == rcap) {
    rcap = rcap ? rcap * 2 : 4096;
    rs = realloc(rs, rcap * 8);
    re = realloc(re, rcap * 8);
    rc = realloc(rc, rcap * 8);
  }
  rs[rlen] = s;
  re[rlen] = e;
  rc[rlen] = c;
  rlen++;
}

static uint64_t walk_scan(int fd, uint64_t start, uint64_t end, struct page_region *vec,
                          uint64_t veclen, uint64_t flags, uint64_t mask, uint64_t retmask) {
  struct pm_scan_arg a = {0};
  uint64_t pages = 0;
  rlen = 0;
  for (uint64_t cur = start; cur < end;) {
    a.size = sizeof a;
    a.flags = flags;
    a.start = cur;
    a.end = end;
    a.vec = (uint64_t)vec;
    a.vec_len = veclen;
    a.category_mask = mask;
    a.return_mask = retmask;
    long n = ioctl(fd, PAGEMAP_SCAN_IOCTL, &a);
    if (n < 0) die("PAGEMAP_SCAN");
    uint64_t last_end = cur;
    for (long i = 0; i < n; i++) {
      uint64_t s = vec[i].start >> 12, e = vec[i].end >> 12;
      pages += e - s;
      push(s, e, vec[i].categories);
      last_end = vec[i].end;
    }
    /* As pagescope does (pagemap-scan-backend.ts): a call that did not fill the vector walked
     * the whole range (walk_end may be stale then); a full one continues after its last region. */
    if ((uint64_t)n < veclen) break;
    uint64_t next = a.walk_end > last_end ? a.walk_end : last_end;
    if (next <= cur) break;
    cur = next;
  }
  return pages;
}

static inline uint64_t cats_of(uint64_t entry) {
  uint64_t c = 0;
  if (entry >> 63) c |= 1 << 3; /* PRESENT */
  else if ((entry >> 62) & 1) {
    c |= 1 << 4; /* SWAPPED */
    if ((entry >> 58) & 1) c |= 1 << 8; /* GUARD */
  } else return 0;
  if (!((entry >> 57) & 1)) c |= 1 << 1; /* WRITTEN */
  if ((entry >> 61) & 1) c |= 1 << 2;    /* FILE */
  if ((entry >> 55) & 1) c |= 1 << 7;    /* SOFT_DIRTY */
  return c;
}

static uint64_t walk_read(int fd, uint64_t start, uint64_t end, uint64_t *buf, uint64_t chunk) {
  uint64_t pages = 0;
  rlen = 0;
  for (uint64_t p = start >> 12; p < end >> 12; p += chunk) {
    uint64_t count = (end >> 12) - p < chunk ? (end >> 12) - p : chunk;
    ssize_t n = pread(fd, buf, count * 8, (off_t)(p * 8));
    if (n < 0) die("pread pagemap");
    for (uint64_t i = 0; i < (uint64_t)n / 8; i++) {
      uint64_t c = cats_of(buf[i]);
      if (!c) continue;
      push(p + i, p + i + 1, c);
      pages++;
    }
  }
  return pages;
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: scanref scan|read|tick PID START END ...\n");
    return 2;
  }
  char path[64];
  snprintf(path, sizeof path, "/proc/%s/pagemap", argv[2]);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) die(path);
  uint64_t start = strtoull(argv[3], 0, 16), end = strtoull(argv[4], 0, 16);
  if (!strcmp(argv[1], "tick")) {
    uint64_t veclen = strtoull(argv[5], 0, 10);
    struct page_region *vec = calloc(veclen, sizeof *vec);
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
      uint64_t t0 = now_ns();
      uint64_t pages = walk_scan(fd, start, end, vec, veclen,
                                 PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC, PAGE_IS_WRITTEN,
                                 PAGE_IS_WRITTEN);
      uint64_t t1 = now_ns();
      printf("ns %lu pages %lu\n", (unsigned long)(t1 - t0), (unsigned long)pages);
      fflush(stdout);
    }
    return 0;
  }
  if (argc < 7) return 2;
  uint64_t iters = strtoull(argv[5], 0, 10), param = strtoull(argv[6], 0, 10);
  uint64_t *times = calloc(iters, 8), pages = 0;
  int scan = !strcmp(argv[1], "scan");
  uint64_t retmask = argc > 7 ? strtoull(argv[7], 0, 16) : ALL_CATEGORIES;
  struct page_region *vec = scan ? calloc(param, sizeof *vec) : 0;
  uint64_t *buf = scan ? 0 : malloc(param * 8);
  for (uint64_t i = 0; i < iters; i++) {
    uint64_t t0 = now_ns();
    pages = scan ? walk_scan(fd, start, end, vec, param, 0, 0, retmask)
                 : walk_read(fd, start, end, buf, param);
    times[i] = now_ns() - t0;
  }
  printf("median_ns %lu regions %lu pages %lu\n", (unsigned long)median_u64(times, iters),
         (unsigned long)rlen, (unsigned long)pages);
  return 0;
}
