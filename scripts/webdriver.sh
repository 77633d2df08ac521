#!/usr/bin/env bash
# A throwaway chromedriver (W3C WebDriver for Debian's headless Chromium) on a loopback port,
# for the status page's browser tests (tests/status_browser.rs). Installs Debian's `chromium`
# and `chromium-driver` when missing.
#
#   bash scripts/webdriver.sh install        # prints the chromedriver binary
#   eval "$(bash scripts/webdriver.sh start)" # prints exports: INCIDENTS_WEBDRIVER, ...
#   cargo test --features status --test status_browser
#   bash scripts/webdriver.sh stop           # stops it (INCIDENTS_WEBDRIVER_DIR)
#
# `start` is idempotent: with INCIDENTS_WEBDRIVER_DIR naming a driver that still answers, it
# prints the same exports again. Its directory (/tmp/incidents-webdriver.XXXXXX) holds the
# pid, the port and chromedriver's log; `stop` deletes it.
#
# Run as root (CI), chromedriver and the Chromium it starts run as a non-root user
# (INCIDENTS_CHROMIUM_RUN_USER, `nobody` by default), as in scripts/chromium-screenshot.sh;
# the tests pass `--headless=new --no-sandbox` (a container lacks the user namespaces
# Chromium's sandbox needs). chromedriver only accepts connections from 127.0.0.1.
set -euo pipefail

# shellcheck source=lib/apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

# runuser lives in /usr/sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"
cmd=${1:-}
run_user=${INCIDENTS_CHROMIUM_RUN_USER:-nobody}
dir=${INCIDENTS_WEBDRIVER_DIR:-}

find_driver() {
    local bin
    for bin in "${INCIDENTS_CHROMEDRIVER:-}" chromedriver /usr/lib/chromium/chromedriver; do
        [ -n "$bin" ] || continue
        if command -v "$bin" >/dev/null 2>&1; then
            command -v "$bin"
            return 0
        fi
    done
    return 1
}

find_chromium() {
    local bin
    for bin in "${INCIDENTS_CHROMIUM:-}" chromium; do
        [ -n "$bin" ] || continue
        if command -v "$bin" >/dev/null 2>&1; then
            command -v "$bin"
            return 0
        fi
    done
    return 1
}

install_all() {
    local missing=()
    find_chromium >/dev/null || missing+=(chromium)
    find_driver >/dev/null || missing+=(chromium-driver)
    if [ ${#missing[@]} -gt 0 ]; then
        apt_install "${missing[@]}"
    fi
    find_driver
}

# Whether the driver at port $1 answers /status with ready: true.
# (python3, which picks the port too, rather than curl, which a slim image may lack.)
ready() {
    python3 - "$1" <<'PY' 2>/dev/null
import json, sys, urllib.request
with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/status", timeout=2) as r:
    sys.exit(0 if json.load(r)["value"]["ready"] is True else 1)
PY
}

print_exports() {
    echo "export INCIDENTS_WEBDRIVER=http://127.0.0.1:$(cat "$1/port")"
    echo "export INCIDENTS_WEBDRIVER_DIR='$1'"
    echo "export INCIDENTS_CHROMIUM='$(find_chromium)'"
}

case "$cmd" in
install)
    install_all
    ;;
start)
    # Already running: the same exports again.
    if [ -n "$dir" ] && [ -f "$dir/port" ] && ready "$(cat "$dir/port")"; then
        print_exports "$dir"
        exit 0
    fi
    driver=$(install_all)
    chromium=$(find_chromium)
    dir=$(mktemp -d /tmp/incidents-webdriver.XXXXXX)
    chmod 755 "$dir"
    mkdir "$dir/home"
    as=()
    if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null 2>&1 && id "$run_user" >/dev/null 2>&1; then
        chown -R "$run_user" "$dir"
        as=(runuser -u "$run_user" --)
    fi
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    echo "$port" >"$dir/port"
    # setsid: its own process group, so `stop` ends chromedriver and every Chromium it began.
    HOME="$dir/home" setsid "${as[@]}" "$driver" --port="$port" --allowed-ips=127.0.0.1 \
        --log-path="$dir/chromedriver.log" </dev/null >"$dir/stdout" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 100); do
        if ready "$port"; then
            echo "webdriver: chromedriver ($chromium) at http://127.0.0.1:$port, log $dir/chromedriver.log" >&2
            print_exports "$dir"
            exit 0
        fi
        if ! kill -0 "$(cat "$dir/pid")" 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    echo "webdriver: chromedriver did not become ready; its output:" >&2
    cat "$dir/stdout" "$dir/chromedriver.log" >&2 2>/dev/null || true
    kill -- -"$(cat "$dir/pid")" 2>/dev/null || true
    rm -rf "$dir"
    exit 1
    ;;
stop)
    if [ -z "$dir" ] || [ ! -f "$dir/pid" ]; then
        echo "webdriver: INCIDENTS_WEBDRIVER_DIR is not set to a driver made by 'start'" >&2
        exit 0
    fi
    pid=$(cat "$dir/pid")
    # The process group setsid made (chromedriver and its browsers), then the leader.
    kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -9 -- -"$pid" 2>/dev/null || true
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 install | start | stop" >&2
    exit 2
    ;;
esac
