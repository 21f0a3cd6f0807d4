"""consume_tool.py: `kfk consume` against `kfk broker --brokers 3`.

Records with known keys, values and headers are written with
`kfk produce`; kcat reads them too, as the reference. Then `kfk consume`
must print the same records with every option: -e (exit at the end), -c,
-o beginning / end / N / -N / @TIMESTAMP, -p, -K, -D, -Z, the -f tokens, -J
(parsed as JSON, field by field), and -G, where a second run of the group
resumes exactly where the first one's close committed, and the close left
the group (kafka-python's admin client describes it Empty). SIGTERM stops a
group member cleanly with its offsets committed, auto.offset.reset=none
without a committed offset is a fatal error (exit 1), and bad flags fail
with exit status 2 and a message naming the problem. Nothing here asserts
on timing.
"""

import json
import os
import signal
import subprocess
import time

import common
from common import check, fail, log

PARTITIONS = 3
COUNT = 300
HEADERS = [("a", "1"), ("b", "2")]


def consume(kfk, b, args, what=None, want_rc=0, timeout=60):
    """Runs kfk consume; returns (stdout text, stderr text)."""
    argv = [kfk, "consume", "-b", b.bootstrap] + args
    cp = common.run(argv, timeout=timeout, what=what or "kfk consume " + " ".join(args))
    out = cp.stdout.decode("utf-8", "replace")
    err = cp.stderr.decode("utf-8", "replace")
    check(cp.returncode == want_rc,
          f"kfk consume {' '.join(args)}: exit {cp.returncode}, want {want_rc}; "
          f"stderr:\n{err[-3000:]}")
    return out, err


def lines_of(out, fields):
    rows = []
    for line in out.splitlines():
        parts = line.split("\t")
        check(len(parts) == fields, f"unparsable output line {line!r}")
        rows.append(parts)
    return rows


def records(kfk, b, topic, extra=(), what=None):
    """(partition, offset, key, value) tuples kfk consume prints."""
    out, _ = consume(kfk, b, ["-t", topic, "-e", "-q", "-f", "%p\\t%o\\t%k\\t%s\\n"]
                     + list(extra), what)
    return [(int(p), int(o), k, v) for p, o, k, v in lines_of(out, 4)]


def produce(kfk, b, topic, lines, extra=()):
    argv = [kfk, "produce", "-b", b.bootstrap, "-t", topic] + list(extra)
    cp = common.run(argv, timeout=60, input="".join(l + "\n" for l in lines).encode())
    check(cp.returncode == 0, f"kfk produce exited {cp.returncode}: {cp.stderr[-2000:]!r}")


def kcat_records(kcat, b, topic):
    argv = [kcat, "-b", b.bootstrap, "-X", "broker.address.family=v4", "-C", "-t", topic,
            "-o", "beginning", "-e", "-q", "-f", "%p\t%o\t%k\t%s\t%T\n"]
    cp = common.run(argv, timeout=60, what="kcat -C")
    check(cp.returncode == 0, f"kcat -C exited {cp.returncode}: {cp.stderr[-2000:]!r}")
    return [(int(p), int(o), k, v, int(t))
            for p, o, k, v, t in lines_of(cp.stdout.decode(), 5)]


def by_partition(recs):
    parts = {}
    for r in sorted(recs):
        parts.setdefault(r[0], []).append(r)
    return parts


def test_reading(kfk, kcat, b, topic, want):
    ref = kcat_records(kcat, b, topic)
    check(len(ref) == COUNT, f"kcat read {len(ref)} records, want {COUNT}")
    got = records(kfk, b, topic, what="kfk consume -e")
    check(sorted(got) == sorted(r[:4] for r in ref),
          f"kfk consume -e read {len(got)} records that differ from kcat's {len(ref)}")
    check({(k, v) for _, _, k, v in got} == want, "kfk consume -e: not the records produced")
    parts = by_partition(got)
    check(sorted(parts) == list(range(PARTITIONS)), f"records only in partitions {sorted(parts)}")
    for p, rs in parts.items():
        check([r[1] for r in rs] == list(range(len(rs))),
              f"partition {p}: offsets not contiguous from 0")

    out, err = consume(kfk, b, ["-t", topic, "-c", "10", "-f", "%o\\n"])
    check(len(out.splitlines()) == 10, f"-c 10 printed {len(out.splitlines())} records")
    check("10 records" in err, f"-c 10: the summary does not say 10 records: {err}")

    check(records(kfk, b, topic, ["-o", "end"]) == [], "-o end -e printed records")

    p0 = parts[0]
    mid = len(p0) // 2
    got = records(kfk, b, topic, ["-p", "0", "-o", str(mid)])
    check(got == p0[mid:], f"-p 0 -o {mid}: {len(got)} records, want {len(p0) - mid} "
                           f"from offset {mid}")

    got = by_partition(records(kfk, b, topic, ["-o", "-5"]))
    for p in range(PARTITIONS):
        check(got.get(p) == parts[p][-5:], f"-o -5: partition {p} gave {got.get(p)}, "
                                           f"want its last 5 {parts[p][-5:]}")
    got = records(kfk, b, topic, ["-p", "2", "-o", f"-{COUNT * 10}"])
    check(got == parts[2], "-p 2 -o -N beyond the start: want the whole partition")

    got = records(kfk, b, topic, ["-p", "1"])
    check(got == parts[1], f"-p 1: {len(got)} records, want partition 1's {len(parts[1])}")

    out, _ = consume(kfk, b, ["-t", topic, "-e", "-q", "-K", ":"])
    check(sorted(out.splitlines()) == sorted(f"{k}:{v}" for k, v in want),
          "-K : did not print key:value for every record")
    out, _ = consume(kfk, b, ["-t", topic, "-e", "-q", "-p", "0", "-K", "\\t", "-D", "|"])
    check(out == "".join(f"{r[2]}\t{r[3]}|" for r in p0),
          f"-K '\\t' -D '|': {out[:80]!r}...")
    return ref


def test_format(kfk, b, topic, ref):
    ts = {(p, o): t for p, o, _, _, t in ref}
    out, _ = consume(kfk, b, ["-t", topic, "-e", "-q", "-f",
                              "%t|%p|%o|%k|%K|%s|%S|%T|%h|%%|%R\\n"])
    rows = out.split("\n")[:-1]
    check(len(rows) == COUNT, f"-f: {len(rows)} lines, want {COUNT}")
    want_h = ",".join(f"{k}={v}" for k, v in HEADERS)
    for row in rows:
        f = row.split("|")
        check(len(f) == 11, f"-f: line {row!r}")
        t, p, o, k, klen, v, vlen, tstamp, h, pct, raw = f
        p, o = int(p), int(o)
        check(t == topic and k.startswith("k") and v == "v" + k[1:], f"-f: line {row!r}")
        check(int(klen) == len(k) and int(vlen) == len(v), f"-f %K/%S: line {row!r}")
        check(int(tstamp) == ts[(p, o)], f"-f %T: {tstamp} at {p}/{o}, kcat says {ts[(p, o)]}")
        check(h == want_h and pct == "%", f"-f %h/%%: line {row!r}")
        check(raw.encode("latin-1") == len(v).to_bytes(4, "big"), f"-f %R: {raw!r}")

    out, _ = consume(kfk, b, ["-t", topic, "-e", "-q", "-J"])
    seen = set()
    for line in out.splitlines():
        try:
            j = json.loads(line)
        except ValueError:
            fail(f"-J printed a line that is not JSON: {line!r}")
        check(set(j) == {"topic", "partition", "offset", "tstype", "ts", "key", "payload",
                         "headers"}, f"-J fields {sorted(j)}")
        p, o = j["partition"], j["offset"]
        check(j["topic"] == topic and j["tstype"] == "create" and j["ts"] == ts[(p, o)],
              f"-J: {j}")
        check(j["payload"] == "v" + j["key"][1:], f"-J key/payload: {j}")
        check(j["headers"] == [x for kv in HEADERS for x in kv], f"-J headers: {j['headers']}")
        seen.add((p, o))
    check(seen == set(ts), f"-J: {len(seen)} distinct records, want {len(ts)}")


def test_nulls(kfk, b):
    """A record without a key: -Z prints NULL, -J null; bytes that are not
    UTF-8 become U+FFFD in JSON and stay as they are elsewhere."""
    topic = common.unique_topic("nulls")
    b.create_topic(topic, 1)
    produce(kfk, b, topic, ["plain"])
    out, _ = consume(kfk, b, ["-t", topic, "-e", "-q", "-Z", "-f", "%k|%K|%s\\n"])
    check(out == "NULL|-1|plain\n", f"-Z with a null key: {out!r}")
    out, _ = consume(kfk, b, ["-t", topic, "-e", "-q", "-f", "[%k]\\n"])
    check(out == "[]\n", f"a null key without -Z: {out!r}")
    out, _ = consume(kfk, b, ["-t", topic, "-e", "-q", "-J"])
    j = json.loads(out)
    check(j["key"] is None and j["payload"] == "plain" and j["headers"] == [], f"-J: {j}")

    argv = [kfk, "produce", "-b", b.bootstrap, "-t", topic]
    cp = common.run(argv, timeout=60, input=b"bin\xff\xfe\n")
    check(cp.returncode == 0, "kfk produce of bytes that are not UTF-8 failed")
    cp = common.run([kfk, "consume", "-b", b.bootstrap, "-t", topic, "-e", "-q", "-o", "1"],
                    timeout=60)
    check(cp.stdout == b"bin\xff\xfe\n", f"raw output changed the bytes: {cp.stdout!r}")
    out, _ = consume(kfk, b, ["-t", topic, "-e", "-q", "-o", "1", "-J"])
    check(json.loads(out)["payload"] == "bin\ufffd\ufffd", f"-J of invalid UTF-8: {out!r}")

    empty = common.unique_topic("empty")
    b.create_topic(empty, 2)
    out, err = consume(kfk, b, ["-t", empty, "-e"])
    check(out == "" and "0 records" in err, f"-e on an empty topic: {out!r} {err!r}")


def test_timestamp(kfk, b):
    """-o @TS starts at the first record whose timestamp is at least TS.
    Batch 2 is produced only once the clock is past TS, so every record of
    batch 1 is before TS and every one of batch 2 at or after it."""
    topic = common.unique_topic("ts")
    b.create_topic(topic, PARTITIONS)
    produce(kfk, b, topic, [f"a{i}:first-{i}" for i in range(30)], ["-K:"])
    out, _ = consume(kfk, b, ["-t", topic, "-e", "-q", "-f", "%T\\n"])
    cut = max(int(t) for t in out.split()) + 1
    while time.time() * 1000 <= cut + 1:
        time.sleep(0.01)
    second = [f"b{i}:second-{i}" for i in range(30)]
    produce(kfk, b, topic, second, ["-K:"])
    for flag in (f"@{cut}", f"s@{cut}"):
        out, _ = consume(kfk, b, ["-t", topic, "-e", "-q", "-o", flag, "-K:"])
        check(sorted(out.splitlines()) == sorted(second),
              f"-o {flag}: {sorted(out.splitlines())[:5]}..., want the 30 second-batch records")
    out, _ = consume(kfk, b, ["-t", topic, "-e", "-q", "-o", f"@{cut + 10**9}"])
    check(out == "", f"-o @TS after every record printed {out[:80]!r}")


def test_group(kfk, kafka, b, topic, want):
    """A group's second run starts where the first one's close committed:
    with -c, poll hands out exactly the records printed, so the committed
    positions are exact and the two runs split the records."""
    group = common.unique_topic("grp")
    out, err = consume(kfk, b, ["-G", group, "-t", topic, "-o", "beginning", "-c", "100",
                                "-K:"])
    first = out.splitlines()
    check(len(first) == 100, f"-G -c 100 printed {len(first)} records")
    check("assigned" in err and "revoked" in err, f"-G: no assignment lines: {err}")
    # Its close left the group: no ghost member holds up the next join
    # for session.timeout.ms (a LeaveGroup once named no member).
    admin = kafka.KafkaAdminClient(bootstrap_servers=b.bootstrap)
    try:
        d = admin.describe_consumer_groups([group])[0]
    finally:
        admin.close()
    check(d.state == "Empty" and not d.members,
          f"after kfk consume -G closed, group {group} is {d.state} with members "
          f"{[m.member_id for m in d.members]}: its LeaveGroup did not remove it")
    # -o beginning (auto.offset.reset=earliest) on the second run too: a
    # partition whose start the first run had not looked up yet when it
    # stopped at 100 has no committed offset, and the default reset
    # (latest) would skip its records, as it would with Java.
    out, _ = consume(kfk, b, ["-G", group, "-t", topic, "-o", "beginning", "-e", "-q",
                              "-K:"])
    second = out.splitlines()
    check(len(first) + len(second) == COUNT and
          set(first) | set(second) == {f"{k}:{v}" for k, v in want},
          f"the group read {len(first)} then {len(second)} records "
          f"({len(set(first) & set(second))} twice); want {COUNT} once each")
    out, _ = consume(kfk, b, ["-G", group, "-t", topic, "-e", "-q"])
    check(out == "", f"a third run of the group read {len(out.splitlines())} records")

    # A regex subscription in a group (-o stored is the default there).
    out, _ = consume(kfk, b, ["-G", common.unique_topic("grp-re"), "^" + topic + "$", "-e",
                              "-q", "-o", "beginning", "-K:"])
    check(sorted(out.splitlines()) == sorted(f"{k}:{v}" for k, v in want),
          f"-G with ^regex read {len(out.splitlines())} records")

    # SIGTERM: the member closes, which commits what it printed.
    group2 = common.unique_topic("grp-sig")
    argv = [kfk, "consume", "-b", b.bootstrap, "-G", group2, "-t", topic, "-o", "beginning",
            "-u", "-f", "%p %o\\n"]
    log("start: " + " ".join(argv))
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=common._die_with_parent)
    try:
        n = 0
        while n < COUNT:
            line = proc.stdout.readline()
            check(line, "kfk consume -G exited before printing every record")
            n += 1
        proc.send_signal(signal.SIGTERM)
        rest, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    err = err.decode()
    check(proc.returncode == 0, f"SIGTERM: exit {proc.returncode}; stderr:\n{err}")
    check("terminated: stopping" in err and "revoked" in err and f"{COUNT} records" in err,
          f"SIGTERM: stderr does not say it stopped cleanly:\n{err}")
    out, _ = consume(kfk, b, ["-G", group2, "-t", topic, "-e", "-q"])
    check(out == "", f"after SIGTERM the group re-read {len(out.splitlines())} records: "
                     "its close did not commit")

    # -o stored by hand: the committed offsets of a group, no membership.
    got = records(kfk, b, topic, ["-o", "stored", "-X", f"group.id={group}"])
    check(got == [], f"-o stored -X group.id after the group read all: {len(got)} records")

    out, err = consume(kfk, b, ["-G", common.unique_topic("grp-none"), "-t", topic, "-e",
                                "-X", "auto.offset.reset=none"], want_rc=1)
    check("_NO_OFFSET" in err and "fatal" in err, f"auto.offset.reset=none: stderr {err}")

    # A session timeout the broker refuses (its minimum is 6 s): the group
    # will never take this member, so it stops instead of retrying.
    out, err = consume(kfk, b, ["-G", common.unique_topic("grp-sto"), "-t", topic, "-e",
                                "-X", "session.timeout.ms=3000",
                                "-X", "heartbeat.interval.ms=500"], want_rc=1)
    check("INVALID_SESSION_TIMEOUT" in err and "fatal" in err,
          f"a refused session.timeout.ms: stderr {err}")


def test_bad_flags(kfk):
    bs = "127.0.0.1:9"
    cases = [
        (["consume", "-b", bs], 2, "-t TOPIC is required"),
        (["consume", "-t", "x"], 2, "-b BOOTSTRAP is required"),
        (["consume", "-b", bs, "-t"], 2, "-t needs a value"),
        (["consume", "-b", bs, "-t", "x", "-p", "one"], 2, "-p wants a partition"),
        (["consume", "-b", bs, "-t", "x", "-o", "middle"], 2, "-o wants"),
        (["consume", "-b", bs, "-t", "x", "-o", "@soon"], 2, "-o wants"),
        (["consume", "-b", bs, "-t", "x", "-c", "0"], 2, "-c wants a count"),
        (["consume", "-b", bs, "-t", "x", "-c", "many"], 2, "-c wants a count"),
        (["consume", "-b", bs, "-t", "x", "-G", "g", "-p", "1"], 2, "-p reads a partition"),
        (["consume", "-b", bs, "-t", "x", "-G", "g", "-o", "-5"], 2, "with -G, -o is"),
        (["consume", "-b", bs, "-t", "^x.*"], 2, "needs a group (-G)"),
        (["consume", "-b", bs, "-t", "x", "-o", "stored"], 2, "-o stored"),
        (["consume", "-b", bs, "-t", "x", "-J", "-f", "%s"], 2, "pick one"),
        (["consume", "-b", bs, "-t", "x", "-X", "fetch.min.bytes"], 2, "-X wants prop=value"),
        (["consume", "-b", bs, "-t", "x", "-X", "no.such.prop=1"], 2, "no.such.prop"),
        (["consume", "-b", bs, "-t", "x", "-X", "auto.offset.reset=sometimes"], 2,
         "auto.offset.reset"),
        (["consume", "-b", bs, "-t", "x", "--bogus"], 2, "unknown option '--bogus'"),
        (["consume", "-b", bs, "-t", "x", "-Y"], 2, "unknown option '-Y'"),
        (["consume", "-b", bs, "-t", "x", "-m", "0"], 2, "-m wants"),
    ]
    for argv, want_rc, want_msg in cases:
        cp = common.run([kfk] + argv, timeout=20)
        err = cp.stderr.decode("utf-8", "replace")
        check(cp.returncode == want_rc,
              f"kfk {' '.join(argv)}: exit {cp.returncode}, want {want_rc}; stderr: {err}")
        check(want_msg in err, f"kfk {' '.join(argv)}: stderr does not say {want_msg!r}: {err}")
    cp = common.run([kfk, "consume", "--help"], timeout=20)
    out = cp.stdout.decode()
    check(cp.returncode == 0 and "-o OFFSET" in out and "%h headers" in out,
          f"kfk consume --help: exit {cp.returncode}: {out}")
    log(f"{len(cases)} bad command lines refused")


def test_missing(kfk, b, topic):
    _, err = consume(kfk, b, ["-t", topic, "-p", "7", "-e"], want_rc=1)
    check(f"{topic} has {PARTITIONS} partitions" in err, f"-p 7: stderr {err}")
    _, err = consume(kfk, b, ["-t", topic, "-e", "-b", "127.0.0.1:1", "-m", "1"], want_rc=1)
    check("no metadata" in err and "_TIMED_OUT" in err, f"an unreachable broker: stderr {err}")


def test(args):
    kcat = common.require_program("kcat", "kcat")
    kafka = common.require_module("kafka", "python3-kafka")
    test_bad_flags(args.kfk)
    with common.Broker(args.kfk, brokers=3) as b:
        topic = common.unique_topic("consume")
        b.create_topic(topic, PARTITIONS)
        want = {(f"k{i}", f"v{i}") for i in range(COUNT)}
        hdr = []
        for k, v in HEADERS:
            hdr += ["-H", f"{k}={v}"]
        produce(args.kfk, b, topic, [f"k{i}:v{i}" for i in range(COUNT)], ["-K:"] + hdr)
        ref = test_reading(args.kfk, kcat, b, topic, want)
        test_format(args.kfk, b, topic, ref)
        test_nulls(args.kfk, b)
        test_timestamp(args.kfk, b)
        test_group(args.kfk, kafka, b, topic, want)
        test_missing(args.kfk, b, topic)
        b.check_alive()


if __name__ == "__main__":
    common.main(test, __doc__)
