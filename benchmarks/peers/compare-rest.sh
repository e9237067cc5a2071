#!/usr/bin/env bash
# ModelKit's sample server against the peers (HandWrittenServer, MlNetServer, NodeServer): the same model file and the same
# values in every request, measured with wrk (not .NET, so the load does not share the servers' runtime) in alternating
# rounds on this machine.
#   benchmarks/peers/compare-rest.sh [seconds=10] [connections=64] [rounds=2] [models=demo-mlp,demo-bert]
# connections: one count or several (16,64,256), each measured in its own rounds; each server's first window (its warm-up,
# right after it reported ready) is at the first count. models: demo-mlp and demo-bert (the sample's own) and bert-small
# (4 layers, hidden 256, sequence 128: generated here, then registered, uploaded and deployed through seeds 002 and 000).
# SURFACES (default rest,oip-json,oip-binary): ModelKit's seed 000 inference (JSON), the Open Inference Protocol's
# /v2/models/{m}/infer in JSON and in its binary extension (outputs asked for in binary too). The peers answer seed 000's
# JSON only, as each was written: every ModelKit surface is compared with that.
# One request is one row (PeerBodies writes the bodies from the model's inputs). Needs wrk (Debian: apt-get install wrk); the
# Node peer runs where node and npm are (installed from npm, without install scripts, on first use). Prints req/s and
# latency percentiles per round, RATIO lines per surface, peer and connection count, WARMUP lines; with OUT=<folder>, also
# writes results.csv there (charts: `ModelKit.Benchmarks charts`).
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
seconds="${1:-10}"; connections="${2:-64}"; rounds="${3:-2}"; models="${4:-demo-mlp,demo-bert}"
surfaces="${SURFACES:-rest,oip-json,oip-binary}"
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

for project in samples/ModelKit.SampleServer benchmarks/peers/HandWrittenServer benchmarks/peers/MlNetServer benchmarks/ModelKit.Benchmarks; do
  dotnet build -c Release "$root/$project" -v q -nologo >/dev/null
done
bench="$root/benchmarks/ModelKit.Benchmarks/bin/Release/net10.0/ModelKit.Benchmarks.dll"
api="http://127.0.0.1:9101"

wait_for() { # url [text]: until it answers 2xx containing text, at most 90 s
  for _ in $(seq 1 180); do
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
wait_for "$api/api/v1/models/demo-mlp/status" '"running"'
if [[ ",$models," == *",bert-small,"* ]]; then
  # Registered and deployed as a user would: seed 002's create and upload, seed 000's deploy (the demo models' batching).
  dotnet "$bench" write-model bert-small "$work/bert-small.onnx"
  curl -sf -o /dev/null -H "X-API-Key: $key" -H 'Content-Type: application/json' -X POST "$api/api/v1/models" \
    -d '{"model_id": "bert-small", "name": "bert-small", "model_type": "feature-extraction"}'
  curl -sf -o /dev/null -H "X-API-Key: $key" -X POST "$api/api/v1/models/bert-small/upload?version=1" -F "file=@$work/bert-small.onnx"
  curl -sf -o /dev/null -H "X-API-Key: $key" -H 'Content-Type: application/json' -X POST "$api/api/v1/models/deploy" \
    -d '{"config": {"model_id": "bert-small", "scaling_config": {"replicas": 2, "min_replicas": 1, "max_replicas": 4}, "batching": {"max_batch_size": 64, "max_queue_delay_ms": 1}}}'
fi
for model in ${models//,/ }; do wait_for "$api/api/v1/models/$model/status" '"running"'; done

ort_version() { # the Microsoft.ML.OnnxRuntime a .NET app was built against
  grep -o '"Microsoft.ML.OnnxRuntime[^/]*/[0-9.]*"' "$1" | head -1 | sed 's/.*\///; s/"//'
}
echo "$(nproc) cores; wrk -t2 -c$connections -d${seconds}s; one request = one row; surfaces $surfaces; $(date -u +%FT%TZ)"
node_ort="n/a"; has_node_peer && node_ort="$(node -p "require('$node_peer/node_modules/onnxruntime-node/package.json').version")"
echo "ONNX Runtime: modelkit $(ort_version "$root/samples/ModelKit.SampleServer/bin/Release/net10.0/ModelKit.SampleServer.deps.json"), hand-written $(ort_version "$root/benchmarks/peers/HandWrittenServer/bin/Release/net10.0/HandWrittenServer.deps.json"), ml.net $(ort_version "$root/benchmarks/peers/MlNetServer/bin/Release/net10.0/MlNetServer.deps.json"), node (onnxruntime-node) $node_ort"
[ -n "${OUT:-}" ] && mkdir -p "$OUT" && echo "model,surface,server,connections,round,requests_per_second,p50_ms,p95_ms,p99_ms,errors" > "$OUT/results.csv"

lua() { # file body content-type [header-length]: a wrk script that posts the body (read from its file) and reports one RESULT line
  local header=""
  [ -n "${4:-}" ] && header="wrk.headers[\"Inference-Header-Content-Length\"] = \"$4\""
  cat > "$1" <<LUA
local f = io.open("$2", "rb"); wrk.body = f:read("*a"); f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "$3"
wrk.headers["X-API-Key"] = "$key"
$header
done = function(summary, latency, requests)
  io.write(string.format("RESULT %.1f %.2f %.2f %.2f %d\n", summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.timeout))
end
LUA
}

for model in ${models//,/ }; do
  if [ "$model" = bert-small ]; then
    file="$work/bert-small.onnx"; sequence=128
  else
    # The peers serve the same file the sample registered (the generator is deterministic: the same weights).
    blob="$(curl -s -H "X-API-Key: $key" "$api/api/v1/models/$model" | grep -o '"sha256":"[0-9a-f]*"' | head -1 | cut -d'"' -f4)"
    file="$work/data/blobs/sha256/${blob:0:2}/$blob"; sequence=32
  fi
  [ -f "$file" ] || { echo "$model's file was not found"; exit 1; }
  bodies="$work/bodies-$model"
  dotnet "$bench" bodies "$file" "$bodies" "$sequence" >/dev/null
  lua "$bodies/rest.lua" "$bodies/seed000.json" application/json
  lua "$bodies/oip-json.lua" "$bodies/oip.json" application/json
  lua "$bodies/oip-binary.lua" "$bodies/oip.bin" application/octet-stream "$(cat "$bodies/oip.bin.header")"

  # name|surface|port|path: ModelKit once per surface, each peer on seed 000's path.
  targets=()
  for surface in ${surfaces//,/ }; do
    case "$surface" in
      rest) targets+=("modelkit|rest|9101|/api/v1/models/$model/inference") ;;
      oip-json|oip-binary) targets+=("modelkit-$surface|$surface|9101|/v2/models/$model/infer") ;;
      *) echo "unknown surface $surface"; exit 2 ;;
    esac
  done
  (exec dotnet "$root/benchmarks/peers/HandWrittenServer/bin/Release/net10.0/HandWrittenServer.dll" "$file" "$model" --urls http://127.0.0.1:9102 > "$work/peer.log" 2>&1) &
  peer_pid=$!
  targets+=("hand-written|rest|9102|/api/v1/models/$model/inference")
  if [ "$model" = demo-mlp ]; then # the ML.NET peer serves single float-vector models only
    (exec dotnet "$root/benchmarks/peers/MlNetServer/bin/Release/net10.0/MlNetServer.dll" "$file" "$model" --urls http://127.0.0.1:9103 > "$work/mlnet.log" 2>&1) &
    mlnet_pid=$!
    targets+=("ml.net|rest|9103|/api/v1/models/$model/inference")
  fi
  if has_node_peer; then
    (exec node "$node_peer/server.js" "$file" "$model" 9104 > "$work/node.log" 2>&1) &
    node_pid=$!
    targets+=("node|rest|9104|/api/v1/models/$model/inference")
  fi

  # Every target answers its body with 200 before anything is measured (a peer's first answer also ends its start-up).
  for target in "${targets[@]}"; do
    IFS='|' read -r name surface port path <<<"$target"
    case "$surface" in
      oip-binary) args=(-H 'Content-Type: application/octet-stream' -H "Inference-Header-Content-Length: $(cat "$bodies/oip.bin.header")" --data-binary "@$bodies/oip.bin") ;;
      oip-json) args=(-H 'Content-Type: application/json' --data-binary "@$bodies/oip.json") ;;
      *) args=(-H 'Content-Type: application/json' --data-binary "@$bodies/seed000.json") ;;
    esac
    status=000
    for _ in $(seq 1 120); do
      status="$(curl -s -o "$work/answer" -w '%{http_code}' -X POST -H "X-API-Key: $key" "${args[@]}" "http://127.0.0.1:$port$path" || true)"
      [ "$status" != 000 ] && break; sleep 0.5
    done
    [ "$status" = 200 ] || { echo "$name answered $status to its $model body: $(head -c 300 "$work/answer")"; exit 1; }
  done

  echo
  echo "== $model"
  printf '%-8s %-6s %-20s %10s %9s %9s %9s %7s\n' round conns server req/s p50_ms p95_ms p99_ms errors
  : > "$work/results"; : > "$work/first"
  # Round "first" is each server's first $seconds s of load right after start-up: the warm-up. The means are over the rounds after it.
  first_count="${connections%%,*}"
  for count in ${connections//,/ }; do
    round_names="$(seq 1 "$rounds")"; [ "$count" = "$first_count" ] && round_names="first $round_names"
    for round in $round_names; do
      for target in "${targets[@]}"; do
        IFS='|' read -r name surface port path <<<"$target"
        line="$(wrk -t2 -c"$count" -d"${seconds}s" --timeout 10s -s "$bodies/$surface.lua" "http://127.0.0.1:$port$path" | grep '^RESULT')"
        read -r _ rps p50 p95 p99 errors <<<"$line"
        printf '%-8s %-6s %-20s %10s %9s %9s %9s %7s\n' "$round" "$count" "$name" "$rps" "$p50" "$p95" "$p99" "$errors"
        [ -n "${OUT:-}" ] && echo "$model,$surface,$name,$count,$round,$rps,$p50,$p95,$p99,$errors" >> "$OUT/results.csv"
        if [ "$round" = first ]; then echo "$name $rps" >> "$work/first"; else echo "$count $name $rps $p95" >> "$work/results"; fi
      done
    done
  done
  awk -v model="$model" '{k=$1" "$2; rps[k]+=$3; p95[k]+=$4; n[k]++; c[$1]=1; s[$2]=1} END {
      for (count in c) for (m in s) if (m ~ /^modelkit/) for (p in s) if (p !~ /^modelkit/) {
        a=count" "m; b=count" "p
        printf "RATIO %s %s/%s at %s connections: %.2fx req/s (%.0f vs %.0f), p95 %.2fx (%.2f vs %.2f ms)\n", model, m, p, count,
          (rps[a]/n[a])/(rps[b]/n[b]), rps[a]/n[a], rps[b]/n[b], (p95[a]/n[a])/(p95[b]/n[b]), p95[a]/n[a], p95[b]/n[b] } }' "$work/results" | sort
  awk -v model="$model" -v seconds="$seconds" -v count="$first_count" 'NR==FNR {first[$1]=$2; next} $1==count {rps[$2]+=$3; n[$2]++} END {
      for (s in first) printf "WARMUP %s %s: first %s s at %.2fx of its mean\n", model, s, seconds, first[s]/(rps[s]/n[s]) }' "$work/first" "$work/results" | sort
  kill "$peer_pid" "${mlnet_pid:-}" "${node_pid:-}" 2>/dev/null || true; wait "$peer_pid" "${mlnet_pid:-}" "${node_pid:-}" 2>/dev/null || true; mlnet_pid=""; node_pid=""
done
