#!/usr/bin/env bash
# Headless Chromium for looking at the crate's HTML as a person would: Debian's chromium and
# a font with Hebrew glyphs (fonts-dejavu-core: DejaVu Sans has Hebrew and Arabic, and is
# small beside fonts-noto-core), installed from Debian's packages when missing.
#
#   bash scripts/chromium-screenshot.sh install                  # prints the chromium binary
#   bash scripts/chromium-screenshot.sh shot IN.html OUT.png [600x800]
#   bash scripts/chromium-screenshot.sh dump-dom IN.html         # the parsed DOM on stdout
#
# The binary: INCIDENTS_CHROMIUM, else chromium on PATH. `shot` and `dump-dom` never install.
#
# Run as root (CI), Chromium runs as a non-root user (INCIDENTS_CHROMIUM_RUN_USER, `nobody`
# by default) in a fresh temporary directory (its profile and HOME), reading a copy of the
# page and writing the screenshot there; the result is copied out. `--no-sandbox` is passed
# all the same: Chromium's own sandbox needs user namespaces or its setuid helper, which a
# container usually lacks, and as root it refuses to start without the flag. The page is
# our own generated HTML with no scripts and no external resources, and the browser runs
# without root rights, no network resources to fetch and a throwaway profile.
set -euo pipefail

# shellcheck source=lib/apt.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"

# runuser lives in /usr/sbin, which a non-login PATH may lack.
export PATH="$PATH:/usr/sbin:/sbin"
cmd=${1:-}
run_user=${INCIDENTS_CHROMIUM_RUN_USER:-nobody}

find_bin() {
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

has_hebrew_font() {
    command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=he family 2>/dev/null)" ]
}

install_all() {
    local missing=()
    find_bin >/dev/null || missing+=(chromium)
    has_hebrew_font || missing+=(fonts-dejavu-core fontconfig)
    if [ ${#missing[@]} -gt 0 ]; then
        apt_install "${missing[@]}"
    fi
    find_bin
}

# A fresh temporary directory $work holding a copy of the page $1 (page.html) and a HOME
# for chromium; owned by the run user when run as root. The caller deletes it.
make_work() {
    work=$(mktemp -d /tmp/incidents-chromium.XXXXXX)
    chmod 755 "$work"
    cp "$1" "$work/page.html"
    chmod 644 "$work/page.html"
    mkdir "$work/home"
    as=()
    # Without runuser or the user, root runs it (still with --no-sandbox, see above).
    if [ "$(id -u)" = 0 ] && command -v runuser >/dev/null 2>&1 && id "$run_user" >/dev/null 2>&1; then
        chown -R "$run_user" "$work"
        as=(runuser -u "$run_user" --)
    fi
}

# Runs chromium on $work/page.html with the given arguments; its stdout into $work/stdout.
run_chromium() {
    local bin
    if ! bin=$(find_bin); then
        echo "chromium-screenshot: no chromium (set INCIDENTS_CHROMIUM or run: $0 install)" >&2
        rm -rf "$work"
        exit 2
    fi
    # No GPU, no first-run or update checks, no extensions; a fixed scale so pixels are
    # pixels. The log goes to a file and is shown only on failure.
    if ! (cd "$work" && HOME="$work/home" timeout 120 "${as[@]}" "$bin" \
        --headless --no-sandbox --disable-gpu --hide-scrollbars \
        --no-first-run --no-default-browser-check --disable-extensions \
        --disable-dev-shm-usage --force-device-scale-factor=1 \
        --user-data-dir="$work/home/profile" "$@" "file://$work/page.html" \
        >"$work/stdout" 2>"$work/log"); then
        echo "chromium-screenshot: chromium failed; its log:" >&2
        cat "$work/log" >&2
        rm -rf "$work"
        exit 1
    fi
}

case "$cmd" in
install)
    install_all
    ;;
shot)
    if [ $# -lt 3 ]; then
        echo "usage: $0 shot IN.html OUT.png [WIDTHxHEIGHT]" >&2
        exit 2
    fi
    size=${4:-600x800}
    if ! [[ $size =~ ^[0-9]+x[0-9]+$ ]]; then
        echo "chromium-screenshot: size is WIDTHxHEIGHT, not $size" >&2
        exit 2
    fi
    make_work "$2"
    run_chromium --screenshot="$work/shot.png" --window-size="${size/x/,}"
    if [ ! -s "$work/shot.png" ]; then
        echo "chromium-screenshot: chromium wrote no screenshot; its log:" >&2
        cat "$work/log" >&2
        rm -rf "$work"
        exit 1
    fi
    cp "$work/shot.png" "$3"
    rm -rf "$work"
    ;;
dump-dom)
    if [ $# -lt 2 ]; then
        echo "usage: $0 dump-dom IN.html" >&2
        exit 2
    fi
    make_work "$2"
    run_chromium --dump-dom
    cat "$work/stdout"
    rm -rf "$work"
    ;;
*)
    echo "usage: $0 install | shot IN.html OUT.png [WIDTHxHEIGHT] | dump-dom IN.html" >&2
    exit 2
    ;;
esac
