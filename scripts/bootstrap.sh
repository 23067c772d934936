#!/usr/bin/env bash
# Installs everything the demo and the test suite need, on a fresh machine, idempotently:
# a Python venv (moto server, cargo-lambda, cfn-lint, checkov, PyJWT), and rustfmt/clippy.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=.venv
STAMP="$VENV/.requirements.sha256"
want=$(sha256sum scripts/requirements-dev.txt | cut -d' ' -f1)

if [[ ! -x "$VENV/bin/python" ]]; then
  python3 -m venv "$VENV"
fi
if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$want" ]]; then
  "$VENV/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
  "$VENV/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-dev.txt
  echo "$want" > "$STAMP"
fi

for component in rustfmt clippy; do
  if ! rustup component list --installed 2>/dev/null | grep -q "^$component"; then
    rustup component add "$component"
  fi
done

command -v openssl >/dev/null || { echo "bootstrap: openssl is required for the interop tests" >&2; exit 1; }
