#!/usr/bin/env bash
# Dependency policy for what ships (the Lambda functions and the CLI):
# - no `rsa` crate: RUSTSEC-2023-0071 (Marvin timing side channel) has no fixed version; production
#   uses aws-lc-rs. Only the benchmark that measures it may depend on it.
# - exactly one TLS stack (rustls); no OpenSSL bindings.
# The RustSec database itself is not reachable from this network, so `cargo audit` cannot run here;
# these are the advisories known to touch this dependency graph (see README "Dependencies").
set -euo pipefail
cd "$(dirname "$0")/.."

shipped=$(cargo metadata --no-deps --format-version 1 --locked \
  | python3 -c 'import json,sys; m=json.load(sys.stdin); print(" ".join(p["name"] for p in m["packages"] if p["manifest_path"].split("/")[-3] in ("functions",) or p["name"] in ("snowkey","snowkey-shared")))')

status=0
for pkg in $shipped; do
  for banned in rsa openssl-sys native-tls; do
    if cargo tree --locked -e normal,build -p "$pkg" -i "$banned" >/dev/null 2>&1; then
      echo "deps-check: $pkg depends on '$banned' (see scripts/check-deps.sh for why that is banned)" >&2
      status=1
    fi
  done
done
[[ $status -eq 0 ]] && echo "deps-check: shipped crates ($shipped) are free of rsa/openssl-sys/native-tls"
exit $status
