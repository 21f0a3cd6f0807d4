#!/usr/bin/env bash
# compare_consumer.sh: kfk's consumer against librdkafka's, run alternately
# with identical settings by `kfk perf consume` and its twin
# bench/rdk_perf_consume (same flags, counting, measuring and JSON), against
# one `kfk broker` in its own process, so the CPU a client reports
# (getrusage) is the client's alone. Prints a table of ranges and medians
# and the kfk/librdkafka ratios per repetition; the raw JSON lines are kept
# in $OUT/results.jsonl.
#
#   bench/compare_consumer.sh [BUILD_DIR]        (default: build)
#
# The broker is started once and each topic filled once, by `kfk perf
# produce` (RECORDS records of SIZE bytes, PARTITIONS partitions, acks=all),
# one topic per codec in CODECS (the producer compresses; the consumers
# read the batches as stored). Then, REPEAT times, kfk and librdkafka each
# read every topic from the beginning (partitions assigned by hand, -n
# RECORDS), which one goes first alternating. Environment overrides, with
# their defaults:
#   RECORDS=10000000 SIZE=100 PARTITIONS=6 CODECS="none lz4" REPEAT=3
#   RDK_API=batch (rdk_perf_consume --api: batch or poll)
#   EXTRA="-X k=v ..." (given to both consumers), KFK_EXTRA, RDK_EXTRA (to
#   one: the two spell some properties differently) OUT=(a new temporary dir)
# Quick check: RECORDS=200000 REPEAT=1 bench/compare_consumer.sh
set -euo pipefail

BUILD=${1:-build}
KFK=$BUILD/tools/kfk
RDK=$BUILD/bench/rdk_perf_consume
RECORDS=${RECORDS:-10000000}
SIZE=${SIZE:-100}
PARTITIONS=${PARTITIONS:-6}
CODECS=${CODECS:-none lz4}
REPEAT=${REPEAT:-3}
RDK_API=${RDK_API:-batch}
EXTRA=${EXTRA:-}
KFK_EXTRA=${KFK_EXTRA:-}
RDK_EXTRA=${RDK_EXTRA:-}
OUT=${OUT:-$(mktemp -d /tmp/compare_consumer.XXXXXX)}

for exe in "$KFK" "$RDK"; do
    if [ ! -x "$exe" ]; then
        echo "compare_consumer: $exe not found: build first (ninja -C $BUILD);" \
             "rdk_perf_consume needs librdkafka-dev" >&2
        exit 2
    fi
done
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
: > "$RESULTS"

BROKER_PID=
stop_broker() {
    if [ -n "$BROKER_PID" ]; then
        kill "$BROKER_PID" 2>/dev/null || true
        wait "$BROKER_PID" 2>/dev/null || true
        BROKER_PID=
    fi
}
trap stop_broker EXIT
trap 'exit 130' INT TERM

rm -f "$OUT/bootstrap"
"$KFK" broker --listen 127.0.0.1:0 --port-file "$OUT/bootstrap" --partitions "$PARTITIONS" \
    --log-level 3 </dev/null >"$OUT/broker.out" 2>>"$OUT/broker.log" &
BROKER_PID=$!
for _ in $(seq 100); do
    [ -s "$OUT/bootstrap" ] && break
    sleep 0.1
done
if [ ! -s "$OUT/bootstrap" ]; then
    echo "compare_consumer: kfk broker did not start; see $OUT/broker.log" >&2
    exit 1
fi
BOOTSTRAP=$(cat "$OUT/bootstrap")

broker_cpu() { # seconds of CPU the broker process has used
    awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$BROKER_PID/stat"
}

echo "compare_consumer: $RECORDS x $SIZE B per topic, $PARTITIONS partitions, codecs $CODECS;" \
     "$REPEAT x each; librdkafka api $RDK_API; extra flags: '$EXTRA' kfk '$KFK_EXTRA'" \
     "librdkafka '$RDK_EXTRA'; results in $OUT" >&2
for codec in $CODECS; do
    echo "  filling topic perf-$codec ..." >&2
    if ! "$KFK" perf produce -b "$BOOTSTRAP" -t "perf-$codec" -n "$RECORDS" -s "$SIZE" \
         -z "$codec" -a all -q >>"$OUT/fill.log" 2>&1; then
        echo "compare_consumer: filling perf-$codec failed; see $OUT/fill.log" >&2
        exit 1
    fi
done

SHOW_PY='import json, sys
j = json.load(sys.stdin)
print("%d records, %.0f rec/s, %.1f MB/s, %.3f CPU s/M, %.0f MiB, errors %d" % (j["records"],
      j["msgs_per_s"], j["mb_per_s"], j["cpu_s_per_m"], j["max_rss_kb"] / 1024, j["errors"]))'

# run REP CODEC CLIENT: one measured run, its JSON line tagged with the
# repetition, the codec, the load average before it (the machine may be
# shared: a busy run says so) and the broker's CPU during it.
run() {
    local rep=$1 codec=$2 client=$3
    local exe=$KFK sub=(perf consume) extra=$KFK_EXTRA
    if [ "$client" = librdkafka ]; then
        exe=$RDK
        sub=(--api "$RDK_API")
        extra=$RDK_EXTRA
    fi
    local line load b0 b1
    load=$(cut -d' ' -f1 /proc/loadavg)
    b0=$(broker_cpu)
    # shellcheck disable=SC2086 # EXTRA and extra are lists of flags
    if ! line=$("$exe" "${sub[@]}" -b "$BOOTSTRAP" -t "perf-$codec" -n "$RECORDS" $EXTRA $extra \
                --json -q 2>>"$OUT/clients.log"); then
        echo "compare_consumer: $client $codec failed; see $OUT/clients.log" >&2
    fi
    b1=$(broker_cpu)
    [ -n "$line" ] || exit 1
    echo "{\"rep\":$rep,\"codec\":\"$codec\",\"load1\":$load," \
         "\"broker_cpu_s\":$(awk -v a="$b0" -v b="$b1" 'BEGIN {printf "%.2f", b - a}'),\"run\":$line}" >> "$RESULTS"
    printf '  %-10s %-5s %s (load %s)\n' "$client" "$codec" \
        "$(echo "$line" | python3 -c "$SHOW_PY")" "$load" >&2
}

for rep in $(seq 1 "$REPEAT"); do
    for codec in $CODECS; do
        if [ $((rep % 2)) -eq 1 ]; then
            run "$rep" "$codec" kfk
            run "$rep" "$codec" librdkafka
        else
            run "$rep" "$codec" librdkafka
            run "$rep" "$codec" kfk
        fi
    done
done

python3 - "$RESULTS" "$RECORDS" <<'EOF'
import json, statistics, sys
from collections import defaultdict

runs = defaultdict(list)  # (codec, client) -> [run], in repetition order
for line in open(sys.argv[1]):
    r = json.loads(line)
    j = r["run"]
    for k in ("rep", "load1", "broker_cpu_s", "codec"):
        j[k] = r[k]
    runs[(r["codec"], j["client"])].append(j)

def rng(vals, fmt):
    lo, hi = fmt.format(min(vals)), fmt.format(max(vals))
    med = fmt.format(statistics.median(vals))
    return lo if lo == hi else f"{lo}-{hi} ({med})"

def ratios(a, b, key):
    # kfk over librdkafka within each repetition: the two ran back to back,
    # so they saw about the same machine.
    byrep = {y["rep"]: y for y in b}
    rs = [(x["rep"], x[key] / byrep[x["rep"]][key]) for x in a
          if x["rep"] in byrep and byrep[x["rep"]][key]]
    if not rs:
        return "n/a"
    each = " ".join(f"{v:.2f}" for _, v in rs)
    return f"{each} (median {statistics.median(v for _, v in rs):.2f})"

print("ranges over the repetitions, (median):")
hdr = ("| codec | client | records/s | MB/s | CPU s / M records | peak RSS MiB "
       "| broker CPU s | load avg | errors |")
print(hdr)
print("|" + "---|" * (hdr.count("|") - 1))
for k in sorted(runs, key=lambda k: (k[0], k[1] != "kfk")):
    v = runs[k]
    print(f"| {k[0]} | {k[1]} | {rng([x['msgs_per_s'] / 1e6 for x in v], '{:.2f} M')} "
          f"| {rng([x['mb_per_s'] for x in v], '{:.0f}')} "
          f"| {rng([x['cpu_s_per_m'] for x in v], '{:.3f}')} "
          f"| {rng([x['max_rss_kb'] / 1024 for x in v], '{:.0f}')} "
          f"| {rng([x['broker_cpu_s'] for x in v], '{:.1f}')} "
          f"| {rng([x['load1'] for x in v], '{:.1f}')} "
          f"| {sum(x['errors'] for x in v)} |")
print()
print("kfk / librdkafka, each repetition in turn (median):")
print("| codec | throughput | CPU per M records | peak RSS |")
print("|---|---|---|---|")
for codec in sorted({k[0] for k in runs}):
    a, b = runs.get((codec, "kfk"), []), runs.get((codec, "librdkafka"), [])
    if a and b:
        print(f"| {codec} | {ratios(a, b, 'msgs_per_s')} | {ratios(a, b, 'cpu_s_per_m')} "
              f"| {ratios(a, b, 'max_rss_kb')} |")
short = [x for v in runs.values() for x in v if x["records"] != int(sys.argv[2])]
if short:
    print(f"\nWARNING: {len(short)} run(s) did not read all {sys.argv[2]} records")
EOF
if grep -q '"errors":[1-9]' "$RESULTS"; then
    echo "compare_consumer: some runs had errors; see $OUT/clients.log" >&2
    exit 1
fi
