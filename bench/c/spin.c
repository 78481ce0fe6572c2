/* The per-tick cost probe (bench case 11i, issue 22): a CPU-bound loop of fixed work units that
 * reports its own work per CPU-second, so what watching costs it is read off its CPU time per
 * unit, not off a throughput that swings with the machine's load.
 *   spin MIB        two mappings of MIB MiB each, every page touched: W (written while
 *                   spinning) and Q (never written again: a watch armed on it scans and finds
 *                   nothing, so it costs no fault and no flush)
 * It prints "ready WSTART WEND QSTART QEND PID" (hex addresses) and obeys stdin lines:
 *   "s MS READS EVERY [SPAN]"
 *                       spin for MS ms of wall time: each unit is 2,000 steps of arithmetic and
 *                       READS reads of random pages of W's first SPAN pages (default 1,024, 4 MiB:
 *                       a set the TLB holds, so a flush of it is paid as page walks; all of W: a
 *                       working set the TLB and caches do not hold, as redis's), and every EVERY-th
 *                       unit writes one random page of W; answers
 *                       "ok UNITS CPU_NS WALL_NS NIVCSW" (the thread's CPU time and involuntary
 *                       context switches over the run)
 *   "q" or EOF          exit
 * It dies with its parent (PR_SET_PDEATHSIG) and after 30 minutes (alarm). */
#include "common.h"
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#define HOT_PAGES 1024UL

static uint64_t ns_of(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static long nivcsw(void) {
  struct rusage u;
  getrusage(RUSAGE_THREAD, &u);
  return u.ru_nivcsw;
}

static char *map_touched(size_t pages) {
  char *m = mmap(0, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (m == MAP_FAILED) die("mmap");
  madvise(m, pages * PAGE, MADV_NOHUGEPAGE);
  for (size_t i = 0; i < pages; i++) m[i * PAGE] = 1;
  return m;
}

int main(int argc, char **argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() == 1) return 1;
  alarm(1800);
  if (argc < 2) {
    fprintf(stderr, "usage: spin MIB\n");
    return 2;
  }
  size_t pages = strtoull(argv[1], 0, 10) << (20 - 12);
  if (pages < HOT_PAGES) {
    fprintf(stderr, "spin: at least 4 MiB\n");
    return 2;
  }
  char *w = map_touched(pages);
  char *q = map_touched(pages);
  printf("ready %lx %lx %lx %lx %d\n", (unsigned long)w, (unsigned long)(w + pages * PAGE),
         (unsigned long)q, (unsigned long)(q + pages * PAGE), (int)getpid());
  fflush(stdout);
  char line[128];
  volatile uint64_t sink = 0;
  uint64_t x = 88172645463325252ULL, a = 1;
  while (fgets(line, sizeof line, stdin)) {
    if (line[0] == 'q') break;
    unsigned long ms = 0, reads = 0, every = 1, span = HOT_PAGES;
    if (sscanf(line, "s %lu %lu %lu %lu", &ms, &reads, &every, &span) < 1 || !every || !span ||
        span > pages) {
      printf("error bad command\n");
      fflush(stdout);
      continue;
    }
    long sw0 = nivcsw();
    uint64_t cpu0 = ns_of(CLOCK_THREAD_CPUTIME_ID), wall0 = ns_of(CLOCK_MONOTONIC);
    uint64_t end = wall0 + ms * 1000000ULL, units = 0, sum = 0;
    while (ns_of(CLOCK_MONOTONIC) < end) {
      for (int k = 0; k < 64; k++, units++) {
        for (int i = 0; i < 2000; i++) a = a * 6364136223846793005ULL + 1442695040888963407ULL;
        for (unsigned long r = 0; r < reads; r++) {
          x ^= x << 13;
          x ^= x >> 7;
          x ^= x << 17;
          sum += (unsigned char)w[(x % span) * PAGE + (x >> 52)];
        }
        if (units % every == 0) {
          x ^= x << 13;
          x ^= x >> 7;
          x ^= x << 17;
          w[(x % pages) * PAGE + 8] = (char)a;
        }
      }
    }
    uint64_t cpu = ns_of(CLOCK_THREAD_CPUTIME_ID) - cpu0, wall = ns_of(CLOCK_MONOTONIC) - wall0;
    sink += sum + a;
    printf("ok %llu %llu %llu %ld\n", (unsigned long long)units, (unsigned long long)cpu,
           (unsigned long long)wall, nivcsw() - sw0);
    fflush(stdout);
  }
  return (int)(sink & 0);
}
