#!/usr/bin/env bash
# Builds a release zip per Lambda function (every bin of the crates under functions/) and prints its size.
# arm64 is what infra/template.yaml deploys; adding the aarch64 target is a toolchain download that
# may be unavailable offline, so fall back to x86-64 with a clear message.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

# Package names of the function crates, from cargo's own view of the workspace.
mapfile -t packages < <(cargo metadata --no-deps --format-version 1 --locked | python3 -c '
import json, os, sys
root = os.getcwd()
for p in json.load(sys.stdin)["packages"]:
    if os.path.relpath(p["manifest_path"], root).startswith("functions/"):
        print(p["name"])')
if [[ ${#packages[@]} -eq 0 ]]; then
  echo "package: no function crates under functions/" >&2
  exit 1
fi
args=()
for p in "${packages[@]}"; do args+=(--package "$p"); done

if cargo lambda build --release --arm64 --output-format zip "${args[@]}"; then
  arch=arm64
else
  echo "package: arm64 build failed (the aarch64 target may not be installable offline); building x86-64 instead." >&2
  echo "package: x86-64 zips do not match the template's Architectures: [arm64]; change both or deploy with sam build." >&2
  cargo lambda build --release --x86-64 --output-format zip "${args[@]}"
  arch=x86_64
fi

echo "release zips ($arch, ${packages[*]}):"
for zip in target/lambda/*/bootstrap.zip; do
  printf '  %-32s %s\n' "$(basename "$(dirname "$zip")")" "$(numfmt --to=iec-i --suffix=B --format='%.2f' "$(stat -c %s "$zip")")"
done
