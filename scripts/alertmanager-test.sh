#!/usr/bin/env bash
# A throwaway Prometheus Alertmanager for the webhook server's live test: Debian's
# prometheus-alertmanager on a free loopback port, clustering off, run as a non-root user, with
# its configuration and data in a temporary directory and every alert routed to one webhook
# receiver. Installs prometheus-alertmanager from Debian's packages when it is missing.
#
#   bash scripts/alertmanager-test.sh install         # only make sure the binary is there
#   cargo test -p incidents-webhook-server            # the live test runs `start` and `stop` itself
#
# By hand, against a webhook server of your own:
#
#   eval "$(bash scripts/alertmanager-test.sh start http://127.0.0.1:8080/webhooks/alertmanager)"
#   curl -XPOST "http://$INCIDENTS_AM_API/api/v2/alerts" -H 'Content-Type: application/json' \
#     -d '[{"labels": {"alertname": "ShopDown", "service": "online shop"}}]'
#   bash scripts/alertmanager-test.sh stop            # stop it and delete the directory
#
# `start WEBHOOK_URL` prints exports: INCIDENTS_AM_API (host:port of its HTTP API),
# INCIDENTS_AM_PID_FILE, INCIDENTS_AM_LOG and INCIDENTS_AM_DIR (what `stop` reads). The webhook
# URL is an argument because the receiver must be listening before Alertmanager is told where
# it is: the live test binds its server on a free port first, then starts Alertmanager.
#
# Routing is quick, for tests: grouped by alertname, service and shop; group_wait and
# group_interval 1s, repeat_interval 2s (an unchanged group is sent again every 2 to 3
# seconds); resolved alerts are sent (send_resolved).
#
# With INCIDENTS_AM_OWNER_PID set (the test sets its own pid), a watcher stops Alertmanager
# and deletes the directory once that process is gone, should it die before calling `stop`.
#
# The binary: INCIDENTS_ALERTMANAGER_BIN, else prometheus-alertmanager (Debian's name) or
# alertmanager on PATH.
set -euo pipefail

# shellcheck source=lib/apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

cmd=${1:-}
dir=${INCIDENTS_AM_DIR:-}
run_user=${INCIDENTS_AM_RUN_USER:-nobody}

find_bin() {
    local bin
    for bin in "${INCIDENTS_ALERTMANAGER_BIN:-}" prometheus-alertmanager alertmanager; do
        [ -n "$bin" ] || continue
        if command -v "$bin" >/dev/null 2>&1; then
            command -v "$bin"
            return 0
        fi
    done
    return 1
}

install_bin() {
    if find_bin; then
        return 0
    fi
    # The package's postinst asks to start the system service; where policy-rc.d refuses
    # (containers) nothing starts, and where it starts it listens on :9093, not on our ports.
    apt_install prometheus-alertmanager
    find_bin
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

need_dir() {
    if [ -z "$dir" ] || [ ! -f "$dir/alertmanager.yml" ]; then
        echo "alertmanager-test: INCIDENTS_AM_DIR is not set to a directory made by 'start'" >&2
        exit 2
    fi
}

stop_pid() {
    local pid=$1
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
}

case "$cmd" in
install)
    install_bin
    ;;
start)
    url=${2:-}
    case "$url" in
    http://* | https://*) ;;
    *)
        echo "usage: $0 start WEBHOOK_URL   (e.g. http://127.0.0.1:8080/webhooks/alertmanager)" >&2
        exit 2
        ;;
    esac
    bin=$(install_bin)
    if [ "$(id -u)" = 0 ] && ! id "$run_user" >/dev/null 2>&1; then
        useradd --system --no-create-home "$run_user"
    fi
    dir=$(mktemp -d /tmp/incidents-am.XXXXXX)
    chmod 755 "$dir"
    mkdir "$dir/data"
    cat >"$dir/alertmanager.yml" <<EOF
route:
  receiver: incidents
  group_by: ['alertname', 'service', 'shop']
  group_wait: 1s
  group_interval: 1s
  repeat_interval: 2s
receivers:
  - name: incidents
    webhook_configs:
      - url: '$url'
        send_resolved: true
EOF
    if [ "$(id -u)" = 0 ]; then
        chown -R "$run_user" "$dir"
        # setpriv execs (runuser would stay as a parent), so $! below is Alertmanager's pid.
        as_user=(setpriv --reuid "$run_user" --regid "$(id -g "$run_user")" --clear-groups --)
    else
        as_user=()
    fi
    started=
    # A port free a moment ago may be taken by the time Alertmanager binds it: try again.
    for _ in 1 2 3; do
        port=$(free_port)
        # Detached: the caller's $(...) returns once this script exits, not when the server does.
        setsid "${as_user[@]}" "$bin" \
            --config.file="$dir/alertmanager.yml" \
            --storage.path="$dir/data" \
            --web.listen-address="127.0.0.1:$port" \
            --cluster.listen-address= \
            --log.level=debug \
            </dev/null >"$dir/alertmanager.log" 2>&1 &
        pid=$!
        echo "$pid" >"$dir/pid"
        for _ in $(seq 1 100); do
            if ! kill -0 "$pid" 2>/dev/null; then
                break
            fi
            if python3 - "$port" 2>/dev/null <<'PY'; then
import sys, urllib.request
urllib.request.urlopen("http://127.0.0.1:%s/-/ready" % sys.argv[1], timeout=1).read()
PY
                started=yes
                break
            fi
            sleep 0.1
        done
        [ -n "$started" ] && break
        stop_pid "$pid"
    done
    if [ -z "$started" ]; then
        echo "alertmanager-test: Alertmanager did not start; its log:" >&2
        cat "$dir/alertmanager.log" >&2
        rm -rf "$dir"
        exit 1
    fi
    if [ -n "${INCIDENTS_AM_OWNER_PID:-}" ]; then
        setsid bash -c '
            while kill -0 "$1" 2>/dev/null && [ -d "$3" ]; do sleep 1; done
            if [ -d "$3" ]; then
                kill -TERM "$2" 2>/dev/null || true
                sleep 1
                kill -KILL "$2" 2>/dev/null || true
                rm -rf "$3"
            fi' watcher "$INCIDENTS_AM_OWNER_PID" "$pid" "$dir" </dev/null >/dev/null 2>&1 &
    fi
    echo "export INCIDENTS_AM_API='127.0.0.1:$port'"
    echo "export INCIDENTS_AM_PID_FILE='$dir/pid'"
    echo "export INCIDENTS_AM_LOG='$dir/alertmanager.log'"
    echo "export INCIDENTS_AM_DIR='$dir'"
    ;;
stop)
    need_dir
    if [ -f "$dir/pid" ]; then
        stop_pid "$(cat "$dir/pid")"
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 install | start WEBHOOK_URL | stop" >&2
    exit 2
    ;;
esac
