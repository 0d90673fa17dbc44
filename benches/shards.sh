#!/usr/bin/env bash
# Benchmark: one rehearsal sent by two generator processes (`run --shard 0/2` and `1/2`, one
# sending thread each, merged by `cutover merge`) beside one generator process with two
# sending threads, both against a fresh `cutover serve` on loopback, saturated (every payment
# due at once): requests per second and the generators' CPU per request.
#
# Usage: bash benches/shards.sh             (ROUNDS=3 by default; the two take turns)
#        SCALE=400 ROUNDS=5 bash benches/shards.sh   (payers: the smoke scenario's groups x SCALE)
# On one machine both share its cores with the server: what two generators gain here is the
# difference one process's own limits make (its threads, its allocator), not another
# machine's cores; the figures say how close to the server's limit one generator already is.
# Needs: python3. Traffic goes to 127.0.0.1 only; every process it starts is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
bin="${BIN:-target/release/cutover}"
[ -n "${BIN:-}" ] || cargo build --release --quiet
work=$(mktemp -d)
source benches/lib.sh
trap bench_cleanup EXIT

# A payments-only scenario, always open, every payment due at once (time scale 1e8).
write_payments_scenario "$work/bench.json" "${SCALE:-200}"

serve() { start_server "$bin" serve --addr 127.0.0.1:0 --scenario "$work/bench.json" --max-in-flight 100000; }
common=(--time-scale 100000000 --connections 32 --queue-bound 10000000 --run-id bench --quiet)

rounds="${ROUNDS:-3}"
echo "$(nproc) cores; 32 connections in all; a fresh server per rehearsal; $rounds rounds, taking turns"
: > "$work/lines"
for round in $(seq 1 "$rounds"); do
  serve
  "$bin" run "$work/bench.json" --target "$url" --threads 2 "${common[@]}" --out "$work/one" > /dev/null || true
  stop_server
  python3 - "$work/one/report.json" one "$server_cpu" >> "$work/lines" <<'PY'
import json, sys
l = json.load(open(sys.argv[1]))["live"]
print(sys.argv[2], l["requests_completed"], l["wall_seconds"], l["client_cpu_seconds"], sys.argv[3])
PY
  serve
  rm -rf "$work/two"; mkdir -p "$work/two"
  at=$(( $(date +%s) + 3 ))
  "$bin" run "$work/bench.json" --target "$url" --threads 1 "${common[@]}" --shard 0/2 --start-at "$at" --out "$work/two/s0" > /dev/null &
  a=$!
  "$bin" run "$work/bench.json" --target "$url" --threads 1 "${common[@]}" --shard 1/2 --start-at "$at" --out "$work/two/s1" > /dev/null &
  b=$!
  wait "$a" "$b" || true
  "$bin" merge "$work/two" --out "$work/two/merged" > /dev/null || true
  stop_server
  python3 - "$work/two/merged/report.json" two "$server_cpu" >> "$work/lines" <<'PY'
import json, sys
l = json.load(open(sys.argv[1]))["live"]
print(sys.argv[2], l["requests_completed"], l["wall_seconds"], l["client_cpu_seconds"], sys.argv[3])
PY
  echo "round $round done" >&2
done

python3 - "$work/lines" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
names = {"one": "one generator, 2 threads", "two": "two generators, 1 thread each"}
print(f"{'rehearsal':<32} {'requests':>9} {'wall s':>8} {'req/s':>9} {'CPU µs/req':>11} {'server µs/req':>14}")
med = {}
for r in rows:
    n, wall, cpu, server = int(r[1]), float(r[2]), float(r[3]), float(r[4])
    rps, us = n / wall, cpu * 1e6 / n
    med.setdefault(r[0], []).append((rps, us))
    # The server's CPU over its whole life (the set-up's reads of the books included).
    print(f"{names[r[0]]:<32} {n:>9} {wall:>8.2f} {rps:>9.0f} {us:>11.1f} {server * 1e6 / n:>14.1f}")
m = {k: (statistics.median(x for x, _ in v), statistics.median(y for _, y in v)) for k, v in med.items()}
print(f"medians over {len(med['one'])} rounds:")
for k in ("one", "two"):
    print(f"  {names[k]}: {m[k][0]:.0f} req/s, {m[k][1]:.1f} µs CPU/request")
print(f"  two / one: {m['two'][0] / m['one'][0]:.2f}x the throughput, {m['two'][1] / m['one'][1]:.2f}x the CPU per request")
PY
