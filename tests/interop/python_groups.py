"""python_groups.py: consumer groups of third-party clients against the
group coordinator of `kfk broker --brokers 3`.

- confluent-kafka (librdkafka): three consumers in one group split a
  6-partition topic and together read every record exactly once,
  committing each record's offset synchronously; after they close, a new
  consumer in the group resumes from the committed offsets and reads only
  what was produced since.
- confluent-kafka with partition.assignment.strategy=cooperative-sticky: a
  second member joins and later leaves while the first keeps consuming;
  together they read everything and commit the end offsets.
- confluent-kafka static membership (group.instance.id): one of two static
  members restarts within its session timeout; it gets its partitions back
  and the other member sees no rebalance.
- confluent-kafka coordinator failover: the group's coordinator is moved
  (`coordinator GROUP ID` on the broker's stdin) and then stopped while two
  members consume; they follow it and commit the final offsets.
- kafka-python KafkaConsumer: group consumption with commits, checked with
  committed().
- A restart of `kfk broker` with a data dir: the group resumes from its
  committed offsets.
- Admin: kafka-python's KafkaAdminClient list_consumer_groups /
  describe_consumer_groups / list_consumer_group_offsets /
  delete_consumer_groups, and confluent-kafka's AdminClient.list_groups.

Session timeouts are short (the broker is started with
group.min.session.timeout.ms=1000) and group.initial.rebalance.delay.ms is
the broker's default here, 0, so every group forms at once.
"""

import threading
import time

import common
from common import check, fail, log

PARTITIONS = 6
COUNT = 600

CK_COMMON = {
    "session.timeout.ms": 6000,
    "heartbeat.interval.ms": 300,
    "auto.offset.reset": "earliest",
    "enable.auto.commit": False,
    "topic.metadata.refresh.interval.ms": 2000,
    "fetch.wait.max.ms": 100,
}


def produce(ck, bootstrap, topic, start, count):
    p = ck.Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(start, start + count):
        p.produce(topic, key=str(i).encode(), value=str(i).encode())
    left = p.flush(30)
    check(left == 0, f"producer: {left} records not delivered")


def end_offsets(ck, bootstrap, topic):
    c = ck.Consumer({"bootstrap.servers": bootstrap, "group.id": "interop-watermarks"})
    try:
        return {p: c.get_watermark_offsets(ck.TopicPartition(topic, p), timeout=10)[1]
                for p in range(PARTITIONS)}
    finally:
        c.close()


class Member(threading.Thread):
    """A confluent-kafka consumer in a group, polling on its own thread and
    committing every record synchronously before the next poll."""

    def __init__(self, ck, bootstrap, group, topic, name, extra=None, sink=None):
        super().__init__(daemon=True, name=name)
        conf = dict(CK_COMMON, **{"bootstrap.servers": bootstrap, "group.id": group,
                                  "client.id": name})
        conf.update(extra or {})
        self.ck = ck
        self.c = ck.Consumer(conf)
        self.topic = topic
        self.name_ = name
        self.got = []
        self.sink = sink
        self.assigned = set()
        self.assign_calls = 0
        self.revoke_calls = 0
        self.error = None
        self.stop_evt = threading.Event()
        self.closed = False
        self.commit_errors = []
        self.retry_commits = False

    def on_assign(self, c, parts):
        self.assign_calls += 1
        self.assigned |= {p.partition for p in parts}

    def on_revoke(self, c, parts):
        self.revoke_calls += 1
        self.assigned -= {p.partition for p in parts}

    def run(self):
        try:
            self.c.subscribe([self.topic], on_assign=self.on_assign, on_revoke=self.on_revoke)
            while not self.stop_evt.is_set():
                m = self.c.poll(0.1)
                if m is None:
                    continue
                if m.error():
                    if m.error().code() == self.ck.KafkaError._PARTITION_EOF:
                        continue
                    raise RuntimeError(f"{self.name_}: consumer error {m.error()}")
                self.got.append((m.partition(), m.offset(), int(m.value())))
                if self.sink is not None:
                    self.sink.append(int(m.value()))
                self.commit(m)
        except Exception as e:  # reported by stop()
            self.error = e

    def commit(self, m):
        """Commits m's offset; while the coordinator moves, retries. A
        rebalance fences the commit: the partition's next owner reads the
        record again (at least once), which tests that expect exactly once
        would notice."""
        KE = self.ck.KafkaError
        for _ in range(100):
            try:
                self.c.commit(message=m, asynchronous=False)
                return
            except self.ck.KafkaException as e:
                code = e.args[0].code()
                self.commit_errors.append(code)
                if code in (KE.REBALANCE_IN_PROGRESS, KE.ILLEGAL_GENERATION,
                            KE.UNKNOWN_MEMBER_ID, KE._NO_OFFSET, KE._ASSIGNMENT_LOST):
                    return
                if not self.retry_commits:
                    raise
                time.sleep(0.1)
        raise RuntimeError(f"{self.name_}: commit kept failing: {self.commit_errors[-5:]}")

    def stop(self, close=True):
        self.stop_evt.set()
        self.join(30)
        check(not self.is_alive(), f"{self.name_}: poll thread did not stop")
        if close and not self.closed:
            self.c.close()
            self.closed = True
        if self.error:
            fail(f"{self.name_}: {self.error!r}")


def wait_split(members, what, timeout=30):
    """Waits until the members' assignments partition the topic."""
    def split():
        sets = [m.assigned for m in members]
        return (all(sets) and sum(len(s) for s in sets) == PARTITIONS
                and set().union(*sets) == set(range(PARTITIONS)))
    common.wait_until(split, timeout, what)


def test_split_and_resume(ck, b, topic):
    group = common.unique_topic("grp-split")
    sink = []
    members = [Member(ck, b.bootstrap, group, topic, f"split-{i}", sink=sink) for i in range(3)]
    for m in members:
        m.start()
    wait_split(members, "three confluent consumers to split 6 partitions")
    produce(ck, b.bootstrap, topic, 0, COUNT)
    common.wait_until(lambda: len(sink) >= COUNT, 60, f"{COUNT} records consumed by the group")
    time.sleep(0.5)  # anything more would be a duplicate
    for m in members:
        m.stop(close=False)
    check(sorted(sink) == list(range(COUNT)),
          f"the group read {len(sink)} records, {len(set(sink))} distinct; want each of "
          f"{COUNT} exactly once")
    for m in members:
        check(m.got, f"{m.name_} read nothing: the partitions were not split")
    ends = end_offsets(ck, b.bootstrap, topic)
    committed = members[0].c.committed([ck.TopicPartition(topic, p) for p in range(PARTITIONS)],
                                       timeout=10)
    for tp in committed:
        check(tp.offset == ends[tp.partition],
              f"committed offset of partition {tp.partition} is {tp.offset}, "
              f"end offset {ends[tp.partition]}")
    for m in members:
        m.c.close()
        m.closed = True
    log(f"split: {[len(m.got) for m in members]} records per member, offsets committed")

    # A new member resumes from the committed offsets: only new records.
    produce(ck, b.bootstrap, topic, COUNT, 30)
    sink2 = []
    late = Member(ck, b.bootstrap, group, topic, "split-late", sink=sink2)
    late.start()
    common.wait_until(lambda: len(sink2) >= 30, 30, "the late member to read the 30 new records")
    time.sleep(0.3)
    late.stop()
    check(sorted(sink2) == list(range(COUNT, COUNT + 30)),
          f"the late member read {sorted(sink2)[:10]}...; want only {COUNT}..{COUNT + 29}")
    return group


def test_cooperative(ck, b, topic):
    group = common.unique_topic("grp-coop")
    sink = []
    extra = {"partition.assignment.strategy": "cooperative-sticky"}
    first = Member(ck, b.bootstrap, group, topic, "coop-1", extra, sink)
    first.start()
    common.wait_until(lambda: len(first.assigned) == PARTITIONS, 30,
                      "the first cooperative member to own every partition")
    # A second member joins while the first is consuming.
    second = Member(ck, b.bootstrap, group, topic, "coop-2", extra, sink)
    second.start()
    wait_split([first, second], "the cooperative group to split between two members")
    check(first.assigned, "the first member lost everything")
    n = COUNT + 30
    common.wait_until(lambda: len(set(sink)) >= n, 60, f"{n} records read by the cooperative group")
    # The second leaves; the first takes its partitions back.
    second.stop()
    common.wait_until(lambda: len(first.assigned) == PARTITIONS, 30,
                      "the first member to get every partition back after the second left")
    produce(ck, b.bootstrap, topic, n, 30)
    common.wait_until(lambda: len(set(sink)) >= n + 30, 30, "records produced after the leave")
    first.stop(close=False)
    check(set(sink) == set(range(n + 30)), "the cooperative group missed records")
    ends = end_offsets(ck, b.bootstrap, topic)
    committed = first.c.committed([ck.TopicPartition(topic, p) for p in range(PARTITIONS)],
                                  timeout=10)
    for tp in committed:
        check(tp.offset == ends[tp.partition],
              f"cooperative: committed {tp.offset} != end {ends[tp.partition]} "
              f"for partition {tp.partition}")
    first.c.close()
    first.closed = True
    log(f"cooperative: {len(sink)} reads, {len(sink) - len(set(sink))} redeliveries, "
        f"first member assigned {first.assign_calls}x, revoked {first.revoke_calls}x")


def test_static(ck, b, topic):
    group = common.unique_topic("grp-static")
    def member(i):
        return Member(ck, b.bootstrap, group, topic, f"static-{i}",
                      {"group.instance.id": f"static-{i}", "session.timeout.ms": 6000})
    a, s2 = member(1), member(2)
    a.start()
    s2.start()
    wait_split([a, s2], "two static members to split the topic")
    before_a = set(a.assigned)
    assigns, revokes = s2.assign_calls, s2.revoke_calls
    # Restart member 1: a static member's close sends no LeaveGroup, so the
    # coordinator keeps its place until the session timeout.
    a.stop()
    a2 = member(1)
    a2.start()
    common.wait_until(lambda: a2.assigned == before_a, 20,
                      f"the restarted static member to get {sorted(before_a)} back")
    time.sleep(1.0)
    check(s2.assign_calls == assigns and s2.revoke_calls == revokes,
          f"the other static member saw a rebalance (assign {assigns}->{s2.assign_calls}, "
          f"revoke {revokes}->{s2.revoke_calls})")
    a2.stop()
    s2.stop()
    log("static: restarted member got its partitions back without a rebalance")


def java_hash(s):
    """Java's String.hashCode (ASCII ids)."""
    h = 0
    for ch in s:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h - (1 << 32) if h >= (1 << 31) else h


def coordinator_of(group, brokers=3):
    """The broker kfk broker picks for a group while all brokers run:
    abs(hashCode) % 50 (a __consumer_offsets partition), then modulo the
    broker count."""
    h = java_hash(group)
    return (0 if h == -(1 << 31) else abs(h)) % 50 % brokers + 1


def test_coordinator_failover(ck, b, topic):
    """Two members keep consuming while the group's coordinator is moved
    (`coordinator G ID`) and then stopped (`stop ID`); they find the new
    one, and every record is read with the final offsets committed."""
    group = common.unique_topic("grp-failover")
    first = coordinator_of(group)
    moved = first % 3 + 1
    sink = []
    members = [Member(ck, b.bootstrap, group, topic, f"failover-{i}", sink=sink)
               for i in range(2)]
    for m in members:
        m.retry_commits = True
        m.start()
    wait_split(members, "two members to split the topic")
    base = COUNT + 60  # records already in the topic
    common.wait_until(lambda: len(set(sink)) >= base, 60, "the existing records to be read")
    b.command(f"coordinator {group} {moved}")
    # The prediction above must match the broker, or nothing moved.
    check(b.log_level < 5 or
          f"group {group}: coordinator {first} -> {moved}" in b.stderr_text(),
          f"the broker did not log moving {group} from broker {first} to {moved}")
    produce(ck, b.bootstrap, topic, base, 60)
    common.wait_until(lambda: len(set(sink)) >= base + 60, 60,
                      "records produced after the coordinator moved")
    b.command(f"stop {moved}")
    produce(ck, b.bootstrap, topic, base + 60, 60)
    common.wait_until(lambda: len(set(sink)) >= base + 120, 60,
                      "records produced after the coordinator stopped")
    total = base + 120
    ends = end_offsets(ck, b.bootstrap, topic)
    check(sum(ends.values()) == total, f"end offsets {ends} do not add up to {total}")

    def committed_all():
        got = members[0].c.committed([ck.TopicPartition(topic, p) for p in range(PARTITIONS)],
                                     timeout=10)
        return all(tp.offset == ends[tp.partition] for tp in got)
    common.wait_until(committed_all, 30, "the final offsets to be committed")
    for m in members:
        m.stop()
    check(set(sink) == set(range(total)), "records were lost across the coordinator moves")
    errs = sorted({e for m in members for e in m.commit_errors})
    log(f"failover: coordinator {first} -> {moved} -> stopped; {len(sink)} reads of {total} "
        f"records; commit errors seen: {errs}")
    b.command(f"start {moved}")


def test_kafka_python(kafka, ck, b, topic):
    group = common.unique_topic("grp-kp")
    c = kafka.KafkaConsumer(topic, bootstrap_servers=b.bootstrap, group_id=group,
                            auto_offset_reset="earliest", enable_auto_commit=False,
                            session_timeout_ms=6000, heartbeat_interval_ms=500,
                            consumer_timeout_ms=200)
    ends = end_offsets(ck, b.bootstrap, topic)
    want = sum(ends.values())
    got = []
    deadline = time.monotonic() + 60
    while len(got) < want and time.monotonic() < deadline:
        for m in c:
            got.append(int(m.value))
        c.commit()
    check(sorted(got) == sorted(set(got)) and len(got) == want,
          f"kafka-python read {len(got)} records ({len(set(got))} distinct), want {want}")
    tps = [kafka.TopicPartition(topic, p) for p in range(PARTITIONS)]
    for tp in tps:
        check(c.committed(tp) == ends[tp.partition],
              f"kafka-python committed {c.committed(tp)} for {tp}, end {ends[tp.partition]}")
    c.close()
    log(f"kafka-python: {len(got)} records in group {group}, committed")
    return group


def test_admin(kafka, ck, b, topic, groups):
    admin = kafka.KafkaAdminClient(bootstrap_servers=b.bootstrap)
    try:
        listed = {g for g, _ in admin.list_consumer_groups()}
        for g in groups:
            check(g in listed, f"kafka-python list_consumer_groups lacks {g}: {listed}")
        desc = admin.describe_consumer_groups(groups)
        for d in desc:
            check(d.state == "Empty", f"describe {d.group}: state {d.state}, want Empty")
        offs = admin.list_consumer_group_offsets(groups[0])
        check(len(offs) == PARTITIONS and all(o.offset > 0 for o in offs.values()),
              f"list_consumer_group_offsets({groups[0]}): {offs}")
        res = admin.delete_consumer_groups([groups[0]])
        check(all(err.errno == 0 for _, err in res), f"delete_consumer_groups: {res}")
        listed = {g for g, _ in admin.list_consumer_groups()}
        check(groups[0] not in listed, f"{groups[0]} still listed after delete")
    finally:
        admin.close()
    ca = ck.admin.AdminClient({"bootstrap.servers": b.bootstrap})
    names = {g.id for g in ca.list_groups(timeout=10)}
    check(groups[1] in names, f"confluent AdminClient.list_groups lacks {groups[1]}: {names}")
    log(f"admin: listed, described, fetched offsets, deleted {groups[0]}")


def test_restart(ck, kfk):
    """Committed offsets and the group survive a restart of `kfk broker`
    with a data dir: a consumer of the group resumes where it committed."""
    import tempfile, shutil
    data = tempfile.mkdtemp(prefix="kfk-interop-groups-")
    try:
        group = common.unique_topic("grp-restart")
        cfg = [f"data.dir={data}", "group.min.session.timeout.ms=1000"]
        with common.Broker(kfk, brokers=3, configs=cfg) as b:
            topic = common.unique_topic("restart")
            b.create_topic(topic, PARTITIONS)
            produce(ck, b.bootstrap, topic, 0, 120)
            sink = []
            m = Member(ck, b.bootstrap, group, topic, "restart-1", sink=sink)
            m.start()
            common.wait_until(lambda: len(sink) >= 120, 30, "120 records before the restart")
            m.stop()
            produce(ck, b.bootstrap, topic, 120, 30)
        with common.Broker(kfk, brokers=3, configs=cfg) as b:
            sink = []
            m = Member(ck, b.bootstrap, group, topic, "restart-2", sink=sink)
            m.start()
            common.wait_until(lambda: len(sink) >= 30, 30, "the 30 records produced before the restart")
            time.sleep(0.3)
            m.stop()
            check(sorted(sink) == list(range(120, 150)),
                  f"after the restart the group read {sorted(sink)[:8]}...; want 120..149 only")
        log("restart: the group resumed from its committed offsets")
    finally:
        shutil.rmtree(data, ignore_errors=True)


def test(args):
    ck = common.require_module("confluent_kafka", "python3-confluent-kafka")
    common.require_module("confluent_kafka.admin", "python3-confluent-kafka")
    kafka = common.require_module("kafka", "python3-kafka")
    with common.Broker(args.kfk, brokers=3,
                       configs=["group.min.session.timeout.ms=1000"]) as b:
        topic = common.unique_topic("groups")
        b.create_topic(topic, PARTITIONS)
        g1 = test_split_and_resume(ck, b, topic)
        test_cooperative(ck, b, topic)
        test_static(ck, b, topic)
        test_coordinator_failover(ck, b, topic)
        g2 = test_kafka_python(kafka, ck, b, topic)
        test_admin(kafka, ck, b, topic, [g1, g2])
        b.check_alive()
    test_restart(ck, args.kfk)


if __name__ == "__main__":
    common.main(test, __doc__)
