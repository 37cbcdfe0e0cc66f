#!/usr/bin/env bash
# Contract fuzzing: runs schemathesis (PyPI) with all its checks against the API's own
# /api/openapi.json, as a signed-in user (logout excluded: it would end the session the rest
# of the run uses; the event stream excluded: an endless text/event-stream that refuses nothing an
# EventSource may send, covered by tests/webhooks/stream.rs). One schemathesis worker: CPython
# 3.11's ast module is not thread-safe, and hypothesis parses lambdas with it (a run with two
# workers once died with "AST constructor recursion depth mismatch"). Per-operation settings,
# each with its reason, are in ops/schemathesis.toml. Fails on any 5xx, any response that does not match the document, any
# schema-valid request the server rejects and any schema-violating request it accepts.
#
# Needs the logins ops/test.sh sets up: FIELDWORK_TEST_ADMIN_URL (creates a scratch database),
# MIGRATE_DATABASE_URL (the owner: migrations) and DATABASE_URL (the runtime login the API
# serves with). Run by ops/test.sh after the tests; alone:
#   env -u DATABASE_URL ops/test.sh --no-run   # or with the three URLs exported:
#   ops/contract-check.sh
# CONTRACT_MAX_EXAMPLES (default 40) bounds the cases per operation and phase.
# schemathesis lives in a virtualenv under the build cache (~/.cache/fieldwork/schemathesis-venv),
# created on first use and rebuilt when its version differs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$FW_ROOT"

st_version=4.32.5
venv=${FW_SCHEMATHESIS_VENV:-$HOME/.cache/fieldwork/schemathesis-venv}
max_examples=${CONTRACT_MAX_EXAMPLES:-40}

for v in FIELDWORK_TEST_ADMIN_URL MIGRATE_DATABASE_URL DATABASE_URL; do
    [ -n "${!v:-}" ] || fw_die "$v is not set: run ops/contract-check.sh from ops/test.sh (or export the three URLs it sets)"
done

fw_pip_venv "$venv" schemathesis "$st_version" "for the contract tests"

cargo build --locked --quiet --bin fieldwork-api
api_bin="$CARGO_TARGET_DIR/debug/fieldwork-api"

# A scratch database owned by the owner login, dropped on exit.
db="fw_contract_$$_$RANDOM"
work=$(mktemp -d "${TMPDIR:-/tmp}/fieldwork-contract.XXXXXX")
api_pid=""
cleanup() {
    if [ -n "$api_pid" ]; then kill "$api_pid" 2>/dev/null || true; wait "$api_pid" 2>/dev/null || true; fi
    fw_psql "$FIELDWORK_TEST_ADMIN_URL" -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    rm -rf "$work"
}
trap cleanup EXIT
owner=$(printf '%s' "$MIGRATE_DATABASE_URL" | sed -E 's#^[a-z]+://([^:@/]+).*#\1#')
fw_psql "$FIELDWORK_TEST_ADMIN_URL" -c "CREATE DATABASE \"$db\" OWNER \"$owner\"" >/dev/null
with_db() { printf '%s' "$1" | sed -E "s#^([^?]*/)[^/?]*(\\?.*)?\$#\\1$db\\2#"; }
export DATABASE_URL MIGRATE_DATABASE_URL
DATABASE_URL=$(with_db "$DATABASE_URL")
MIGRATE_DATABASE_URL=$(with_db "$MIGRATE_DATABASE_URL")
"$api_bin" migrate >"$work/migrate.log" 2>&1 || { cat "$work/migrate.log" >&2; fw_die "migrations failed"; }

# The API on a free port; generous login limits (every request comes from 127.0.0.1).
port=""
for attempt in $(seq 1 30); do
    candidate=$(( 20000 + (RANDOM % 20000) ))
    (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null && continue
    port=$candidate
    break
done
[ -n "$port" ] || fw_die "no free port for the API"
APP_SECRET=contract-check-secret-0123456789abcdef LISTEN_ADDR="127.0.0.1:$port" \
    LOGIN_LIMIT_PER_IP=100000 REGISTER_LIMIT_PER_IP=100000 RUST_LOG=warn \
    "$api_bin" >"$work/api.log" 2>&1 &
api_pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 1 150); do
    curl -fsS "$base/healthz" >/dev/null 2>&1 && break
    kill -0 "$api_pid" 2>/dev/null || { cat "$work/api.log" >&2; fw_die "the API did not start"; }
    sleep 0.2
done

email="contract-$$@example.com"
password="contract check password"
curl -fsS -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\",\"business_name\":\"Contract\"}" \
    "$base/api/auth/register" >/dev/null || fw_die "registering the fuzzing user failed"
token=$(curl -fsS -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"$password\"}" "$base/api/auth/login" \
    | "$venv/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["data"]["token"])') \
    || fw_die "logging in the fuzzing user failed"

fw_log "schemathesis $st_version against $base/api/openapi.json (all checks, $max_examples examples per operation)"
status=0
"$venv/bin/schemathesis" --config-file ops/schemathesis.toml run "$base/api/openapi.json" --url "$base" \
    --checks all \
    --header "Authorization: Bearer $token" \
    --exclude-path /api/auth/logout \
    --exclude-path /api/events \
    --max-examples "$max_examples" \
    --phases examples,coverage,fuzzing \
    --generation-database none \
    --seed "${CONTRACT_SEED:-1212}" \
    --request-timeout 20 \
    --workers 1 \
    --no-color \
    --warnings off \
    --report junit --report-dir "$work/report" || status=$?
if grep -q '"level":"ERROR"\|ERROR' "$work/api.log"; then
    fw_log "the API logged errors during the run:"
    grep 'ERROR' "$work/api.log" | head -n 20 >&2
    status=1
fi
[ "$status" = 0 ] || fw_die "contract check failed (schemathesis exit $status)"
fw_log "contract check passed"
