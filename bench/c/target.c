/* The benchmark target: a process whose memory layout the benchmark creates, then waits.
 *   target sparse GIB TOUCHED     MAP_NORESERVE reservation of GIB GiB, TOUCHED pages written
 *                                 at an even stride
 *   target holes PAGES            PAGES written, then every third page dropped (MADV_DONTNEED):
 *                                 about PAGES*2/3 regions
 *   target watch PAGES [self]     PAGES written; with "self" the target registers them itself
 *                                 with userfaultfd async write-protect (and keeps the fd)
 *   target halves GIB             MAP_NORESERVE reservation of GIB GiB, every other page of its
 *                                 first half written: about GIB * 2^17 regions (~1M at 8 GiB)
 * It prints "ready START END PID" (hex addresses of the mapping, its pid) and then obeys stdin lines:
 *   "w STRIDE"  write one byte to every STRIDE-th page, answer "ok COUNT"
 *   "r MS"      write one byte to random pages (xorshift) for MS ms, answer "ok WRITES"
 *   "r MS SLOT" the same, answer "ok WRITES START_NS W1 W2 ...": the writes of each SLOT ms
 *               (CLOCK_MONOTONIC start, so a caller can line its own events up with them)
 *   "q" or EOF  exit
 * It dies with its parent (PR_SET_PDEATHSIG) so a crashed benchmark leaves nothing behind. */
#include "common.h"
#include <signal.h>
#include <sys/prctl.h>

/* `count` writes of one byte to random pages (xorshift state *x); returns n + count. */
static uint64_t write_random(char *base, size_t pages, uint64_t *x, uint64_t n, int count) {
  for (int k = 0; k < count; k++, n++) {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    base[(*x % pages) * PAGE + (n & 4095)] = (char)n;
  }
  return n;
}

int main(int argc, char **argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1;
  if (argc < 3) {
    fprintf(stderr, "usage: target sparse GIB TOUCHED | holes PAGES | watch PAGES [self] | halves GIB\n");
    return 2;
  }
  const char *mode = argv[1];
  size_t pages;
  char *base;
  if (!strcmp(mode, "sparse")) {
    if (argc < 4) return 2;
    pages = strtoull(argv[2], 0, 10) << (30 - 12);
    size_t touched = strtoull(argv[3], 0, 10);
    base = mmap(0, pages * PAGE, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) die("mmap");
    madvise(base, pages * PAGE, MADV_NOHUGEPAGE);
    size_t stride = touched ? pages / touched : pages;
    for (size_t i = 0; i < touched; i++) base[i * stride * PAGE] = 1;
  } else if (!strcmp(mode, "halves")) {
    pages = strtoull(argv[2], 0, 10) << (30 - 12);
    base = mmap(0, pages * PAGE, PROT_READ | PROT_WRITE,
                MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == MAP_FAILED) die("mmap");
    madvise(base, pages * PAGE, MADV_NOHUGEPAGE);
    for (size_t i = 0; i < pages / 2; i += 2) base[i * PAGE] = 1;
  } else if (!strcmp(mode, "holes") || !strcmp(mode, "watch")) {
    pages = strtoull(argv[2], 0, 10);
    base = mmap(0, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) die("mmap");
    madvise(base, pages * PAGE, MADV_NOHUGEPAGE);
    for (size_t i = 0; i < pages; i++) base[i * PAGE] = 1;
    if (!strcmp(mode, "holes")) {
      for (size_t i = 2; i < pages; i += 3)
        if (madvise(base + i * PAGE, PAGE, MADV_DONTNEED)) die("madvise");
    } else if (argc > 3 && !strcmp(argv[3], "self")) {
      uffd_wp_async_register(base, pages * PAGE);
    }
  } else {
    fprintf(stderr, "unknown mode %s\n", mode);
    return 2;
  }
  printf("ready %lx %lx %d\n", (unsigned long)base, (unsigned long)(base + pages * PAGE), (int)getpid());
  fflush(stdout);
  char line[128];
  unsigned char value = 2;
  while (fgets(line, sizeof line, stdin)) {
    if (line[0] == 'q') break;
    if (line[0] == 'r') {
      char *rest;
      uint64_t ms = strtoull(line + 1, &rest, 10);
      uint64_t slot_ms = strtoull(rest, 0, 10);
      uint64_t start = now_ns(), until = start + ms * 1000000ULL;
      uint64_t x = 88172645463325252ULL, n = 0;
      if (!slot_ms) {
        do n = write_random(base, pages, &x, n, 1024);
        while (now_ns() < until);
        printf("ok %lu\n", (unsigned long)n);
      } else {
        /* The writes of every SLOT_MS slot, to see when a tick's faults slow the writer. Time is
         * read every 64 writes so a slot boundary is not missed by much while writes fault. */
        size_t slots = (ms + slot_ms - 1) / slot_ms;
        uint64_t *counts = calloc(slots, sizeof *counts);
        if (!counts) die("calloc");
        uint64_t t = start;
        do {
          n = write_random(base, pages, &x, n, 64);
          t = now_ns();
          size_t s = (t - start) / (slot_ms * 1000000ULL);
          counts[s < slots ? s : slots - 1] += 64;
        } while (t < until);
        printf("ok %lu %lu", (unsigned long)n, (unsigned long)start);
        for (size_t s = 0; s < slots; s++) printf(" %lu", (unsigned long)counts[s]);
        printf("\n");
        free(counts);
      }
      fflush(stdout);
    }
    if (line[0] == 'w') {
      size_t stride = strtoull(line + 1, 0, 10);
      if (!stride) stride = 1;
      size_t n = 0;
      for (size_t i = 0; i < pages; i += stride, n++) base[i * PAGE] = value;
      value++;
      printf("ok %zu\n", n);
      fflush(stdout);
    }
  }
  return 0;
}
