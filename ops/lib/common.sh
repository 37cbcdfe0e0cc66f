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

# The psql client: next to the server binaries when we found those, else on PATH.
fw_psql() {
    local bin
    if [ -n "$FW_PG_BIN" ] && [ -x "$FW_PG_BIN/psql" ]; then bin="$FW_PG_BIN/psql"
    elif command -v psql >/dev/null 2>&1; then bin=psql
    elif bin=$(fw_pg_bindir) && [ -x "$bin/psql" ]; then bin="$bin/psql"
    else fw_die "psql not found: install the PostgreSQL client (apt-get install postgresql-client)"
    fi
    "$bin" -X -q -v ON_ERROR_STOP=1 "$@"
}

# Prints URL $1 with user $2, password $3 and (if given) database $4 instead of its own.
fw_url_as() {
    local url=$1 user=$2 pass=$3 db=${4:-}
    local re='^(postgres(ql)?://)(([^@/]*)@)?([^/?]*)(/([^?]*))?(\?.*)?$'
    [[ $url =~ $re ]] || fw_die "cannot parse the database URL ${url%%@*}@..."
    local scheme=${BASH_REMATCH[1]} hostport=${BASH_REMATCH[5]} path=${BASH_REMATCH[7]} query=${BASH_REMATCH[8]}
    printf '%s%s:%s@%s/%s%s\n' "$scheme" "$user" "$pass" "$hostport" "${db:-$path}" "$query"
}

# The logins production uses, created (idempotently, safe when several test runs share a
# cluster) by the administrator URL $1 — a superuser, or a login with CREATEROLE:
#   fieldwork_owner    NOSUPERUSER CREATEROLE: owns the schema, runs the migrations;
#   fieldwork_runtime  NOSUPERUSER NOINHERIT: the API and the workers (the migrations make it
#                      a member of fieldwork_app and fieldwork_system, nothing else).
# Their passwords are derived from the administrator URL (server and credentials), so every
# process using the same administrator computes the same ones. Sets FW_OWNER_URL and
# FW_RUNTIME_URL: $1 with these users.
fw_db_logins() {
    local admin=$1
    local base=${admin%%\?*}; base=${base%/*}
    local owner_pw runtime_pw
    owner_pw=$(printf '%s:fieldwork_owner' "$base" | sha256sum | cut -c1-32)
    runtime_pw=$(printf '%s:fieldwork_runtime' "$base" | sha256sum | cut -c1-32)
    fw_psql "$admin" -v owner_pw="$owner_pw" -v runtime_pw="$runtime_pw" <<'SQL' \
        || fw_die "could not create the database logins (the administrator URL needs CREATEROLE)"
SET client_min_messages = warning;
SELECT set_config('fw.owner_pw', :'owner_pw', false), set_config('fw.runtime_pw', :'runtime_pw', false) \gset
DO $$
DECLARE
    login record;
BEGIN
    FOR login IN SELECT * FROM (VALUES
        ('fieldwork_owner', 'NOSUPERUSER CREATEROLE NOCREATEDB NOBYPASSRLS INHERIT', 'fw.owner_pw'),
        ('fieldwork_runtime', 'NOSUPERUSER NOINHERIT NOCREATEROLE NOCREATEDB NOBYPASSRLS', 'fw.runtime_pw')
    ) AS l(name, attributes, password) LOOP
        BEGIN
            EXECUTE format('CREATE ROLE %I LOGIN', login.name);
        EXCEPTION WHEN duplicate_object OR unique_violation THEN
            NULL;  -- exists already (an earlier or concurrent run)
        END;
        BEGIN
            EXECUTE format('ALTER ROLE %I LOGIN %s PASSWORD %L', login.name, login.attributes,
                           current_setting(login.password));
        EXCEPTION WHEN internal_error THEN
            NULL;  -- "tuple concurrently updated": a concurrent run set the same values
        END;
    END LOOP;
    -- The runtime login may reach fieldwork_app and fieldwork_system only.
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'fieldwork_auth')
       AND pg_has_role('fieldwork_runtime', 'fieldwork_auth', 'MEMBER') THEN
        REVOKE fieldwork_auth FROM fieldwork_runtime;
    END IF;
END
$$;
SQL
    FW_OWNER_URL=$(fw_url_as "$admin" fieldwork_owner "$owner_pw")
    FW_RUNTIME_URL=$(fw_url_as "$admin" fieldwork_runtime "$runtime_pw")
}

# Makes database $2 on the administrator URL $1's server exist and belong to fieldwork_owner
# (migrations create objects in its public schema). Changes the owner of an existing database
# only when $3 is "adopt" (the throwaway cluster's own database); otherwise says how.
fw_db_owned_by_owner() {
    local admin=$1 db=$2 adopt=${3:-}
    local owner
    owner=$(echo "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = :'db'" \
        | fw_psql "$admin" -tA -v db="$db")
    if [ -z "$owner" ]; then
        fw_psql "$admin" -c "CREATE DATABASE \"$db\" OWNER fieldwork_owner"
    elif [ "$owner" != fieldwork_owner ]; then
        if [ "$adopt" = adopt ]; then
            fw_psql "$admin" -c "ALTER DATABASE \"$db\" OWNER TO fieldwork_owner"
        else
            fw_die "database $db belongs to $owner; the migrations run as fieldwork_owner: run ALTER DATABASE \"$db\" OWNER TO fieldwork_owner, or set MIGRATE_DATABASE_URL yourself (docs/SECURITY.md)"
        fi
    fi
}

# Makes sure the virtualenv $1 holds the PyPI package $2 at version $3 (for $4, said in
# errors), creating or rebuilding it when missing or at another version. A bare Debian python3
# lacks ensurepip: on CI (root, apt) python3-venv is installed and the venv retried.
fw_pip_venv() {
    local venv=$1 package=$2 version=$3 purpose=$4
    if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "
import importlib.metadata as m, sys
sys.exit(0 if m.version('$package') == '$version' else 1)" 2>/dev/null; then
        return 0
    fi
    command -v python3 >/dev/null 2>&1 \
        || fw_die "python3 is needed $purpose (Debian/Ubuntu: apt-get install python3 python3-venv)"
    fw_log "installing $package $version into $venv"
    rm -rf "$venv"
    mkdir -p "$(dirname "$venv")"
    if ! python3 -m venv "$venv"; then
        if [ -n "${CI:-}" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
            rm -rf "$venv"
            apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
            python3 -m venv "$venv" || fw_die "python3 -m venv failed even after installing python3-venv"
        else
            fw_die "python3 -m venv failed (Debian/Ubuntu: apt-get install python3-venv)"
        fi
    fi
    local attempt
    for attempt in 1 2 3; do
        if "$venv/bin/pip" install --quiet --disable-pip-version-check "$package==$version"; then
            return 0
        fi
        fw_log "pip install failed (attempt $attempt); retrying"
        sleep $((attempt * 5))
    done
    rm -rf "$venv"
    fw_die "could not install $package from PyPI"
}
