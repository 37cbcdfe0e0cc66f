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

venv_ok() {
    [ -x "$validator" ] && "$venv/bin/python" -c "
import importlib.metadata as m, sys
sys.exit(0 if m.version('openapi-spec-validator') == '$validator_version' else 1)" 2>/dev/null
}

if ! venv_ok; then
    command -v python3 >/dev/null 2>&1 \
        || fw_die "python3 is needed to validate the OpenAPI document (Debian/Ubuntu: apt-get install python3 python3-venv)"
    fw_log "installing openapi-spec-validator $validator_version into $venv"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    if ! python3 -m venv "$venv"; then
        # A bare Debian python3 lacks ensurepip; on CI (root, apt) install it and retry.
        if [ -n "${CI:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            rm -rf "$venv"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            python3 -m venv "$venv" || fw_die "python3 -m venv failed even after installing python3-venv"
        else
            fw_die "python3 -m venv failed (Debian/Ubuntu: apt-get install python3-venv)"
        fi
    fi
    installed=false
    for attempt in 1 2 3; do
        if "$venv/bin/pip" install --quiet --disable-pip-version-check \
            "openapi-spec-validator==$validator_version"; then
            installed=true
            break
        fi
        fw_log "pip install failed (attempt $attempt); retrying"
        sleep $((attempt * 5))
    done
    $installed || { rm -rf "$venv"; fw_die "could not install openapi-spec-validator from PyPI"; }
fi

cargo build --locked --quiet --bin fieldwork-api
doc=$(mktemp "${TMPDIR:-/tmp}/fieldwork-openapi.XXXXXX.json")
trap 'rm -f "$doc"' EXIT
"$CARGO_TARGET_DIR/debug/fieldwork-api" openapi >"$doc"
"$validator" --schema 3.1 "$doc" >/dev/null \
    || { "$validator" --schema 3.1 "$doc" || true; fw_die "the OpenAPI document is not valid OpenAPI 3.1"; }
paths=$("$venv/bin/python" -c "import json,sys; print(len(json.load(open(sys.argv[1]))['paths']))" "$doc")
fw_log "OpenAPI document is valid OpenAPI 3.1 ($paths paths)"
