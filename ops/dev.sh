#!/usr/bin/env bash
# Starts the whole system: migrations, then the worker (metrics on METRICS_ADDR, default
# 127.0.0.1:9464) and the API (LISTEN_ADDR, default 127.0.0.1:8000). Uses DATABASE_URL when
# set; otherwise a throwaway PostgreSQL cluster from the installed server binaries, stopped on
# exit. Without SMTP_URL, emails are written as .eml files to MAIL_OUTBOX_DIR (default
# .fieldwork/outbox). APP_SECRET, when unset, is generated once into .fieldwork/app_secret and
# reused on every start, so unsubscribe links keep working. Ctrl-C stops everything.
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

"$bin/fieldwork-worker" & pids+=($!)
"$bin/fieldwork-api" & pids+=($!)
fw_log "API on http://$LISTEN_ADDR (try: curl http://$LISTEN_ADDR/readyz); Ctrl-C stops"
if [ -z "${SMTP_URL:-}" ]; then
    fw_log "emails: SMTP_URL is unset, each email is written to $MAIL_OUTBOX_DIR/<message id>.eml"
else
    fw_log "emails: sent through SMTP_URL"
fi
# Exit (and stop everything) as soon as either process ends.
wait -n "${pids[@]}"
