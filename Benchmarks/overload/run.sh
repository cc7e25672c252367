#!/usr/bin/env bash
# Overload of `inlet dev` as a new user would cause it: one GitHub subscription, wrk posting
# one real, validly signed ~13.5 KB `issues` delivery from 32 connections for 10 s. Counts the
# answers by status, and the events on inlet.events with a consumer that runs during the load
# (the embedded broker keeps only ~5 MiB per partition, so reading afterwards undercounts),
# until no new event arrived for 10 s. Prints a markdown table; loopback only; stops by itself.
#
#   Benchmarks/overload/run.sh [seconds] [connections]     (needs wrk, python3, a release build;
#   INLET=path/to/inlet measures another build, e.g. an older commit, as the baseline)
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${1:-10}
connections=${2:-32}
inlet=${INLET:-.build/release/inlet}
[ -x "$inlet" ] || swift build -c release --product inlet
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
stub_port=18090
port=18080
python3 Benchmarks/overload/stub_api.py $stub_port &
export INLET_ADMIN_TOKEN=bench-token INLET_LOG_LEVEL=error
$inlet dev --port $port --api-base-override http://127.0.0.1:$stub_port > "$work/dev.log" 2>&1 &
for _ in $(seq 100); do grep -q "Kafka (embedded)" "$work/dev.log" && break; sleep 0.2; done
bootstrap=$(sed -n 's/.*Kafka (embedded): *\([^ ]*\).*/\1/p' "$work/dev.log")
for _ in $(seq 100); do curl -sf http://127.0.0.1:$port/health/ready > /dev/null && break; sleep 0.2; done
auth=(-H "Authorization: Bearer bench-token" -H "content-type: application/json")
connection=$(curl -sf "${auth[@]}" -d '{"connectorKey":"github","customerId":"acme","credentials":{"access_token":"x"}}' \
  http://127.0.0.1:$port/api/v1/connections | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
secret=0123456789abcdef-secret
url=$(curl -sf "${auth[@]}" -d "{\"connectionId\":\"$connection\",\"eventKey\":\"issues\",\"parameters\":{\"owner\":\"octo\",\"repo\":\"hello\",\"secret\":\"$secret\"}}" \
  http://127.0.0.1:$port/api/v1/subscriptions | python3 -c 'import json,sys; print(json.load(sys.stdin)["webhookUrl"])')
path=/${url#*://*/}
bytes=$(python3 Benchmarks/overload/delivery.py $secret "$path" "$work/post.lua")
# The live event counter.
$inlet tail inlet.events --from-beginning --compact --bootstrap-servers "$bootstrap" > "$work/events" 2>/dev/null &
$inlet tail inlet.dlq --from-beginning --compact --bootstrap-servers "$bootstrap" > "$work/dlq" 2>/dev/null &
sleep 1
wrk -t1 -c"$connections" -d"${seconds}s" -s "$work/post.lua" http://127.0.0.1:$port > "$work/wrk.txt"
# Drain: until no event arrived for 10 s (at most 5 minutes).
last=-1
for _ in $(seq 30); do
  now=$(wc -l < "$work/events")
  [ "$now" = "$last" ] && break
  last=$now
  sleep 10
done
ok=$(awk '$1=="status_ok" {print $2}' "$work/wrk.txt")
busy=$(awk '$1=="status_503" {print $2}' "$work/wrk.txt")
other=$(awk '$1=="status_other" {print $2}' "$work/wrk.txt")
events=$(wc -l < "$work/events")
letters=$(wc -l < "$work/dlq")
if [ "$letters" -gt 0 ]; then echo "dead letters:"; python3 -c 'import json,sys,base64
for line in open(sys.argv[1]):
    m = json.loads(line); v = json.loads(m.get("value") or "{}") if isinstance(m.get("value"), str) else m.get("value", {})
    print(" ", (v.get("reason") or {}).get("code"), (v.get("reason") or {}).get("message", "")[:200])' "$work/dlq" | sort | uniq -c | head; fi
p50=$(awk '$1=="latency_p50_ms" {print $2}' "$work/wrk.txt")
p99=$(awk '$1=="latency_p99_ms" {print $2}' "$work/wrk.txt")
echo "| body | wrk | 2xx | 503 | other | events on inlet.events | dead letters | accepted without event or dead letter | p50 / p99 ms |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
echo "| $bytes B | -t1 -c$connections -d${seconds}s | $ok | $busy | $other | $events | $letters | $((ok - events - letters)) | $p50 / $p99 |"
