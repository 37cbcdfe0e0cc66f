#!/usr/bin/env bash
# Runs every test. Uses DATABASE_URL when set — an administrator of that server (a superuser,
# or a login with CREATEROLE and CREATEDB): each test gets its own database — otherwise
# starts a throwaway PostgreSQL cluster from the installed server binaries and stops it
# afterwards. Either way the tests run as production does: the administrator creates the
# logins fieldwork_owner (migrations) and fieldwork_runtime (the API and workers), idempotently,
# and the tests get DATABASE_URL = the runtime login, MIGRATE_DATABASE_URL = the owner login,
# FIELDWORK_TEST_ADMIN_URL = the administrator. Then validates the OpenAPI document as
# OpenAPI 3.1 (ops/openapi-check.sh) and fuzzes the API against it with schemathesis
# (ops/contract-check.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$FW_ROOT"

command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] \
    || fw_die "pgbouncer not found: the PgBouncer isolation test needs it (apt-get install pgbouncer)"

fw_db_up test
if [ -z "${FIELDWORK_TEST_ADMIN_URL:-}" ]; then
    fw_db_logins "$DATABASE_URL"
    export FIELDWORK_TEST_ADMIN_URL=$DATABASE_URL
    export MIGRATE_DATABASE_URL=$FW_OWNER_URL
    export DATABASE_URL=$FW_RUNTIME_URL
fi
# Some tests start real worker and API processes: build the binaries they run first (the
# worker with the engine's test job kinds; a production build has none).
cargo build --locked -p fieldwork-worker --features test-kinds --bin fieldwork-worker
cargo build --locked --bin fieldwork-api
cargo test --workspace --locked "$@"
ops/openapi-check.sh
ops/contract-check.sh
