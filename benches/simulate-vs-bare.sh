#!/usr/bin/env bash
# Benchmark (issue 24, item 1): `cutover simulate` of a scenario beside a bare discrete-event
# loop (benches/bare-loop/main.rs: an M/M/c queue on a binary heap, std only), taking turns
# round after round, and the ratio of their events per second measured in the same round.
#
# Usage: bash benches/simulate-vs-bare.sh [scenario] [rounds]
#        (defaults: scenarios/inner-mongolia-2021.json, 3)
#        BIN=/path/to/cutover bash benches/simulate-vs-bare.sh   (another build, taking turns)
# Prints per round: the simulation's wall time, events, events per second and peak memory
# (max RSS), the bare loop's events per second over the same number of events, and their
# ratio; then the medians. Needs: rustc, python3, GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
scenario="${1:-scenarios/inner-mongolia-2021.json}"
rounds="${2:-3}"
bin="${BIN:-target/release/cutover}"
[ -n "${BIN:-}" ] || cargo build --release --quiet
mkdir -p target/bench
bare=target/bench/bare-loop
rustc -C opt-level=3 -C target-cpu=native -o "$bare" benches/bare-loop/main.rs
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(rustc --version); scenario $scenario"
for i in $(seq 1 "$rounds"); do
  /usr/bin/time -f "%e %M" -o "$work/time" "$bin" simulate "$scenario" --quiet --out "$work/r" > /dev/null
  read -r wall rss_kib < "$work/time"
  events=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['engine']['events'])" "$work/r/report.json")
  bare_eps=$("$bare" "$events" | awk '{print $6}')
  awk -v w="$wall" -v r="$rss_kib" -v e="$events" -v b="$bare_eps" -v i="$i" \
    'BEGIN { s = e / w; printf "round %d: simulate %.2f s, %d events, %.0f events/s, peak %.0f MiB; bare loop %.0f events/s; ratio %.3f\n", i, w, e, s, r / 1024, b, s / b }' \
    | tee -a "$work/rounds"
done
python3 - "$work/rounds" <<'PY'
import re, statistics, sys
rows = [l for l in open(sys.argv[1])]
def col(pat):
    return statistics.median(float(re.search(pat, l).group(1)) for l in rows)
print(f"median: simulate {col(r'simulate ([0-9.]+) s'):.2f} s, {col(r'events, ([0-9]+) events/s'):.0f} events/s, "
      f"peak {col(r'peak ([0-9]+) MiB'):.0f} MiB; bare loop {col(r'bare loop ([0-9]+) events/s'):.0f} events/s; ratio {col(r'ratio ([0-9.]+)'):.3f}")
PY
