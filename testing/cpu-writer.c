/* Test fixture (core/watch/overhead-load.test.ts): a CPU-bound writer that writes one random
 * page of 64 MiB after every fixed slice of arithmetic, so the pages it writes per tick follow
 * the CPU time it gets. `cpu-writer hog` is a plain busy loop instead. Both end by themselves
 * after 60 s (alarm), so a test that dies leaves nothing running for long. Prints "ready" when
 * the 64 MiB is touched. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGES 16384

int main(int argc, char **argv) {
  volatile unsigned long x = 1;
  alarm(60);
  if (argc > 1 && strcmp(argv[1], "hog") == 0)
    for (;;) x = x * 6364136223846793005UL + 1;
  char *mem = mmap(NULL, (size_t)PAGES * 4096, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return 1;
  madvise(mem, (size_t)PAGES * 4096, MADV_NOHUGEPAGE);
  memset(mem, 1, (size_t)PAGES * 4096);
  printf("ready\n");
  fflush(stdout);
  unsigned long r = 12345;
  for (;;) {
    for (int i = 0; i < 40000; i++) x = x * 6364136223846793005UL + 1;
    r = r * 6364136223846793005UL + 1442695040888963407UL;
    mem[((r >> 33) % PAGES) * 4096] = (char)x;
  }
}
