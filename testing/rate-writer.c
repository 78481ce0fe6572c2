/* Test fixture (core/exporter tests, bench): dirties memory at a known rate. It writes one byte to
 * RATE pages per second of a REGION-page anonymous mapping (REGION a multiple of 512), in steps of
 * about RATE/100 pages every 10 ms on an absolute clock (so a late step catches up and the rate over
 * any second stays RATE; step k writes RATE*(k+1)/100 - RATE*k/100 pages, so a RATE that is not a
 * multiple of 100 is kept too: 250 was written as 2 a step, 200 pages/s, until 5 Dec 2026). It goes round the region striding across its 2 MiB blocks (page k of
 * block 0, of block 1, ..., then page k+1 of each), so every block gets its share of each tick's
 * writes: a watch that samples whole blocks (core/watch/watcher.ts) sees the rate, not a burst
 * when the writer passes its block. Each page is written once per round: while a round takes
 * longer than the watcher's tick, every write of a tick is a distinct page, and the dirty rate is
 * exactly RATE x 4096 bytes per second. Usage: rate-writer RATE REGION [SECONDS] (ends by itself after
 * SECONDS, default 300, so a test that dies leaves nothing running for long). Prints "ready"
 * once the region is touched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: rate-writer RATE REGION [SECONDS]\n");
    return 2;
  }
  long rate = atol(argv[1]);
  long region = atol(argv[2]);
  alarm(argc > 3 ? atoi(argv[3]) : 300);
  if (rate < 100 || region < 512 || region % 512) return 2;
  long blocks = region / 512;
  /* The region starts on a 2 MiB boundary, so its blocks are the watcher's sample blocks. */
  char *raw = mmap(NULL, (size_t)(region + 512) * 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return 1;
  char *mem = (char *)(((unsigned long)raw + (2UL << 20) - 1) & ~((2UL << 20) - 1));
  madvise(mem, (size_t)region * 4096, MADV_NOHUGEPAGE);
  memset(mem, 1, (size_t)region * 4096);
  printf("ready\n");
  fflush(stdout);
  long at = 0, k = 0;
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  for (unsigned char v = 2;; v++, k++) {
    long step = rate * (k % 100 + 1) / 100 - rate * (k % 100) / 100;
    for (long i = 0; i < step; i++) {
      mem[((at % blocks) * 512 + at / blocks) * 4096] = (char)v;
      if (++at == region) at = 0;
    }
    next.tv_nsec += 10 * 1000 * 1000;
    if (next.tv_nsec >= 1000000000L) {
      next.tv_nsec -= 1000000000L;
      next.tv_sec++;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
  }
}
