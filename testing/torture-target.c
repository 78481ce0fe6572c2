/* Test fixture for the attach torture test: a process pagescope must never harm.
 * - two compute threads keep self-checking data (every slot equals its index times a round
 *   number, and a running checksum agrees); any mismatch prints "corrupt" and exits 3;
 * - one thread loops in nanosleep(5 ms) and checks each call returns 0 after at least 5 ms;
 * - the main thread blocks in read() on stdin; for each line "p" it prints
 *   "progress <compute rounds> <sleeps> <line count>", so the test sees every thread move on.
 * Default signal dispositions throughout: a stray SIGTRAP or SIGSEGV kills it visibly.
 * With the argument "nice" the compute threads run at nice 19 (the attach torture's test: they
 * use what CPU is free, and the pagescope under test gets a core, not a share against them);
 * without it (the attach bench's busy target) at the target's own priority. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 4096
static atomic_long rounds, sleeps;
static int nice_compute;

static void *compute(void *arg) {
  static __thread long data[SLOTS];
  long seed = (long)arg;
  if (nice_compute) setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 19); /* this thread */
  for (long round = 1;; round++) {
    long sum = 0;
    for (long i = 0; i < SLOTS; i++) {
      data[i] = i * (round + seed);
      sum += data[i];
    }
    long check = 0;
    for (long i = 0; i < SLOTS; i++) check += data[i];
    long expect = (round + seed) * (long)SLOTS * (SLOTS - 1) / 2;
    if (check != sum || sum != expect || data[SLOTS - 1] != (SLOTS - 1) * (round + seed)) {
      printf("corrupt compute %ld round %ld\n", seed, round);
      exit(3);
    }
    atomic_fetch_add(&rounds, 1);
  }
  return NULL;
}

static long ns_since(const struct timespec *a) {
  struct timespec b;
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (b.tv_sec - a->tv_sec) * 1000000000L + (b.tv_nsec - a->tv_nsec);
}

static void *sleeper(void *arg) {
  (void)arg;
  for (;;) {
    struct timespec t0, d = {0, 5 * 1000000L};
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int r = nanosleep(&d, NULL);
    long ns = ns_since(&t0);
    if (r != 0 || ns < 5 * 1000000L) {
      printf("corrupt nanosleep %d after %ld ns\n", r, ns);
      exit(3);
    }
    atomic_fetch_add(&sleeps, 1);
  }
  return NULL;
}

int main(int argc, char **argv) {
  pthread_t t;
  nice_compute = argc > 1 && strcmp(argv[1], "nice") == 0;
  setvbuf(stdout, NULL, _IONBF, 0);
  pthread_create(&t, NULL, compute, (void *)1L);
  pthread_create(&t, NULL, compute, (void *)2L);
  pthread_create(&t, NULL, sleeper, NULL);
  printf("ready\n");
  char buf[64];
  long lines = 0;
  for (;;) {
    ssize_t n = read(0, buf, sizeof buf);
    if (n == 0) return 0;
    if (n != 2 || memcmp(buf, "p\n", 2) != 0) {
      printf("corrupt read %zd\n", n);
      exit(3);
    }
    lines++;
    printf("progress %ld %ld %ld\n", atomic_load(&rounds), atomic_load(&sleeps), lines);
  }
}
