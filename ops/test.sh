#!/usr/bin/env bash
# Runs every test. Uses DATABASE_URL when set (any database on a server where it may create
# databases: each test gets its own); otherwise starts a throwaway PostgreSQL cluster from the
# installed server binaries and stops it afterwards. Then validates the OpenAPI document as
# OpenAPI 3.1 (ops/openapi-check.sh).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
cd "$FW_ROOT"

fw_db_up test
# The job tests start real worker processes: build the binary they run first, with the
# engine's test job kinds (a production build has none).
cargo build --locked -p fieldwork-worker --features test-kinds --bin fieldwork-worker
# The operator tests (tests/ops) also run the API binary under a real Prometheus.
cargo build --locked --bin fieldwork-api
cargo test --workspace --locked "$@"
ops/openapi-check.sh
