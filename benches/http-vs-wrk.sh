#!/usr/bin/env bash
# Benchmark: requests per second and client CPU per request of `cutover run` against
# `cutover serve` on loopback, side by side in one run with wrk (Debian package `wrk`)
# against the same server and endpoint (POST /v1/payments, each request a new payment).
#
# Usage: bash benches/http-vs-wrk.sh [seconds-for-wrk] [connections]   (defaults 10, 32)
#        TRANSPORTS="http1" bash benches/http-vs-wrk.sh     (default: http1 hyper reqwest)
# Needs: wrk, python3, GNU time (/usr/bin/time). Traffic goes to 127.0.0.1 only; every
# process it starts is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-10}"
conns="${2:-32}"
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 2; }
cargo build --release --quiet
bin=target/release/cutover
work=$(mktemp -d)
server_pid=""
cleanup() { [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

# A payments-only scenario, always open, ~530k payments all due at once (time scale 1e8),
# so the run lasts about as long as wrk does:
# the driver runs saturated, like wrk.
python3 - "$work/bench.json" <<'PY'
import json, sys
v = json.load(open("scenarios/ci-smoke.json"))
v["name"] = "bench-payments"
v["timeline"]["phases"] = [{"name": "open", "start": v["timeline"]["start"], "source": "E"}]
g = v["population"]["groups"]
for k in ("unit", "flexible", "resident_pension", "resident_medical"):
    g[k]["count"] *= 400
g["proxy"]["count"] = 0
g["flexible"]["special_share"] = 0.0
g["resident_pension"]["special_share"] = 0.0
g["resident_medical"]["special_share"] = 0.0
v["batches"] = []
v["behaviour"]["lookup_share"] = 0.0
v["gates"] = []
json.dump(v, open(sys.argv[1], "w"))
PY

# Each client gets a fresh server (the same binary, scenario and flags), so none of them
# meets the payments of another; the server's own CPU per request is read from /proc.
start_server() {
  "$bin" serve --addr 127.0.0.1:0 --scenario "$work/bench.json" --max-in-flight 100000 > "$work/serve.out" 2>/dev/null &
  server_pid=$!
  for _ in $(seq 1 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/^listening on //p' "$work/serve.out")
  [ -n "$url" ] || { echo "the server did not start"; exit 1; }
}
stop_server() {  # prints the server's CPU seconds (user + system)
  local ticks
  ticks=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  server_pid=""
  python3 -c "print($ticks / 100)"
}

cat > "$work/pay.lua" <<'LUA'
counter = 0
request = function()
  counter = counter + 1
  local body = '{"payer_id":' .. counter .. ',"group":"flexible","league":"Hohhot","channel":"wechat","items_fen":{"pension":74040}}'
  return wrk.format("POST", "/v1/payments", {["Content-Type"] = "application/json", ["Idempotency-Key"] = "wrk-" .. counter}, body)
end
LUA

start_server
echo "$(nproc) cores; $conns connections; a fresh server per client"
/usr/bin/time -f "%U %S" -o "$work/wrk.time" wrk -t2 -c"$conns" -d"${secs}s" -s "$work/pay.lua" "$url" > "$work/wrk.out"
wrk_server_cpu=$(stop_server)
wrk_rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk.out")
wrk_total=$(awk '/requests in/ {print $1}' "$work/wrk.out")
read -r wu ws < "$work/wrk.time"
wrk_cpu_us=$(python3 -c "print(round(($wu + $ws) * 1e6 / $wrk_total, 1))")
wrk_server_us=$(python3 -c "print(round($wrk_server_cpu * 1e6 / $wrk_total, 1))")

transports="${TRANSPORTS:-http1 hyper reqwest}"
for transport in $transports; do
  start_server
  "$bin" run "$work/bench.json" --target "$url" --time-scale 100000000 --connections "$conns" \
    --queue-bound 10000000 --transport "$transport" --out "$work/run-$transport" --quiet > /dev/null || true
  server_cpu=$(stop_server)
  python3 - "$work/run-$transport/report.json" "$transport" "$server_cpu" > "$work/run-$transport.line" <<'PY'
import json, sys
l = json.load(open(sys.argv[1]))["live"]
n = l["requests_completed"]
print(sys.argv[2], l["requests_per_second"], l["client_cpu_micros_per_request"], n, l["not_sent"], round(float(sys.argv[3]) * 1e6 / max(n, 1), 1))
PY
done

printf '%-22s %12s %16s %16s %10s\n' "client" "req/s" "client µs/req" "server µs/req" "requests"
printf '%-22s %12s %16s %16s %10s\n' "wrk" "$wrk_rps" "$wrk_cpu_us" "$wrk_server_us" "$wrk_total"
for transport in $transports; do
  read -r name rps cpu n ns scpu < "$work/run-$transport.line"
  ratio=$(python3 -c "print(round($rps / $wrk_rps, 2))")
  cratio=$(python3 -c "print(round($cpu / $wrk_cpu_us, 2))")
  printf '%-22s %12s %16s %16s %10s   (%sx wrk throughput, %sx wrk CPU/request; not sent %s)\n' "cutover run ($name)" "$rps" "$cpu" "$scpu" "$n" "$ratio" "$cratio" "$ns"
done
