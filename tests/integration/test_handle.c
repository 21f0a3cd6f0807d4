/*
 * test_handle.c: what every handle has, tried on a producer against the
 * reference broker: log lines with levels and debug contexts, statistics
 * JSON, the error callback and fatal errors, names, and every partitioner
 * decision (explicit, user callback, murmur2 keys, sticky null keys,
 * partitioner.ignore.keys). Callbacks must run on the polling thread.
 */
#include <check.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include <kfk/broker.h>
#include <kfk/kfk.h>

#include "../unit/check_main.h"
#include "net/loop.h"
#include "producer/murmur2.h"
#include "tproducer.h"

static kfk_cluster_t *cluster;
static tracker t;
static pthread_t main_thread;

static void setup(void)
{
    static const char *const props[] = {"brokers=3", NULL};
    char err[256];
    cluster = kfk_cluster_new(props, err, sizeof(err));
    ck_assert_msg(cluster, "%s", err);
    memset(&t, 0, sizeof(t));
    main_thread = pthread_self();
}

static void teardown(void)
{
    kfk_cluster_destroy(cluster);
}

/* ---- logs -------------------------------------------------------------------- */

typedef struct logs {
    int lines, by_ctx_broker, by_ctx_protocol, by_ctx_metadata, debug_lines;
    int wrong_thread;
} logs;

static void on_log(kfk_t *k, int level, const char *ctx, const char *msg, void *opaque)
{
    logs *l = opaque;
    ck_assert_ptr_nonnull(k);
    ck_assert_ptr_nonnull(msg);
    if (!pthread_equal(pthread_self(), main_thread))
        l->wrong_thread++;
    l->lines++;
    if (level == KFK_LOG_DEBUG)
        l->debug_lines++;
    if (!strcmp(ctx, "broker"))
        l->by_ctx_broker++;
    else if (!strcmp(ctx, "protocol"))
        l->by_ctx_protocol++;
    else if (!strcmp(ctx, "metadata"))
        l->by_ctx_metadata++;
}

START_TEST(log_lines_with_contexts_on_poll_thread)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "logs", 2, 3), 0);
    static logs l;
    memset(&l, 0, sizeof(l));
    kfk_conf_t *conf = kfk_conf_new();
    kfk_conf_set_log_cb(conf, on_log, &l);
    static const char *const extra[] = {"debug", "broker,protocol,metadata", NULL};
    kfk_t *k = tp_producer_conf(cluster, conf, &t, extra);
    tp_produce_range(k, "logs", 0, 100, true);
    ck_assert_int_eq(kfk_flush(k, 10000), 0);
    kfk_poll(k, 0);
    ck_assert_int_gt(l.by_ctx_broker, 0);
    ck_assert_int_gt(l.by_ctx_protocol, 0);
    ck_assert_int_gt(l.by_ctx_metadata, 0);
    ck_assert_int_eq(l.wrong_thread, 0);
    kfk_destroy(k);

    /* Without debug contexts: no debug lines at all. */
    memset(&l, 0, sizeof(l));
    memset(&t, 0, sizeof(t));
    conf = kfk_conf_new();
    kfk_conf_set_log_cb(conf, on_log, &l);
    k = tp_producer_conf(cluster, conf, &t, NULL);
    tp_produce_range(k, "logs", 0, 100, true);
    ck_assert_int_eq(kfk_flush(k, 10000), 0);
    kfk_poll(k, 0);
    ck_assert_int_eq(l.debug_lines, 0);
    kfk_destroy(k);
}
END_TEST

/* A broker that cannot be reached is worth a warning. */
START_TEST(connection_failure_is_a_warning)
{
    static logs l;
    memset(&l, 0, sizeof(l));
    kfk_conf_t *conf = kfk_conf_new();
    char err[256];
    kfk_conf_set(conf, "bootstrap.servers", "127.0.0.1:1", err, sizeof(err));
    kfk_conf_set_log_cb(conf, on_log, &l);
    kfk_t *k = kfk_producer_new(conf, err, sizeof(err));
    kfk_conf_destroy(conf);
    ck_assert_msg(k, "%s", err);
    int64_t t0 = kfk__now_ms();
    while (l.by_ctx_broker == 0 && kfk__now_ms() - t0 < 5000)
        kfk_poll(k, 100);
    ck_assert_int_gt(l.by_ctx_broker, 0);
    ck_assert_int_eq(l.debug_lines, 0);
    kfk_destroy(k);
}
END_TEST

/* ---- statistics ----------------------------------------------------------------- */

typedef struct stats {
    int reports, wrong_thread;
    json_t *last;
} stats;

static void on_stats(kfk_t *k, const char *json, size_t len, void *opaque)
{
    stats *s = opaque;
    (void)k;
    ck_assert_uint_eq(strlen(json), len);
    if (!pthread_equal(pthread_self(), main_thread))
        s->wrong_thread++;
    json_error_t jerr;
    json_t *root = json_loadb(json, len, 0, &jerr);
    ck_assert_msg(root, "bad stats JSON: %s", jerr.text);
    json_decref(s->last);
    s->last = root;
    s->reports++;
}

static json_int_t sum_acked(json_t *root, const char *topic)
{
    json_t *parts = json_object_get(json_object_get(json_object_get(root, "topics"), topic),
                                    "partitions");
    ck_assert_ptr_nonnull(parts);
    const char *key;
    json_t *p;
    json_int_t sum = 0;
    json_object_foreach(parts, key, p) {
        sum += json_integer_value(json_object_get(p, "acked_cnt"));
        ck_assert_int_eq(json_integer_value(json_object_get(p, "msgq_cnt")), 0);
    }
    return sum;
}

START_TEST(statistics_json)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "stats", 3, 3), 0);
    static stats s;
    memset(&s, 0, sizeof(s));
    kfk_conf_t *conf = kfk_conf_new();
    kfk_conf_set_stats_cb(conf, on_stats, &s);
    static const char *const extra[] = {"statistics.interval.ms", "100", "client.id", "stats-test",
                                        NULL};
    kfk_t *k = tp_producer_conf(cluster, conf, &t, extra);
    tp_produce_range(k, "stats", 0, 1000, true);
    ck_assert_int_eq(kfk_flush(k, 10000), 0);
    int before = s.reports;
    int64_t t0 = kfk__now_ms();
    while (s.reports < before + 2 && kfk__now_ms() - t0 < 5000)
        kfk_poll(k, 100);
    ck_assert_int_ge(s.reports, before + 2);
    ck_assert_int_eq(s.wrong_thread, 0);
    json_t *r = s.last;
    ck_assert_str_eq(json_string_value(json_object_get(r, "name")), "stats-test");
    ck_assert_str_eq(json_string_value(json_object_get(r, "type")), "producer");
    ck_assert_int_eq(sum_acked(r, "stats"), 1000);
    ck_assert_int_eq(json_integer_value(json_object_get(r, "txmsgs")), 1000);
    ck_assert_int_eq(json_integer_value(json_object_get(r, "msg_cnt")), 0);
    /* some broker carried the Produce requests and measured their rtt */
    json_t *brokers = json_object_get(r, "brokers");
    ck_assert_int_gt(json_object_size(brokers), 0);
    const char *name;
    json_t *b;
    json_int_t tx = 0, up = 0;
    json_object_foreach(brokers, name, b) {
        tx += json_integer_value(json_object_get(b, "tx"));
        up += !strcmp(json_string_value(json_object_get(b, "state")), "UP");
        ck_assert_ptr_nonnull(json_object_get(b, "rtt"));
    }
    ck_assert_int_gt(tx, 3);
    ck_assert_int_gt(up, 0);
    json_decref(s.last);
    kfk_destroy(k);
}
END_TEST

static kfk_err_t produce_one(kfk_t *k, const char *topic, int32_t partition, const char *key,
                             int i)
{
    kfk_record_t r = {.topic = topic, .partition = partition, .key = key,
                      .key_len = key ? strlen(key) : 0, .value = "v", .value_len = 1,
                      .opaque = (void *)(intptr_t)i};
    return kfk_produce(k, &r, 0);
}

/* ---- errors and names ---------------------------------------------------------- */

typedef struct errs {
    int calls;
    kfk_err_t last;
    char reason[512];
} errs;

static void on_error(kfk_t *k, kfk_err_t err, const char *reason, void *opaque)
{
    errs *e = opaque;
    (void)k;
    e->calls++;
    e->last = err;
    snprintf(e->reason, sizeof(e->reason), "%s", reason);
}

/* PRODUCER_FENCED on a Produce: the idempotent producer cannot go on. The
 * error callback says so once, kfk_fatal_error names the cause, every
 * record still gets its one report, and produce refuses more. */
START_TEST(fenced_producer_is_fatal)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "fenced", 1, 1), 0);
    static errs e;
    memset(&e, 0, sizeof(e));
    kfk_conf_t *conf = kfk_conf_new();
    kfk_conf_set_error_cb(conf, on_error, &e);
    kfk_t *k = tp_producer_conf(cluster, conf, &t, NULL);
    tp_produce_range(k, "fenced", 0, 10, false);
    ck_assert_int_eq(kfk_flush(k, 10000), 0);
    ck_assert_int_eq(kfk_fatal_error(k, NULL, 0), KFK_ERR_NONE);
    kfk_cluster_inject_error(cluster, -1, 0, "fenced", -1, KFK_ERR_PRODUCER_FENCED, 1);
    int accepted = 10;
    for (int i = 10; i < 200; i++) {
        kfk_err_t pe = produce_one(k, "fenced", KFK_PARTITION_ANY, NULL, i);
        ck_assert_msg(pe == 0 || pe == KFK_ERR__FATAL, "%s", kfk_err_name(pe));
        accepted += pe == 0;
        kfk_poll(k, 1);
    }
    kfk_flush(k, 10000);
    kfk_poll(k, 100);
    char why[512];
    ck_assert_int_eq(kfk_fatal_error(k, why, sizeof(why)), KFK_ERR_PRODUCER_FENCED);
    ck_assert_ptr_nonnull(strstr(why, "PRODUCER_FENCED"));
    ck_assert_int_eq(e.calls, 1);
    ck_assert_int_eq(e.last, KFK_ERR__FATAL);
    for (int i = 0; i < accepted; i++)
        ck_assert_int_eq(t.reports[i], 1);
    ck_assert_int_lt(accepted, 200);
    ck_assert_int_gt(t.errors, 0);
    kfk_record_t r = {.topic = "fenced", .value = "x", .value_len = 1};
    ck_assert_int_eq(kfk_produce(k, &r, 0), KFK_ERR__FATAL);
    kfk_destroy(k);
}
END_TEST

START_TEST(refused_producer_id_is_fatal)
{
    static errs e;
    memset(&e, 0, sizeof(e));
    kfk_cluster_inject_error(cluster, -1, 22, NULL, -1, KFK_ERR_CLUSTER_AUTHORIZATION_FAILED, 10);
    kfk_conf_t *conf = kfk_conf_new();
    kfk_conf_set_error_cb(conf, on_error, &e);
    kfk_t *k = tp_producer_conf(cluster, conf, &t, NULL);
    tp_produce_range(k, "refused", 0, 10, false);
    kfk_flush(k, 10000);
    ck_assert_int_eq(kfk_fatal_error(k, NULL, 0), KFK_ERR_CLUSTER_AUTHORIZATION_FAILED);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(t.reports[i], 1);
        ck_assert_int_eq(t.err[i], KFK_ERR__FATAL);
    }
    kfk_poll(k, 0);
    ck_assert_int_eq(e.calls, 1);
    kfk_destroy(k);
}
END_TEST

START_TEST(names_and_bad_handles)
{
    kfk_t *a = tp_producer(cluster, &t, NULL);
    kfk_t *b = tp_producer(cluster, &t, NULL);
    ck_assert_int_eq(strncmp(kfk_name(a), "producer-", 9), 0);
    ck_assert_int_eq(strncmp(kfk_name(b), "producer-", 9), 0);
    ck_assert_str_ne(kfk_name(a), kfk_name(b));
    static const char *const named[] = {"client.id", "billing", NULL};
    kfk_t *c = tp_producer(cluster, &t, named);
    ck_assert_str_eq(kfk_name(c), "billing");
    ck_assert_int_eq(kfk_poll(NULL, 0), 0);
    ck_assert_int_eq(kfk_produce(NULL, NULL, 0), KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk_purge(NULL, KFK_PURGE_QUEUED), KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk_fatal_error(NULL, NULL, 0), KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk_conf_set_log_cb(NULL, NULL, NULL), KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk_conf_set_stats_cb(NULL, NULL, NULL), KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk_conf_set_error_cb(NULL, NULL, NULL), KFK_ERR__INVALID_ARG);
    ck_assert_int_eq(kfk_conf_set_partitioner_cb(NULL, NULL, NULL), KFK_ERR__INVALID_ARG);
    kfk_destroy(a);
    kfk_destroy(b);
    kfk_destroy(c);
    kfk_destroy(NULL);
}
END_TEST

/* ---- partitioning ------------------------------------------------------------- */

static int32_t digit_partitioner(const char *topic, const void *key, size_t key_len,
                                 int32_t cnt, void *opaque)
{
    (void)topic;
    ck_assert_ptr_eq(opaque, (void *)&t);
    if (!key || key_len == 0)
        return -1; /* kfk decides */
    char c = ((const char *)key)[0];
    if (c == 'x')
        return cnt; /* out of range */
    return c >= '0' && c <= '9' ? (c - '0') % cnt : -1;
}

START_TEST(every_partitioner_decision)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "parts", 4, 3), 0);
    kfk_conf_t *conf = kfk_conf_new();
    kfk_conf_set_partitioner_cb(conf, digit_partitioner, &t);
    kfk_t *k = tp_producer_conf(cluster, conf, &t, NULL);
    /* explicit partition wins over everything */
    ck_assert_int_eq(produce_one(k, "parts", 2, "1", 0), 0);
    /* the user callback */
    ck_assert_int_eq(produce_one(k, "parts", KFK_PARTITION_ANY, "3", 1), 0);
    ck_assert_int_eq(produce_one(k, "parts", KFK_PARTITION_ANY, "6", 2), 0);
    /* the callback says -1: murmur2 of the key, as Java */
    ck_assert_int_eq(produce_one(k, "parts", KFK_PARTITION_ANY, "key-a", 3), 0);
    /* out of range: refused, no report */
    ck_assert_int_eq(produce_one(k, "parts", KFK_PARTITION_ANY, "x", 4), KFK_ERR__INVALID_ARG);
    /* an explicit partition past the count */
    ck_assert_int_ne(produce_one(k, "parts", 4, "1", 5), KFK_ERR_NONE);
    ck_assert_int_eq(kfk_flush(k, 10000), 0);
    ck_assert_int_eq(t.partition[0], 2);
    ck_assert_int_eq(t.partition[1], 3);
    ck_assert_int_eq(t.partition[2], 2);
    ck_assert_int_eq(t.partition[3], kfk__murmur2_partition("key-a", 5, 4));
    ck_assert_int_eq(t.reports[4], 0);
    ck_assert_int_eq(t.reports[5], 0);
    kfk_destroy(k);

    /* null keys: sticky, so one linger's worth lands in one partition */
    memset(&t, 0, sizeof(t));
    static const char *const sticky[] = {"linger.ms", "1000", NULL};
    k = tp_producer(cluster, &t, sticky);
    for (int i = 0; i < 50; i++)
        ck_assert_int_eq(produce_one(k, "parts", KFK_PARTITION_ANY, NULL, i), 0);
    ck_assert_int_eq(kfk_flush(k, 10000), 0);
    for (int i = 1; i < 50; i++)
        ck_assert_int_eq(t.partition[i], t.partition[0]);
    kfk_destroy(k);

    /* partitioner.ignore.keys: keyed records are placed like null keys */
    memset(&t, 0, sizeof(t));
    static const char *const ignore[] = {"linger.ms", "1000", "partitioner.ignore.keys", "true",
                                         NULL};
    k = tp_producer(cluster, &t, ignore);
    static const char *const keys[] = {"a", "b", "c", "d", "e", "f", "g", "h"};
    for (int i = 0; i < 8; i++)
        ck_assert_int_eq(produce_one(k, "parts", KFK_PARTITION_ANY, keys[i], i), 0);
    ck_assert_int_eq(kfk_flush(k, 10000), 0);
    for (int i = 1; i < 8; i++)
        ck_assert_int_eq(t.partition[i], t.partition[0]);
    kfk_destroy(k);
}
END_TEST

static Suite *handle_suite(void)
{
    Suite *s = suite_create("handle");
    TCase *tc = tcase_create("handle");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, log_lines_with_contexts_on_poll_thread);
    tcase_add_test(tc, connection_failure_is_a_warning);
    tcase_add_test(tc, statistics_json);
    tcase_add_test(tc, fenced_producer_is_fatal);
    tcase_add_test(tc, refused_producer_id_is_fatal);
    tcase_add_test(tc, names_and_bad_handles);
    tcase_add_test(tc, every_partitioner_decision);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(handle_suite)
