/* Shared by pagescope's benchmark reference programs: the PAGEMAP_SCAN and userfaultfd ABI
 * (the system headers here predate both), a clock, and a median. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096UL
#define PAGEMAP_SCAN_IOCTL 0xc0606610UL
#define PM_SCAN_WP_MATCHING (1UL << 0)
#define PM_SCAN_CHECK_WPASYNC (1UL << 1)
#define PAGE_IS_WPALLOWED (1UL << 0)
#define PAGE_IS_WRITTEN (1UL << 1)
#define ALL_CATEGORIES 0x1ffUL

struct page_region {
  uint64_t start, end, categories;
};
struct pm_scan_arg {
  uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages, category_inverted,
      category_mask, category_anyof_mask, return_mask;
};

#define UFFD_USER_MODE_ONLY 1
#define UFFD_API_ 0xaaUL
#define UFFD_FEATURE_WP_UNPOPULATED_ (1UL << 13)
#define UFFD_FEATURE_WP_ASYNC_ (1UL << 15)
#define UFFDIO_API_ 0xc018aa3fUL
#define UFFDIO_REGISTER_ 0xc020aa00UL
#define UFFDIO_REGISTER_MODE_WP_ (1UL << 1)

struct uffdio_api_ {
  uint64_t api, features, ioctls;
};
struct uffdio_register_ {
  uint64_t start, len, mode, ioctls;
};

static inline uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static inline uint64_t median_u64(uint64_t *v, size_t n) {
  qsort(v, n, sizeof *v, cmp_u64);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static inline void die(const char *what) {
  fprintf(stderr, "%s: %s\n", what, strerror(errno));
  exit(1);
}

/* A userfaultfd for this process with async write-protect, registered on [addr, addr+len). */
static inline int uffd_wp_async_register(void *addr, size_t len) {
  int fd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY);
  if (fd < 0) die("userfaultfd");
  struct uffdio_api_ api = {UFFD_API_, UFFD_FEATURE_WP_ASYNC_ | UFFD_FEATURE_WP_UNPOPULATED_, 0};
  if (ioctl(fd, UFFDIO_API_, &api)) die("UFFDIO_API");
  struct uffdio_register_ reg = {(uint64_t)addr, len, UFFDIO_REGISTER_MODE_WP_, 0};
  if (ioctl(fd, UFFDIO_REGISTER_, &reg)) die("UFFDIO_REGISTER");
  return fd;
}

/* Write-protect every written page of [addr, addr+len) (get+reset with no output vector). */
static inline long pm_wp_reset(int pagemap, uint64_t start, uint64_t end) {
  struct pm_scan_arg a = {0};
  a.size = sizeof a;
  a.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
  a.start = start;
  a.end = end;
  a.category_mask = PAGE_IS_WRITTEN;
  a.return_mask = PAGE_IS_WRITTEN;
  return ioctl(pagemap, PAGEMAP_SCAN_IOCTL, &a);
}
