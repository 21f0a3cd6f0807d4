/*
 * test_producer.c: the public producer against the reference broker: every
 * record reported exactly once, keyed records on Java's partitions, the
 * broker's log holding each record once in order (idempotence), through
 * leader moves, injected retriable and fatal errors, acks=0, delivery
 * timeouts, back-pressure and configuration errors.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <kfk/broker.h>
#include <kfk/producer.h>

#include "../unit/check_main.h"
#include "net/loop.h"
#include "producer/murmur2.h"
#include "tproducer.h"

#define N TP_N

static kfk_cluster_t *cluster;

static void setup(void)
{
    static const char *const props[] = {"brokers=3", NULL};
    char err[256];
    cluster = kfk_cluster_new(props, err, sizeof(err));
    ck_assert_msg(cluster, "%s", err);
}

static void teardown(void)
{
    kfk_cluster_destroy(cluster);
}

START_TEST(keyed_idempotent_exactly_once)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "keyed", 3, 3), 0);
    static tracker t;
    memset(&t, 0, sizeof(t));
    kfk_t *k = tp_producer(cluster, &t, NULL);
    tp_produce_range(k, "keyed", 0, N, true);
    ck_assert_int_eq(kfk_flush(k, 30000), 0);
    ck_assert_int_eq(kfk_outstanding(k), 0);
    ck_assert_int_eq(t.errors, 0);
    for (int i = 0; i < N; i++) {
        char key[16];
        snprintf(key, sizeof(key), "key-%d", i % 50);
        ck_assert_int_eq(t.partition[i], kfk__murmur2_partition(key, strlen(key), 3));
        ck_assert_int_ge(t.offset[i], 0);
    }
    kfk_destroy(k);
    tp_check_exactly_once(cluster, "keyed", 3, &t);
}
END_TEST

START_TEST(through_leader_moves_and_errors)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "chaos", 3, 3), 0);
    static tracker t;
    memset(&t, 0, sizeof(t));
    kfk_t *k = tp_producer(cluster, &t, NULL);
    tp_produce_range(k, "chaos", 0, N / 3, true);
    kfk_flush(k, 30000);
    /* Move every leader, inject retriable errors, drop a connection. */
    for (int p = 0; p < 3; p++)
        kfk_cluster_move_leader(cluster, "chaos", p, kfk_cluster_leader(cluster, "chaos", p) % 3 + 1);
    kfk_cluster_inject_error(cluster, -1, 0, "chaos", -1, KFK_ERR_NOT_ENOUGH_REPLICAS, 5);
    kfk_cluster_inject_error(cluster, -1, 0, "chaos", -1, KFK_ERR_REQUEST_TIMED_OUT, 3);
    tp_produce_range(k, "chaos", N / 3, 2 * N / 3, true);
    kfk_cluster_drop_after(cluster, -1, 2);
    tp_produce_range(k, "chaos", 2 * N / 3, N, true);
    ck_assert_int_eq(kfk_flush(k, 60000), 0);
    ck_assert_msg(t.errors == 0, "%d errors, last %s", t.errors, kfk_err_name(t.last_err));
    kfk_destroy(k);
    tp_check_exactly_once(cluster, "chaos", 3, &t);
}
END_TEST

START_TEST(fatal_error_reported_once)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "fatal", 1, 1), 0);
    static tracker t;
    memset(&t, 0, sizeof(t));
    static const char *const extra[] = {"enable.idempotence", "false", NULL};
    kfk_t *k = tp_producer(cluster, &t, extra);
    kfk_cluster_inject_error(cluster, -1, 0, "fatal", -1, KFK_ERR_TOPIC_AUTHORIZATION_FAILED, 1);
    kfk_record_t r = {.topic = "fatal", .value = "x", .value_len = 1, .opaque = (void *)0};
    ck_assert_int_eq(kfk_produce(k, &r, 0), 0);
    ck_assert_int_eq(kfk_flush(k, 10000), 0);
    ck_assert_int_eq(t.reports[0], 1);
    ck_assert_int_eq(t.last_err, KFK_ERR_TOPIC_AUTHORIZATION_FAILED);
    kfk_destroy(k);
}
END_TEST

START_TEST(delivery_timeout_reported_once)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "slow", 1, 1), 0);
    static tracker t;
    memset(&t, 0, sizeof(t));
    static const char *const extra[] = {"delivery.timeout.ms", "1500", "request.timeout.ms",
                                        "1000", "linger.ms", "0", NULL};
    kfk_t *k = tp_producer(cluster, &t, extra);
    kfk_record_t warm = {.topic = "slow", .value = "w", .value_len = 1, .opaque = (void *)1};
    ck_assert_int_eq(kfk_produce(k, &warm, 0), 0);
    ck_assert_int_eq(kfk_flush(k, 10000), 0);
    kfk_cluster_broker_pause(cluster, kfk_cluster_leader(cluster, "slow", 0), 1);
    kfk_record_t r = {.topic = "slow", .value = "x", .value_len = 1, .opaque = (void *)0};
    ck_assert_int_eq(kfk_produce(k, &r, 0), 0);
    int64_t t0 = kfk__now_ms();
    while (t.reports[0] == 0 && kfk__now_ms() - t0 < 15000)
        kfk_poll(k, 100);
    ck_assert_int_eq(t.reports[0], 1);
    ck_assert_int_ne(t.last_err, 0);
    kfk_cluster_broker_pause(cluster, -1, 0);
    kfk_destroy(k);
    ck_assert_int_eq(t.reports[0], 1);
}
END_TEST

START_TEST(acks_zero_and_backpressure)
{
    ck_assert_int_eq(kfk_cluster_create_topic(cluster, "fast", 1, 1), 0);
    static tracker t;
    memset(&t, 0, sizeof(t));
    static const char *const extra[] = {"acks", "0", "enable.idempotence", "false", NULL};
    kfk_t *k = tp_producer(cluster, &t, extra);
    tp_produce_range(k, "fast", 0, 1000, false);
    ck_assert_int_eq(kfk_flush(k, 10000), 0);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(t.reports[i], 1);
    kfk_destroy(k);
    int64_t end = 0;
    for (int tries = 0; tries < 50 && end < 1000; tries++) {
        kfk_cluster_offsets(cluster, "fast", 0, NULL, &end);
        if (end < 1000)
            usleep(20000);
    }
    ck_assert_int_eq(end, 1000);
    /* A tiny buffer.memory with NONBLOCK: QUEUE_FULL, never a report. */
    static tracker t2;
    memset(&t2, 0, sizeof(t2));
    static const char *const tiny[] = {"buffer.memory", "4096", "batch.size", "4096",
                                       "linger.ms", "10000", NULL};
    k = tp_producer(cluster, &t2, tiny);
    char big[2000];
    memset(big, 'x', sizeof(big));
    int full = 0, queued = 0;
    for (int i = 0; i < 10; i++) {
        kfk_record_t r = {.topic = "fast", .value = big, .value_len = sizeof(big),
                          .opaque = (void *)(intptr_t)i};
        kfk_err_t e = kfk_produce(k, &r, KFK_PRODUCE_NONBLOCK);
        if (e == KFK_ERR__QUEUE_FULL)
            full++;
        else if (e == 0)
            queued++;
    }
    ck_assert_int_gt(full, 0);
    ck_assert_int_eq(kfk_flush(k, 10000), 0);
    int reports = 0;
    for (int i = 0; i < 10; i++)
        reports += t2.reports[i];
    ck_assert_int_eq(reports, queued);
    kfk_destroy(k);
}
END_TEST

START_TEST(config_errors)
{
    kfk_conf_t *conf = kfk_conf_new();
    char err[512];
    ck_assert_int_eq(kfk_conf_set(conf, "lingr.ms", "5", err, sizeof(err)),
                     KFK_ERR__INVALID_CONFIG);
    ck_assert_ptr_nonnull(strstr(err, "linger.ms"));
    ck_assert_ptr_null(kfk_producer_new(conf, err, sizeof(err))); /* no bootstrap */
    ck_assert(strlen(err) > 0);
    kfk_conf_set(conf, "bootstrap.servers", "127.0.0.1:9", err, sizeof(err));
    kfk_conf_set(conf, "enable.idempotence", "true", err, sizeof(err));
    kfk_conf_set(conf, "acks", "1", err, sizeof(err));
    ck_assert_ptr_null(kfk_producer_new(conf, err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "acks"));
    kfk_conf_destroy(conf);
    /* Unknown topic without auto-creation: an error at produce, no report. */
    static const char *const props[] = {"auto.create.topics.enable=false", NULL};
    kfk_cluster_t *strict = kfk_cluster_new(props, NULL, 0);
    conf = kfk_conf_new();
    kfk_conf_set(conf, "bootstrap.servers", kfk_cluster_bootstrap(strict), err, sizeof(err));
    kfk_conf_set(conf, "max.block.ms", "3000", err, sizeof(err));
    kfk_t *k = kfk_producer_new(conf, err, sizeof(err));
    ck_assert_msg(k, "%s", err);
    kfk_record_t r = {.topic = "missing", .value = "x", .value_len = 1};
    ck_assert_int_eq(kfk_produce(k, &r, 0), KFK_ERR_UNKNOWN_TOPIC_OR_PARTITION);
    kfk_destroy(k);
    kfk_conf_destroy(conf);
    kfk_cluster_destroy(strict);
}
END_TEST

static Suite *producer_suite(void)
{
    Suite *s = suite_create("producer");
    TCase *tc = tcase_create("producer");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, keyed_idempotent_exactly_once);
    tcase_add_test(tc, through_leader_moves_and_errors);
    tcase_add_test(tc, fatal_error_reported_once);
    tcase_add_test(tc, delivery_timeout_reported_once);
    tcase_add_test(tc, acks_zero_and_backpressure);
    tcase_add_test(tc, config_errors);
    suite_add_tcase(s, tc);
    return s;
}

KFK_CHECK_MAIN(producer_suite)
