#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, on a loopback port in a temporary directory,
# run as a non-root user. Installs PostgreSQL from Debian's packages when it is missing.
#
#   eval "$(scripts/pg-test-cluster.sh start)"   # prints exports: INCIDENTS_PG_URL, ...
#   cargo test --features postgres
#   scripts/pg-test-cluster.sh crash             # kill the server hard (the tests use this)
#   scripts/pg-test-cluster.sh restart           # start it again on the same port
#   scripts/pg-test-cluster.sh stop              # stop it and delete the directory
#
# The directory comes from INCIDENTS_PG_DIR (start creates one and prints it).
set -euo pipefail

# shellcheck source=lib/apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

cmd=${1:-}
dir=${INCIDENTS_PG_DIR:-}
run_user=${INCIDENTS_PG_USER:-postgres}

pg_bin() {
    local bin
    bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
        return 1
    fi
    echo "$bin"
}

as_user() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$run_user" -- "$@"
    else
        "$@"
    fi
}

need_dir() {
    if [ -z "$dir" ] || [ ! -d "$dir/data" ]; then
        echo "pg-test-cluster: INCIDENTS_PG_DIR is not set to a cluster made by 'start'" >&2
        exit 2
    fi
}

case "$cmd" in
start)
    if ! bin=$(pg_bin); then
        apt_install postgresql
        bin=$(pg_bin)
    fi
    if [ "$(id -u)" = 0 ] && ! id "$run_user" >/dev/null 2>&1; then
        useradd --system --no-create-home "$run_user"
    fi
    dir=$(mktemp -d /tmp/incidents-pg.XXXXXX)
    chmod 755 "$dir"
    [ "$(id -u)" = 0 ] && chown "$run_user" "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    as_user "$bin/initdb" -D "$dir/data" -U postgres -A trust --no-sync >"$dir/initdb.log" 2>&1
    echo "$port" >"$dir/port"
    as_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=150" start >&2
    echo "export INCIDENTS_PG_URL='host=127.0.0.1 port=$port user=postgres dbname=postgres connect_timeout=5'"
    echo "export INCIDENTS_PG_DIR='$dir'"
    echo "export INCIDENTS_PG_CTL='$(realpath "$0")'"
    ;;
crash)
    need_dir
    bin=$(pg_bin)
    as_user "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    ;;
restart)
    need_dir
    bin=$(pg_bin)
    port=$(cat "$dir/port")
    # After a crash the server first syncs its data directory (syncfs: one call per file
    # system, not one per file of the many test databases); on a busy machine that and the
    # redo can still take more than a minute.
    as_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 300 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=on -c max_connections=150 -c recovery_init_sync_method=syncfs" \
        start >/dev/null
    ;;
stop)
    need_dir
    bin=$(pg_bin)
    as_user "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|crash|restart|stop" >&2
    exit 2
    ;;
esac
