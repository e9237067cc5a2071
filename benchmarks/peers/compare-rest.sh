#!/usr/bin/env bash
# ModelKit's sample server against the peers (HandWrittenServer, MlNetServer, NodeServer), seed 000's inference endpoint, the same
# model and JSON body, measured with wrk (not .NET, so the load does not share the servers' runtime) in alternating
# rounds on this machine.
#   benchmarks/peers/compare-rest.sh [seconds=10] [connections=64] [rounds=2] [models=demo-mlp,demo-bert]
# Needs wrk (Debian: apt-get install wrk); the Node peer runs where node and npm are (its package is installed from npm,
# without install scripts, on first use). Prints req/s and latency percentiles per round, each server's first
# `seconds` after it reported ready (warm-up), and the ratios. With OUT=<folder>, also writes results.csv there.
# demo-mlp: one row of 64 floats a request. demo-bert: one sequence of 32 tokens (input_ids, attention_mask,
# token_type_ids; ids within its 1000-word vocabulary), answered with its 32 × 128 hidden states. The ML.NET peer serves single float-vector models only.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
seconds="${1:-10}"; connections="${2:-64}"; rounds="${3:-2}"; models="${4:-demo-mlp,demo-bert}"
work="$(mktemp -d)"
key='modelkit-sample-key-change-me'
cleanup() { kill "${server_pid:-}" "${peer_pid:-}" "${mlnet_pid:-}" "${node_pid:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 2; }

node_peer="$root/benchmarks/peers/NodeServer"
if command -v node >/dev/null && command -v npm >/dev/null && [ ! -d "$node_peer/node_modules/onnxruntime-node" ]; then
  # --ignore-scripts: onnxruntime-node's install script would fetch GPU binaries from outside npm; the CPU ones are in the package.
  npm install --prefix "$node_peer" --no-package-lock --ignore-scripts --no-audit --no-fund --silent >/dev/null || echo "npm could not install the Node peer"
fi
has_node_peer() { command -v node >/dev/null && [ -d "$node_peer/node_modules/onnxruntime-node" ]; }

for project in samples/ModelKit.SampleServer benchmarks/peers/HandWrittenServer benchmarks/peers/MlNetServer; do
  dotnet build -c Release "$root/$project" -v q -nologo >/dev/null
done

wait_for() { # url [header]: until it answers 2xx with "running" (ModelKit) or anything (peers), at most 60 s
  for _ in $(seq 1 120); do
    if curl -sf -H "X-API-Key: $key" "$1" 2>/dev/null | grep -q "${2:-}"; then return 0; fi
    sleep 0.5
  done
  echo "no answer from $1"; exit 1
}

# ModelKit: the sample server (auth on, as shipped; the key's rate limit raised so that the load is not refused), demo models only.
(cd "$root/samples/ModelKit.SampleServer" && exec dotnet bin/Release/net10.0/ModelKit.SampleServer.dll --urls http://127.0.0.1:9101 \
   --ModelKit:DataDirectory="$work/data" --ModelKit:ServeMiniLm=false --ModelKit:ServeChatModel=false \
   --ModelKit:Auth:RequestsPerMinute=1000000000 > "$work/server.log" 2>&1) &
server_pid=$!
for model in ${models//,/ }; do wait_for "http://127.0.0.1:9101/api/v1/models/$model/status" '"running"'; done

ort_version() { # the Microsoft.ML.OnnxRuntime a .NET app was built against
  grep -o '"Microsoft.ML.OnnxRuntime[^/]*/[0-9.]*"' "$1" | head -1 | sed 's/.*\///; s/"//'
}
echo "$(nproc) cores; wrk -t2 -c$connections -d${seconds}s; seed 000 inference, one request = one row; $(date -u +%FT%TZ)"
node_ort="n/a"; has_node_peer && node_ort="$(node -p "require('$node_peer/node_modules/onnxruntime-node/package.json').version")"
echo "ONNX Runtime: modelkit $(ort_version "$root/samples/ModelKit.SampleServer/bin/Release/net10.0/ModelKit.SampleServer.deps.json"), hand-written $(ort_version "$root/benchmarks/peers/HandWrittenServer/bin/Release/net10.0/HandWrittenServer.deps.json"), ml.net $(ort_version "$root/benchmarks/peers/MlNetServer/bin/Release/net10.0/MlNetServer.deps.json"), node (onnxruntime-node) $node_ort"
[ -n "${OUT:-}" ] && mkdir -p "$OUT" && echo "model,server,round,requests_per_second,p50_ms,p95_ms,p99_ms,errors" > "$OUT/results.csv"

for model in ${models//,/ }; do
  # The peers serve the same file the sample registered (the generator is deterministic: the same weights).
  blob="$(curl -s -H "X-API-Key: $key" "http://127.0.0.1:9101/api/v1/models/$model" | grep -o '"sha256":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)"
  file="$work/data/blobs/sha256/${blob:0:2}/$blob"
  [ -f "$file" ] || { echo "$model's file was not found in the sample's store"; exit 1; }
  (exec dotnet "$root/benchmarks/peers/HandWrittenServer/bin/Release/net10.0/HandWrittenServer.dll" "$file" "$model" --urls http://127.0.0.1:9102 > "$work/peer.log" 2>&1) &
  peer_pid=$!
  targets="modelkit:9101 hand-written:9102"
  if has_node_peer; then
    (exec node "$node_peer/server.js" "$file" "$model" 9104 > "$work/node.log" 2>&1) &
    node_pid=$!
    targets="$targets node:9104"
  fi
  case "$model" in
    demo-mlp)
      (exec dotnet "$root/benchmarks/peers/MlNetServer/bin/Release/net10.0/MlNetServer.dll" "$file" "$model" --urls http://127.0.0.1:9103 > "$work/mlnet.log" 2>&1) &
      mlnet_pid=$!
      targets="$targets ml.net:9103"
      body="{\"input_data\": [[$(seq -s, 1 64)]]}" ;;
    demo-bert)
      ids="101,$(seq -s, 200 229),102"; ones="$(printf '1%.0s,' $(seq 1 31))1"; zeros="$(printf '0%.0s,' $(seq 1 31))0"
      body="{\"input_data\": {\"input_ids\": [[$ids]], \"attention_mask\": [[$ones]], \"token_type_ids\": [[$zeros]]}}" ;;
    *) echo "no body for $model"; exit 2 ;;
  esac
  cat > "$work/body.lua" <<LUA
wrk.method = "POST"
wrk.body = '$body'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = "$key"
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.2f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
LUA
  for target in $targets; do
    [ "${target%%:*}" = modelkit ] && continue
    for _ in $(seq 1 60); do curl -s -o /dev/null -X POST -H 'Content-Type: application/json' -d "$body" "http://127.0.0.1:${target##*:}/api/v1/models/$model/inference" && break; sleep 0.5; done
  done

  echo
  echo "== $model"
  printf '%-8s %-12s %10s %9s %9s %9s %7s\n' round server req/s p50_ms p95_ms p99_ms errors
  : > "$work/results"; : > "$work/first"
  # Round "first" is each server's first $seconds s of load (ModelKit's after it reported ready, a peer's after its first
  # answer): the warm-up. The means are over the rounds after it.
  for round in first $(seq 1 "$rounds"); do
    for target in $targets; do
      name="${target%%:*}"; port="${target##*:}"
      line="$(wrk -t2 -c"$connections" -d"${seconds}s" -s "$work/body.lua" "http://127.0.0.1:$port/api/v1/models/$model/inference" | grep '^RESULT')"
      read -r _ rps p50 p95 p99 errors <<<"$line"
      printf '%-8s %-12s %10s %9s %9s %9s %7s\n' "$round" "$name" "$rps" "$p50" "$p95" "$p99" "$errors"
      [ -n "${OUT:-}" ] && echo "$model,$name,$round,$rps,$p50,$p95,$p99,$errors" >> "$OUT/results.csv"
      if [ "$round" = first ]; then echo "$name $rps" >> "$work/first"; else echo "$name $rps $p95" >> "$work/results"; fi
    done
  done
  awk -v model="$model" '{rps[$1]+=$2; p95[$1]+=$3; n[$1]++} END {
      m=rps["modelkit"]/n["modelkit"]; mp=p95["modelkit"]/n["modelkit"];
      for (s in rps) if (s != "modelkit") printf "RATIO %s modelkit/%s: %.2fx req/s (%.0f vs %.0f), p95 %.2fx (%.2f vs %.2f ms)\n", model, s, m/(rps[s]/n[s]), m, rps[s]/n[s], mp/(p95[s]/n[s]), mp, p95[s]/n[s] }' "$work/results"
  awk -v model="$model" -v seconds="$seconds" 'NR==FNR {first[$1]=$2; next} {rps[$1]+=$2; n[$1]++} END {
      for (s in first) printf "WARMUP %s %s: first %s s at %.2fx of its mean\n", model, s, seconds, first[s]/(rps[s]/n[s]) }' "$work/first" "$work/results"
  kill "$peer_pid" "${mlnet_pid:-}" "${node_pid:-}" 2>/dev/null || true; wait "$peer_pid" "${mlnet_pid:-}" "${node_pid:-}" 2>/dev/null || true; mlnet_pid=""; node_pid=""
done
