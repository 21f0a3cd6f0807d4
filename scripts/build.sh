#!/usr/bin/env bash
# build.sh: from a fresh Debian 12 machine to a built, self-checked kfk.
#
# 1. Installs the Debian packages kfk needs (as root; skipped when they are
#    all there already, so a rebuild costs no apt time). Not root and
#    something missing: prints the apt-get line to run and exits 1.
# 2. Configures (or reconfigures) and builds the `build` dir.
# 3. Runs the main job: for now `kfk version` and a CLI self-check.
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
"$kfk" help | grep -q '^  produce ' || {
    echo "build.sh: self-check: 'kfk help' does not list produce" >&2
    exit 1
}
rc=0
"$kfk" no-such-command 2>/dev/null || rc=$?
if ((rc != 2)); then
    echo "build.sh: self-check: unknown command exited $rc, want 2" >&2
    exit 1
fi

# TODO(broker, producer, consumer): when they land, the main job goes here:
# start `kfk broker` on an ephemeral port, `kfk topics create` a topic,
# `kfk produce` a few thousand records into it, `kfk consume` them back and
# compare, then stop the broker.

echo "== build.sh: ok (kfk $want built in ./build)"
