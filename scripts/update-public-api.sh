#!/usr/bin/env bash
# Adds the public symbols the build reports as undeclared (RS0016) to each package's PublicAPI.Unshipped.txt, sorted.
# Run it after a deliberate change of a package's public API, then review the diff of the PublicAPI files.
# A new package needs PublicAPI.Shipped.txt and PublicAPI.Unshipped.txt holding '#nullable enable' to be picked up.
#   ./scripts/update-public-api.sh                          # every package under src/
#   ./scripts/update-public-api.sh src/ModelKit.Onnx ...    # only these
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
if [ "$#" -gt 0 ]; then projects=(); for dir in "$@"; do projects+=("${dir%/}"/*.csproj); done; else projects=(src/*/*.csproj); fi
for project in "${projects[@]}"; do
  dir="$(dirname "$project")"
  [ -f "$dir/PublicAPI.Unshipped.txt" ] || continue
  added="$(dotnet build "$project" -c Release --no-incremental 2>&1 \
    | grep "error RS0016" | grep "$(basename "$project")" \
    | sed -E "s/.*Symbol '(.*)' is not part of the declared public API.*/\1/" | sort -u || true)"
  [ -n "$added" ] || continue
  { grep -v '^#nullable enable$' "$dir/PublicAPI.Unshipped.txt" || true; echo "$added"; } | sed '/^$/d' | sort -u > "$dir/PublicAPI.Unshipped.txt.new"
  { echo '#nullable enable'; cat "$dir/PublicAPI.Unshipped.txt.new"; } > "$dir/PublicAPI.Unshipped.txt"
  rm "$dir/PublicAPI.Unshipped.txt.new"
  echo "$dir: $(echo "$added" | wc -l) symbol(s) added"
done
