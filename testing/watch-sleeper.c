/* Test fixture: blocks in nanosleep, read and futex in turn and prints how each call ended, so a
 * test can attach pagescope while the thread is inside each of them and check the call was
 * restarted and completed exactly as without us (right result, no EINTR, no double sleep).
 * argv[1]: how long nanosleep and the futex wait last, in ms (3000 by default; a loaded machine's
 * test asks for longer). "ready nanosleep" and "ready futex" carry the CLOCK_MONOTONIC instant
 * (ns) the call's timing starts from, so the test can tell how far into the call its attach was. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long long ns_of(const struct timespec *a) {
  return (long long)a->tv_sec * 1000000000LL + a->tv_nsec;
}

static long ms_since(const struct timespec *a) {
  struct timespec b;
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

int main(int argc, char **argv) {
  long ms = argc > 1 ? atol(argv[1]) : 3000;
  struct timespec t0, d = {ms / 1000, (ms % 1000) * 1000000L};
  static int word = 0;
  char buf[64];
  setvbuf(stdout, NULL, _IONBF, 0);
  clock_gettime(CLOCK_MONOTONIC, &t0);
  printf("ready nanosleep %lld\n", ns_of(&t0));
  int r = nanosleep(&d, NULL);
  printf("nanosleep %d %d %ld\n", r, r ? errno : 0, ms_since(&t0));
  printf("ready read\n");
  ssize_t n = read(0, buf, sizeof buf);
  printf("read %zd %d %.*s", n, n < 0 ? errno : 0, (int)(n > 0 ? n : 0), buf);
  struct timespec to = d;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  printf("ready futex %lld\n", ns_of(&t0));
  long f = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &to, NULL, 0);
  printf("futex %ld %d %ld\n", f, f ? errno : 0, ms_since(&t0));
  return 0;
}
