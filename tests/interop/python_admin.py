"""python_admin.py: the admin clients of kafka-python and confluent-kafka
(librdkafka) manage topics on `kfk broker` (3 brokers) and see the results.

kafka-python's KafkaAdminClient: create topics with partition counts,
replication factors and configs (and validate_only, duplicate and invalid
requests, which must fail with Kafka's error codes), list them, describe
them (Metadata: partitions, leaders, replicas, ISR; DescribeConfigs: topic
and broker resources, all and named configs), alter configs (AlterConfigs
replaces a topic's whole config set), add partitions, delete topics.

confluent-kafka's AdminClient: create, list (Metadata), describe_configs,
create_partitions, alter_configs and delete, the same checks.
"""

import time

import common
from common import check, fail, log

BROKERS = 3
TIMEOUT_MS = 15000


# ---- kafka-python -------------------------------------------------------------

def kp_describe_configs(admin, resource):
    """{name: value} for one ConfigResource, checking the per-resource error."""
    resps = admin.describe_configs([resource])
    check(len(resps) == 1, f"describe_configs returned {len(resps)} responses, want 1")
    obj = resps[0].to_object()
    res = obj["resources"]
    check(len(res) == 1, f"describe_configs({resource.name}): {len(res)} resources: {obj}")
    r = res[0]
    check(r["error_code"] == 0,
          f"describe_configs({resource.name}): error {r['error_code']} {r.get('error_message')}")
    check(r["resource_name"] == resource.name,
          f"describe_configs answered for {r['resource_name']!r}, asked {resource.name!r}")
    return {e["config_names"]: e["config_value"] for e in r["config_entries"]}


def kp_topic(admin, name):
    tops = admin.describe_topics([name])
    check(len(tops) == 1 and tops[0]["topic"] == name,
          f"describe_topics([{name}]) returned {[t.get('topic') for t in tops]}")
    return tops[0]


def kp_check_layout(topic, partitions, rf, broker_ids):
    name = topic["topic"]
    check(topic["error_code"] == 0, f"describe_topics {name}: error {topic['error_code']}")
    parts = sorted(topic["partitions"], key=lambda p: p["partition"])
    check([p["partition"] for p in parts] == list(range(partitions)),
          f"{name}: partitions {[p['partition'] for p in parts]}, want 0..{partitions - 1}")
    for p in parts:
        where = f"{name}[{p['partition']}]"
        check(p["error_code"] == 0, f"{where}: error {p['error_code']}")
        check(len(p["replicas"]) == rf and len(set(p["replicas"])) == rf,
              f"{where}: replicas {p['replicas']}, want {rf} distinct")
        check(set(p["replicas"]) <= broker_ids,
              f"{where}: replicas {p['replicas']} not among brokers {broker_ids}")
        check(p["leader"] in p["replicas"], f"{where}: leader {p['leader']} not a replica")
        check(set(p["isr"]) <= set(p["replicas"]) and p["leader"] in p["isr"],
              f"{where}: isr {p['isr']} vs replicas {p['replicas']}, leader {p['leader']}")


def expect_error(what, err_cls, fn):
    try:
        fn()
    except err_cls as e:
        log(f"{what}: failed as expected: {type(e).__name__}")
        return
    except Exception as e:
        fail(f"{what}: want {err_cls.__name__}, got {type(e).__name__}: {e}")
    fail(f"{what}: succeeded, want {err_cls.__name__}")


def test_kafka_python(broker):
    common.require_module("kafka", "python3-kafka")
    from kafka.admin import (ConfigResource, ConfigResourceType, KafkaAdminClient,
                             NewPartitions, NewTopic)
    from kafka import errors as kerr

    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap, client_id="interop-admin",
                             request_timeout_ms=20000, api_version_auto_timeout_ms=10000)
    try:
        cluster = admin.describe_cluster()
        broker_ids = {b["node_id"] for b in cluster["brokers"]}
        check(broker_ids == set(range(1, BROKERS + 1)),
              f"describe_cluster brokers {sorted(broker_ids)}, want 1..{BROKERS}")
        check(cluster["controller_id"] in broker_ids,
              f"controller_id {cluster['controller_id']} is not a broker")

        t1 = common.unique_topic("kp-admin-a")
        t2 = common.unique_topic("kp-admin-b")
        tv = common.unique_topic("kp-admin-validate")
        configs = {"retention.ms": "3600000", "cleanup.policy": "compact",
                   "max.message.bytes": "2000000"}

        # validate_only creates nothing.
        admin.create_topics([NewTopic(tv, 2, 1)], timeout_ms=TIMEOUT_MS, validate_only=True)
        check(tv not in admin.list_topics(), f"validate_only create_topics created {tv}")

        resp = admin.create_topics([NewTopic(t1, 3, 2, topic_configs=configs),
                                    NewTopic(t2, 1, 3)], timeout_ms=TIMEOUT_MS)
        errs = {t: e for t, e, *_ in resp.topic_errors}
        check(errs == {t1: 0, t2: 0}, f"create_topics errors {errs}")
        topics = admin.list_topics()
        check(t1 in topics and t2 in topics, f"list_topics {topics} lacks {t1} or {t2}")

        kp_check_layout(kp_topic(admin, t1), 3, 2, broker_ids)
        kp_check_layout(kp_topic(admin, t2), 1, 3, broker_ids)

        expect_error("create_topics of an existing topic", kerr.TopicAlreadyExistsError,
                     lambda: admin.create_topics([NewTopic(t1, 3, 1)], timeout_ms=TIMEOUT_MS))
        expect_error(f"create_topics with replication factor {BROKERS + 1}",
                     kerr.InvalidReplicationFactorError,
                     lambda: admin.create_topics(
                         [NewTopic(common.unique_topic("kp-bad-rf"), 1, BROKERS + 1)],
                         timeout_ms=TIMEOUT_MS))

        # DescribeConfigs: everything, then just one name.
        got = kp_describe_configs(admin, ConfigResource(ConfigResourceType.TOPIC, t1))
        for k, v in configs.items():
            check(got.get(k) == v, f"describe_configs {t1}: {k}={got.get(k)!r}, want {v!r}")
        one = kp_describe_configs(admin, ConfigResource(
            ConfigResourceType.TOPIC, t1, configs={"retention.ms": None}))
        check(one == {"retention.ms": "3600000"},
              f"describe_configs {t1} for retention.ms only returned {one}")
        got2 = kp_describe_configs(admin, ConfigResource(ConfigResourceType.TOPIC, t2))
        check(got2.get("cleanup.policy") == "delete",
              f"describe_configs {t2} (defaults): cleanup.policy={got2.get('cleanup.policy')!r}")
        bconf = kp_describe_configs(admin, ConfigResource(ConfigResourceType.BROKER, "1"))
        check(len(bconf) > 0, "describe_configs of broker 1 returned no configs")

        # AlterConfigs replaces the whole set: cleanup.policy and
        # max.message.bytes fall back to their defaults.
        resp = admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, t1,
                                                   configs={"retention.ms": "7200000"})])
        for r in resp.to_object()["resources"]:
            check(r["error_code"] == 0, f"alter_configs {t1}: error {r}")
        got = kp_describe_configs(admin, ConfigResource(ConfigResourceType.TOPIC, t1))
        check(got.get("retention.ms") == "7200000",
              f"after alter_configs, retention.ms={got.get('retention.ms')!r}, want '7200000'")
        check(got.get("cleanup.policy") == "delete",
              f"after alter_configs (which replaces every config), cleanup.policy="
              f"{got.get('cleanup.policy')!r}, want the default 'delete'")

        # CreatePartitions: 3 -> 5; shrinking is refused.
        resp = admin.create_partitions({t1: NewPartitions(5)}, timeout_ms=TIMEOUT_MS)
        errs = {t: e for t, e, *_ in resp.topic_errors}
        check(errs == {t1: 0}, f"create_partitions errors {errs}")
        common.wait_until(lambda: len(kp_topic(admin, t1)["partitions"]) == 5, 10,
                          f"{t1} to show 5 partitions after create_partitions")
        kp_check_layout(kp_topic(admin, t1), 5, 2, broker_ids)
        expect_error("create_partitions 5 -> 2", kerr.InvalidPartitionsError,
                     lambda: admin.create_partitions({t1: NewPartitions(2)}, timeout_ms=TIMEOUT_MS))

        # DeleteTopics.
        resp = admin.delete_topics([t1, t2], timeout_ms=TIMEOUT_MS)
        errs = {t: e for t, e, *_ in resp.topic_error_codes}
        check(errs == {t1: 0, t2: 0}, f"delete_topics errors {errs}")
        common.wait_until(lambda: not ({t1, t2} & set(admin.list_topics())), 10,
                          f"{t1} and {t2} to leave list_topics after delete_topics")
        expect_error("delete_topics of a deleted topic", kerr.UnknownTopicOrPartitionError,
                     lambda: admin.delete_topics([t1], timeout_ms=TIMEOUT_MS))
        log("kafka-python admin: all steps as expected")
    finally:
        admin.close()


# ---- confluent-kafka ----------------------------------------------------------

def ck_wait(futures, what, timeout=30):
    """Waits for a dict of futures; returns {key: result}; fails on error."""
    out = {}
    for k, f in futures.items():
        try:
            out[k] = f.result(timeout=timeout)
        except Exception as e:
            fail(f"confluent-kafka {what} ({k}): {e}")
    return out


def test_confluent(broker):
    ck = common.require_module("confluent_kafka", "python3-confluent-kafka")
    from confluent_kafka.admin import (AdminClient, ConfigResource, NewPartitions,
                                       NewTopic)
    TOPIC = ConfigResource.Type.TOPIC  # confluent-kafka 1.7 has no ResourceType
    errors = []
    admin = AdminClient({"bootstrap.servers": broker.bootstrap, "broker.address.family": "v4",
                         "client.id": "interop-ck-admin", "error_cb": errors.append})
    t = common.unique_topic("ck-admin")

    ck_wait(admin.create_topics([NewTopic(t, num_partitions=4, replication_factor=2,
                                          config={"retention.ms": "600000"})],
                                operation_timeout=10, request_timeout=20), "create_topics")

    def layout(n):
        md = admin.list_topics(timeout=10)
        check(set(md.brokers) == set(range(1, BROKERS + 1)),
              f"list_topics brokers {sorted(md.brokers)}, want 1..{BROKERS}")
        check(t in md.topics, f"list_topics lacks {t}: {sorted(md.topics)}")
        tm = md.topics[t]
        check(tm.error is None, f"list_topics {t}: {tm.error}")
        check(sorted(tm.partitions) == list(range(n)),
              f"{t}: partitions {sorted(tm.partitions)}, want 0..{n - 1}")
        for p in tm.partitions.values():
            check(p.error is None, f"{t}[{p.id}]: {p.error}")
            check(len(p.replicas) == 2 and p.leader in p.replicas,
                  f"{t}[{p.id}]: leader {p.leader}, replicas {p.replicas}")
            check(set(p.isrs) <= set(p.replicas), f"{t}[{p.id}]: isrs {p.isrs}")
        return tm

    layout(4)

    # A duplicate create fails with TOPIC_ALREADY_EXISTS.
    fs = admin.create_topics([NewTopic(t, 1, 1)], request_timeout=20)
    try:
        fs[t].result(timeout=30)
        fail(f"confluent-kafka create_topics of existing {t} succeeded")
    except ck.KafkaException as e:
        check(e.args[0].code() == ck.KafkaError.TOPIC_ALREADY_EXISTS,
              f"duplicate create_topics: {e}, want TOPIC_ALREADY_EXISTS")

    def describe():
        res = ck_wait(admin.describe_configs([ConfigResource(TOPIC, t)],
                                             request_timeout=20), "describe_configs")
        entries = list(res.values())[0]
        return {name: e.value for name, e in entries.items()}

    got = describe()
    check(got.get("retention.ms") == "600000",
          f"confluent describe_configs {t}: retention.ms={got.get('retention.ms')!r}")

    ck_wait(admin.alter_configs([ConfigResource(TOPIC, t,
                                                set_config={"retention.ms": "1200000"})],
                                request_timeout=20), "alter_configs")
    got = describe()
    check(got.get("retention.ms") == "1200000",
          f"after alter_configs, retention.ms={got.get('retention.ms')!r}, want '1200000'")

    ck_wait(admin.create_partitions([NewPartitions(t, 6)], operation_timeout=10,
                                    request_timeout=20), "create_partitions")
    common.wait_until(lambda: len(admin.list_topics(t, timeout=10).topics[t].partitions) == 6,
                      10, f"{t} to show 6 partitions")
    layout(6)

    ck_wait(admin.delete_topics([t], operation_timeout=10, request_timeout=20), "delete_topics")
    common.wait_until(lambda: t not in admin.list_topics(timeout=10).topics, 10,
                      f"{t} to leave list_topics after delete_topics")
    fatal = [e for e in errors if e.fatal()]
    check(not fatal, f"confluent-kafka admin fatal errors: {fatal}")
    if errors:
        log(f"confluent-kafka admin: client errors (not failing): {errors[:10]}")
    log("confluent-kafka admin: all steps as expected")


def test(args):
    common.require_module("kafka", "python3-kafka")
    common.require_module("confluent_kafka", "python3-confluent-kafka")
    import logging
    import sys
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="[%(name)s] %(levelname)s %(message)s")
    with common.Broker(args.kfk, brokers=BROKERS) as broker:
        t0 = time.monotonic()
        test_kafka_python(broker)
        log(f"kafka-python admin took {time.monotonic() - t0:.1f}s")
        broker.check_alive()
        t0 = time.monotonic()
        test_confluent(broker)
        log(f"confluent-kafka admin took {time.monotonic() - t0:.1f}s")
        broker.check_alive()


if __name__ == "__main__":
    common.main(test, __doc__)
