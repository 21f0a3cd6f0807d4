/*
 * test_broker_admin.c: the reference broker's metadata and administration
 * APIs over real sockets: ApiVersions (incl. the unknown-version fallback),
 * Metadata (auto-creation, unknown topics, leaders after a broker stop),
 * CreateTopics / DeleteTopics / CreatePartitions, configs, DescribeCluster,
 * injected errors, and hostile bytes.
 */
#include <check.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <kfk/broker.h>

#include "../unit/check_main.h"
#include "net/loop.h"
#include "tclient.h"

static kfk_cluster_t *cluster;
static tclient cli;

static void start(const char *const *props)
{
    char err[256];
    cluster = kfk_cluster_new(props, err, sizeof(err));
    ck_assert_msg(cluster, "cluster: %s", err);
    ck_assert_int_eq(tclient_connect(&cli, kfk_cluster_bootstrap(cluster)), 0);
}

static void setup3(void)
{
    static const char *const props[] = {"brokers=3", "num.partitions=4", NULL};
    start(props);
}

static void teardown(void)
{
    tclient_close(&cli);
    kfk_cluster_destroy(cluster);
    cluster = NULL;
}

static kfk__metadata_response *metadata(int16_t v, const char *topic, bool auto_create)
{
    kfk__metadata_request rq;
    kfk__metadata_request_topic t;
    kfk__msg_init(&kfk__desc_metadata_request, &rq);
    kfk__struct_init(&kfk__metadata_request_topic_desc, &t);
    if (topic) {
        t.name = kfk__str_c(topic);
        rq.topics.v = &t;
        rq.topics.n = 1;
    } else {
        rq.topics.n = v == 0 ? 0 : -1;
    }
    rq.allow_auto_topic_creation = v < 4 ? true : auto_create; /* v0-3 always may */
    void *resp;
    ck_assert_int_eq(tclient_call(&cli, 3, v, &rq, &resp), 0);
    return resp;
}

START_TEST(api_versions)
{
    kfk__api_versions_request rq;
    kfk__msg_init(&kfk__desc_api_versions_request, &rq);
    rq.client_software_name = KFK__STR("kfk-test");
    rq.client_software_version = KFK__STR("1.0");
    for (int16_t v = 0; v <= 4; v++) {
        kfk__api_versions_response *r;
        ck_assert_int_eq(tclient_call(&cli, 18, v, &rq, (void **)&r), 0);
        ck_assert_int_eq(r->error_code, 0);
        bool produce = false, fetch = false;
        for (int32_t i = 0; i < r->api_keys.n; i++) {
            produce |= r->api_keys.v[i].api_key == 0 && r->api_keys.v[i].max_version >= 9;
            fetch |= r->api_keys.v[i].api_key == 1 && r->api_keys.v[i].max_version >= 12;
        }
        ck_assert(produce && fetch);
    }
}
END_TEST

/* A client newer than us asks ApiVersions v99: we answer v0 with
 * UNSUPPORTED_VERSION and our list (header v1 + int16 key 18, version 99). */
START_TEST(api_versions_unknown_version)
{
    static const uint8_t req[] = {0, 0, 0, 10, 0, 18, 0, 99, 0, 0, 0, 7, 0xff, 0xff};
    uint8_t *resp;
    long n = tclient_raw(&cli, req, sizeof(req), &resp);
    ck_assert_int_gt(n, 10);
    kfk__arena a;
    kfk__arena_init(&a, 0);
    int32_t corr;
    kfk__api_versions_response *r;
    ck_assert_int_eq(kfk__decode_response(18, 0, resp, (size_t)n, &a, &corr, (void **)&r, NULL), 0);
    ck_assert_int_eq(corr, 7);
    ck_assert_int_eq(r->error_code, KFK_ERR_UNSUPPORTED_VERSION);
    ck_assert_int_gt(r->api_keys.n, 5);
    kfk__arena_free(&a);
}
END_TEST

START_TEST(metadata_auto_create_and_brokers)
{
    for (int16_t v = 0; v <= 12; v++) {
        char topic[32];
        snprintf(topic, sizeof(topic), "auto-%d", v);
        kfk__metadata_response *r = metadata(v, topic, true);
        ck_assert_int_eq(r->brokers.n, 3);
        ck_assert_int_eq(r->topics.n, 1);
        ck_assert_int_eq(r->topics.v[0].error_code, 0);
        ck_assert_int_eq(r->topics.v[0].partitions.n, 4);
        for (int32_t p = 0; p < 4; p++) {
            kfk__metadata_response_partition *mp = &r->topics.v[0].partitions.v[p];
            ck_assert_int_eq(mp->replica_nodes.n, 3);
            ck_assert_int_eq(mp->isr_nodes.n, 3);
            ck_assert_int_eq(mp->leader_id, mp->replica_nodes.v[0]);
        }
    }
    /* No auto-creation when the client says no (v4+). */
    kfk__metadata_response *r = metadata(12, "not-created", false);
    ck_assert_int_eq(r->topics.v[0].error_code, KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    r = metadata(12, "bad/name", true);
    ck_assert_int_eq(r->topics.v[0].error_code, KFK_ERR_INVALID_TOPIC_EXCEPTION);
    /* All topics: the 13 created above. */
    r = metadata(12, NULL, false);
    ck_assert_int_eq(r->topics.n, 13);
    r = metadata(0, NULL, false);
    ck_assert_int_eq(r->topics.n, 13);
}
END_TEST

START_TEST(broker_stop_moves_leaders)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "moving", 6, 3), KFK_ERR_NONE);
    kfk__metadata_response *r = metadata(12, "moving", false);
    int32_t epochs[6], led_by_2 = 0;
    for (int32_t p = 0; p < 6; p++) {
        epochs[p] = r->topics.v[0].partitions.v[p].leader_epoch;
        led_by_2 += r->topics.v[0].partitions.v[p].leader_id == 2;
    }
    ck_assert_int_gt(led_by_2, 0);
    ck_assert_int_eq(kfk_cluster_broker_stop(cluster, 2), KFK_ERR_NONE);
    r = metadata(12, "moving", false);
    ck_assert_int_eq(r->brokers.n, 2);
    for (int32_t p = 0; p < 6; p++) {
        kfk__metadata_response_partition *mp = &r->topics.v[0].partitions.v[p];
        ck_assert_int_ne(mp->leader_id, 2);
        ck_assert_int_eq(mp->isr_nodes.n, 2);
        ck_assert_int_eq(mp->offline_replicas.n, 1);
        ck_assert_int_eq(mp->offline_replicas.v[0], 2);
        if (mp->leader_epoch != epochs[p])
            ck_assert_int_eq(mp->leader_epoch, epochs[p] + 1);
    }
    /* The stopped broker refuses connections; back up, it rejoins ISRs. */
    tclient t2;
    ck_assert_int_ne(tclient_connect_nth(&t2, kfk_cluster_bootstrap(cluster), 2), 0);
    ck_assert_int_eq(kfk_cluster_broker_start(cluster, 2), KFK_ERR_NONE);
    ck_assert_int_eq(tclient_connect_nth(&t2, kfk_cluster_bootstrap(cluster), 2), 0);
    tclient_close(&t2);
    r = metadata(12, "moving", false);
    ck_assert_int_eq(r->topics.v[0].partitions.v[0].isr_nodes.n, 3);
    /* Moving a leader bumps the epoch. */
    int32_t before = r->topics.v[0].partitions.v[0].leader_epoch;
    ck_assert_int_eq(kfk_cluster_move_leader(cluster, "moving", 0, 2), KFK_ERR_NONE);
    ck_assert_int_eq(kfk_cluster_leader(cluster, "moving", 0), 2);
    r = metadata(12, "moving", false);
    ck_assert_int_eq(r->topics.v[0].partitions.v[0].leader_epoch, before + 1);
}
END_TEST

static kfk__create_topics_response *create(int16_t v, const char *name, int32_t parts,
                                           int16_t rf, bool validate, const char *cfg_name,
                                           const char *cfg_value)
{
    kfk__create_topics_request rq;
    kfk__create_topics_request_creatable_topic t;
    kfk__create_topics_request_creatable_topic_config cfg;
    kfk__msg_init(&kfk__desc_create_topics_request, &rq);
    kfk__struct_init(&kfk__create_topics_request_creatable_topic_desc, &t);
    kfk__struct_init(&kfk__create_topics_request_creatable_topic_config_desc, &cfg);
    t.name = kfk__str_c(name);
    t.num_partitions = parts;
    t.replication_factor = rf;
    if (cfg_name) {
        cfg.name = kfk__str_c(cfg_name);
        cfg.value = kfk__str_c(cfg_value);
        t.configs.v = &cfg;
        t.configs.n = 1;
    }
    rq.topics.v = &t;
    rq.topics.n = 1;
    rq.validate_only = validate;
    rq.timeout_ms = 1000;
    void *resp;
    ck_assert_int_eq(tclient_call(&cli, 19, v, &rq, &resp), 0);
    return resp;
}

START_TEST(create_delete_topics)
{
    kfk__create_topics_response *r = create(7, "t1", 3, 2, false, "retention.ms", "1000");
    ck_assert_int_eq(r->topics.v[0].error_code, 0);
    ck_assert_int_eq(r->topics.v[0].num_partitions, 3);
    ck_assert_int_eq(r->topics.v[0].replication_factor, 2);
    r = create(7, "t1", 3, 2, false, NULL, NULL);
    ck_assert_int_eq(r->topics.v[0].error_code, KFK_ERR_TOPIC_ALREADY_EXISTS);
    ck_assert(r->topics.v[0].error_message.len > 0);
    r = create(5, "t2", 1, 4, false, NULL, NULL);
    ck_assert_int_eq(r->topics.v[0].error_code, KFK_ERR_INVALID_REPLICATION_FACTOR);
    r = create(2, "t3", 0, 1, false, NULL, NULL);
    ck_assert_int_eq(r->topics.v[0].error_code, KFK_ERR_INVALID_PARTITIONS);
    r = create(4, "..", 1, 1, false, NULL, NULL);
    ck_assert_int_eq(r->topics.v[0].error_code, KFK_ERR_INVALID_TOPIC_EXCEPTION);
    r = create(7, "t4", 1, 1, false, "cleanup.policy", "shred");
    ck_assert_int_eq(r->topics.v[0].error_code, KFK_ERR_INVALID_CONFIG);
    r = create(7, "t5", 2, 1, true, NULL, NULL);
    ck_assert_int_eq(r->topics.v[0].error_code, 0);
    ck_assert_int_eq(metadata(12, "t5", false)->topics.v[0].error_code,
                     KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    r = create(7, "t6", -1, -1, false, NULL, NULL); /* broker defaults */
    ck_assert_int_eq(r->topics.v[0].error_code, 0);
    ck_assert_int_eq(r->topics.v[0].num_partitions, 4);
    ck_assert_int_eq(r->topics.v[0].replication_factor, 3);

    /* CreatePartitions: grow, refuse to shrink. */
    kfk__create_partitions_request cp;
    kfk__create_partitions_request_topic cpt;
    kfk__msg_init(&kfk__desc_create_partitions_request, &cp);
    kfk__struct_init(&kfk__create_partitions_request_topic_desc, &cpt);
    cpt.name = KFK__STR("t1");
    cpt.count = 5;
    cp.topics.v = &cpt;
    cp.topics.n = 1;
    kfk__create_partitions_response *cr;
    ck_assert_int_eq(tclient_call(&cli, 37, 3, &cp, (void **)&cr), 0);
    ck_assert_int_eq(cr->results.v[0].error_code, 0);
    ck_assert_int_eq(metadata(12, "t1", false)->topics.v[0].partitions.n, 5);
    cpt.count = 2;
    ck_assert_int_eq(tclient_call(&cli, 37, 3, &cp, (void **)&cr), 0);
    ck_assert_int_eq(cr->results.v[0].error_code, KFK_ERR_INVALID_PARTITIONS);

    /* DeleteTopics by name (v5) and unknown. */
    kfk__delete_topics_request dt;
    kfk__str names[2] = {KFK__STR("t1"), KFK__STR("nope")};
    kfk__msg_init(&kfk__desc_delete_topics_request, &dt);
    dt.topic_names.v = names;
    dt.topic_names.n = 2;
    kfk__delete_topics_response *dr;
    ck_assert_int_eq(tclient_call(&cli, 20, 5, &dt, (void **)&dr), 0);
    ck_assert_int_eq(dr->responses.n, 2);
    ck_assert_int_eq(dr->responses.v[0].error_code, 0);
    ck_assert_int_eq(dr->responses.v[1].error_code, KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    ck_assert_int_eq(metadata(12, "t1", false)->topics.v[0].error_code,
                     KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
}
END_TEST

static const char *describe_value(const char *topic, const char *name, bool *is_default)
{
    kfk__describe_configs_request rq;
    kfk__describe_configs_request_resource res;
    kfk__msg_init(&kfk__desc_describe_configs_request, &rq);
    kfk__struct_init(&kfk__describe_configs_request_resource_desc, &res);
    res.resource_type = 2;
    res.resource_name = kfk__str_c(topic);
    res.configuration_keys.n = -1;
    rq.resources.v = &res;
    rq.resources.n = 1;
    kfk__describe_configs_response *r;
    ck_assert_int_eq(tclient_call(&cli, 32, 4, &rq, (void **)&r), 0);
    ck_assert_int_eq(r->results.v[0].error_code, 0);
    static char val[64];
    for (int32_t i = 0; i < r->results.v[0].configs.n; i++) {
        kfk__describe_configs_response_resource_result *c = &r->results.v[0].configs.v[i];
        if (kfk__str_eq(c->name, name)) {
            snprintf(val, sizeof(val), "%.*s", (int)c->value.len, c->value.ptr);
            *is_default = c->config_source == 5; /* DEFAULT_CONFIG */
            return val;
        }
    }
    return NULL;
}

START_TEST(configs)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "cfg", 1, 1), KFK_ERR_NONE);
    bool def;
    ck_assert_str_eq(describe_value("cfg", "cleanup.policy", &def), "delete");
    ck_assert(def);
    kfk__incremental_alter_configs_request rq;
    kfk__incremental_alter_configs_request_alter_configs_resource res;
    kfk__incremental_alter_configs_request_alterable_config cfg[2];
    kfk__msg_init(&kfk__desc_incremental_alter_configs_request, &rq);
    kfk__struct_init(&kfk__incremental_alter_configs_request_alter_configs_resource_desc, &res);
    for (int i = 0; i < 2; i++)
        kfk__struct_init(&kfk__incremental_alter_configs_request_alterable_config_desc, &cfg[i]);
    cfg[0].name = KFK__STR("cleanup.policy");
    cfg[0].value = KFK__STR("compact");
    cfg[1].name = KFK__STR("retention.ms");
    cfg[1].value = KFK__STR("12345");
    res.resource_type = 2;
    res.resource_name = KFK__STR("cfg");
    res.configs.v = cfg;
    res.configs.n = 2;
    rq.resources.v = &res;
    rq.resources.n = 1;
    kfk__incremental_alter_configs_response *r;
    ck_assert_int_eq(tclient_call(&cli, 44, 1, &rq, (void **)&r), 0);
    ck_assert_int_eq(r->responses.v[0].error_code, 0);
    ck_assert_str_eq(describe_value("cfg", "cleanup.policy", &def), "compact");
    ck_assert(!def);
    ck_assert_str_eq(describe_value("cfg", "retention.ms", &def), "12345");
    /* A bad value changes nothing (all or none). */
    cfg[0].value = KFK__STR("delete");
    cfg[1].value = KFK__STR("soon");
    ck_assert_int_eq(tclient_call(&cli, 44, 1, &rq, (void **)&r), 0);
    ck_assert_int_eq(r->responses.v[0].error_code, KFK_ERR_INVALID_CONFIG);
    ck_assert_str_eq(describe_value("cfg", "cleanup.policy", &def), "compact");
    /* DELETE goes back to the default. */
    cfg[0].config_operation = 1;
    rq.resources.v[0].configs.n = 1;
    ck_assert_int_eq(tclient_call(&cli, 44, 1, &rq, (void **)&r), 0);
    ck_assert_int_eq(r->responses.v[0].error_code, 0);
    ck_assert_str_eq(describe_value("cfg", "cleanup.policy", &def), "delete");
    ck_assert(def);
}
END_TEST

START_TEST(describe_cluster)
{
    kfk__describe_cluster_request rq;
    kfk__msg_init(&kfk__desc_describe_cluster_request, &rq);
    kfk__describe_cluster_response *r;
    ck_assert_int_eq(tclient_call(&cli, 60, 1, &rq, (void **)&r), 0);
    ck_assert_int_eq(r->error_code, 0);
    ck_assert_int_eq(r->brokers.n, 3);
    ck_assert_int_eq(r->cluster_id.len, 22);
}
END_TEST

START_TEST(injected_errors)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "faulty", 1, 1), KFK_ERR_NONE);
    ck_assert_int_eq(kfk_cluster_inject_error(cluster, -1, 3, "faulty", -1,
                                              KFK_ERR_LEADER_NOT_AVAILABLE, 2),
                     KFK_ERR_NONE);
    ck_assert_int_eq(metadata(12, "faulty", false)->topics.v[0].error_code,
                     KFK_ERR_LEADER_NOT_AVAILABLE);
    ck_assert_int_eq(metadata(12, "faulty", false)->topics.v[0].error_code,
                     KFK_ERR_LEADER_NOT_AVAILABLE);
    ck_assert_int_eq(metadata(12, "faulty", false)->topics.v[0].error_code, 0);
    /* A fault for another broker does not fire here (we talk to broker 1). */
    kfk_cluster_inject_error(cluster, 2, 3, NULL, -1, KFK_ERR_LEADER_NOT_AVAILABLE, 1);
    ck_assert_int_eq(metadata(12, "faulty", false)->topics.v[0].error_code, 0);
    kfk_cluster_clear_faults(cluster);
}
END_TEST

START_TEST(latency_and_pause)
{
    ck_assert_int_eq(kfk_cluster_set_latency(cluster, 1, 300), KFK_ERR_NONE);
    int64_t t0 = kfk__now_ms();
    metadata(12, NULL, false);
    ck_assert_int_ge(kfk__now_ms() - t0, 290);
    kfk_cluster_set_latency(cluster, 1, 0);
    ck_assert_int_eq(kfk_cluster_broker_pause(cluster, 1, 1), KFK_ERR_NONE);
    kfk__metadata_request rq;
    kfk__msg_init(&kfk__desc_metadata_request, &rq);
    kfk__wbuf w;
    kfk__wbuf_init(&w, 0);
    ck_assert_int_eq(kfk__encode_request(&w, 3, 12, 99, "x", &rq, NULL), 0);
    ck_assert_int_eq(write(cli.fd, w.data, w.len), (ssize_t)w.len);
    kfk__wbuf_free(&w);
    struct pollfd pf = {cli.fd, POLLIN, 0};
    ck_assert_int_eq(poll(&pf, 1, 300), 0); /* paused: no answer */
    kfk_cluster_broker_pause(cluster, 1, 0);
    ck_assert_int_eq(poll(&pf, 1, 5000), 1); /* answered after resume */
}
END_TEST

START_TEST(drop_connection)
{
    ck_assert_int_eq(kfk_cluster_drop_after(cluster, 1, 1), KFK_ERR_NONE);
    metadata(12, NULL, false); /* the first request is answered */
    kfk__metadata_request rq;
    kfk__msg_init(&kfk__desc_metadata_request, &rq);
    void *resp;
    ck_assert_int_eq(tclient_call(&cli, 3, 12, &rq, &resp), KFK_ERR__TRANSPORT);
}
END_TEST

START_TEST(hostile_bytes)
{
    /* Garbage body for Metadata v12: the connection is closed, the broker
     * survives and serves the next client. */
    static const uint8_t bad[] = {0, 0, 0, 12, 0, 3, 0, 12, 0, 0, 0, 1, 0xff, 0xff, 0x7f, 0x7f};
    uint8_t *out;
    ck_assert_int_eq(tclient_raw(&cli, bad, sizeof(bad), &out), 0);
    tclient_close(&cli);
    /* Negative and oversized frame sizes. */
    static const uint8_t neg[] = {0xff, 0xff, 0xff, 0xf0, 1, 2, 3};
    static const uint8_t huge[] = {0x7f, 0xff, 0xff, 0xff, 1, 2, 3};
    static const uint8_t unknown_api[] = {0, 0, 0, 10, 0x7f, 0x00, 0, 0, 0, 0, 0, 1, 0, 0};
    const uint8_t *cases[] = {neg, huge, unknown_api};
    size_t lens[] = {sizeof(neg), sizeof(huge), sizeof(unknown_api)};
    for (int i = 0; i < 3; i++) {
        ck_assert_int_eq(tclient_connect(&cli, kfk_cluster_bootstrap(cluster)), 0);
        ck_assert_int_eq(write(cli.fd, cases[i], lens[i]), (ssize_t)lens[i]);
        ck_assert_msg(tclient_closed(&cli, 5000), "case %d not closed", i);
        tclient_close(&cli);
    }
    ck_assert_int_eq(tclient_connect(&cli, kfk_cluster_bootstrap(cluster)), 0);
    ck_assert_int_eq(metadata(12, NULL, false)->brokers.n, 3);
}
END_TEST

START_TEST(bad_cluster_config)
{
    char err[256];
    static const char *const p1[] = {"brokers=0", NULL};
    static const char *const p2[] = {"retention.ms=soon", NULL};
    static const char *const p3[] = {"no-equals", NULL};
    static const char *const p4[] = {"brokers=1", "default.replication.factor=2", NULL};
    const char *const *cases[] = {p1, p2, p3, p4};
    for (int i = 0; i < 4; i++) {
        err[0] = '\0';
        ck_assert_ptr_null(kfk_cluster_new(cases[i], err, sizeof(err)));
        ck_assert_msg(strlen(err) > 5, "case %d gave no message", i);
    }
}
END_TEST

static Suite *broker_admin_suite(void)
{
    Suite *s = suite_create("broker_admin");
    TCase *tc = tcase_create("admin");
    tcase_add_checked_fixture(tc, setup3, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, api_versions);
    tcase_add_test(tc, api_versions_unknown_version);
    tcase_add_test(tc, metadata_auto_create_and_brokers);
    tcase_add_test(tc, broker_stop_moves_leaders);
    tcase_add_test(tc, create_delete_topics);
    tcase_add_test(tc, configs);
    tcase_add_test(tc, describe_cluster);
    tcase_add_test(tc, injected_errors);
    tcase_add_test(tc, latency_and_pause);
    tcase_add_test(tc, drop_connection);
    tcase_add_test(tc, hostile_bytes);
    suite_add_tcase(s, tc);
    TCase *tc2 = tcase_create("config");
    tcase_add_test(tc2, bad_cluster_config);
    suite_add_tcase(s, tc2);
    return s;
}

KFK_CHECK_MAIN(broker_admin_suite)
