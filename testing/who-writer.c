/* Test fixture for "who writes it" (issue 23): two threads, named "writer-a" and "writer-b",
 * each writing its own range of PAGES pages from its own function (fill_alpha, fill_beta), so a
 * test knows which thread and which function wrote every page. Built with frame pointers.
 * stdin commands, one per line, each answered "done" once both threads finished:
 *   go     each thread writes every page of its range once (one fault per page when watched)
 *   fresh  each thread drops its range (MADV_DONTNEED) and writes it again (one fault per page
 *          even when nothing watches: a fresh anonymous page)
 *   spawn  starts a third thread "writer-c" that writes its own range once with fill_gamma
 *   forkgo forks a child that writes the child's copy of range A with fill_gamma and exits,
 *          then does what "go" does (same addresses, two address spaces)
 * "done" is followed by the CPU time, in ns, each of writer-a and writer-b spent writing (their
 * thread CPU clocks: the cost of the write faults, without time spent preempted).
 * First line: "ready A B PAGES C" with the ranges' start addresses in hex. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PAGES 256
#define PAGE 4096

static char *range_a, *range_b, *range_c;
static pthread_barrier_t start_bar, done_bar;
static volatile int command; /* 1 go, 2 fresh */
static volatile int round_no;
static long ns_a, ns_b;

static long thread_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
  return t.tv_sec * 1000000000L + t.tv_nsec;
}

__attribute__((noinline)) void fill_alpha(char *p, int n, int v) {
  for (int i = 0; i < n; i++) ((volatile char *)p)[(long)i * PAGE] = (char)(v + i);
}
__attribute__((noinline)) void fill_beta(char *p, int n, int v) {
  for (int i = 0; i < n; i++) ((volatile char *)p)[(long)i * PAGE + 8] = (char)(v ^ i);
}
__attribute__((noinline)) void fill_gamma(char *p, int n, int v) {
  for (int i = 0; i < n; i++) ((volatile char *)p)[(long)i * PAGE + 16] = (char)(v - i);
}

static long work(char *p, void (*fill)(char *, int, int)) {
  if (command == 2) madvise(p, (size_t)PAGES * PAGE, MADV_DONTNEED);
  long t0 = thread_ns();
  fill(p, PAGES, round_no);
  return thread_ns() - t0;
}

static void *thread_a(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "writer-a");
  for (;;) {
    pthread_barrier_wait(&start_bar);
    ns_a = work(range_a, fill_alpha);
    pthread_barrier_wait(&done_bar);
  }
  return NULL;
}
static void *thread_b(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "writer-b");
  for (;;) {
    pthread_barrier_wait(&start_bar);
    ns_b = work(range_b, fill_beta);
    pthread_barrier_wait(&done_bar);
  }
  return NULL;
}
static void *thread_c(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "writer-c");
  fill_gamma(range_c, PAGES, 7);
  return NULL;
}

static char *map(void) {
  char *p = mmap(NULL, (size_t)PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) exit(1);
  madvise(p, (size_t)PAGES * PAGE, MADV_NOHUGEPAGE);
  return p;
}

int main(void) {
  char line[64];
  pthread_t a, b;
  setvbuf(stdout, NULL, _IONBF, 0);
  range_a = map();
  range_b = map();
  range_c = map();
  pthread_barrier_init(&start_bar, NULL, 3);
  pthread_barrier_init(&done_bar, NULL, 3);
  pthread_create(&a, NULL, thread_a, NULL);
  pthread_create(&b, NULL, thread_b, NULL);
  printf("ready %lx %lx %d %lx\n", (unsigned long)range_a, (unsigned long)range_b, PAGES,
         (unsigned long)range_c);
  while (fgets(line, sizeof line, stdin)) {
    if (strncmp(line, "spawn", 5) == 0) {
      pthread_t c;
      pthread_create(&c, NULL, thread_c, NULL);
      pthread_join(c, NULL);
      printf("done\n");
      continue;
    }
    if (strncmp(line, "forkgo", 6) == 0) {
      pid_t child = fork();
      if (child == 0) {
        fill_gamma(range_a, PAGES, 9);
        _exit(0);
      }
      waitpid(child, NULL, 0);
    }
    command = strncmp(line, "fresh", 5) == 0 ? 2 : 1;
    round_no++;
    pthread_barrier_wait(&start_bar);
    pthread_barrier_wait(&done_bar);
    printf("done %ld %ld\n", ns_a, ns_b);
  }
  return 0;
}
