/* Test fixture: a process in seccomp STRICT mode (core/watch/safety.test.ts). Any system call
 * other than read, write, exit and rt_sigreturn kills it with SIGKILL, so one injected call is
 * fatal: pagescope must refuse it. It maps and writes 16 pages of its own (something for
 * --writable to pick), says "ready PID", enters strict mode, then answers each byte read on
 * stdin with "ok N" (N counts the answers), writing a page each time. End of input: exit(0).
 * Only raw read/write/exit are used after the prctl (no stdio: it may call fstat). */
#define _GNU_SOURCE
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define PAGES 16

static void say(const char *s) {
  (void)!write(1, s, strlen(s));
}

int main(void) {
  char *mem = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return 1;
  memset(mem, 1, PAGES * 4096);
  char line[64];
  snprintf(line, sizeof line, "ready %d\n", (int)getpid());
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0) {
    say("no-strict\n");
    return 1;
  }
  say(line);
  unsigned long n = 0;
  for (;;) {
    char c;
    if (read(0, &c, 1) != 1) syscall(SYS_exit, 0); /* exit_group would be fatal here */
    n++;
    mem[(n % PAGES) * 4096] = (char)n;
    char out[32];
    int k = 0;
    char digits[24];
    int d = 0;
    unsigned long v = n;
    do digits[d++] = (char)('0' + v % 10); while ((v /= 10) != 0);
    out[k++] = 'o';
    out[k++] = 'k';
    out[k++] = ' ';
    while (d) out[k++] = digits[--d];
    out[k++] = '\n';
    (void)!write(1, out, (size_t)k);
  }
}
