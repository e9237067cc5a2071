#!/usr/bin/env bash
# The dashboard's cost per open page: the sample server with N pages' live streams open (curl reading
# /dashboard/events with a signed-in session cookie), refreshing every 250 ms, and no other traffic. Prints the
# server's CPU time per second of wall time (1.00 = one core busy) over the measured window, for each N, and the
# bytes the streams received. Usage: benchmarks/dashboard/viewers.sh [seconds per N, default 20] [viewer counts, default "0 1 10 50"]
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
seconds="${1:-20}"; counts="${2:-0 1 10 50}"
key=modelkit-sample-key-change-me
base=http://127.0.0.1:18091
work="$(mktemp -d)"; trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
dotnet build "$root/samples/ModelKit.SampleServer" -c Release -v q -nologo >/dev/null
ticks="$(getconf CLK_TCK)"
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
received() { local total=0 f; for f in "$work"/stream-*; do [ -e "$f" ] && total=$((total + $(stat -c%s "$f"))); done; echo "$total"; }
echo "$(nproc) cores; RefreshInterval 250 ms; ${seconds} s per count; $(date -u +%FT%TZ)"
echo "viewers server_cpu_cores stream_bytes"
for n in $counts; do
  rm -rf "$work/data"
  (cd "$root/samples/ModelKit.SampleServer" && exec dotnet bin/Release/net10.0/ModelKit.SampleServer.dll \
    --urls "$base" --ModelKit:DataDirectory="$work/data" --ModelKit:Dashboard:RefreshInterval=00:00:00.25 \
    --ModelKit:ServeMiniLm=false --ModelKit:ServeChatModel=false --Logging:LogLevel:Default=Warning) > "$work/server.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 120); do
    curl -s -H "X-API-Key: $key" "$base/api/v1/models/demo-mlp/status" | grep -q '"status":"running"' && break
    sleep 0.5
  done
  curl -s -o /dev/null -c "$work/cookies" --data-urlencode "key=$key" "$base/dashboard/login"
  streams=()
  for i in $(seq 1 "$n"); do
    curl -s -N -b "$work/cookies" "$base/dashboard/events" > "$work/stream-$i" &
    streams+=("$!")
  done
  sleep 5 # every stream has sent its first full set of panels
  before="$(cpu "$pid")"; bytes_before="$(received)"
  sleep "$seconds"
  after="$(cpu "$pid")"; bytes_after="$(received)"
  echo "$n $(awk -v a="$after" -v b="$before" -v t="$ticks" -v s="$seconds" 'BEGIN { printf "%.3f", (a - b) / t / s }') $((bytes_after - bytes_before))"
  for s in "${streams[@]}"; do kill "$s" 2>/dev/null || true; done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -f "$work"/stream-*
done
