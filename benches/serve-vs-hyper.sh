#!/usr/bin/env bash
# Benchmark (issue 24, item 4): `cutover serve` under wrk beside a bare hyper server
# (examples/hyper-minimal.rs: reads the body, answers 201 with a JSON body of the same
# size, nothing else), and `cutover serve --data DIR` (every decision on the disk, in its log,
# before its answer) beside `serve` in memory. The same wrk load against each: POST
# /v1/payments, each request a new payment (a new idempotency key).
#
# Usage: bash benches/serve-vs-hyper.sh [seconds] [connections]   (defaults 10, 32)
#        ROUNDS=5 bash benches/serve-vs-hyper.sh   (default 3)
#        BIN=/path/to/cutover bash benches/serve-vs-hyper.sh   (another build)
# Servers take turns, round after round, each started fresh (`--data` in a new directory).
# Printed per run: requests per second, the server's CPU per request (from /proc), and the
# medians with the ratios serve / hyper and serve --data / serve.
# Needs: wrk (apt-get install wrk), python3. Traffic goes to 127.0.0.1 only; every process
# it starts is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
conns="${2:-32}"
rounds="${ROUNDS:-3}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 2; }
bin="${BIN:-target/release/cutover}"
[ -n "${BIN:-}" ] || cargo build --release --quiet
cargo build --release --quiet --example hyper-minimal
hyper=target/release/examples/hyper-minimal
work=$(mktemp -d)
source benches/lib.sh
trap bench_cleanup EXIT

# Always open, payments only (as benches/http-vs-wrk.sh), the smoke scenario's payers.
write_payments_scenario "$work/bench.json" 1

write_pay_lua "$work/pay.lua"

start() {  # start NAME: the server under test, on a free port
  case "$1" in
    hyper) start_server "$hyper" 127.0.0.1:0 ;;
    serve) start_server "$bin" serve --addr 127.0.0.1:0 --scenario "$work/bench.json" --max-in-flight 100000 ;;
    data) rm -rf "$work/data"
          start_server "$bin" serve --addr 127.0.0.1:0 --scenario "$work/bench.json" --max-in-flight 100000 --data "$work/data" ;;
  esac
}

echo "$(nproc) cores; wrk -t2 -c$conns -d${secs}s; $rounds rounds, servers taking turns, each fresh"
: > "$work/lines"
for round in $(seq 1 "$rounds"); do
  for s in hyper serve data; do
    start "$s"
    wrk -t2 -c"$conns" -d"${secs}s" -s "$work/pay.lua" "$url" > "$work/wrk.out"
    stop_server
    total=$(awk '/requests in/ {print $1}' "$work/wrk.out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' "$work/wrk.out")
    python3 -c "print('$s', $(awk '/Requests\/sec/ {print $2}' "$work/wrk.out"), round($server_cpu * 1e6 / $total, 1), $total, ${non2xx:-0})" >> "$work/lines"
  done
  echo "round $round done" >&2
done

python3 - "$work/lines" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
names = {"hyper": "hyper-minimal", "serve": "serve (memory)", "data": "serve --data"}
print(f"{'server':<16} {'req/s':>10} {'server µs/req':>14} {'requests':>9} {'non-2xx':>8}")
for r in rows:
    print(f"{names[r[0]]:<16} {float(r[1]):>10.0f} {float(r[2]):>14.1f} {r[3]:>9} {r[4]:>8}")
med = {k: (statistics.median(float(r[1]) for r in rows if r[0] == k), statistics.median(float(r[2]) for r in rows if r[0] == k)) for k in names}
print(f"medians over {sum(1 for r in rows if r[0] == 'hyper')} rounds:")
for k, n in names.items():
    print(f"  {n}: {med[k][0]:.0f} req/s, {med[k][1]:.1f} µs server CPU/request")
print(f"  serve / hyper-minimal: {med['serve'][0] / med['hyper'][0]:.2f}x the requests per second")
print(f"  serve --data / serve: {med['data'][0] / med['serve'][0]:.2f}x the requests per second")
PY
