#!/usr/bin/env bash
# Benchmark (issue 24, items 1 and 4): what this machine charges for memory a process touches
# for the first time, on small (4 KiB) pages and on huge (2 MiB, MADV_HUGEPAGE) pages. A
# region's `simulate` and a `serve` whose ledger grows touch hundreds of MiB once, so this
# is the floor under their page faults. On a virtual machine that hands freed memory back to
# its host (free page reporting, the balloon), huge pages that have been free for a while
# come back from the host at a far higher cost than small ones: the pause shows it.
#
# Usage: bash benches/fault-cost.sh [MiB] [pause seconds]   (defaults 512, 20)
# Needs: python3 (3.8 or later, for mmap.madvise).
set -euo pipefail
mib="${1:-512}"
pause="${2:-20}"
python3 - "$mib" "$pause" <<'PY'
import mmap, sys, time
mib, pause = int(sys.argv[1]), float(sys.argv[2])
size = mib << 20

def touch(huge):
    t0 = time.perf_counter()
    m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
    if huge:
        m.madvise(mmap.MADV_HUGEPAGE)
    for off in range(0, size, 4096):
        m[off] = 1
    t = time.perf_counter() - t0
    m.close()
    return t

def show(what):
    huge = what.startswith("huge")
    t = touch(huge)
    print(f"  {what:<28} {1e3 * t:8.1f} ms, {1e6 * t / (size // 4096):5.2f} µs a 4 KiB page")

with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
    print(f"{mib} MiB touched once, page by page; transparent huge pages: {f.read().strip()}")
for what in ("small", "huge", "small", "huge"):
    show(what)
print(f"  (idle for {pause:.0f} s)")
time.sleep(pause)
for what in ("huge, after the pause", "huge, at once again", "small"):
    show(what)
PY
