#!/usr/bin/env bash
# The cluster measurements (docs/benchmarks.md, "Scale-out"): a throwaway PostgreSQL server from the machine's binaries
# (/usr/lib/postgresql/*/bin, or MODELKIT_POSTGRES_BIN) on a free loopback port, then ModelKit.Benchmarks' cluster driver
# against it, then the server stopped and deleted.
#   benchmarks/cluster/run.sh [requests per point, default 5000] [models per node's cache, default 4]
set -euo pipefail
cd "$(dirname "$0")/../.."
bin="${MODELKIT_POSTGRES_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)}"
[ -x "$bin/initdb" ] || { echo "PostgreSQL's server binaries were not found: install postgresql or set MODELKIT_POSTGRES_BIN." >&2; exit 1; }
root="$(mktemp -d /tmp/modelkit-bench-pg.XXXXXX)"
port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
as_server=()
if [ "$(id -u)" = 0 ]; then chown nobody "$root"; as_server=(runuser -u nobody --); fi
"${as_server[@]}" "$bin/initdb" -D "$root/data" -A trust -U modelkit --no-locale -E UTF8 >/dev/null
"${as_server[@]}" "$bin/pg_ctl" -D "$root/data" -l "$root/server.log" -w \
  -o "-p $port -k $root -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off" start >/dev/null
trap '"${as_server[@]}" "$bin/pg_ctl" -D "$root/data" -m immediate -w stop >/dev/null 2>&1 || true; rm -rf "$root"' EXIT
dotnet run -c Release --project benchmarks/ModelKit.ClusterBenchmarks -- \
  "Host=127.0.0.1;Port=$port;Username=modelkit;Database=postgres" "${1:-5000}" "${2:-4}"
