#!/usr/bin/env bash
# Benchmark (issue 24, item 3): `cutover run` sending on its timers at a fixed rate, beside
# oha at the same rate (`oha -q RATE`), each against a fresh `cutover serve` on loopback.
#
# Usage: bash benches/timer-vs-oha.sh [seconds] [connections]   (defaults 27, 32)
#        RATES="1000 5000 20000" ROUNDS=3 bash benches/timer-vs-oha.sh   (the defaults)
#        BIN=/path/to/cutover bash benches/timer-vs-oha.sh   (another build, taking turns)
#        RUN_ARGS="--threads 1" bash benches/timer-vs-oha.sh   (more flags for `cutover run`)
#        OHA=/path/to/oha ...   (else oha from PATH, else target/bench-tools/bin/oha, which
#        this script installs there with `cargo install oha --version 1.16.0 --locked` when
#        missing: about 6 minutes on 2 cores, once)
#
# The run's scenario: flexible employees only, one online channel, one day of the timeline
# with every hour and day weighted alike, so that the payers arrive at an even rate (a
# Poisson stream); RATE x seconds payers, each paying once, at a time scale that plays the
# day in `seconds`. oha sends the same request RATE times a second (one body, one key: the
# server answers replays; the client's work is the same).
#
# Clients take turns, round after round and rate after rate, each against a fresh server.
# Printed per run: requests, CPU per request of the client (user + system from GNU time for
# oha; the report's client_cpu_micros_per_request for cutover, counted from the first
# request, setup excluded), peak memory (max RSS), and for cutover its schedule lateness p99
# (live.driver_lateness) and its memory a quarter and three quarters of the way through
# (flat: the same), beside its peak (which includes the report built at the end). Then the medians and the ratio of CPU per request.
# Needs: python3, GNU time (/usr/bin/time), cargo (to install oha). Traffic goes to
# 127.0.0.1 only; every process it starts is stopped by its PID.
set -euo pipefail
cd "$(dirname "$0")/.."
secs="${1:-27}"
conns="${2:-32}"
rates="${RATES:-1000 5000 20000}"
rounds="${ROUNDS:-3}"
bin="${BIN:-target/release/cutover}"
[ -n "${BIN:-}" ] || cargo build --release --quiet
oha="${OHA:-$(command -v oha || true)}"
if [ -z "$oha" ]; then
  oha=target/bench-tools/bin/oha
  if [ ! -x "$oha" ]; then
    echo "installing oha 1.16.0 into target/bench-tools (once)" >&2
    cargo install oha --version 1.16.0 --locked --root target/bench-tools --quiet
  fi
fi
work=$(mktemp -d)
source benches/lib.sh
sampler_pid=""
cleanup() {
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
  bench_cleanup
}
trap cleanup EXIT

scenario() {  # scenario FILE PAYERS
  python3 - "$1" "$2" <<'PY'
import json, sys
v = json.load(open("scenarios/ci-smoke.json"))
v["name"] = "bench-steady"
t = v["timeline"]
t["start"] = t["notice_published"] = "2021-05-10T00:00:00+08:00"
t["end"] = "2021-05-11T00:00:00+08:00"
t["phases"] = [{"name": "open", "start": t["start"], "source": "E"}]
t["calendar"]["holidays"] = []
t["calendar"]["makeup_workdays"] = []
g = v["population"]["groups"]
for k in ("unit", "resident_pension", "resident_medical", "proxy"):
    g[k]["count"] = 0
f = g["flexible"]
f.update(count=int(sys.argv[2]), active_share=1.0, special_share=0.0, withholding_share=0.0)
for c in v["channels"]:
    c["share"] = {k: x for k, x in c.get("share", {}).items() if k != "flexible"}
    if c["id"] == "wechat_mini":
        c["share"]["flexible"] = 1.0
b = v["behaviour"]
b["online_hour_weights"] = [1] * 24
b["day_weights"] = {"working": 1.0, "weekend": 1.0, "holiday": 1.0}
b["lookup_share"] = 0.0
b["certificate_share"] = 0.0
for k in ("dues", "expectations"):
    v.pop(k, None)
v["batches"] = []
v["gates"] = []
json.dump(v, open(sys.argv[1], "w"))
PY
}

serve() { start_server "$bin" serve --addr 127.0.0.1:0 --scenario "$1" --max-in-flight 100000; }

body='{"payer_id":1,"group":"flexible","league":"Hohhot","channel":"wechat_mini","items_fen":{"pension":74040}}'
scale=$(python3 -c "print(86400 / $secs)")
echo "$(nproc) cores; $conns connections; $secs s per run; rates: $rates; $rounds rounds, clients taking turns, a fresh server each; oha: $("$oha" --version)"
: > "$work/lines"
for round in $(seq 1 "$rounds"); do
  for rate in $rates; do
    n=$((rate * secs))
    scenario "$work/s.json" "$n"

    serve "$work/s.json"
    /usr/bin/time -f "%U %S %M" -o "$work/oha.time" "$oha" -q "$rate" -n "$n" -c "$conns" -m POST \
      -H "Content-Type: application/json" -H "Idempotency-Key: bench-oha" -d "$body" --no-tui "$url/v1/payments" > "$work/oha.out"
    stop_server
    # GNU time puts "Command exited with non-zero status N" before its figures when the
    # command fails: the figures are the last line.
    read -r u s m < <(tail -1 "$work/oha.time")
    python3 -c "print('oha', $rate, round(($u + $s) * 1e6 / $n, 1), $n, $m, '-', '-', '-', '-', '-')" >> "$work/lines"

    serve "$work/s.json"
    /usr/bin/time -f "%U %S %M" -o "$work/run.time" "$bin" run "$work/s.json" --target "$url" --time-scale "$scale" \
      --connections "$conns" ${RUN_ARGS:-} --out "$work/run" --quiet > "$work/run.out" 2> "$work/run.err" &
    run_pid=$!
    # The driver's resident memory every half second (the time wrapper's child is the run).
    (while kill -0 "$run_pid" 2>/dev/null; do
       child=$(pgrep -P "$run_pid" | head -1 || true)
       [ -n "$child" ] && awk '/VmRSS/ {print $2}' "/proc/$child/status" 2>/dev/null
       sleep 0.5
     done) > "$work/rss" &
    sampler_pid=$!
    run_status=0
    wait "$run_pid" || run_status=$?
    wait "$sampler_pid" 2>/dev/null || true
    sampler_pid=""
    stop_server
    if [ "$run_status" != 0 ]; then
      # Its figures still count when it wrote a report (a verdict other than GO exits 1);
      # what it said is shown, so that a failed run is diagnosed rather than dropped.
      echo "cutover run exited $run_status at $rate/s: $(tail -3 "$work/run.out" | tr '\n' ' ') $(tail -3 "$work/run.err" | tr '\n' ' ')" >&2
    fi
    read -r u s m < <(tail -1 "$work/run.time")
    [ -f "$work/run/report.json" ] || { echo "cutover run wrote no report at $rate/s (exit $run_status): $(tail -5 "$work/run.err")"; continue; }
    python3 - "$work/run/report.json" "$rate" "$m" "$work/rss" "$run_status" >> "$work/lines" <<'PY'
import json, sys
live = json.load(open(sys.argv[1]))["live"]
rss = [int(x) for x in open(sys.argv[4]).read().split()]
at = lambda f: rss[int(len(rss) * f)] if rss else 0
print("cutover", sys.argv[2], live["client_cpu_micros_per_request"], live["requests_completed"], sys.argv[3],
      live["driver_lateness"]["ms"]["p99"], at(0.25), at(0.75), live["not_sent"], sys.argv[5])
PY
    rm -rf "$work/run"
    echo "round $round, $rate/s done" >&2
  done
done

python3 - "$work/lines" $rates <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
mib = lambda x: "-" if x == "-" else f"{int(x) / 1024:.0f}"
print(f"{'client':<8} {'req/s':>6} {'CPU µs/req':>11} {'requests':>9} {'peak MiB':>9} {'lateness p99 ms':>16} {'MiB at 1/4, 3/4':>16}")
for r in rows:
    print(f"{r[0]:<8} {r[1]:>6} {float(r[2]):>11.1f} {r[3]:>9} {mib(r[4]):>9} {r[5]:>16} {mib(r[6]) + ', ' + mib(r[7]):>16}"
          + ("" if r[0] == "oha" else f"   not sent {r[8]}" + ("" if r[9] == "0" else f", exit {r[9]}")))
print("medians:")
for rate in sys.argv[2:]:
    def med(client, col):
        return statistics.median(float(r[col]) for r in rows if r[0] == client and r[1] == rate)
    if not any(r[0] == "cutover" and r[1] == rate for r in rows) or not any(r[0] == "oha" and r[1] == rate for r in rows):
        print(f"  {rate}/s: no figures of one of the clients (see above)")
        continue
    o, c = med("oha", 2), med("cutover", 2)
    print(f"  {rate}/s: oha {o:.1f} µs CPU/request, cutover run {c:.1f} ({c / o:.2f}x oha); cutover lateness p99 {med('cutover', 5):.3f} ms, "
          f"memory a quarter and three quarters through {med('cutover', 6) / 1024:.0f} and {med('cutover', 7) / 1024:.0f} MiB, peak {med('cutover', 4) / 1024:.0f} MiB")
PY
