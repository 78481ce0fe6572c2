/* Write tracking cost inside one process, two ways, on its own memory.
 *   wtrack first PAGES   time the first write to each of PAGES tracked pages:
 *                        (1) userfaultfd async write-protect (UFFD_USER_MODE_ONLY, WP_ASYNC),
 *                            pages protected with PAGEMAP_SCAN WP_MATCHING;
 *                        (2) mprotect(PROT_READ) + a SIGSEGV handler that mprotects the page
 *                            writable again and records it (the classic GetWriteWatch emulation).
 *                        prints "uffd_ns MEDIAN mprotect_ns MEDIAN" (per first write)
 *   wtrack limit PAGES   track PAGES pages both ways and write them scattered (even pages,
 *                        then odd ones), so each tracked write splits the mprotect VMA.
 *                        prints "mprotect_ok N mprotect_errno E uffd_ok N uffd_reported R
 *                        max_map_count M": how many writes each approach tracked before failing. */
#include "common.h"
#include <setjmp.h>
#include <signal.h>

static char *region;
static size_t region_pages;
static volatile size_t tracked;
static volatile int mprotect_errno;
static sigjmp_buf bail;

static void on_segv(int sig, siginfo_t *si, void *ctx) {
  (void)sig;
  (void)ctx;
  char *page = (char *)((uintptr_t)si->si_addr & ~(PAGE - 1));
  if (page < region || page >= region + region_pages * PAGE) {
    signal(SIGSEGV, SIG_DFL);
    return;
  }
  if (mprotect(page, PAGE, PROT_READ | PROT_WRITE)) {
    mprotect_errno = errno;
    siglongjmp(bail, 1); /* the write would fault forever: stop and report */
  }
  tracked++;
}

static char *map_touched(size_t pages) {
  char *p = mmap(0, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) die("mmap");
  madvise(p, pages * PAGE, MADV_NOHUGEPAGE);
  for (size_t i = 0; i < pages; i++) p[i * PAGE] = 1;
  return p;
}

static size_t order(size_t i, size_t pages) {
  /* even pages first, then odd ones: every tracked write lands between protected pages */
  size_t half = (pages + 1) / 2;
  return i < half ? i * 2 : (i - half) * 2 + 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: wtrack first|limit PAGES\n");
    return 2;
  }
  size_t pages = strtoull(argv[2], 0, 10);
  int limit = !strcmp(argv[1], "limit");
  int pm = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
  if (pm < 0) die("open pagemap");

  /* (1) userfaultfd async write-protect */
  char *u = map_touched(pages);
  int uffd = uffd_wp_async_register(u, pages * PAGE);
  if (pm_wp_reset(pm, (uint64_t)u, (uint64_t)(u + pages * PAGE)) < 0) die("PAGEMAP_SCAN wp");
  uint64_t *times = calloc(pages, 8);
  for (size_t i = 0; i < pages; i++) {
    volatile char *p = u + order(i, pages) * PAGE;
    uint64_t t0 = now_ns();
    *p = 2;
    times[i] = now_ns() - t0;
  }
  uint64_t uffd_ns = median_u64(times, pages);
  /* how many written pages the kernel reports (and re-protects) */
  struct page_region *vec = calloc(pages + 1, sizeof *vec);
  struct pm_scan_arg a = {0};
  a.size = sizeof a;
  a.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
  a.start = (uint64_t)u;
  a.end = (uint64_t)(u + pages * PAGE);
  a.vec = (uint64_t)vec;
  a.vec_len = pages + 1;
  a.category_mask = a.return_mask = PAGE_IS_WRITTEN;
  long n = ioctl(pm, PAGEMAP_SCAN_IOCTL, &a);
  if (n < 0) die("PAGEMAP_SCAN get");
  uint64_t reported = 0;
  for (long i = 0; i < n; i++) reported += (vec[i].end - vec[i].start) / PAGE;
  close(uffd);
  munmap(u, pages * PAGE);

  /* (2) mprotect + SIGSEGV */
  region_pages = pages;
  region = map_touched(pages);
  struct sigaction sa = {0};
  sa.sa_sigaction = on_segv;
  sa.sa_flags = SA_SIGINFO;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGSEGV, &sa, 0);
  if (mprotect(region, pages * PAGE, PROT_READ)) die("mprotect");
  size_t done = 0;
  if (sigsetjmp(bail, 1) == 0) {
    for (size_t i = 0; i < pages; i++, done++) {
      volatile char *p = region + order(i, pages) * PAGE;
      uint64_t t0 = now_ns();
      *p = 2;
      times[i] = now_ns() - t0;
    }
  }
  FILE *f = fopen("/proc/sys/vm/max_map_count", "r");
  long mmc = -1;
  if (f) {
    if (fscanf(f, "%ld", &mmc) != 1) mmc = -1;
    fclose(f);
  }
  if (limit) {
    printf("mprotect_ok %zu mprotect_errno %d uffd_ok %zu uffd_reported %lu max_map_count %ld\n",
           (size_t)tracked, mprotect_errno, pages, (unsigned long)reported, mmc);
  } else {
    if (mprotect_errno) {
      fprintf(stderr, "mprotect failed after %zu pages: %s\n", done, strerror(mprotect_errno));
      return 1;
    }
    printf("uffd_ns %lu mprotect_ns %lu uffd_reported %lu\n", (unsigned long)uffd_ns,
           (unsigned long)median_u64(times, pages), (unsigned long)reported);
  }
  return 0;
}
