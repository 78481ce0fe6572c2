# Test fixture for the attach torture test, the python3 twin of torture-target.c: two compute
# threads keep self-checking data, one thread loops in time.sleep(5 ms) and checks it slept, the
# main thread blocks in os.read() on stdin and answers each read of "p" lines with
# "progress <compute rounds> <sleeps> <line count>". Any inconsistency prints "corrupt ..." and
# exits 3. Default signal dispositions (but SIGINT's): a stray SIGTRAP or SIGSEGV kills it.
# With the argument "nice" the compute threads run at nice 19, as the C twin's do.
import os, sys, threading, time

sys.setswitchinterval(0.001)
rounds = [0, 0]
sleeps = [0]


def corrupt(what):
    sys.stdout.write(f'corrupt {what}\n')
    sys.stdout.flush()
    os._exit(3)


def compute(k):
    if sys.argv[1:] == ['nice']:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)  # this thread only
    data = list(range(1024))
    for rnd in range(1, 1 << 62):
        for i in range(1024):
            data[i] = i * (rnd + k)
        if sum(data) != (rnd + k) * 1024 * 1023 // 2 or data[1023] != 1023 * (rnd + k):
            corrupt(f'compute {k} round {rnd}')
        rounds[k] += 1


def sleeper():
    while True:
        t0 = time.monotonic()
        time.sleep(0.005)
        if time.monotonic() - t0 < 0.005:
            corrupt('sleep too short')
        sleeps[0] += 1


for k in (0, 1):
    threading.Thread(target=compute, args=(k,), daemon=True).start()
threading.Thread(target=sleeper, daemon=True).start()
sys.stdout.write('ready\n')
sys.stdout.flush()
lines = 0
while True:
    b = os.read(0, 64)
    if not b:
        os._exit(0)
    if b != b'p\n' * (len(b) // 2):
        corrupt(f'read {b!r}')
    lines += len(b) // 2
    sys.stdout.write(f'progress {rounds[0] + rounds[1]} {sleeps[0]} {lines}\n')
    sys.stdout.flush()
