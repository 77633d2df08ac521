#!/usr/bin/env bash
# Fuzz smoke run: every cargo-fuzz target in fuzz/ for FUZZ_SECONDS seconds each (default 60)
# on the nightly toolchain. A crash fails the run; libFuzzer leaves the input under
# fuzz/artifacts/<target>/ and prints it. Without a nightly toolchain it says so and passes:
# cargo-fuzz needs nightly, and the crate itself builds on stable.
#
# Usage, from anywhere: bash scripts/fuzz-smoke.sh [target ...]   (default: all targets)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
case $seconds in
'' | *[!0-9]*)
    echo "FUZZ_SECONDS must be a whole number of seconds, not '$seconds'" >&2
    exit 2
    ;;
esac

if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
    echo "fuzz smoke skipped: no nightly toolchain"
    exit 0
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
if [ ${#targets[@]} -eq 0 ]; then
    echo "no fuzz targets found in fuzz/" >&2
    exit 1
fi

# One build for all targets, so each run's seconds are spent fuzzing.
cargo +nightly fuzz build
for target in "${targets[@]}"; do
    echo "fuzz smoke: $target for ${seconds}s"
    cargo +nightly fuzz run "$target" -- -max_total_time="$seconds"
done
echo "fuzz smoke passed: ${targets[*]} (${seconds}s each)"
