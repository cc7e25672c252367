#!/usr/bin/env bash
# Inlet's throughput next to its baselines, all in one run on this machine (loopback only;
# every wait is bounded). Prints markdown tables and writes Benchmarks/pipeline/results-<cores>cores.json.
#
#   Benchmarks/pipeline/run.sh [scenario ...]     (default: ingress pipeline)
#
#   ingress   `inlet ingress` alone (embedded broker in its own process; ingress started without
#             --embedded-broker, so no backlog guard pushes back while nothing reads) vs a bare
#             Hummingbird server reading the same body and answering 200: one GitHub
#             subscription, a signed ~13.5 KB `issues` delivery, wrk -t1 -c32 -d8s.
#   pipeline  16 subscriptions, ~480 B deliveries, wrk -t1 -c64 -d3s, events counted live on
#             the output topic until none came for 5 s: `inlet dev` (one process) and the roles
#             as separate processes vs the Python relay peer (Benchmarks/peer) on the same
#             broker; and bare Hummingbird answering the same requests with 200 (nothing stored
#             or checked): the most any server takes here. CORES=1 runs everything under
#             `taskset -c 0`.
#
# Needs wrk, kcat, python3 (the peer's packages are installed from PyPI into a venv by
# Benchmarks/peer/setup.sh) and release builds: `swift build -c release --product inlet
# && swift build -c release --product InletBenchmarks` (one product per build). INLET=path/to/inlet measures another build. DEV_ONLY=1 stops after
# `inlet dev`; INLET_LOG_LEVEL=debug with KEEP_LOGS=<dir> keeps the processes' logs (each
# stream processor logs every batch's size and its processing and commit times).
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
inlet=${INLET:-$root/.build/release/inlet}
bench=$root/.build/release/InletBenchmarks
[ -x "$inlet" ] && [ -x "$bench" ] || { swift build -c release --product inlet && swift build -c release --product InletBenchmarks; }
scenarios=("${@:-ingress}")
[ $# -eq 0 ] && scenarios=(ingress pipeline)
pin=()
[ "${CORES:-2}" = 1 ] && pin=(taskset -c 0)
work=$(mktemp -d)
results=$root/Benchmarks/pipeline/results-${CORES:-2}cores.json
echo "[]" > "$work/results.json"
cleanup() { kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; [ -n "${KEEP_LOGS:-}" ] && cp "$work"/*.log "$KEEP_LOGS"/ 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
export INLET_ADMIN_TOKEN=bench-token INLET_LOG_LEVEL=${INLET_LOG_LEVEL:-error} INLET_EMBEDDED_BROKER=1
export INLET_SECRET_KEY=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
# Every role runs this version: ingress may write raw records (`inlet ingress` defaults to json
# for rolling upgrades from versions before them; `inlet dev` always writes raw).
export INLET_INGRESS_RECORD_FORMAT=${INLET_INGRESS_RECORD_FORMAT:-raw}
# The embedded broker holds a fetch for the whole fetch.wait.max.ms (docs/benchmarks.md).
# As `inlet dev` sets them: 5 ms for the loops a webhook passes through, 50 ms for the tables.
export INLET_KAFKA_FETCH_WAIT_MAX_MS=${INLET_KAFKA_FETCH_WAIT_MAX_MS:-5}
export INLET_KAFKA_TABLE_FETCH_WAIT_MAX_MS=${INLET_KAFKA_TABLE_FETCH_WAIT_MAX_MS:-50}
auth=(-H "Authorization: Bearer bench-token" -H "content-type: application/json")
stub_port=18090

record() { # name key=value ...
  python3 - "$work/results.json" "$@" <<'PY'
import json, sys
path, name, *pairs = sys.argv[1:]
rows = json.load(open(path))
row = {"name": name}
for pair in pairs:
    key, value = pair.split("=", 1)
    try: value = float(value)
    except ValueError: pass
    row[key] = value
rows.append(row)
json.dump(rows, open(path, "w"), indent=1)
PY
}

wrk_field() { awk -v k="$1" '$1==k {print $2}' "$2"; }

# Records row $1 from $work/wrk.txt (answers by status, duration, latency) with extra fields $2...
record_wrk() {
  local name=$1; shift
  record "$name" ok=$(wrk_field status_ok "$work/wrk.txt") busy=$(wrk_field status_503 "$work/wrk.txt") \
    other=$(wrk_field status_other "$work/wrk.txt") seconds=$(wrk_field duration_s "$work/wrk.txt") \
    p50_ms=$(wrk_field latency_p50_ms "$work/wrk.txt") p99_ms=$(wrk_field latency_p99_ms "$work/wrk.txt") "$@"
}

wait_for() { # url
  for _ in $(seq 150); do curl -sf "$1" > /dev/null && return 0; sleep 0.2; done
  echo "not ready: $1" >&2; return 1
}

# Creates $1 GitHub subscriptions on the admin API at port $2; writes $work/subs.json
# ({path: secret}) and $work/peer-subs.json ({token: {id, secret, customerId, connectorKey}}).
subscribe() {
  local count=$1 port=$2
  local connection
  connection=$(curl -sf "${auth[@]}" -d '{"connectorKey":"github","customerId":"acme","credentials":{"access_token":"x"}}' \
    http://127.0.0.1:$port/api/v1/connections | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  : > "$work/subs.lines"
  for i in $(seq "$count"); do
    local secret="bench-secret-$i-0123456789"
    curl -sf "${auth[@]}" -d "{\"connectionId\":\"$connection\",\"eventKey\":\"issues\",\"parameters\":{\"owner\":\"octo\",\"repo\":\"r$i\",\"secret\":\"$secret\"}}" \
      http://127.0.0.1:$port/api/v1/subscriptions | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["id"], s["webhookUrl"], sys.argv[1])' "$secret" >> "$work/subs.lines"
  done
  python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
subs, peer = {}, {}
for line in open(f"{work}/subs.lines"):
    sid, url, secret = line.split()
    path = "/" + url.split("://", 1)[1].split("/", 1)[1]
    subs[path] = secret
    peer[path.rsplit("/", 1)[1]] = {"id": sid, "secret": secret, "customerId": "acme", "connectorKey": "github"}
json.dump(subs, open(f"{work}/subs.json", "w"))
json.dump(peer, open(f"{work}/peer-subs.json", "w"))
PY
}

# Runs wrk against port $1 with script $2 for ($3 connections, $4 seconds) while counting the
# events arriving on topic $5 at $6; records row $7 with extra fields $8...
load_and_count() {
  local port=$1 script=$2 connections=$3 seconds=$4 topic=$5 bootstrap=$6 name=$7; shift 7
  python3 Benchmarks/pipeline/counter.py "$work/count.json" 5 300 \
    kcat -C -b "$bootstrap" -X fetch.wait.max.ms=10 -t "$topic" -o end -u -q -f '%o\n' &
  local counter=$!
  sleep 2
  local start
  start=$(python3 -c 'import time; print(time.time())')
  wrk -t1 -c"$connections" -d"${seconds}s" -s "$script" http://127.0.0.1:$port > "$work/wrk.txt"
  wait $counter || true
  local ok busy other duration p50 p99 events last
  ok=$(wrk_field status_ok "$work/wrk.txt"); busy=$(wrk_field status_503 "$work/wrk.txt")
  other=$(wrk_field status_other "$work/wrk.txt"); duration=$(wrk_field duration_s "$work/wrk.txt")
  p50=$(wrk_field latency_p50_ms "$work/wrk.txt"); p99=$(wrk_field latency_p99_ms "$work/wrk.txt")
  read -r events last < <(python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); print(c["events"], c["last"] or 0)' "$work/count.json")
  local drained
  drained=$(python3 -c "print(round(max($last - $start, $duration), 3))")
  record "$name" ok=$ok busy=$busy other=$other seconds=$duration p50_ms=$p50 p99_ms=$p99 events=$events \
    drained_s=$drained accepted_per_s=$(python3 -c "print(round($ok / $duration))") \
    events_per_s=$(python3 -c "print(round($events / $drained))") "$@"
}

start_stub() {
  python3 Benchmarks/overload/stub_api.py $stub_port &
  sleep 0.3
}

scenario_ingress() {
  start_stub
  "${pin[@]}" "$inlet" broker > "$work/broker.log" 2>&1 &
  for _ in $(seq 100); do grep -q bootstrap.servers "$work/broker.log" && break; sleep 0.1; done
  local bootstrap
  bootstrap=$(sed -n 's/^bootstrap.servers=//p' "$work/broker.log")
  # Without --embedded-broker ingress has no backlog guard: nothing pushes back, whatever
  # the broker trims (the handler only creates the subscription, then stops).
  INLET_EMBEDDED_BROKER=0 "${pin[@]}" "$inlet" ingress --port 18080 --bootstrap-servers "$bootstrap" > "$work/ingress.log" 2>&1 &
  "$inlet" handler --bootstrap-servers "$bootstrap" --api-base-override http://127.0.0.1:$stub_port > "$work/handler.log" 2>&1 &
  local handler=$!
  wait_for http://127.0.0.1:18080/health/ready
  subscribe 1 18080
  kill -TERM $handler; wait $handler 2>/dev/null || true
  local path secret
  read -r path secret < <(python3 -c 'import json,sys; p,s=next(iter(json.load(open(sys.argv[1])).items())); print(p,s)' "$work/subs.json")
  local bytes
  bytes=$(python3 Benchmarks/overload/delivery.py "$secret" "$path" "$work/post.lua")
  sleep 5
  wrk -t1 -c32 -d8s -s "$work/post.lua" http://127.0.0.1:18080 > "$work/wrk.txt"
  record_wrk "inlet ingress" body=$bytes
  kill -TERM $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true
  "${pin[@]}" "$bench" bare-http 18081 &
  wait_for http://127.0.0.1:18081/health
  wrk -t1 -c32 -d8s -s "$work/post.lua" http://127.0.0.1:18081 > "$work/wrk.txt"
  record_wrk "bare Hummingbird" body=$bytes
  kill -TERM $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true
}

scenario_pipeline() {
  local subs=16 connections=64 seconds=3 size=480
  # Inlet in one process.
  start_stub
  "${pin[@]}" "$inlet" dev --port 18080 --api-base-override http://127.0.0.1:$stub_port > "$work/dev.log" 2>&1 &
  for _ in $(seq 100); do grep -q "Kafka (embedded)" "$work/dev.log" && break; sleep 0.2; done
  local bootstrap
  bootstrap=$(sed -n 's/.*Kafka (embedded): *\([^ ]*\).*/\1/p' "$work/dev.log")
  wait_for http://127.0.0.1:18080/health/ready
  subscribe $subs 18080
  local bytes
  bytes=$(python3 Benchmarks/pipeline/deliveries.py "$work/subs.json" "$work/inlet.lua" $size)
  load_and_count 18080 "$work/inlet.lua" $connections $seconds inlet.events "$bootstrap" "inlet dev" body=$bytes subscriptions=$subs
  [ "${DEV_ONLY:-0}" = 1 ] && { kill -TERM $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; return; }
  # The Python relay on the same broker, to a topic of its own.
  local python
  python=$(Benchmarks/peer/setup.sh | tail -1)
  "${pin[@]}" "$python" Benchmarks/peer/relay.py --bootstrap "$bootstrap" --topic inlet.app-events --port 18082 \
    --subscriptions "$work/peer-subs.json" --workers 2 > "$work/relay.log" 2>&1 &
  wait_for http://127.0.0.1:18082/health
  load_and_count 18082 "$work/inlet.lua" $connections $seconds inlet.app-events "$bootstrap" "Python relay" body=$bytes subscriptions=$subs
  kill -TERM $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true
  # The ceiling of any server on this machine under this load: bare Hummingbird answering 200
  # to the same requests, storing and checking nothing.
  "${pin[@]}" "$bench" bare-http 18083 &
  wait_for http://127.0.0.1:18083/health
  wrk -t1 -c$connections -d${seconds}s -s "$work/inlet.lua" http://127.0.0.1:18083 > "$work/wrk.txt"
  record_wrk "bare Hummingbird (pipeline load)" body=$bytes
  kill -TERM $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true
  # The roles as separate processes.
  start_stub
  "${pin[@]}" "$inlet" broker > "$work/broker.log" 2>&1 &
  for _ in $(seq 100); do grep -q bootstrap.servers "$work/broker.log" && break; sleep 0.1; done
  bootstrap=$(sed -n 's/^bootstrap.servers=//p' "$work/broker.log")
  "${pin[@]}" "$inlet" ingress --port 18080 --bootstrap-servers "$bootstrap" > "$work/ingress.log" 2>&1 &
  "${pin[@]}" "$inlet" handler --bootstrap-servers "$bootstrap" --api-base-override http://127.0.0.1:$stub_port > "$work/handler.log" 2>&1 &
  "${pin[@]}" "$inlet" dispatcher --bootstrap-servers "$bootstrap" > "$work/dispatcher.log" 2>&1 &
  wait_for http://127.0.0.1:18080/health/ready
  subscribe $subs 18080
  python3 Benchmarks/pipeline/deliveries.py "$work/subs.json" "$work/inlet.lua" $size > /dev/null
  load_and_count 18080 "$work/inlet.lua" $connections $seconds inlet.events "$bootstrap" "inlet roles (4 processes)" body=$bytes subscriptions=$subs
  kill -TERM $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true
}

for scenario in "${scenarios[@]}"; do "scenario_$scenario"; done
cp "$work/results.json" "$results"
python3 Benchmarks/pipeline/report.py "$results" "${CORES:-2}"
