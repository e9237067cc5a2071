#!/usr/bin/env bash
# ModelKit's sample server against the peers (HandWrittenServer, MlNetServer), seed 000's inference endpoint, the same
# model and JSON body, measured with wrk (not .NET, so the load does not share the servers' runtime) in alternating
# rounds on this machine.
#   benchmarks/peers/compare-rest.sh [seconds=10] [connections=64] [rounds=2]
# Needs wrk (Debian: apt-get install wrk). Prints req/s and latency percentiles per round, and the ratio.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
seconds="${1:-10}"; connections="${2:-64}"; rounds="${3:-2}"
work="$(mktemp -d)"
cleanup() { kill "${server_pid:-}" "${peer_pid:-}" "${mlnet_pid:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 2; }

dotnet build -c Release "$root/samples/ModelKit.SampleServer" -v q -nologo >/dev/null
dotnet build -c Release "$root/benchmarks/peers/HandWrittenServer" -v q -nologo >/dev/null
dotnet build -c Release "$root/benchmarks/peers/MlNetServer" -v q -nologo >/dev/null

# ModelKit: the sample server (auth on, as shipped; the key's rate limit raised so that the load is not refused), demo models only.
(cd "$root/samples/ModelKit.SampleServer" && exec dotnet bin/Release/net10.0/ModelKit.SampleServer.dll --urls http://127.0.0.1:9101 \
   --ModelKit:DataDirectory="$work/data" --ModelKit:ServeMiniLm=false --ModelKit:ServeChatModel=false \
   --ModelKit:Auth:RequestsPerMinute=1000000000 > "$work/server.log" 2>&1) &
server_pid=$!
for _ in $(seq 1 120); do
  curl -sf -H 'X-API-Key: modelkit-sample-key-change-me' http://127.0.0.1:9101/api/v1/models/demo-mlp/status 2>/dev/null | grep -q '"running"' && break
  sleep 0.5
done

# The peer serves the same file the sample registered (the generator is deterministic: the same weights).
blob="$(curl -s -H 'X-API-Key: modelkit-sample-key-change-me' http://127.0.0.1:9101/api/v1/models/demo-mlp | grep -o '"sha256":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)"
model="$work/data/blobs/sha256/${blob:0:2}/$blob"
[ -f "$model" ] || { echo "demo-mlp's file was not found in the sample's store"; exit 1; }
(exec dotnet "$root/benchmarks/peers/HandWrittenServer/bin/Release/net10.0/HandWrittenServer.dll" "$model" demo-mlp --urls http://127.0.0.1:9102 > "$work/peer.log" 2>&1) &
peer_pid=$!
(exec dotnet "$root/benchmarks/peers/MlNetServer/bin/Release/net10.0/MlNetServer.dll" "$model" demo-mlp --urls http://127.0.0.1:9103 > "$work/mlnet.log" 2>&1) &
mlnet_pid=$!
sleep 4

row="[$(seq -s, 1 64)]"
cat > "$work/body.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"input_data": [$row]}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "modelkit-sample-key-change-me"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.2f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
LUA

echo "$(nproc) cores; wrk -t2 -c$connections -d${seconds}s; seed 000 inference of demo-mlp (64→256→10), one row a request; $(date -u +%FT%TZ)"
printf '%-8s %-12s %10s %9s %9s %9s %7s\n' round server req/s p50_ms p95_ms p99_ms errors
for round in $(seq 1 "$rounds"); do
  for target in modelkit:9101 hand-written:9102 ml.net:9103; do
    name="${target%%:*}"; port="${target##*:}"
    line="$(wrk -t2 -c"$connections" -d"${seconds}s" -s "$work/body.lua" "http://127.0.0.1:$port/api/v1/models/demo-mlp/inference" | grep '^RESULT')"
    read -r _ rps p50 p95 p99 errors <<<"$line"
    printf '%-8s %-12s %10s %9s %9s %9s %7s\n' "$round" "$name" "$rps" "$p50" "$p95" "$p99" "$errors"
    echo "$name $rps $p95" >> "$work/results"
  done
done
awk '{rps[$1]+=$2; n[$1]++} END {m=rps["modelkit"]/n["modelkit"]; h=rps["hand-written"]/n["hand-written"]; l=rps["ml.net"]/n["ml.net"];
  printf "mean req/s: modelkit %.0f, hand-written %.0f, ml.net %.0f; modelkit/hand-written %.2fx, modelkit/ml.net %.2fx\n", m, h, l, m/h, m/l}' "$work/results"
