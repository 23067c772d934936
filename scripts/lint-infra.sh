#!/usr/bin/env bash
# Offline IaC checks: cfn-lint (applies the LanguageExtensions and SAM transforms locally; warnings fail
# too) and checkov. Every checkov skip must carry its reason inline in the template, either as
# Metadata `checkov: skip: [{id: CKV_..., comment: reason}]` or as a `checkov:skip=ID:reason` comment.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=.venv/bin
template=infra/template.yaml

"$venv/cfn-lint" "$template"
echo "cfn-lint: no errors or warnings"

"$venv/python" - "$template" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
missing = [m.group(1) for m in re.finditer(r"-\s*id:\s*(CKV\w+)\s*\n(?!\s*comment:\s*\S)", text)]
missing += [m.group(1) for m in re.finditer(r"checkov:skip=(CKV\w+)(?!:\S)", text)]
if missing:
    sys.exit(f"checkov skips without an inline reason: {', '.join(missing)}")
PY

"$venv/checkov" -f "$template" --framework cloudformation --compact --quiet --skip-download
echo "checkov: no failed checks"
