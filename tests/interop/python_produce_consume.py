"""python_produce_consume.py: kafka-python and confluent-kafka (librdkafka)
produce to `kfk broker` with acks=all under every compression codec, and
both clients' consumers read everything back byte for byte.

Producers (one topic of 3 partitions each, on a 3-broker cluster):
- kafka-python with gzip, snappy (xerial framing), lz4 and zstd. Debian 12's
  python3-kafka 2.0.2 supports all four given python3-snappy, python3-lz4
  and python3-zstandard; a missing codec module is a failure.
- confluent-kafka with gzip, snappy (raw), lz4 and zstd, and once more as an
  idempotent producer (enable.idempotence=true: InitProducerId, sequence
  numbers, up to 5 requests in flight).
Records have random binary keys and values: null and empty keys, empty and
null values, ~100 KB values, compressible and incompressible ones, and
headers on some. Both producers use Java's murmur2 partitioner, so every
keyed record's partition is checked against it too.

Consumers use manual assignment and no consumer group (the reference broker
has no group coordinator yet): kafka-python with group_id=None, and
confluent-kafka with a group.id it never uses (assign() with explicit
offsets, no commits). Each must return exactly the acknowledged records, at
the acknowledged offsets, contiguous from 0 in every partition.
"""

import logging
import os
import random
import time
import uuid

import common
from common import check, fail, log

PARTITIONS = 3
MESSAGES_PER_TOPIC = 300
CODECS = ["gzip", "snappy", "lz4", "zstd"]


def make_records(rng):
    """[(key, value, headers)] with the awkward cases guaranteed present."""
    out = []
    for i in range(MESSAGES_PER_TOPIC):
        r = rng.random()
        if i == 0:
            key = None
        elif i == 1 or r < 0.05:
            key = b""
        elif r < 0.15:
            key = None
        else:
            key = os.urandom(rng.randrange(1, 40))
        r = rng.random()
        if i in (2, 3):
            value = os.urandom(100 * 1024 + rng.randrange(0, 1024))  # ~100 KB
        elif i == 4:
            value = (b"kfk-interop-compressible " * 4100)[:100 * 1024]
        elif i == 5 or r < 0.05:
            value = b""
        elif (i == 6 or r < 0.08) and key is not None:
            value = None  # a tombstone needs a key for kafka-python
        elif r < 0.5:
            value = os.urandom(rng.randrange(1, 2000))
        else:
            value = (b"abc%d-" % i) * rng.randrange(1, 300)
        headers = []
        if rng.random() < 0.3 or i == 7:
            headers = [(f"h{j}", os.urandom(rng.randrange(0, 20)))
                       for j in range(rng.randrange(1, 4))]
        out.append((key, value, headers))
    return out


# ---- producers ------------------------------------------------------------------

def produce_kafka_python(kafka, bootstrap, topic, codec, records):
    p = kafka.KafkaProducer(
        bootstrap_servers=bootstrap, acks="all", compression_type=codec,
        linger_ms=5, request_timeout_ms=20000, api_version_auto_timeout_ms=10000,
        max_block_ms=20000, client_id="interop-kafka-python")
    try:
        futures = [p.send(topic, key=k, value=v, headers=h) for k, v, h in records]
        p.flush(timeout=60)
        acked = {}
        for (k, v, h), f in zip(records, futures):
            try:
                md = f.get(timeout=30)
            except Exception as e:
                fail(f"kafka-python ({codec}) produce to {topic} failed: {e!r}")
            acked[(topic, md.partition, md.offset)] = (k, v, h)
    finally:
        p.close(timeout=10)
    return acked


def produce_confluent(ck, bootstrap, topic, codec, records, idempotent=False):
    errors = []
    conf = {
        "bootstrap.servers": bootstrap, "acks": "all", "compression.type": codec,
        "linger.ms": 5, "partitioner": "murmur2_random",
        "message.timeout.ms": 60000, "broker.address.family": "v4",
        "client.id": "interop-confluent", "error_cb": lambda e: errors.append(e),
    }
    if idempotent:
        conf["enable.idempotence"] = True
        conf["max.in.flight.requests.per.connection"] = 5
    p = ck.Producer(conf)
    acked = {}
    failures = []

    def on_delivery(err, msg, rec):
        if err is not None:
            failures.append(f"{err} (partition {msg.partition()})")
        else:
            acked[(topic, msg.partition(), msg.offset())] = rec

    for rec in records:
        k, v, h = rec
        while True:
            try:
                p.produce(topic, value=v, key=k, headers=h or None,
                          on_delivery=lambda err, msg, rec=rec: on_delivery(err, msg, rec))
                break
            except BufferError:
                p.poll(0.1)
        p.poll(0)
    left = p.flush(60)
    what = f"confluent-kafka ({codec}{', idempotent' if idempotent else ''})"
    check(left == 0, f"{what}: {left} records still undelivered after flush(60)")
    check(not failures, f"{what}: delivery failed: {failures[:5]}")
    fatal = [e for e in errors if e.fatal()]
    check(not fatal, f"{what}: fatal errors: {fatal}")
    if errors:
        log(f"{what}: non-fatal client errors: {errors[:10]}")
    check(len(acked) == len(records),
          f"{what}: {len(acked)} distinct offsets acked for {len(records)} records")
    return acked


# ---- consumers ------------------------------------------------------------------

def norm_headers(h):
    return [(k, bytes(v) if v is not None else None) for k, v in (h or [])]


def consume_kafka_python(kafka, bootstrap, expected_ends, deadline_s=60):
    from kafka import TopicPartition
    c = kafka.KafkaConsumer(
        bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False,
        auto_offset_reset="earliest", fetch_max_wait_ms=200,
        request_timeout_ms=30000, api_version_auto_timeout_ms=10000,
        client_id="interop-kafka-python")
    got = {}
    try:
        tps = [TopicPartition(t, p) for (t, p) in expected_ends]
        c.assign(tps)
        ends = c.end_offsets(tps)  # ListOffsets latest
        c.seek_to_beginning(*tps)  # ListOffsets earliest, on the first poll
        for tp in tps:
            check(ends[tp] == expected_ends[(tp.topic, tp.partition)],
                  f"kafka-python end_offsets({tp.topic}[{tp.partition}]) = {ends[tp]}, "
                  f"want {expected_ends[(tp.topic, tp.partition)]}")
        deadline = time.monotonic() + deadline_s
        while any(c.position(tp) < ends[tp] for tp in tps):
            check(time.monotonic() < deadline,
                  "kafka-python consumer: not at the end of every partition after "
                  f"{deadline_s}s: " + ", ".join(
                      f"{tp.topic}[{tp.partition}] at {c.position(tp)}/{ends[tp]}"
                      for tp in tps if c.position(tp) < ends[tp]))
            for tp, recs in c.poll(timeout_ms=500).items():
                for r in recs:
                    key = (r.topic, r.partition, r.offset)
                    check(key not in got, f"kafka-python consumed {key} twice")
                    got[key] = (r.key, r.value, norm_headers(r.headers))
    finally:
        c.close(autocommit=False)
    return got


def consume_confluent(ck, bootstrap, expected_ends, deadline_s=60):
    errors = []
    c = ck.Consumer({
        "bootstrap.servers": bootstrap,
        # Required by confluent-kafka even without group use; with assign()
        # and no commits the group coordinator is never needed.
        "group.id": "interop-unused-" + uuid.uuid4().hex[:8],
        "enable.auto.commit": False, "enable.auto.offset.store": False,
        "enable.partition.eof": True, "auto.offset.reset": "error",
        "fetch.wait.max.ms": 200, "broker.address.family": "v4",
        "client.id": "interop-confluent", "error_cb": lambda e: errors.append(e),
    })
    got = {}
    try:
        c.assign([ck.TopicPartition(t, p, 0) for (t, p) in expected_ends])
        at_eof = set()
        deadline = time.monotonic() + deadline_s
        while len(at_eof) < len(expected_ends):
            check(time.monotonic() < deadline,
                  f"confluent-kafka consumer: no end-of-partition after {deadline_s}s for "
                  f"{sorted(set(expected_ends) - at_eof)}; client errors: {errors[:10]}")
            for m in c.consume(num_messages=500, timeout=0.5):
                tp = (m.topic(), m.partition())
                if m.error():
                    if m.error().code() == ck.KafkaError._PARTITION_EOF:
                        if m.offset() == expected_ends[tp]:
                            at_eof.add(tp)
                        continue
                    fail(f"confluent-kafka consumer error on {tp}: {m.error()}")
                key = (m.topic(), m.partition(), m.offset())
                check(key not in got, f"confluent-kafka consumed {key} twice")
                got[key] = (m.key(), m.value(), norm_headers(m.headers()))
    finally:
        c.close()
    if errors:
        log(f"confluent-kafka consumer: client errors (not failing): {errors[:10]}")
    return got


# ---- checks ---------------------------------------------------------------------

def compare(who, got, acked):
    missing = sorted(set(acked) - set(got))
    extra = sorted(set(got) - set(acked))
    check(not missing, f"{who}: {len(missing)} acked records not consumed, e.g. {missing[:5]}")
    check(not extra, f"{who}: {len(extra)} records consumed that no producer acked, e.g. {extra[:5]}")
    for pos, want in acked.items():
        have = got[pos]
        if have != want:
            def show(r):
                k, v, h = r
                return (f"key={k[:16] if k is not None else None!r}(len {len(k) if k is not None else '-'}) "
                        f"value len {len(v) if v is not None else 'null'} headers={h}")
            fail(f"{who}: {pos[0]}[{pos[1]}]@{pos[2]} differs:\n  got  {show(have)}\n"
                 f"  want {show(want)}")
    log(f"{who}: {len(got)} records identical to what was acked")


def check_offsets(acked):
    """Offsets acked per partition are exactly 0..n-1 (nothing lost or
    doubled on the broker side); returns {(topic, partition): end}."""
    per = {}
    for (t, p, o) in acked:
        per.setdefault((t, p), []).append(o)
    ends = {}
    for tp, offs in per.items():
        offs.sort()
        check(offs == list(range(len(offs))),
              f"{tp[0]}[{tp[1]}]: acked offsets are not 0..{len(offs) - 1}: "
              f"{offs[:10]}...{offs[-5:]}")
        ends[tp] = len(offs)
    return ends


def check_partitioning(acked, who):
    n = 0
    for (t, p, o), (k, v, h) in acked.items():
        if k is None:
            continue
        want = common.java_partition(k, PARTITIONS)
        check(p == want, f"{who}: key {k[:16]!r} landed on {t}[{p}], Java's murmur2 picks {want}")
        n += 1
    return n


def test(args):
    kafka = common.require_module("kafka", "python3-kafka")
    ck = common.require_module("confluent_kafka", "python3-confluent-kafka")
    import kafka.codec as kcodec
    for codec, has, pkg in [("snappy", kcodec.has_snappy, "python3-snappy"),
                            ("lz4", kcodec.has_lz4, "python3-lz4"),
                            ("zstd", kcodec.has_zstd, "python3-zstandard")]:
        check(has(), f"kafka-python cannot use {codec}: apt-get install {pkg}")
    common.murmur2_self_check()
    logging.basicConfig(level=logging.WARNING, stream=__import__("sys").stderr,
                        format="[%(name)s] %(levelname)s %(message)s")
    rng = random.Random(0x6b666b)

    with common.Broker(args.kfk, brokers=3) as broker:
        bs = broker.bootstrap
        acked = {}
        ends_topics = []
        runs = [("kafka-python", c, False) for c in CODECS] + \
               [("confluent", c, False) for c in CODECS] + [("confluent", "lz4", True)]
        for client, codec, idem in runs:
            topic = common.unique_topic(f"{client}-{codec}{'-idem' if idem else ''}")
            broker.create_topic(topic, PARTITIONS)
            records = make_records(rng)
            t0 = time.monotonic()
            if client == "kafka-python":
                a = produce_kafka_python(kafka, bs, topic, codec, records)
            else:
                a = produce_confluent(ck, bs, topic, codec, records, idempotent=idem)
            check(len(a) == len(records),
                  f"{client} ({codec}): {len(a)} distinct acked offsets for {len(records)} records")
            n = check_partitioning(a, f"{client} ({codec})")
            log(f"{client} produced {len(records)} records ({codec}{', idempotent' if idem else ''}) "
                f"to {topic} in {time.monotonic() - t0:.1f}s; {n} keyed, on Java's partitions")
            acked.update(a)
            ends_topics.append(topic)
            broker.check_alive()

        ends = check_offsets(acked)
        for t in ends_topics:
            for p in range(PARTITIONS):
                ends.setdefault((t, p), 0)

        t0 = time.monotonic()
        got = consume_kafka_python(kafka, bs, ends)
        compare("kafka-python consumer", got, acked)
        log(f"kafka-python consumed in {time.monotonic() - t0:.1f}s")
        t0 = time.monotonic()
        got = consume_confluent(ck, bs, ends)
        compare("confluent-kafka consumer", got, acked)
        log(f"confluent-kafka consumed in {time.monotonic() - t0:.1f}s")
        broker.check_alive()


if __name__ == "__main__":
    common.main(test, __doc__)
