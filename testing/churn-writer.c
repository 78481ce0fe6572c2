/* Test fixture (core/watch attach tests): a busy process whose mappings keep changing. One thread
 * does nothing but churn its address space and write: it keeps SLOTS small anonymous mappings
 * alive and, as fast as it can, unmaps one at random, maps a new one of 1 to 64 pages in its place
 * (the kernel often hands back the same or an adjacent address, so VMAs also merge and split),
 * writes its pages, turns every third one's second half read-only (a VMA split), and writes the
 * next page of a STABLE-page anonymous region that is never unmapped (a VMA of its own, between
 * guard pages). So, at any instant, some
 * VMAs are being replaced while a large part of the writable memory (the stable region, the heap,
 * the stack) does not change: what a registration must cope with on a busy server (postgres's
 * backends map and unmap their work memory). Usage: churn-writer STABLE SLOTS [SECONDS] (ends by
 * itself after SECONDS, default 300, so a test that dies leaves nothing running for long). Prints
 * "ready 0xADDR PAGES" (the stable region) once it has touched it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: churn-writer STABLE SLOTS [SECONDS]\n");
    return 2;
  }
  long stable = atol(argv[1]);
  long slots = atol(argv[2]);
  alarm(argc > 3 ? atoi(argv[3]) : 300);
  if (stable < 1 || slots < 1 || slots > 100000) return 2;
  /* Between two PROT_NONE guard pages, so the churn's mappings never merge with it: its VMA
   * keeps its bounds, as a server's long-lived memory does. */
  char *outer = mmap(NULL, (size_t)(stable + 2) * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS,
                     -1, 0);
  if (outer == MAP_FAILED) return 1;
  char *mem = outer + 4096;
  if (mprotect(mem, (size_t)stable * 4096, PROT_READ | PROT_WRITE)) return 1;
  memset(mem, 1, (size_t)stable * 4096);
  char **slot = calloc((size_t)slots, sizeof *slot);
  size_t *len = calloc((size_t)slots, sizeof *len);
  if (!slot || !len) return 1;
  printf("ready 0x%lx %ld\n", (unsigned long)mem, stable);
  fflush(stdout);
  unsigned long seed = (unsigned long)getpid() * 2654435761UL;
  long at = 0;
  for (unsigned long n = 0;; n++) {
    seed = seed * 6364136223846793005UL + 1442695040888963407UL;
    long i = (long)((seed >> 33) % (unsigned long)slots);
    if (slot[i]) munmap(slot[i], len[i]);
    size_t pages = 1 + (seed >> 20) % 64;
    len[i] = pages * 4096;
    slot[i] = mmap(NULL, len[i], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (slot[i] == MAP_FAILED) {
      slot[i] = NULL;
      continue;
    }
    for (size_t p = 0; p < pages; p++) slot[i][p * 4096] = (char)n;
    if (n % 3 == 0 && pages > 1)
      mprotect(slot[i] + (pages / 2) * 4096, (pages - pages / 2) * 4096, PROT_READ);
    mem[at * 4096] = (char)n;
    if (++at == stable) at = 0;
  }
}
