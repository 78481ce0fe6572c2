/* What a tick's re-protect costs the target beyond its faults: the TLB flush.
 *
 * The kernel (fs/proc/task_mmu.c pagemap_scan_pmd_entry) write-protects the written pages of
 * each page table (2 MiB block) it walks and then calls flush_tlb_range(vma, start, addr) with
 * `start` the FIRST re-protected page and `addr` where the walk of that block stopped (the
 * block's end, or the VMA's or the scanned range's end if sooner), not the last re-protected
 * page. On x86 (arch/x86/mm/tlb.c get_flush_tlb_info) a range of more than
 * tlb_single_page_flush_ceiling (33) pages becomes a flush of the whole TLB of that mm, sent to
 * every CPU it runs on; a shorter one is one invlpg per page.
 *
 * The target (a forked child): a reader thread chases pointers through W pages (one cache line
 * per page, a random cycle), pinned to CPU 0, and after every tick writes K pages in each of B
 * 2 MiB blocks of a region registered for userfaultfd async write-protect. The protector (a
 * process of its own pinned to CPU 1, as pagescope is; or a thread of the target with
 * `same`) re-protects the region with PAGEMAP_SCAN WP_MATCHING every INTERVAL ms (with an
 * output vector and category WRITTEN, as pagescope's tick does). Modes, interleaved round by
 * round (each part: one tick to settle, then T ticks measured):
 *   none   nothing written (the scan still runs)
 *   high   the last K pages of each block: flush range K pages (<= 33: invlpg)
 *   low    the first K pages of each block: flush range 512 pages (whole TLB)
 *   spread K pages spread over each block: flush range ~512 pages (whole TLB)
 * Every mode but `none` takes the same K x B faults a tick. The reader's CPU time (its thread
 * clock) per chase, median over the rounds, gives what each mode added per tick and per block.
 *
 * usage: tlbflush W B K ROUNDS [other|same|samecpu|free] [INTERVAL_MS]
 *   other: protector process on CPU 1 (default); same: a thread of the target on CPU 1;
 *   samecpu: protector process on the reader's CPU 0; free: nothing pinned
 * env: SHARED=1 the written region is shared memory (shmem); NAP_US=N the reader sleeps N us
 *   after each chunk of 512 chases; FULL=1 a scan's excess is the reader's whole next interval
 *   (every unpreempted chunk over the interval's median), not 3 ms after it and 2 ms before
 *   (under a CPU hog a preemption can outlast the head window and hide the refill after it)
 * prints one line per mode: ns per chase, us added per tick and per block against `none`.
 */
#include "common.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#define BLOCK_PAGES 512UL
#define MODES 4
static const char *mode_name[MODES] = {"none", "high", "low", "spread"};

struct ctl {
  volatile uint64_t tick;
  volatile int mode;
  volatile int stop;
  volatile int ready;
  volatile uint64_t region, region_len;
  volatile uint64_t scan_ns[MODES], scans[MODES];
};

static struct ctl *ctl;
static char *region;
static size_t region_len;
static unsigned long nblocks, kpages, interval_ms = 100;
static int protector_cpu = 1, reader_cpu = 0;

static void pin(int cpu) {
  if (cpu < 0) return;
  cpu_set_t s;
  CPU_ZERO(&s);
  CPU_SET(cpu, &s);
  if (sched_setaffinity(0, sizeof s, &s)) die("sched_setaffinity");
}

static uint64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Every INTERVAL ms: PAGEMAP_SCAN WP_MATCHING over the region, with a vector (as a tick). */
static void protect_loop(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/pagemap", pid);
  int pm = open(path, O_RDONLY);
  if (pm < 0) die("open pagemap");
  static struct page_region vec[8192];
  struct timespec next;
  clock_gettime(CLOCK_MONOTONIC, &next);
  while (!ctl->stop) {
    next.tv_nsec += (long)interval_ms * 1000000L;
    while (next.tv_nsec >= 1000000000L) {
      next.tv_nsec -= 1000000000L;
      next.tv_sec++;
    }
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    int mode = ctl->mode;
    uint64_t a = thread_cpu_ns();
    uint64_t start = (uint64_t)region, end = start + region_len;
    for (;;) {
      struct pm_scan_arg arg = {0};
      arg.size = sizeof arg;
      arg.flags = PM_SCAN_WP_MATCHING | PM_SCAN_CHECK_WPASYNC;
      arg.start = start;
      arg.end = end;
      arg.vec = (uint64_t)vec;
      arg.vec_len = 8192;
      arg.category_mask = PAGE_IS_WRITTEN;
      arg.return_mask = PAGE_IS_WRITTEN;
      long n = ioctl(pm, PAGEMAP_SCAN_IOCTL, &arg);
      if (n < 0) {
        if (errno == ESRCH || ctl->stop) return; /* the target has finished */
        die("PAGEMAP_SCAN");
      }
      if (n < 8192 || arg.walk_end >= end) break;
      start = arg.walk_end;
    }
    ctl->scan_ns[mode] += thread_cpu_ns() - a;
    ctl->scans[mode]++;
    __atomic_add_fetch(&ctl->tick, 1, __ATOMIC_SEQ_CST);
  }
  close(pm);
}

static void *protector_thread(void *arg) {
  (void)arg;
  pin(protector_cpu);
  protect_loop(getpid());
  return NULL;
}


static inline uint64_t rdtsc(void) {
  unsigned lo, hi;
  __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
  return ((uint64_t)hi << 32) | lo;
}

static double tsc_per_ns(void) {
  uint64_t a = now_ns(), t = rdtsc();
  while (now_ns() - a < 50000000ULL) {
  }
  return (double)(rdtsc() - t) / (double)(now_ns() - a);
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double quantile(double *v, size_t n, double q) {
  if (!n) return 0;
  qsort(v, n, sizeof *v, cmp_d);
  double x = (double)(n - 1) * q;
  size_t lo = (size_t)x;
  return v[lo] + (v[lo + 1 < n ? lo + 1 : lo] - v[lo]) * (x - (double)lo);
}

/* What the reader's chunks cost between two ticks: the median of the middle half. */
static double chunk_base(const uint64_t *c, size_t n) {
  if (n < 8) return n ? (double)c[0] : 0;
  size_t m = n / 2;
  double *t = malloc(m * sizeof *t);
  for (size_t i = 0; i < m; i++) t[i] = (double)c[n / 4 + i];
  double b = quantile(t, m, 0.5);
  free(t);
  return b;
}

/* The time the chunks of the first (or last) `span` tsc ticks of an interval took beyond
 * `base` each; a chunk over PREEMPTED x base was preempted (another task ran): left out. */
#define PREEMPTED 40
#define HEAD_NS 3000000.0
#define TAIL_NS 2000000.0
static double window_excess(const uint64_t *c, size_t n, double base, double span, int fromEnd,
                            unsigned long *skipped) {
  double sum = 0, spent = 0;
  for (size_t k = 0; k < n && spent < span; k++) {
    size_t i = fromEnd ? n - 1 - k : k;
    double d = (double)c[i];
    spent += d;
    if (d > PREEMPTED * base) {
      ++*skipped;
      continue;
    }
    sum += d - base;
  }
  return sum;
}

static void write_mode(int mode, unsigned char v) {
  if (mode == 0) return;
  for (unsigned long b = 0; b < nblocks; b++) {
    char *blk = region + b * BLOCK_PAGES * PAGE;
    for (unsigned long j = 0; j < kpages; j++) {
      unsigned long p = mode == 1   ? BLOCK_PAGES - kpages + j
                        : mode == 2 ? j
                                    : j * (BLOCK_PAGES / kpages) + BLOCK_PAGES / kpages / 2;
      blk[p * PAGE + 128] = (char)v;
    }
  }
}

int main(int argc, char **argv) {
  if (argc < 5) {
    fprintf(stderr, "usage: %s W B K ROUNDS [other|same|samecpu|free] [INTERVAL_MS]\n",
            argv[0]);
    return 2;
  }
  unsigned long w = strtoul(argv[1], 0, 10);
  nblocks = strtoul(argv[2], 0, 10);
  kpages = strtoul(argv[3], 0, 10);
  int rounds = atoi(argv[4]);
  const char *where = argc > 5 ? argv[5] : "other";
  if (argc > 6) interval_ms = strtoul(argv[6], 0, 10);
  if (strcmp(where, "other") && strcmp(where, "same") && strcmp(where, "samecpu") &&
      strcmp(where, "free")) {
    fprintf(stderr, "unknown placement %s: other, same, samecpu or free\n", where);
    return 2;
  }
  if (rounds < 1) {
    fprintf(stderr, "ROUNDS must be at least 1\n");
    return 2;
  }
  int same = !strcmp(where, "same");
  if (!strcmp(where, "free")) protector_cpu = reader_cpu = -1;
  if (!strcmp(where, "samecpu")) protector_cpu = 0; /* another process, on the reader's CPU */
  if (kpages < 1 || kpages > BLOCK_PAGES / 2) {
    fprintf(stderr, "K out of range\n");
    return 2;
  }

  ctl = mmap(0, sizeof *ctl, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (ctl == MAP_FAILED) die("mmap ctl");
  memset((void *)ctl, 0, sizeof *ctl);

  pid_t target = fork();
  if (target < 0) die("fork");
  if (target == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    /* The write region: B blocks of 2 MiB, aligned, 4 KiB pages, all populated, watched. */
    region_len = nblocks * BLOCK_PAGES * PAGE;
    size_t span = region_len + (2UL << 20);
    /* SHARED=1: shared anonymous memory (shmem, as postgres's shared buffers). */
    int shared = getenv("SHARED") && atoi(getenv("SHARED"));
    char *raw = mmap(0, span, PROT_READ | PROT_WRITE,
                     (shared ? MAP_SHARED : MAP_PRIVATE) | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) die("mmap region");
    region = (char *)(((uintptr_t)raw + (2UL << 20) - 1) & ~((2UL << 20) - 1));
    madvise(region, region_len, MADV_NOHUGEPAGE);
    memset(region, 1, region_len);
    int uffd = uffd_wp_async_register(region, region_len);
    (void)uffd;
    /* The working set: W pages, one line each, a random cycle (Sattolo). */
    char *ws = mmap(0, w * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ws == MAP_FAILED) die("mmap ws");
    madvise(ws, w * PAGE, MADV_NOHUGEPAGE);
    memset(ws, 0, w * PAGE);
    unsigned long *perm = malloc(w * sizeof *perm);
    for (unsigned long i = 0; i < w; i++) perm[i] = i;
    srand(12345);
    for (unsigned long i = w - 1; i > 0; i--) {
      unsigned long j = (unsigned long)rand() % i;
      unsigned long t = perm[i];
      perm[i] = perm[j];
      perm[j] = t;
    }
#define NODE(p) ((void **)(ws + (p) * PAGE + ((p) * 7 % 64) * 64))
    for (unsigned long i = 0; i < w; i++) *NODE(i) = NODE(perm[i]);
    free(perm);
    pthread_t th;
    if (same) pthread_create(&th, NULL, protector_thread, NULL);
    else {
      ctl->region = (uint64_t)region;
      ctl->region_len = region_len;
      ctl->ready = 1;
    }
    pin(reader_cpu);
    void **p = NODE(0);
    /* The reader's time, chunk by chunk (rdtsc: cheap enough to time ~1-25 us chunks). */
    double tscPerNs = tsc_per_ns();
    unsigned napUs = getenv("NAP_US") ? (unsigned)atoi(getenv("NAP_US")) : 0;
    int full = getenv("FULL") && atoi(getenv("FULL"));
    size_t cap = 1 << 20;
    uint64_t *cur = malloc(cap * sizeof *cur);
    size_t ncur = 0;
    double tailPrev = 0;
    int modePrev = -1, modePrev2 = -1;
    uint64_t seen = ctl->tick;
    unsigned char v = 0;
    /* events: the measured ticks over all modes (ROUNDS each), and each mode's array size. */
    unsigned long events = (unsigned long)rounds * MODES, got = 0, skipped = 0;
    double *excess[MODES], *writeUs[MODES];
    size_t nex[MODES] = {0}, nwr[MODES] = {0};
    for (int m = 0; m < MODES; m++) {
      excess[m] = malloc(events * sizeof(double));
      writeUs[m] = malloc(events * sizeof(double));
    }
    unsigned long tickNo = 0;
    while (got < events && tickNo < events + 20) {
      uint64_t a = rdtsc();
      for (int c = 0; c < 512; c++) p = (void **)*p;
      uint64_t d = rdtsc() - a;
      if (ncur < cap) cur[ncur++] = d;
      /* NAP_US: the reader blocks that long after each chunk (a server waiting on its client):
       * a flush that comes while it is off its CPU is paid as a whole flush when it is back. */
      if (napUs) usleep(napUs);
      uint64_t t = ctl->tick;
      if (t == seen) continue;
      seen = t;
      tickNo++;
      /* cur: the reader's chunks between the previous tick and this one. */
      double base = chunk_base(cur, ncur);
      double head = window_excess(cur, ncur, base, full ? 1e30 : HEAD_NS * tscPerNs, 0, &skipped);
      double tail = full ? 0 : window_excess(cur, ncur, base, TAIL_NS * tscPerNs, 1, &skipped);
      /* The window tailPrev + head straddles the PREVIOUS tick's scan, which re-protected what
       * was written the tick before it: modePrev2 (modePrev was written after that scan). */
      if (modePrev2 >= 0 && tickNo > 3 && nex[modePrev2] < events) {
        excess[modePrev2][nex[modePrev2]++] = (tailPrev + head) / tscPerNs / 1000.0;
        got++;
      }
      tailPrev = tail;
      ncur = 0; /* the next tick's chunks */
      int m = (int)(tickNo % MODES);
      ctl->mode = m;
      uint64_t w0 = rdtsc();
      write_mode(m, ++v);
      double wus = (double)(rdtsc() - w0) / tscPerNs / 1000.0;
      if (tickNo > 3 && nwr[m] < events) writeUs[m][nwr[m]++] = wus;
      modePrev2 = modePrev;
      modePrev = m;
      if (nex[0] >= (size_t)rounds && nex[1] >= (size_t)rounds && nex[2] >= (size_t)rounds &&
          nex[3] >= (size_t)rounds)
        break;
    }
    ctl->stop = 1;
    if (same) pthread_join(th, NULL);
    double none = quantile(excess[0], nex[0], 0.5);
    for (int m = 0; m < MODES; m++) {
      double med = quantile(excess[m], nex[m], 0.5);
      double q1 = quantile(excess[m], nex[m], 0.25), q3 = quantile(excess[m], nex[m], 0.75);
      double wr = quantile(writeUs[m], nwr[m], 0.5);
      printf("W %lu B %lu K %lu %s mode %-6s scan excess us %.1f (%.1f-%.1f) n %zu, over none "
             "%.1f = %.2f per block; writes us %.1f (%.2f per page) protector us/scan %.1f "
             "skipped %lu p %p\n",
             w, nblocks, kpages, where, mode_name[m], med, q1, q3, nex[m], med - none,
             (med - none) / (double)nblocks, wr, m ? wr / (double)(nblocks * kpages) : 0.0,
             ctl->scans[m] ? ctl->scan_ns[m] / 1000.0 / ctl->scans[m] : 0.0, skipped, (void *)p);
    }
    fflush(stdout);
    _exit(0);
  }
  if (!same) {
    while (!ctl->ready) usleep(1000);
    pid_t prot = fork();
    if (prot == 0) {
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      pin(protector_cpu);
      region = (char *)ctl->region; /* computed by the target after the fork */
      region_len = ctl->region_len;
      protect_loop(target);
      _exit(0);
    }
    int st;
    waitpid(target, &st, 0);
    ctl->stop = 1;
    waitpid(prot, &st, 0);
  } else {
    int st;
    waitpid(target, &st, 0);
  }
  return 0;
}
