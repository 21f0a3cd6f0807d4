#!/usr/bin/env bash
# test.sh: runs the whole test suite of a build dir and ends with the Check
# totals as one line, "N passed, N failed" (counted by scripts/totals.py).
# Exits non-zero if anything failed.
#
# Usage: scripts/test.sh [meson test args...]     e.g. scripts/test.sh test_buf
#   BUILD_DIR=build-asan scripts/test.sh          another, configured dir
# The default dir, build, is set up by scripts/build.sh first if needed.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${BUILD_DIR:-build}

if [[ ! -f $dir/meson-private/coredata.dat ]]; then
    if [[ $dir != build ]]; then
        echo "test.sh: $dir is not a configured meson build dir" >&2
        exit 1
    fi
    scripts/build.sh
else
    # New test files are found at configure time; meson test rebuilds.
    meson setup --reconfigure "$dir" >/dev/null
fi

# A stale log must not be counted if this run dies before writing one.
rm -f "$dir/meson-logs/testlog.json" "$dir/meson-logs/testlog.txt"

rc=0
meson test -C "$dir" --print-errorlogs "$@" || rc=$?
python3 scripts/totals.py "$dir" || rc=1
exit "$rc"
