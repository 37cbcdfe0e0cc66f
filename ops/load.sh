#!/usr/bin/env bash
# Load and soak runs of the release build (numbers in docs/BENCHMARKS.md).
#
#   ops/load.sh            mixed HTTP workload (bench load: login, lists, gets, creates,
#                          actions) at 100 clients for 60 s, then create-only and list-only
#                          runs side by side with pgbench running the same SQL
#   ops/load.sh soak       30 minutes of the mixed workload with 2 workers draining the jobs
#                          it causes; every minute: RSS of the API and workers, server
#                          connections, jobs by state and the jobs table's size
#
# Uses DATABASE_URL (an administrator, as ops/test.sh) or starts a throwaway cluster.
# Knobs: LOAD_CLIENTS (100), LOAD_SECONDS (60), SOAK_SECONDS (1800), API_DB_CONNECTIONS (20,
# also pgbench's client count), LOAD_OUT (folder for logs; default a temp folder), LOAD_BUILD=0
# (use the release binaries as they are).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$FW_ROOT"

mode=${1:-load}
clients=${LOAD_CLIENTS:-100}
seconds=${LOAD_SECONDS:-60}
soak_seconds=${SOAK_SECONDS:-1800}
pool=${API_DB_CONNECTIONS:-20}
out=${LOAD_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/fieldwork-load.XXXXXX")}
mkdir -p "$out"

command -v pgbench >/dev/null 2>&1 || [ "$mode" = soak ] || fw_die "pgbench not found (apt-get install postgresql-client)"
fw_db_up load
admin=$DATABASE_URL
fw_db_logins "$admin"
db="fw_load_$$"
fw_psql "$admin" -c "CREATE DATABASE $db OWNER fieldwork_owner" >/dev/null
with_db() { printf '%s' "$1" | sed -E "s#^([^?]*/)[^/?]*(\\?.*)?\$#\\1$db\\2#"; }
runtime=$(with_db "$FW_RUNTIME_URL")
owner=$(with_db "$FW_OWNER_URL")
admin_db=$(with_db "$admin")

[ "${LOAD_BUILD:-1}" = 0 ] || cargo build --release --locked --quiet --bin fieldwork-api --bin fieldwork-worker
bin="$CARGO_TARGET_DIR/release"
export APP_SECRET=${APP_SECRET:-load-test-secret-0123456789abcdef0123}
DATABASE_URL=$runtime MIGRATE_DATABASE_URL=$owner "$bin/fieldwork-api" migrate >"$out/migrate.log" 2>&1

pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    fw_psql "$admin" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
    fw_db_down
}
trap cleanup EXIT

port=$(( 20000 + (RANDOM % 20000) ))
DATABASE_URL=$runtime LISTEN_ADDR=127.0.0.1:$port DB_MAX_CONNECTIONS=$pool \
    LOGIN_LIMIT_PER_IP=1000000 REGISTER_LIMIT_PER_IP=1000000 RUST_LOG=warn \
    "$bin/fieldwork-api" >"$out/api.log" 2>&1 &
api_pid=$!
pids+=("$api_pid")
base="http://127.0.0.1:$port"
for _ in $(seq 1 100); do curl -fsS "$base/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
fw_log "API (release, pool $pool) on $base; logs in $out"

bench() { DATABASE_URL=$runtime "$bin/fieldwork-worker" bench load --url "$base" "$@"; }
rss() { awk '/VmRSS/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }

if [ "$mode" = soak ]; then
    for w in 1 2; do
        DATABASE_URL=$runtime RUST_LOG=warn JOB_KEEP_COMPLETED_HOURS=0.05 MAIL_OUTBOX_DIR="$out/outbox" \
            "$bin/fieldwork-worker" >"$out/worker-$w.log" 2>&1 &
        pids+=("$!")
    done
    workers=("${pids[@]:1:2}")
    bench --clients "$clients" --seconds "$soak_seconds" --report-every 600 >"$out/soak-load.txt" 2>&1 &
    load_pid=$!
    pids+=("$load_pid")
    echo "minute | api RSS KiB | worker RSS KiB | server conns | jobs by state | jobs table" | tee "$out/soak.txt"
    minute=0
    while kill -0 "$load_pid" 2>/dev/null; do
        conns=$(fw_psql "$admin_db" -tA -c "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        states=$(fw_psql "$admin_db" -tA -c "SELECT coalesce(string_agg(state || '=' || n, ' ' ORDER BY state), '-') FROM (SELECT state::text, count(*) n FROM jobs GROUP BY 1) s")
        size=$(fw_psql "$admin_db" -tA -c "SELECT pg_size_pretty(pg_total_relation_size('jobs'))")
        echo "$minute | $(rss "$api_pid") | $(rss "${workers[0]}") $(rss "${workers[1]}") | $conns | $states | $size" | tee -a "$out/soak.txt"
        minute=$((minute + 1))
        for _ in $(seq 1 60); do kill -0 "$load_pid" 2>/dev/null || break; sleep 1; done
    done
    wait "$load_pid" && status=0 || status=$?
    cat "$out/soak-load.txt"
    exit "$status"
fi

fw_log "mixed workload: $clients clients, $seconds s"
bench --clients "$clients" --seconds "$seconds" | tee "$out/mixed.txt"
for op in create_customer list_customers; do
    fw_log "HTTP $op only: $clients clients, 30 s"
    bench --clients "$clients" --seconds 30 --tenants 1 --only "$op" | tee "$out/http-$op.txt"
done

# pgbench with the statements the API sends for the same two requests (core/src/auth.rs,
# core/src/db.rs, core/src/customers, core/src/audit.rs), as one tenant with a real session.
email="pgbench-$$@example.com"
curl -fsS -H 'Content-Type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"pgbench password 1\",\"business_name\":\"PG\"}" "$base/api/auth/register" >/dev/null
token=$(curl -fsS -H 'Content-Type: application/json' -d "{\"email\":\"$email\",\"password\":\"pgbench password 1\"}" \
    "$base/api/auth/login" | sed -E 's/.*"token":"([^"]+)".*/\1/')
uid=$(curl -fsS -H "Authorization: Bearer $token" "$base/api/auth/me" | sed -E 's/.*"id":"([^"]+)".*/\1/')
hash=$(printf '%s' "$token" | sha256sum | cut -c1-64)
auth="SET LOCAL ROLE fieldwork_app\\; SET LOCAL app.current_user_id = ''\\; SELECT auth_session_user(decode('$hash', 'hex'));"
cat >"$out/create.sql" <<SQL
\\set n random(1, 1000000000)
$auth
BEGIN\\; SET LOCAL ROLE fieldwork_app\\; SELECT set_config('app.current_user_id', '$uid', true);
INSERT INTO customers (id, user_id, first_name, last_name, email, phone, address, timezone, notes, attributes, email_opt_out) VALUES (uuid_generate_v7(), app_current_user_id(), 'Load ' || :n, 'Customer', 'load-' || :n || '@example.com', '+1 555 0100', NULL, NULL, NULL, '{}', false) RETURNING id AS cid, user_id, first_name, last_name, email, phone, address, timezone, notes, attributes, email_opt_out, email_bounced_at, archived_at, archived_reason, created_at, updated_at \\gset
INSERT INTO audit_log (id, user_id, entity_type, entity_id, action, changes, actor_id, request_id, actor_type) VALUES (uuid_generate_v7(), app_current_user_id(), 'customer', ':cid'::uuid, 'create', '{"first_name": {"old": null, "new": "Load"}, "email": {"old": null, "new": "load@example.com"}}', '$uid', 'pgbench', 'user');
COMMIT;
SQL
cat >"$out/list.sql" <<SQL
$auth
BEGIN\\; SET LOCAL ROLE fieldwork_app\\; SELECT set_config('app.current_user_id', '$uid', true)\\; SET LOCAL enable_sort = off;
SELECT id, user_id, first_name, last_name, email, phone, address, timezone, notes, attributes, email_opt_out, email_bounced_at, archived_at, archived_reason, created_at, updated_at FROM customers WHERE user_id = app_current_user_id() AND id > '00000000-0000-0000-0000-000000000000' AND deleted_at IS NULL ORDER BY user_id, id LIMIT 21;
COMMIT;
SQL
for script in create list; do
    fw_log "pgbench $script: $pool connections, 30 s"
    pgbench -n -M simple -c "$pool" -j 2 -T 30 -f "$out/$script.sql" "$runtime" 2>&1 | tee "$out/pgbench-$script.txt" \
        | grep -E "^(tps|latency|number of failed)" || true
done
http_create=$(awk -F'|' '/^create_customer/ {gsub(/ /, "", $3); print $3}' "$out/http-create_customer.txt")
http_list=$(awk -F'|' '/^list_customers/ {gsub(/ /, "", $3); print $3}' "$out/http-list_customers.txt")
pg_create=$(awk '/^tps/ {print $3}' "$out/pgbench-create.txt")
pg_list=$(awk '/^tps/ {print $3}' "$out/pgbench-list.txt")
[ -n "$pg_create" ] && [ -n "$pg_list" ] || fw_die "pgbench failed (see $out/pgbench-*.txt)"
awk -v hc="$http_create" -v pc="$pg_create" -v hl="$http_list" -v pl="$pg_list" 'BEGIN {
    printf "create: API %.0f req/s, pgbench %.0f tps, ratio %.2f\n", hc, pc, hc / pc;
    printf "list:   API %.0f req/s, pgbench %.0f tps, ratio %.2f\n", hl, pl, hl / pl }' | tee "$out/ratio.txt"
