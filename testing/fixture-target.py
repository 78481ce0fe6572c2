"""A process with a known memory layout, for pagescope's kernel tests.

It maps its regions with libc through ctypes, each at the start of its own 4 MiB-aligned slot
of a PROT_NONE reservation, so no two regions share a page table (a 2 MiB PMD) and whether a
page table exists depends only on what the region itself touched. Then it prints one JSON line
{"ready": true, "pid": ..., "regions": {name: {"start": "0x...", "pages": N}}, "notes": [...]}
and serves commands read from stdin, one per line, answering one JSON line each:
  pagemap          -> {"pagemap": {name: [high 32 bits of each /proc/self/pagemap entry]}}
                      (what the kernel reports to the process itself, page by page)
  smaps            -> {"smaps": {name: {"AnonHugePages": kB, ...}}}
  exit             -> exits
EOF on stdin also exits, so the process never outlives its parent's pipe.

Usage: fixture-target.py standard [--swap]
       fixture-target.py layout '<json>'   where json is {"regions": {name: "actions"}} and
       actions has one letter per page: w (write), r (read), u (untouched), p (write then
       MADV_PAGEOUT), g (write then MADV_GUARD_INSTALL), G (guard an untouched page).
"""

import ctypes
import ctypes.util
import json
import os
import struct
import sys
import tempfile

PAGE = os.sysconf("SC_PAGE_SIZE")
SLOT = 4 << 20
PROT_NONE, PROT_READ, PROT_WRITE = 0, 1, 2
MAP_SHARED, MAP_PRIVATE, MAP_FIXED, MAP_ANONYMOUS, MAP_NORESERVE = 1, 2, 0x10, 0x20, 0x4000
MADV_HUGEPAGE, MADV_NOHUGEPAGE, MADV_PAGEOUT, MADV_GUARD_INSTALL = 14, 15, 21, 102
MAP_FAILED = ctypes.c_void_p(-1).value

libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.memfd_create.argtypes = [ctypes.c_char_p, ctypes.c_uint]

notes = []
regions = {}


def fail(what):
    e = ctypes.get_errno()
    raise OSError(e, f"{what}: {os.strerror(e)}")


def mmap(addr, length, prot, flags, fd=-1, offset=0):
    p = libc.mmap(addr, length, prot, flags, fd, offset)
    if p in (None, MAP_FAILED):
        fail("mmap")
    return p


def madvise(addr, length, advice):
    return libc.madvise(addr, length, advice) == 0


class Slots:
    """A PROT_NONE reservation cut into 4 MiB-aligned slots; unused slots are unmapped at the end."""

    def __init__(self, count):
        size = (count + 1) * SLOT
        base = mmap(None, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)
        self.base, self.size = base, size
        self.first = (base + SLOT - 1) & ~(SLOT - 1)
        self.next = 0
        self.count = count

    def take(self):
        assert self.next < self.count
        addr = self.first + self.next * SLOT
        self.next += 1
        return addr

    def trim(self):
        # Unmap what no region uses, so the regions are separate VMAs with unmapped gaps.
        libc.munmap(self.base, self.first - self.base)
        end = self.first + self.next * SLOT
        libc.munmap(end, self.base + self.size - end)


def touch_write(addr, pages, byte=0x5A):
    for i in pages:
        ctypes.memset(addr + i * PAGE, byte, PAGE)


def touch_read(addr, pages):
    total = 0
    for i in pages:
        total += ctypes.c_char.from_address(addr + i * PAGE).value[0]
    return total


def anon(slots, pages, prot=PROT_READ | PROT_WRITE, extra=0):
    addr = slots.take()
    mmap(addr, pages * PAGE, prot, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | extra)
    # Keep THP out of ordinary regions even when the machine's mode is "always".
    madvise(addr, pages * PAGE, MADV_NOHUGEPAGE)
    return addr


def add(name, addr, pages):
    regions[name] = {"start": hex(addr), "pages": pages}


def swap_active():
    try:
        with open("/proc/swaps") as f:
            return len(f.read().strip().split("\n")) > 1
    except OSError:
        return False


def standard(with_swap):
    slots = Slots(16)
    n = 16

    a = anon(slots, n)
    touch_write(a, range(n))
    add("anon_written", a, n)

    a = anon(slots, n)
    add("anon_untouched", a, n)

    a = anon(slots, n)
    touch_read(a, range(n))
    add("anon_zero", a, n)

    # Even pages written, odd pages untouched but inside the page table the writes created.
    a = anon(slots, n)
    touch_write(a, range(0, n, 2))
    add("anon_mixed", a, n)

    # A 48-page file: pages 0-15 read, 16-31 written, 32-47 untouched. Each group is one
    # 64 KiB-aligned fault-around window, so reads never map pages of another group.
    fpages = 48
    fd, path = tempfile.mkstemp(prefix="pagescope-fixture-")
    os.write(fd, bytes([0x11]) * (fpages * PAGE))
    os.unlink(path)
    for name, flags in (("file_shared", MAP_SHARED), ("file_private", MAP_PRIVATE)):
        a = slots.take()
        mmap(a, fpages * PAGE, PROT_READ | PROT_WRITE, flags | MAP_FIXED, fd, 0)
        touch_read(a, range(0, 16))
        touch_write(a, range(16, 32))
        add(name, a, fpages)

    mfd = libc.memfd_create(b"pagescope-fixture", 0)
    if mfd < 0:
        fail("memfd_create")
    os.ftruncate(mfd, n * PAGE)
    a = slots.take()
    mmap(a, n * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, mfd, 0)
    touch_write(a, range(0, 8))
    add("memfd", a, n)

    # THP: one 2 MiB-aligned, fully written MADV_HUGEPAGE range.
    hp = (2 << 20) // PAGE
    a = slots.take()
    mmap(a, hp * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED)
    if not madvise(a, hp * PAGE, MADV_HUGEPAGE):
        notes.append("MADV_HUGEPAGE refused: errno %d" % ctypes.get_errno())
    touch_write(a, range(hp))
    add("thp", a, hp)

    # Guard pages 4-7 of a written region.
    a = anon(slots, n)
    touch_write(a, range(n))
    if not madvise(a + 4 * PAGE, 4 * PAGE, MADV_GUARD_INSTALL):
        notes.append("MADV_GUARD_INSTALL refused: errno %d" % ctypes.get_errno())
    add("guard", a, n)

    # Pages 0-7 written then paged out, 8-15 written and kept.
    if with_swap:
        a = anon(slots, n)
        touch_write(a, range(n))
        if not swap_active():
            notes.append("no swap is active: swapped pages stay present")
        for _ in range(3):
            madvise(a, 8 * PAGE, MADV_PAGEOUT)
        add("swapped", a, n)

    slots.trim()

    # A sparse 1 GiB MAP_NORESERVE reservation with a few pages touched (outside the slots:
    # it needs 1 GiB of address space of its own).
    gpages = (1 << 30) // PAGE
    raw = mmap(None, (1 << 30) + SLOT, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE)
    a = (raw + SLOT - 1) & ~(SLOT - 1)
    libc.munmap(raw, a - raw)
    libc.munmap(a + (1 << 30), raw + (1 << 30) + SLOT - a - (1 << 30))
    mmap(a, 1 << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE)
    madvise(a, 1 << 30, MADV_NOHUGEPAGE)
    touch_write(a, [0, 1, 1000, 100000, gpages - 1])
    add("sparse", a, gpages)


def layout(spec):
    names = list(spec["regions"].keys())
    slots = Slots(len(names))
    for name in names:
        actions = spec["regions"][name]
        n = len(actions)
        a = anon(slots, n)
        touch_write(a, [i for i, c in enumerate(actions) if c in "wpg"])
        touch_read(a, [i for i, c in enumerate(actions) if c == "r"])
        for i, c in enumerate(actions):
            if c == "p":
                madvise(a + i * PAGE, PAGE, MADV_PAGEOUT)
            elif c in "gG":
                if not madvise(a + i * PAGE, PAGE, MADV_GUARD_INSTALL):
                    notes.append("MADV_GUARD_INSTALL refused: errno %d" % ctypes.get_errno())
        add(name, a, n)
    slots.trim()


def self_pagemap():
    out = {}
    with open("/proc/self/pagemap", "rb") as f:
        for name, r in regions.items():
            start = int(r["start"], 16)
            pages = r["pages"]
            if pages > 65536:
                continue  # the sparse reservation: the caller reads pages it wants itself
            f.seek((start // PAGE) * 8)
            data = f.read(pages * 8)
            out[name] = [v >> 32 for v in struct.unpack("<%dQ" % pages, data)]
    return out


def self_smaps():
    out = {}
    starts = {int(r["start"], 16): name for name, r in regions.items()}
    cur = None
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split(" ", 1)[0]
            if "-" in head and ":" not in head:
                cur = starts.get(int(head.split("-")[0], 16))
                if cur:
                    out[cur] = {}
            elif cur and line.strip().endswith(" kB"):
                k, v = line.split(":", 1)
                out[cur][k] = int(v.strip().split()[0])
    return out


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else "standard"
    if mode == "standard":
        standard("--swap" in sys.argv[2:])
    elif mode == "layout":
        layout(json.loads(sys.argv[2]))
    else:
        raise SystemExit("unknown mode " + mode)
    print(json.dumps({"ready": True, "pid": os.getpid(), "pageSize": PAGE, "regions": regions, "notes": notes}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "pagemap":
            print(json.dumps({"pagemap": self_pagemap()}), flush=True)
        elif cmd == "smaps":
            print(json.dumps({"smaps": self_smaps()}), flush=True)
        elif cmd == "exit":
            break
        else:
            print(json.dumps({"error": "unknown command " + cmd}), flush=True)


if __name__ == "__main__":
    main()
