"""perf_consume.py: `kfk perf consume` (and, given --rdk, its librdkafka twin
bench/rdk_perf_consume) against `kfk broker`, after `kfk perf produce`.

Each run with --json must print one JSON line with every field, and the
fields must agree with each other and with what was produced: records equal
the count (-n COUNT, or everything with -e, by hand or in a group, plain or
lz4), bytes are count x size, no errors, every value carried a send time,
the latency percentiles in order. The twin must print exactly the same
fields with either of its read calls. A consumer that waits longer than
--timeout for a record exits 1 and says so; bad flags fail with exit
status 2 and a message that names the problem. Nothing here asserts on
speed (nor on latency, which only means something while producing).
"""

import json

import common
from common import check, fail, log

COUNT = 20_000
SIZE = 100
PARTITIONS = 3

FIELDS = {
    "client", "version", "topic", "group", "api", "partitions", "count_limit", "until_eof",
    "records", "bytes", "elapsed_s", "elapsed_total_s", "msgs_per_s", "mb_per_s",
    "latency_p50_ms", "latency_p99_ms", "latency_p999_ms", "latency_max_ms", "unstamped",
    "cpu_user_s", "cpu_sys_s", "cpu_s", "cpu_s_per_m", "max_rss_kb", "errors", "error_names",
}


def bad_flags(argv_base, what):
    """Each bad command line: exit status 2 and a word of the message."""
    b = ["-b", "127.0.0.1:9"]
    cases = [
        (b + ["-t", "x", "-n", "abc"], "-n wants"),
        (b + ["-t", "x", "-n", "0"], "-n wants"),
        (b + ["-n", "10"], "-t TOPIC is required"),
        (["-t", "x", "-n", "10"], "-b BOOTSTRAP is required"),
        (b + ["-t", "x"], "-n COUNT or -e is required"),
        (b + ["-t", "x", "-e", "-G", ""], "-G wants"),
        (b + ["-t", "x", "-e", "--timeout", "soon"], "--timeout wants"),
        (b + ["-t", "x", "-e", "--bogus"], "unknown option '--bogus'"),
        (b + ["-t", "x", "-e", "-s", "100"], "unknown option '-s'"),
        (b + ["-t", "x", "-e", "-X", "fetch.min.bytes"], "-X wants prop=value"),
        (b + ["-t", "x", "-e", "-X", "no.such=1"], "no.such"),
        (b + ["-t", "x", "-n"], "-n needs a value"),
    ]
    for argv, want_msg in cases:
        cp = common.run(argv_base + argv, timeout=20)
        err = cp.stderr.decode("utf-8", "replace")
        cmd = " ".join(argv_base[1:] + argv)
        check(cp.returncode == 2, f"{what} {cmd}: exit {cp.returncode}, want 2; stderr: {err}")
        check(want_msg in err, f"{what} {cmd}: stderr does not say {want_msg!r}: {err}")
    cp = common.run(argv_base + ["--help"], timeout=20)
    out = cp.stdout.decode()
    check(cp.returncode == 0 and "-n COUNT" in out and "big-endian" in out
          and "at the same time" in out, f"{what} --help: exit {cp.returncode}, stdout: {out}")
    log(f"{what}: {len(cases)} bad command lines refused as they should be")


def json_line(cp, what, want_rc=0):
    err = cp.stderr.decode("utf-8", "replace")
    check(cp.returncode == want_rc,
          f"{what} exited {cp.returncode}, want {want_rc}; stderr:\n{err[-4000:]}")
    lines = cp.stdout.decode().strip().splitlines()
    check(len(lines) == 1, f"{what} --json printed {len(lines)} stdout lines, want 1: {lines}")
    try:
        return json.loads(lines[0])
    except ValueError:
        fail(f"{what} --json printed no JSON: {lines[0]!r}")


def check_result(j, what, topic, count, group=None, limit=None, eof=False):
    check(set(j) == FIELDS, f"{what}: JSON fields {sorted(j)}, want {sorted(FIELDS)}")
    check(j["topic"] == topic and j["group"] == group and j["count_limit"] == limit
          and j["until_eof"] == eof,
          f"{what}: topic/group/count_limit/until_eof {j['topic']}/{j['group']}/"
          f"{j['count_limit']}/{j['until_eof']}, want {topic}/{group}/{limit}/{eof}")
    check(j["partitions"] == PARTITIONS, f"{what}: partitions {j['partitions']}")
    check(j["records"] == count, f"{what}: records {j['records']}, want {count}")
    check(j["bytes"] == count * SIZE, f"{what}: bytes {j['bytes']}, want {count * SIZE}")
    check(j["errors"] == 0 and j["error_names"] == [],
          f"{what}: errors {j['errors']} {j['error_names']}")
    check(j["unstamped"] == 0, f"{what}: {j['unstamped']} values without a send time")
    lat = [j["latency_p50_ms"], j["latency_p99_ms"], j["latency_p999_ms"], j["latency_max_ms"]]
    check(0 <= lat[0] <= lat[1] <= lat[2] <= lat[3],
          f"{what}: latencies p50/p99/p99.9/max out of order: {lat}")
    check(0 < j["elapsed_s"] <= j["elapsed_total_s"],
          f"{what}: elapsed {j['elapsed_s']} (first to last), {j['elapsed_total_s']} in all")
    check(j["msgs_per_s"] > 0 and j["mb_per_s"] > 0,
          f"{what}: msgs/s {j['msgs_per_s']}, MB/s {j['mb_per_s']}")
    rel = abs(j["msgs_per_s"] * j["elapsed_s"] - count) / count
    check(rel < 0.01, f"{what}: msgs_per_s x elapsed_s = "
                      f"{j['msgs_per_s'] * j['elapsed_s']:.0f}, records {count}")
    check(j["cpu_user_s"] >= 0 and j["cpu_sys_s"] >= 0
          and abs(j["cpu_s"] - j["cpu_user_s"] - j["cpu_sys_s"]) < 0.01,
          f"{what}: cpu {j['cpu_s']} != user {j['cpu_user_s']} + sys {j['cpu_sys_s']}")
    # cpu_s is rounded to 1 ms: compare the totals, not the rates
    check(abs(j["cpu_s_per_m"] * count / 1e6 - j["cpu_s"]) < 0.001 + j["cpu_s"] * 0.01,
          f"{what}: cpu_s_per_m {j['cpu_s_per_m']} vs cpu_s {j['cpu_s']} for {count}")
    check(j["max_rss_kb"] > 0, f"{what}: max_rss_kb {j['max_rss_kb']}")


def produce(kfk, broker, topic, extra=()):
    cp = common.run([kfk, "perf", "produce", "-b", broker.bootstrap, "-t", topic,
                     "-n", str(COUNT), "-s", str(SIZE), "--json", "-q"] + list(extra),
                    timeout=120, what="kfk perf produce")
    j = json_line(cp, "kfk perf produce")
    check(j["delivered"] == COUNT and j["errors"] == 0, f"kfk perf produce: {j}")


def consume(argv_base, what, broker, topic, args, count, group=None, limit=None, eof=False):
    cp = common.run(argv_base + ["-b", broker.bootstrap, "-t", topic, "--json", "-q"] + args,
                    timeout=120, what=what)
    j = json_line(cp, what)
    check_result(j, what, topic, count, group, limit, eof)
    log(f"{what}: {j['records']} records, {j['bytes']} B, api {j['api']}, "
        f"p50 {j['latency_p50_ms']} ms (their age)")
    return j


def runs(argv_base, name, client, broker, plain, lz4, extra=()):
    extra = list(extra)
    j = consume(argv_base, f"{name} -n", broker, plain, ["-n", str(COUNT)] + extra, COUNT,
                limit=COUNT)
    check(j["client"] == client, f"{name}: client {j['client']}, want {client}")
    consume(argv_base, f"{name} -n (part)", broker, plain, ["-n", "1234"] + extra, 1234,
            limit=1234)
    consume(argv_base, f"{name} -e", broker, plain, ["-e"] + extra, COUNT, eof=True)
    consume(argv_base, f"{name} -e lz4", broker, lz4, ["-e"] + extra, COUNT, eof=True)
    group = common.unique_topic(f"g-{client}")
    consume(argv_base, f"{name} -G -e", broker, plain, ["-G", group, "-e"] + extra, COUNT,
            group=group, eof=True)


def test(args):
    kfk = [args.kfk, "perf", "consume"]
    bad_flags(kfk, "kfk perf consume")
    if args.rdk:
        bad_flags([args.rdk], "rdk_perf_consume")
        cp = common.run([args.rdk, "--api", "both", "-b", "x", "-t", "x", "-e"], timeout=20)
        check(cp.returncode == 2 and b"--api wants" in cp.stderr,
              f"rdk_perf_consume --api both: exit {cp.returncode}, {cp.stderr!r}")
    with common.Broker(args.kfk) as broker:
        plain, lz4 = common.unique_topic("perfc"), common.unique_topic("perfc-lz4")
        for topic in (plain, lz4):
            broker.create_topic(topic, PARTITIONS)
        produce(args.kfk, broker, plain)
        produce(args.kfk, broker, lz4, ["-z", "lz4"])

        runs(kfk, "kfk perf consume", "kfk", broker, plain, lz4)

        # Fewer records than asked for: gives up after --timeout, exit 1.
        cp = common.run(kfk + ["-b", broker.bootstrap, "-t", plain, "-n", str(COUNT + 1),
                               "--timeout", "3", "--json", "-q"], timeout=60)
        j = json_line(cp, "kfk perf consume past the end", want_rc=1)
        err = cp.stderr.decode("utf-8", "replace")
        check(j["records"] == COUNT and j["errors"] == 1 and j["error_names"] == ["_TIMED_OUT"]
              and "no record for 3 s" in err, f"past the end: {j}; stderr: {err}")
        log("kfk perf consume past the end: gave up after --timeout, exit 1")

        # Without --json: the summary on stdout.
        cp = common.run(kfk + ["-b", broker.bootstrap, "-t", plain, "-n", "100", "-q"],
                        timeout=60)
        out = cp.stdout.decode()
        check(cp.returncode == 0 and "records/s" in out and "p50" in out
              and "errors: 0" in out,
              f"kfk perf consume without --json: exit {cp.returncode}, stdout:\n{out}")

        if args.rdk:
            for api, name in (("batch", "rd_kafka_consume_batch_queue"),
                              ("poll", "rd_kafka_consumer_poll")):
                runs([args.rdk], f"rdk_perf_consume --api {api}", "librdkafka", broker,
                     plain, lz4, ["--api", api])
                j = consume([args.rdk], f"rdk_perf_consume --api {api}", broker, plain,
                            ["--api", api, "-n", "10"], 10, limit=10)
                check(j["api"] == name, f"--api {api}: api {j['api']}, want {name}")
        else:
            log("no --rdk: librdkafka's twin not built, not checked")


if __name__ == "__main__":
    common.main(test, __doc__, rdk_help="path to bench/rdk_perf_consume, when built")
