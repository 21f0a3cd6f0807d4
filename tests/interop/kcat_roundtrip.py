"""kcat_roundtrip.py: librdkafka (through kcat) produces to and consumes from
`kfk broker`, and every record comes back exactly once, in order, with its
headers, on the partition Java's partitioner would have picked.

kcat's producer runs idempotent (so librdkafka guarantees per-partition
order even across retries) with librdkafka's Java-compatible partitioner
(`partitioner=murmur2_random`); the topic is auto-created with 3 partitions
by the broker's Metadata handler (--partitions 3). Then kcat consumes from
the beginning to the end of every partition, and reads two slices by
absolute and end-relative offsets (ListOffsets + Fetch at an offset).
"""

import json
import random

import common
from common import check, fail, log

N_MESSAGES = 10_000
N_KEYS = 257
PARTITIONS = 3
HEADERS = [("app", "kfk-interop"), ("trace", "t-0123456789abcdef")]


def make_messages(rng):
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-"
    # Keys of every length mod 4, so murmur2's 1-3 byte tails all occur.
    keys = [f"k{i}" + "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 9)))
            for i in range(N_KEYS)]
    msgs = []
    seq = {}
    for n in range(N_MESSAGES):
        key = rng.choice(keys)
        s = seq.get(key, 0)
        seq[key] = s + 1
        filler = "".join(rng.choice(alphabet) for _ in range(rng.randrange(0, 120)))
        msgs.append((key, f"{key}.{s}.{n}.{filler}"))
    return msgs


def kcat_base(kcat, broker):
    return [kcat, "-b", broker.bootstrap, "-X", "api.version.request=true",
            "-X", "broker.address.family=v4"]


def produce(kcat, broker, topic, msgs):
    argv = kcat_base(kcat, broker) + [
        "-P", "-t", topic, "-K:",
        "-X", "partitioner=murmur2_random",
        "-X", "enable.idempotence=true",
        "-X", "acks=all",
        "-X", "linger.ms=5",
        "-X", "message.timeout.ms=60000",
    ]
    for k, v in HEADERS:
        argv += ["-H", f"{k}={v}"]
    data = "".join(f"{k}:{v}\n" for k, v in msgs).encode()
    cp = common.run(argv, timeout=90, input=data, what="kcat -P")
    err = cp.stderr.decode("utf-8", "replace")
    if cp.returncode != 0 or "Delivery failed" in err or "ERROR" in err:
        fail(f"kcat -P exited {cp.returncode}; stderr:\n{err[-4000:]}")
    if err.strip():
        log("kcat -P stderr:\n" + err[-2000:])


def metadata(kcat, broker, topic):
    argv = kcat_base(kcat, broker) + ["-L", "-J", "-t", topic]
    cp = common.run(argv, timeout=30, what="kcat -L")
    check(cp.returncode == 0,
          f"kcat -L exited {cp.returncode}: {cp.stderr.decode('utf-8', 'replace')[-2000:]}")
    try:
        md = json.loads(cp.stdout)
    except ValueError:
        fail(f"kcat -L -J printed no JSON: {cp.stdout[:2000]!r}")
    return md


def consume(kcat, broker, topic, extra, what):
    argv = kcat_base(kcat, broker) + [
        "-C", "-t", topic, "-e", "-q",
        "-f", "%p\t%o\t%k\t%s\t%h\n",
    ] + extra
    cp = common.run(argv, timeout=90, what=what)
    err = cp.stderr.decode("utf-8", "replace")
    check(cp.returncode == 0, f"{what} exited {cp.returncode}; stderr:\n{err[-4000:]}")
    if "ERROR" in err:
        fail(f"{what} reported errors:\n{err[-4000:]}")
    out = []
    for line in cp.stdout.decode("utf-8", "replace").splitlines():
        parts = line.split("\t")
        check(len(parts) == 5, f"{what}: unparsable output line {line!r}")
        p, o, k, v, h = parts
        out.append((int(p), int(o), k, v, h))
    return out


def test(args):
    kcat = common.require_program("kcat", "kcat")
    common.murmur2_self_check()
    rng = random.Random(20240611)
    msgs = make_messages(rng)
    with common.Broker(args.kfk, brokers=3, partitions=PARTITIONS) as broker:
        topic = common.unique_topic("kcat")
        produce(kcat, broker, topic, msgs)

        md = metadata(kcat, broker, topic)
        tops = [t for t in md.get("topics", []) if t.get("topic") == topic]
        check(len(tops) == 1, f"kcat -L does not list {topic}: {md}")
        parts = tops[0].get("partitions", [])
        check(len(parts) == PARTITIONS,
              f"auto-created {topic} has {len(parts)} partitions, want {PARTITIONS}: {tops[0]}")
        check(len(md.get("brokers", [])) == 3, f"kcat -L lists brokers {md.get('brokers')}, want 3")

        got = consume(kcat, broker, topic, ["-o", "beginning"], "kcat -C (all)")
        verify_all(msgs, got)

        # Partition 0 from an absolute offset, and the last 10 records of
        # partition 1 (an end-relative offset: ListOffsets latest, then Fetch).
        by_part = {}
        for rec in got:
            by_part.setdefault(rec[0], []).append(rec)
        mid = len(by_part[0]) // 2
        sl = consume(kcat, broker, topic, ["-p", "0", "-o", str(mid)], "kcat -C -p 0 -o MID")
        check(sl == by_part[0][mid:],
              f"kcat -C -p 0 -o {mid}: {len(sl)} records, first {sl[:1]}, want "
              f"{len(by_part[0]) - mid} starting {by_part[0][mid:mid + 1]}")
        tail = consume(kcat, broker, topic, ["-p", "1", "-o", "-10"], "kcat -C -p 1 -o -10")
        check(tail == by_part[1][-10:],
              f"kcat -C -p 1 -o -10 gave {tail}, want {by_part[1][-10:]}")
        broker.check_alive()


def verify_all(msgs, got):
    want_headers = ",".join(f"{k}={v}" for k, v in HEADERS)
    check(len(got) == len(msgs), f"consumed {len(got)} records, produced {len(msgs)}")
    seen = {}
    for p, o, k, v, h in got:
        check(v not in seen, f"value {v[:60]!r} consumed twice (partition {p} offsets "
                             f"{seen.get(v)} and {o})")
        seen[v] = o
    produced_values = {v for _, v in msgs}
    missing = produced_values - set(seen)
    check(not missing, f"{len(missing)} produced records never consumed, e.g. {sorted(missing)[:3]}")

    per_part = {}
    per_key = {}
    for p, o, k, v, h in got:
        check(h == want_headers, f"partition {p} offset {o}: headers {h!r}, want {want_headers!r}")
        check(v.startswith(k + "."), f"partition {p} offset {o}: key {k!r} with value {v[:60]!r}")
        want_p = common.java_partition(k.encode(), PARTITIONS)
        check(p == want_p, f"key {k!r} landed on partition {p}; Java's murmur2 "
                           f"partitioner picks {want_p}")
        per_part.setdefault(p, []).append(o)
        per_key.setdefault(k, []).append(int(v.split(".")[1]))
    for p, offs in sorted(per_part.items()):
        check(offs == list(range(len(offs))),
              f"partition {p}: offsets not contiguous from 0 in consume order: "
              f"first break near {next((i for i, o in enumerate(offs) if o != i), None)}")
    for k, seqs in per_key.items():
        check(seqs == list(range(len(seqs))),
              f"key {k!r}: values out of produce order: {seqs[:20]}...")
    log(f"verified {len(got)} records: partitions {dict((p, len(o)) for p, o in per_part.items())}, "
        f"{len(per_key)} keys")


if __name__ == "__main__":
    common.main(test, __doc__)
