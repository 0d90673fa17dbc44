#!/usr/bin/env bash
# Benchmark: simulate the whole region (scenarios/inner-mongolia-2021.json) with a release
# build and print wall time, simulated events per second and peak memory (max RSS).
# Usage: bash benches/simulate-region.sh [runs]   (default 3 runs)
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-3}"
# BIN names another build to measure (a checkout of an earlier commit, taking turns).
bin="${BIN:-target/release/cutover}"
[ -n "${BIN:-}" ] || cargo build --release --quiet
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(rustc --version)"
for i in $(seq 1 "$runs"); do
  # GNU time's -f gives elapsed seconds and max RSS in KiB; the tool prints its event count.
  /usr/bin/time -f "%e %M" -o "$out/time" "$bin" simulate scenarios/inner-mongolia-2021.json --quiet --out "$out/r" > "$out/stdout"
  read -r wall rss_kib < "$out/time"
  events=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['engine']['events'])" "$out/r/report.json")
  awk -v w="$wall" -v r="$rss_kib" -v e="$events" -v i="$i" \
    'BEGIN { printf "run %d: wall %.2f s, %d events, %.0f events/s, peak memory %.0f MiB\n", i, w, e, e / w, r / 1024 }'
done
