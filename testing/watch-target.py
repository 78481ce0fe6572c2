# Test fixture for the write watcher: a process nobody modified for pagescope, driven over stdin.
# It maps N anonymous pages and prints {"addr": "0x...", "pages": N} on start; then each line is
# a command, answered with one line (so a test can align its ticks with the writes):
#   w P1 P2 ...   write one byte into each listed page           -> "ok <checksum>"
#   r P1 P2 ...   read one byte of each listed page (no write)   -> "ok <checksum>"
#   s             checksum of all pages                          -> "ok <checksum>"
#   uffd A B      register pages A..B with its OWN userfaultfd (MISSING mode) -> "ok" / "err N"
#   l P1 P2 ...   start a thread that writes the listed pages every 5 ms -> "ok"
#   m             map 16 pages at 0x200000000000 (a new VMA)                -> "ok"
#   W P1 P2 ...   write one byte into pages of that mapping                  -> "ok"
#   g             grow it in place to 32 pages (mremap)                      -> "ok"
#   u             unmap it                                                   -> "ok"
#   p A B         mprotect pages A..B read-only (splits the VMA)             -> "ok"
#   x             exec /bin/sleep 30 (the address space is replaced)
#   q             exit 0
# With --seccomp it first installs an allow-everything seccomp filter (Seccomp: 2 in status);
# with --seccomp-deny-uffd the filter makes userfaultfd() fail with EPERM.
import ctypes, json, mmap, os, sys, threading, time

def bpf(code, jt, jf, k):
    return code | (jt << 16) | (jf << 24) | (k << 32)


if '--seccomp' in sys.argv or '--seccomp-deny-uffd' in sys.argv:
    deny = '--seccomp-deny-uffd' in sys.argv
    sys.argv = [a for a in sys.argv if not a.startswith('--seccomp')]
    libc0 = ctypes.CDLL(None, use_errno=True)
    assert libc0.prctl(38, 1, 0, 0, 0) == 0  # PR_SET_NO_NEW_PRIVS
    ALLOW = bpf(0x06, 0, 0, 0x7FFF0000)  # BPF_RET|BPF_K, SECCOMP_RET_ALLOW
    if deny:  # userfaultfd (323) fails with EPERM, everything else is allowed
        prog_words = [bpf(0x20, 0, 0, 0), bpf(0x15, 0, 1, 323), bpf(0x06, 0, 0, 0x00050000 | 1), ALLOW]
    else:
        prog_words = [ALLOW]
    filt = (ctypes.c_uint64 * len(prog_words))(*prog_words)

    class Prog(ctypes.Structure):
        _fields_ = [('len', ctypes.c_ushort), ('filter', ctypes.c_void_p)]

    prog = Prog(len(prog_words), ctypes.addressof(filt))
    assert libc0.prctl(22, 2, ctypes.byref(prog), 0, 0) == 0  # PR_SET_SECCOMP, FILTER

pages = int(sys.argv[1]) if len(sys.argv) > 1 else 64
mm = mmap.mmap(-1, pages * 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
addr = ctypes.addressof(ctypes.c_char.from_buffer(mm))
counter = 0
own_uffd = None


own_range = range(0)  # pages under the target's own MISSING-mode userfaultfd: never touched


def checksum():
    total = 0
    for p in range(pages):
        if p in own_range:
            continue
        total = (total * 31 + mm[p * 4096]) % 1000000007
    return total


print(json.dumps({"pid": os.getpid(), "addr": hex(addr), "pages": pages}), flush=True)
for line in sys.stdin:
    parts = line.split()
    if not parts:
        continue
    cmd, args = parts[0], [int(x) for x in parts[1:] if x.lstrip('-').isdigit()]
    if cmd == 'w':
        for p in args:
            counter = (counter + 1) % 251
            mm[p * 4096] = counter or 1
        print('ok', checksum(), flush=True)
    elif cmd == 'r':
        x = 0
        for p in args:
            x ^= mm[p * 4096 + 7]
        print('ok', checksum(), flush=True)
    elif cmd == 's':
        print('ok', checksum(), flush=True)
    elif cmd == 'uffd':
        libc = ctypes.CDLL(None, use_errno=True)
        libc.syscall.restype = ctypes.c_long
        fd = libc.syscall(323, 0o2000000 | 0o4000 | 1)
        api = (ctypes.c_uint64 * 3)(0xAA, 0, 0)
        r1 = libc.ioctl(fd, ctypes.c_ulong(0xC018AA3F), api)
        reg = (ctypes.c_uint64 * 4)(addr + args[0] * 4096, (args[1] - args[0]) * 4096, 1, 0)
        r2 = libc.ioctl(fd, ctypes.c_ulong(0xC020AA00), reg)
        own_uffd = fd
        own_range = range(args[0], args[1])
        print('ok' if fd >= 0 and r1 == 0 and r2 == 0 else 'err %d' % ctypes.get_errno(), flush=True)
    elif cmd == 'l':
        def loop(ps=args):
            n = 0
            while True:
                n = n % 250 + 1
                for p in ps:
                    mm[p * 4096 + 1] = n
                time.sleep(0.005)

        threading.Thread(target=loop, daemon=True).start()
        print('ok', flush=True)
    elif cmd == 'm':
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mmap.restype = ctypes.c_void_p
        libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
        r = libc.mmap(0x200000000000, 16 * 4096, 3, 0x02 | 0x20 | 0x100000, -1, 0)
        print('ok' if r == 0x200000000000 else 'err %d' % ctypes.get_errno(), flush=True)
    elif cmd == 'W':
        for p in args:
            ctypes.memset(0x200000000000 + p * 4096, 7, 1)
        print('ok', flush=True)
    elif cmd == 'g':
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mremap.restype = ctypes.c_void_p
        libc.mremap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t, ctypes.c_int]
        r = libc.mremap(0x200000000000, 16 * 4096, 32 * 4096, 0)
        print('ok' if r == 0x200000000000 else 'err %d' % ctypes.get_errno(), flush=True)
    elif cmd == 'u':
        libc = ctypes.CDLL(None, use_errno=True)
        libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
        print('ok' if libc.munmap(0x200000000000, 32 * 4096) == 0 else 'err', flush=True)
    elif cmd == 'p':
        libc = ctypes.CDLL(None, use_errno=True)
        libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        ok = libc.mprotect(addr + args[0] * 4096, (args[1] - args[0]) * 4096, 1) == 0
        own_range = range(0)  # reads stay fine
        print('ok' if ok else 'err', flush=True)
    elif cmd == 'x':
        os.execv('/bin/sleep', ['sleep', '30'])
    elif cmd == 'q':
        sys.exit(0)
    else:
        print('err unknown command', flush=True)
