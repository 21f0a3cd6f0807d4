"""perf_produce.py: `kfk perf produce` (and, given --rdk, its librdkafka twin
bench/rdk_perf_produce) against `kfk broker`.

A small run with --json must print one JSON line with every field, and the
fields must agree with each other and with the broker: records and
delivered equal the count, bytes are count x size, no errors, the latency
percentiles in order, and the log end offsets of the topic's partitions add
up to what was sent. The first 8 bytes of a value (read back with kcat) are
the send time in big-endian microseconds since the epoch. The twin must
print exactly the same fields. Records that cannot be delivered make it exit
1 and are counted and named; bad flags must fail with exit status 2 and a
message that names the problem. Nothing here asserts on speed.
"""

import json
import re
import struct
import time

import common
from common import check, fail, log

COUNT = 20_000
SIZE = 100
PARTITIONS = 3

FIELDS = {
    "client", "version", "topic", "compression", "acks", "linger_ms", "idempotence",
    "rate_limit", "records", "record_size", "bytes", "elapsed_s", "msgs_per_s", "mb_per_s",
    "latency_p50_ms", "latency_p99_ms", "latency_p999_ms", "latency_max_ms",
    "cpu_user_s", "cpu_sys_s", "cpu_s", "cpu_s_per_m", "max_rss_kb",
    "delivered", "errors", "error_names",
}


def perf(argv_base, args, timeout=120):
    return common.run(argv_base + args, timeout=timeout, what=" ".join(argv_base))


def bad_flags(kfk):
    """Each bad command line: exit status and a word of the message."""
    cases = [
        (["perf", "produce", "-b", "127.0.0.1:9", "-t", "x", "-n", "abc"], 2, "-n wants"),
        (["perf", "produce", "-b", "127.0.0.1:9", "-t", "x", "-n", "0"], 2, "-n wants"),
        (["perf", "produce", "-b", "127.0.0.1:9", "-n", "10"], 2, "-t TOPIC is required"),
        (["perf", "produce", "-t", "x", "-n", "10"], 2, "-b BOOTSTRAP is required"),
        (["perf", "produce", "-b", "127.0.0.1:9", "-t", "x"], 2, "-n COUNT is required"),
        (["perf", "produce", "-b", "127.0.0.1:9", "-t", "x", "-n", "1", "-s", "4"], 2,
         "-s wants"),
        (["perf", "produce", "-b", "127.0.0.1:9", "-t", "x", "-n", "1", "-r", "fast"], 2,
         "-r wants"),
        (["perf", "produce", "-b", "127.0.0.1:9", "-t", "x", "-n", "1", "--bogus"], 2,
         "unknown option '--bogus'"),
        (["perf", "produce", "-b", "127.0.0.1:9", "-t", "x", "-n", "1", "-X", "linger.ms"], 2,
         "-X wants prop=value"),
        (["perf", "produce", "-b", "127.0.0.1:9", "-t", "x", "-n", "1", "-X", "no.such=1"], 2,
         "no.such"),
        (["perf", "produce", "-b", "127.0.0.1:9", "-t", "x", "-n", "1", "-z", "brotli"], 2,
         "brotli"),
        (["perf", "produce", "-b", "127.0.0.1:9", "-t", "x", "-n"], 2, "-n needs a value"),
        (["perf"], 2, "usage: kfk perf produce"),
        (["perf", "bogus"], 2, "unknown mode 'bogus'"),
        (["perf", "consume"], 2, "-b BOOTSTRAP is required"),
    ]
    for argv, want_rc, want_msg in cases:
        cp = common.run([kfk] + argv, timeout=20)
        err = cp.stderr.decode("utf-8", "replace")
        check(cp.returncode == want_rc,
              f"kfk {' '.join(argv)}: exit {cp.returncode}, want {want_rc}; stderr: {err}")
        check(want_msg in err,
              f"kfk {' '.join(argv)}: stderr does not say {want_msg!r}: {err}")
    cp = common.run([kfk, "perf", "produce", "--help"], timeout=20)
    out = cp.stdout.decode()
    check(cp.returncode == 0 and "-n COUNT" in out and "big-endian" in out,
          f"kfk perf produce --help: exit {cp.returncode}, stdout: {out}")
    log(f"{len(cases)} bad command lines refused as they should be")


def failures(argv_base, what, props):
    """Records that cannot be delivered (nothing listens on the port): exit
    status 1, every record counted as an error, the error named."""
    cp = perf(argv_base, ["-b", "127.0.0.1:9", "-t", "x", "-n", "3", "--json", "-q"] + props,
              timeout=60)
    err = cp.stderr.decode("utf-8", "replace")
    check(cp.returncode == 1, f"{what} to a dead port: exit {cp.returncode}, want 1; {err}")
    j = json.loads(cp.stdout.decode().strip().splitlines()[-1])
    check(set(j) == FIELDS, f"{what}: JSON fields {sorted(j)}")
    check(j["records"] == 3 and j["delivered"] == 0 and j["errors"] == 3
          and len(j["error_names"]) >= 1 and "delivery errors: 3" in err,
          f"{what} to a dead port: {j}; stderr: {err}")
    log(f"{what} to a dead port: exit 1, errors {j['error_names']}")


def json_line(cp, what):
    err = cp.stderr.decode("utf-8", "replace")
    check(cp.returncode == 0, f"{what} exited {cp.returncode}; stderr:\n{err[-4000:]}")
    lines = cp.stdout.decode().strip().splitlines()
    check(len(lines) == 1, f"{what} --json printed {len(lines)} stdout lines, want 1: {lines}")
    try:
        return json.loads(lines[0])
    except ValueError:
        fail(f"{what} --json printed no JSON: {lines[0]!r}")


def check_result(j, what, count, size, rate=0.0):
    check(set(j) == FIELDS, f"{what}: JSON fields {sorted(j)}, want {sorted(FIELDS)}")
    check(j["records"] == count, f"{what}: records {j['records']}, want {count}")
    check(j["delivered"] == count, f"{what}: delivered {j['delivered']}, want {count}")
    check(j["errors"] == 0 and j["error_names"] == [],
          f"{what}: errors {j['errors']} {j['error_names']}")
    check(j["record_size"] == size, f"{what}: record_size {j['record_size']}")
    check(j["bytes"] == count * size, f"{what}: bytes {j['bytes']}, want {count * size}")
    check(j["rate_limit"] == rate, f"{what}: rate_limit {j['rate_limit']}, want {rate}")
    lat = [j["latency_p50_ms"], j["latency_p99_ms"], j["latency_p999_ms"], j["latency_max_ms"]]
    check(0 <= lat[0] <= lat[1] <= lat[2] <= lat[3],
          f"{what}: latencies p50/p99/p99.9/max out of order: {lat}")
    check(j["elapsed_s"] > 0 and j["msgs_per_s"] > 0 and j["mb_per_s"] > 0,
          f"{what}: elapsed {j['elapsed_s']}, msgs/s {j['msgs_per_s']}, MB/s {j['mb_per_s']}")
    rel = abs(j["msgs_per_s"] * j["elapsed_s"] - count) / count
    check(rel < 0.01, f"{what}: msgs_per_s x elapsed_s = "
                      f"{j['msgs_per_s'] * j['elapsed_s']:.0f}, records {count}")
    check(j["cpu_user_s"] >= 0 and j["cpu_sys_s"] >= 0
          and abs(j["cpu_s"] - j["cpu_user_s"] - j["cpu_sys_s"]) < 0.01,
          f"{what}: cpu {j['cpu_s']} != user {j['cpu_user_s']} + sys {j['cpu_sys_s']}")
    # cpu_s is rounded to 1 ms: compare the totals, not the rates (a rate
    # from a rounded total is off by up to 0.5 ms / count)
    check(abs(j["cpu_s_per_m"] * count / 1e6 - j["cpu_s"]) < 0.001 + j["cpu_s"] * 0.01,
          f"{what}: cpu_s_per_m {j['cpu_s_per_m']} vs cpu_s {j['cpu_s']} for {count}")
    check(j["max_rss_kb"] > 0, f"{what}: max_rss_kb {j['max_rss_kb']}")


def end_offsets(broker, topic, partitions):
    """{partition: log end offset}, from the broker's `offsets` command."""
    ends = {}
    for p in range(partitions):
        with broker._cond:
            seen = len(broker._lines)  # earlier answers are stale
        broker.command(f"offsets {topic} {p}")
        pat = re.compile(rf"^{re.escape(topic)} \[{p}\] start (\d+) end (\d+)$")

        def found():
            with broker._cond:
                for line in broker._lines[seen:]:
                    m = pat.match(line)
                    if m:
                        return int(m.group(2))
            return None
        ends[p] = common.wait_until(found, 10, f"the broker's offsets line for {topic}[{p}]")
    return ends


def first_value(broker, topic, partition):
    kcat = common.require_program("kcat", "kcat")
    cp = common.run([kcat, "-b", broker.bootstrap, "-X", "broker.address.family=v4",
                     "-C", "-t", topic, "-p", str(partition), "-o", "beginning", "-c", "1",
                     "-e", "-q", "-f", "%s"], timeout=60, what="kcat -C")
    check(cp.returncode == 0, f"kcat -C exited {cp.returncode}: {cp.stderr[-2000:]!r}")
    return cp.stdout


def produce_and_check(broker, argv_base, what, topic, expect_total, extra=(), count=COUNT,
                      rate=0.0):
    args = ["-b", broker.bootstrap, "-t", topic, "-n", str(count), "-s", str(SIZE),
            "--json", "-q"] + list(extra)
    j = json_line(perf(argv_base, args), what)
    check_result(j, what, count, SIZE, rate)
    ends = end_offsets(broker, topic, PARTITIONS)
    total = sum(ends.values())
    check(total == expect_total,
          f"{what}: log end offsets {ends} add up to {total}, want {expect_total}")
    log(f"{what}: {j['records']} records, p50 {j['latency_p50_ms']} ms, "
        f"p99 {j['latency_p99_ms']} ms; offsets {ends}")
    return j, ends


def test(args):
    bad_flags(args.kfk)
    kfk = [args.kfk, "perf", "produce"]
    failures(kfk, "kfk perf produce", ["-X", "max.block.ms=300"])
    if args.rdk:
        failures([args.rdk], "rdk_perf_produce", ["-X", "message.timeout.ms=300"])
    with common.Broker(args.kfk) as broker:
        topic = common.unique_topic("perf")
        broker.create_topic(topic, PARTITIONS)
        started_us = time.time() * 1e6
        j, ends = produce_and_check(broker, kfk, "kfk perf produce", topic, COUNT)
        check(j["client"] == "kfk" and j["acks"] == "all" and j["idempotence"] == "true",
              f"kfk perf produce: client/acks/idempotence {j['client']}/{j['acks']}/"
              f"{j['idempotence']}, want kfk/all/true (the defaults)")
        value = first_value(broker, topic, max(ends, key=ends.get))
        check(len(value) == SIZE, f"first value is {len(value)} bytes, want {SIZE}")
        (sent_us,) = struct.unpack(">Q", value[:8])
        check(started_us - 60e6 <= sent_us <= time.time() * 1e6 + 60e6,
              f"first 8 bytes {value[:8].hex()} = {sent_us} us since the epoch, "
              f"not near now ({started_us:.0f})")

        total = COUNT
        j, _ = produce_and_check(broker, kfk, "kfk perf produce -z lz4 -a 1", topic,
                              total + COUNT, ["-z", "lz4", "-a", "1", "-X", "linger.ms=2"])
        total += COUNT
        check(j["compression"] == "lz4" and j["acks"] == "1" and j["linger_ms"] == "2",
              f"-z lz4 -a 1 -X linger.ms=2 reported {j['compression']}/{j['acks']}/"
              f"{j['linger_ms']}")
        produce_and_check(broker, kfk, "kfk perf produce -r 5000", topic,
                              total + 2000, ["-r", "5000"], count=2000, rate=5000.0)
        total += 2000

        # Without --json: the summary on stdout.
        cp = perf(kfk, ["-b", broker.bootstrap, "-t", topic, "-n", "100", "-q"])
        total += 100
        out = cp.stdout.decode()
        check(cp.returncode == 0 and "records/s" in out and "latency ms: p50" in out
              and "delivery errors: 0" in out,
              f"kfk perf produce without --json: exit {cp.returncode}, stdout:\n{out}")

        if args.rdk:
            rdk = [args.rdk]
            j, _ = produce_and_check(broker, rdk, "rdk_perf_produce", topic, total + COUNT,
                                  ["-a", "all", "-X", "enable.idempotence=true"])
            check(j["client"] == "librdkafka" and j["acks"] == "all",
                  f"rdk_perf_produce: client {j['client']}, acks {j['acks']}")
            cp = common.run(rdk + ["-b", "127.0.0.1:9", "-t", "x", "-n", "abc"], timeout=20)
            check(cp.returncode == 2 and b"-n wants" in cp.stderr,
                  f"rdk_perf_produce -n abc: exit {cp.returncode}, stderr {cp.stderr!r}")
        else:
            log("no --rdk: librdkafka's twin not built, not checked")


if __name__ == "__main__":
    common.main(test, __doc__, rdk_help="path to bench/rdk_perf_produce, when built")
