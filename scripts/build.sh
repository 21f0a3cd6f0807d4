#!/usr/bin/env bash
# build.sh: from a fresh Debian 12 machine to a built, self-checked kfk.
#
# 1. Installs the Debian packages kfk needs (as root; skipped when they are
#    all there already, so a rebuild costs no apt time). Not root and
#    something missing: prints the apt-get line to run and exits 1.
# 2. Configures (or reconfigures) and builds the `build` dir.
# 3. Runs the main job: a CLI self-check, then `kfk broker`, `kfk produce`
#    and `kfk consume` end to end.
#
# Usage: scripts/build.sh        (from anywhere; works on the repo it is in)
set -euo pipefail
cd "$(dirname "$0")/.."

# Build, test and tool dependencies, then what the interop tests and the
# benchmarks use (third-party clients to run against our broker).
PACKAGES=(
    meson ninja-build pkg-config gcc clang libclang-rt-14-dev
    libssl-dev libsasl2-dev libzstd-dev liblz4-dev zlib1g-dev libsnappy-dev
    libjansson-dev check gzip lz4 zstd python3 python3-snappy
    librdkafka-dev kcat python3-kafka python3-confluent-kafka python3-lz4
    python3-zstandard
)

# ---- 1. packages -----------------------------------------------------------

missing_packages() {
    local installed
    # dpkg-query fails for packages it has never heard of; those are
    # simply missing.
    installed=$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' \
        "${PACKAGES[@]}" 2>/dev/null | awk '$2 == "ii" { print $1 }' || true)
    local p
    for p in "${PACKAGES[@]}"; do
        grep -qxF "$p" <<<"$installed" || echo "$p"
    done
}

mapfile -t missing < <(missing_packages)
if ((${#missing[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "build.sh: missing Debian packages; install them as root with:" >&2
        echo "  apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
    echo "== installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

# ---- 2. configure and build --------------------------------------------------

# Reconfigure every time: it is cheap, and the unit-test list picks up test
# files by their existence at configure time.
if [[ -f build/meson-private/coredata.dat ]]; then
    meson setup --reconfigure build >/dev/null ||
        meson setup --wipe build
else
    meson setup build
fi
ninja -C build

# ---- 3. main job -------------------------------------------------------------

kfk=build/tools/kfk
echo "== $kfk version"
"$kfk" version

# Self-check: the CLI reports the version meson built it as, lists its
# commands, and refuses an unknown one with usage status 2.
want=$(meson introspect --projectinfo build |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])')
got=$("$kfk" version)
if [[ $got != "kfk $want" ]]; then
    echo "build.sh: self-check: '$kfk version' said '$got', want 'kfk $want'" >&2
    exit 1
fi
for c in produce consume; do
    "$kfk" help | grep '^  '"$c"' ' | grep -qv 'not yet available' || {
        echo "build.sh: self-check: 'kfk help' does not list $c as available" >&2
        exit 1
    }
done
rc=0
"$kfk" no-such-command 2>/dev/null || rc=$?
if ((rc != 2)); then
    echo "build.sh: self-check: unknown command exited $rc, want 2" >&2
    exit 1
fi

# The main job: start the reference broker, produce with `kfk produce` and
# consume back with `kfk consume`, which exits at the end of every
# partition (-e).
demo_dir=$(mktemp -d)
"$kfk" broker --listen 127.0.0.1:0 --brokers 3 --partitions 3 \
    --port-file "$demo_dir/bootstrap" --log-level 4 \
    </dev/null >"$demo_dir/broker.out" 2>"$demo_dir/broker.err" &
broker_pid=$!
stop_broker() {
    kill "$broker_pid" 2>/dev/null && wait "$broker_pid" 2>/dev/null
    rm -rf "$demo_dir"
}
trap stop_broker EXIT
for _ in $(seq 100); do
    [[ -s $demo_dir/bootstrap ]] && break
    sleep 0.1
done
bootstrap=$(cat "$demo_dir/bootstrap" 2>/dev/null || true)
if [[ -z $bootstrap ]]; then
    echo "build.sh: kfk broker did not start:" >&2
    cat "$demo_dir/broker.err" >&2
    exit 1
fi
echo "== kfk broker: 3 brokers at $bootstrap"
seq 1 1000 | sed 's/^/key-/; s/$/:hello from kfk/' >"$demo_dir/in"
"$kfk" produce -b "$bootstrap" -t quickstart -K: -z lz4 <"$demo_dir/in"
"$kfk" consume -b "$bootstrap" -t quickstart -o beginning -e -q -f '%k:%s\n' |
    sort >"$demo_dir/out"
sort "$demo_dir/in" | cmp -s - "$demo_dir/out" || {
    echo "build.sh: consumed records differ from what was produced" >&2
    exit 1
}
echo "== kfk produce wrote 1000 records to topic quickstart; kfk consume read them back"
"$kfk" consume -b "$bootstrap" -t quickstart -o -1 -e -q \
    -f '   partition %p offset %o: %k = %s\n' | sort
stop_broker
trap - EXIT

echo "== build.sh: ok (kfk $want built in ./build)"
