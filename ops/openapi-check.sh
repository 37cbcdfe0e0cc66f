#!/usr/bin/env bash
# Validates the OpenAPI document the API serves (printed by `fieldwork-api openapi`) as
# OpenAPI 3.1 with openapi-spec-validator from PyPI. The validator lives in a virtualenv under
# the build cache (~/.cache/fieldwork/openapi-venv) that is created on first use and reused
# afterwards; a broken or outdated one is rebuilt. Run by ops/test.sh after the tests.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$FW_ROOT"

validator_version=0.9.0
venv=${FW_OPENAPI_VENV:-$HOME/.cache/fieldwork/openapi-venv}
validator="$venv/bin/openapi-spec-validator"

fw_pip_venv "$venv" openapi-spec-validator "$validator_version" "to validate the OpenAPI document"

cargo build --locked --quiet --bin fieldwork-api
doc=$(mktemp "${TMPDIR:-/tmp}/fieldwork-openapi.XXXXXX.json")
trap 'rm -f "$doc"' EXIT
"$CARGO_TARGET_DIR/debug/fieldwork-api" openapi >"$doc"
"$validator" --schema 3.1 "$doc" >/dev/null \
    || { "$validator" --schema 3.1 "$doc" || true; fw_die "the OpenAPI document is not valid OpenAPI 3.1"; }
paths=$("$venv/bin/python" -c "import json,sys; print(len(json.load(open(sys.argv[1]))['paths']))" "$doc")
fw_log "OpenAPI document is valid OpenAPI 3.1 ($paths paths)"
