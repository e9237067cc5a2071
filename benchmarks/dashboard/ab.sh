#!/usr/bin/env bash
# The dashboard's cost on the request path: the sample server with ModelKit:Dashboard:Enabled=true (its sampler listens
# to every request's duration and every batch's size) against false, alternately, in one sitting. wrk posts seed 000's
# inference body (one row of 64 values) to demo-mlp; no page is open (the sampler works whether or not anyone looks).
# Usage: benchmarks/dashboard/ab.sh [seconds per run, default 10] [rounds, default 2] [connections, default 16]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
seconds="${1:-10}"; rounds="${2:-2}"; connections="${3:-16}"
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 2; }
key=modelkit-sample-key-change-me
work="$(mktemp -d)"; trap 'kill "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
dotnet build "$root/samples/ModelKit.SampleServer" -c Release -v q -nologo >/dev/null
body="{\"input_data\": [[$(seq -s, 1 64)]]}"
printf '%s' "$body" > "$work/body.json"
cat > "$work/post.lua" <<LUA
local f = io.open("$work/body.json", "rb"); wrk.body = f:read("*a"); f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "$key"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.3f %.3f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
LUA
echo "$(nproc) cores; wrk -t2 -c$connections -d${seconds}s on POST /api/v1/models/demo-mlp/inference; $(date -u +%FT%TZ)"
echo "round dashboard requests_per_second p50_ms p95_ms errors"
for round in $(seq 1 "$rounds"); do
  for enabled in true false; do
    rm -rf "$work/data"
    (cd "$root/samples/ModelKit.SampleServer" && DOTNET_TC_CallCountingDelayMs=0 dotnet bin/Release/net10.0/ModelKit.SampleServer.dll \
      --urls http://127.0.0.1:18090 --ModelKit:DataDirectory="$work/data" --ModelKit:Dashboard:Enabled=$enabled \
      --ModelKit:Auth:RequestsPerMinute=0 --ModelKit:ServeMiniLm=false --ModelKit:ServeChatModel=false --Logging:LogLevel:Default=Warning) > "$work/server.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 120); do
      curl -s -H "X-API-Key: $key" http://127.0.0.1:18090/api/v1/models/demo-mlp/status | grep -q '"status":"running"' && break
      sleep 0.5
    done
    wrk -t2 -c"$connections" -d5s -s "$work/post.lua" http://127.0.0.1:18090/api/v1/models/demo-mlp/inference >/dev/null # warm-up
    result="$(wrk -t2 -c"$connections" -d"${seconds}s" -s "$work/post.lua" http://127.0.0.1:18090/api/v1/models/demo-mlp/inference | grep '^RESULT' | cut -d' ' -f2-)"
    echo "$round $enabled $result"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
