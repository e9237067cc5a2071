#!/usr/bin/env bash
# ModelKit's sample server against the peers (HandWrittenServer, MlNetServer, NodeServer): the same model file and the same
# values in every request, measured with wrk over HTTP/1.1 and h2load over gRPC (neither is .NET, so the load does not
# share the servers' runtime) in alternating rounds on this machine.
#   benchmarks/peers/compare-rest.sh [seconds=10] [connections=64] [rounds=2] [models=demo-mlp,demo-bert]
# connections: one count or several (16,64,256), each measured in its own rounds; each server's first window (its warm-up,
# right after it reported ready) is at the first count. models: demo-mlp and demo-bert (the sample's own) and bert-small
# (4 layers, hidden 256, sequence 128: generated here, then registered, uploaded and deployed through seeds 002 and 000).
# SURFACES (default rest,oip-json,oip-binary,grpc,grpc-raw): ModelKit's seed 000 inference (JSON), the Open Inference
# Protocol's /v2/models/{m}/infer in JSON and in its binary extension (outputs asked for in binary too), and its gRPC
# ModelInfer with typed contents (grpc) and with raw_input_contents (grpc-raw). Over HTTP/1.1 the peers answer seed 000's
# JSON, as each was written, and every ModelKit HTTP surface is compared with that; over gRPC each peer answers the same
# ModelInfer request on an h2c port (one stream per connection at a time, as wrk's one request per connection).
# One request is one row (PeerBodies writes the bodies from the model's inputs). Needs wrk (Debian: apt-get install wrk) and,
# for the gRPC surfaces, h2load (apt-get install nghttp2-client: it cannot read gRPC's status, so every target's answer is
# checked with curl first and each round's answered bytes are compared with that answer's size); the
# Node peer runs where node and npm are (installed from npm, without install scripts, on first use). Prints req/s and
# latency percentiles per round, RATIO lines per surface, peer and connection count, WARMUP lines; with OUT=<folder>, also
# writes results.csv there (charts: `ModelKit.Benchmarks charts`).
# Every .NET server here (ModelKit's and the peers) runs with DOTNET_TC_CallCountingDelayMs=0, the setting README.md
# recommends for servers: the runtime starts counting calls for its optimizing recompilation at once instead of after
# 100 ms without new compilations, which a server taking its first requests rarely has. Set it in the environment
# (100 is the runtime's default) to measure otherwise.
set -euo pipefail
export DOTNET_TC_CallCountingDelayMs="${DOTNET_TC_CallCountingDelayMs:-0}"
root="$(cd "$(dirname "$0")/../.." && pwd)"
seconds="${1:-10}"; connections="${2:-64}"; rounds="${3:-2}"; models="${4:-demo-mlp,demo-bert}"
surfaces="${SURFACES:-rest,oip-json,oip-binary,grpc,grpc-raw}"
work="$(mktemp -d)"
key='modelkit-sample-key-change-me'
cleanup() { kill "${server_pid:-}" "${peer_pid:-}" "${mlnet_pid:-}" "${node_pid:-}" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk)"; exit 2; }
grpc_surfaces=""; for surface in ${surfaces//,/ }; do [[ "$surface" == grpc* ]] && grpc_surfaces="$grpc_surfaces $surface"; done
[ -z "$grpc_surfaces" ] || command -v h2load >/dev/null || { echo "h2load is needed for the gRPC surfaces (apt-get install nghttp2-client)"; exit 2; }

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
# Each server's HTTP/1.1 port and its h2c (gRPC) port.
h1() { echo "--Kestrel:Endpoints:Rest:Url=http://127.0.0.1:$1" --Kestrel:Endpoints:Rest:Protocols=Http1; }
h2c() { echo "--Kestrel:Endpoints:Grpc:Url=http://127.0.0.1:$1" --Kestrel:Endpoints:Grpc:Protocols=Http2; }

wait_for() { # url [text]: until it answers 2xx containing text, at most 90 s
  for _ in $(seq 1 180); do
    if curl -sf -H "X-API-Key: $key" "$1" 2>/dev/null | grep -q "${2:-}"; then return 0; fi
    sleep 0.5
  done
  echo "no answer from $1"; exit 1
}

# ModelKit: the sample server (auth on, as shipped; the key's rate limit raised so that the load is not refused), demo models only.
# shellcheck disable=SC2046 # h1 and h2c print several arguments
(cd "$root/samples/ModelKit.SampleServer" && exec dotnet bin/Release/net10.0/ModelKit.SampleServer.dll $(h1 9101) $(h2c 9111) \
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
echo "$(nproc) cores; wrk -t2 -c$connections -d${seconds}s (gRPC: h2load -t2 -m1); one request = one row; surfaces $surfaces; $(date -u +%FT%TZ)"
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

grpc_round() { # name surface port path connections: one h2load round over gRPC, printed as wrk's RESULT line
  local out size succeeded failed errored timeout data answered
  rm -f "$work/h2.log"
  out="$(h2load -D "$seconds" -c "$5" -t 2 -m 1 -H 'content-type: application/grpc' -H 'te: trailers' -H "x-api-key: $key" \
    -d "$bodies/$2.bin" --log-file "$work/h2.log" "http://127.0.0.1:$3$4")"
  size="$(cat "$work/size-$1")"
  read -r succeeded failed errored timeout <<<"$(awk '/^requests:/ {print $8, $10, $12, $14}' <<<"$out")"
  data="$(grep -o '([0-9]*) data' <<<"$out" | tr -dc '0-9')"
  # Answers of the checked size (a gRPC error is answered without a body); bytes of calls still answering when the window
  # closed can count a few more than succeeded, hence the floor at 0.
  answered=$(( size > 0 ? data / size : 0 ))
  errored=$(( errored + (succeeded > answered ? succeeded - answered : 0) ))
  # The log holds one line per request: its start, its HTTP status, its time in microseconds.
  cut -f3 "$work/h2.log" | sort -n | awk -v failed=$((failed + errored + timeout)) -v rps="$(grep -o '[0-9.]* req/s' <<<"$out" | head -1 | cut -d' ' -f1)" '
      {t[NR] = $1 / 1000} END { n = NR; printf "RESULT %.1f %.2f %.2f %.2f %d\n", rps, t[int(n * 0.5) + 1], t[int(n * 0.95) + 1], t[int(n * 0.99) + 1], failed }'
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
  dotnet "$bench" bodies "$file" "$bodies" "$sequence" "$model" >/dev/null
  lua "$bodies/rest.lua" "$bodies/seed000.json" application/json
  lua "$bodies/oip-json.lua" "$bodies/oip.json" application/json
  lua "$bodies/oip-binary.lua" "$bodies/oip.bin" application/octet-stream "$(cat "$bodies/oip.bin.header")"

  # name|surface|port|path: ModelKit once per surface; each peer on seed 000's path, and on ModelInfer per gRPC surface.
  infer=/inference.GRPCInferenceService/ModelInfer
  targets=()
  for surface in ${surfaces//,/ }; do
    case "$surface" in
      rest) targets+=("modelkit|rest|9101|/api/v1/models/$model/inference") ;;
      oip-json|oip-binary) targets+=("modelkit-$surface|$surface|9101|/v2/models/$model/infer") ;;
      grpc|grpc-raw) targets+=("modelkit-$surface|$surface|9111|$infer") ;;
      *) echo "unknown surface $surface"; exit 2 ;;
    esac
  done
  peer_targets() { # name http-port grpc-port
    targets+=("$1|rest|$2|/api/v1/models/$model/inference")
    for surface in $grpc_surfaces; do targets+=("$1-$surface|$surface|$3|$infer"); done
  }
  # shellcheck disable=SC2046
  (exec dotnet "$root/benchmarks/peers/HandWrittenServer/bin/Release/net10.0/HandWrittenServer.dll" "$file" "$model" $(h1 9102) $(h2c 9112) > "$work/peer.log" 2>&1) &
  peer_pid=$!
  peer_targets hand-written 9102 9112
  if [ "$model" = demo-mlp ]; then # the ML.NET peer serves single float-vector models only
    # shellcheck disable=SC2046
    (exec dotnet "$root/benchmarks/peers/MlNetServer/bin/Release/net10.0/MlNetServer.dll" "$file" "$model" $(h1 9103) $(h2c 9113) > "$work/mlnet.log" 2>&1) &
    mlnet_pid=$!
    peer_targets ml.net 9103 9113
  fi
  if has_node_peer; then
    (exec node "$node_peer/server.js" "$file" "$model" 9104 9114 > "$work/node.log" 2>&1) &
    node_pid=$!
    peer_targets node 9104 9114
  fi

  # Every target answers its body with 200 (gRPC: status 0) before anything is measured (a peer's first answer also ends
  # its start-up). A gRPC answer's size is what every answer of that target's rounds must have (h2load cannot see gRPC errors).
  for target in "${targets[@]}"; do
    IFS='|' read -r name surface port path <<<"$target"
    if [[ "$surface" == grpc* ]]; then
      grpc_status=""
      for _ in $(seq 1 120); do
        grpc_status="$(curl -s --http2-prior-knowledge -H 'content-type: application/grpc' -H 'te: trailers' -H "x-api-key: $key" \
          --data-binary "@$bodies/$surface.bin" -o "$work/answer" -D - "http://127.0.0.1:$port$path" | tr -d '\r' | grep -i '^grpc-' || true)"
        [ -n "$grpc_status" ] && break; sleep 0.5
      done
      grep -qi '^grpc-status: 0$' <<<"$grpc_status" || { echo "$name answered its $model ModelInfer with: $grpc_status"; exit 1; }
      stat -c %s "$work/answer" > "$work/size-$name"
      continue
    fi
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
        if [[ "$surface" == grpc* ]]; then
          line="$(grpc_round "$name" "$surface" "$port" "$path" "$count")"
        else
          line="$(wrk -t2 -c"$count" -d"${seconds}s" --timeout 10s -s "$bodies/$surface.lua" "http://127.0.0.1:$port$path" | grep '^RESULT')"
        fi
        read -r _ rps p50 p95 p99 errors <<<"$line"
        printf '%-8s %-6s %-20s %10s %9s %9s %9s %7s\n' "$round" "$count" "$name" "$rps" "$p50" "$p95" "$p99" "$errors"
        [ -n "${OUT:-}" ] && echo "$model,$surface,$name,$count,$round,$rps,$p50,$p95,$p99,$errors" >> "$OUT/results.csv"
        if [ "$round" = first ]; then echo "$name $rps" >> "$work/first"; else echo "$count $name $surface $rps $p95" >> "$work/results"; fi
      done
    done
  done
  # Each ModelKit surface against the peers over the same protocol: its HTTP/1.1 surfaces against their seed 000 JSON,
  # each gRPC surface against their ModelInfer with the same body.
  awk -v model="$model" '{k=$1" "$2; rps[k]+=$4; p95[k]+=$5; n[k]++; c[$1]=1; s[$2]=$3} END {
      for (count in c) for (m in s) if (m ~ /^modelkit/) for (p in s) if (p !~ /^modelkit/ && (s[m] ~ /^grpc/ ? s[p] == s[m] : s[p] == "rest")) {
        a=count" "m; b=count" "p
        printf "RATIO %s %s/%s at %s connections: %.2fx req/s (%.0f vs %.0f), p95 %.2fx (%.2f vs %.2f ms)\n", model, m, p, count,
          (rps[a]/n[a])/(rps[b]/n[b]), rps[a]/n[a], rps[b]/n[b], (p95[a]/n[a])/(p95[b]/n[b]), p95[a]/n[a], p95[b]/n[b] } }' "$work/results" | sort
  awk -v model="$model" -v seconds="$seconds" -v count="$first_count" 'NR==FNR {first[$1]=$2; next} $1==count {rps[$2]+=$4; n[$2]++} END {
      for (s in first) printf "WARMUP %s %s: first %s s at %.2fx of its mean\n", model, s, seconds, first[s]/(rps[s]/n[s]) }' "$work/first" "$work/results" | sort
  kill "$peer_pid" "${mlnet_pid:-}" "${node_pid:-}" 2>/dev/null || true; wait "$peer_pid" "${mlnet_pid:-}" "${node_pid:-}" 2>/dev/null || true; mlnet_pid=""; node_pid=""
done
