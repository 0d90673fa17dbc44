#!/usr/bin/env bash
# Benchmark: requests per second and client CPU per request of `cutover run` against
# `cutover serve` on loopback, side by side in one run with wrk (Debian package `wrk`)
# against the same server and endpoint (POST /v1/payments, each request a new payment).
#
# Usage: bash benches/http-vs-wrk.sh [seconds-for-wrk] [connections]   (defaults 10, 32)
#        TRANSPORTS="http1" ROUNDS=5 bash benches/http-vs-wrk.sh   (defaults: http1 hyper reqwest; 3)
#        PIN=1 bash benches/http-vs-wrk.sh   (server on CPU 0, every client on CPU 1: much less
#        drift between runs, so small changes show; each client then has one core, and one
#        thread: wrk -t1 and cutover run --threads 1; unpinned, two each)
# Clients take turns, round after round, each against a fresh server; the summary gives the
# median of each client over the rounds (this machine's speed drifts by 20 % within minutes,
# so one pass of each would compare a fast minute with a slow one).
# Needs: wrk, python3, GNU time (/usr/bin/time). Traffic goes to 127.0.0.1 only; every
# process it starts is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
conns="${2:-32}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 2; }
# BIN names another build to measure (a checkout of an earlier commit, taking turns).
bin="${BIN:-target/release/cutover}"
[ -n "${BIN:-}" ] || cargo build --release --quiet
work=$(mktemp -d)
source benches/lib.sh
trap bench_cleanup EXIT

# A payments-only scenario, always open, ~530k payments all due at once (time scale 1e8),
# so the run lasts about as long as wrk does: the driver runs saturated, like wrk.
write_payments_scenario "$work/bench.json" 400

# Each client gets a fresh server (the same binary, scenario and flags), so none of them
# meets the payments of another; the server's own CPU per request is read from /proc.
server_cpu_set=""
client_cpu_set=""
threads=2
if [ "${PIN:-0}" = 1 ]; then
  threads=1
  command -v taskset >/dev/null || { echo "PIN=1 needs taskset (util-linux)"; exit 2; }
  server_cpu_set="taskset -c 0"
  client_cpu_set="taskset -c 1"
fi

serve() { start_server $server_cpu_set "$bin" serve --addr 127.0.0.1:0 --scenario "$work/bench.json" --max-in-flight 100000; }

write_pay_lua "$work/pay.lua"

rounds="${ROUNDS:-3}"
transports="${TRANSPORTS:-http1 hyper reqwest}"
echo "$(nproc) cores; $conns connections; $threads client thread(s); a fresh server per client; $rounds rounds, clients taking turns${PIN:+; PIN=$PIN}"
: > "$work/lines"
for round in $(seq 1 "$rounds"); do
  serve
  $client_cpu_set /usr/bin/time -f "%U %S" -o "$work/wrk.time" wrk -t"$threads" -c"$conns" -d"${secs}s" -s "$work/pay.lua" "$url" > "$work/wrk.out"
  stop_server
  total=$(awk '/requests in/ {print $1}' "$work/wrk.out")
  read -r wu ws < "$work/wrk.time"
  python3 -c "print('wrk', $(awk '/Requests\/sec/ {print $2}' "$work/wrk.out"), round(($wu + $ws) * 1e6 / $total, 1), $total, 0, round($server_cpu * 1e6 / $total, 1))" >> "$work/lines"
  for transport in $transports; do
    serve
    # A fresh directory: a run that writes no report must not be read as the last round's.
    rm -rf "$work/run-$transport"
    $client_cpu_set "$bin" run "$work/bench.json" --target "$url" --time-scale 100000000 --connections "$conns" --threads "$threads" \
      --queue-bound 10000000 --transport "$transport" --out "$work/run-$transport" --quiet > /dev/null || true
    stop_server
    python3 - "$work/run-$transport/report.json" "$transport" "$server_cpu" >> "$work/lines" <<'PY'
import json, sys
l = json.load(open(sys.argv[1]))["live"]
n = l["requests_completed"]
print(sys.argv[2], l["requests_per_second"], l["client_cpu_micros_per_request"], n, l["not_sent"], round(float(sys.argv[3]) * 1e6 / max(n, 1), 1))
PY
  done
  echo "round $round done" >&2
done

python3 - "$work/lines" $transports <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
clients = ["wrk"] + sys.argv[2:]
print(f"{'client':<22} {'req/s':>10} {'client µs/req':>14} {'server µs/req':>14} {'requests':>9}")
for r in rows:
    name = r[0] if r[0] == "wrk" else f"cutover run ({r[0]})"
    print(f"{name:<22} {float(r[1]):>10.0f} {float(r[2]):>14.1f} {float(r[5]):>14.1f} {int(float(r[3])):>9}" + ("" if r[0] == "wrk" else f"   not sent {r[4]}"))
med = {c: (statistics.median(float(r[1]) for r in rows if r[0] == c), statistics.median(float(r[2]) for r in rows if r[0] == c)) for c in clients}
print(f"medians over {sum(1 for r in rows if r[0] == 'wrk')} rounds:")
w_rps, w_cpu = med["wrk"]
print(f"  wrk: {w_rps:.0f} req/s, {w_cpu:.1f} µs CPU/request")
for c in clients[1:]:
    rps, cpu = med[c]
    print(f"  cutover run ({c}): {rps:.0f} req/s, {cpu:.1f} µs CPU/request = {rps / w_rps:.2f}x wrk throughput, {cpu / w_cpu:.2f}x wrk CPU/request")
PY
