#!/usr/bin/env bash
# Runs every ```bash block of a document (default docs/rest-api.md) against a running server and checks each curl
# call's status: 2xx, or the status a "# → NNN" comment on the line after the call says. Prints one line per call.
#   ./scripts/check-doc-examples.sh [document] [base-url]      (the sample server: http://localhost:8080)
# Exit status 0 when every call answered as documented.
set -uo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
doc="${1:-$root/docs/rest-api.md}"
base="${2:-http://localhost:8080}"
cd "$root"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# The calls of the blocks, in order, as one script: curl lines (piped into or not) and shell variables (KEY=,
# ROW=, JOB=$(curl …)) with their continuation lines; other commands (dotnet run, scripts) are left out. A
# "# → NNN" line after a call becomes that call's expected status.
awk '/^```bash$/ {inside=1; next} /^```$/ {inside=0; next}
     inside && (cont || /^curl / || /\| curl / || /^[A-Z_]+=/ || /^# → [0-9]/) {print; quotes += gsub(/\047/, "&"); cont = /\\$/ || quotes % 2; next}
     {cont=0; quotes=0}' "$doc" \
  | sed -E 's/^# → ([0-9]{3}).*/expect_status \1/' > "$work/examples.sh"
# The documents address the sample server as localhost:8080.
sed -i "s#localhost:8080#${base#http://}#g" "$work/examples.sh"

cat > "$work/prelude.sh" <<PRELUDE
KEY='X-API-Key: ${MODELKIT_API_KEY:-modelkit-sample-key-change-me}'
log="$work/calls.log"
curl() {
  local body out status
  body="\$(mktemp)"; out="\$(mktemp)"
  command curl -sS -o "\$body" -w '\n%{http_code}' "\$@" > "\$out"   # -D - (headers) also lands in \$out
  status="\$(tail -n 1 "\$out")"
  head -n -1 "\$out"; cat "\$body"; echo
  rm -f "\$out"
  printf '%s\t%s\n' "\$status" "\$(printf '%s ' "\$@" | tr '\n' ' ' | tr -s ' ')" >> "\$log"
  rm -f "\$body"
}
expect_status() { sed -i "\\\$s/^[0-9]*/\$1=\$(tail -1 "\$log" | cut -f1)/" "\$log"; }
PRELUDE

: > "$work/calls.log"
bash -c "source '$work/prelude.sh'; source '$work/examples.sh'" > "$work/output.txt" 2>&1
failures=0
while IFS=$'\t' read -r status call; do
  case "$status" in
    2??) echo "ok   $status  $call" ;;
    *=*) expected="${status%%=*}"; got="${status#*=}"
         if [ "$expected" = "$got" ]; then echo "ok   $got (as documented)  $call"; else echo "FAIL $got (documented $expected)  $call"; failures=$((failures + 1)); fi ;;
    *)   echo "FAIL $status  $call"; failures=$((failures + 1)) ;;
  esac
done < "$work/calls.log"
calls="$(wc -l < "$work/calls.log")"
echo "$calls calls, $failures not as documented"
[ "$failures" -eq 0 ] && [ "$calls" -gt 0 ]
