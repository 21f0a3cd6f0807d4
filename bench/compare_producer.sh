#!/usr/bin/env bash
# compare_producer.sh: kfk's producer against librdkafka's, run alternately
# with identical settings by `kfk perf produce` and its twin
# bench/rdk_perf_produce (same payload, pacing, measuring and JSON), each
# against a fresh `kfk broker` in its own process, so the CPU a client
# reports (getrusage) is the client's alone. Prints a table of ranges and
# kfk/librdkafka ratios; the raw JSON lines are kept in $OUT/results.jsonl.
#
#   bench/compare_producer.sh [BUILD_DIR]        (default: build)
#
# Throughput runs: RECORDS records of SIZE bytes, acks=all,
# enable.idempotence=true, linger.ms=5, once per codec in CODECS. Latency
# runs: LAT_RATE records/s for LAT_SECONDS s, uncompressed. Every
# configuration runs REPEAT times, kfk and librdkafka in turn (which goes
# first alternates). Environment overrides, with their defaults:
#   RECORDS=10000000 SIZE=100 CODECS="none lz4" REPEAT=2
#   LAT_RATE=200000 LAT_SECONDS=20 BROKERS=1 PARTITIONS=6
#   EXTRA="-X k=v ..." (given to both clients) OUT=(a new temporary dir)
#   REP_START=1: with OUT of an earlier run and REP_START past its last
#   repetition, the new runs are added to its results and the table
#   covers both.
# Quick check: RECORDS=200000 LAT_RATE=20000 LAT_SECONDS=2 REPEAT=1 bench/compare_producer.sh
set -euo pipefail

BUILD=${1:-build}
KFK=$BUILD/tools/kfk
RDK=$BUILD/bench/rdk_perf_produce
RECORDS=${RECORDS:-10000000}
SIZE=${SIZE:-100}
CODECS=${CODECS:-none lz4}
REPEAT=${REPEAT:-2}
LAT_RATE=${LAT_RATE:-200000}
LAT_SECONDS=${LAT_SECONDS:-20}
BROKERS=${BROKERS:-1}
PARTITIONS=${PARTITIONS:-6}
EXTRA=${EXTRA:-}
OUT=${OUT:-$(mktemp -d /tmp/compare_producer.XXXXXX)}
TOPIC=perf

for exe in "$KFK" "$RDK"; do
    if [ ! -x "$exe" ]; then
        echo "compare_producer: $exe not found: build first (ninja -C $BUILD);" \
             "rdk_perf_produce needs librdkafka-dev" >&2
        exit 2
    fi
done
mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
REP_START=${REP_START:-1}
[ "$REP_START" -gt 1 ] || : > "$RESULTS"

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

# A fresh broker for every run: the same empty log for each client, and
# the memory of the last run's records given back.
start_broker() {
    rm -f "$OUT/bootstrap"
    "$KFK" broker --brokers "$BROKERS" --listen 127.0.0.1:0 --port-file "$OUT/bootstrap" \
        --partitions "$PARTITIONS" --log-level 3 </dev/null >"$OUT/broker.out" 2>>"$OUT/broker.log" &
    BROKER_PID=$!
    for _ in $(seq 100); do
        [ -s "$OUT/bootstrap" ] && break
        sleep 0.1
    done
    if [ ! -s "$OUT/bootstrap" ]; then
        echo "compare_producer: kfk broker did not start; see $OUT/broker.log" >&2
        exit 1
    fi
    BOOTSTRAP=$(cat "$OUT/bootstrap")
    # Auto-creates the topic (PARTITIONS partitions) before the clock runs.
    "$KFK" perf produce -b "$BOOTSTRAP" -t "$TOPIC" -n 1000 -q >/dev/null 2>>"$OUT/broker.log"
}

broker_cpu() { # seconds of CPU the broker process has used
    awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$BROKER_PID/stat"
}

# One run's JSON line as a progress line on stderr.
SHOW_PY='import json, sys
j = json.load(sys.stdin)
print("%.0f rec/s, %.3f CPU s/M, p50 %s ms, p99 %s ms, errors %d" % (j["msgs_per_s"],
      j["cpu_s_per_m"], j["latency_p50_ms"], j["latency_p99_ms"], j["errors"]))'

# run REP MODE CODEC CLIENT ARGS...: one measured run, its JSON line
# tagged with the repetition and the load average before it (the machine
# may be shared: a busy run says so).
run() {
    local rep=$1 mode=$2 codec=$3 client=$4
    shift 4
    local exe=$KFK sub=(perf produce)
    if [ "$client" = librdkafka ]; then
        exe=$RDK
        sub=()
    fi
    start_broker
    local line load
    load=$(cut -d' ' -f1 /proc/loadavg)
    # shellcheck disable=SC2086 # EXTRA is a list of flags
    if ! line=$("$exe" "${sub[@]}" -b "$BOOTSTRAP" -t "$TOPIC" -s "$SIZE" -z "$codec" -a all \
                -X enable.idempotence=true -X linger.ms=5 $EXTRA --json -q "$@" \
                2>>"$OUT/clients.log"); then
        echo "compare_producer: $client $mode $codec failed; see $OUT/clients.log" >&2
    fi
    local bcpu
    bcpu=$(broker_cpu)
    stop_broker
    [ -n "$line" ] || exit 1
    echo "{\"rep\":$rep,\"mode\":\"$mode\",\"load1\":$load,\"broker_cpu_s\":$bcpu,\"run\":$line}" \
        >> "$RESULTS"
    printf '  %-10s %-10s %-5s %s (load %s)\n' "$client" "$mode" "$codec" \
        "$(echo "$line" | python3 -c "$SHOW_PY")" "$load" >&2
}

# Both clients, in the order the repetition number picks.
pair() {
    local rep=$1
    shift
    if [ $((rep % 2)) -eq 1 ]; then
        run "$rep" "$1" "$2" kfk "${@:3}"
        run "$rep" "$1" "$2" librdkafka "${@:3}"
    else
        run "$rep" "$1" "$2" librdkafka "${@:3}"
        run "$rep" "$1" "$2" kfk "${@:3}"
    fi
}

echo "compare_producer: $RECORDS x $SIZE B, acks=all, idempotent, linger.ms=5;" \
     "latency at $LAT_RATE rec/s for $LAT_SECONDS s; $REPEAT x each; $BROKERS broker(s)," \
     "$PARTITIONS partitions; results in $OUT" >&2
for rep in $(seq "$REP_START" $((REP_START + REPEAT - 1))); do
    for codec in $CODECS; do
        pair "$rep" throughput "$codec" -n "$RECORDS"
    done
    pair "$rep" latency none -n $((LAT_RATE * LAT_SECONDS)) -r "$LAT_RATE"
done

python3 - "$RESULTS" <<'EOF'
import json, statistics, sys
from collections import defaultdict

runs = defaultdict(list)  # (mode, codec, client) -> [run], in repetition order
for line in open(sys.argv[1]):
    r = json.loads(line)
    j = r["run"]
    for k in ("rep", "load1", "broker_cpu_s"):
        j[k] = r[k]
    runs[(r["mode"], j["compression"], j["client"])].append(j)

def rng(vals, fmt):
    lo, hi = fmt.format(min(vals)), fmt.format(max(vals))
    return lo if lo == hi else lo + "-" + hi

def ratios(a, b, key):
    # kfk over librdkafka within each repetition: the two ran back to back,
    # so they saw about the same machine. Range and median over repetitions.
    byrep = {y["rep"]: y for y in b}
    rs = [x[key] / byrep[x["rep"]][key] for x in a if x["rep"] in byrep and byrep[x["rep"]][key]]
    if not rs:
        return "n/a"
    return f"{rng(rs, '{:.2f}')} (median {statistics.median(rs):.2f})"

order = lambda k: (k[0] != "throughput", k[1], k[2] != "kfk")
hdr = ("| run | codec | client | records/s | MB/s | CPU s / M records | p50 ms | p99 ms "
       "| peak RSS MiB | broker CPU s | load avg | errors |")
print(hdr)
print("|" + "---|" * (hdr.count("|") - 1))
for k in sorted(runs, key=order):
    v = runs[k]
    print(f"| {k[0]} | {k[1]} | {k[2]} | {rng([x['msgs_per_s'] / 1e6 for x in v], '{:.2f} M')} "
          f"| {rng([x['mb_per_s'] for x in v], '{:.0f}')} "
          f"| {rng([x['cpu_s_per_m'] for x in v], '{:.2f}')} "
          f"| {rng([x['latency_p50_ms'] for x in v], '{:.1f}')} "
          f"| {rng([x['latency_p99_ms'] for x in v], '{:.1f}')} "
          f"| {rng([x['max_rss_kb'] / 1024 for x in v], '{:.0f}')} "
          f"| {rng([x['broker_cpu_s'] for x in v], '{:.1f}')} "
          f"| {rng([x['load1'] for x in v], '{:.1f}')} "
          f"| {sum(x['errors'] for x in v)} |")
print()
print("| run | codec | throughput kfk/rdk | CPU per M records kfk/rdk | p99 kfk/rdk |")
print("|---|---|---|---|---|")
for mode, codec in sorted({(k[0], k[1]) for k in runs}, key=lambda m: (m[0] != "throughput", m[1])):
    a, b = runs.get((mode, codec, "kfk"), []), runs.get((mode, codec, "librdkafka"), [])
    if a and b:
        print(f"| {mode} | {codec} | {ratios(a, b, 'msgs_per_s')} "
              f"| {ratios(a, b, 'cpu_s_per_m')} | {ratios(a, b, 'latency_p99_ms')} |")
EOF
if grep -q '"errors":[1-9]' "$RESULTS"; then
    echo "compare_producer: some records failed; see $OUT/clients.log" >&2
    exit 1
fi
