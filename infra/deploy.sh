#!/usr/bin/env bash
# The one deploy command (see infra/README.md): builds every function with cargo-lambda for arm64 and
# deploys infra/template.yaml with SAM. The first run asks for the stack name, region and parameters
# and saves them in infra/samconfig.toml; later runs reuse them. Extra arguments go to `sam deploy`,
# e.g. infra/deploy.sh --parameter-overrides ServiceAccounts=SVC_DLT,SVC_DBT
set -euo pipefail
cd "$(dirname "$0")"
command -v sam >/dev/null || { echo "deploy: the AWS SAM CLI is required (see infra/README.md)" >&2; exit 1; }
command -v cargo-lambda >/dev/null || [[ -x ../.venv/bin/cargo-lambda ]] \
  || { echo "deploy: cargo-lambda is required (pip install cargo-lambda, or scripts/bootstrap.sh)" >&2; exit 1; }
export PATH="$PWD/../.venv/bin:$PATH"

# SAM's Rust (cargo-lambda) builder is still a beta feature.
export SAM_CLI_BETA_RUST_CARGO_LAMBDA=1
sam build --template-file template.yaml --beta-features

if [[ -f samconfig.toml ]]; then
  sam deploy "$@"
else
  # AUTO_EXPAND: the template uses the AWS::LanguageExtensions and SAM transforms.
  sam deploy --guided --capabilities CAPABILITY_IAM CAPABILITY_AUTO_EXPAND "$@"
fi
