#!/usr/bin/env bash
# Benchmark (issue 24, item 4): the floor under `serve --data`'s commits on this machine's
# disk. Overwrites a 4 KiB page of a file and syncs it, N times: with fsync, with
# fdatasync, and with the descriptor opened O_DIRECT | O_DSYNC (the write synced by itself,
# past the page cache: how `serve --data` appends each group commit to its log); then the
# same synced writes from two threads at once, each to its own blocks (what two group
# commits in flight would cost). Prints the wall time and the CPU time (user + system) of
# one write and sync, and for two writers the writes a second. With B
# decisions a commit the durable path adds at least (CPU per synced write) / B to each
# request's CPU, whatever the storage code does.
#
# Usage: bash benches/fsync-floor.sh [directory] [count]   (defaults: a new temporary
#        directory under target/, 3000)
# Needs: python3.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p target
dir="${1:-}"
[ -n "$dir" ] || { dir=$(mktemp -d -p target fsync-floor.XXXXXX); trap 'rm -rf "$dir"' EXIT; }
count="${2:-3000}"
python3 - "$dir/floor.bin" "$count" <<'PY'
import mmap, os, resource, sys, threading, time
path, n = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
page = b"x" * 4096
# Written and synced once first: the loop overwrites blocks that exist (no file growth).
os.pwrite(fd, page * 256, 0)
os.fsync(fd)
print(f"{path}: {n} overwrites of a 4 KiB page, each synced")
for name, sync in (("fsync", os.fsync), ("fdatasync", os.fdatasync)):
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    for i in range(n):
        os.pwrite(fd, page, (i % 256) * 4096)
        sync(fd)
    t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    print(f"  {name:<9}: {1e6 * (t1 - t0) / n:6.1f} µs wall, {1e6 * cpu / n:5.1f} µs CPU per write and sync")
os.close(fd)
# O_DIRECT needs memory aligned to the block: an anonymous mapping is aligned to the page.
aligned = mmap.mmap(-1, 4096)
aligned.write(page)
try:
    fd = os.open(path, os.O_RDWR | os.O_DIRECT | os.O_DSYNC)
except OSError as e:
    print(f"  direct,dsync: cannot open with O_DIRECT here ({e})")
    sys.exit(0)
def writers(k):
    # k threads (the GIL is let go in pwritev), thread j writing blocks j, j + k, ...
    def one(j):
        buf = mmap.mmap(-1, 4096)
        buf.write(page)
        for i in range(n):
            os.pwritev(fd, [buf], ((i * k + j) % 256) * 4096)
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    threads = [threading.Thread(target=one, args=(j,)) for j in range(k)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    label = "direct,dsync" if k == 1 else f"{k} at once"
    print(f"  {label:<9}: {1e6 * (t1 - t0) / n:6.1f} µs wall, {1e6 * cpu / (n * k):5.1f} µs CPU per synced write;"
          f" {n * k / (t1 - t0):6.0f} writes a second")
writers(1)
writers(2)
os.close(fd)
PY
