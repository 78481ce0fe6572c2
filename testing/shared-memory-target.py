"""A process holding every kind of memory the kernel names through a pseudo-file, for the tests of
pagescope's VMA names (core/protocol/vma-name.ts):
  shared_anon   mmap(-1, ...): MAP_SHARED|MAP_ANONYMOUS, shown as "/dev/zero (deleted)"
  zero_private  /dev/zero mapped MAP_PRIVATE: plain anonymous memory, shown as "/dev/zero"
  memfd         os.memfd_create("pagescope-names"), shown as "/memfd:pagescope-names (deleted)"
  sysv          shmget(key)/shmat, shown as "/SYSV<key as 8 hex digits> (deleted)"; marked
                IPC_RMID at once, so the segment goes when this process does, however it ends
  posix_shm     /dev/shm/<argv[1]>, shown as its path (the test removes the file)
  deleted_file  a temporary file mapped, then unlinked: "<path> (deleted)"
It prints one JSON line {"pid": N, "key": "0x...", "regions": {name: "0x<start>"}} and waits for
EOF on stdin, so it never outlives the test's pipe.

Usage: shared-memory-target.py POSIX_SHM_NAME
"""

import ctypes
import ctypes.util
import json
import mmap
import os
import sys
import tempfile

PAGE = mmap.PAGESIZE
IPC_CREAT, IPC_EXCL, IPC_RMID = 0o1000, 0o2000, 0

libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
libc.shmget.restype = ctypes.c_int
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]

keep = []  # mappings stay alive as long as this list does
regions = {}


def address(m):
    """The start address of a Python mmap object."""
    buf = (ctypes.c_char * 1).from_buffer(m)
    a = ctypes.addressof(buf)
    del buf  # a live export would block m.close(); the address stays valid
    return a


def add(name, m):
    m[0:1] = b"x"  # touched, so it is resident
    keep.append(m)
    regions[name] = hex(address(m))


add("shared_anon", mmap.mmap(-1, 4 * PAGE))

with open("/dev/zero", "r+b") as f:
    add("zero_private", mmap.mmap(f.fileno(), 4 * PAGE, flags=mmap.MAP_PRIVATE))

fd = os.memfd_create("pagescope-names")
os.ftruncate(fd, 4 * PAGE)
add("memfd", mmap.mmap(fd, 4 * PAGE))
os.close(fd)

# A key of our own (pid-based, another tried if taken).
shmid = -1
for attempt in range(64):
    key = 0x70530000 | ((os.getpid() + attempt * 7919) & 0xFFFF)
    shmid = libc.shmget(key, 4 * PAGE, IPC_CREAT | IPC_EXCL | 0o600)
    if shmid >= 0:
        break
if shmid < 0:
    raise OSError(ctypes.get_errno(), "shmget")
p = libc.shmat(shmid, None, 0)
libc.shmctl(shmid, IPC_RMID, None)
if p in (None, ctypes.c_void_p(-1).value):
    raise OSError(ctypes.get_errno(), "shmat")
ctypes.memset(p, 1, 1)
regions["sysv"] = hex(p)

shm_path = "/dev/shm/" + sys.argv[1]
fd = os.open(shm_path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
os.ftruncate(fd, 4 * PAGE)
add("posix_shm", mmap.mmap(fd, 4 * PAGE))
os.close(fd)

fd, tmp = tempfile.mkstemp(prefix="pagescope-names-")
os.ftruncate(fd, 4 * PAGE)
add("deleted_file", mmap.mmap(fd, 4 * PAGE))
os.close(fd)
os.unlink(tmp)

print(json.dumps({"pid": os.getpid(), "key": "0x%08x" % key, "tmp": tmp, "regions": regions}), flush=True)
sys.stdin.read()
