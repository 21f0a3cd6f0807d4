#!/bin/sh
# gen_check.sh: the committed generated code must be exactly what
# tools/gen_proto.py makes from Kafka's message definitions today.
#
# src/proto/gen/, include/kfk/error_codes.h and src/common/error_table.h are
# committed so a build never needs the JSON; this test catches a hand edit
# or a generator change that was not re-run. It runs the generator's own
# --check, then regenerates into a temporary tree and diffs it against the
# source tree (so a broken --check cannot pass silently). Without the JSON
# (../shared/kafka-protocol/messages beside the project, or
# $KFK_PROTOCOL_DIR/messages) the test is skipped: exit 77 for meson.
#
# Usage: gen_check.sh [project-root]     (PYTHON overrides python3)
set -eu

root=${1:-$(dirname "$0")/..}
proto=${KFK_PROTOCOL_DIR:-$root/../shared/kafka-protocol}
py=${PYTHON:-python3}

if [ ! -d "$proto/messages" ] || [ ! -f "$proto/errors.tsv" ]; then
    echo "SKIP: no Kafka message definitions at $proto/messages"
    exit 77
fi

status=0
"$py" "$root/tools/gen_proto.py" --check "$proto/messages" || status=1

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
"$py" "$root/tools/gen_proto.py" "$proto/messages" --out "$tmp" >/dev/null
diff -r "$tmp/src/proto/gen" "$root/src/proto/gen" >"$tmp/diff" 2>&1 || status=1
for f in include/kfk/error_codes.h src/common/error_table.h; do
    diff "$tmp/$f" "$root/$f" >>"$tmp/diff" 2>&1 || status=1
done
if [ "$status" -ne 0 ]; then
    echo "generated code is stale: run  python3 tools/gen_proto.py  and commit the result"
    head -n 60 "$tmp/diff"
fi
exit "$status"
