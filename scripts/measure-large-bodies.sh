#!/usr/bin/env bash
# Resident memory of the sample server around large JSON inference bodies: starts the built sample server (Release) on a
# free port over a fresh data directory, sends one 54 MB body (94,000 rows of 64 floats) to demo-mlp, then four at once,
# and prints the server's VmRSS after each step and 15 s later.
#   dotnet build samples/ModelKit.SampleServer -c Release && ./scripts/measure-large-bodies.sh
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
port="${PORT:-5099}"
data="$(mktemp -d)"
body="$(mktemp)"
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data" "$body"' EXIT
python3 - "$body" <<'PY'
import random, sys
random.seed(1)
with open(sys.argv[1], 'w') as f:
    f.write('{"input_data": {"x": [')
    for i in range(94000):
        f.write((',' if i else '') + '[' + ','.join('%.6f' % random.random() for _ in range(64)) + ']')
    f.write(']}}')
PY
cd "$root/samples/ModelKit.SampleServer"
dotnet bin/Release/net10.0/ModelKit.SampleServer.dll --urls "http://127.0.0.1:$port" --ModelKit:DataDirectory="$data" >/dev/null 2>&1 &
pid=$!
key='X-API-Key: modelkit-sample-key-change-me'
until curl -sf -H "$key" "http://127.0.0.1:$port/api/v1/models/demo-mlp/status" | grep -q '"status":"running"'; do sleep 0.5; done
rss() { echo "$1: $(awk '/VmRSS/ {printf "%d MiB", $2/1024}' /proc/$pid/status)"; }
send() { curl -s -o /dev/null -w '%{http_code} ' -H "$key" -H 'Content-Type: application/json' --data-binary @"$body" "http://127.0.0.1:$port/api/v1/models/demo-mlp/inference"; }
echo "body: $(($(stat -c %s "$body") / 1000000)) MB"
rss "started"
send; echo; rss "after one"
pids=""; for _ in 1 2 3 4; do send & pids="$pids $!"; done; wait $pids; echo
rss "after four at once"
sleep 15; rss "15 s later"
