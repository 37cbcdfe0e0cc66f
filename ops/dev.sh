#!/usr/bin/env bash
# Starts the whole system: migrations, then the worker (internal listener on METRICS_ADDR,
# default 127.0.0.1:9464) and the API (LISTEN_ADDR, default 127.0.0.1:8000; its internal
# metrics listener on the port below METRICS_ADDR's, 127.0.0.1:9463 by default, as
# ops/prometheus/prometheus.yml expects). Ctrl-C stops everything.
# Database, with the two logins production uses (docs/SECURITY.md):
# - DATABASE_URL and MIGRATE_DATABASE_URL both set: used as they are;
# - only DATABASE_URL set: an administrator of that server; the logins fieldwork_owner and
#   fieldwork_runtime are created (idempotently) and its database must belong to fieldwork_owner
#   (created if missing);
# - neither: a throwaway PostgreSQL cluster from the installed server binaries (stopped on
#   exit), set up the same way.
# Without SMTP_URL, emails are written as .eml files to MAIL_OUTBOX_DIR (default
# .fieldwork/outbox). APP_SECRET, when unset, is generated once into .fieldwork/app_secret and
# reused on every start, so unsubscribe links keep working.
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
if [ -z "${MIGRATE_DATABASE_URL:-}" ]; then
    fw_db_logins "$DATABASE_URL"
    dev_db=${DATABASE_URL%%\?*}; dev_db=${dev_db##*/}
    fw_db_owned_by_owner "$DATABASE_URL" "$dev_db" "$([ -n "$FW_PG_DIR" ] && echo adopt)"
    export MIGRATE_DATABASE_URL=$FW_OWNER_URL
    export DATABASE_URL=$FW_RUNTIME_URL
fi
export LISTEN_ADDR=${LISTEN_ADDR:-127.0.0.1:8000}
# METRICS_ADDR is per process: the worker's, and the API's one port below it.
worker_metrics=${METRICS_ADDR:-127.0.0.1:9464}
api_metrics="${worker_metrics%:*}:$(( ${worker_metrics##*:} - 1 ))"
export PUBLIC_BASE_URL=${PUBLIC_BASE_URL:-http://$LISTEN_ADDR}

# One secret for every start: links in emails sent yesterday must still work today.
if [ -z "${APP_SECRET:-}" ]; then
    secret_file="$FW_ROOT/.fieldwork/app_secret"
    if [ ! -s "$secret_file" ]; then
        mkdir -p "$FW_ROOT/.fieldwork"
        (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$secret_file")
        fw_log "generated APP_SECRET into $secret_file"
    fi
    APP_SECRET=$(cat "$secret_file")
    export APP_SECRET
fi
if [ -z "${SMTP_URL:-}" ]; then
    export MAIL_OUTBOX_DIR=${MAIL_OUTBOX_DIR:-$FW_ROOT/.fieldwork/outbox}
    mkdir -p "$MAIL_OUTBOX_DIR"
fi

"$bin/fieldwork-api" migrate

pids=()
stop_all() {
    for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    fw_db_down
}
trap stop_all EXIT

METRICS_ADDR=$worker_metrics "$bin/fieldwork-worker" & pids+=($!)
METRICS_ADDR=$api_metrics "$bin/fieldwork-api" & pids+=($!)
fw_log "API on http://$LISTEN_ADDR (try: curl http://$LISTEN_ADDR/readyz); Ctrl-C stops"
fw_log "metrics: API http://$api_metrics/metrics, worker http://$worker_metrics/metrics"
if [ -n "${OPS_TOKEN:-}" ]; then
    fw_log "jobs page on http://$worker_metrics/ops/ (log in with OPS_TOKEN)"
fi
if [ -z "${SMTP_URL:-}" ]; then
    fw_log "emails: SMTP_URL is unset, each email is written to $MAIL_OUTBOX_DIR/<message id>.eml"
else
    fw_log "emails: sent through SMTP_URL"
fi
# Exit (and stop everything) as soon as either process ends.
wait -n "${pids[@]}"
