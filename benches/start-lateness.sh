#!/usr/bin/env bash
# Benchmark: the driver's own lateness in the first minute of a region-scale run.
# Starts `cutover serve` on a free loopback port with the region's scenario, runs
# `cutover run` against it at the scenario's time scale (1440x), stops the run with Ctrl-C
# (SIGINT) after SECONDS, and prints live.driver_lateness and the response time from its
# report. Usage: bash benches/start-lateness.sh [SECONDS] [BINARY]
# (default 75 s and target/release/cutover; build it with `cargo build --release`).
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-75}
bin=${2:-target/release/cutover}
scenario=scenarios/inner-mongolia-2021.json
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin" serve --addr 127.0.0.1:0 --scenario "$scenario" > "$out/serve.log" 2>&1 &
serve=$!
# The first line names the address.
for _ in $(seq 1 100); do
  addr=$(grep -o 'http://127.0.0.1:[0-9]*' "$out/serve.log" | head -1 || true)
  [ -n "$addr" ] && break
  sleep 0.1
done
"$bin" run "$scenario" --target "$addr" --out "$out/r" --quiet > "$out/run.log" 2>&1 &
run=$!
sleep "$secs"
kill -INT "$run"
wait "$run" || true
kill "$serve"
wait "$serve" 2>/dev/null || true
python3 - "$out/r/report.json" <<'PY'
import json, sys
live = json.load(open(sys.argv[1]))["live"]
print("driver lateness ms", json.dumps(live["driver_lateness"]["ms"]))
print("response time ms  ", json.dumps(live["response_time_ms"]))
PY
