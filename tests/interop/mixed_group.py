"""mixed_group.py: `kfk consume -G` processes and third-party consumers in
one consumer group on `kfk broker --brokers 3`.

For each rebalance protocol -- range (eager) and cooperative-sticky
(KIP-429) -- two `kfk consume -G` processes and two confluent-kafka
(librdkafka) consumers join one group on a 6-partition topic:

1. Every member gets partitions (the kfk processes say theirs on stderr,
   "kfk consume: assigned T [0], ..."; librdkafka's come from its
   callbacks), and the assignments split the topic with no overlap.
2. Only then are 600 records produced. Together the members read each
   exactly once, each member only from partitions it was assigned.
3. One kfk process gets SIGTERM: it closes, which commits its positions
   and leaves. The others take its partitions; 300 more records are
   produced once they have, and again each of the 900 is read exactly
   once overall -- a partition's new owner starts where the old one
   committed.
4. A third kfk process joins while 600 more records are being read. Now a
   rebalance happens mid-way, so the guarantee is at least once: every
   record is read, and (cooperative) any record read twice is in a
   partition that moved to the newcomer; with the eager protocol every
   partition moves, so only "at least once" is checked.
5. Everyone stops; the group's committed offsets are the end offsets.

Why exactly once can be asserted in 2 and 3: no rebalance happens while
records are in flight (records are produced only after the group is
stable), each librdkafka member commits a record synchronously before
counting it, and a kfk member commits its positions before it gives
partitions up (in the revoke, with enable.auto.commit, and in close).

Then a kafka-python consumer and a `kfk consume -G` process (range) split
another group's partitions and read each record exactly once.
"""

import re
import signal
import subprocess
import sys
import threading
import time

import common
from common import check, fail, log

PARTITIONS = 6

CK_COMMON = {
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 300,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
    "topic.metadata.refresh.interval.ms": 2000,
    "fetch.wait.max.ms": 100,
}

ASSIGN_RE = re.compile(r"^kfk consume: (assigned|revoked|lost)(.*)$")
PART_RE = re.compile(r"(\S+) \[(\d+)\]")


class Reads:
    """Every read of every member: (value, partition, member name)."""

    def __init__(self):
        self.mu = threading.Lock()
        self.v = []

    def add(self, value, partition, who):
        with self.mu:
            self.v.append((value, partition, who))

    def snapshot(self):
        with self.mu:
            return list(self.v)

    def distinct(self):
        with self.mu:
            return len({x[0] for x in self.v})


class KfkMember:
    """A `kfk consume -G` process; its stdout lines are "partition value",
    its stderr says what it was assigned."""

    def __init__(self, kfk, bootstrap, group, topic, name, strategy, reads):
        self.name = name
        self.reads = reads
        self.assigned = set()
        self.ever = set()
        self.got = []
        self.mu = threading.Lock()
        self.err_lines = []
        argv = [kfk, "consume", "-b", bootstrap, "-G", group, "-t", topic,
                "-o", "beginning", "-u", "-f", "%p %s\\n",
                "-X", f"client.id={name}",
                "-X", f"partition.assignment.strategy={strategy}",
                "-X", "session.timeout.ms=6000", "-X", "heartbeat.interval.ms=300",
                "-X", "auto.commit.interval.ms=500"]
        log(f"start {name}: {' '.join(argv)}")
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     preexec_fn=common._die_with_parent)
        self.t_out = threading.Thread(target=self._out, daemon=True)
        self.t_err = threading.Thread(target=self._err, daemon=True)
        self.t_out.start()
        self.t_err.start()

    def _out(self):
        for raw in iter(self.proc.stdout.readline, b""):
            p, v = raw.decode().split()
            with self.mu:
                self.got.append((int(p), int(v)))
            self.reads.add(int(v), int(p), self.name)

    def _err(self):
        for raw in iter(self.proc.stderr.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            print(f"[{self.name}] {line}", file=sys.stderr, flush=True)
            m = ASSIGN_RE.match(line)
            with self.mu:
                self.err_lines.append(line)
                if m:
                    parts = {int(p) for _, p in PART_RE.findall(m.group(2))}
                    if m.group(1) == "assigned":
                        self.assigned |= parts
                        self.ever |= parts
                    else:
                        self.assigned -= parts

    def current(self):
        with self.mu:
            return set(self.assigned)

    def stop(self, timeout=60):
        """SIGTERM; it must exit 0 after closing (commit, leave)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            fail(f"{self.name} did not exit within {timeout}s of SIGTERM")
        self.t_out.join(10)
        self.t_err.join(10)
        check(self.proc.returncode == 0,
              f"{self.name} exited {self.proc.returncode} on SIGTERM; stderr ends:\n"
              + "\n".join(self.err_lines[-20:]))
        check(any("terminated: stopping" in l for l in self.err_lines),
              f"{self.name}: no clean stop on stderr")

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class CkMember(threading.Thread):
    """A confluent-kafka consumer that commits each record synchronously,
    then counts it."""

    def __init__(self, ck, bootstrap, group, topic, name, strategy, reads):
        super().__init__(daemon=True, name=name)
        conf = dict(CK_COMMON, **{"bootstrap.servers": bootstrap, "group.id": group,
                                  "client.id": name,
                                  "partition.assignment.strategy": strategy})
        self.ck = ck
        self.c = ck.Consumer(conf)
        self.topic = topic
        self.reads = reads
        self.assigned = set()
        self.ever = set()
        self.got = []
        self.mu = threading.Lock()
        self.stop_evt = threading.Event()
        self.error = None
        self.commit_errors = []

    def on_assign(self, c, parts):
        with self.mu:
            self.assigned |= {p.partition for p in parts}
            self.ever |= {p.partition for p in parts}

    def on_revoke(self, c, parts):
        with self.mu:
            self.assigned -= {p.partition for p in parts}

    def current(self):
        with self.mu:
            return set(self.assigned)

    def run(self):
        KE = self.ck.KafkaError
        try:
            self.c.subscribe([self.topic], on_assign=self.on_assign, on_revoke=self.on_revoke,
                             on_lost=self.on_revoke)
            while not self.stop_evt.is_set():
                m = self.c.poll(0.1)
                if m is None:
                    continue
                if m.error():
                    if m.error().code() == KE._PARTITION_EOF:
                        continue
                    raise RuntimeError(f"{self.name}: consumer error {m.error()}")
                try:
                    self.c.commit(message=m, asynchronous=False)
                except self.ck.KafkaException as e:
                    # fenced by a rebalance: the next owner reads it again
                    self.commit_errors.append(e.args[0].code())
                with self.mu:
                    self.got.append((m.partition(), int(m.value())))
                self.reads.add(int(m.value()), m.partition(), self.name)
        except Exception as e:  # reported by stop()
            self.error = e

    def stop(self):
        self.stop_evt.set()
        self.join(30)
        check(not self.is_alive(), f"{self.name}: poll thread did not stop")
        self.c.close()
        if self.error:
            fail(f"{self.name}: {self.error!r}")


def produce(ck, bootstrap, topic, start, count):
    p = ck.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(start, start + count):
        p.produce(topic, key=f"key-{i}".encode(), value=str(i).encode())
    left = p.flush(30)
    check(left == 0, f"producer: {left} records not delivered")


def wait_split(members, what, timeout=45):
    """Waits until every member has partitions and together they hold each
    partition exactly once."""
    def split():
        sets = [m.current() for m in members]
        return (all(sets) and sum(len(s) for s in sets) == PARTITIONS
                and set().union(*sets) == set(range(PARTITIONS)))
    common.wait_until(split, timeout, what)
    log(what + ": " + ", ".join(f"{m.name} {sorted(m.current())}" for m in members))


def check_exactly_once(reads, n, what):
    vals = sorted(v for v, _, _ in reads.snapshot())
    if vals != list(range(n)):
        seen = {}
        for v, p, who in reads.snapshot():
            seen.setdefault(v, []).append((p, who))
        dups = {v: w for v, w in seen.items() if len(w) > 1}
        missing = sorted(set(range(n)) - set(seen))
        fail(f"{what}: {len(vals)} reads of {n} records; {len(dups)} read twice "
             f"(e.g. {list(dups.items())[:3]}), {len(missing)} never (e.g. {missing[:5]})")


def check_own_partitions(members):
    for m in members:
        with m.mu:
            parts = {p for p, _ in m.got}
            ever = set(m.ever)
            n = len(m.got)
        check(n > 0, f"{m.name} read nothing: the partitions were not split")
        check(parts <= ever, f"{m.name} read partitions {sorted(parts - ever)} it was never "
                             f"assigned (assigned {sorted(ever)})")


def end_offsets(ck, bootstrap, topic):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "mixed-watermarks"})
    try:
        return {p: c.get_watermark_offsets(ck.TopicPartition(topic, p), timeout=10)[1]
                for p in range(PARTITIONS)}
    finally:
        c.close()


def check_committed(ck, bootstrap, group, topic):
    ends = end_offsets(ck, bootstrap, topic)
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        got = c.committed([ck.TopicPartition(topic, p) for p in range(PARTITIONS)], timeout=10)
    finally:
        c.close()
    for tp in got:
        check(tp.offset == ends[tp.partition],
              f"group {group}: committed offset of partition {tp.partition} is {tp.offset}, "
              f"end offset {ends[tp.partition]}")


def run_protocol(kfk, ck, b, strategy):
    topic = common.unique_topic(f"mixed-{strategy}")
    group = common.unique_topic(f"mixed-grp-{strategy}")
    b.create_topic(topic, PARTITIONS)
    reads = Reads()
    kfks, cks = [], []
    try:
        kfks.append(KfkMember(kfk, b.bootstrap, group, topic, "kfk-1", strategy, reads))
        cks.append(CkMember(ck, b.bootstrap, group, topic, "rdk-1", strategy, reads))
        cks[0].start()
        kfks.append(KfkMember(kfk, b.bootstrap, group, topic, "kfk-2", strategy, reads))
        cks.append(CkMember(ck, b.bootstrap, group, topic, "rdk-2", strategy, reads))
        cks[1].start()
        members = kfks + cks
        wait_split(members, f"{strategy}: two kfk and two librdkafka members to split "
                            f"{PARTITIONS} partitions")

        # 2. exactly once in a stable group
        produce(ck, b.bootstrap, topic, 0, 600)
        common.wait_until(lambda: reads.distinct() >= 600, 60, "600 records read by the group")
        time.sleep(0.5)  # a duplicate would show by now
        check_exactly_once(reads, 600, f"{strategy}: stable group")
        check_own_partitions(members)
        log(f"{strategy}: 600 records once each: "
            + ", ".join(f"{m.name} {len(m.got)}" for m in members))

        # 3. a kfk member leaves; the others resume from its commits
        kfks[0].stop()
        rest = members[1:]
        wait_split(rest, f"{strategy}: the three others to take over kfk-1's partitions")
        produce(ck, b.bootstrap, topic, 600, 300)
        common.wait_until(lambda: reads.distinct() >= 900, 60, "900 records read")
        time.sleep(0.5)
        check_exactly_once(reads, 900, f"{strategy}: after kfk-1 left")
        log(f"{strategy}: kfk-1 left; 900 records once each")

        # 4. a newcomer while records flow: at least once
        before = {m.name: m.current() for m in rest}
        produce(ck, b.bootstrap, topic, 900, 600)
        kfks.append(KfkMember(kfk, b.bootstrap, group, topic, "kfk-3", strategy, reads))
        members = rest + [kfks[2]]
        wait_split(members, f"{strategy}: kfk-3 to join the group")
        common.wait_until(lambda: reads.distinct() >= 1500, 60, "1500 records read")
        time.sleep(0.5)
        snap = reads.snapshot()
        check({v for v, _, _ in snap} == set(range(1500)),
              f"{strategy}: after kfk-3 joined, records were lost")
        counts = {}
        for v, p, _ in snap:
            counts.setdefault(v, set()).add(p)
        dup_vals = [v for v in counts if sum(1 for x in snap if x[0] == v) > 1]
        dup_parts = {p for v in dup_vals for p in counts[v]}
        if strategy == "cooperative-sticky":
            moved = set(kfks[2].ever)
            check(dup_parts <= moved,
                  f"cooperative: records read twice in partitions {sorted(dup_parts - moved)} "
                  f"that did not move to kfk-3 (it got {sorted(moved)}; before: {before})")
        log(f"{strategy}: kfk-3 joined mid-way: {len(dup_vals)} records read twice "
            f"(partitions {sorted(dup_parts)}), none lost")

        # 5. everyone stops; the commits are the end offsets
        for m in kfks[1:]:
            m.stop()
        for m in cks:
            m.stop()
        errs = sorted({e for m in cks for e in m.commit_errors})
        log(f"{strategy}: librdkafka commit errors seen: {errs}")
        check_committed(ck, b.bootstrap, group, topic)
        log(f"{strategy}: committed offsets are the end offsets")
    finally:
        for m in kfks:
            m.kill()
        for m in cks:
            m.stop_evt.set()


class KpMember(threading.Thread):
    """A kafka-python consumer: polls, commits synchronously, counts."""

    def __init__(self, kafka, bootstrap, group, topic, reads):
        super().__init__(daemon=True, name="kafka-python")
        self.name_ = "kafka-python"
        self.kafka = kafka
        self.c = kafka.KafkaConsumer(topic, bootstrap_servers=bootstrap, group_id=group,
                                     client_id="kp-1", auto_offset_reset="earliest",
                                     enable_auto_commit=False, session_timeout_ms=6000,
                                     heartbeat_interval_ms=300)
        self.reads = reads
        self.mu = threading.Lock()
        self.assigned = set()
        self.ever = set()
        self.got = []
        self.stop_evt = threading.Event()
        self.error = None

    def current(self):
        with self.mu:
            return set(self.assigned)

    def run(self):
        try:
            while not self.stop_evt.is_set():
                batch = self.c.poll(timeout_ms=100)
                parts = {tp.partition for tp in self.c.assignment()}
                with self.mu:
                    self.assigned = parts
                    self.ever |= parts
                recs = [r for rs in batch.values() for r in rs]
                if recs:
                    self.c.commit()
                for r in recs:
                    with self.mu:
                        self.got.append((r.partition, int(r.value)))
                    self.reads.add(int(r.value), r.partition, self.name_)
        except Exception as e:
            self.error = e

    def stop(self):
        self.stop_evt.set()
        self.join(30)
        self.c.close()
        if self.error:
            fail(f"kafka-python: {self.error!r}")


def run_kafka_python(kfk, ck, kafka, b):
    topic = common.unique_topic("mixed-kp")
    group = common.unique_topic("mixed-grp-kp")
    b.create_topic(topic, PARTITIONS)
    reads = Reads()
    km = KfkMember(kfk, b.bootstrap, group, topic, "kfk-kp", "range", reads)
    kp = KpMember(kafka, b.bootstrap, group, topic, reads)
    kp.name = kp.name_
    try:
        kp.start()
        wait_split([km, kp], "a kfk and a kafka-python member to split the partitions")
        produce(ck, b.bootstrap, topic, 0, 300)
        common.wait_until(lambda: reads.distinct() >= 300, 60, "300 records read")
        time.sleep(0.5)
        check_exactly_once(reads, 300, "kfk + kafka-python")
        check_own_partitions([km, kp])
        log(f"kafka-python: 300 records once each: kfk {len(km.got)}, kafka-python "
            f"{len(kp.got)}")
        km.stop()
        kp.stop()
    finally:
        km.kill()
        kp.stop_evt.set()


def test(args):
    ck = common.require_module("confluent_kafka", "python3-confluent-kafka")
    kafka = common.require_module("kafka", "python3-kafka")
    with common.Broker(args.kfk, brokers=3,
                       configs=["group.min.session.timeout.ms=1000"]) as b:
        run_protocol(args.kfk, ck, b, "range")
        run_protocol(args.kfk, ck, b, "cooperative-sticky")
        run_kafka_python(args.kfk, ck, kafka, b)
        b.check_alive()


if __name__ == "__main__":
    common.main(test, __doc__)
