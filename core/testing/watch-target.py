# Test fixture for the write watcher: a process nobody modified for pagescope, driven over stdin.
# It maps N anonymous pages and prints {"addr": "0x...", "pages": N} on start; then each line is
# a command, answered with one line (so a test can align its ticks with the writes):
#   w P1 P2 ...   write one byte into each listed page           -> "ok <checksum>"
#   r P1 P2 ...   read one byte of each listed page (no write)   -> "ok <checksum>"
#   s             checksum of all pages                          -> "ok <checksum>"
#   uffd A B      register pages A..B with its OWN userfaultfd (MISSING mode) -> "ok" / "err N"
#   q             exit 0
import ctypes, json, mmap, os, sys

pages = int(sys.argv[1]) if len(sys.argv) > 1 else 64
mm = mmap.mmap(-1, pages * 4096, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
addr = ctypes.addressof(ctypes.c_char.from_buffer(mm))
counter = 0
own_uffd = None


def checksum():
    total = 0
    for p in range(pages):
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
        print('ok' if fd >= 0 and r1 == 0 and r2 == 0 else 'err %d' % ctypes.get_errno(), flush=True)
    elif cmd == 'q':
        sys.exit(0)
    else:
        print('err unknown command', flush=True)
