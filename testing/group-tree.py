"""A process tree around shared memory, for the group tests (core/proc/group.ts, shared-objects.ts,
shared-swap.ts, `pagescope scan --tree`). The parent maps, before forking, three shared objects of
REGION_PAGES pages each:
  shared_anon   mmap(-1): MAP_SHARED|MAP_ANONYMOUS ("/dev/zero (deleted)")
  memfd         memfd_create("pagescope-group")
  sysv          a SysV segment (IPC_PRIVATE, marked IPC_RMID at once, so it goes with the tree)
then forks CHILDREN children (the first also forks a grandchild). Every child inherits the three
mappings and waits for commands on a pipe of its own; all of them exit when the parent does (a
lifeline pipe), so nothing outlives the test's stdin.

Commands, one a line on stdin; each answers one JSON line on stdout:
  info                       {"pid", "children": [..], "grandchild", "regions": {name: "0x.."}}
  spawn                      a new child: {"pid": N}
  exec PID                   that child execs a new python that waits on the lifeline
  exit PID                   that child exits
  write PID REGION FIRST N   that process (the parent's own pid too) writes pages FIRST..FIRST+N-1
  pageout REGION FIRST N     the parent: madvise(MADV_PAGEOUT) on those pages: {"ok": true, "rc"}
Usage: group-tree.py CHILDREN [REGION_PAGES]
"""

import ctypes
import ctypes.util
import json
import mmap
import os
import select
import sys

PAGE = mmap.PAGESIZE
CHILDREN = int(sys.argv[1])
PAGES = int(sys.argv[2]) if len(sys.argv) > 2 else 64
IPC_CREAT, IPC_RMID, IPC_PRIVATE = 0o1000, 0, 0
MADV_PAGEOUT = 21

libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
libc.shmget.restype = ctypes.c_int
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmat.restype = ctypes.c_void_p
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]

regions = {}  # name -> start address
keep = []


def address(m):
    buf = (ctypes.c_char * 1).from_buffer(m)
    a = ctypes.addressof(buf)
    del buf
    return a


m = mmap.mmap(-1, PAGES * PAGE)
keep.append(m)
regions["shared_anon"] = address(m)

fd = os.memfd_create("pagescope-group")
os.ftruncate(fd, PAGES * PAGE)
m = mmap.mmap(fd, PAGES * PAGE)
os.close(fd)
keep.append(m)
regions["memfd"] = address(m)

shmid = libc.shmget(IPC_PRIVATE, PAGES * PAGE, IPC_CREAT | 0o600)
if shmid < 0:
    raise OSError(ctypes.get_errno(), "shmget")
p = libc.shmat(shmid, None, 0)
libc.shmctl(shmid, IPC_RMID, None)
if p in (None, ctypes.c_void_p(-1).value):
    raise OSError(ctypes.get_errno(), "shmat")
regions["sysv"] = p


def write(region, first, n):
    base = regions[region]
    for i in range(first, first + n):
        ctypes.memset(base + i * PAGE, 0x5A, 1)


life_r, life_w = os.pipe()  # the parent holds the write end: EOF tells everyone to go


def child_loop(cmd_r):
    """A child: waits for commands on cmd_r until the lifeline breaks."""
    while True:
        ready, _, _ = select.select([cmd_r, life_r], [], [])
        if life_r in ready:
            os._exit(0)
        line = b""
        while not line.endswith(b"\n"):
            b = os.read(cmd_r, 1)
            if not b:
                os._exit(0)
            line += b
        words = line.decode().split()
        if words[0] == "exit":
            os._exit(0)
        if words[0] == "exec":
            os.set_inheritable(life_r, True)
            code = "import os,sys; os.read(int(sys.argv[1]), 1)"
            os.execv(sys.executable, [sys.executable, "-c", code, str(life_r)])
        if words[0] == "write":
            write(words[1], int(words[2]), int(words[3]))
            os.write(ack_w, b"k")


ack_r, ack_w = os.pipe()  # children say a write is done


def fork_child(grandchild=False):
    """Forks a child with a command pipe of its own; returns (pid, cmd write end)."""
    cmd_r, cmd_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(life_w)
        os.close(cmd_w)
        sys.stdin.close()
        if grandchild:
            g_r, g_w = os.pipe()
            g = os.fork()
            if g == 0:
                os.close(cmd_r)
                child_loop(g_r)
            os.write(ack_w, (str(g) + "\n").encode())
        child_loop(cmd_r)
    os.close(cmd_r)
    return pid, cmd_w


children = {}  # pid -> command pipe
grandchild = 0
for i in range(CHILDREN):
    pid, w = fork_child(grandchild=(i == 0))
    children[pid] = w
    if i == 0:
        line = b""
        while not line.endswith(b"\n"):
            line += os.read(ack_r, 1)
        grandchild = int(line)


def say(obj):
    print(json.dumps(obj), flush=True)


for line in sys.stdin:
    words = line.split()
    if not words:
        continue
    cmd = words[0]
    if cmd == "info":
        say(
            {
                "pid": os.getpid(),
                "children": list(children),
                "grandchild": grandchild,
                "pageSize": PAGE,
                "pages": PAGES,
                "regions": {k: hex(v) for k, v in regions.items()},
            }
        )
    elif cmd == "spawn":
        pid, w = fork_child()
        children[pid] = w
        say({"pid": pid})
    elif cmd in ("exec", "exit"):
        pid = int(words[1])
        os.write(children[pid], (cmd + "\n").encode())
        if cmd == "exit":
            os.waitpid(pid, 0)
            del children[pid]
        say({"ok": True})
    elif cmd == "write":
        pid = int(words[1])
        if pid == os.getpid():
            write(words[2], int(words[3]), int(words[4]))
        else:
            os.write(children[pid], (" ".join(["write"] + words[2:]) + "\n").encode())
            os.read(ack_r, 1)
        say({"ok": True})
    elif cmd == "pageout":
        base = regions[words[1]] + int(words[2]) * PAGE
        rc = libc.madvise(base, int(words[3]) * PAGE, MADV_PAGEOUT)
        say({"ok": rc == 0, "errno": ctypes.get_errno() if rc else 0})
