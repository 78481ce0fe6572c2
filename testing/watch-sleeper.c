/* Test fixture: blocks in nanosleep, read and futex in turn and prints how each call ended, so a
 * test can attach pagescope while the thread is inside each of them and check the call was
 * restarted and completed exactly as without us (right result, no EINTR, no double sleep). */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long ms_since(const struct timespec *a) {
  struct timespec b;
  clock_gettime(CLOCK_MONOTONIC, &b);
  return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

int main(void) {
  struct timespec t0, d = {3, 0};
  static int word = 0;
  char buf[64];
  setvbuf(stdout, NULL, _IONBF, 0);
  printf("ready nanosleep\n");
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int r = nanosleep(&d, NULL);
  printf("nanosleep %d %d %ld\n", r, r ? errno : 0, ms_since(&t0));
  printf("ready read\n");
  ssize_t n = read(0, buf, sizeof buf);
  printf("read %zd %d %.*s", n, n < 0 ? errno : 0, (int)(n > 0 ? n : 0), buf);
  printf("ready futex\n");
  struct timespec to = {3, 0};
  clock_gettime(CLOCK_MONOTONIC, &t0);
  long f = syscall(SYS_futex, &word, FUTEX_WAIT_PRIVATE, 0, &to, NULL, 0);
  printf("futex %ld %d %ld\n", f, f ? errno : 0, ms_since(&t0));
  return 0;
}
