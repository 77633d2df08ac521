#!/usr/bin/env bash
# A throwaway SMTP server for the notifier tests: aiosmtpd (Debian's python3-aiosmtpd) on
# loopback ports, run as a non-root user, writing every message it accepts into a spool
# directory. Installs python3-aiosmtpd (and openssl, for the test certificate) from Debian's
# packages when they are missing.
#
#   eval "$(bash scripts/smtp-test-server.sh start)"   # prints exports: INCIDENTS_SMTP_ADDR, ...
#   cargo test --features smtp --test it notifiers
#   bash scripts/smtp-test-server.sh stop              # stop it and delete the directory
#
# Three listeners (see scripts/smtp_test_server.py): plain (INCIDENTS_SMTP_ADDR), STARTTLS
# with AUTH required (INCIDENTS_SMTP_STARTTLS_ADDR) and implicit TLS with AUTH required
# (INCIDENTS_SMTP_TLS_ADDR). The TLS listeners present a self-signed certificate for
# `localhost` and 127.0.0.1, made fresh by `start` (INCIDENTS_SMTP_CA is its PEM file); the
# login is INCIDENTS_SMTP_USER with a random INCIDENTS_SMTP_PASSWORD.
#
# The directory comes from INCIDENTS_SMTP_DIR (start creates one and prints it).
set -euo pipefail

# shellcheck source=lib/apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

cmd=${1:-}
dir=${INCIDENTS_SMTP_DIR:-}
run_user=${INCIDENTS_SMTP_RUN_USER:-nobody}
# Debian's interpreter, where Debian's package installs aiosmtpd (not a pyenv or venv one).
python=/usr/bin/python3
here=$(cd "$(dirname "$0")" && pwd)

as_user() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u "$run_user" -- "$@"
    else
        "$@"
    fi
}

need_dir() {
    if [ -z "$dir" ] || [ ! -d "$dir/spool" ]; then
        echo "smtp-test-server: INCIDENTS_SMTP_DIR is not set to a directory made by 'start'" >&2
        exit 2
    fi
}

case "$cmd" in
start)
    missing=()
    if ! [ -x "$python" ] || ! "$python" -c 'import aiosmtpd' 2>/dev/null; then
        missing+=(python3-aiosmtpd)
    fi
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    if [ ${#missing[@]} -gt 0 ]; then
        apt_install "${missing[@]}"
    fi
    if [ "$(id -u)" = 0 ] && ! id "$run_user" >/dev/null 2>&1; then
        useradd --system --no-create-home "$run_user"
    fi
    dir=$(mktemp -d /tmp/incidents-smtp.XXXXXX)
    chmod 755 "$dir"
    mkdir "$dir/spool"
    cp "$here/smtp_test_server.py" "$dir/server.py"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -keyout "$dir/key.pem" -out "$dir/cert.pem" -subj /CN=localhost \
        -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' \
        -addext 'basicConstraints=critical,CA:FALSE' \
        -addext 'extendedKeyUsage=serverAuth' >"$dir/openssl.log" 2>&1
    chmod 644 "$dir/cert.pem"
    chmod 600 "$dir/key.pem"
    password=$("$python" -c 'import secrets; print(secrets.token_urlsafe(18))')
    login=incidents-test
    "$python" - "$dir" "$login" "$password" <<'EOF'
import json, os, sys
d, login, password = sys.argv[1:]
with open(os.path.join(d, "config.json"), "w") as f:
    json.dump({"login": login, "password": password,
               "cert": os.path.join(d, "cert.pem"), "key": os.path.join(d, "key.pem")}, f)
EOF
    chmod 600 "$dir/config.json"
    if [ "$(id -u)" = 0 ]; then
        chown -R "$run_user" "$dir"
    fi
    # Detached: the caller's $(...) returns once this script exits, not when the server does.
    as_user setsid "$python" "$dir/server.py" "$dir" </dev/null >"$dir/server.log" 2>&1 &
    for _ in $(seq 1 100); do
        [ -f "$dir/ports" ] && break
        if ! kill -0 $! 2>/dev/null; then
            break
        fi
        sleep 0.1
    done
    if [ ! -f "$dir/ports" ]; then
        echo "smtp-test-server: the server did not start; its log:" >&2
        cat "$dir/server.log" >&2
        exit 1
    fi
    port() { "$python" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$dir/ports" "$1"; }
    echo "export INCIDENTS_SMTP_ADDR='127.0.0.1:$(port plain)'"
    echo "export INCIDENTS_SMTP_STARTTLS_ADDR='127.0.0.1:$(port starttls)'"
    echo "export INCIDENTS_SMTP_TLS_ADDR='127.0.0.1:$(port tls)'"
    echo "export INCIDENTS_SMTP_CA='$dir/cert.pem'"
    echo "export INCIDENTS_SMTP_USER='$login'"
    echo "export INCIDENTS_SMTP_PASSWORD='$password'"
    echo "export INCIDENTS_SMTP_SPOOL='$dir/spool'"
    echo "export INCIDENTS_SMTP_DIR='$dir'"
    ;;
stop)
    need_dir
    if [ -f "$dir/pid" ]; then
        pid=$(cat "$dir/pid")
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop" >&2
    exit 2
    ;;
esac
