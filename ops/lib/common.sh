# Shared by ops/dev.sh and ops/test.sh: project paths, the build cache, and a throwaway
# PostgreSQL cluster when DATABASE_URL is unset. Source it; do not run it.

FW_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Reuse one build cache across clones of this repository on the same machine; a machine
# without it simply builds from scratch.
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/fieldwork/target}

fw_log() { printf 'fieldwork: %s\n' "$*" >&2; }
fw_die() { fw_log "$*"; exit 1; }

# Finds initdb/pg_ctl: `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin.
fw_pg_bindir() {
    local dir
    dir=$(pg_config --bindir 2>/dev/null || true)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
    if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then echo "$dir"; return 0; fi
    return 1
}

FW_PG_DIR=""
FW_PG_BIN=""
FW_PG_AS=()

# Stops the throwaway cluster (if this shell started one) and removes its files.
fw_db_down() {
    if [ -n "$FW_PG_DIR" ] && [ -f "$FW_PG_DIR/data/postmaster.pid" ]; then
        "${FW_PG_AS[@]}" "$FW_PG_BIN/pg_ctl" -D "$FW_PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    if [ -n "$FW_PG_DIR" ]; then rm -rf "$FW_PG_DIR"; FW_PG_DIR=""; fi
}

# Leaves DATABASE_URL alone when it is set. Otherwise starts a throwaway cluster from the
# installed server binaries in .fieldwork/pg-<name> (or /tmp when the project folder is not
# reachable by the server's user), creates database `fieldwork`, exports DATABASE_URL, and
# arranges for the cluster to stop when the calling shell exits (also on Ctrl-C / SIGTERM).
fw_db_up() {
    local name=$1
    if [ -n "${DATABASE_URL:-}" ]; then
        fw_log "using DATABASE_URL from the environment"
        return 0
    fi
    FW_PG_BIN=$(fw_pg_bindir) || fw_die "no PostgreSQL server binaries found (initdb). Install PostgreSQL (Debian/Ubuntu: apt-get install postgresql) or set DATABASE_URL to an existing server."

    # initdb refuses to run as root: run the server as an unprivileged user instead.
    local owner=""
    if [ "$(id -u)" = 0 ]; then
        owner=postgres
        id -u "$owner" >/dev/null 2>&1 || owner=nobody
        if command -v runuser >/dev/null 2>&1; then
            FW_PG_AS=(runuser -u "$owner" --)
        else
            FW_PG_AS=(setpriv --reuid="$owner" --regid="$(id -g "$owner")" --clear-groups --)
        fi
    fi

    FW_PG_DIR="$FW_ROOT/.fieldwork/pg-$name-$$"
    mkdir -p "$FW_PG_DIR"
    if [ -n "$owner" ]; then
        chown "$owner" "$FW_PG_DIR"
        if ! "${FW_PG_AS[@]}" test -w "$FW_PG_DIR"; then
            rm -rf "$FW_PG_DIR"
            FW_PG_DIR=$(mktemp -d "/tmp/fieldwork-pg-$name.XXXXXX")
            chown "$owner" "$FW_PG_DIR"
            fw_log "project folder not reachable by user $owner; cluster lives in $FW_PG_DIR"
        fi
    fi
    trap 'fw_db_down' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM

    "${FW_PG_AS[@]}" "$FW_PG_BIN/initdb" -D "$FW_PG_DIR/data" -U postgres --auth=trust -E UTF8 \
        --no-sync >"$FW_PG_DIR/initdb.log" 2>&1 || { cat "$FW_PG_DIR/initdb.log" >&2; fw_die "initdb failed"; }

    local port attempt
    for attempt in $(seq 1 30); do
        port=$(( 20000 + (RANDOM % 20000) ))
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
        if "${FW_PG_AS[@]}" "$FW_PG_BIN/pg_ctl" -D "$FW_PG_DIR/data" -l "$FW_PG_DIR/server.log" -w -t 30 \
            -o "-p $port -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
            start >/dev/null 2>&1; then
            export DATABASE_URL="postgres://postgres@127.0.0.1:$port/fieldwork"
            "$FW_PG_BIN/createdb" -h 127.0.0.1 -p "$port" -U postgres fieldwork \
                || fw_die "createdb failed (see $FW_PG_DIR/server.log)"
            fw_log "throwaway PostgreSQL $("$FW_PG_BIN/postgres" --version | sed "s/.*) //; s/ .*//") on 127.0.0.1:$port (stopped on exit)"
            return 0
        fi
    done
    cat "$FW_PG_DIR/server.log" >&2 || true
    fw_die "could not start a throwaway PostgreSQL cluster"
}
