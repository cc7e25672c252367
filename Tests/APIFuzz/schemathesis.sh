#!/usr/bin/env bash
# Fuzzes the running admin and ingress API against schemas/openapi.yml with schemathesis (from
# PyPI, pinned with its dependencies in requirements.txt, installed once into
# ${APIFUZZ_VENV:-/tmp/inlet-apifuzz-venv}):
# `inlet dev` on a free loopback port, then every operation with generated valid and invalid
# requests (coverage, fuzzing and stateful phases). Fails on any 5xx, on a status code, content
# type or response body the document does not describe, and when `inlet dev` does not start.
# Operations on an id run against a seeded customer, connection and subscription (see below).
# Bounded: at most ${APIFUZZ_EXAMPLES:-50} examples per operation and phase (about 3,000
# requests in 65 s on 2 cores), stopped after ${APIFUZZ_TIMEOUT:-600} s.
#
#   Tests/APIFuzz/schemathesis.sh [path/to/inlet]   (default .build/debug/inlet)
#
# APIFUZZ_SEED=<n> replays a run (each run prints its seed).
set -euo pipefail
cd "$(dirname "$0")/../.."
inlet=${1:-.build/debug/inlet}
[ -x "$inlet" ] || { echo "no inlet binary at $inlet: run swift build first" >&2; exit 1; }
here=Tests/APIFuzz
venv=${APIFUZZ_VENV:-/tmp/inlet-apifuzz-venv}
# requirements.txt pins schemathesis and everything it needs; the venv is made again when it
# changes.
wanted=$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)
if [ ! -x "$venv/bin/schemathesis" ] || [ "$(cat "$venv/.requirements" 2>/dev/null)" != "$wanted" ]; then
  python3 -m venv "$venv" || { echo "python3 -m venv failed: apt-get install python3-venv" >&2; exit 1; }
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$here/requirements.txt"
  echo "$wanted" > "$venv/.requirements"
fi
work=$(mktemp -d)
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token=apifuzz-$(python3 -c 'import secrets; print(secrets.token_hex(16))')
# Connector API calls (a generated subscription's subscribe) go to a closed loopback port:
# nothing leaves the machine.
INLET_ADMIN_WAIT_MS=${INLET_ADMIN_WAIT_MS:-2000} INLET_ADMIN_TOKEN=$token INLET_LOG_LEVEL=${INLET_LOG_LEVEL:-error} "$inlet" dev --port "$port" --api-base-override http://127.0.0.1:9 \
  > "$work/dev.log" 2>&1 &
dev=$!
cleanup() {
  kill -TERM $dev 2>/dev/null || true
  for _ in $(seq 100); do kill -0 $dev 2>/dev/null || break; sleep 0.1; done
  kill -KILL $dev 2>/dev/null || true
  wait $dev 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ready() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "http://127.0.0.1:$port/health/ready" 2> /dev/null; }
deadline=$((SECONDS + 60))
while [ $SECONDS -lt $deadline ]; do
  ready && break
  kill -0 $dev 2>/dev/null || { echo "inlet dev exited:" >&2; cat "$work/dev.log" >&2; exit 1; }
  sleep 0.2
done
ready || { echo "inlet dev not ready after 60 s:" >&2; cat "$work/dev.log" >&2; exit 1; }
# Real resources for the operations on one of them (GET, PATCH, POST on an id), so they are
# exercised past the lookup instead of answering 404: a customer, a GitHub connection, a pulled
# collection subscription (subscribing it calls no API). DELETEs keep generated ids, so the
# resources stay for the others.
python3 - "http://127.0.0.1:$port" "$token" > "$work/seeded.env" <<'PY' || { echo "seeding the admin API failed:" >&2; cat "$work/dev.log" >&2; exit 1; }
import json, sys, urllib.request
base, token = sys.argv[1], sys.argv[2]
def post(path, body):
    request = urllib.request.Request(base + path, data=json.dumps(body).encode(), method="POST",
                                     headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)
customer = post("/api/v1/customers", {"id": "apifuzz-customer", "name": "API fuzz"})["id"]
connection = post("/api/v1/connections", {"connectorKey": "github", "customerId": customer, "credentials": {"access_token": "x"}})["id"]
subscription = post("/api/v1/subscriptions", {"connectionId": connection, "collectionKey": "issues", "collectionEvent": "created",
                                              "parameters": {"owner": "octo", "repo": "fuzz"}})["id"]
print(f"APIFUZZ_CUSTOMER={customer}\nAPIFUZZ_CONNECTION={connection}\nAPIFUZZ_SUBSCRIPTION={subscription}")
PY
set -a; . "$work/seeded.env"; set +a
cat > "$work/schemathesis.toml" <<'TOML'
[[operations]]
include-path-regex = "^/api/v1/connections/\\{id\\}$"
exclude-method = "DELETE"
parameters = { "path.id" = "${APIFUZZ_CONNECTION}" }

[[operations]]
include-path-regex = "^/api/v1/subscriptions/\\{id\\}(/pull)?$"
exclude-method = "DELETE"
parameters = { "path.id" = "${APIFUZZ_SUBSCRIPTION}" }

[[operations]]
include-path-regex = "^/api/v1/customers/\\{id\\}(/token)?$"
exclude-method = "DELETE"
parameters = { "path.id" = "${APIFUZZ_CUSTOMER}" }

[[operations]]
include-path = "/api/v1/connectors/{key}/parameters"
parameters = { "path.key" = "github" }
TOML
seed=()
[ -n "${APIFUZZ_SEED:-}" ] && seed=(--seed "$APIFUZZ_SEED")
status=0
schema=$PWD/schemas/openapi.yml
# From the scratch folder: schemathesis keeps a cache (.schemathesis/) where it runs.
(cd "$work" && timeout "${APIFUZZ_TIMEOUT:-600}" "$venv/bin/schemathesis" --config-file "$work/schemathesis.toml" run "$schema" --url "http://127.0.0.1:$port" \
  -H "Authorization: Bearer $token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --phases examples,coverage,fuzzing,stateful --max-examples "${APIFUZZ_EXAMPLES:-50}" \
  --request-timeout 30 --workers 1 --no-color "${seed[@]}") || status=$?
if ! kill -0 $dev 2>/dev/null; then
  echo "inlet dev died during the run:" >&2; tail -50 "$work/dev.log" >&2; exit 1
fi
exit $status
