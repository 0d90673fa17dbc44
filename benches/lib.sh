# What the benchmark scripts share; sourced by them, not run. Each script sets `work` (a
# temporary directory) before using these, and calls `bench_cleanup` on exit.

server_pid=""

# start_server COMMAND...: start a server that prints "listening on URL" (on a free loopback
# port); sets server_pid and url.
start_server() {
  "$@" > "$work/serve.out" 2>/dev/null &
  server_pid=$!
  for _ in $(seq 1 100); do grep -q listening "$work/serve.out" 2>/dev/null && break; sleep 0.1; done
  url=$(sed -n 's/^listening on //p' "$work/serve.out")
  [ -n "$url" ] || { echo "the server did not start: $*"; exit 1; }
}

# stop_server: stop it by its PID; sets server_cpu, its CPU seconds (user + system).
stop_server() {
  local ticks
  ticks=$(awk '{print $14 + $15}' "/proc/$server_pid/stat")
  kill "$server_pid"; wait "$server_pid" 2>/dev/null || true
  server_pid=""
  server_cpu=$(python3 -c "print($ticks / 100)")
}

# bench_cleanup: the server, if one is running, and the temporary directory.
bench_cleanup() {
  [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null
  rm -rf "$work"
}

# write_pay_lua FILE: a wrk script posting a new payment (a new idempotency key) per request.
# Each wrk thread runs its own copy of the script, so the keys carry the thread's number:
# with one counter per thread and nothing else, `-t2` sent every key twice, and half the
# requests were replays.
write_pay_lua() {
  cat > "$1" <<'LUA'
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end
counter = 0
request = function()
  counter = counter + 1
  local n = counter * 64 + tid
  local body = '{"payer_id":' .. n .. ',"group":"flexible","league":"Hohhot","channel":"wechat_mini","items_fen":{"pension":74040}}'
  return wrk.format("POST", "/v1/payments", {["Content-Type"] = "application/json", ["Idempotency-Key"] = "wrk-" .. tid .. "-" .. counter}, body)
end
LUA
}

# write_payments_scenario FILE SCALE: the smoke scenario's payers (each group x SCALE, no
# proxies), payments only (no special payments, look-ups, batches or gates), always open:
# with a time scale of 1e8 every payment is due at once and the driver runs saturated.
# Online channels only, each group's online shares (of payments, and of a unit's assessments)
# scaled up to the whole, and no hotline:
# at 1e8 a counter serves a handful and turns the rest away, so with the counters two of
# every three attempts never reached the wire, and a load tool's figures per request would
# charge the driver for them (wrk's every request is a payment on the wire).
write_payments_scenario() {
  python3 - "$1" "$2" <<'PY'
import json, sys
v = json.load(open("scenarios/ci-smoke.json"))
v["name"] = "bench-payments"
v["timeline"]["phases"] = [{"name": "open", "start": v["timeline"]["start"], "source": "E"}]
g = v["population"]["groups"]
for k in ("unit", "flexible", "resident_pension", "resident_medical"):
    g[k]["count"] *= int(sys.argv[2])
g["proxy"]["count"] = 0
for k in ("flexible", "resident_pension", "resident_medical"):
    g[k]["special_share"] = 0.0
v["batches"] = []
v["behaviour"]["lookup_share"] = 0.0
v["behaviour"].pop("hotline", None)
v["gates"] = []
online = [c for c in v["channels"] if c["kind"] == "online"]
for c in v["channels"]:
    if c["kind"] != "online":
        c.pop("share", None)
        c.pop("assessment_share", None)
for field in ("share", "assessment_share"):
    for k in ("unit", "flexible", "resident_pension", "resident_medical"):
        total = sum(c.get(field, {}).get(k, 0.0) for c in online)
        for c in online:
            if k in c.get(field, {}):
                c[field][k] /= total
json.dump(v, open(sys.argv[1], "w"))
PY
}
