# shellcheck shell=bash
# Sourced by the scripts beside it (scripts/*.sh), not run:
#
#   . "$(dirname "${BASH_SOURCE[0]}")/lib/apt.sh"
#   apt_install chromium fonts-dejavu-core
#
# apt_install PKG... installs those of Debian's packages PKG... that dpkg does not list as
# installed, and does nothing (quickly, no network) when all are. It first tries the package
# lists already on the machine and runs one `apt-get update` only when that install fails
# (stale or empty lists, as in a fresh container). All output, apt-get's included, goes to
# stderr, so a caller's stdout (a binary's path, exports) stays clean. Messages are prefixed
# with the calling script's name. Returns apt-get's status; needs root, as apt-get does.

apt_install() {
    local me=${0##*/} pkg
    local missing=()
    me=${me%.sh}
    for pkg in "$@"; do
        if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
            missing+=("$pkg")
        fi
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    echo "$me: installing ${missing[*]} from Debian's packages" >&2
    if DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >&2; then
        return 0
    fi
    echo "$me: installing from the current package lists failed; running apt-get update" >&2
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2 || return
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >&2
}
