// Test fixture: a C++ writer, so a sampled fault's function needs demangling
// (pagescope::Painter<char>::paint(char*, int)). Frame pointers on. Prints "ready ADDR PAGES"
// and writes its range again on each "go" line after MADV_DONTNEED (one fault per page).
#include <cstdio>
#include <cstring>
#include <sys/mman.h>

namespace pagescope {
template <typename T> struct Painter {
  __attribute__((noinline)) void paint(T *p, int n) {
    for (int i = 0; i < n; i++) reinterpret_cast<volatile T *>(p)[(long)i * 4096] = (T)i;
  }
};
}  // namespace pagescope

int main() {
  const int pages = 128;
  char *p = (char *)mmap(nullptr, pages * 4096L, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  setvbuf(stdout, nullptr, _IONBF, 0);
  std::printf("ready %lx %d\n", (unsigned long)p, pages);
  char line[32];
  pagescope::Painter<char> painter;
  while (std::fgets(line, sizeof line, stdin)) {
    madvise(p, pages * 4096L, MADV_DONTNEED);
    painter.paint(p, pages);
    std::printf("done\n");
  }
}
