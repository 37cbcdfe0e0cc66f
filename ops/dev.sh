#!/usr/bin/env bash
# Starts the whole system: migrations, then the worker (metrics on METRICS_ADDR, default
# 127.0.0.1:9464) and the API (LISTEN_ADDR, default 127.0.0.1:8000). Uses DATABASE_URL when
# set; otherwise a throwaway PostgreSQL cluster from the installed server binaries, stopped on
# exit. Ctrl-C stops everything.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$FW_ROOT"

if [ -f .env ]; then
    fw_log "loading .env"
    set -a; source .env; set +a
fi

fw_log "building (first build takes a few minutes)"
cargo build --locked --bin fieldwork-api --bin fieldwork-worker
bin="$CARGO_TARGET_DIR/debug"

fw_db_up dev
export LISTEN_ADDR=${LISTEN_ADDR:-127.0.0.1:8000}
export METRICS_ADDR=${METRICS_ADDR:-127.0.0.1:9464}

"$bin/fieldwork-api" migrate

pids=()
stop_all() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    fw_db_down
}
trap stop_all EXIT

"$bin/fieldwork-worker" & pids+=($!)
"$bin/fieldwork-api" & pids+=($!)
fw_log "API on http://$LISTEN_ADDR (try: curl http://$LISTEN_ADDR/readyz); Ctrl-C stops"
if [ -n "${OPS_TOKEN:-}" ]; then
    fw_log "jobs page on http://$METRICS_ADDR/ops/ (log in with OPS_TOKEN)"
fi
# Exit (and stop everything) as soon as either process ends.
wait -n "${pids[@]}"
